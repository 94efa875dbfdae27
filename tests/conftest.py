"""Shared test helpers. Fixtures from ../shared/fixtures are found through :func:`fixtures_dir` only."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]


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
