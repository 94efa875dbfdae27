"""What the notebooks show: image grids of a run folder or of arrays in memory, styled tables, the run's status and
cost, links to and views of the report. Everything shown is what the package computes (the report's cost table,
the report's grid rows, the report's own tables and verdict), so a notebook never tells another story.

Every display helper returns an object that Jupyter renders (``_repr_html_``) and that prints as readable text in a
console, so the same calls work in Colab, JupyterLab, papermill runs and the exported HTML. Whatever comes from a
smoke run is stamped "smoke: untrained models, numbers meaningless".

Example::

    import colorbench.notebook as nb
    nb.image_grid("demo", limit=4)              # gray input | truth | one column per method
"""

from __future__ import annotations

import base64
import html
import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from colorbench.notebook.environment import find_checkout, in_colab
from colorbench.notebook.render import SMOKE_STAMP, Html, banner, smoke_banner, stamp
from colorbench.notebook.render import display_or_print as _show
from colorbench.records import MethodStatus, RunRecord, ScoreSummary
from colorbench.report.grids import GridCell, GridRow
from colorbench.runfolder import RunFolder, read_csv, resolve_run


# ------------------------------------------------------------------------------------------------- run folders
def run_folder(run: str | os.PathLike | RunFolder) -> RunFolder:
    """A run name (always under ``$COLORBENCH_RESULTS``/results), a path (absolute, or with a folder in it), or a
    RunFolder -> RunFolder, found by the package's one resolver (:func:`colorbench.runfolder.resolve_run`); a clear
    error in the notebook's terms if it does not exist.

    A bare name is never looked up in the working folder: ``setup`` moves into the checkout, where a run called
    ``notebooks`` or ``data`` would otherwise resolve to the repository's own folders.
    """
    try:
        return RunFolder(resolve_run(run.path if isinstance(run, RunFolder) else run, names_in_working_folder=False))
    except FileNotFoundError as exc:
        raise FileNotFoundError(
            f"{exc}. In the notebooks: run 00_setup_and_data (and the method notebooks) with the same RUN first; "
            f"in Colab, set USE_DRIVE = True so every notebook sees the same results folder.") from None


@dataclass
class RunInputs:
    """The first images of a run as the methods saw them: ids, class labels and uint8 gray arrays."""

    ids: list[str]
    labels: list[str | None]
    grays: list[Any]


def run_inputs(run: str | os.PathLike | RunFolder, *, limit: int | None = 3) -> RunInputs:
    """The gray inputs a run wrote (``inputs/gray``), in samples.csv order, for trying a method by hand.

    Example::

        inputs = run_inputs("demo", limit=2)
        method.colorize(inputs.grays, seed=0, labels=inputs.labels)
    """
    from colorbench.run import read_gray

    folder = run_folder(run)
    samples = folder.read_samples()[:limit]
    return RunInputs([s["id"] for s in samples], [s.get("label") or None for s in samples],
                     [read_gray(folder, s["id"]) for s in samples])


def is_smoke(run: str | os.PathLike | RunFolder) -> bool:
    folder = run_folder(run)
    return (folder.run_record() or RunRecord()).smoke


# ------------------------------------------------------------------------------------------------- images
def _thumbnail_uri(image, height: int) -> str:
    """uint8 RGB (or HxW gray) array -> a data: URI of a JPEG thumbnail ``height`` pixels tall."""
    from PIL import Image

    pil = Image.fromarray(image)
    width = max(1, round(pil.width * height / pil.height))
    pil = pil.resize((width, height), Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    pil.convert("RGB").save(buf, format="JPEG", quality=88)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


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
        recorded = set(_method_status(folder))
        unknown = [m for m in methods if m not in present and m not in recorded]
        if unknown:
            raise ValueError(f"{unknown} never ran in {folder.path}; methods with images: {present or 'none'}")
    chosen = [s["id"] for s in folder.read_samples() if ids is None or s["id"] in set(ids)]
    return report_grid_rows(folder, chosen[:limit] if limit is not None else chosen, methods, captions=captions,
                            include_inputs=include_inputs)


def _method_status(folder: RunFolder) -> dict[str, MethodStatus]:
    return (folder.run_record() or RunRecord()).method_status


def grid_html(rows: Sequence[GridRow], *, caption: str, height: int, headers: Sequence[str] | None = None) -> str:
    """The HTML renderer of the report's grid row model: a table of thumbnails ``height`` pixels tall, "—" where a
    cell has no image, each cell's caption under it (e.g. its LPIPS)."""
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
                           f"style='height:{height}px;width:auto' alt=''/>{below}</td>")
        body.append("<tr>" + "".join(tds) + "</tr>")
    return (f"<table class='colorbench-grid' style='border-collapse:collapse'><caption style='caption-side:top;"
            f"font-weight:600;text-align:left'>{html.escape(caption)}</caption><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table>")


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

    Example::

        image_grid("demo", methods=["gray"], limit=3)
    """
    folder = run_folder(run)
    rows = grid_rows(folder, methods=methods, ids=ids, limit=limit, captions=captions)
    status = _method_status(folder)
    headers = [c.column + (" (skipped)" if c.column in status and status[c.column].status == "skipped" else "")
               for c in rows[0].cells] if rows else []
    text = [f"  {row.name}: " + ", ".join(f"{c.column}={'ok' if c.present else '—'}" for c in row.cells)
            for row in rows]
    caption = stamp(f"{folder.path.name}: {len(rows)} image(s)", is_smoke(folder))
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

        array_grid({"gray": grays, "edges": edges}, row_names=ids, caption="Canny edges")
    """
    import numpy as np

    names = list(columns)
    n_rows = max((len(v) for v in columns.values()), default=0)
    if any(len(v) != n_rows for v in columns.values()):
        raise ValueError(f"every column needs {n_rows} images; got {[len(v) for v in columns.values()]} for {names}")
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
    caption = stamp(caption or f"{n_rows} image(s)", smoke)
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
    caption = f"dataset {subset.name}: {len(subset)} image(s) selected, showing {min(show, len(subset))}"
    return Html(grid_html(rows, caption=caption, height=height, headers=headers), "\n".join([caption, *text]))


# ------------------------------------------------------------------------------------------------- tables
def styled(
    df,
    *,
    caption: str | None = None,
    smoke: bool = False,
    precision: int = 4,
    lower_is_better: Iterable[str] = (),
    higher_is_better: Iterable[str] = (),
):
    """A pandas Styler for a DataFrame (or a list of row dicts): numbers at ``precision``, best value per named
    column in bold green, caption stamped in smoke runs. Columns named but absent are ignored (tables differ by what
    a run produced)."""
    import pandas as pd

    if not isinstance(df, pd.DataFrame):  # a list of row dicts, as several package helpers return
        df = pd.DataFrame(list(df))
    styler = df.style.format(precision=precision, na_rep="—")
    if isinstance(df.index, pd.RangeIndex):  # a row counter says nothing
        styler = styler.hide(axis="index")
    best = "font-weight:bold;color:#0a7d32"
    low = [c for c in lower_is_better if c in df.columns]
    high = [c for c in higher_is_better if c in df.columns]
    if low:
        styler = styler.highlight_min(subset=low, props=best)
    if high:
        styler = styler.highlight_max(subset=high, props=best)
    if caption or smoke:
        styler = styler.set_caption(stamp(caption or "", smoke))
        styler = styler.set_table_styles([{"selector": "caption",
                                           "props": "caption-side:top;font-weight:600;text-align:left"}],
                                         overwrite=False)
    return styler


def ensure_dataset(dataset: str = "samples"):
    """Open a dataset; ``"sports"`` is downloaded first when absent (Kaggle credentials needed; a verified copy is
    never downloaded again). ``"auto"``: sports when it is here or credentials can fetch it, else the bundled samples
    with a visible note saying how to get the sports data. Errors name the notebook's ``DATASET`` setting. Returns
    the DatasetIndex."""
    from colorbench.data.kaggle import KaggleDownloadError, download
    from colorbench.data.specs import choose_auto_dataset, open_dataset

    if dataset == "auto":
        dataset, why = choose_auto_dataset()
        _show(banner(f'DATASET = "auto" chose "{dataset}": {why}', kind="warning" if dataset == "samples" else "info"))
    if dataset == "sports":
        try:
            return download()
        except KaggleDownloadError as exc:
            raise KaggleDownloadError(notebook_wording(str(exc))) from None
    return open_dataset(dataset)


def notebook_wording(message: str) -> str:
    """A CLI error message with its fix in the notebook's terms (the parameters cell, not command-line flags)."""
    return (message.replace("(--dataset samples)", '(DATASET = "samples" or "auto" in the parameters cell)')
            .replace("(--dataset PATH)", '(DATASET = "/path/to/folder")').replace("--dataset", "DATASET ="))


def dataset_table(dataset: str = "samples", *, split: str | None = None):
    """Images and classes per split of a dataset, plus how many listed files are missing (a partial download)."""
    import pandas as pd

    from colorbench.data.specs import open_dataset

    index = open_dataset(dataset)
    missing = index.missing_by_split()
    splits = sorted({s.split or "-" for s in index.samples} | set(missing))
    if split is not None:
        splits = [s for s in splits if s == split]
    rows = []
    for name in splits:
        chosen = [s for s in index.samples if (s.split or "-") == name]
        rows.append({"split": name, "images": len(chosen), "classes": len({s.label for s in chosen}),
                     "missing files": missing.get(name, 0)})
    return pd.DataFrame(rows, columns=["split", "images", "classes", "missing files"])


def methods_table():
    """Every registered method: kind, the weights it needs, whether it can run here and why not (the same answer
    as ``colorbench methods``: :func:`colorbench.methods.readiness`), description."""
    import pandas as pd

    from colorbench.methods import method_class, method_names, readiness

    rows = []
    for name in method_names():
        try:
            cls = method_class(name)
        except ImportError as exc:
            rows.append({"method": name, "kind": "—", "weights": f"cannot import: {exc}", "ready": False,
                         "why not": f"cannot import: {exc}", "description": ""})
            continue
        try:
            needs = cls().weights()
        except Exception:  # noqa: BLE001 — a constructor that needs arguments: weights unknown until configured
            needs = []
        why_not = readiness(name)
        rows.append({"method": name, "kind": "stochastic" if cls.stochastic else "deterministic",
                     "weights": ", ".join(needs) or "none", "ready": why_not is None, "why not": why_not or "",
                     "description": cls.description})
    return pd.DataFrame(rows, columns=["method", "kind", "weights", "ready", "why not", "description"])


def run_table(run: str | os.PathLike | RunFolder):
    """Per method of a run: status (done / partial / skipped), images written and reused, failures, the reason."""
    import pandas as pd

    folder = run_folder(run)
    record = folder.run_record() or RunRecord()
    rows = []
    for name, st in record.method_status.items():
        rows.append({"method": name, "status": st.status or "", "written": st.written or 0,
                     "reused": st.reused or 0, "failed": st.failed or 0, "reason": st.reason or ""})
    return pd.DataFrame(rows, columns=["method", "status", "written", "reused", "failed", "reason"])


def _timings(folder: RunFolder, methods: Sequence[str] | None):
    """The report's aggregation of the run's timings.csv (:func:`colorbench.report.aggregate.timing_totals`)."""
    from colorbench.report.aggregate import timing_totals

    rows = read_csv(folder.timings_csv)
    return timing_totals([r for r in rows if methods is None or r["method"] in set(methods)])


def timings_table(run: str | os.PathLike | RunFolder, methods: Sequence[str] | None = None):
    """Per method: images, total inference seconds, inference seconds per image, peak memory (from timings.csv,
    summed as the report sums them)."""
    totals = _timings(run_folder(run), methods)
    out = totals.rename(columns={"n_images": "images"})
    out["s_per_image"] = out["inference_s"] / out["images"].where(out["images"] > 0)
    return out[["method", "device", "images", "inference_s", "s_per_image", "peak_memory_mb"]]


def stage_table(run: str | os.PathLike | RunFolder, methods: Sequence[str] | None = None):
    """Seconds per image in each stage a method reports (timings.csv ``stages``, e.g. ColTran's colorizer and
    upsamplers, a diffusion pipeline's edges and denoising); one row per method, one column per stage."""
    import pandas as pd

    from colorbench.report.aggregate import STAGE_PREFIX, stage_columns

    totals = _timings(run_folder(run), methods)
    stages = stage_columns(totals)
    reporting = totals[totals[stages].notna().any(axis=1) & (totals["n_images"] > 0)] if stages else totals[:0]
    if reporting.empty:
        return pd.DataFrame(columns=["method"])
    per_image = reporting[stages].div(reporting["n_images"], axis=0).fillna(0.0)
    per_image.columns = [c[len(STAGE_PREFIX):] for c in stages]
    return pd.concat([reporting[["method"]], per_image], axis=1).reset_index(drop=True)


def show_run(run: str | os.PathLike | RunFolder, methods: Sequence[str] | None = None) -> None:
    """Display a run's method status and cost (the report's cost table: :func:`colorbench.report.aggregate.
    cost_table`, before any scoring), stamped in smoke runs; failures listed when there are any."""
    import pandas as pd

    from colorbench.report.aggregate import cost_table

    folder = run_folder(run)
    smoke = is_smoke(folder)
    if smoke:
        _show(smoke_banner())
    status = run_table(folder)
    if methods is not None:
        status = status[status["method"].isin(list(methods))]
    _show(styled(status, caption=f"{folder.path.name}: methods", smoke=smoke))
    timings = [r for r in read_csv(folder.timings_csv) if methods is None or r["method"] in set(methods)]
    _show(styled(cost_table(timings), caption="cost per method, as the report computes it (seconds per image and "
                 "per stage; CPU memory is process RSS)", smoke=smoke, precision=3))
    failures = read_csv(folder.failures_csv)
    if methods is not None:
        failures = [f for f in failures if f["method"] in set(methods)]
    if failures:
        _show(styled(pd.DataFrame(failures), caption=f"{len(failures)} failed image(s)", smoke=smoke))


# ------------------------------------------------------------------------------------------------- links
def relative_link(target: Path, *, label: str) -> Html:
    """A link to ``target`` relative to where this notebook's output lives.

    `colorbench notebooks run` sets COLORBENCH_NOTEBOOK_DIR to the folder of the executed notebooks (so the link
    works in the exported HTML); interactively the notebook sits in ``<checkout>/notebooks``.
    """
    base = os.environ.get("COLORBENCH_NOTEBOOK_DIR")
    if base is None:
        repo = find_checkout()
        base = str(repo / "notebooks") if repo else os.getcwd()
    href = Path(os.path.relpath(Path(target).resolve(), Path(base).resolve())).as_posix()
    note = ""
    if in_colab():
        note = (" (in Colab: open the Files panel on the left, find the file, right-click > Download; "
                "with USE_DRIVE it is also in your Google Drive)")
    return Html(f"<p><a href='{html.escape(href)}' target='_blank'>{html.escape(label)}</a> "
                f"<code>{html.escape(str(target))}</code>{html.escape(note)}</p>",
                f"{label}: {target}{note}")



def report_link(run: str | os.PathLike | RunFolder) -> Html:
    """A link to the run's ``report.html`` (relative, so it works in the exported notebooks too)."""
    folder = run_folder(run)
    if not folder.report_html.is_file():
        raise FileNotFoundError(f"{folder.report_html} not found: build it first (colorbench report "
                                f"{folder.path.name})")
    return relative_link(folder.report_html, label=f"Open the report of {folder.path.name}")


#: the largest report shown inline: the page is saved inside the notebook, and an 11 MB notebook 05 (a real run's
#: report with its photo grids) was slow to open in Colab; larger reports get a link instead
EMBED_MAX_BYTES = 1_500_000


def embed_report(run: str | os.PathLike | RunFolder, *, height: int = 900, max_bytes: int = EMBED_MAX_BYTES) -> Html:
    """The self-contained report.html shown inline in a sandboxed frame (its styles stay inside it); works in Colab,
    JupyterLab and the exported HTML alike. A report over ``max_bytes`` is linked, not embedded (it would be saved
    in the notebook)."""
    folder = run_folder(run)
    page = folder.report_html.read_text(encoding="utf-8")
    size = len(page.encode("utf-8"))
    if size > max_bytes:
        note = (f"report.html is {size / 2**20:.1f} MB: not embedded, so that this notebook stays small to save and "
                f"open; the link opens it.")
        link = relative_link(folder.report_html, label="Open the whole report")
        return Html(f"<p>{html.escape(note)}</p>{link._repr_html_()}", f"{note}\n{link}")
    frame = (f"<iframe srcdoc=\"{html.escape(page, quote=True)}\" sandbox style=\"width:100%;height:{height}px;"
             f"border:1px solid #ccc\" title=\"colorbench report\"></iframe>")
    return Html(frame, f"report {folder.report_html} ({len(page) // 1024} KiB)")


# ------------------------------------------------------------------------------------------------- scoring/report
def metric_status(summary: ScoreSummary | Mapping[str, Any]):
    """From a scoring summary (metrics.json): whether LPIPS and FID were computed, calibrated, and why not."""
    import pandas as pd

    summary = ScoreSummary.coerce(summary)
    rows = []
    for name in ("lpips", "fid"):
        info = getattr(summary, name)
        available = bool(info.available)
        calibrated = info.is_calibrated if available else None
        if not available:
            detail = info.why_unavailable or "not computed"
        elif not calibrated:
            detail = "stand-in weights (smoke): these numbers are NOT " + name.upper()
        else:
            detail = ", ".join(f"{k}={getattr(info, k)}" for k in ("net", "version", "trunk", "protocol")
                               if getattr(info, k))
        rows.append({"metric": name.upper(), "computed": available, "real weights": calibrated, "detail": detail})
    return pd.DataFrame(rows, columns=["metric", "computed", "real weights", "detail"])


def _report_piece(css: str, body: str, text: str, smoke: bool) -> Html:
    """A piece of the report with the report's own style, stamped above in smoke runs (HTML and text alike)."""
    if not smoke:
        return Html(f"<style>{css}</style>{body}", text)
    stamp_html = f"<p style='color:#a11;font-weight:700;margin:4px 0'>SMOKE — {html.escape(SMOKE_STAMP)}</p>"
    return Html(f"<style>{css}</style>{stamp_html}{body}", f"[SMOKE — {SMOKE_STAMP}]\n{text}")


def report_table(table, *, smoke: bool = False) -> Html:
    """A :class:`colorbench.report.tables.Table` as the report shows it (best values highlighted, notes below),
    stamped in smoke runs."""
    from colorbench.report.tables import TABLE_CSS, to_html, to_markdown

    return _report_piece(TABLE_CSS, to_html(table), to_markdown(table), smoke)


def verdict(run: str | os.PathLike | RunFolder, *, smoke: bool = False) -> Html:
    """The report's verdict paragraph (``verdict.md``, written by the report) as the report shows it."""
    from colorbench.report.html import PAGE_CSS, _with_code

    folder = run_folder(run)
    if not folder.verdict_md.is_file():
        raise FileNotFoundError(f"{folder.verdict_md} not found: build the report first "
                                f"(colorbench report {folder.path.name})")
    text = folder.verdict_md.read_text(encoding="utf-8").strip()
    return _report_piece(PAGE_CSS, f"<div class='verdict'><b>Verdict.</b> {_with_code(text)}</div>", f"Verdict: {text}",
                         smoke)


def paired_statistics(content, *, smoke: bool = False) -> Html:
    """The report's paired-statistics section (the tables, or the one sentence that replaces them with one method
    or too few images) for ``build_report(..., return_content=True)``'s content."""
    from colorbench.report.html import _statistics
    from colorbench.report.tables import TABLE_CSS, to_markdown

    shown = content.verdict.comparable and not content.verdict.too_few_images
    text = to_markdown(content.tables["pairwise"]) if shown else content.verdict.text
    return _report_piece(TABLE_CSS, _statistics(content, content.tables), text, smoke)


def figures_html(figures: Mapping[str, Any], captions: Mapping[str, str] | None = None, *, smoke: bool = False,
                 names: Sequence[str] | None = None, include_grids: bool = False) -> Html:
    """Matplotlib figures (e.g. ``build_report(..., return_content=True)[1].figures``) as embedded PNGs with their
    captions; independent of the notebook's matplotlib backend. The report's photo grids (``grid_*``, megabytes of
    PNG) are left out unless ``include_grids``: the report itself shows them."""
    parts, text = [], []
    chosen = list(names) if names is not None else [n for n in figures if include_grids or not n.startswith("grid_")]
    for name in chosen:
        fig = figures[name]
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=110)
        uri = "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")
        caption = stamp((captions or {}).get(name, name), smoke)
        parts.append(f"<figure style='margin:12px 0'><img src='{uri}' style='max-width:100%' "
                     f"alt='{html.escape(name)}'/>"
                     f"<figcaption style='font-size:0.9em'>{html.escape(caption)}</figcaption></figure>")
        text.append(f"[figure {name}] {caption}")
    return Html("".join(parts), "\n".join(text))
