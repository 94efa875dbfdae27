"""The training configuration: one dataclass with defaults, loadable from YAML/JSON dicts, overridable by flags."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

LOSSES = ("lpips", "mse")
LPIPS_NETS = ("vgg", "alex")
AMP_MODES = ("auto", "off", "bf16", "fp16")


@dataclass
class TrainConfig:
    """Everything that defines a CNN training run (recorded in the checkpoint sidecar).

    Usage (a sketch, not run by the doctests: it trains for minutes on a dataset)::

        from colorbench.train import TrainConfig, train_cnn
        result = train_cnn(TrainConfig(data="data/sports", loss="lpips", epochs=12))
        result.history            # pandas DataFrame, one row per epoch
    """

    data: str | None = None  # "sports", a Kaggle layout folder, a folder with train/ (valid/), or any image folder
    valid: str | None = None  # validation images; default: data's valid split when it has one
    out: str | None = None  # model name under models/cnn/ (default: the loss name) or a folder path
    loss: str = "lpips"  # "lpips" (LPIPS on the L-merged RGB, + l1_weight·L1 on ab) or "mse" (MSE on ab)
    lpips_net: str = "vgg"  # LPIPS trunk for the loss and the validation metric, like the original: vgg
    lpips_calibrated: bool = True  # False: random LPIPS trunk (no download) — for offline tests only, meaningless
    l1_weight: float = 0.0  # λ in LPIPS + λ·mean|Δab|/100
    pretrained_trunk: bool = False  # initialise the ResNet-18 trunk from torchvision's ImageNet weights
    epochs: int = 12
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 1e-4
    warmup_steps: int = 200
    crop_size: int = 224  # training crops and validation images are crop_size × crop_size
    min_crop_scale: float = 0.35  # random-resized-crop area range [min_crop_scale, 1]
    augment: bool = True  # random-resized-crop + horizontal flip (False: resize + center crop)
    limit: int | None = None  # use only the first N training images (quick tries)
    valid_limit: int | None = None
    seed: int = 0
    device: str = "auto"  # "auto" -> cuda when available
    amp: str = "auto"  # CUDA autocast: auto (bf16 where supported, else fp16), bf16, fp16, off; CPU: always off
    workers: int | None = None  # DataLoader workers (default: 2 on CUDA, 0 on CPU)
    # CPU runs are bitwise reproducible. On CUDA, True picks deterministic cuDNN kernels (slower); False lets cuDNN
    # pick the fastest ones, so GPU runs match only up to floating-point reordering.
    deterministic: bool = False
    extra: dict[str, Any] = field(default_factory=dict)  # free-form notes recorded in the sidecar

    def __post_init__(self) -> None:
        if self.loss not in LOSSES:
            raise ValueError(f"loss must be one of {LOSSES}, got {self.loss!r}")
        if self.lpips_net not in LPIPS_NETS:
            raise ValueError(f"lpips_net must be one of {LPIPS_NETS}, got {self.lpips_net!r}")
        if self.amp not in AMP_MODES:
            raise ValueError(f"amp must be one of {AMP_MODES}, got {self.amp!r}")
        if self.crop_size % 8:
            raise ValueError(f"crop_size must be a multiple of 8, got {self.crop_size}")
        if self.epochs < 1 or self.batch_size < 1:
            raise ValueError("epochs and batch_size must be >= 1")
        if not 0 < self.min_crop_scale <= 1:
            raise ValueError(f"min_crop_scale must be in (0, 1], got {self.min_crop_scale}")

    @property
    def out_name(self) -> str:
        return self.out or self.loss

    def out_dir(self) -> Path:
        """``models/cnn/<out>`` for a bare name; the path itself when ``out`` has a folder in it."""
        from colorbench.methods.cnn.checkpoint import cnn_models_dir

        p = Path(self.out_name).expanduser()
        return p if (p.is_absolute() or len(p.parts) > 1) else cnn_models_dir() / p

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "TrainConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown training options {sorted(unknown)}; known: {sorted(known)}")
        return cls(**d)

    @classmethod
    def from_yaml(cls, path: str | os.PathLike) -> "TrainConfig":
        import yaml

        return cls.from_dict(yaml.safe_load(Path(path).read_text()) or {})
