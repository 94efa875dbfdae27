"""The front page's picture: gray input | true colours | each method, for a handful of photos, with the verdict.

Drawn from a reported run folder by the report's own grid (:mod:`colorbench.report.grids`: the same cells and
captions as the report's grids) over whatever methods the run has, with the run's verdict paragraph under it, and
saved as one small JPEG: README embeds it, so it is committed, and photos as PNG would be ~10× larger.

Usage (a sketch, not run by the doctests: it needs a run folder with outputs)::

    from colorbench.report.front_page import front_page_picture
    path = front_page_picture("results/sports-test", "docs/img")    # -> docs/img/front-page.jpg
"""

from __future__ import annotations

import io
import textwrap
from pathlib import Path

from colorbench import atomic
from colorbench.metrics.table import load_metrics
from colorbench.report import aggregate as agg
from colorbench.report import grids
from colorbench.runfolder import RunFolder

CELL_INCHES = 1.6
DPI = 110  # ~175 px per cell: the photos stay recognisable and the file small
JPEG_QUALITY = 82
CHARS_PER_INCH = 13  # of 8-pt text, to wrap the verdict to the figure's width


def front_page_picture(run_path, out_dir="docs/img", *, n_images: int = 4, seed: int = 0,
                       name: str = "front-page") -> Path:
    """Write ``out_dir/<name>.jpg``: ``n_images`` scored photos drawn with ``seed`` (the report's fixed random
    selection), one column per method in the run's order, the headline metric under each output, the verdict below.
    Returns the file's path."""
    if n_images < 1:
        raise ValueError(f"n_images must be at least 1, got {n_images}")
    run = RunFolder(run_path)
    if not run.verdict_md.is_file():
        raise FileNotFoundError(f"{run.verdict_md} is absent: the picture shows the report's verdict, so build the "
                                f"report first (`colorbench report {run.path}`)")
    frame = load_metrics(run.path)
    per_image = agg.per_image(frame)
    if per_image.empty:
        raise ValueError(f"{run.metrics_csv}: no scored images — nothing to show")
    metric = agg.headline_metric(frame)
    methods = agg.method_order(frame)
    ids = grids.random_selection(per_image["id"].unique(), n_images, seed=seed)
    rows = grids.grid_rows(run, ids, methods, captions=grids.metric_captions(per_image, ids, metric, samples=frame))
    columns = [grids.INPUT_COLUMN, grids.TRUTH_COLUMN, *methods]
    n_scored = per_image["id"].nunique()
    fig = grids.figure_of_rows(rows, columns=columns, cell=CELL_INCHES,
                               title=f"{run.path.name}: {len(ids)} of {n_scored} scored photos (seed {seed}); "
                                     f"{agg.METRIC_LABELS[metric]} under each output")
    verdict = run.verdict_md.read_text(encoding="utf-8").strip().replace("`", "")  # Markdown's code marks
    width = max(40, int(CELL_INCHES * len(columns) * CHARS_PER_INCH))
    verdict = textwrap.fill(verdict, width, break_on_hyphens=False, break_long_words=False)
    fig.supxlabel(verdict, fontsize=8)
    # room for the verdict below the grid, so the layout need not shrink the photos to fit it
    fig.set_figheight(fig.get_figheight() + (verdict.count("\n") + 2) * 8 * 1.3 / 72)
    return _save_jpeg(fig, Path(out_dir) / f"{name}.jpg")


def _save_jpeg(fig, path: Path) -> Path:
    from PIL import Image

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    buf.seek(0)
    with Image.open(buf) as img:
        out = io.BytesIO()
        img.convert("RGB").save(out, format="JPEG", quality=JPEG_QUALITY, optimize=True, progressive=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic.write_bytes(path, out.getvalue())
    return path
