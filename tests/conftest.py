"""Shared test helpers. Fixtures from ../shared/fixtures are found through :func:`fixtures_dir` only."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import numpy as np
import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def load_script(relpath: str):
    """A script of the checkout (``benchmarks/peak.py``, ``tools/mutation.py``, ...) imported as a module under its
    stem: those folders are not packages. Registered in ``sys.modules`` (dataclasses look their module up there)."""
    import importlib.util
    import sys

    path = PROJECT_ROOT / relpath
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module
    spec.loader.exec_module(module)
    return module


def fixtures_dir() -> Path:
    """``$COLORBENCH_FIXTURES``, else ``<project root>/../shared/fixtures``."""
    env = os.environ.get("COLORBENCH_FIXTURES")
    return Path(env) if env else PROJECT_ROOT.parent / "shared" / "fixtures"


def fixture_path(*parts: str) -> Path:
    """Path of a shared fixture; skips the test with a clear reason when it is absent."""
    path = fixtures_dir().joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared fixture {path} is absent (set COLORBENCH_FIXTURES to the folder that has it)")
    return path


@pytest.fixture
def sports_dir() -> Path:
    """The real Kaggle sports fixture: sports.csv + test/ (train/ and valid/ absent)."""
    return fixture_path("sports")


@pytest.fixture
def real_images(sports_dir) -> list[np.ndarray]:
    """A handful of real colour photos from the Kaggle test split, as uint8 RGB."""
    from colorbench.data.images import load_image

    paths = sorted((sports_dir / "test").glob("*/*.jpg"))[:: 50][:8]
    images = [load_image(p) for p in paths]
    return [im.rgb for im in images if im.has_color]


# ------------------------------------------------------------------------------------------------- isolation
# `make test` runs the suite in parallel (pytest-xdist: one process per core), so no test may share state with
# another through the environment, the checkout or a fixed port. The rules (tests/README.md):
# - every test sees COLORBENCH_MODELS / RESULTS / DATA, TORCH_HOME and HF_HOME in a tmp folder of its own (below);
#   a test that sets these up itself, for a subprocess or a module fixture, marks itself ``own_env``;
# - nothing is written into the checkout (models/, data/, results/, benchmarks/out/): checked at the session's end;
# - servers bind port 0; caches shared between sessions or workers are filled under :func:`machine_cache_lock`.
ISOLATED_ENV = {"COLORBENCH_MODELS": "models", "COLORBENCH_RESULTS": "results", "COLORBENCH_DATA": "data",
                "TORCH_HOME": "torch", "HF_HOME": "hf"}
# set by `colorbench notebooks run` / a user's shell; a test inheriting them would depend on who started pytest
CLEARED_ENV = ("KAGGLE_USERNAME", "KAGGLE_KEY", "COLORBENCH_NOTEBOOK_DIR", "COLORBENCH_UNATTENDED")


def isolate_env(mp: pytest.MonkeyPatch, root: Path) -> None:
    """Point every cache and output location of colorbench (and torch / huggingface) into ``root``, offline.
    ``$COLORBENCH_DATA/samples`` does not exist there, so the bundled samples are still the checkout's."""
    for var, sub in ISOLATED_ENV.items():
        mp.setenv(var, str(root / sub))
    mp.setenv("HF_HUB_OFFLINE", "1")
    mp.setenv("COLORBENCH_OFFLINE", "1")
    for var in CLEARED_ENV:
        mp.delenv(var, raising=False)


@pytest.fixture(autouse=True)
def _isolated_caches(request, tmp_path_factory, monkeypatch):
    """Tests never touch the user's caches or the network: weights/results/data caches point into tmp."""
    if request.node.get_closest_marker("own_env") is None:
        isolate_env(monkeypatch, tmp_path_factory.mktemp("caches"))


@contextlib.contextmanager
def machine_cache_lock(folder: Path, timeout: float = 1800):
    """Held while a cache shared by test sessions and xdist workers (e.g. the real LPIPS trunks) is checked and
    filled: the first worker fetches, the others wait and then find the files. An OS lock, dropped if its holder
    dies."""
    from filelock import FileLock

    folder.mkdir(parents=True, exist_ok=True)
    with FileLock(str(folder / ".colorbench-test.lock"), timeout=timeout):
        yield


# Folders of the checkout that colorbench writes by default (relative paths): a test writing there is a test that
# escaped its isolation, and two xdist workers would race on the same files.
CHECKOUT_OUTPUTS = ("models", "data", "results", "benchmarks/out")


def _checkout_outputs() -> dict[str, int]:
    files = {}
    for name in CHECKOUT_OUTPUTS:
        for path in (PROJECT_ROOT / name).rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts:
                files[str(path.relative_to(PROJECT_ROOT))] = path.stat().st_mtime_ns
    return files


def pytest_sessionstart(session):
    if _xdist_worker() is None:  # the controller (or a plain run) checks once for all workers
        session.config._colorbench_outputs = _checkout_outputs()


def pytest_sessionfinish(session, exitstatus):
    before = getattr(session.config, "_colorbench_outputs", None)
    if before is None:
        return
    after = _checkout_outputs()
    written = sorted(name for name, mtime in after.items() if before.get(name) != mtime)
    if written:
        shown = ", ".join(written[:10]) + (f" and {len(written) - 10} more" if len(written) > 10 else "")
        session.config.get_terminal_writer().line(
            f"\nERROR: the tests wrote into the checkout: {shown}. A test must write under tmp_path (conftest's "
            "isolation sets COLORBENCH_MODELS/RESULTS/DATA there; pass explicit paths to scripts).", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


# ------------------------------------------------------------------------------------------------- parallel runs
def _xdist_worker() -> str | None:
    """``gw0``, ``gw1``, ... inside a pytest-xdist worker, else None."""
    return os.environ.get("PYTEST_XDIST_WORKER")


# Test files that take longest (measured: benchmarks/out/test_suite.json's slowest tests), started first. The workers
# take files one at a time (--dist loadfile), so a long file started last would run alone at the end while the other
# cores idle; started first, it overlaps with the many short files. A name missing here only runs in its usual place.
HEAVY_FIRST = (
    "test_sharded.py", "test_notebooks_run.py", "test_gpu_check.py", "test_coltran_method.py", "test_zhang_official.py",
    "test_metrics_fid.py", "test_judge_analysis.py", "test_coltran_sampler.py", "test_coltran_models.py",
    "test_cnn_onnx.py", "test_demo.py", "test_notebooks.py", "test_coltran_memory.py", "test_report_build.py",
    "test_merge_import.py", "test_judge_browser.py", "test_coltran_cpu_blas.py", "test_cnn_train.py",
    "test_coltran_fast_paths.py", "test_coltran_convert.py",
)


def pytest_collection_modifyitems(session, config, items):
    rank = {name: i for i, name in enumerate(HEAVY_FIRST)}
    # stable: within a file the order is unchanged, and every worker computes the same order (xdist requires it)
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))


def pytest_configure(config):
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "0"))
    if _xdist_worker() is None or workers < 2:
        return
    # N workers share the cores: each gets its share of intra-op threads. Two workers with two threads each on a
    # 2-core runner oversubscribe it, and torch's spinning threads made small ops many times slower.
    threads = str(max(1, (os.cpu_count() or 1) // workers))
    os.environ.setdefault("OMP_NUM_THREADS", threads)  # processes the tests launch inherit it
    import torch

    torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))


@pytest.fixture(scope="module")
def one_torch_thread():
    """One intra-op thread for modules of tiny models: on a busy 2-core runner two contending threads made small
    ops 10-1000x slower (measured while developing). Restored afterwards. Use with
    ``pytestmark = pytest.mark.usefixtures("one_torch_thread")``."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


# ------------------------------------------------------------------------------------------------- optional stacks
# extras that `make test` does not install (big, and only for one method each); `.ci/run` installs them so that
# nothing skips in CI. A test that hits an ImportError while its stack is absent is skipped with the install command.
# Their one definition is colorbench.extras (the methods' readiness says the same).
from colorbench.extras import OPTIONAL_STACKS, install_command, missing_modules  # noqa: E402


def missing_stack() -> dict[str, list[str]]:
    """Optional extras whose modules cannot be imported here: extra -> the missing modules."""
    return {extra: absent for extra in OPTIONAL_STACKS if (absent := missing_modules(extra))}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if call.excinfo is None or not call.excinfo.errisinstance(ImportError) or report.outcome != "failed":
        return
    absent = missing_stack()
    if not absent:
        return  # every stack is here: an ImportError is a real failure
    text = str(call.excinfo.value)
    name = getattr(call.excinfo.value, "name", None) or ""
    for extra, modules in absent.items():
        if any(m == name.split(".")[0] or m in text for m in OPTIONAL_STACKS[extra]) or f"[{extra}]" in text:
            report.outcome = "skipped"
            report.longrepr = (str(item.path), item.location[1] or 0,
                               f"Skipped: needs the optional {extra} stack ({', '.join(modules)} absent): "
                               f"{install_command(extra)} (`.ci/run` installs it)")
            return


def skip_without(extra: str) -> None:
    """Skip with the install command when an optional extra is absent: for a test that without it fails some other
    way than an ImportError (an assertion on a skip reason, a subprocess's exit status), which the hook above
    cannot tell from a real failure."""
    absent = missing_modules(extra)
    if absent:
        pytest.skip(f"needs the optional {extra} stack ({', '.join(absent)} absent): {install_command(extra)} "
                    "(`.ci/run` installs it)")


def chromium_or_skip() -> str:
    """Path of a headless Chromium, or skip with the exact command that installs it (tests never install it)."""
    import shutil

    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    pytest.skip("headless Chromium is not installed: as root, `apt-get install chromium chromium-driver` "
                "(`.ci/run` does it)")


@pytest.fixture
def add_method():
    """``add_method(name, target)``: a stand-in method registered the public way (the call the ``colorbench.methods``
    entry points go through), taken back after the test."""
    from colorbench.methods.registry import register_method, unregister_method

    added: list[str] = []

    def add(name: str, target) -> None:
        register_method(name, target)
        added.append(name)

    yield add
    for name in reversed(added):
        unregister_method(name)
