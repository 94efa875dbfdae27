"""Wall time of the README's test command (`make test`) and its slowest tests, with the machine and its load.

Runs ``make test [VENV=<venv>] [EXTRAS=<set>]`` (lint, then the suite in parallel as the Makefile says), with
``PYTEST_ADDOPTS=--durations=30`` so that pytest prints its 30 slowest phases, and records the wall time, pytest's
summary line, that table, the load average before and after (the machine may be shared) and the machine.

Two ways, as the issue asks for both figures:

- ``--fresh-clone``: what a newcomer waits for. A ``git clone`` of this checkout's HEAD into a temporary folder, with
  ``../shared`` linked beside it when this checkout has one (the test fixtures), then README's ``make test`` there,
  exactly as printed: it creates the clone's ``.venv`` (from the package index or the local wheels) before it lints
  and tests, so the wall includes the install. The clone is deleted afterwards.
- ``--venv PATH``: lint + tests alone, in this checkout, with a venv that exists already (``make setup`` then does
  nothing); the install is timed by ``benchmarks/install_time.py``.

    python3 benchmarks/test_suite.py --fresh-clone --label fresh-clone               # README's command, from nothing
    python3 benchmarks/test_suite.py --venv .venv --extras all --label all          # what `.ci/run` runs second

Writes (merges into) ``benchmarks/out/test_suite.json`` under the label.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "benchmarks"))
from _machine import machine  # noqa: E402  (the one record of the machine, as every benchmark JSON has it)

OUT = REPO / "benchmarks" / "out" / "test_suite.json"


def load_average() -> list[float] | None:
    return [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None


def parse_durations(output: str) -> list[dict]:
    """pytest's ``slowest N durations`` table: ``12.34s call     tests/test_x.py::test_y``."""
    rows = []
    for match in re.finditer(r"^\s*([\d.]+)s (setup|call|teardown)\s+(\S.*)$", output, re.MULTILINE):
        rows.append({"seconds": float(match[1]), "phase": match[2], "test": match[3].strip()})
    return rows


def summary_line(output: str) -> str | None:
    """pytest's last line, e.g. ``812 passed, 9 skipped in 431.20s (0:07:11)``."""
    lines = [line.strip("= ") for line in output.splitlines() if re.search(r"\b(passed|failed|error)", line)]
    return lines[-1] if lines else None


def fresh_clone(into: Path) -> Path:
    """A clone of HEAD at ``into/colorbench``, with ``../shared`` beside it as a symlink when REPO has one (CI's
    layout: the tests find their fixtures there)."""
    clone = into / "colorbench"
    subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True)
    shared = REPO.parent / "shared"
    if shared.is_dir():
        (into / "shared").symlink_to(shared.resolve())
    return clone


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--venv", type=Path, help="an existing venv with the extras installed")
    where.add_argument("--fresh-clone", action="store_true",
                       help="make test in a new clone of HEAD, venv included (a newcomer's wait)")
    parser.add_argument("--extras", help="EXTRAS for make (default: the Makefile's TEST_EXTRAS)")
    parser.add_argument("--label", required=True, help="key in the JSON, e.g. fresh-clone or all")
    parser.add_argument("--make-arg", action="append", default=[], help="another make variable, e.g. TEST_WORKERS=1")
    parser.add_argument("--log", type=Path, help="also write make's whole output here")
    args = parser.parse_args()

    cmd = ["make", "test"] + ([f"EXTRAS={args.extras}"] if args.extras else []) + args.make_arg
    if args.venv:
        venv = args.venv.resolve()
        if not (venv / "bin" / "python").exists():
            raise SystemExit(f"{venv}/bin/python does not exist: create the venv first (see this script's docstring)")
        cmd.insert(2, f"VENV={venv}")
    env = {**os.environ, "PYTEST_ADDOPTS": (os.environ.get("PYTEST_ADDOPTS", "") + " --durations=30").strip()}
    for var in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "EXTRAS", "VIRTUAL_ENV"):
        env.pop(var, None)
    scratch = Path(tempfile.mkdtemp(prefix="test-suite-")) if args.fresh_clone else None
    try:
        cwd = fresh_clone(scratch) if scratch else REPO
        load_before, started = load_average(), time.perf_counter()
        done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - started
    finally:
        if scratch:
            shutil.rmtree(scratch, ignore_errors=True)  # the clone's .venv is ~8 GB
    output = done.stdout + done.stderr
    if args.log:
        args.log.write_text(output)
    git = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True).stdout.strip()
    record = {
        "command": " ".join(cmd), "where": "a fresh clone of HEAD, .venv created by make" if scratch else str(REPO),
        "returncode": done.returncode, "wall_s": round(wall, 1),
        "pytest_summary": summary_line(output), "slowest": parse_durations(output),
        "load_average_before": load_before, "load_average_after": load_average(), "machine": machine(),
        "git_sha": git, "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    results = json.loads(OUT.read_text()) if OUT.exists() else {}
    results[args.label] = record
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(f"{args.label}: {record['pytest_summary']}; make test wall {wall:.0f} s (rc {done.returncode}), "
          f"load {load_before} -> {record['load_average_after']}; written to {OUT}")
    return done.returncode


if __name__ == "__main__":
    sys.exit(main())
