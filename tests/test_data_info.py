"""`colorbench data info` flags the unreadable images `run` would skip, and describes a folder without classes or
splits in the same words as the report."""

from __future__ import annotations

import numpy as np
from PIL import Image

from colorbench.cli import main
from colorbench.config import RunConfig
from colorbench.metrics import score_run
from colorbench.report import ReportOptions, build_report
from colorbench.run import run


def _folder(tmp_path):
    root = tmp_path / "photos"
    root.mkdir()
    rng = np.random.default_rng(0)
    for name in ("a.png", "b.png"):
        Image.fromarray(rng.integers(0, 256, (32, 40, 3), dtype=np.uint8)).save(root / name)
    (root / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    return root


def test_data_info_lists_the_images_run_would_skip(tmp_path, capsys):
    root = _folder(tmp_path)
    assert main(["data", "info", "--dataset", str(root)]) == 0
    out = capsys.readouterr().out
    assert "no splits" in out and "3 images, no classes (images directly in the folder)" in out
    assert "unreadable images: 1" in out and "broken.jpg" in out
    summary = run(RunConfig(run="folder-run", dataset=str(root), methods=["gray"], device="cpu"), progress=False)
    assert summary.skipped_images == 1  # the same image data info named
    score_run(summary.path, lpips_trunk="uncalibrated", fid=False, progress=False)
    page = build_report(summary.path, ReportOptions(n_boot=20, grid_images=1, grid_extremes=1)).read_text()
    assert "no classes (images directly in the folder)" in page and "0 classes" not in page
    assert "the dataset has no splits" in page
    # the file run skipped is in the report too, not only in skipped.csv (the report said "2 in the run" and no more)
    assert "1 input file could not be used and is not in the run (see Coverage)" in page
    coverage = page[page.index('id="coverage"'):]
    assert "Input files that could not be used (1; from skipped.csv)" in coverage and "broken.jpg" in coverage
    assert main(["data", "info", "--dataset", str(root), "--no-check"]) == 0
    assert "unreadable" not in capsys.readouterr().out
