"""Training colorbench's CNNs (``colorbench train cnn``): config, data, LPIPS loss, trainer, figures.

Notebook-ready entry points::

    from colorbench.train import TrainConfig, train_cnn, plot_history, load_history
    result = train_cnn(TrainConfig(data="data/sports", loss="lpips"))
    plot_history(["lpips", "mse"])
"""

import importlib

from colorbench.train.config import TrainConfig

# the trainer and plots import torch / matplotlib: loaded when first used, so that reading TrainConfig (the CLI's
# flag defaults) stays light
_LAZY = {"TrainResult": "trainer", "TrainingStopped": "trainer", "train_cnn": "trainer", "train_or_resume": "trainer",
         "plot_history": "plots", "load_history": "plots"}

__all__ = ["TrainConfig", "TrainResult", "TrainingStopped", "train_cnn", "train_or_resume", "plot_history",
           "load_history"]


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(f"colorbench.train.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
