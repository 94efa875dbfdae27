"""The demo job — run, score, report — as one call: what ``colorbench demo`` does, reachable without the CLI.

Under a launcher (``torchrun``, ``accelerate launch``, Slurm) every process colorizes its share of the run; then
rank 0 alone scores and reports, as one process: the launch's process group ends with the run, and joining a second
one in the same launch is not reliable (gloo ranks read the first group's addresses from the launcher's store and
were refused, seen here). For a sharded scoring, launch ``colorbench score`` on its own.

Usage (a sketch, not run by the doctests: it runs the demo into results/)::

    from colorbench.config import RunConfig
    from colorbench.demo import run_demo
    result = run_demo(RunConfig(methods=["gray"], limit=2))
    result.report                       # results/demo/report.html
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from colorbench.config import RunConfig
    from colorbench.distributed import Shard
    from colorbench.metrics.scorer import ScoreResult
    from colorbench.report import ReportOptions
    from colorbench.run import RunSummary


@dataclass
class DemoResult:
    summary: RunSummary  # what the runner did, per method
    scored: ScoreResult | None  # None on the ranks other than 0 of a sharded demo
    report: Path | None  # report.html; None on the ranks other than 0

    @property
    def is_main(self) -> bool:
        """Whether this process wrote the report (the one that should tell the user)."""
        return self.report is not None


def run_demo(cfg: RunConfig, *, report_options: ReportOptions | None = None, progress: bool = True,
             shard: Shard | None = None) -> DemoResult:
    """Colorize ``cfg``'s images with ``cfg``'s methods, score every output on ``cfg.device`` and write the report.

    Methods whose weights cannot be had are skipped by the runner and listed as such, never faked; metrics whose
    weights cannot be had are marked unavailable by the scorer."""
    # the stages' own modules, looked up when called: they import torch and pandas
    from colorbench import metrics, report
    from colorbench.distributed import Shard
    from colorbench.run import run

    shard = Shard.from_env() if shard is None else shard
    summary = run(cfg, progress=progress, shard=shard)  # every rank has finished its share when this returns
    if not shard.is_main:
        return DemoResult(summary, None, None)
    scored = metrics.score_run(summary.path, device=cfg.device, progress=progress, shard=Shard())
    return DemoResult(summary, scored, report.build_report(summary.path, report_options or report.ReportOptions()))
