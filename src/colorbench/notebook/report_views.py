"""The report in the notebooks: links to it, the page inline, and its pieces (tables, verdict, paired
statistics, figures) rendered by the report's own public functions, stamped in smoke runs."""

from __future__ import annotations

import html
import os
from pathlib import Path
from typing import Any, Mapping, Sequence

from colorbench.data.images import data_uri
from colorbench.notebook.environment import find_checkout, in_colab
from colorbench.notebook.render import SMOKE_STAMP, Html, stamp
from colorbench.notebook.runs import run_folder
from colorbench.runfolder import RunFolder


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
    from colorbench.report.html import PAGE_CSS, with_code

    folder = run_folder(run)
    if not folder.verdict_md.is_file():
        raise FileNotFoundError(f"{folder.verdict_md} not found: build the report first "
                                f"(colorbench report {folder.path.name})")
    text = folder.verdict_md.read_text(encoding="utf-8").strip()
    return _report_piece(PAGE_CSS, f"<div class='verdict'><b>Verdict.</b> {with_code(text)}</div>", f"Verdict: {text}",
                         smoke)


def paired_statistics(content, *, smoke: bool = False) -> Html:
    """The report's paired-statistics section (the tables, or the one sentence that replaces them with one method
    or too few images) for ``build_report(..., return_content=True)``'s content."""
    from colorbench.report.html import statistics_section
    from colorbench.report.tables import TABLE_CSS, to_markdown

    shown = content.verdict.comparable and not content.verdict.too_few_images
    text = to_markdown(content.tables["pairwise"]) if shown else content.verdict.text
    return _report_piece(TABLE_CSS, statistics_section(content, content.tables), text, smoke)


def figures_html(figures: Mapping[str, Any], captions: Mapping[str, str] | None = None, *, smoke: bool = False,
                 names: Sequence[str] | None = None, include_grids: bool = False) -> Html:
    """Matplotlib figures (e.g. ``build_report(..., return_content=True)[1].figures``) as embedded images with their
    captions, encoded as the report embeds them (a chart PNG, a photo grid JPEG); independent of the notebook's
    matplotlib backend. The report's photo grids (``grid_*``, a megabyte each) are left out unless
    ``include_grids``: the report itself shows them."""
    from colorbench.report.figures import embedded_figure

    parts, text = [], []
    chosen = list(names) if names is not None else [n for n in figures if include_grids or not n.startswith("grid_")]
    for name in chosen:
        mime, raw = embedded_figure(figures[name])  # as the report embeds it: a chart PNG, a photo grid JPEG
        uri = data_uri(raw, mime)
        caption = stamp((captions or {}).get(name, name), smoke)
        parts.append(f"<figure style='margin:12px 0'><img src='{uri}' style='max-width:100%' "
                     f"alt='{html.escape(name)}'/>"
                     f"<figcaption style='font-size:0.9em'>{html.escape(caption)}</figcaption></figure>")
        text.append(f"[figure {name}] {caption}")
    return Html("".join(parts), "\n".join(text))
