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

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from colorbench.data.images import read_png_rgb
from colorbench.metrics.table import LOWER_IS_BETTER
from colorbench.report.figures import DPI, PHOTO_GRID_GID, title_placement
from colorbench.runfolder import RunFolder

CELL_INCHES = 1.7  # a grid cell's side
INPUT_COLUMN = "input (gray)"  # not "gray": that is the name of the gray-floor method's column
TRUTH_COLUMN = "truth"

#: the mosaic's pixels per inch: the report's figure DPI, so a saved grid shows each photo at about its mosaic size
MOSAIC_DPI = DPI
CAPTION_LINE_PX = 13  # one 7-pt line at MOSAIC_DPI, with its leading
CAPTION_OFFSET_PX = 4  # between a photo and its caption
MISSING_FILL = (243, 243, 243)
FRAME = (51, 51, 51)


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
    note: str = ""  # why this row is here, over its id at the left (a report grid's "best 1", "worst 2")

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
               captions: dict[tuple[str, str], str] | None = None, cell: float = CELL_INCHES,
               row_notes: Mapping[str, str] | None = None) -> Figure:
    """Rows = ``ids``; columns = gray input, truth, then each method's output (k=0). Absent outputs are marked.
    ``row_notes[id]`` is written over that row's id at the left."""
    rows = grid_rows(RunFolder(run_path), ids, methods, captions=captions)
    for row in rows:
        row.note = (row_notes or {}).get(row.sample_id, "")
    return figure_of_rows(rows, title=title, cell=cell, columns=[INPUT_COLUMN, TRUTH_COLUMN, *methods])


def figure_of_rows(rows: Sequence[GridRow], *, columns: Sequence[str], title: str = "",
                   cell: float = CELL_INCHES) -> Figure:
    """The matplotlib renderer of the row model: column titles over the first row, the sample id at the left, each
    cell's caption below it, "missing" on a grey cell where a row has no image.

    The photos are pasted into one mosaic (each fitted into a ``cell``-inch square at the report's resolution) and
    drawn as one image in one axes, with the labels as text on it. One axes per cell drew the same picture, but
    matplotlib's layout and resampling of each cell made the report of the smoke demo (8 photos, 11 methods: a dozen
    grids of ~80 cells) take 81 s; with the mosaic and JPEG files it takes 12 s (benchmarks/report_build.py)."""
    columns = list(columns)
    side = cell_pixels(cell)
    gap = max(4, side // 14)
    thumbs = [[_thumbnail(c, side) if c.present else None for c in row.cells] for row in rows]
    # a row is as tall as its tallest photo (a row of landscape photos is shorter), plus its captions' lines
    heights = [max([t.shape[0] for t in row if t is not None] or [side]) for row in thumbs]
    caption_lines = [max([c.caption.count("\n") + 1 for c in row.cells if c.caption] or [0]) for row in rows]
    row_tops, y = [], 0
    for row_height, lines in zip(heights or [side], caption_lines or [0]):
        row_tops.append(y)
        y += row_height + gap + (lines * CAPTION_LINE_PX + CAPTION_OFFSET_PX if lines else 0)
    width, height = len(columns) * (side + gap) - gap, y - gap
    canvas = np.full((height, width, 3), 255, dtype=np.uint8)
    texts = []  # (x, y, text, kwargs) in mosaic pixels
    for c, column in enumerate(columns):
        texts.append((c * (side + gap) + side / 2, -3, column, dict(ha="center", va="bottom", fontsize=8)))
    for row, row_thumbs, top, row_height in zip(rows, thumbs, row_tops, heights):
        sample_id = row.sample_id if len(row.sample_id) < 24 else row.sample_id[:22] + "…"
        label = f"{row.note}\n{sample_id}" if row.note else sample_id  # rotated: the note is the outer line
        texts.append((-4, top + row_height / 2, label, dict(ha="right", va="center", rotation=90, fontsize=7)))
        for c, (grid_cell, thumb) in enumerate(zip(row.cells, row_thumbs)):
            left = c * (side + gap)
            if thumb is not None:
                h, w = thumb.shape[:2]
                x, y = left + (side - w) // 2, top + (row_height - h) // 2
                canvas[y:y + h, x:x + w] = thumb
            else:
                h, w, x, y = row_height, side, left, top
                canvas[y:y + h, x:x + w] = MISSING_FILL
                texts.append((x + w / 2, y + h / 2, "missing", dict(ha="center", va="center", fontsize=8,
                                                                    color="#a33")))
            _frame(canvas, x, y, w, h)
            if grid_cell.caption:  # right under the photo, as an axis label sat
                texts.append((left + side / 2, y + h + CAPTION_OFFSET_PX, grid_cell.caption,
                              dict(ha="center", va="top", fontsize=7, linespacing=1.1)))
    fig = Figure(figsize=(width / MOSAIC_DPI + 0.4, height / MOSAIC_DPI + 0.6), layout="constrained")
    ax = fig.add_subplot()
    ax.imshow(canvas, extent=(0, width, height, 0), interpolation="antialiased")
    ax.set_axis_off()
    for x, y, text, kwargs in texts:
        ax.text(x, y, text, clip_on=False, **kwargs)
    fig.set_gid(PHOTO_GRID_GID)  # saved as JPEG, its title at the left (colorbench.report.figures)
    if title:
        fig.suptitle(title, fontsize=10, **title_placement(fig))
    return fig


def cell_pixels(cell: float) -> int:
    """A ``cell``-inch cell's side in mosaic pixels: at the report's DPI the mosaic is drawn about 1:1."""
    return max(8, round(cell * MOSAIC_DPI))


def _frame(canvas: np.ndarray, x: int, y: int, w: int, h: int) -> None:
    """A one-pixel dark frame just outside the box (where the canvas has room): a white photo stays visible."""
    top, left = max(0, y - 1), max(0, x - 1)
    bottom, right = min(canvas.shape[0] - 1, y + h), min(canvas.shape[1] - 1, x + w)
    canvas[top, left:right + 1] = canvas[bottom, left:right + 1] = FRAME
    canvas[top:bottom + 1, left] = canvas[top:bottom + 1, right] = FRAME


def _thumbnail(grid_cell: GridCell, side: int) -> np.ndarray:
    """The cell's image fitted into a ``side``-pixel square, aspect kept. A run file's thumbnail is cached by its
    path, size and modification time: a report draws each output in a dozen grids (the random one and every
    method's best and worst), and reading and resizing it once instead took a third of the grids' time."""
    if grid_cell.path is None:
        return _fitted(grid_cell.pixels(), side)
    stat = Path(grid_cell.path).stat()
    return _file_thumbnail(str(grid_cell.path), stat.st_size, stat.st_mtime_ns, side)


@functools.lru_cache(maxsize=1024)  # ~100 KB each at the report's 187-pixel cells
def _file_thumbnail(path: str, size: int, mtime_ns: int, side: int) -> np.ndarray:
    thumb = _fitted(read_png_rgb(path), side)
    thumb.flags.writeable = False  # shared between grids: nobody may draw on it
    return thumb


def _fitted(pixels: np.ndarray, side: int) -> np.ndarray:
    """RGB uint8 fitted into a ``side``-pixel square with its aspect kept; a downscale is area-averaged (Lanczos),
    as matplotlib's antialiased imshow did per cell."""
    from PIL import Image

    image = Image.fromarray(np.asarray(pixels)).convert("RGB")
    scale = side / max(image.size)
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    if size != image.size:
        image = image.resize(size, Image.Resampling.LANCZOS)
    return np.asarray(image)


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
