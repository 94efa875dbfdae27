"""Training data: image paths of a split, deterministic augmentation, and the tensors the trainer consumes.

Each item is the crop's true RGB (``3×S×S`` in [0, 1]), the CIELAB L of its BT.601 gray version (``1×S×S``, what a
method sees at inference) and ``valid`` (0 for images that cannot serve as colour ground truth — grayscale-only
sources, undecodable files — which the loss masks out instead of crashing the epoch).

Augmentation draws from a generator seeded by ``(seed, epoch, index)``: an item's crop does not depend on the
worker that loads it or on where a run was resumed, which makes training reproducible.
"""

from __future__ import annotations

import logging
import math
import os
from pathlib import Path
from typing import Sequence

import numpy as np

from colorbench.color import to_gray
from colorbench.data.images import ImageLoadError, is_image_file, load_image
from colorbench.methods.cnn.inference import gray_to_L

log = logging.getLogger(__name__)


def list_image_paths(folder: str | os.PathLike) -> list[Path]:
    """Every image file under ``folder`` (recursively), sorted — a stand-in for the dataset index's splits."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"image folder {folder} does not exist")
    paths = sorted(p for p in folder.rglob("*") if p.is_file() and is_image_file(p))
    if not paths:
        raise FileNotFoundError(f"no images found under {folder}")
    return paths


def resolve_split_folders(data: str | os.PathLike, valid: str | os.PathLike | None = None) -> tuple[Path, Path | None]:
    """``(train folder, valid folder or None)`` from ``--data`` (a plain folder or the Kaggle layout) and ``--valid``."""
    data = Path(data).expanduser()
    train = data / "train" if (data / "train").is_dir() else data
    if valid is not None:
        return train, Path(valid).expanduser()
    return train, (data / "valid" if (data / "valid").is_dir() and train != data else None)


def _resize(rgb: np.ndarray, size: int) -> np.ndarray:
    from PIL import Image

    if rgb.shape[:2] == (size, size):
        return rgb
    return np.asarray(Image.fromarray(rgb).resize((size, size), Image.BILINEAR))


def random_resized_crop(rgb: np.ndarray, size: int, rng: np.random.Generator, min_scale: float) -> np.ndarray:
    """torchvision-style RandomResizedCrop (area in [min_scale, 1], aspect in [3/4, 4/3]) driven by ``rng``."""
    h, w = rgb.shape[:2]
    area = h * w
    for _ in range(10):
        target = area * rng.uniform(min_scale, 1.0)
        aspect = math.exp(rng.uniform(math.log(3 / 4), math.log(4 / 3)))
        cw, ch = int(round(math.sqrt(target * aspect))), int(round(math.sqrt(target / aspect)))
        if 0 < cw <= w and 0 < ch <= h:
            top, left = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
            return _resize(np.ascontiguousarray(rgb[top : top + ch, left : left + cw]), size)
    return center_crop(rgb, size)


def center_crop(rgb: np.ndarray, size: int) -> np.ndarray:
    """Largest centred square, resized to ``size``."""
    h, w = rgb.shape[:2]
    s = min(h, w)
    top, left = (h - s) // 2, (w - s) // 2
    return _resize(np.ascontiguousarray(rgb[top : top + s, left : left + s]), size)


class ColorizationDataset:
    """A map-style dataset over image paths (torch's DataLoader accepts it as is)."""

    def __init__(self, paths: Sequence[str | os.PathLike], crop_size: int, *, augment: bool, seed: int = 0,
                 min_crop_scale: float = 0.35):
        self.paths = [Path(p) for p in paths]
        self.crop_size = crop_size
        self.augment = augment
        self.seed = seed
        self.min_crop_scale = min_crop_scale
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.paths)

    def load_crop(self, index: int) -> tuple[np.ndarray, bool]:
        try:
            image = load_image(self.paths[index])
        except ImageLoadError as exc:
            log.warning("skipping unusable training image: %s", exc)
            return np.zeros((self.crop_size, self.crop_size, 3), np.uint8), False
        if self.augment:
            rng = np.random.default_rng([self.seed, self.epoch, index])
            rgb = random_resized_crop(image.rgb, self.crop_size, rng, self.min_crop_scale)
            if rng.random() < 0.5:
                rgb = np.ascontiguousarray(rgb[:, ::-1])
        else:
            rgb = center_crop(image.rgb, self.crop_size)
        return rgb, image.has_color

    def __getitem__(self, index: int) -> dict:
        import torch

        rgb, usable = self.load_crop(index)
        return {
            "rgb": torch.from_numpy(rgb.transpose(2, 0, 1).astype(np.float32) / 255.0),
            "L": torch.from_numpy(gray_to_L(to_gray(rgb))[None]),
            "valid": torch.tensor(1.0 if usable else 0.0),
        }
