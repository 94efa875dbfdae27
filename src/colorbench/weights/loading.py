"""The one safe way to read a weights file into tensors: ``torch.load(weights_only=True)`` or safetensors.

Never unpickles code; a damaged or foreign file raises :class:`~colorbench.weights.errors.UnreadableCheckpoint`
naming it and the fix, instead of torch's advice to turn the safety off.
"""

from __future__ import annotations

import os
from typing import Any

from colorbench.weights.errors import UnreadableCheckpoint


def load_torch_file(path: str | os.PathLike) -> Any:
    """``torch.load`` on the CPU with ``weights_only=True`` (never unpickle code), and for a damaged or foreign file
    an :class:`UnreadableCheckpoint` naming it, instead of torch's advice to turn the safety off."""
    import torch

    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 — truncated zip, not a torch file, pickled objects we refuse
        text = str(exc).strip()
        if "WeightsUnpickler error:" in text:  # torch's advice to turn the safety off is not ours to give
            detail = " ".join(text.split("WeightsUnpickler error:", 1)[1].split("Check the documentation")[0].split())
            first = f"it holds pickled objects, not only tensors: {detail}"[:200]
        else:
            first = (text.splitlines() or [type(exc).__name__])[0][:200]
        raise UnreadableCheckpoint(
            f"{path}: not a readable PyTorch checkpoint ({type(exc).__name__}: {first}); the file is corrupt, "
            "truncated or of another kind — delete it and download or train it again") from None


def load_weights_file(path: str | os.PathLike, *, like: str | os.PathLike | None = None) -> Any:
    """Read a weights file by its kind (its name's, or ``like``'s for a temporary file): ``.safetensors`` with
    safetensors, anything else with :func:`load_torch_file`. Damaged files raise :class:`UnreadableCheckpoint`."""
    if str(like or path).endswith(".safetensors"):
        try:
            from safetensors.torch import load_file

            return load_file(str(path), device="cpu")
        except ImportError:
            raise UnreadableCheckpoint(f"{path}: reading it needs safetensors (pip install safetensors)") from None
        except Exception as exc:  # noqa: BLE001 — truncated or not a safetensors file
            raise UnreadableCheckpoint(f"{path}: not a readable safetensors file ({type(exc).__name__}: {exc}); the "
                                       "file is corrupt or truncated — delete it and fetch it again") from None
    return load_torch_file(path)
