"""Shared test helpers. Fixtures from ../shared/fixtures are found through :func:`fixtures_dir` only."""

from __future__ import annotations

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


@pytest.fixture(autouse=True)
def _isolated_caches(tmp_path_factory, monkeypatch):
    """Tests never touch the user's caches or the network: weights/results/data caches point into tmp."""
    root = tmp_path_factory.mktemp("caches")
    monkeypatch.setenv("COLORBENCH_MODELS", str(root / "models"))
    monkeypatch.setenv("COLORBENCH_RESULTS", str(root / "results"))
    monkeypatch.setenv("TORCH_HOME", str(root / "torch"))
    monkeypatch.setenv("HF_HOME", str(root / "hf"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("COLORBENCH_OFFLINE", "1")
    monkeypatch.delenv("KAGGLE_USERNAME", raising=False)
    monkeypatch.delenv("KAGGLE_KEY", raising=False)


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
