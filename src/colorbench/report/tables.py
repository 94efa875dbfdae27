"""Tables in three forms: CSV (numbers, full precision), Markdown and styled HTML (formatted for reading).

Usage (a sketch, not run by the doctests: it writes files)::

    from colorbench.report.tables import Table, write_table
    write_table(Table("headline", "Headline", numbers_df, display_df), "results/demo/tables")
    # -> headline.csv, headline.md, headline.html
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from colorbench import atomic

TABLE_CSS = """
table.cb{border-collapse:collapse;font-size:13px;margin:.4em 0 1em}
table.cb th,table.cb td{border:1px solid #d0d4da;padding:4px 8px;text-align:right;white-space:nowrap}
table.cb th{background:#eef1f5;text-align:center}
table.cb td:first-child,table.cb th:first-child{text-align:left}
table.cb tr:nth-child(even) td{background:#fafbfc}
table.cb td.best,table.cb tr:nth-child(even) td.best{font-weight:700;background:#e3f4e6}
#table-headline td,#table-pairwise td{white-space:normal;min-width:4.5em}
#table-cost th,#table-cost td{white-space:normal}
#table-family_best td:last-child,#table-family_pairwise td:last-child{white-space:normal;text-align:left;min-width:16em}
table.cb caption{caption-side:top;text-align:left;font-weight:600;padding:4px 0}
table.cb caption .smoke{color:#b00020;font-weight:700}
"""


@dataclass
class Table:
    """``numbers``: what goes into the CSV; ``display``: formatted strings for Markdown/HTML (defaults to numbers)."""

    name: str
    title: str
    numbers: pd.DataFrame
    display: pd.DataFrame | None = None
    notes: list[str] = field(default_factory=list)
    best: dict[str, set[int]] = field(default_factory=dict)  # display column -> row positions to highlight
    #: a smoke run's label (colorbench.report.smoke): before the title of the HTML and Markdown forms, and a last
    #: column ``smoke`` of the CSV, so that the table, copied or opened alone, still says its numbers are meaningless
    smoke: str = ""

    @property
    def shown(self) -> pd.DataFrame:
        return self.display if self.display is not None else format_frame(self.numbers)


def fmt(value, decimals: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        if math.isinf(value):
            return "∞" if value > 0 else "−∞"
        if value != 0 and abs(value) < 10 ** -decimals:
            return f"{value:.2e}"
        return f"{value:.{decimals}f}"
    return str(value)


def fmt_ci(mean, lo, hi, decimals: int = 3) -> str:
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return "—"
    if lo is None or (isinstance(lo, float) and math.isnan(lo)):
        return fmt(mean, decimals)
    return f"{fmt(mean, decimals)} [{fmt(lo, decimals)}, {fmt(hi, decimals)}]"


def format_frame(frame: pd.DataFrame, decimals: int = 3) -> pd.DataFrame:
    return frame.apply(lambda col: col.map(lambda v: fmt(v, decimals))).astype(str)


def to_markdown(table: Table) -> str:
    shown = table.shown
    index_name = shown.index.name
    frame = shown.reset_index() if index_name else shown
    cols = [str(c) for c in frame.columns]
    lines = [f"### {_titled(table)}", "", "| " + " | ".join(_md(c) for c in cols) + " |",
             "|" + "|".join("---" if i == 0 else "---:" for i in range(len(cols))) + "|"]
    for _, row in frame.iterrows():
        lines.append("| " + " | ".join(_md(str(v)) for v in row.tolist()) + " |")
    lines += [""] + [f"*{n}*" for n in table.notes]
    return "\n".join(lines).rstrip() + "\n"


def _titled(table: Table) -> str:
    return f"{table.smoke} — {table.title}" if table.smoke else table.title


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def to_html(table: Table, *, standalone: bool = False) -> str:
    """The table as an HTML fragment (``<table class="cb">``), or a whole page with its CSS when ``standalone``."""
    shown = table.shown
    index_name = shown.index.name
    frame = shown.reset_index() if index_name else shown
    if frame.empty and not standalone:  # a header-only table reads like a rendering fault: say there is nothing
        return (f'<p class="note" id="table-{html.escape(table.name)}"><b>{html.escape(table.title)}</b>: '
                "none.</p>")
    # a column name may break after its underscores (<wbr>): the cost table's long names made it scroll sideways
    head = "".join(f"<th>{html.escape(str(c)).replace('_', '_<wbr>')}</th>" for c in frame.columns)
    body = []
    for pos, (_, row) in enumerate(frame.iterrows()):
        cells = []
        for col, value in zip(frame.columns, row.tolist()):
            cls = ' class="best"' if pos in table.best.get(str(col), set()) else ""
            cells.append(f"<td{cls}>{html.escape(str(value))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    notes = "".join(f'<p class="note">{html.escape(n)}</p>' for n in table.notes)
    smoke = f'<span class="smoke">{html.escape(table.smoke)}</span> — ' if table.smoke else ""
    fragment = (f'<table class="cb" id="table-{html.escape(table.name)}"><caption>{smoke}{html.escape(table.title)}'
                "</caption>"
                f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>{notes}")
    if not standalone:
        return fragment
    return (f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{html.escape(_titled(table))}</title>'
            f"<style>body{{font-family:system-ui,sans-serif}}{TABLE_CSS}</style></head><body>{fragment}</body></html>\n")


def write_table(table: Table, folder: str | Path) -> dict[str, Path]:
    folder = Path(folder)
    paths = {ext: folder / f"{table.name}.{ext}" for ext in ("csv", "md", "html")}
    numbers = table.numbers.assign(smoke=table.smoke) if table.smoke else table.numbers
    atomic.write_text(paths["csv"], numbers.to_csv(index=numbers.index.name is not None, float_format="%.10g"))
    atomic.write_text(paths["md"], to_markdown(table))
    atomic.write_text(paths["html"], to_html(table, standalone=True))
    return paths


def best_rows(values: pd.Series, lower_is_better: bool | None) -> set[int]:
    """Positions of the best values (one or tied) of a numeric column (none when the direction is undefined)."""
    if lower_is_better is None:
        return set()
    v = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    if np.all(np.isnan(v)):
        return set()
    target = np.nanmin(v) if lower_is_better else np.nanmax(v)
    return {int(i) for i in np.flatnonzero(v == target)}


def load_tables(run_path) -> dict[str, pd.DataFrame]:
    """Every ``tables/*.csv`` of a reported run as DataFrames, by table name (for notebooks)."""
    from colorbench.runfolder import RunFolder

    folder = RunFolder(run_path).tables_dir
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder} does not exist: build the report first (`colorbench report {run_path}`)")
    return {p.stem: pd.read_csv(p) for p in sorted(folder.glob("*.csv"))}
