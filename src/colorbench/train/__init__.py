"""Training colorbench's CNNs (``colorbench train cnn``): config, data, LPIPS loss, trainer, figures.

Notebook-ready entry points::

    from colorbench.train import TrainConfig, train_cnn, plot_history, load_history
    result = train_cnn(TrainConfig(data="data/sports", loss="lpips"))
    plot_history(["lpips", "mse"])
"""

from colorbench.train.config import TrainConfig
from colorbench.train.plots import load_history, plot_history
from colorbench.train.trainer import TrainingStopped, TrainResult, train_cnn

__all__ = ["TrainConfig", "TrainResult", "TrainingStopped", "train_cnn", "plot_history", "load_history"]
