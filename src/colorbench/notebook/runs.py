"""A run folder in the notebooks: finding it, its inputs, its methods' status and cost, its scoring status.

Everything shown is what the package computes (the report's cost table and timing totals), stamped in smoke runs.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from colorbench.messages import plural
from colorbench.notebook.render import display_or_print as _show
from colorbench.notebook.render import smoke_banner
from colorbench.notebook.tables import styled
from colorbench.records import MethodStatus, RunRecord, ScoreSummary
from colorbench.runfolder import RunFolder, read_csv, resolve_run


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

    Usage (a sketch, not run by the doctests: it needs a run folder)::

        inputs = run_inputs("demo", limit=2)
        method.colorize(inputs.grays, seed=0, labels=inputs.labels)
    """
    from colorbench.data.images import read_gray

    folder = run_folder(run)
    samples = folder.read_samples()[:limit]
    return RunInputs([s["id"] for s in samples], [s.get("label") or None for s in samples],
                     [read_gray(folder.gray_path(s["id"])) for s in samples])


def is_smoke(run: str | os.PathLike | RunFolder) -> bool:
    folder = run_folder(run)
    return (folder.run_record() or RunRecord()).smoke


def method_statuses(folder: RunFolder) -> dict[str, MethodStatus]:
    return (folder.run_record() or RunRecord()).method_status


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
    # a stage a method does not have stays empty (shown "—"): a 0 read as a stage that took no time
    per_image = reporting[stages].div(reporting["n_images"], axis=0)
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
        _show(styled(pd.DataFrame(failures), caption=f"{plural(len(failures), 'failed image')}", smoke=smoke))


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
