"""README's results table, generated from a run's committed report tables, never typed.

A *results folder* is what a run leaves for the record: ``metrics.json`` and ``tables/headline.csv`` as
``colorbench score`` and ``colorbench report`` wrote them (docs/results/sports-test/ holds one). ``colorbench score``
computes LPIPS with one trunk per pass, so another trunk's pass lives in a sub-folder of the same shape
(``lpips-vgg/``); its LPIPS becomes one more column. Every other number comes from the top folder.

The table sits in README between two markers naming its folder, so a test can regenerate it and compare::

    <!-- results-table: docs/results/sports-test -->
    ...generated...
    <!-- /results-table -->

Usage (a sketch, not run by the doctests: it needs a published results folder)::

    from colorbench.report.results_table import results_table
    print(results_table("docs/results/sports-test"))
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from colorbench.records import ScoreSummary
from colorbench.report.aggregate import METRIC_DECIMALS, METRIC_LABELS
from colorbench.report.tables import fmt, fmt_ci

MARKER = re.compile(r"(<!-- results-table: (?P<folder>\S+) -->\n)(?P<body>.*?)(<!-- /results-table -->)", re.S)
OTHER_METRICS = ("psnr", "ssim", "delta_e2000", "colorfulness")


def _read(folder: Path) -> tuple[pd.DataFrame, ScoreSummary]:
    headline, summary = folder / "tables" / "headline.csv", folder / "metrics.json"
    for path, made_by in ((headline, "colorbench report"), (summary, "colorbench score")):
        if not path.is_file():
            raise FileNotFoundError(f"{path} is absent: a results folder holds the run's metrics.json and "
                                    f"tables/headline.csv (written by `{made_by}`; copy them from results/RUN/)")
    return pd.read_csv(headline), ScoreSummary.read(summary)


def _lpips_label(summary: ScoreSummary, where: Path) -> str:
    info = summary.lpips
    if not info.available or not info.net:
        raise ValueError(f"{where / 'metrics.json'} has no LPIPS (available={info.available}, net={info.net}): score "
                         "the run with the LPIPS trunks present (`colorbench weights fetch torchvision-alexnet`)")
    return f"LPIPS {info.net} ↓" if info.is_calibrated else f"LPIPS {info.net} (uncalibrated trunk: not LPIPS) ↓"


def _ci(row, metric: str) -> str:
    return fmt_ci(row[f"{metric}_mean"], row[f"{metric}_lo"], row[f"{metric}_hi"], METRIC_DECIMALS[metric])


def results_table(folder) -> str:
    """The Markdown table of ``folder`` (a results folder, plus its sub-folders for other LPIPS trunks): one row
    per method with its mean and 95% bootstrap CI per metric, then the true colours' colourfulness."""
    folder = Path(folder)
    main, summary = _read(folder)
    passes = [(main, summary, folder)]
    passes += [(*_read(sub), sub) for sub in sorted(folder.iterdir())
               if sub.is_dir() and (sub / "tables" / "headline.csv").is_file()]
    methods = main["method"].tolist()
    shown = pd.DataFrame({"method": [f"`{m}`" for m in methods], "photos": main["n_scored"].map(fmt).tolist()})
    for frame, score, where in passes:
        if frame["method"].tolist() != methods or frame["n_scored"].tolist() != main["n_scored"].tolist():
            raise ValueError(f"{where / 'tables' / 'headline.csv'} has other methods or image counts than "
                             f"{folder / 'tables' / 'headline.csv'}: both must come from the same run")
        label = _lpips_label(score, where)
        if label in shown:
            raise ValueError(f"{where}: a second pass with the same LPIPS trunk ({label}); keep one")
        shown[label] = [_ci(row, "lpips") for _, row in frame.iterrows()]
    for metric in OTHER_METRICS:
        shown[METRIC_LABELS[metric]] = [_ci(row, metric) for _, row in main.iterrows()]
    shown[METRIC_LABELS["delta_cf"]] = [fmt_ci(r["delta_cf"], r["delta_cf_lo"], r["delta_cf_hi"], 2)
                                        for _, r in main.iterrows()]
    truth = {c: "" for c in shown.columns}
    truth.update({"method": "true colours", "photos": fmt(int(main["n_scored"].max())),
                  METRIC_LABELS["colorfulness"]: fmt(main["colorfulness_truth_mean"].iloc[0],
                                                     METRIC_DECIMALS["colorfulness"])})
    shown = pd.concat([shown, pd.DataFrame([truth])], ignore_index=True)
    lines = ["| " + " | ".join(shown.columns) + " |", "|" + "---|" * len(shown.columns)]
    lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in shown.itertuples(index=False)]
    return "\n".join(lines) + "\n"


def update_readme(readme) -> list[str]:
    """Regenerate every marked results table in ``readme`` in place; returns the folders whose table changed."""
    path = Path(readme)
    text = path.read_text(encoding="utf-8")
    changed = []

    def fill(match: re.Match) -> str:
        body = results_table(path.parent / match["folder"])
        if body != match["body"]:
            changed.append(match["folder"])
        return match.group(1) + body + match.group(4)

    new = MARKER.sub(fill, text)
    if new != text:
        path.write_text(new, encoding="utf-8")
    return changed


def marked_tables(readme) -> list[tuple[str, str]]:
    """(folder, table as written) for every marked results table in ``readme``."""
    return [(m["folder"], m["body"]) for m in MARKER.finditer(Path(readme).read_text(encoding="utf-8"))]
