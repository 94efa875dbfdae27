"""Loading the authors' released state dicts: the weights package gives the file (torch.hub's cache; the hash prefix
in its name checked as ``torch.hub`` does) read with its one safe loader; this module accepts exactly the keys and
shapes the model defines.

Also the other direction, :func:`save_release_format`, which writes a model's state dict the way the released files
are (a plain ``torch.save`` of ``state_dict()``): tests use it to put random weights where the real file would be.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from colorbench import weights


class CheckpointMismatch(ValueError):
    """The file's keys or shapes are not the ones the architecture defines (not the release we know)."""


def load_release(model: nn.Module, weights_name: str, *, download: bool = True) -> Path:
    """Load the released weights ``weights_name`` into ``model`` (in place); return the file's path.

    Raises ``WeightsUnavailable`` (missing, offline, wrong hash, unreadable) or :class:`CheckpointMismatch` (wrong
    keys/shapes).
    """
    path, state = weights.load_state(weights_name, download=download)
    load_state_dict_exactly(model, state, source=str(path))
    return path


def load_state_dict_exactly(model: nn.Module, state: dict, *, source: str) -> None:
    """Load ``state`` only if its keys are exactly the model's (BatchNorm's ``num_batches_tracked`` may be absent:
    it does not affect inference and older PyTorch versions did not save it) and every shape matches."""
    if not isinstance(state, dict):
        raise CheckpointMismatch(f"{source}: expected a state dict, found {type(state).__name__}")
    expected = model.state_dict()
    optional = {k for k in expected if k.endswith("num_batches_tracked")}
    missing = sorted(set(expected) - set(state) - optional)
    unexpected = sorted(set(state) - set(expected))
    if missing or unexpected:
        raise CheckpointMismatch(
            f"{source}: keys do not match {type(model).__name__} — missing {len(missing)} {missing[:5]}, unexpected "
            f"{len(unexpected)} {unexpected[:5]}. Is this the right file for this model?")
    wrong = [f"{k} {tuple(state[k].shape)} != {tuple(v.shape)}" for k, v in expected.items()
             if k in state and tuple(state[k].shape) != tuple(v.shape)]
    if wrong:
        raise CheckpointMismatch(f"{source}: {len(wrong)} shapes differ from {type(model).__name__}: {wrong[:3]}")
    full = dict(state)
    for key in optional - set(state):
        full[key] = expected[key]
    model.load_state_dict(full, strict=True)


def save_release_format(model: nn.Module, path: str | Path) -> Path:
    """Write ``model.state_dict()`` as the released files are (``torch.save`` of the ordered dict), atomically."""
    from colorbench.atomic import atomic_path

    with atomic_path(path) as tmp:
        torch.save(model.state_dict(), tmp)
    return Path(path)
