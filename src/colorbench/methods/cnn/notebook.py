"""Helpers for notebook 01 (no logic lives in the notebook): load a CNN method and colorize a few images.

Usage (a sketch, not run by the doctests: it needs trained checkpoints and photos)::

    from colorbench.methods.cnn.notebook import colorize_examples, show_examples
    panels = colorize_examples(["cnn-original", "cnn-lpips"], image_paths[:4])
    show_examples(panels)
"""

from __future__ import annotations

import os
from typing import Sequence

import numpy as np


def load_cnn(name: str = "cnn-original", device: str | None = None, **options):
    """``get_method(name, **options)`` loaded on ``device`` (default: cuda when available)."""
    from colorbench.methods.registry import get_method
    from colorbench.provenance import resolve_device

    method = get_method(name, **options)
    method.load(resolve_device(device or "auto"))
    return method


def colorize_examples(methods: Sequence[str | object], image_paths: Sequence[str | os.PathLike],
                      device: str | None = None) -> dict[str, list[np.ndarray]]:
    """``{"truth": [...], "gray": [...], <method>: [...]}`` — L-merged outputs as the runner writes them.

    ``methods``: registry names (loaded here) or CNN method objects (loaded here if they are not yet).
    """
    from colorbench.color import gray_to_rgb, merge_luminance, to_gray
    from colorbench.data.images import load_image

    truth = [load_image(p).rgb for p in image_paths]
    grays = [to_gray(rgb) for rgb in truth]
    panels: dict[str, list[np.ndarray]] = {"truth": truth, "gray": [gray_to_rgb(g) for g in grays]}
    for m in methods:
        method = load_cnn(m, device) if isinstance(m, str) else m
        if getattr(method, "predictor", True) is None:
            method.load(device or "cpu")
        raw = method.colorize(grays, seed=0)
        panels[method.name] = [merge_luminance(g, r) for g, r in zip(grays, raw)]
    return panels


def show_examples(panels: dict[str, list[np.ndarray]], *, size: float = 2.4):
    """A grid: one row per image, one column per entry of :func:`colorize_examples`; returns the Figure."""
    import matplotlib.pyplot as plt

    columns = list(panels)
    rows = len(panels[columns[0]])
    fig, axes = plt.subplots(rows, len(columns), figsize=(size * len(columns), size * rows), squeeze=False)
    for c, name in enumerate(columns):
        for r in range(rows):
            axes[r][c].imshow(panels[name][r])
            axes[r][c].axis("off")
        axes[0][c].set_title(name, fontsize=9)
    fig.tight_layout()
    return fig


def use_trained_checkpoints(method_options: dict, trained: dict) -> dict:
    """``method_options`` with each method of ``trained`` (method name -> :class:`colorbench.train.TrainResult`)
    set to the best checkpoint just trained, unless an option already names one: notebook 01's run then colorizes
    with what it trained (run.json records the path) — in smoke runs too. Returns the same dict, updated.

    Usage (a sketch, not run by the doctests: it needs trained checkpoints and photos)::

        METHOD_OPTIONS = use_trained_checkpoints(METHOD_OPTIONS, {"cnn-lpips": lpips_run, "cnn-mse": mse_run})
    """
    for name, result in trained.items():
        method_options.setdefault(name, {}).setdefault("checkpoint", str(result.best_checkpoint))
    return method_options
