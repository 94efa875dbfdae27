"""Image grids: gray input | truth | each method's output, one row per image.

One row model (:class:`GridRow` of :class:`GridCell`: which image stands in each cell, and the caption under it)
and two renderers: :func:`image_grid` draws it as a matplotlib figure for the report, and
``colorbench.notebook.grids`` writes it as an HTML table for the notebooks, so both show the same cells.

Rows come from a fixed random selection (seeded, so every report of a run shows the same images) or from each
method's best and worst images by the headline metric.

Usage (a sketch, not run by the doctests: it needs a run folder's images)::

    from colorbench.report.grids import image_grid, random_selection
    fig = image_grid("results/demo", random_selection(ids, 6, seed=0), ["gray", "coltran"])
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from colorbench.data.images import read_png_rgb
from colorbench.metrics.table import LOWER_IS_BETTER
from colorbench.runfolder import RunFolder

INPUT_COLUMN = "input (gray)"  # not "gray": that is the name of the gray-floor method's column
TRUTH_COLUMN = "truth"


@dataclass
class GridCell:
    """One cell: a run's image file (``path``) or an image held in memory (``image``, uint8 HxW or HxWx3); neither
    when there is no image (the method skipped or failed on this image, or a gray-only source has no truth)."""

    column: str
    path: Path | None = None
    caption: str = ""
    image: Any = None

    @property
    def present(self) -> bool:
        return self.path is not None or self.image is not None

    def pixels(self) -> np.ndarray:
        """The cell's image as uint8 (a run's PNG read through the one validating loader)."""
        return np.asarray(self.image) if self.image is not None else read_png_rgb(self.path)


@dataclass
class GridRow:
    sample_id: str
    label: str
    cells: list[GridCell]

    @property
    def name(self) -> str:
        return f"{self.label} ({self.sample_id})" if self.label else self.sample_id


def grid_rows(run: RunFolder, ids: Sequence[str], methods: Sequence[str], *,
              captions: Mapping[tuple[str, str], str] | None = None, include_inputs: bool = True) -> list[GridRow]:
    """Rows in the order of ``ids``; cells gray input, truth (unless not ``include_inputs``), then each method's
    output (sample k=0 of a stochastic method); ``captions[(id, method)]`` goes under that cell. Labels come from
    samples.csv; an absent file is an empty cell, never an error (the grid shows what the run has)."""
    captions = captions or {}
    labels = {s["id"]: s.get("label") or "" for s in run.read_samples()}
    rows = []
    for sample_id in ids:
        cells = []
        if include_inputs:
            cells.append(GridCell(INPUT_COLUMN, _existing(run.gray_path(sample_id))))
            cells.append(GridCell(TRUTH_COLUMN, _existing(run.truth_path(sample_id))))
        cells += [GridCell(m, _existing(run.output_path(m, sample_id)), captions.get((sample_id, m), ""))
                  for m in methods]
        rows.append(GridRow(sample_id, labels.get(sample_id, ""), cells))
    return rows


def _existing(path: Path) -> Path | None:
    return path if path.is_file() else None


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
    return figure_of_rows(grid_rows(RunFolder(run_path), ids, methods, captions=captions), title=title, cell=cell,
                          columns=[INPUT_COLUMN, TRUTH_COLUMN, *methods])


def figure_of_rows(rows: Sequence[GridRow], *, columns: Sequence[str], title: str = "", cell: float = 1.7) -> Figure:
    """The matplotlib renderer of the row model: one axes per cell, column titles on the first row, the sample id
    at the left, each cell's caption below it."""
    fig = Figure(figsize=(cell * len(columns), cell * max(1, len(rows)) + 0.5), layout="constrained")
    axes = fig.subplots(max(1, len(rows)), len(columns), squeeze=False)
    for r, row in enumerate(rows):
        for c, grid_cell in enumerate(row.cells):
            ax = axes[r, c]
            ax.set_xticks([])
            ax.set_yticks([])
            if grid_cell.present:
                pixels = grid_cell.pixels()
                ax.imshow(pixels, cmap="gray" if pixels.ndim == 2 else None)
            else:
                ax.set_facecolor("#f3f3f3")
                ax.text(0.5, 0.5, "missing", ha="center", va="center", fontsize=8, color="#a33", transform=ax.transAxes)
            if r == 0:
                ax.set_title(grid_cell.column, fontsize=8)
            if grid_cell.caption:
                ax.set_xlabel(grid_cell.caption, fontsize=7)
            if c == 0:
                sample_id = row.sample_id
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
