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
from colorbench.data.images import ImageLoadError, load_image
from colorbench.methods.cnn.inference import gray_to_L

log = logging.getLogger(__name__)


def split_paths(index, split: str) -> list[Path]:
    """Paths of ``split`` in a dataset index; every sample when the index has no splits (a plain folder)."""
    if split in index.splits():
        return [s.path for s in index.samples if s.split == split]
    return [s.path for s in index.samples] if not index.splits() else []


def training_splits(data: str | os.PathLike, valid: str | os.PathLike | None = None) -> dict:
    """Training and validation image paths from ``--data`` / ``--valid``, through :mod:`colorbench.data.index`.

    ``data``: ``"sports"`` (the Kaggle download), a Kaggle layout folder (``sports.csv`` + ``train/ valid/``), a
    folder with ``train/`` (and ``valid/``) sub-folders, or any folder of images (all used for training).
    ``valid``: the same kinds (its ``valid`` split, else all its images); default: ``data``'s ``valid`` split.
    Returns ``{"train": [...], "valid": [...], "train_source": str, "valid_source": str | None}``.
    """
    from colorbench.data.specs import open_dataset

    index = open_dataset(data)
    for problem in index.problems[:5]:
        log.warning("dataset problem: %s: %s", problem.path, problem.reason)
    if len(index.problems) > 5:
        log.warning("... and %d more dataset problems", len(index.problems) - 5)
    train = split_paths(index, "train")
    if not train:
        raise FileNotFoundError(f"{data}: no training images (its splits: {index.splits() or 'none'})")
    if valid is not None:
        valid_index = open_dataset(valid)
        valid_paths = split_paths(valid_index, "valid")
        if not valid_paths:
            raise FileNotFoundError(f"--valid {valid}: no validation images (its splits: {valid_index.splits()}; "
                                    "pass a folder of images or a dataset with a valid split)")
        valid_source = str(valid)
    else:
        valid_paths = split_paths(index, "valid") if index.splits() else []
        valid_source = f"{data} (valid split)" if valid_paths else None
    return {"train": train, "valid": valid_paths,
            "train_source": f"{data}" + (" (train split)" if index.splits() else ""),
            "valid_source": valid_source}


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
