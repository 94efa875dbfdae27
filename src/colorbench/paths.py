"""Where colorbench keeps weights, data and results.

Every location has a default relative to the working directory (a checkout's ``models/``, ``data/`` and
``results/``) and an environment variable that points elsewhere — e.g. a mounted Google Drive in Colab.
"""

from __future__ import annotations

import os
from pathlib import Path

MODELS_ENV = "COLORBENCH_MODELS"
DATA_ENV = "COLORBENCH_DATA"
RESULTS_ENV = "COLORBENCH_RESULTS"

# The package's own folder: <repo>/src/colorbench. The bundled samples live in the repository's data/samples/,
# found relative to the package so they work from any working directory in a checkout (pip install -e .).
PACKAGE_DIR = Path(__file__).resolve().parent
REPO_DIR = PACKAGE_DIR.parents[1]


def _from_env(var: str, default: str) -> Path:
    """Absolute, resolved against the working folder once, here: a message that names ``models/x.pth`` left a new
    user guessing relative to what (the checkout? the folder the command ran in?)."""
    value = os.environ.get(var)
    return (Path(value).expanduser() if value else Path(default)).absolute()


def models_dir() -> Path:
    """Weights cache and trained checkpoints (``$COLORBENCH_MODELS``, default ``models/``)."""
    return _from_env(MODELS_ENV, "models")


def data_dir() -> Path:
    """Dataset cache (``$COLORBENCH_DATA``, default ``data/``)."""
    return _from_env(DATA_ENV, "data")


def results_dir() -> Path:
    """Run folders (``$COLORBENCH_RESULTS``, default ``results/``)."""
    return _from_env(RESULTS_ENV, "results")


def samples_dir() -> Path:
    """The small bundled default dataset: ``$COLORBENCH_DATA/samples`` if it exists, else the checkout's."""
    candidate = data_dir() / "samples"
    if candidate.is_dir():
        return candidate
    return REPO_DIR / "data" / "samples"
