"""The demo job as a function (run -> score -> report), without argparse; who reports in a sharded demo; and the
one decision that a run's scores are stale."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from colorbench import atomic
from colorbench.config import RunConfig
from colorbench.demo import run_demo
from colorbench.distributed import Shard
from colorbench.runfolder import RunFolder, read_csv


def test_run_demo_runs_scores_and_reports(tmp_path):
    cfg = RunConfig(run="d", methods=["gray"], limit=2, device="cpu", results_dir=str(tmp_path))
    result = run_demo(cfg, progress=False)
    folder = RunFolder(tmp_path / "d")
    assert result.summary.path == folder.path and result.is_main
    [gray] = result.summary.methods
    assert (gray.name, gray.written) == ("gray", 2)
    assert result.scored.summary["methods"]["gray"]["n_images_scored"] == 2  # scored what it ran
    assert result.scored.summary["device"] == "cpu"  # on the run's device
    assert folder.metrics_csv.is_file() and not folder.scores_stale()
    assert result.report == folder.report_html and result.report.is_file() and folder.verdict_md.is_file()

    again = run_demo(cfg, progress=False)  # resumes: nothing colorized twice
    assert (again.summary.methods[0].written, again.summary.methods[0].reused) == (0, 2)


def test_a_sharded_demo_runs_on_every_rank_and_scores_and_reports_on_rank_0(tmp_path, monkeypatch):
    """Under a launcher every rank runs its share; rank 0 alone then scores (as one process: the launch's process
    group ended with the run) and reports — a second writer of metrics.csv or report.html would race rank 0's."""
    from colorbench import metrics, report

    calls = []
    monkeypatch.setattr("colorbench.run.run", lambda cfg, progress, shard: calls.append(("run", shard.rank))
                        or type("S", (), {"path": tmp_path})())
    monkeypatch.setattr(metrics, "score_run", lambda path, device, progress, shard: calls.append(("score", shard)))
    monkeypatch.setattr(report, "build_report", lambda path, options: calls.append(("report", options.n_boot))
                        or path / "report.html")
    cfg = RunConfig(run="d", methods=["gray"])
    other = run_demo(cfg, shard=Shard(rank=1, world_size=2))
    assert other.report is None and not other.is_main
    main = run_demo(cfg, shard=Shard(rank=0, world_size=2), report_options=report.ReportOptions(n_boot=7))
    assert main.report == tmp_path / "report.html"
    assert calls == [("run", 1), ("run", 0), ("score", Shard()), ("report", 7)]


def test_scores_are_stale_until_scored_and_again_when_an_image_is_added(tmp_path):
    folder = RunFolder(tmp_path)
    atomic.write_png(folder.output_path("gray", "a"), np.zeros((4, 4, 3), np.uint8))
    assert folder.scores_stale()  # never scored
    folder.metrics_csv.write_text("method,id\n")
    hour_ago = time.time() - 3600  # explicit times, not a sleep
    os.utime(folder.output_path("gray", "a"), (hour_ago, hour_ago))
    assert not folder.scores_stale()
    atomic.write_png(folder.output_path("later", "a"), np.zeros((4, 4, 3), np.uint8))
    assert folder.scores_stale() and folder.methods_newer_than_metrics() == ["later"]
    assert Path(folder.metrics_csv).exists()  # deciding never touches the scores


@pytest.mark.slow  # two fresh processes and a full report (2000 bootstrap resamples): minutes on a busy CPU
def test_demo_under_torchrun_reports_once_with_every_image_scored(tmp_path):
    """Two real torchrun processes: both colorize their shares, rank 0 alone scores every image, writes the report
    and prints the outcome."""
    from test_sharded import launch, tiny_dataset

    data = tiny_dataset(tmp_path / "data")
    proc = launch("torchrun", 2, ["demo", "--dataset", str(data), "--methods", "gray", "--device", "cpu",
                                  "--batch-size", "2", "--run", "sharded-demo"], tmp_path / "results",
                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out, _ = proc.communicate(timeout=1200)
    assert proc.returncode == 0, out[-3000:]
    folder = RunFolder(tmp_path / "results" / "sharded-demo")
    assert folder.report_html.is_file() and not folder.scores_stale()
    assert len(folder.read_run_json()["launch"]["devices"]) == 2
    assert len({r["id"] for r in read_csv(folder.metrics_csv) if r["method"] == "gray"}) == 6  # both ranks' images
    assert out.count("report: ") == 1 and out.count("- gray: ") == 1  # one process told the user
    assert "- gray: 6 written" in out  # the whole run's count, not its own share
