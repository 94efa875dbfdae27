"""ColTran's exact input pipeline, in numpy: centre crop, TF ``ResizeArea``, round half-to-even, TF's int32 gray.

Everything here is integer-exact against the official TensorFlow code (``coltran/datasets.py``,
``coltran/utils/{datasets_utils,base_utils}.py``): the area resize repeats TF's float32 arithmetic in TF's order, so
the values before rounding agree bit for bit and the ``.5`` ties (about 1 in 16 values for a 4x4 block mean) round
the same way.

Example::

    >>> import numpy as np
    >>> gray = np.full((300, 240), 128, np.uint8)
    >>> g256, g64 = gray_inputs(gray)
    >>> g256.shape, g64.shape, int(g64[0, 0])
    ((256, 256), (64, 64), 128)
"""

from __future__ import annotations

import numpy as np

COARSE_BITS = 3
SYMBOLS_PER_CHANNEL = 2**COARSE_BITS  # 8 levels per channel in the colorizer
NUM_COARSE_BINS = SYMBOLS_PER_CHANNEL**3  # 512 colours

# tf.image.rgb_to_grayscale's weights, as float32 constants.
_TF_GRAY_WEIGHTS = np.array([0.2989, 0.5870, 0.1140], dtype=np.float32)


# ------------------------------------------------------------------------------------------------ crop + resize
def center_square_crop(image: np.ndarray) -> np.ndarray:
    """``tf.image.resize_with_crop_or_pad`` to a side of ``min(h, w)``:
    offsets ``(h - side) // 2``, ``(w - side) // 2``."""
    h, w = image.shape[:2]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    return image[top:top + side, left:left + side]


def _area_axis(in_size: int, out_size: int):
    """TF ResizeArea's per-output interpolation along one axis (float32, as in resize_area_op.cc)."""
    scale = np.float32(in_size) / np.float32(out_size)
    pos = np.arange(out_size, dtype=np.float32)
    lo = pos * scale
    hi = (pos + np.float32(1)) * scale
    start = np.floor(lo).astype(np.int64)
    end = np.ceil(hi).astype(np.int64)

    def cell_scale(v: np.ndarray) -> np.ndarray:
        vf = v.astype(np.float32)
        one = np.float32(1)
        inside_hi = vf + one > hi
        return np.where(vf < lo,
                        np.where(inside_hi, scale, vf + one - lo),
                        np.where(inside_hi, hi - vf, one)).astype(np.float32)

    return start, end, cell_scale, scale


def resize_area(image: np.ndarray, out_size: int | tuple[int, int]) -> np.ndarray:
    """TF ``ResizeArea`` (``tf.image.resize(method='area')``) of an ``HxW`` or ``HxWxC`` image to ``out_size``
    (a side, or ``(height, width)``).

    Returns float32 before rounding, bit-identical to TF's CPU kernel: same float32 operations in the same order
    (per row: first cell scaled, middle cells summed, last cell scaled; rows weighted and summed; times
    ``1 / (height_scale * width_scale)``).
    """
    squeeze = image.ndim == 2
    img = image[:, :, None] if squeeze else image
    img = img.astype(np.float32)
    in_h, in_w = img.shape[:2]
    out_h, out_w = (out_size, out_size) if isinstance(out_size, int) else out_size
    ys, ye, y_cell_scale, hs = _area_axis(in_h, out_h)
    xs, xe, x_cell_scale, ws = _area_axis(in_w, out_w)
    x_first = x_cell_scale(xs)[None, :, None]
    x_last = x_cell_scale(xe - 1)[None, :, None]
    x_multi = (xs + 1 != xe)[None, :, None]

    def row_sums(rows: np.ndarray) -> np.ndarray:
        """sum_y of TF's inner loop for every output column, for the given input row per output row."""
        r = img[np.clip(rows, 0, in_h - 1)]  # (out_h, in_w, C)
        total = r[:, np.clip(xs, 0, in_w - 1)] * x_first
        for j in range(1, int((xe - xs).max()) - 1):
            col = xs + j
            mid = (col < xe - 1)[None, :, None]
            total = total + np.where(mid, r[:, np.clip(col, 0, in_w - 1)], np.float32(0))
        last = r[:, np.clip(xe - 1, 0, in_w - 1)] * x_last
        return np.where(x_multi, total + last, total)

    out = np.zeros((out_h, out_w, img.shape[2]), np.float32)
    for i in range(int((ye - ys).max())):
        rows = ys + i
        valid = (rows < ye)[:, None, None]
        y_scale = y_cell_scale(rows)[:, None, None]
        out = out + np.where(valid, row_sums(rows) * y_scale, np.float32(0))
    out = out * np.float32(1.0 / (hs * ws))
    return out[:, :, 0] if squeeze else out


def change_resolution(image: np.ndarray, res: int) -> np.ndarray:
    """``datasets_utils.change_resolution``: area resize to ``res x res``, round half to even, int32."""
    return np.round(resize_area(image, res)).astype(np.int32)


def resize_to_square(image: np.ndarray, res: int = 256) -> np.ndarray:
    """``datasets.resize_to_square(train=False)``: centre square crop, then :func:`change_resolution`."""
    return change_resolution(center_square_crop(image), res)


def upsample_replicate(image: np.ndarray, factor: int = 4, batched: bool = False) -> np.ndarray:
    """64 -> 256 ``change_resolution``: for an integer factor TF's area resize is exact pixel replication.

    ``batched``: the image axes are 1 and 2 (``NxHxWxC``) instead of 0 and 1.
    """
    axis = 1 if batched else 0
    return np.repeat(np.repeat(image, factor, axis=axis), factor, axis=axis + 1)


# ------------------------------------------------------------------------------------------------ colour maths
def tf_rgb_to_gray(rgb: np.ndarray) -> np.ndarray:
    """``tf.image.rgb_to_grayscale`` of an int32 RGB image ``...x3``:
    float32 ``(R*.2989 + G*.587) + B*.114``, truncated.

    Note the truncation: white (255, 255, 255) -> 254. Returns int32 ``...`` (no channel axis).
    """
    f = np.asarray(rgb).astype(np.float32)
    w = _TF_GRAY_WEIGHTS
    return ((f[..., 0] * w[0] + f[..., 1] * w[1]) + f[..., 2] * w[2]).astype(np.int32)


def to_coarse_bits(rgb: np.ndarray) -> np.ndarray:
    """``convert_bits(x, 8 -> 3)``: ``x // 32`` (0..7)."""
    return (np.asarray(rgb).astype(np.int32) >> (8 - COARSE_BITS)).astype(np.int32)


def from_coarse_bits(bits: np.ndarray) -> np.ndarray:
    """``convert_bits(x, 3 -> 8)``: ``x * 32`` (0, 32, ..., 224)."""
    return (np.asarray(bits).astype(np.int32) << (8 - COARSE_BITS)).astype(np.int32)


def labels_to_bins(bits: np.ndarray) -> np.ndarray:
    """(R3, G3, B3) -> ``64*R3 + 8*G3 + B3`` (0..511)."""
    b = np.asarray(bits).astype(np.int32)
    return b[..., 0] * SYMBOLS_PER_CHANNEL**2 + b[..., 1] * SYMBOLS_PER_CHANNEL + b[..., 2]


def bins_to_labels(bins: np.ndarray) -> np.ndarray:
    """Inverse of :func:`labels_to_bins`: ``...`` -> ``...x3`` 3-bit triplets."""
    b = np.asarray(bins).astype(np.int32)
    return np.stack([b // 64, (b % 64) // 8, b % 8], axis=-1).astype(np.int32)


def bins_to_rgb(bins: np.ndarray) -> np.ndarray:
    """The colorizer's ``post_process_image``: bins -> coarse uint8 RGB (multiples of 32)."""
    return from_coarse_bits(bins_to_labels(bins)).astype(np.uint8)


# ------------------------------------------------------------------------------------------------ model inputs
def gray_inputs(gray: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A uint8 ``HxW`` gray image -> (gray_256, gray_64) int32, as ``custom_colorize.py --mode=colorize``.

    That path decodes the file as one gray channel, so there is no ``rgb_to_grayscale``: the 256 px gray is the
    centre crop area-resized, and the 64 px gray is ``change_resolution(gray_256, 64)``.
    """
    if gray.ndim != 2:
        raise ValueError(f"expected an HxW gray image, got shape {gray.shape}")
    g256 = resize_to_square(gray, 256)
    return g256, change_resolution(g256, 64)


def rgb_inputs(rgb: np.ndarray) -> dict[str, np.ndarray]:
    """A uint8 RGB photo -> the ``--mode=recolorize`` inputs: image_256/64 (int32 RGB) and their TF grays."""
    image_256 = resize_to_square(rgb, 256)
    image_64 = change_resolution(image_256, 64)
    return {"image_256": image_256, "image_64": image_64,
            "gray_256": tf_rgb_to_gray(image_256), "gray_64": tf_rgb_to_gray(image_64)}
