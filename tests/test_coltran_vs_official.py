"""benchmarks/coltran_vs_official.py without a local copy of the official code: a clear skip, not a crash."""

from __future__ import annotations

import subprocess
import sys

from conftest import PROJECT_ROOT


def test_without_the_official_code_it_says_how_to_give_it(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(PROJECT_ROOT / "src")}
    proc = subprocess.run([sys.executable, "benchmarks/coltran_vs_official.py", "--official", str(tmp_path)],
                          cwd=PROJECT_ROOT, env=env, check=False, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "skipped: no official ColTran code" in proc.stdout and "COLTRAN_OFFICIAL" in proc.stdout
    assert not (tmp_path / "out.json").exists()
