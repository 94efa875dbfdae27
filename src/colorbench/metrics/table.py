"""The metrics-table contract: what ``metrics.csv`` and ``metrics.json`` hold and how to read them back.

Torch-free on purpose: the report, the notebooks and any tool that only *reads* scores import this module, so
``colorbench report`` works in an environment without torch (tested with an import blocker). The scorer that
*writes* the table (:mod:`colorbench.metrics.scorer`) imports its column list from here: one definition.

Usage (a sketch, not run by the doctests: it needs a scored run folder)::

    from colorbench.metrics.table import load_metrics
    frame = load_metrics("results/demo")   # one row per (method, image, sample k)
"""

from __future__ import annotations

import math
from pathlib import Path

from colorbench import atomic
from colorbench.metrics.specs import IMAGE_METRICS, LOWER_IS_BETTER, SUMMARISED_METRICS  # noqa: F401 (re-exported)
from colorbench.runfolder import RunFolder

#: the columns that say which output a row is about, and what happened to it
ROW_COLUMNS = ["method", "id", "k", "label", "class_id", "status"]
#: the numeric columns (empty cell = no value): one per per-image metric of :mod:`colorbench.metrics.specs`
NUMERIC_COLUMNS = list(IMAGE_METRICS)
#: columns of metrics.csv, in order (documented in results/README.md)
METRIC_COLUMNS = [*ROW_COLUMNS, *NUMERIC_COLUMNS, "error"]
#: per-image quality metrics with a mean per method
METRICS = SUMMARISED_METRICS


class ScoringError(ValueError):
    """A run folder cannot be scored (or its scores read) as asked; the message names the fix."""


def write_metrics_csv(path: Path, frame) -> None:
    records = frame.to_dict(orient="records")
    for rec in records:
        for name in NUMERIC_COLUMNS:
            value = rec[name]
            rec[name] = "" if value is None or (isinstance(value, float) and math.isnan(value)) else repr(float(value))
    atomic.write_csv(path, records, METRIC_COLUMNS)


def load_metrics(run_path) -> "object":
    """``metrics.csv`` of a run as a DataFrame (empty cells -> NaN). Raises with the fix when it is absent."""
    import pandas as pd

    run = RunFolder(run_path)
    if not run.metrics_csv.exists():
        name = run.command_name()  # the run's name when that finds it: what the user typed, not an absolute path
        raise ScoringError(f"{run.metrics_csv} does not exist: score the run first (`colorbench score {name}`, or "
                           f"`colorbench report {name} --score` for both)")
    return pd.read_csv(run.metrics_csv, dtype={"id": str, "label": str, "class_id": str, "method": str, "error": str},
                       keep_default_na=False, na_values={m: [""] for m in NUMERIC_COLUMNS})


def load_summary(run_path) -> dict:
    """``metrics.json`` of a run (how the scores were made) as a plain dict, or {} for runs scored before it existed.
    Read through :class:`~colorbench.records.ScoreSummary` (code reads ``RunFolder.score_summary()``)."""
    summary = RunFolder(run_path).score_summary()
    return summary.to_dict() if summary is not None else {}
