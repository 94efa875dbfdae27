"""Mutation pass over colorbench's numeric core, with mutmut (not in CI: it is slow).

    python tools/mutation.py                 # every module below, one after the other
    python tools/mutation.py color zhang     # just these
    python tools/mutation.py --list          # the modules and the tests each one runs

Each module runs in its own scratch copy under ``.mutation/<module>/`` (git-ignored; never inside ``src/``): mutmut
copies the source to ``mutants/``, collects which test covers which function, then runs each mutant against the tests
that cover the mutated function only (in forked children of a warm process, so torch is imported once, not once per
mutant), cheapest first (a hook in ``_SCRATCH_HOOKS``, added to the scratch conftest), stopping at the first failure.
On top of that, each module runs only its own test files (``TESTS`` below, which also leaves out slow duplicates).

The whole pass, measured (benchmarks/out/mutation.json, each module's 'full' entry):

    python tools/mutation.py --children 2 --phase full      # 2026-11-26 09:39-10:36 UTC, 2 cores (AMD EPYC)

4,350 mutants in 57.0 minutes, 5-minute load 0.9-2.2 (the pass itself, and a few seconds of other tests beside
it): color 518 in 1.9 min, zhang 1053 in 16.4, metrics 945 in 8.8, cnn 451 in 6.1, coltran 1383 in 23.8. Survivors
cost the most: they run every test of their function (coltran: 76 survivors took 1653 child-seconds, its 1297 killed
mutants 960; all the tests of the killed ones' functions would take 38,119 s each time). Earlier sessions ran the
modules in parts on the same 2 cores shared with other jobs (load 2-14, one child): 223 minutes, without the
cheapest-first order; those runs are the 'before', 'after', 'unchecked' and 'recheck' entries, kept as the history
of which tests were written for which survivors.

    python tools/mutation.py metrics --phase before                 # record the pass in benchmarks/out/mutation.json
    python tools/mutation.py metrics --rerun-survivors --phase after  # re-check only its survivors with new tests
    python tools/mutation.py --table                                # the per-module table (markdown)
    python tools/mutation.py --unjudged                             # survivors no judged entry names (exit 1 if any)
    python tools/mutation.py cnn --show '*state_digest__mutmut_5'    # a mutant's diff (mutants generated afresh)
    python tools/mutation.py cnn --recheck-after --only '*unload*' --phase recheck  # after survivors vs new tests
    python tools/mutation.py coltran --estimate                     # how long a full pass takes (mutmut's stats)
    python tools/mutation.py cnn --recheck-after --only '*__init____mutmut_18' --phase full_recheck  # a full pass's
                                                                    # survivor against a test written after it

Several --only runs of one module recorded with ``--phase unchecked`` are merged into its 'unchecked' entry (each run
kept in 'runs'); a run that would check a mutant an earlier one checked is refused (names compared: each run keeps the
names it checked in 'checked'). After a function's source changed, re-run it with ``--source-changed REV`` (REV: the
revision the earlier run checked): that revision's mutants of the function are regenerated and their earlier results
subtracted (the run's 'supersedes'), the new ones counted instead:

    python tools/mutation.py coltran --only '*layers.xǁDenseǁforward__mutmut_*' --children 1 --phase unchecked \
        --source-changed 3d02b1f~1

Accounting (benchmarks/out/mutation.json, per module): ``judged_harmless`` and ``killed_outside_pass`` map a key
that names mutants (``file.x_function__mutmut_{3,7..9}``, ``...__mutmut_*``; a name without ``file.`` takes the
file of the name before it) to the reason; ``--unjudged`` lists the recorded survivors and untested mutants (after,
unchecked, less what a recheck killed) that no key names. mutmut numbers the mutants of a function in order, so a
name holds while its function's source is unchanged (``source_changed_since`` records where that no longer holds).

The summary (per module: generated, killed, survived, untested, timeouts) is also written to
``.mutation/summary.json``; the survivors are listed with ``mutmut results`` / ``mutmut show NAME`` in the module's
folder. mutmut maps tests to functions by what each test calls; a module-scoped fixture's calls are credited to the
first test that uses it, so an assertion in a later test does not kill a mutant in the fixture's constructor.
mutmut does not mutate decorated functions (the ``lru_cache`` tables, e.g. zhang's stand-in bins), and their caches
are filled in its warm process before it forks the mutants, so a mutant reached only through a cached call survives
there: such functions need a test that calls them directly (zhang's ``distance_outside_srgb_hull`` has one).

Why mutmut and not cosmic-ray: cosmic-ray starts the test command afresh for every mutant, and importing torch +
collecting the tests costs seconds per mutant on a busy 2-core machine — hours for these modules; mutmut 3 forks
mutants from a process that has already imported everything and picks tests per function.
"""

from __future__ import annotations

import argparse
import configparser
import fnmatch
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRATCH = ROOT / ".mutation"
PACKAGE = "src/colorbench"
REPORT = ROOT / "benchmarks" / "out" / "mutation.json"

# module key -> (files to mutate, relative to src/colorbench; the tests that may kill them; extra pytest arguments)
TESTS: dict[str, tuple[list[str], list[str], list[str]]] = {
    "color": (["color.py"], ["tests/test_color.py"], []),
    # the network checks against the official code's outputs run on the fixture's photo 0 only (one 256 x 256 forward
    # per check; photos 1-3 repeat the same checks in CI). Left out (CI runs them): the official check of colorize on
    # the runner's gray (19 s; test_zhang_method checks the same pipeline with the smoke nets in 2 s) and the
    # two full-size random-release loads (10 s; the official checks load the formula weights through the same
    # release path). Supersedes the earlier 'zhang-quick' (decoding.py, release.py with their own tests only)
    "zhang": (["methods/zhang/*"],
              ["tests/test_zhang_official.py", "tests/test_zhang_decoding.py", "tests/test_zhang_release.py",
               "tests/test_zhang_method.py"],
              ["-k", "not photos1to3 and not runners_gray and not release_loads"]),
    # the number-producing metric modules; the scorer (orchestration, files, resume), the checkpoint/trunk loaders and
    # the Inception weight converter are left out: they produce no number themselves, and their tests run whole
    # scorings (30-60 s each), hours over their ~1000 mutants
    "metrics": (["metrics/pixel.py", "metrics/colour.py", "metrics/lpips_metric.py", "metrics/fid.py"],
                ["tests/test_metrics_pixel_colour.py", "tests/test_metrics_lpips.py", "tests/test_metrics_fid.py"],
                ["-m", "not slow", "--deselect",
                 "tests/test_metrics_fid.py::test_fid_after_an_interrupted_scoring_equals_the_uninterrupted_one"]),
    # the CNN's network and inference path (what produces the ab a user sees); the checkpoint files, the ONNX export,
    # the notebook helpers and the trained methods' option plumbing are left out (their tests train or export models)
    "cnn": (["methods/cnn/model.py", "methods/cnn/inference.py", "methods/cnn/common.py", "methods/cnn/original.py"],
            ["tests/test_cnn_model.py"], []),
    # the slow variants (the 'mh' spatial upsampler, the uncached official algorithm) are left out: ~20 s a mutant.
    # Also left out (CI runs them), as each repeats a code path another test in the scope checks, on a bigger input
    # (seconds from mutmut's stats run, 2026-11-26, load 2-3): the pre-change comparison of the spatial upsampler
    # (26.7 s; the color upsampler's runs the same AxialAttention/FeedForward/first-projection code, and the
    # spatial upsampler's layers are checked against the official logits by test_spatial_upsampler_logits...[test]);
    # the greedy sample of the 'mh' colorizer (16.0 s; the per-pixel step of the same model is checked on the
    # official sampling path by ..._sampling_path_logits[mh], and greedy sampling exactly, every pixel, by
    # test_greedy_sample...[test]); the sampling path of the 1-head 'test' colorizer (9.0 s; [mh] runs the same
    # step with 4 heads and 2 layers, which also catches head-layout bugs); the teacher-forcing-consistent
    # variant on the whole fixture image (13.7 s; official=False through the cached sampler is compared with the
    # separate uncached algorithm by test_cached_equals_uncached_when_sampling[False]). Every layers.py mutant
    # that survives re-runs the scope's tests: 119 s before this trim, 54 s after
    # cpu_blas.py (the OpenBLAS product layers.py calls since 3d02b1f) and its tests joined the scope on 2026-11-26,
    # after the before pass: its mutants were run with --only (recorded as an 'unchecked' run)
    "coltran": (["methods/coltran/layers.py", "methods/coltran/sampler.py", "methods/coltran/cpu_blas.py"],
                ["tests/test_coltran_models.py", "tests/test_coltran_sampler.py", "tests/test_coltran_fast_paths.py",
                 "tests/test_coltran_cpu_blas.py"],
                ["-m", "not slow", "--deselect",
                 "tests/test_coltran_fast_paths.py::test_upsampler_logits_and_argmax_equal_the_pre_change_code"
                 "[spatial_upsampler]",
                 "--deselect", "tests/test_coltran_sampler.py::test_greedy_sample_matches_official_up_to_near_ties[mh]",
                 "--deselect",
                 "tests/test_coltran_sampler.py::test_cached_sampler_step_reproduces_official_sampling_path_logits[test]",
                 "--deselect", "tests/test_coltran_sampler.py::test_teacher_forcing_consistent_variant_equals_teacher_"
                 "forcing_and_official_differs"]),
}

# Modules a module's code imports lazily (inside a function) and that are slow to import: imported by the scratch
# copy's conftest, so mutmut's warm process (which only collects the tests) has them and each forked mutant does not
# import them again. torchvision.models: ~6 s per mutant under load (ColorizationNet builds its trunk with it).
PRELOAD: dict[str, list[str]] = {"cnn": ["torchvision.models"]}


# Appended to the scratch copy's conftest (mutmut copies it into mutants/):
# - each mutant's tests cheapest first. mutmut hands pytest a mutant's tests in set order and stops at the first
#   failure (-x), so a killed mutant cost whatever tests happened to come before the one that fails. Sorted by
#   mutmut's own stats run (mutants/mutmut-stats.json, call time per test; absent during the stats run itself), a
#   mutant a cheap test kills costs that test. tryfirst: pytest's own reordering, which groups the tests of a
#   parametrized module-scoped fixture (zhang's two networks), runs after this and keeps the fixture built once.
# - each pytest session removes its own temporary folder when it ends. pytest keeps the last three and cleans
#   older ones when a session starts, but mutmut's forked children never got there: the full pass of 2026-11-26
#   left ~4,100 folders, 62 GB in /tmp/pytest-of-<user> (the Zhang release tests write 129 MB checkpoints), and
#   filled the disk.
_SCRATCH_HOOKS = """

# added by tools/mutation.py (scratch copy only): each mutant's tests run cheapest first
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items):
    import json as _json
    import pathlib as _pathlib

    stats = _pathlib.Path("mutmut-stats.json")  # the cwd is mutmut's mutants/ folder
    if stats.exists():
        seconds = _json.loads(stats.read_text())["duration_by_test"]
        items.sort(key=lambda item: seconds.get(item.nodeid, 0.0))


# added by tools/mutation.py (scratch copy only): one pytest session per mutant, each leaves no temporary files
@pytest.fixture(scope="session", autouse=True)
def _mutation_pass_removes_its_basetemp(tmp_path_factory):
    import shutil as _shutil

    yield
    _shutil.rmtree(tmp_path_factory.getbasetemp(), ignore_errors=True)
"""

# mutmut's cost per mutant on top of its tests (fork, pytest's run of the selected tests); a rough figure, used only
# for the estimate (see estimate())
PER_MUTANT_S = 3.0


def _fixtures() -> str:
    env = os.environ.get("COLORBENCH_FIXTURES")
    return env or str(ROOT.parent / "shared" / "fixtures")


def prepare(module: str, rev: str | None = None) -> Path:
    """A fresh scratch copy (source, tests, pytest config) with a setup.cfg that scopes mutmut to ``module``; with
    ``rev``, the copy is of that git revision (in ``.mutation/<module>@<rev>/``, to generate its mutants only)."""
    files, tests, extra = TESTS[module]
    work = SCRATCH / (f"{module}@{rev}" if rev else module)
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    if rev:
        archive = subprocess.run(["git", "archive", rev, "src", "tests", "pyproject.toml"], cwd=ROOT, check=True,
                                 capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(work)], input=archive, check=True)
    else:
        for part in ("src", "tests"):
            shutil.copytree(ROOT / part, work / part, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        shutil.copy2(ROOT / "pyproject.toml", work / "pyproject.toml")
    with open(work / "tests" / "conftest.py", "a") as conftest:
        conftest.write(_SCRATCH_HOOKS)
        if PRELOAD.get(module):
            conftest.write("\n# added by tools/mutation.py (scratch copy only): preloaded in mutmut's warm process\n"
                           + "".join(f"import {name}  # noqa: E402, F401\n" for name in PRELOAD[module]))
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


def run(module: str, children: int, *, summarize_only: bool = False, names: list[str] | None = None) -> dict:
    """Run (or only count) the module's mutants; ``names`` (mutmut names or fnmatch patterns) limits the run to
    those mutants, e.g. the survivors of an earlier run re-checked against new tests."""
    work = SCRATCH / module if summarize_only else prepare(module)
    env = {**os.environ, "COLORBENCH_FIXTURES": _fixtures(), "OMP_NUM_THREADS": "1"}
    mutmut = [sys.executable, "-m", "mutmut"]
    load_before = os.getloadavg()[1]  # the 5-minute load average: the machine is shared, timings depend on it
    start = time.time()
    if not summarize_only:
        with open(work / "run.log", "w") as log:
            subprocess.run([*mutmut, "run", "--max-children", str(children), *(names or [])], cwd=work, env=env,
                           stdout=log, stderr=subprocess.STDOUT, check=False)
    seconds = time.time() - start
    load_after = os.getloadavg()[1]
    results = subprocess.run([*mutmut, "results", "--all", "true"], cwd=work, env=env, capture_output=True, text=True)
    counts: dict[str, int] = {}
    survivors, untested, checked = [], [], []
    total = 0
    for line in results.stdout.splitlines():
        name, _, status = line.strip().rpartition(": ")
        total += bool(name)
        if not name or names and status == "not checked":  # a partial run: count only the mutants it ran
            continue
        checked.append(name)
        counts[status] = counts.get(status, 0) + 1
        if status == "survived":
            survivors.append(name)
        elif status == "no tests":
            untested.append(name)
    return {"module": module, "files": TESTS[module][0], "tests": TESTS[module][1], "seconds": round(seconds),
            "generated": sum(counts.values()), "killed": counts.get("killed", 0),
            "survived": counts.get("survived", 0), "counts": counts, "survivors": survivors,
            "no_tests": untested, "generated_total": total, **({"checked": compact(checked)} if names else {}),
            "extra_pytest_args": TESTS[module][2], "children": children, "cpu_count": os.cpu_count(),
            "load_average_5min": [round(load_before, 1), round(load_after, 1)]}


def record_phase(module: str, phase: str, result: dict, source_changed: str | None = None) -> None:
    """Keep ``result`` as ``report[module][phase]`` in the committed report (benchmarks/out/mutation.json).

    A second 'unchecked' run (--only) is merged into the first: its counts and survivors are added, each run is kept
    in 'runs'. It must not check a mutant an earlier run checked (counted twice), found by name: the names a run
    checked ('checked', recorded since 2026-11-26 07:00 UTC), else its survivors and, for a run that finished, its
    patterns (a stopped run without 'checked' reached only part of its patterns: only its survivors are known).
    A second 'recheck' run is merged likewise (each mutant keeps the status of its latest recheck).
    ``source_changed`` (a git revision): the run re-checks functions whose source changed since the earlier runs
    checked them at that revision; their earlier results (that revision's mutants of those functions, all checked:
    killed unless a survivor) are subtracted and recorded in the run as 'supersedes'."""
    report = json.loads(REPORT.read_text()) if REPORT.exists() else {}
    result = {**result, "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    earlier = report.get(module, {}).get(phase)
    if phase == "unchecked" and earlier:  # --only runs over other functions: one entry, each run listed in 'runs'
        if not result.get("only"):
            raise SystemExit(f"{module}: an 'unchecked' run is recorded already; a second one must be an --only run")
        fields = ("only", "seconds", "generated", "killed", "survived", "counts", "children", "load_average_5min",
                  "date", "stopped", "scope_note", "checked", "supersedes")
        runs = earlier.get("runs") or [{k: earlier[k] for k in fields if k in earlier}]
        new_names = expand_compact(result["checked"])
        earlier_survivors = [*earlier["survivors"], *earlier.get("no_tests", [])]
        superseded: list[str] = []
        if source_changed:
            old_names = [n for n in generated_names(prepare(module, source_changed))
                         if any(fnmatch.fnmatchcase(n, p) for p in result["only"])]
            superseded = [n for n in earlier_survivors if n in old_names]
            result["supersedes"] = {"rev": source_changed, "generated": len(old_names),
                                    "killed": len(old_names) - len(superseded), "survived": len(superseded),
                                    "survivors": superseded}
        else:
            known = set(earlier_survivors)
            for run_ in runs:
                if run_.get("checked"):
                    known |= set(expand_compact(run_["checked"]))
                elif not run_.get("stopped") and "stopped" not in earlier:
                    known |= {n for n in new_names if any(fnmatch.fnmatchcase(n, p) for p in run_["only"])}
            overlap = sorted(known & set(new_names))
            if overlap:
                raise SystemExit(f"{module}: this --only run checked {len(overlap)} mutants an earlier 'unchecked' run "
                                 f"checked (e.g. {overlap[:3]}); a function changed since: --source-changed REV")
        runs.append({k: result[k] for k in fields if k in result})
        counts: dict[str, int] = {}
        for run_ in runs:
            for status, n in run_["counts"].items():
                counts[status] = counts.get(status, 0) + n
            for status in ("killed", "survived"):  # what a later run re-checked after a source change
                counts[status] = counts.get(status, 0) - run_.get("supersedes", {}).get(status, 0)
        result = {**result, "runs": runs, "counts": counts, "generated": sum(counts.values()),
                  "killed": counts.get("killed", 0), "survived": counts.get("survived", 0),
                  "seconds": sum(run_["seconds"] for run_ in runs),
                  "survivors": [n for n in earlier["survivors"] if n not in superseded] + result["survivors"],
                  "no_tests": [*earlier.get("no_tests", []), *result.get("no_tests", [])],
                  "only": [p for run_ in runs for p in run_["only"]]}
        for key in ("stopped", "scope_note", "checked", "supersedes"):
            result.pop(key, None)
    if phase in ("recheck", "full_recheck") and earlier:  # another --recheck-after run: the latest status wins
        fields = ("rerun_of", "seconds", "killed", "survived", "counts", "children", "load_average_5min", "date")
        runs = earlier.get("runs") or [{k: earlier[k] for k in fields if k in earlier}]
        runs.append({k: result[k] for k in fields if k in result})
        rerun = set(result["rerun_of"])
        keep = {key: [n for n in earlier.get(key, []) if n not in rerun] + result.get(key, [])
                for key in ("survivors", "no_tests")}
        rerun_of = [n for n in earlier["rerun_of"] if n not in rerun] + result["rerun_of"]
        killed = len(set(rerun_of) - set(keep["survivors"]) - set(keep["no_tests"]))
        result = {**result, **keep, "runs": runs, "rerun_of": rerun_of, "killed": killed,
                  "survived": len(keep["survivors"]), "generated": len(rerun_of),
                  "counts": {"killed": killed, "survived": len(keep["survivors"]), "no tests": len(keep["no_tests"])},
                  "seconds": sum(run_["seconds"] for run_ in runs)}
    report.setdefault(module, {})[phase] = result
    write_report(report)


def generated_names(work: Path) -> list[str]:
    """Every mutant name mutmut generates in the scratch copy ``work`` (runs no test)."""
    env = {**os.environ, "COLORBENCH_FIXTURES": _fixtures(), "OMP_NUM_THREADS": "1"}
    subprocess.run([sys.executable, "-c", _GENERATE], cwd=work, env=env, check=True)
    return [name for meta in sorted((work / "mutants").rglob("*.py.meta"))
            for name in json.loads(meta.read_text())["exit_code_by_key"]]


def expand_compact(entries: list[str]) -> list[str]:
    """The full mutmut names of compact()'s entries ('methods.x.f.x_g__mutmut_{1..3} (3)')."""
    return [f"colorbench.{name}" for entry in entries for name in _expand_braces(entry.split(" (")[0])]


def write_report(report: dict) -> None:
    """The report as UTF-8 (mutmut's names contain 'ǁ'; ensure_ascii would write it as an escape)."""
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def _expand_braces(token: str) -> list[str]:
    """Shell-style brace expansion: 'f__mutmut_{3,7}' -> two names, '{1..4,9}' -> a range and 9."""
    match = re.search(r"\{([^{}]*)\}", token)
    if not match:
        return [token]
    parts = []
    for part in match.group(1).split(","):
        span = re.fullmatch(r"(\d+)\.\.(\d+)", part)
        parts += [str(i) for i in range(int(span[1]), int(span[2]) + 1)] if span else [part]
    return [name for part in parts for name in _expand_braces(token[:match.start()] + part + token[match.end():])]


def module_prefix(module: str) -> tuple[str, str | None]:
    """mutmut's dotted prefix of the module's files ('colorbench.methods.zhang.') and the file a pattern names when
    it names none (only for a one-file module: 'color')."""
    files = TESTS[module][0]
    folder = os.path.dirname(files[0])
    prefix = "colorbench." + (folder.replace("/", ".") + "." if folder else "")
    return prefix, Path(files[0]).stem if len(files) == 1 and "*" not in files[0] else None


def judged_patterns(module: str, key: str) -> list[str]:
    """The fnmatch patterns (on mutmut's full names) that a ``judged_harmless`` key lists. A key is free text in
    which each word containing '__mutmut_' names mutants: '[file.]x_function__mutmut_{3,7..9}' or '...__mutmut_*';
    a word without 'file.' takes the file of the word before it. Words without '__mutmut_' are prose."""
    prefix, file = module_prefix(module)
    patterns = []
    for word in key.split():
        word = word.strip(",;:()")
        if "__mutmut_" not in word:
            continue
        named = re.match(r"^(\w+)\.(x[_ǁ].*)$", word)
        if named:
            file, word = named[1], named[2]
        if file is None:
            raise ValueError(f"{module}: judged_harmless word {word!r} names no file (write file.x_function...)")
        patterns += [f"{prefix}{file}.{name}" for name in _expand_braces(word)]
    return patterns


def compact(names: list[str]) -> list[str]:
    """Mutmut names grouped by function in judged_patterns' notation: 'file.x_f__mutmut_{1..3,7}'."""
    numbers: dict[str, list[int]] = {}
    for name in names:
        function, _, number = name.rpartition("__mutmut_")
        numbers.setdefault(function.split(".", 1)[1] if function.startswith("colorbench.") else function,
                           []).append(int(number))
    out = []
    for function, found in numbers.items():
        runs: list[list[int]] = []
        for n in sorted(found):
            if runs and n == runs[-1][-1] + 1:
                runs[-1].append(n)
            else:
                runs.append([n])
        parts = [str(r[0]) if len(r) == 1 else f"{r[0]},{r[1]}" if len(r) == 2 else f"{r[0]}..{r[-1]}" for r in runs]
        inner = ",".join(parts)
        out.append(f"{function}__mutmut_" + (inner if len(found) == 1 else "{" + inner + "}") + f" ({len(found)})")
    return out


def unjudged(report: dict, module: str) -> dict[str, list[str]]:
    """The recorded survivors and untested mutants of ``module`` (its 'after' phase, or 'before' where there is
    none, and its 'unchecked' phase) that no ``judged_harmless`` or ``killed_outside_pass`` pattern covers, by phase.
    Each entry in those two maps must name its mutants (see judged_patterns), so this is what is left to judge."""
    entry = report[module]
    patterns = [p for group in ("judged_harmless", "killed_outside_pass") for key in entry.get(group, {})
                for p in judged_patterns(module, key)]
    left = {}
    phases, recheck = open_phases(entry)
    for phase in phases:
        recorded = entry.get(phase, {})
        names = [*recorded.get("survivors", []), *recorded.get("no_tests", [])]
        names = [n for n in names if n not in rechecked_killed(entry, recheck)]
        left[phase] = [n for n in names if not any(fnmatch.fnmatchcase(n, p) for p in patterns)]
    return left


def open_phases(entry: dict) -> tuple[tuple[str, ...], str]:
    """The phases of a module's entry whose survivors and untested mutants are still open, and the recheck phase that
    takes mutants off them. A full pass checked every mutant against today's tests, so where there is one it alone
    counts (and only rechecks since it, 'full_recheck'); the partial runs before it are history."""
    if "full" in entry:
        return ("full",), "full_recheck"
    return ("after" if "after" in entry else "before", "unchecked"), "recheck"


def rechecked_killed(entry: dict, phase: str = "recheck") -> set[str]:
    """The 'after'/'unchecked' survivors and untested mutants that a later 'recheck' run (--recheck-after) killed;
    with phase='full_recheck', the full pass's that a recheck after it killed (the earlier rechecks are history)."""
    recheck = entry.get(phase)
    if not recheck:
        return set()
    return set(recheck["rerun_of"]) - set(recheck["survivors"]) - set(recheck.get("no_tests", []))


_GENERATE = (  # mutmut's own generation step, without running any test (run in the scratch copy)
    "import contextlib, io, os\n"
    "from mutmut.__main__ import create_mutants\n"
    "from mutmut.utils.file_utils import copy_src_dir, copy_also_copy_files, setup_source_paths\n"
    "os.makedirs('mutants', exist_ok=True)\n"
    "with contextlib.redirect_stdout(io.StringIO()):  # mutmut prints every file it copies\n"
    "    copy_src_dir(); copy_also_copy_files(); setup_source_paths(); create_mutants(1)\n")


def show(module: str, patterns: list[str]) -> None:
    """Print the diffs of the module's mutants matching ``patterns``, generated afresh from the current source (the
    numbering is mutmut's: the n-th mutation of a function, so it holds while that function is unchanged)."""
    work = prepare(module)
    script = _GENERATE + (
        "import fnmatch, json, sys\n"
        "from pathlib import Path\n"
        "from mutmut.mutation.diff_apply import get_diff_for_mutant\n"
        "for meta in sorted(Path('mutants').rglob('*.py.meta')):\n"
        "    source = str(meta.relative_to('mutants'))[:-len('.meta')]\n"
        "    for name in json.loads(meta.read_text())['exit_code_by_key']:\n"
        "        if any(fnmatch.fnmatchcase(name, p) for p in sys.argv[1:]):\n"
        "            print(f'# {name}'); print(get_diff_for_mutant(name, path=source)); print()\n")
    prefix, file = module_prefix(module)
    full = [p if p.startswith("colorbench.") else f"{prefix}{p}" if "." in p or file is None else f"{prefix}{file}.{p}"
            for p in patterns]
    result = subprocess.run([sys.executable, "-c", script, *full], cwd=work, capture_output=True, text=True)
    if result.returncode:
        sys.stderr.write(result.stderr)
    print(result.stdout, end="")


def estimate(module: str, children: int) -> dict:
    """How long a full pass of ``module`` takes at most and at least, from mutmut's own per-test durations (its
    stats run: every test of the scope once, under its tracer, here and now) and its test-to-function map. Each
    mutant runs the tests that call its function, fastest first, stopping at the first failure: a survivor runs
    them all (the upper bound: every mutant survives), a killed mutant at least the fastest (the lower bound)."""
    work = prepare(module)
    env = {**os.environ, "COLORBENCH_FIXTURES": _fixtures(), "OMP_NUM_THREADS": "1"}
    subprocess.run([sys.executable, "-c", _GENERATE], cwd=work, env=env, check=True)
    load_before = os.getloadavg()[1]
    start = time.time()
    subprocess.run([sys.executable, "-m", "mutmut", "print-time-estimates"], cwd=work, env=env, check=True,
                   stdout=subprocess.DEVNULL)
    stats = json.loads((work / "mutants" / "mutmut-stats.json").read_text())
    durations, tests_of = stats["duration_by_test"], stats["tests_by_mangled_function_name"]
    upper = lower = 0.0
    per_function: dict[str, list] = {}
    for meta in (work / "mutants").rglob("*.py.meta"):
        for name in json.loads(meta.read_text())["exit_code_by_key"]:
            function = name.rpartition("__mutmut_")[0]
            times = [durations[t] for t in tests_of.get(function, []) if t in durations]
            upper, lower = upper + sum(times), lower + min(times, default=0.0)
            row = per_function.setdefault(function.removeprefix(module_prefix(module)[0]), [0, round(sum(times), 1)])
            row[0] += 1
    heaviest = sorted(per_function.items(), key=lambda item: -item[1][0] * item[1][1])[:12]
    # the expected time: the before pass's survival rate among the mutants it checked, survivors running all their
    # tests, killed ones their fastest, plus mutmut's cost per mutant (fork + a pytest run: ~3 s, from the metrics
    # recheck of 2026-11-26: 78 mutants in 235 s with one child, their tests 1-10 s)
    before = json.loads(REPORT.read_text()).get(module, {}).get("before", {}).get("counts", {})
    checked = before.get("killed", 0) + before.get("survived", 0)
    rate = before.get("survived", 0) / checked if checked else 0.1
    expected = (1 - rate) * lower + rate * upper + PER_MUTANT_S * sum(n for n, _ in per_function.values())
    return {"mutants": sum(n for n, _ in per_function.values()), "children": children,
            "scope_tests_seconds": round(sum(durations.values())), "stats_run_seconds": round(time.time() - start),
            "upper_minutes": round(upper / children / 60), "lower_minutes": round(lower / children / 60),
            "expected_minutes": round(expected / children / 60), "survival_rate_used": round(rate, 3),
            "per_mutant_overhead_s": PER_MUTANT_S,
            "heaviest_functions": {f: f"{n} mutants x {t} s" for f, (n, t) in heaviest},
            "tests_over_5s": {t: round(d, 1) for t, d in sorted(durations.items(), key=lambda x: -x[1]) if d > 5},
            "load_average_5min": [round(load_before, 1), round(os.getloadavg()[1], 1)],
            "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "scope": TESTS[module][1:],
            "note": "mutmut's fork per mutant and its per-test setup are not included; the durations are this "
                    "machine's at the recorded load"}


def full_pass_table(report: dict) -> str:
    """The per-module table of the latest full passes (--phase full): every mutant against today's tests."""
    rows = ["| module | mutants | killed | survived | no tests | timeout | minutes | children | 5-min load |",
            "|" + " --- |" * 9]
    total = 0
    for module, phases in report.items():
        full = phases.get("full") if not module.startswith("_") else None
        if not full:
            continue
        counts, total = full["counts"], total + full["seconds"]
        later = len(rechecked_killed(phases, "full_recheck"))  # killed since by tests written after the pass
        survived = f"{counts.get('survived', 0)}" + (f" (recheck: {later} killed)" if later else "")
        rows.append(f"| {module} | {full['generated']} | {counts.get('killed', 0)} | {survived} | "
                    f"{counts.get('no tests', 0)} | {counts.get('timeout', 0)} | {full['seconds'] / 60:.1f} | "
                    f"{full['children']} | {full['load_average_5min'][0]} -> {full['load_average_5min'][1]} |")
    rows.append(f"| all | | | | | | {total / 60:.1f} | | |")
    return "\n".join(rows)


def markdown_table(report: dict) -> str:
    """The per-module table of the report: generated, killed, survived (and untested) before and after, minutes."""
    rows = ["| module | generated | killed before | survived before | untested before | killed after | "
            "survived after | untested after | not checked | minutes (before + after) |", "|" + " --- |" * 10]
    for module, phases in report.items():
        if module.startswith("_") or "superseded_by" in phases:  # e.g. zhang-quick: its files are in zhang's pass
            continue
        b, a = phases.get("before", {}), phases.get("after")
        if a and "counts" not in a:  # figures kept from an earlier session: survivors only
            after = ("?", a["survived"], "?")
        elif a:  # the after run re-checks the before survivors/untested: the rest keep their before status
            # mutants outside the re-run keep their 'before' status (killed: same code, more tests)
            untested = a["counts"].get("no tests", 0)
            not_killed = sum(n for status, n in a["counts"].items() if status != "killed")
            not_killed += b["counts"].get("not checked", 0)  # a stopped 'before' run: those were never checked
            killed_after = a["generated_total"] - not_killed if "rerun_of" in a else a["killed"]
            if "recheck" in phases:  # a later run of some after survivors/untested against newer tests
                gone, now_tested = rechecked_killed(phases), set(phases["recheck"]["survivors"])
                killed = [n for n in [*a["survivors"], *a.get("no_tests", [])] if n in gone]
                survived = [n for n in a["survivors"] if n not in gone]
                survived += [n for n in a.get("no_tests", []) if n in now_tested]
                untested = len([n for n in a.get("no_tests", []) if n not in gone and n not in now_tested])
                after = (killed_after + len(killed), f"{len(survived)} (recheck: {len(killed)} killed)", untested)
            else:
                after = (killed_after, a["survived"], untested)
        else:
            after = ("-", "-", "-")
        minutes = f"{b.get('seconds', 0) / 60:.0f}" + (f" + {a['seconds'] / 60:.0f}" if a and "seconds" in a else "")
        not_checked = b.get("counts", {}).get("not checked", 0)
        u = phases.get("unchecked")
        if u:  # an --only run over some of the mutants the stopped 'before' pass left unchecked
            gone = rechecked_killed(phases)
            survived = [n for n in u["survivors"] if n not in gone]
            not_checked = (f"{not_checked}; an --only run later: {u['generated']} checked, "
                           f"{u['generated'] - len(survived)} killed, {len(survived)} survived")
        rows.append(f"| {module} | {b.get('generated')} | {b.get('killed', '?')} | {b.get('survived')} | "
                    f"{b.get('counts', {}).get('no tests', '?')} | {after[0]} | {after[1]} | {after[2]} | "
                    f"{not_checked} | {minutes} |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("modules", nargs="*", choices=[[], *TESTS], metavar="MODULE",
                        help=f"modules to mutate: {', '.join(TESTS)} (default: all). Nothing is recorded in "
                             f"{REPORT.relative_to(ROOT)} without --phase")
    parser.add_argument("--children", type=int, default=2, help="mutants run in parallel (default 2)")
    parser.add_argument("--list", action="store_true", help="show the modules and their tests, run nothing")
    parser.add_argument("--summarize", action="store_true",
                        help="only count the results already in .mutation/<module>/ (a run that was stopped: its "
                             "unfinished mutants count as 'not checked')")
    parser.add_argument("--rerun-survivors", action="store_true",
                        help=f"run only the 'before' survivors and untested mutants recorded in "
                             f"{REPORT.relative_to(ROOT)} (plus --also patterns), against the current tests")
    parser.add_argument("--also", action="append", default=[],
                        help="with --rerun-survivors: more mutants to run (fnmatch pattern on mutmut's names, e.g. "
                             "'*x_ssim__mutmut_*' for a function whose source changed since, renumbering its mutants)")
    parser.add_argument("--only", action="append", default=[],
                        help="run only the mutants matching this fnmatch pattern on mutmut's names (repeatable), "
                             "e.g. the functions a stopped pass left unchecked (record them with --phase unchecked); "
                             "with --rerun-survivors: re-check only the survivors that match, the others are "
                             "recorded with their 'before' status (for functions no new test reaches)")
    parser.add_argument("--recheck-after", action="store_true",
                        help="run only the 'after' (and 'unchecked') phases' survivors and untested mutants (the "
                             "'full' phase's, where there is one: record with --phase full_recheck) that match "
                             "--only, against "
                             "tests written since the after run (record with --phase recheck: the after figures are "
                             "kept, the table and --unjudged subtract what the recheck killed)")
    parser.add_argument("--phase", choices=["before", "after", "unchecked", "recheck", "full", "full_recheck"],
                        help=f"also record the result as this phase of the module in {REPORT.relative_to(ROOT)} "
                             "('before': the tests as they were; 'after': with the tests that kill the survivors; "
                             "'unchecked': an --only run over what a stopped 'before' pass left unchecked; 'full': "
                             "every mutant of the module against today's tests, one pass, which then alone decides "
                             "what --unjudged lists; 'full_recheck': --recheck-after of a full pass's survivors)")
    parser.add_argument("--source-changed", metavar="REV",
                        help="with --only --phase unchecked: the matched functions changed since an earlier "
                             "'unchecked' run checked them at git revision REV; their earlier results (REV's mutants "
                             "of those functions) are replaced by this run's")
    parser.add_argument("--table", action="store_true", help="print the report's per-module table (markdown)")
    parser.add_argument("--unjudged", action="store_true",
                        help="list, per module, the recorded survivors and untested mutants that no judged_harmless "
                             "or killed_outside_pass entry names (what is left to kill or judge); exit 1 if any")
    parser.add_argument("--show", action="append", default=[], metavar="PATTERN",
                        help="print the diff of the module's mutants matching this fnmatch pattern (repeatable); "
                             "generates the mutants in .mutation/<module>/ from the current source, runs no test")
    parser.add_argument("--estimate", action="store_true",
                        help="run mutmut's stats (every scope test once) and record how long a full pass of each "
                             "module would take with --children (upper: every mutant survives; lower: every mutant "
                             "killed by its fastest test) as report[module]['estimate']")
    args = parser.parse_args(argv)
    if args.estimate:
        for module in args.modules or list(TESTS):
            result = estimate(module, args.children)
            report = json.loads(REPORT.read_text())
            report.setdefault(module, {})["estimate"] = result
            write_report(report)
            print(module, json.dumps(result, indent=1, ensure_ascii=False))
        return 0
    if args.table:
        report = json.loads(REPORT.read_text())
        print(markdown_table(report))
        if any("full" in phases for phases in report.values()):
            print("\nFull pass (every mutant, today's tests):\n\n" + full_pass_table(report))
        return 0
    if args.unjudged:
        report = json.loads(REPORT.read_text())
        left = 0
        for module in args.modules or list(TESTS):
            for phase, names in unjudged(report, module).items():
                left += len(names)
                print(f"{module} {phase}: {len(names)} unjudged" + "".join(f"\n    {n}" for n in compact(names)))
        return 1 if left else 0
    if args.show:
        for module in args.modules or list(TESTS):
            show(module, args.show)
        return 0
    if args.list:
        for key, (files, tests, _) in TESTS.items():
            print(f"{key}: {', '.join(files)}  <-  {', '.join(tests)}")
        return 0
    summary_path = SCRATCH / "summary.json"
    for module in args.modules or list(TESTS):
        names, carried = list(args.only) or None, []
        if args.rerun_survivors:
            before = json.loads(REPORT.read_text())[module]["before"]
            names = [*before["survivors"], *before.get("no_tests", []), *args.also]
            if args.only:  # re-check just these; the others keep their 'before' status (no new test reaches them)
                carried = [n for n in names if not any(fnmatch.fnmatch(n, pattern) for pattern in args.only)]
                names = [n for n in names if n not in carried]
        if args.recheck_after:
            entry = json.loads(REPORT.read_text())[module]
            phases, recheck = open_phases(entry)
            if args.phase == "recheck" != recheck:
                raise SystemExit(f"{module} has a full pass: record its recheck with --phase {recheck}")
            recorded = [n for phase in phases for key in ("survivors", "no_tests")
                        for n in entry.get(phase, {}).get(key, [])]
            names = [n for n in recorded if any(fnmatch.fnmatch(n, pattern) for pattern in args.only)]
        s = run(module, args.children, summarize_only=args.summarize, names=names)
        for name in carried:
            status, key = ("survived", "survivors") if name in before["survivors"] else ("no tests", "no_tests")
            s["counts"][status] = s["counts"].get(status, 0) + 1
            s[key].append(name)
        if carried:
            s["generated"], s["survived"] = sum(s["counts"].values()), s["counts"].get("survived", 0)
            s["carried_over"] = carried
        if args.only and not args.rerun_survivors and not args.recheck_after:
            s["only"] = args.only
        elif names is not None:
            s["rerun_of"] = names
        # re-read just before writing: another module's run may have finished meanwhile
        summary = json.loads(summary_path.read_text()) if summary_path.exists() else {}
        summary[module] = s
        summary_path.write_text(json.dumps(summary, indent=1))
        if args.phase:
            record_phase(module, args.phase, s, source_changed=args.source_changed)
        print(f"{module}: generated {s['generated']}, killed {s['killed']}, survived {s['survived']} "
              f"({s['counts']}) in {s['seconds']} s", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
