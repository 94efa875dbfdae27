"""Canny edge maps for the ControlNet, from controlnet_aux's ``CannyDetector`` on the framed gray input.

The map is computed on the canvas the pipeline paints (see :mod:`.framing`), so it has exactly the pipeline's
resolution; edges that fall in the padding are blanked. Maps are binary uint8 (0 or 255), as the Canny ControlNet
was trained on. ``CannyDetector`` snaps sizes to multiples of 64, so canvas sides must be multiples of 64
(512, 576, 640, 768, ...); that is checked rather than silently resized.

Example::

    >>> import numpy as np
    >>> gray = np.zeros((224, 224), np.uint8); gray[60:160, 60:160] = 200
    >>> edges = edge_map(gray, resolution=512)
    >>> edges.shape, sorted(np.unique(edges).tolist())
    ((512, 512), [0, 255])
"""

from __future__ import annotations

import warnings
from functools import lru_cache

import numpy as np

from colorbench.methods.diffusion.framing import Framing

DEFAULT_LOW_THRESHOLD = 100  # CannyDetector's (and the diffusers ControlNet docs') defaults
DEFAULT_HIGH_THRESHOLD = 200


@lru_cache(maxsize=1)
def _detector():
    # controlnet_aux imports every annotator it ships (timm, ...) and warns about optional ones it lacks
    # (mediapipe); none of that concerns Canny, so the noise is silenced once here.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            from controlnet_aux import CannyDetector
        except ImportError:
            raise ImportError(
                "controlnet_aux is needed for the Canny edge maps: pip install 'colorbench[diffusion]'"
            ) from None
    return CannyDetector()


def check_resolution(resolution: int) -> int:
    if int(resolution) != resolution or resolution < 64 or resolution % 64:
        raise ValueError(f"resolution must be a multiple of 64 (512, 576, 640, 768, ...), got {resolution}")
    return int(resolution)


def canny(canvas_gray: np.ndarray, low_threshold: int = DEFAULT_LOW_THRESHOLD,
          high_threshold: int = DEFAULT_HIGH_THRESHOLD) -> np.ndarray:
    """Binary uint8 Canny map (0/255) of a square uint8 gray canvas, at the canvas's own size."""
    if canvas_gray.dtype != np.uint8 or canvas_gray.ndim != 2 or canvas_gray.shape[0] != canvas_gray.shape[1]:
        raise ValueError(f"canny: expected a square uint8 gray canvas, got {canvas_gray.dtype} {canvas_gray.shape}")
    if not 0 <= low_threshold <= high_threshold:
        raise ValueError(f"Canny thresholds must satisfy 0 <= low <= high, got low={low_threshold}, "
                         f"high={high_threshold}")
    side = check_resolution(canvas_gray.shape[0])
    detected = _detector()(canvas_gray, low_threshold=low_threshold, high_threshold=high_threshold,
                           detect_resolution=side, image_resolution=side, output_type="np")
    if detected.shape[:2] != canvas_gray.shape:  # would mean controlnet_aux changed its resizing rules
        raise RuntimeError(f"CannyDetector returned {detected.shape[:2]} for a {canvas_gray.shape} canvas")
    return np.ascontiguousarray(detected[..., 0])


def edge_map(gray: np.ndarray, resolution: int = 512, *, low_threshold: int = DEFAULT_LOW_THRESHOLD,
             high_threshold: int = DEFAULT_HIGH_THRESHOLD, aspect: str = "pad") -> np.ndarray:
    """The ``resolution x resolution`` binary edge map the ControlNet sees for a uint8 ``HxW`` gray input."""
    framing = Framing.fit(*gray.shape, canvas=check_resolution(resolution), aspect=aspect)
    return framed_edges(framing, framing.place(gray), low_threshold, high_threshold)


def framed_edges(framing: Framing, canvas_gray: np.ndarray, low_threshold: int, high_threshold: int) -> np.ndarray:
    """Canny map of a placed canvas with the padding blanked (replicated borders make streaks there)."""
    edges = canny(canvas_gray, low_threshold, high_threshold)
    edges[~framing.content_mask()] = 0
    return edges
