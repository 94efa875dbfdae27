"""Wall time of the README's test command (`make test`) and its slowest tests, with the machine and its load.

Runs ``make test VENV=<venv> [EXTRAS=<set>]`` in this checkout (lint, then the suite in parallel as the Makefile
says), with ``PYTEST_ADDOPTS=--durations=30`` so that pytest prints its 30 slowest phases, and records the wall
time, pytest's summary line, that table, the load average before and after (the machine may be shared) and the
machine. The venv must exist already (its install is timed by ``benchmarks/install_time.py``, not here): with an
up-to-date venv `make setup` does nothing, so the wall is that of lint + tests.

    python3 benchmarks/test_suite.py --venv /work/lean-venv2 --label lean           # `make test`'s own extras
    python3 benchmarks/test_suite.py --venv .venv --extras all --label all          # what `.ci/run` runs

Writes (merges into) ``benchmarks/out/test_suite.json`` under the label.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "benchmarks" / "out" / "test_suite.json"


def machine() -> dict:
    """CPU model, core counts and OS. (Swap for benchmarks/_machine.py's record once every benchmark uses one.)"""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {"cpu": cpu, "cpu_count": os.cpu_count(), "usable_cores": usable, "platform": platform.platform(),
            "python": sys.version.split()[0]}


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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--venv", required=True, type=Path, help="an existing venv with the extras installed")
    parser.add_argument("--extras", help="EXTRAS for make (default: the Makefile's TEST_EXTRAS)")
    parser.add_argument("--label", required=True, help="key in the JSON, e.g. lean or all")
    parser.add_argument("--make-arg", action="append", default=[], help="another make variable, e.g. TEST_WORKERS=1")
    parser.add_argument("--log", type=Path, help="also write make's whole output here")
    args = parser.parse_args()

    venv = args.venv.resolve()
    if not (venv / "bin" / "python").exists():
        raise SystemExit(f"{venv}/bin/python does not exist: create the venv first (see this script's docstring)")
    cmd = ["make", "test", f"VENV={venv}"] + ([f"EXTRAS={args.extras}"] if args.extras else []) + args.make_arg
    env = {**os.environ, "PYTEST_ADDOPTS": (os.environ.get("PYTEST_ADDOPTS", "") + " --durations=30").strip()}
    for var in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "EXTRAS"):
        env.pop(var, None)
    load_before, started = load_average(), time.perf_counter()
    done = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    output = done.stdout + done.stderr
    if args.log:
        args.log.write_text(output)
    git = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True).stdout.strip()
    record = {
        "command": " ".join(cmd), "returncode": done.returncode, "wall_s": round(wall, 1),
        "pytest_summary": summary_line(output), "slowest": parse_durations(output),
        "load_average_before": load_before, "load_average_after": load_average(), "machine": machine(),
        "git_sha": git, "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    results = json.loads(OUT.read_text()) if OUT.exists() else {}
    results[args.label] = record
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(results, indent=2) + "\n")
    print(f"{args.label}: {record['pytest_summary']}; make test wall {wall:.0f} s (rc {done.returncode}), "
          f"load {load_before} -> {record['load_average_after']}; written to {OUT}")
    return done.returncode


if __name__ == "__main__":
    sys.exit(main())
