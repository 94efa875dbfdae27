"""The report's figures, as matplotlib ``Figure`` objects (no pyplot state), saved as PNG and SVG.

Each function takes the DataFrames of :mod:`colorbench.report.aggregate` and returns a Figure, so a notebook can
show it directly; :func:`save_figure` writes ``<name>.png`` and ``<name>.svg`` (a photo grid: ``<name>.jpg``).

Usage (a sketch, not run by the doctests: it needs a scored run's table and writes into the run folder)::

    from colorbench.report.figures import metric_bars, save_figure
    fig = metric_bars(summary_table, ["lpips", "psnr"])
    save_figure(fig, "results/demo/figures", "metric_bars")
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from colorbench import atomic
from colorbench.metrics.specs import LOWER_IS_BETTER
from colorbench.report.aggregate import METRIC_LABELS

PALETTE = ["#4C72B0", "#DD8452", "#55A868", "#C44E52", "#8172B3", "#937860", "#DA8BC3", "#8C8C8C", "#CCB974", "#64B5CD"]
DPI = 110
JPEG_QUALITY = 90  # photo grids: no visible loss at 4:4:4


def method_colors(methods) -> dict[str, str]:
    return {m: PALETTE[i % len(PALETTE)] for i, m in enumerate(methods)}


def family_colors(families: dict[str, str], methods) -> dict[str, str]:
    """Each method in its family's colour (colorbench.methods.families' one palette): the report's figures show
    the family question at a glance. Methods of one family share a colour; the x labels tell them apart."""
    from colorbench.methods.families import family_color

    return {m: family_color(families.get(m)) for m in methods}


#: the mark of a photo grid (colorbench.report.grids), set as the figure's gid: save_figure writes it as JPEG
PHOTO_GRID_GID = "colorbench-photo-grid"


def is_photo_grid(fig: Figure) -> bool:
    return fig.get_gid() == PHOTO_GRID_GID


def title_placement(fig: Figure) -> dict:
    """Where the figure's title goes (``suptitle``'s arguments): a photo grid's at its left, because the report shows
    a wide grid at its own size in a box that scrolls sideways, and a centred title sat off-screen."""
    return {"x": 0.01, "ha": "left"} if is_photo_grid(fig) else {}


#: each kind of figure's files, first the one a page embeds: extension -> (MIME type, savefig's extra arguments)
CHART_FORMATS = {"png": ("image/png", {"metadata": {"Software": "colorbench"}}),
                 "svg": ("image/svg+xml", {"metadata": {"Date": None}})}
PHOTO_GRID_FORMATS = {"jpg": ("image/jpeg", {"pil_kwargs": {"quality": JPEG_QUALITY, "subsampling": 0}})}


def figure_formats(fig: Figure) -> dict[str, tuple[str, dict]]:
    """A chart is PNG and SVG; a photo grid (:func:`colorbench.report.grids.figure_of_rows`) JPEG alone, at high
    quality (4:4:4, quality 90): lossless PNG of photos is ~10x larger and took most of a report's time to
    compress, and its SVG only wrapped the same pixels."""
    return PHOTO_GRID_FORMATS if is_photo_grid(fig) else CHART_FORMATS


def embedded_format(fig: Figure) -> tuple[str, str]:
    """(extension, MIME type) of the file a page embeds: a chart's PNG, a photo grid's JPEG."""
    ext, (mime, _) = next(iter(figure_formats(fig).items()))
    return ext, mime


def figure_bytes(fig: Figure, ext: str | None = None) -> bytes:
    """The figure encoded as ``ext`` (default: the format a page embeds, :func:`embedded_format`), as saved."""
    ext = ext or embedded_format(fig)[0]
    kwargs = {**CHART_FORMATS, **PHOTO_GRID_FORMATS}[ext][1]
    buf = io.BytesIO()
    fig.savefig(buf, format=ext, dpi=DPI, bbox_inches="tight", **kwargs)
    return buf.getvalue()


def embedded_figure(fig: Figure) -> tuple[str, bytes]:
    """(MIME type, bytes) of the figure as a page embeds it: a chart as PNG, a photo grid as JPEG."""
    ext, mime = embedded_format(fig)
    return mime, figure_bytes(fig, ext)


def save_figure(fig: Figure, folder: str | Path, name: str) -> dict[str, Path]:
    """Write the figure's files (:func:`figure_formats`: ``name.png`` and ``name.svg``, a photo grid ``name.jpg``)
    atomically; returns their paths by extension, the embedded format first. A file of the other kind left under
    the same name (by an older colorbench, which wrote grids as PNG and SVG) is removed, so that figures/ never
    holds two different pictures under one name."""
    folder = Path(folder)
    formats = figure_formats(fig)
    paths = {}
    for ext in formats:
        paths[ext] = folder / f"{name}.{ext}"
        atomic.write_bytes(paths[ext], figure_bytes(fig, ext))
    for ext in {**CHART_FORMATS, **PHOTO_GRID_FORMATS}.keys() - formats.keys():
        (folder / f"{name}.{ext}").unlink(missing_ok=True)
    return paths


#: in figures/: the files the last report wrote there (the next report removes those it does not write again)
FIGURES_MANIFEST = ".report-figures.json"


def drop_earlier_figures(folder, written) -> None:
    """Remove the figures an earlier report of this run wrote and this one did not: the best/worst grid of a method
    no longer scored, the distribution of a metric no longer available. They stayed in figures/ beside the new
    ones, pictures of outputs the report no longer shows. Only files a report listed in :data:`FIGURES_MANIFEST`
    are removed, never one put there by hand (:func:`save_figure` removes a file of the other kind under a
    name it writes, which an older colorbench left without a list)."""
    import json

    manifest = Path(folder) / FIGURES_MANIFEST
    now = sorted(Path(p).name for p in written)
    try:
        before = json.loads(manifest.read_text(encoding="utf-8")) if manifest.is_file() else []
    except ValueError:  # a damaged list: keep every file rather than guess
        before = []
    for name in set(before) - set(now):
        if Path(name).name == name:  # a bare file name, as written below: nothing outside figures/
            (Path(folder) / name).unlink(missing_ok=True)
    atomic.write_json(manifest, now)


def metric_bars(summary: pd.DataFrame, metrics: list[str], colors: dict[str, str] | None = None) -> Figure:
    """One panel per metric: each method's mean with its 95% bootstrap CI (``colors``: method -> colour, by
    default one per method)."""
    methods = summary["method"].tolist()
    colors = colors or method_colors(methods)
    fig = Figure(figsize=(3.2 * len(metrics), 3.4), layout="constrained")
    axes = fig.subplots(1, len(metrics), squeeze=False)[0]
    for ax, metric in zip(axes, metrics):
        mean = summary[f"{metric}_mean"].to_numpy(dtype=float)
        lo = summary[f"{metric}_lo"].to_numpy(dtype=float)
        hi = summary[f"{metric}_hi"].to_numpy(dtype=float)
        err = np.vstack([np.nan_to_num(mean - lo), np.nan_to_num(hi - mean)])
        x = np.arange(len(methods))
        # a method without a value (no scored image) gets no bar — a zero-height bar would read as a perfect LPIPS/ΔE
        has = np.isfinite(mean)
        ax.bar(x[has], mean[has], yerr=err[:, has], capsize=4, color=[colors[m] for m, h in zip(methods, has) if h],
               edgecolor="#333", lw=0.5)
        for xi in x[~has]:
            ax.text(xi, 0, "n/a", ha="center", va="bottom", fontsize=8, color="#a33")
        ax.set_xticks(x, methods, rotation=30, ha="right", fontsize=8)
        ax.set_title(METRIC_LABELS.get(metric, metric), fontsize=10)
        ax.grid(axis="y", alpha=0.3)
    fig.suptitle("Mean per method with 95% bootstrap CI", fontsize=11)
    return fig


def metric_distributions(per_image: pd.DataFrame, metric: str, colors: dict[str, str] | None = None) -> Figure:
    """Per-image distribution of one metric for each method (violin + box + points)."""
    methods = list(dict.fromkeys(per_image["method"]))
    colors = colors or method_colors(methods)
    data = [per_image.loc[per_image["method"] == m, metric].dropna().to_numpy() for m in methods]
    fig = Figure(figsize=(max(4.5, 1.3 * len(methods) + 2), 3.6), layout="constrained")
    ax = fig.subplots()
    positions = np.arange(1, len(methods) + 1)
    usable = [i for i, d in enumerate(data) if len(d) > 1]
    if usable:
        parts = ax.violinplot([data[i] for i in usable], positions=positions[usable], showextrema=False)
        for body, i in zip(parts["bodies"], usable):
            body.set_facecolor(colors[methods[i]])
            body.set_alpha(0.35)
    ax.boxplot([d if len(d) else [np.nan] for d in data], positions=positions, widths=0.18, showfliers=False)
    rng = np.random.default_rng(0)
    for i, d in enumerate(data):
        ax.scatter(positions[i] + rng.uniform(-0.07, 0.07, len(d)), d, s=6, color=colors[methods[i]], alpha=0.6, lw=0)
    ax.set_xticks(positions, methods, rotation=30, ha="right", fontsize=8)
    ax.set_ylabel(METRIC_LABELS.get(metric, metric))
    ax.set_title(f"Per-image {METRIC_LABELS.get(metric, metric)}", fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    return fig


def per_class_heatmap(per_class: pd.DataFrame, metric: str) -> Figure:
    """Classes × methods heatmap of the mean metric."""
    values = per_class.drop(columns=["n_images"], errors="ignore")
    n_rows, n_cols = values.shape
    fig = Figure(figsize=(2.5 + 1.0 * n_cols, 1.2 + 0.16 * n_rows), layout="constrained")
    ax = fig.subplots()
    image = ax.imshow(values.to_numpy(dtype=float), aspect="auto",
                      # the better end of the scale is always the bright one
                      cmap="viridis_r" if LOWER_IS_BETTER.get(metric) else "viridis")
    ax.set_xticks(range(n_cols), values.columns, rotation=30, ha="right", fontsize=8)
    ax.set_yticks(range(n_rows), values.index, fontsize=6 if n_rows > 30 else 8)
    fig.colorbar(image, ax=ax, label=METRIC_LABELS.get(metric, metric), shrink=0.6)
    ax.set_title(f"Mean {METRIC_LABELS.get(metric, metric)} per class", fontsize=10)
    return fig


def quality_vs_time(cost: pd.DataFrame, summary: pd.DataFrame, metric: str,
                    colors: dict[str, str] | None = None) -> Figure:
    """Seconds per image (log scale) against mean quality with its CI: what each point of quality costs.

    Methods are told apart by a legend outside the axes (colour = family, marker = method), not by names written
    next to the points: methods of similar cost and quality sit on top of each other, and so did their names."""
    fig = Figure(figsize=(7.2, 3.8), layout="constrained")
    ax = fig.subplots()
    merged = cost.merge(summary[["method", f"{metric}_mean", f"{metric}_lo", f"{metric}_hi"]], on="method", how="inner",
                        suffixes=("_cost", ""))
    colors = colors or method_colors(summary["method"].tolist())
    markers = "osD^vP*Xh<>p"
    for i, (_, row) in enumerate(merged.iterrows()):
        x, y = row["s_per_image"], row[f"{metric}_mean"]
        if not (np.isfinite(x) and np.isfinite(y)) or x <= 0:
            continue
        lo, hi = row[f"{metric}_lo"], row[f"{metric}_hi"]
        yerr = [[y - lo], [hi - y]] if np.isfinite(lo) else None
        ax.errorbar([x], [y], yerr=yerr, fmt=markers[i % len(markers)], color=colors.get(row["method"], "#333"),
                    capsize=3, markersize=6, label=row["method"])
    if ax.get_legend_handles_labels()[0]:
        # beside the axes, not the figure: a figure legend "outside right upper" shares the top with the title (the
        # smoke stamp ran into its first entry)
        ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=8, frameon=False, borderaxespad=0)
    ax.set_xscale("log")
    # matplotlib labels a log axis spanning under a decade at every minor tick, in scientific notation, and the
    # labels ran together ("3×10⁻¹4×10⁻¹"): plain numbers, at decades, and at 2, 3, 5 × 10ᵏ only where no decade
    # falls inside the data
    plain = FuncFormatter(lambda v, _: f"{v:g}")
    ax.xaxis.set_major_formatter(plain)
    seconds = merged["s_per_image"][merged["s_per_image"] > 0]
    if len(seconds) and np.floor(np.log10(seconds.min())) == np.floor(np.log10(seconds.max())):
        ax.xaxis.set_minor_locator(LogLocator(subs=(2.0, 3.0, 5.0)))
        ax.xaxis.set_minor_formatter(plain)
    else:
        ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("seconds per output, i.e. per colorization (log; timings.csv)")
    ax.set_ylabel(METRIC_LABELS.get(metric, metric))
    ax.set_title("Quality vs. cost", fontsize=10)
    ax.grid(alpha=0.3, which="both")
    return fig
