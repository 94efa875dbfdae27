"""``cnn-lpips`` and ``cnn-mse``: CNNs trained by colorbench (``colorbench train cnn``), LPIPS loss vs MSE on ab.

Both load a checkpoint from ``models/cnn/<name>/best.pt``: option ``checkpoint`` is a name under ``models/cnn/``
(default ``"lpips"`` / ``"mse"``, what the trainer writes by default), a model folder or a ``.pt`` file.

Usage (a sketch, not run by the doctests: it needs a trained checkpoint)::

    from colorbench.methods import get_method
    m = get_method("cnn-lpips", checkpoint="lpips")   # after `colorbench train cnn --loss lpips --data DIR`
    m.load("cuda")
    rgbs = m.colorize(grays, seed=0)
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import ClassVar

from colorbench.methods.cnn.common import CnnMethodBase, CnnOptions
from colorbench.methods.cnn.model import IMPROVED, ColorizationNet


@dataclass(frozen=True, kw_only=True)
class TrainedCnnOptions(CnnOptions):
    """``checkpoint``: a name under ``models/cnn/``, a model folder or a ``.pt`` file (default: the loss's name)."""

    checkpoint: str | os.PathLike | None = None


class _TrainedCnn(CnnMethodBase):
    loss: ClassVar[str]
    Options = TrainedCnnOptions

    def __init__(self, options: TrainedCnnOptions | None = None, /, **values):
        super().__init__(options, **values)
        self.checkpoint = self.options.checkpoint
        self.meta: dict = {}

    def build_model(self) -> ColorizationNet:
        if self.smoke and self.checkpoint is None:
            return self.smoke_model(IMPROVED)
        # a checkpoint named in a smoke run (notebook 01's smoke training) is used: cnn-lpips and cnn-mse then
        # show what their own training made, not one shared random network
        from colorbench.methods.cnn.checkpoint import load_trained

        model, meta = load_trained(self.checkpoint, default_name=self.loss,
                                   train_hint=f"colorbench train cnn --loss {self.loss} --data DIR --out {self.loss}")
        trained_with = meta.get("loss")
        if trained_with != self.loss:
            raise ValueError(f"{meta['path']} was trained with loss {trained_with!r}, not {self.loss!r}: "
                             f"use the 'cnn-{trained_with}' method for it")
        self.meta = meta
        return model

    def not_ready(self) -> str | None:
        if self.smoke and self.checkpoint is None:
            return None
        from colorbench.methods.cnn.checkpoint import CheckpointNotFound, resolve_checkpoint

        try:
            resolve_checkpoint(self.checkpoint, self.loss, train_hint=f"colorbench train cnn --loss {self.loss}")
        except CheckpointNotFound:
            return f"needs a trained model: `colorbench train cnn --loss {self.loss} --data DIR --out {self.loss}`"
        return None

    def config(self) -> dict:
        cfg = {**super().config(), "checkpoint": str(self.checkpoint) if self.checkpoint else None}
        if self.meta:
            cfg.update(checkpoint_path=self.meta.get("path"), epoch=self.meta.get("epoch"),
                       valid_metrics=self.meta.get("metrics"))
        return cfg


class CnnLpips(_TrainedCnn):
    name = "cnn-lpips"
    loss = "lpips"
    description = "CNN (ResNet-18 trunk + upsampler) trained by colorbench with an LPIPS loss (+ optional L1 on ab)."


class CnnMse(_TrainedCnn):
    name = "cnn-mse"
    loss = "mse"
    description = "Same CNN trained with MSE on ab: the baseline of the LPIPS-vs-MSE ablation."
