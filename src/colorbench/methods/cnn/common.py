"""What every CNN method shares: backend choice (PyTorch or onnxruntime), batching, precision, smoke mode."""

from __future__ import annotations

import hashlib
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Sequence

import numpy as np

from colorbench.methods.base import SMOKE_LABEL, Method, check_grays
from colorbench.methods.cnn.inference import BnMode, Precision, TorchAbPredictor, colorize_grays
from colorbench.methods.cnn.model import ColorizationNet
from colorbench.methods.options import MethodOptions, speed_only


def state_digest(model: ColorizationNet) -> str:
    h = hashlib.sha256()
    h.update(repr(model.architecture.to_dict()).encode())
    for k, v in model.state_dict().items():
        h.update(k.encode())
        h.update(v.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


@dataclass(frozen=True, kw_only=True)
class CnnOptions(MethodOptions):
    """``precision``: auto|fp32|bf16|fp16 (autocast on CUDA; auto = bf16 where supported). ``backend``: "torch", or
    "onnx" (export once to ``models/cnn/onnx/`` and run with onnxruntime on CPU). ``bn_mode``: "eval", or "train"
    to use per-batch BatchNorm statistics (see TorchAbPredictor). ``smoke``: random weights, no files needed."""

    batch_size: int = speed_only(16)
    precision: Precision = "auto"
    backend: Literal["torch", "onnx"] = "torch"
    bn_mode: BnMode = "eval"


class CnnMethodBase(Method):
    """Subclasses implement :meth:`build_model` (weights loaded, eval mode) and set ``name``/``description``;
    options: :class:`CnnOptions`."""

    family = "cnn"
    Options = CnnOptions

    def __init__(self, options: CnnOptions | None = None, /, **values):
        super().__init__(options, **values)
        o = self.options
        if o.backend == "onnx" and o.bn_mode == "train":
            raise ValueError(f"{self.name}: bn_mode='train' needs backend='torch' "
                             "(the ONNX graph uses running statistics)")
        self.batch_size, self.precision, self.backend, self.bn_mode, self.smoke = (
            o.batch_size, o.precision, o.backend, o.bn_mode, o.smoke)
        self.model: ColorizationNet | None = None
        self.predictor = None
        self.onnx_path: Path | None = None
        if self.smoke:
            self.description = f"{type(self).description} [{SMOKE_LABEL}]"

    # ---------------------------------------------------------------- to implement
    def build_model(self) -> ColorizationNet:
        raise NotImplementedError

    # ---------------------------------------------------------------- shared
    def smoke_model(self, architecture) -> ColorizationNet:
        import torch

        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)  # the same random network every time: smoke runs are reproducible
            return ColorizationNet(architecture).eval()

    def load(self, device: str) -> None:
        self.device = device
        self.model = self.build_model()
        if self.backend == "torch":
            self.predictor = TorchAbPredictor(self.model, device=device, precision=self.precision, bn_mode=self.bn_mode)
        else:
            from colorbench.methods.cnn.onnx_export import OnnxAbPredictor, export_onnx

            if self.smoke:
                folder = Path(tempfile.mkdtemp(prefix="colorbench-cnn-onnx-"))
            else:
                from colorbench.methods.cnn.checkpoint import cnn_models_dir

                folder = cnn_models_dir() / "onnx"
            self.onnx_path = folder / f"{self.name}-{state_digest(self.model)}.onnx"
            if not self.onnx_path.is_file():
                export_onnx(self.model, self.onnx_path)
            self.predictor = OnnxAbPredictor(self.onnx_path)

    def predict_ab(self, L: np.ndarray) -> np.ndarray:
        """Raw network call: float32 ``N×1×H×W`` CIELAB L (H, W multiples of 8) -> ``N×2×H×W`` ab."""
        if self.predictor is None:
            raise RuntimeError(f"{self.name}: call load(device) first")
        return self.predictor(L)

    def colorize(self, grays: list[np.ndarray], *, seed: int, item_seeds: Sequence[int] | None = None,
                 labels: Sequence[str | None] | None = None) -> list[np.ndarray]:
        check_grays(grays, self.name)
        if self.predictor is None:
            raise RuntimeError(f"{self.name}: call load(device) first")
        start = time.perf_counter()
        out = colorize_grays(self.predictor, grays, batch_size=self.batch_size)
        self.stage_seconds = {"network": time.perf_counter() - start}
        return out

    def config(self) -> dict:
        cfg = {"batch_size": self.batch_size, "precision": self.precision, "backend": self.backend,
               "bn_mode": self.bn_mode}
        if self.predictor is not None and hasattr(self.predictor, "precision"):
            cfg["precision_resolved"] = self.predictor.precision
        if self.smoke:
            cfg["smoke"] = True
        return cfg

    def unload(self) -> None:
        self.model = None
        self.predictor = None
        super().unload()
