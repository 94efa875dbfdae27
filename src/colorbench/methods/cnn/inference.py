"""Batched, any-size inference for the CNN family, shared by every CNN method and both backends.

Gray uint8 images -> CIELAB L (a 256-entry table of :func:`colorbench.color.rgb_to_lab`'s L, as float32: tested)
-> padded to a multiple of 8 by edge replication -> ab from a *predictor* (PyTorch or onnxruntime) -> cropped
back -> RGB uint8 via :func:`colorbench.color.lab_to_rgb_uint8`. Images of the same size share a batch.

Usage (a sketch, not run by the doctests: it needs a loaded model and images)::

    from colorbench.methods.cnn.model import ColorizationNet, ORIGINAL
    from colorbench.methods.cnn.inference import TorchAbPredictor, colorize_grays
    predictor = TorchAbPredictor(ColorizationNet(ORIGINAL), device="cpu")
    rgbs = colorize_grays(predictor, [gray_uint8_hw], batch_size=16)
"""

from __future__ import annotations

import contextlib
from collections import defaultdict
from typing import Callable, Literal, Sequence, get_args

import numpy as np

from colorbench.color import gray_to_rgb, lab_to_rgb_uint8, rgb_to_lab
from colorbench.methods.cnn.model import SIZE_MULTIPLE

# CIELAB L of every gray level (a gray pixel's L depends on its value only).
L_OF_GRAY = rgb_to_lab(gray_to_rgb(np.arange(256, dtype=np.uint8)[None, :]))[0, :, 0].astype(np.float32)

BnMode = Literal["eval", "train"]
Precision = Literal["auto", "fp32", "bf16", "fp16"]
BN_MODES: tuple[str, ...] = get_args(BnMode)
PRECISIONS: tuple[str, ...] = get_args(Precision)

AbPredictor = Callable[[np.ndarray], np.ndarray]  # float32 N×1×H×W L -> float32 N×2×H×W ab


def gray_to_L(gray: np.ndarray) -> np.ndarray:
    """uint8 ``HxW`` gray -> float32 CIELAB L in [0, 100]."""
    return L_OF_GRAY[gray]


def pad_to_multiple(L: np.ndarray, multiple: int = SIZE_MULTIPLE) -> np.ndarray:
    """Pad ``...×H×W`` on the bottom/right by edge replication to multiples of ``multiple``."""
    h, w = L.shape[-2:]
    ph, pw = (-h) % multiple, (-w) % multiple
    if not ph and not pw:
        return L
    pad = [(0, 0)] * (L.ndim - 2) + [(0, ph), (0, pw)]
    return np.pad(L, pad, mode="edge")


def cuda_has_native_bf16(device: str = "cuda") -> bool:
    """True on Ampere and newer. (``torch.cuda.is_bf16_supported()`` also says True where bf16 is only emulated,
    e.g. on a T4, where it is much slower than fp16.)"""
    import torch

    return torch.cuda.is_available() and torch.cuda.get_device_capability(device)[0] >= 8


def resolve_precision(precision: str, device: str) -> str:
    """``auto`` -> bf16 on a CUDA device that supports it, else fp16 on CUDA, fp32 on CPU."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    on_cuda = str(device).startswith("cuda")
    if precision == "auto":
        if not on_cuda:
            return "fp32"
        return "bf16" if cuda_has_native_bf16(device) else "fp16"
    if precision == "fp16" and not on_cuda:
        raise ValueError("precision 'fp16' needs a CUDA device; use 'fp32' (or 'bf16') on CPU")
    return precision


class TorchAbPredictor:
    """Runs a :class:`ColorizationNet` on ``device`` with autocast at ``precision``.

    ``bn_mode="train"`` reproduces the original project's inference script, which (probably by accident) ran the
    network in train mode: BatchNorm then normalises with the statistics of the current batch, so an image's
    colours depend on the other images in its batch (and on padding). Default ``"eval"`` uses the stored
    running statistics, as a trained network should. Running statistics are never updated here.
    """

    def __init__(self, model, device: str = "cpu", precision: str = "auto", bn_mode: str = "eval"):
        import torch

        if bn_mode not in BN_MODES:
            raise ValueError(f"bn_mode must be one of {BN_MODES}, got {bn_mode!r}")
        self.device = str(device)
        self.precision = resolve_precision(precision, self.device)
        self.bn_mode = bn_mode
        self.model = model.to(self.device).eval()
        if bn_mode == "train":
            for m in self.model.modules():
                if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                    # training + not tracking: normalise with batch statistics, never touch the running ones
                    m.train()
                    m.track_running_stats = False

    def _autocast(self):
        import torch

        if self.precision == "fp32":
            return contextlib.nullcontext()
        dtype = torch.bfloat16 if self.precision == "bf16" else torch.float16
        return torch.autocast(device_type=self.device.split(":")[0], dtype=dtype)

    def __call__(self, L: np.ndarray) -> np.ndarray:
        import torch

        with torch.inference_mode(), self._autocast():
            x = torch.from_numpy(np.ascontiguousarray(L, dtype=np.float32)).to(self.device)
            ab = self.model(x)
        return ab.float().cpu().numpy()


def colorize_grays(predictor: AbPredictor, grays: Sequence[np.ndarray], batch_size: int = 16) -> list[np.ndarray]:
    """Colorize uint8 ``HxW`` grays of any sizes; returns uint8 ``HxWx3`` RGB at each input's size."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    by_size: dict[tuple[int, int], list[int]] = defaultdict(list)
    for i, g in enumerate(grays):
        by_size[g.shape].append(i)
    out: list[np.ndarray | None] = [None] * len(grays)
    for (h, w), indices in by_size.items():
        for start in range(0, len(indices), batch_size):
            chunk = indices[start : start + batch_size]
            L = np.stack([gray_to_L(grays[i]) for i in chunk])[:, None]
            ab = predictor(pad_to_multiple(L))[:, :, :h, :w]
            for j, i in enumerate(chunk):
                lab = np.concatenate([L[j, 0][..., None], ab[j].transpose(1, 2, 0)], axis=-1)
                out[i] = lab_to_rgb_uint8(lab)
    return out  # type: ignore[return-value]
