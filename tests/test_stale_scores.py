"""A run grown after `colorbench score`: the report and the run's summary say the scores are out of date.

A new user ran 4 images, scored, ran 6 and reported without scoring again: the report said "4 in the run, 4
scored" and gave quality over 4 images next to a cost over 6, with no word in the terminal or the page."""

from __future__ import annotations

import logging
import os
import shutil
import time
from pathlib import Path

import numpy as np
from conftest import fixture_path
from evalrun_helpers import make_run

from colorbench import atomic
from colorbench.cli import main
from colorbench.metrics import score_run
from colorbench.runfolder import RunFolder

STALE_WORDS = "not scored yet"


def _report_args(run: str) -> list[str]:
    return ["report", run, "--bootstrap", "50", "--grid-images", "0"]


def test_grown_run_is_said_out_of_date_by_run_report_and_page_until_scored(capsys, caplog):
    """The user's commands: run 2, score, run 3 (1 new image), report; then score and report again."""
    caplog.set_level(logging.WARNING)
    assert main(["run", "--methods", "gray", "--limit", "2", "--run", "quick"]) == 0
    assert "out of date" not in capsys.readouterr().out  # never scored: nothing is out of date
    folder = RunFolder(Path(os.environ["COLORBENCH_RESULTS"]) / "quick")
    score_run(folder.path, lpips_trunk="uncalibrated", fid=False, progress=False)

    assert main(["run", "--methods", "gray", "--limit", "3", "--run", "quick"]) == 0
    assert "scores are now out of date: `colorbench score quick`" in capsys.readouterr().out
    assert folder.unscored_outputs() == {"gray": 1}

    caplog.clear()
    assert main(_report_args("quick")) == 0  # warned, not refused: the partial report is still written
    warning = caplog.text
    assert f"1 output of run quick {STALE_WORDS} (gray: 1" in warning and "`colorbench score quick`" in warning
    assert "(notebooks: run 04_evaluate, then 05_report)" in warning  # 05 shows it too: its fix is notebook 04
    page = folder.report_html.read_text(encoding="utf-8")
    assert 'id="scores-out-of-date"' in page and "<code>colorbench score quick</code>" in page
    assert (f"<dd>3 in the run, 2 scored, 0 excluded — 1 output {STALE_WORDS}: run <code>colorbench score quick"
            "</code></dd>") in page
    assert "n_images includes 1 output not scored yet" in page  # the cost table's 3 next to quality over 2

    score_run(folder.path, lpips_trunk="uncalibrated", fid=False, progress=False)
    caplog.clear()
    assert main(_report_args("quick")) == 0
    assert STALE_WORDS not in caplog.text
    page = folder.report_html.read_text(encoding="utf-8")
    assert "scores-out-of-date" not in page and STALE_WORDS not in page and "<dd>3 in the run, 3 scored" in page
    assert main(["run", "--methods", "gray", "--limit", "3", "--run", "quick"]) == 0  # nothing new written
    assert "out of date" not in capsys.readouterr().out


def test_unscored_outputs_by_rows_and_by_time(tmp_path):
    """Outputs metrics.csv has no row for (a copy keeping an old file time included) or written after it count;
    a gray-only sample (excluded, no rows), a sample no longer in the run and a temporary file do not."""
    folder = make_run(tmp_path / "r", fixture_path("sports"), n_images=2, methods=("gray",))
    score_run(folder.path, lpips_trunk="uncalibrated", fid=False, progress=False)
    assert folder.unscored_outputs() == {} and not folder.scores_stale()  # the gray-only sample's output is excluded

    hour_ago = time.time() - 3600  # explicit times, not a sleep
    ids = [r["id"] for r in folder.read_samples()]
    copied = folder.output_path("copied", ids[0])
    copied.parent.mkdir()
    shutil.copy2(folder.output_path("gray", ids[0]), copied)
    os.utime(copied, (hour_ago, hour_ago))  # older than metrics.csv: only the missing row can tell
    atomic.write_png(folder.output_path("gray", "no-longer-in-the-run"), np.zeros((4, 4, 3), np.uint8))
    os.utime(folder.output_path("gray", "no-longer-in-the-run"), (hour_ago, hour_ago))
    (folder.path / "images" / "gray" / f"{atomic.TMP_PREFIX}x.png").write_bytes(b"")
    assert folder.unscored_outputs() == {"copied": 1} and folder.methods_newer_than_metrics() == ["copied"]

    atomic.write_png(folder.output_path("gray", ids[1]), np.zeros((4, 4, 3), np.uint8))  # rewritten after scoring
    assert folder.unscored_outputs() == {"gray": 1, "copied": 1} and folder.scores_stale()
