"""Image grids: gray input | truth | each method's output, one row per image.

Rows come from a fixed random selection (seeded, so every report of a run shows the same images) or from each
method's best and worst images by the headline metric.

Example::

    from colorbench.report.grids import image_grid, random_selection
    fig = image_grid("results/demo", random_selection(ids, 6, seed=0), ["gray", "coltran"])
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from colorbench.data.images import read_png_rgb
from colorbench.metrics.table import LOWER_IS_BETTER
from colorbench.runfolder import RunFolder


def random_selection(ids: Sequence[str], n: int, seed: int = 0) -> list[str]:
    """``n`` ids drawn without replacement by a seeded generator from the sorted ids (stable across reports)."""
    pool = sorted(set(ids))
    if len(pool) <= n:
        return pool
    picks = np.random.default_rng(seed).choice(len(pool), size=n, replace=False)
    return [pool[i] for i in sorted(picks)]


def best_worst(per_image: pd.DataFrame, method: str, metric: str, n: int) -> tuple[list[str], list[str]]:
    """A method's ``n`` best and ``n`` worst image ids by ``metric`` (best first / worst first)."""
    sub = per_image[(per_image["method"] == method)].dropna(subset=[metric])
    ranked = sub.sort_values(metric, ascending=bool(LOWER_IS_BETTER.get(metric)), kind="stable")["id"].tolist()
    return ranked[:n], ranked[::-1][:n]


def image_grid(run_path, ids: Sequence[str], methods: Sequence[str], *, title: str = "",
               captions: dict[tuple[str, str], str] | None = None, cell: float = 1.7) -> Figure:
    """Rows = ``ids``; columns = gray input, truth, then each method's output (k=0). Absent outputs are marked."""
    run = RunFolder(run_path)
    captions = captions or {}
    columns = ["gray input", "truth"] + list(methods)
    fig = Figure(figsize=(cell * len(columns), cell * max(1, len(ids)) + 0.5), layout="constrained")
    axes = fig.subplots(max(1, len(ids)), len(columns), squeeze=False)
    for r, sample_id in enumerate(ids):
        paths = [run.gray_path(sample_id), run.truth_path(sample_id)] + [run.output_path(m, sample_id) for m in methods]
        for c, (name, path) in enumerate(zip(columns, paths)):
            ax = axes[r, c]
            ax.set_xticks([])
            ax.set_yticks([])
            if path.exists():
                ax.imshow(read_png_rgb(path))
            else:
                ax.set_facecolor("#f3f3f3")
                ax.text(0.5, 0.5, "missing", ha="center", va="center", fontsize=8, color="#a33", transform=ax.transAxes)
            if r == 0:
                ax.set_title(name, fontsize=8)
            caption = captions.get((sample_id, name))
            if caption:
                ax.set_xlabel(caption, fontsize=7)
            if c == 0:
                ax.set_ylabel(sample_id if len(sample_id) < 24 else sample_id[:22] + "…", fontsize=7)
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def metric_captions(per_image: pd.DataFrame, ids: Sequence[str], metric: str, decimals: int = 3,
                    samples: pd.DataFrame | None = None) -> dict[tuple[str, str], str]:
    """Captions ``(id, method) -> "lpips 0.123"`` for the grid cells.

    A grid shows sample k=0 of a stochastic method, while its per-image value is the mean over K samples: that
    mean is labelled as such ("lpips 0.123 (mean of 3)"). With ``samples`` (the metrics.csv frame) the caption
    gives the shown sample's own score first ("lpips 0.101 (k=0)" then "mean of 3: 0.123").
    """
    sub = per_image[per_image["id"].isin(set(ids))].dropna(subset=[metric])
    short = {"delta_e2000": "ΔE"}.get(metric, metric)
    shown = {}
    if samples is not None:
        first = samples[(samples["k"] == 0) & (samples["status"] == "ok") & samples["id"].isin(set(ids))]
        shown = {(r.id, r.method): getattr(r, metric) for r in first.itertuples()}
    captions = {}
    for row in sub.itertuples():
        value = getattr(row, metric)
        k = int(getattr(row, "n_samples", 1) or 1)
        if k <= 1:
            captions[(row.id, row.method)] = f"{short} {value:.{decimals}f}"
        elif (row.id, row.method) in shown and pd.notna(shown[(row.id, row.method)]):
            captions[(row.id, row.method)] = (f"{short} {shown[(row.id, row.method)]:.{decimals}f} (k=0)\n"
                                              f"mean of {k}: {value:.{decimals}f}")
        else:  # the shown sample has no score (absent): only the mean exists
            captions[(row.id, row.method)] = f"{short} {value:.{decimals}f} (mean of {k})"
    return captions
