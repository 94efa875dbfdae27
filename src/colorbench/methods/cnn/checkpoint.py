"""Checkpoints of the CNN family: the original project's bare state dict and colorbench's own format.

colorbench's trained models live in ``$COLORBENCH_MODELS/cnn/<name>/``:

* ``best.pt`` — ``{"format", "architecture", "state_dict", "epoch", "metrics", "loss"}`` (the kept model)
* ``last.pt`` — the same plus optimizer/scheduler/scaler/RNG state and the history: what ``--resume`` reads
* ``model.json`` — the sidecar: architecture, loss, data, epochs, metrics, package version
* ``history.csv``, ``loss_curve.png`` — the training log and its figure

Usage (a sketch, not run by the doctests: it needs a trained checkpoint)::

    from colorbench.methods.cnn.checkpoint import load_trained
    model, meta = load_trained("lpips")          # a name under models/cnn/, a folder, or a .pt file
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from colorbench.methods.cnn.model import ORIGINAL, CnnArchitecture, ColorizationNet
from colorbench.paths import models_dir
from colorbench.weights import WeightsUnavailable, load_torch_file

FORMAT = "colorbench-cnn/1"
SIDECAR = "model.json"


class CheckpointNotFound(WeightsUnavailable):
    """No trained checkpoint where one was asked for; the message says how to train one.

    A :class:`~colorbench.weights.WeightsUnavailable`: a trained model's checkpoint *is* its method's weights, so the
    runner skips the method with this reason (as for a missing download) instead of failing the run.
    """

    def __init__(self, message: str):
        RuntimeError.__init__(self, message)  # no registry spec: the message is the whole story
        self.spec = None
        self.reason = message


def cnn_models_dir() -> Path:
    """``$COLORBENCH_MODELS/cnn``: one folder per trained model."""
    return models_dir() / "cnn"


def load_original(path: str | os.PathLike) -> ColorizationNet:
    """The original project's checkpoint (a bare state dict with ``midlevel_resnet.*``/``upsample.*`` keys)."""
    state = load_torch_file(Path(path))
    if not isinstance(state, dict) or not any(k.startswith("midlevel_resnet.") for k in state):
        raise ValueError(f"{path}: not an original-project CNN checkpoint (no 'midlevel_resnet.*' keys)")
    model = ColorizationNet(ORIGINAL)
    model.load_state_dict(state, strict=True)
    return model.eval()


def resolve_checkpoint(checkpoint: str | os.PathLike | None, default_name: str, *, train_hint: str) -> Path:
    """A ``.pt`` file from a file path, a folder (its ``best.pt``) or a name under ``models/cnn/``."""
    candidates = []
    if checkpoint is None:
        candidates.append(cnn_models_dir() / default_name / "best.pt")
    else:
        p = Path(checkpoint).expanduser()
        candidates += [p, p / "best.pt"] if p.suffix != ".pt" else [p]
        if p.suffix != ".pt" and not p.is_absolute() and len(p.parts) == 1:
            candidates.append(cnn_models_dir() / p / "best.pt")
    for c in candidates:
        if c.is_file():
            return c
    looked = ", ".join(str(c) for c in candidates)
    raise CheckpointNotFound(
        f"no trained CNN checkpoint found (looked at {looked}). Train one with `{train_hint}` "
        f"(or notebook 01), or pass checkpoint=PATH to a best.pt / model folder; "
        "$COLORBENCH_MODELS sets where models/ is."
    )


def load_trained(checkpoint: str | os.PathLike | None, default_name: str = "lpips",
                 *, train_hint: str = "colorbench train cnn --data DIR") -> tuple[ColorizationNet, dict]:
    """Load a colorbench-trained CNN; returns ``(model in eval mode, metadata)``."""
    path = resolve_checkpoint(checkpoint, default_name, train_hint=train_hint)
    payload = load_torch_file(path)
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ValueError(f"{path}: not a colorbench CNN checkpoint (format "
                         f"{payload.get('format') if isinstance(payload, dict) else type(payload).__name__!r}); "
                         "for the original project's .pth use the 'cnn-original' method")
    model = ColorizationNet(CnnArchitecture.from_dict(payload["architecture"]))
    model.load_state_dict(payload["state_dict"], strict=True)
    meta = {k: v for k, v in payload.items() if k != "state_dict"}
    meta["path"] = str(path)
    sidecar = path.parent / SIDECAR
    if sidecar.is_file():
        meta["sidecar"] = json.loads(sidecar.read_text())
    return model.eval(), meta


def model_payload(model: ColorizationNet, **extra: Any) -> dict:
    """The ``best.pt`` dictionary for ``model`` (state dict on CPU)."""
    return {
        "format": FORMAT,
        "architecture": model.architecture.to_dict(),
        "state_dict": {k: v.detach().cpu().clone() for k, v in model.state_dict().items()},
        **extra,
    }


def save_payload(path: str | os.PathLike, payload: dict) -> None:
    """``torch.save`` atomically: a kill mid-write never leaves a truncated checkpoint under the final name."""
    import torch

    from colorbench.atomic import atomic_path

    with atomic_path(path) as tmp:
        torch.save(payload, tmp)
