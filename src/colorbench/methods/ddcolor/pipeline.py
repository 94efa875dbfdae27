"""The authors' ``ColorizationPipeline`` (``ddcolor/pipeline.py``) pre- and post-processing, batched.

Per image (BGR uint8, as ``cv2.imread`` gives; colorbench's gray input is stacked to three equal channels):

1. ``img = (bgr / 255).astype(float32)``; ``orig_l`` = L of ``cv2.cvtColor(img, BGR2Lab)`` (float Lab, 0..100);
2. ``cv2.resize(img, (S, S))`` (bilinear, no aspect preservation) -> its L -> ``cvtColor((L, 0, 0), LAB2RGB)``:
   the network input, gray RGB in [0, 1];
3. the network gives ab at ``S x S``; ``F.interpolate`` to the photo's size with the default **nearest** mode;
4. ``cvtColor((orig_l, a, b), LAB2BGR)`` (OpenCV clips to [0, 1]), ``x 255``, rounded half to even, uint8.

OpenCV, not colorbench's exact CIELAB formulas, because the authors' numbers come from OpenCV's table-interpolated
conversions: exact formulas put the network input off by up to 2e-3 and the output up to 5 levels off on most values
(fixture README, section 3). So this module needs ``cv2`` (the ``ddcolor`` extra).

The authors run one image at a time; :func:`network_inputs` stacks any number of images of any sizes into one
batch (every image is resized to ``S x S``), and the network treats batch items independently (tested equal to
one-at-a-time).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F


def _cv2():
    import cv2

    return cv2


def bgr_of_gray(gray: np.ndarray) -> np.ndarray:
    """The 3-channel image ``cv2.imread`` would give for a gray photo."""
    return np.repeat(gray[:, :, None], 3, axis=2)


def prepare(image_bgr: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """(``orig_l`` HxW float32, network input ``3 x S x S`` float32) for one BGR uint8 image (steps 1-2)."""
    cv2 = _cv2()
    img = (image_bgr / 255.0).astype(np.float32)
    orig_l = cv2.cvtColor(img, cv2.COLOR_BGR2Lab)[:, :, 0]
    resized = cv2.resize(img, (size, size))
    img_l = cv2.cvtColor(resized, cv2.COLOR_BGR2Lab)[:, :, :1]
    gray_lab = np.concatenate([img_l, np.zeros_like(img_l), np.zeros_like(img_l)], axis=-1)
    gray_rgb = cv2.cvtColor(gray_lab, cv2.COLOR_LAB2RGB)
    return orig_l, np.ascontiguousarray(gray_rgb.transpose(2, 0, 1))


def network_inputs(images_bgr: Sequence[np.ndarray], size: int) -> tuple[list[np.ndarray], torch.Tensor]:
    """``orig_l`` per image and the batch ``N x 3 x S x S`` (CPU, float32)."""
    prepared = [prepare(image, size) for image in images_bgr]
    return [p[0] for p in prepared], torch.from_numpy(np.stack([p[1] for p in prepared]))


def resize_ab(ab: torch.Tensor, height: int, width: int) -> np.ndarray:
    """ab ``2 x S x S`` -> ``H x W x 2`` float32 with ``F.interpolate``'s default mode, nearest (step 3)."""
    return F.interpolate(ab[None].float().cpu(), size=(height, width))[0].numpy().transpose(1, 2, 0)


def finish(orig_l: np.ndarray, ab: torch.Tensor) -> np.ndarray:
    """Steps 3-4: the photo's L joined with the nearest-resized ab -> **RGB** uint8 (the authors' BGR reversed)."""
    cv2 = _cv2()
    height, width = orig_l.shape
    lab = np.concatenate([orig_l[:, :, None], resize_ab(ab, height, width)], axis=-1)
    bgr = cv2.cvtColor(lab, cv2.COLOR_LAB2BGR)
    return np.ascontiguousarray((bgr * 255.0).round().astype(np.uint8)[:, :, ::-1])
