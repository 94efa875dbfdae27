"""`colorbench report` on a scored run works where torch is not installed: the report reads the metrics-table
contract (colorbench.metrics.table), never the scorer. Checked in a subprocess whose import system refuses torch."""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import PROJECT_ROOT, fixture_path
from evalrun_helpers import make_run

from colorbench.metrics import score_run

BLOCK_TORCH = """
import importlib.abc, runpy, sys
class NoTorch(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in ("torch", "torchvision"):
            raise ModuleNotFoundError(f"No module named {name!r} (blocked by the test)")
sys.meta_path.insert(0, NoTorch())
sys.argv = ["colorbench", *sys.argv[1:]]
runpy.run_module("colorbench", run_name="__main__")
"""


@pytest.fixture(scope="module")
def scored_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("torchfree") / "run"
    make_run(root, fixture_path("sports"), n_images=3)
    score_run(root, lpips_trunk="uncalibrated", fid=False, progress=False)
    return root


def _colorbench_without_torch(tmp_path, *args):
    script = tmp_path / "no_torch.py"
    script.write_text(BLOCK_TORCH)
    env_path = str(PROJECT_ROOT / "src")
    return subprocess.run([sys.executable, str(script), *args], capture_output=True, text=True, timeout=300,
                          env={"PYTHONPATH": env_path, "PATH": "/usr/bin:/bin", "HOME": str(tmp_path),
                               "MPLBACKEND": "Agg", "COLORBENCH_OFFLINE": "1"})


def test_report_builds_without_torch(scored_run, tmp_path):
    (scored_run / "report.html").unlink(missing_ok=True)
    out = _colorbench_without_torch(tmp_path, "report", str(scored_run), "--bootstrap", "50")
    assert out.returncode == 0, out.stderr[-3000:]
    html = (scored_run / "report.html").read_text(encoding="utf-8")
    assert "chroma-blur" in html and "hue-shift" in html


def test_the_blocker_really_blocks_torch(tmp_path):
    """Guards the test above: with the blocker, a command that needs torch (score) fails for that reason."""
    code = BLOCK_TORCH.replace('runpy.run_module("colorbench", run_name="__main__")', "import torch")
    script = tmp_path / "probe.py"
    script.write_text(code)
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60)
    assert out.returncode != 0 and "blocked by the test" in out.stderr
