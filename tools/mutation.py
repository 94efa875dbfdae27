"""Mutation pass over colorbench's numeric core, with mutmut (not in CI: it is slow).

    python tools/mutation.py                 # every module below, one after the other
    python tools/mutation.py color zhang     # just these
    python tools/mutation.py --list          # the modules and the tests each one runs

Each module runs in its own scratch copy under ``.mutation/<module>/`` (git-ignored; never inside ``src/``): mutmut
copies the source to ``mutants/``, collects which test covers which function, then runs each mutant against the tests
that cover the mutated function only (in forked children of a warm process, so torch is imported once, not once per
mutant). On top of that, each module runs only its own test files (``TESTS`` below), which is how the pass is meant
to stay under an hour on 2 idle cores. Measured so far (2 cores shared by eight developers, load average ~11):
``color`` 438 mutants in 14 min with one child, ``zhang-quick`` 257 in 8 min; the other modules were not run yet, and
``zhang`` (which runs the slow official-code checks per network mutant) is the one most likely to need trimming.
The summary (per module: generated, killed, survived, timeouts, other) is written to ``.mutation/summary.json``; the
survivors are listed with ``mutmut results`` / ``mutmut show NAME`` in the module's folder.

Why mutmut and not cosmic-ray: cosmic-ray starts the test command afresh for every mutant, and importing torch +
collecting the tests costs seconds per mutant on a busy 2-core machine — hours for these modules; mutmut 3 forks
mutants from a process that has already imported everything and picks tests per function.
"""

from __future__ import annotations

import argparse
import configparser
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRATCH = ROOT / ".mutation"
PACKAGE = "src/colorbench"

# module key -> (files to mutate, relative to src/colorbench; the tests that may kill them; extra pytest arguments)
TESTS: dict[str, tuple[list[str], list[str], list[str]]] = {
    "color": (["color.py"], ["tests/test_color.py"], []),
    "zhang": (["methods/zhang/*"],
              ["tests/test_zhang_official.py", "tests/test_zhang_decoding.py", "tests/test_zhang_release.py",
               "tests/test_zhang_method.py"], []),
    # the same tests minus the network checks against the official code: a quick pass over bins/decoding and loading
    "zhang-quick": (["methods/zhang/decoding.py", "methods/zhang/release.py"],
                    ["tests/test_zhang_decoding.py", "tests/test_zhang_release.py"], []),
    "metrics": (["metrics/*"],
                ["tests/test_metrics_pixel_colour.py", "tests/test_metrics_lpips.py", "tests/test_metrics_fid.py",
                 "tests/test_metrics_scorer.py"], []),
    "cnn": (["methods/cnn/*"], ["tests/test_cnn_model.py", "tests/test_cnn_onnx.py", "tests/test_cnn_train.py"], []),
    "coltran": (["methods/coltran/layers.py", "methods/coltran/sampler.py"],
                ["tests/test_coltran_models.py", "tests/test_coltran_sampler.py", "tests/test_coltran_method.py"], []),
}


def _fixtures() -> str:
    env = os.environ.get("COLORBENCH_FIXTURES")
    return env or str(ROOT.parent / "shared" / "fixtures")


def prepare(module: str) -> Path:
    """A fresh scratch copy (source, tests, pytest config) with a setup.cfg that scopes mutmut to ``module``."""
    files, tests, extra = TESTS[module]
    work = SCRATCH / module
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    for part in ("src", "tests"):
        shutil.copytree(ROOT / part, work / part, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    shutil.copy2(ROOT / "pyproject.toml", work / "pyproject.toml")
    cfg = configparser.ConfigParser()
    cfg["mutmut"] = {
        "source_paths": PACKAGE,
        "only_mutate": "\n" + "\n".join(f"{PACKAGE}/{f}" for f in files),
        "pytest_add_cli_args_test_selection": "\n" + "\n".join(tests),
        "pytest_add_cli_args": "\n" + "\n".join(["-p", "no:cacheprovider", "-q", *extra]),
    }
    with open(work / "setup.cfg", "w") as handle:
        cfg.write(handle)
    return work


def run(module: str, children: int, *, summarize_only: bool = False) -> dict:
    work = SCRATCH / module if summarize_only else prepare(module)
    env = {**os.environ, "COLORBENCH_FIXTURES": _fixtures(), "OMP_NUM_THREADS": "1"}
    mutmut = [sys.executable, "-m", "mutmut"]
    start = time.time()
    if not summarize_only:
        with open(work / "run.log", "w") as log:
            subprocess.run([*mutmut, "run", "--max-children", str(children)], cwd=work, env=env, stdout=log,
                           stderr=subprocess.STDOUT, check=False)
    seconds = time.time() - start
    results = subprocess.run([*mutmut, "results", "--all", "true"], cwd=work, env=env, capture_output=True, text=True)
    counts: dict[str, int] = {}
    survivors = []
    for line in results.stdout.splitlines():
        name, _, status = line.strip().rpartition(": ")
        if not name:
            continue
        counts[status] = counts.get(status, 0) + 1
        if status == "survived":
            survivors.append(name)
    return {"module": module, "files": TESTS[module][0], "tests": TESTS[module][1], "seconds": round(seconds),
            "generated": sum(counts.values()), "killed": counts.get("killed", 0),
            "survived": counts.get("survived", 0), "counts": counts, "survivors": survivors}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("modules", nargs="*", choices=[[], *TESTS], help="modules to mutate (default: all)")
    parser.add_argument("--children", type=int, default=2, help="mutants run in parallel (default 2)")
    parser.add_argument("--list", action="store_true", help="show the modules and their tests, run nothing")
    parser.add_argument("--summarize", action="store_true",
                        help="only count the results already in .mutation/<module>/ (a run that was stopped: its "
                             "unfinished mutants count as 'not checked')")
    args = parser.parse_args(argv)
    if args.list:
        for key, (files, tests, _) in TESTS.items():
            print(f"{key}: {', '.join(files)}  <-  {', '.join(tests)}")
        return 0
    summary_path = SCRATCH / "summary.json"
    for module in args.modules or list(TESTS):
        s = run(module, args.children, summarize_only=args.summarize)
        # re-read just before writing: another module's run may have finished meanwhile
        summary = json.loads(summary_path.read_text()) if summary_path.exists() else {}
        summary[module] = s
        summary_path.write_text(json.dumps(summary, indent=1))
        print(f"{module}: generated {s['generated']}, killed {s['killed']}, survived {s['survived']} "
              f"({s['counts']}) in {s['seconds']} s", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
