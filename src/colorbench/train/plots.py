"""Figures for training runs: the loss curve (written next to the checkpoints each epoch and shown in notebooks)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence


def load_history(run: str | os.PathLike):
    """The history DataFrame of a trained model: a name under ``models/cnn/``, its folder, or ``history.csv``."""
    import pandas as pd

    from colorbench.methods.cnn.checkpoint import cnn_models_dir

    p = Path(run)
    candidates = [p, p / "history.csv", cnn_models_dir() / p / "history.csv"]
    for c in candidates:
        if c.is_file():
            return pd.read_csv(c)
    raise FileNotFoundError(f"no history.csv for {run!r} (looked at {', '.join(map(str, candidates))})")


def plot_history(histories, labels: Sequence[str] | None = None, ax=None):
    """Plot training loss and validation LPIPS/PSNR per epoch for one or several runs; returns the Figure.

    ``histories``: a DataFrame, a list of row dicts, a model name/folder, or a list of those (one line per run).

    Usage (a sketch, not run by the doctests: it needs trained runs)::

        from colorbench.train import plot_history
        plot_history(["lpips", "mse"])      # the LPIPS-vs-MSE ablation side by side
    """
    import matplotlib
    import pandas as pd

    if isinstance(histories, (pd.DataFrame, str, os.PathLike)) or (
        isinstance(histories, list) and histories and isinstance(histories[0], dict)
    ):
        histories = [histories]
    frames, names = [], []
    for i, h in enumerate(histories):
        if isinstance(h, (str, os.PathLike)):
            frames.append(load_history(h))
            names.append(str(h))
        else:
            frames.append(pd.DataFrame(h))
            names.append(f"run {i + 1}")
    names = list(labels) if labels is not None else names
    if ax is None:
        if matplotlib.get_backend().lower() == "agg":
            from matplotlib.figure import Figure

            fig = Figure(figsize=(12, 3.4))
        else:
            import matplotlib.pyplot as plt

            fig = plt.figure(figsize=(12, 3.4))
        axes = fig.subplots(1, 3)
    else:
        axes, fig = ax, ax[0].figure
    panels = [("train_loss", "training loss"), ("valid_lpips", "validation LPIPS (lower is better)"),
              ("valid_psnr", "validation PSNR dB (higher is better)")]
    for axis, (column, title) in zip(axes, panels):
        for frame, name in zip(frames, names):
            if column in frame and frame[column].notna().any():
                axis.plot(frame["epoch"], frame[column], marker="o", ms=3, label=name)
        axis.set_title(title, fontsize=10)
        axis.set_xlabel("epoch")
        axis.grid(alpha=0.3)
    if len(frames) > 1:
        axes[0].legend(fontsize=8)
    fig.tight_layout()
    return fig


def save_loss_curve(history, path: str | os.PathLike) -> Path:
    """Write :func:`plot_history` of one run to ``path`` (PNG, atomic)."""
    import io

    from matplotlib.figure import Figure

    from colorbench.atomic import write_bytes

    fig = Figure(figsize=(12, 3.4))
    plot_history(history, labels=["this run"], ax=fig.subplots(1, 3))
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    write_bytes(path, buf.getvalue())
    return Path(path)
