"""Image grids in the notebooks: a run folder's images (the report's grid row model,
:mod:`colorbench.report.grids`), images held in memory, and a dataset's subset; thumbnails inline as data URIs."""

from __future__ import annotations

import html
import io
import os
from typing import Any, Mapping, Sequence

from colorbench.data.images import data_uri
from colorbench.messages import plural
from colorbench.notebook.render import Html, stamp
from colorbench.notebook.runs import is_smoke, method_statuses, run_folder
from colorbench.records import MethodState
from colorbench.report.grids import GridCell, GridRow
from colorbench.runfolder import RunFolder


def _thumbnail_uri(image, height: int) -> str:
    """uint8 RGB (or HxW gray) array -> a data: URI of a JPEG thumbnail ``height`` pixels tall."""
    from PIL import Image

    pil = Image.fromarray(image)
    width = max(1, round(pil.width * height / pil.height))
    pil = pil.resize((width, height), Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    pil.convert("RGB").save(buf, format="JPEG", quality=88)
    return data_uri(buf.getvalue(), "image/jpeg")


def grid_rows(
    run: str | os.PathLike | RunFolder,
    *,
    methods: Sequence[str] | None = None,
    ids: Sequence[str] | None = None,
    limit: int | None = 6,
    include_inputs: bool = True,
    captions: Mapping[tuple[str, str], str] | None = None,
) -> list[GridRow]:
    """The rows of a run's image grid (the report's row model, :func:`colorbench.report.grids.grid_rows`): one per
    sample in samples.csv order (only ``ids`` when given), the first ``limit``; columns gray input | truth | methods.

    ``methods`` defaults to (and ``"auto"`` means) every method with images in the run. A method the run recorded
    (e.g. skipped for missing weights) but that has no images gets a column of "—"; a name the run never saw is an
    error naming the ones it did. Only sample k=0 of a stochastic method is shown.
    """
    from colorbench.report.grids import grid_rows as report_grid_rows

    folder = run_folder(run)
    present = folder.methods()
    if methods is None or methods == "auto" or list(methods) == ["auto"]:
        methods = present
    else:
        methods = list(methods)
        recorded = set(method_statuses(folder))
        unknown = [m for m in methods if m not in present and m not in recorded]
        if unknown:
            raise ValueError(f"{unknown} never ran in {folder.path}; methods with images: {present or 'none'}")
    chosen = [s["id"] for s in folder.read_samples() if ids is None or s["id"] in set(ids)]
    return report_grid_rows(folder, chosen[:limit] if limit is not None else chosen, methods, captions=captions,
                            include_inputs=include_inputs)


def grid_html(rows: Sequence[GridRow], *, caption: str, height: int, headers: Sequence[str] | None = None) -> str:
    """The HTML renderer of the report's grid row model: a table of thumbnails ``height`` pixels tall, "—" where a
    cell has no image, each cell's caption under it (e.g. its LPIPS).

    A wide grid (a dozen methods) scrolls sideways rather than shrinking: JupyterLab's stylesheet caps every output
    image at ``max-width: 100%``, which narrowed the photos of a squeezed column while their fixed height stayed, so
    a square photo showed tall and thin and a landscape one as a portrait. ``max-width: none`` keeps each photo's
    shape."""
    headers = list(headers) if headers is not None else [c.column for c in rows[0].cells] if rows else []
    head = "".join(f"<th style='text-align:center'>{html.escape(c)}</th>" for c in ["image", *headers])
    body = []
    for row in rows:
        tds = [f"<td style='text-align:left;vertical-align:middle;max-width:12em'>{html.escape(row.name)}</td>"]
        for cell in row.cells:
            below = (f"<div style='font-size:0.85em;text-align:center'>{html.escape(cell.caption)}</div>"
                     if cell.caption else "")
            if not cell.present:
                tds.append(f"<td style='text-align:center;color:#999;min-width:{height}px'>—{below}</td>")
            else:
                tds.append(f"<td style='padding:2px'><img src='{_thumbnail_uri(cell.pixels(), height)}' "
                           f"style='height:{height}px;width:auto;max-width:none' alt=''/>{below}</td>")
        body.append("<tr>" + "".join(tds) + "</tr>")
    return (f"<div style='overflow-x:auto'><table class='colorbench-grid' style='border-collapse:collapse'>"
            f"<caption style='caption-side:top;font-weight:600;text-align:left'>{html.escape(caption)}</caption>"
            f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table></div>")


def image_grid(
    run: str | os.PathLike | RunFolder,
    *,
    methods: Sequence[str] | None = None,
    ids: Sequence[str] | None = None,
    limit: int | None = 6,
    height: int = 128,
    captions: Mapping[tuple[str, str], str] | None = None,
) -> Html:
    """Gray input | truth | each method, one row per image, from a run folder ("—": no image, see failures.csv
    or run.json for why). ``captions[(sample_id, method)]`` is written under that image (e.g. its LPIPS; the
    format of :func:`colorbench.report.grids.metric_captions`).
    Stamped when the run is a smoke run.

    Usage (a sketch, not run by the doctests: it needs a run folder)::

        image_grid("demo", methods=["gray"], limit=3)
    """
    folder = run_folder(run)
    rows = grid_rows(folder, methods=methods, ids=ids, limit=limit, captions=captions)
    status = method_statuses(folder)
    skipped = {name for name, entry in status.items() if entry.status == MethodState.SKIPPED}
    headers = [c.column + (" (skipped)" if c.column in skipped else "") for c in rows[0].cells] if rows else []
    text = [f"  {row.name}: " + ", ".join(f"{c.column}={'ok' if c.present else '—'}" for c in row.cells)
            for row in rows]
    caption = stamp(f"{folder.path.name}: {plural(len(rows), 'image')}", is_smoke(folder))
    return Html(grid_html(rows, caption=caption, height=height, headers=headers), "\n".join([caption, *text]))


def array_grid(
    columns: Mapping[str, Sequence[Any]],
    *,
    row_names: Sequence[str] | None = None,
    caption: str = "",
    smoke: bool = False,
    height: int = 128,
) -> Html:
    """Images held in memory, one column per key (uint8 RGB ``HxWx3`` or gray ``HxW``; ``None`` shows "—"),
    e.g. edge maps next to their inputs, or one method's outputs under several prompt presets.

    Example::

        >>> import numpy as np
        >>> grays = [np.zeros((8, 8), np.uint8), np.full((8, 8), 200, np.uint8)]
        >>> print(array_grid({"gray": grays, "inverted": [255 - g for g in grays]}, row_names=["a", "b"],
        ...                  caption="inverted"))
        inverted: gray, inverted x 2 rows
    """
    import numpy as np

    names = list(columns)
    n_rows = max((len(v) for v in columns.values()), default=0)
    if any(len(v) != n_rows for v in columns.values()):
        raise ValueError(f"every column needs {plural(n_rows, 'image')}; got {[len(v) for v in columns.values()]} "
                         f"for {names}")
    row_names = list(row_names) if row_names is not None else [str(i) for i in range(n_rows)]
    if len(row_names) != n_rows:
        raise ValueError(f"{len(row_names)} row names for {n_rows} rows")
    rows = []
    for r in range(n_rows):
        cells = []
        for name in names:
            image = None if columns[name][r] is None else np.asarray(columns[name][r])
            if image is not None and (image.dtype != np.uint8 or image.ndim not in (2, 3)):
                raise ValueError(f"column {name!r}, row {r}: expected a uint8 HxW or HxWx3 image, got "
                                 f"{image.dtype} {image.shape}")
            cells.append(GridCell(name, image=image))
        rows.append(GridRow(row_names[r], "", cells))
    caption = stamp(caption or plural(n_rows, "image"), smoke)
    return Html(grid_html(rows, caption=caption, height=height, headers=names),
                f"{caption}: {', '.join(names)} x {n_rows} rows")


def dataset_grid(
    dataset: str = "samples",
    *,
    split: str | None = "test",
    n_per_class: int | None = None,
    limit: int | None = None,
    seed: int = 0,
    show: int = 6,
    height: int = 128,
) -> Html:
    """The images a run with these settings would use (the same subset the runner draws), the first ``show`` of
    them: colour original and the gray input methods see."""
    from colorbench.color import to_gray
    from colorbench.data.images import ImageLoadError, load_image
    from colorbench.data.specs import open_dataset

    subset = open_dataset(dataset).subset(split=split, n_per_class=n_per_class, limit=limit, seed=seed)
    headers = ["colour (truth)", "gray (what methods see)"]
    rows, text = [], []
    for sample in subset.samples[:show]:
        row = GridRow(sample.id, sample.label or "", [GridCell(h) for h in headers])
        rows.append(row)
        try:
            rgb = load_image(sample.path).rgb
        except ImageLoadError as exc:
            text.append(f"  {row.name}: unreadable ({exc.reason})")
            continue
        row.cells[0].image, row.cells[1].image = rgb, to_gray(rgb)
        text.append(f"  {row.name}: {rgb.shape[1]}x{rgb.shape[0]}")
    caption = f"dataset {subset.name}: {plural(len(subset), 'image')} selected, showing {min(show, len(subset))}"
    return Html(grid_html(rows, caption=caption, height=height, headers=headers), "\n".join([caption, *text]))
