"""Colour conversions: the one gray conversion, the one CIELAB conversion (numpy and torch twins), L-merging.

CIELAB follows scikit-image's ``rgb2lab``/``lab2rgb`` formulas and constants (sRGB, D65, 2° observer), so numbers here
agree with the ones reviewers compute with skimage (to 1e-4 on real photos and out-of-gamut Lab, tested). The torch
twin is differentiable (training losses use it) and agrees with the numpy one to float32 precision.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # torch is imported lazily: the numpy half must work without it
    import torch

# ITU-R BT.601 luma weights (what PIL's "L" mode and OpenCV use).
BT601 = (0.299, 0.587, 0.114)

# sRGB (linear) -> XYZ, as in scikit-image (colorconv.xyz_from_rgb).
XYZ_FROM_RGB = np.array(
    [[0.412453, 0.357580, 0.180423], [0.212671, 0.715160, 0.072169], [0.019334, 0.119193, 0.950227]],
    dtype=np.float64,
)
RGB_FROM_XYZ = np.linalg.inv(XYZ_FROM_RGB)
# D65 reference white, 2° observer (skimage's default illuminant).
WHITE_D65 = np.array([0.95047, 1.0, 1.08883], dtype=np.float64)

_EPS = 0.008856  # (6/29)^3 as rounded by skimage
_KAPPA = 7.787
_F_THRESH = 0.2068966  # skimage's threshold on f for the inverse


def to_gray(rgb: np.ndarray) -> np.ndarray:
    """BT.601 luma of a uint8 ``HxWx3`` RGB image as uint8 ``HxW`` (rounded to nearest). The only input methods see."""
    _check_rgb_uint8(rgb, "to_gray")
    y = rgb.astype(np.float64) @ np.asarray(BT601)
    return np.clip(np.rint(y), 0, 255).astype(np.uint8)


def gray_to_rgb(gray: np.ndarray) -> np.ndarray:
    """Replicate a uint8 ``HxW`` gray image into three channels."""
    if gray.ndim != 2:
        raise ValueError(f"expected HxW gray image, got shape {gray.shape}")
    return np.repeat(gray[:, :, None], 3, axis=2)


# ---------------------------------------------------------------------------------------------------- numpy twin
def _as_unit_float(rgb: np.ndarray) -> np.ndarray:
    if rgb.dtype == np.uint8:
        return rgb.astype(np.float64) / 255.0
    return np.asarray(rgb, dtype=np.float64)


def rgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """sRGB (uint8, or float in [0, 1]) ``...x3`` -> CIELAB float64 ``...x3`` (L in [0, 100])."""
    x = _as_unit_float(rgb)
    linear = np.where(x > 0.04045, ((x + 0.055) / 1.055) ** 2.4, x / 12.92)
    xyz = linear @ XYZ_FROM_RGB.T / WHITE_D65
    f = np.where(xyz > _EPS, np.cbrt(xyz), _KAPPA * xyz + 16.0 / 116.0)
    L = 116.0 * f[..., 1] - 16.0
    a = 500.0 * (f[..., 0] - f[..., 1])
    b = 200.0 * (f[..., 1] - f[..., 2])
    return np.stack([L, a, b], axis=-1)


def lab_to_rgb(lab: np.ndarray, clip: bool = True) -> np.ndarray:
    """CIELAB ``...x3`` -> sRGB float64 in [0, 1] (clipped, as skimage's ``lab2rgb``; unclipped if not ``clip``)."""
    lab = np.asarray(lab, dtype=np.float64)
    fy = (lab[..., 0] + 16.0) / 116.0
    fx = lab[..., 1] / 500.0 + fy
    fz = np.maximum(fy - lab[..., 2] / 200.0, 0.0)  # skimage clips negative z
    f = np.stack([fx, fy, fz], axis=-1)
    xyz = np.where(f > _F_THRESH, f**3, (f - 16.0 / 116.0) / _KAPPA) * WHITE_D65
    linear = xyz @ RGB_FROM_XYZ.T
    srgb = np.where(linear > 0.0031308,
                    1.055 * np.power(np.maximum(linear, 0.0031308), 1 / 2.4) - 0.055, 12.92 * linear)
    return np.clip(srgb, 0.0, 1.0) if clip else srgb


def lab_to_rgb_uint8(lab: np.ndarray) -> np.ndarray:
    return np.rint(lab_to_rgb(lab) * 255.0).astype(np.uint8)


# ---------------------------------------------------------------------------------------------------- torch twin
def rgb_to_lab_torch(rgb: "torch.Tensor") -> "torch.Tensor":
    """Differentiable twin of :func:`rgb_to_lab` for float ``N×3×H×W`` in [0, 1] (channel dim = -3)."""
    import torch

    m = torch.as_tensor(XYZ_FROM_RGB / WHITE_D65[:, None], dtype=rgb.dtype, device=rgb.device)
    linear = torch.where(rgb > 0.04045, ((rgb.clamp_min(0.04045) + 0.055) / 1.055) ** 2.4, rgb / 12.92)
    xyz = torch.einsum("ij,...jhw->...ihw", m, linear)
    # clamp inside the cube root so the unused branch has finite gradients
    f = torch.where(xyz > _EPS, xyz.clamp_min(_EPS) ** (1.0 / 3.0), _KAPPA * xyz + 16.0 / 116.0)
    fx, fy, fz = f.unbind(dim=-3)
    return torch.stack([116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)], dim=-3)


def lab_to_rgb_torch(lab: "torch.Tensor", clip: bool = True) -> "torch.Tensor":
    """Differentiable twin of :func:`lab_to_rgb` for float ``N×3×H×W`` Lab; returns sRGB in [0, 1] if ``clip``."""
    import torch

    L, a, b = lab.unbind(dim=-3)
    fy = (L + 16.0) / 116.0
    fx = a / 500.0 + fy
    fz = (fy - b / 200.0).clamp_min(0.0)
    f = torch.stack([fx, fy, fz], dim=-3)
    white = torch.as_tensor(WHITE_D65, dtype=lab.dtype, device=lab.device).view(3, 1, 1)
    xyz = torch.where(f > _F_THRESH, f**3, (f - 16.0 / 116.0) / _KAPPA) * white
    m = torch.as_tensor(RGB_FROM_XYZ, dtype=lab.dtype, device=lab.device)
    linear = torch.einsum("ij,...jhw->...ihw", m, xyz)
    srgb = torch.where(
        linear > 0.0031308, 1.055 * linear.clamp_min(0.0031308) ** (1 / 2.4) - 0.055, 12.92 * linear
    )
    return srgb.clamp(0.0, 1.0) if clip else srgb


# ---------------------------------------------------------------------------------------------------- L-merge
def resize_channels(channels: np.ndarray, height: int, width: int) -> np.ndarray:
    """Resize float ``HxWxC`` channels to ``height x width`` with antialiased bilinear interpolation (PIL)."""
    from PIL import Image

    if channels.shape[:2] == (height, width):
        return channels.astype(np.float64, copy=True)
    out = [
        np.asarray(Image.fromarray(channels[..., c].astype(np.float32), mode="F")
                   .resize((width, height), Image.BILINEAR))
        for c in range(channels.shape[-1])
    ]
    return np.stack(out, axis=-1).astype(np.float64)


# ---------------------------------------------------------------------------------------------------- gamut
GAMUT_MODES = ("clip", "chroma")  # how merge_luminance brings out-of-sRGB colours back; see merge_luminance
DEFAULT_GAMUT = "clip"  # what the literature (and skimage's lab2rgb) does: scores stay comparable with published ones
# slack on [0, 1] sRGB (0.03 of a uint8 level): a=b=0 at L=100 is 1 + 2e-5 by rounding of the matrices
_GAMUT_TOL = 1e-4


def out_of_gamut(lab: np.ndarray) -> np.ndarray:
    """Boolean ``...`` mask of the CIELAB colours that have no sRGB equivalent (some channel outside [0, 1])."""
    srgb = lab_to_rgb(lab, clip=False)
    return ((srgb < -_GAMUT_TOL) | (srgb > 1 + _GAMUT_TOL)).any(axis=-1)


def reduce_chroma_into_gamut(lab: np.ndarray, iterations: int = 24) -> np.ndarray:
    """L-preserving gamut mapping: scale each out-of-gamut colour's (a, b) towards 0 — same L, same hue angle — by
    the largest factor that lands in sRGB (bisection; ``iterations`` = 24 gives the factor to 6e-8). Neutral gray
    (a = b = 0) is in gamut at every L, so a factor always exists; in-gamut colours are returned unchanged."""
    lab = np.asarray(lab, dtype=np.float64)
    out = lab.copy()
    bad = out_of_gamut(lab)
    if not bad.any():
        return out
    L, ab = lab[bad][:, :1], lab[bad][:, 1:]
    lo, hi = np.zeros((len(L), 1)), np.ones((len(L), 1))  # lo: in gamut (gray), hi: out
    for _ in range(iterations):
        mid = (lo + hi) / 2
        inside = ~out_of_gamut(np.concatenate([L, ab * mid], axis=-1))[:, None]
        lo, hi = np.where(inside, mid, lo), np.where(inside, hi, mid)
    out[bad] = np.concatenate([L, ab * lo], axis=-1)
    return out


def merge_luminance(gray: np.ndarray, rgb_pred: np.ndarray, gamut: str = DEFAULT_GAMUT) -> np.ndarray:
    """Keep the gray input's CIELAB L, take the prediction's ab (resized to the input's size); uint8 ``HxWx3``.

    This is the standard way to score colorizers fairly: whatever a method does to structure or brightness, the
    output shares the input's luminance, so metrics measure colour. But the input's L with another image's ab is
    often no sRGB colour at all, and bringing it back changes something:

    * ``gamut="clip"`` (default, what the literature and skimage's ``lab2rgb`` do): clip each RGB channel to
      [0, 1]. This changes L (and hue) of the out-of-gamut pixels.
    * ``gamut="chroma"``: :func:`reduce_chroma_into_gamut` keeps L and the hue angle and gives up chroma only, so the
      output's L is the input's to uint8 rounding, at the cost of paler colours there.

    Measured (benchmarks/gamut.py -> benchmarks/out/gamut.json; 100 real Kaggle test photos, one per class, 224²):
    with cnn-original's colours 1.3% of the L-merged pixels are out of gamut; clipping moves their L by 0.04 on
    average, 0.32 at the 99th percentile, 1.4 at most. With each photo's own colours on its gray's L (more saturated
    than the CNN's) 3.3% are out of gamut and clipping moves their L by 0.50 on average, 3.6 at the 99th percentile,
    5.4 at most (hue by up to 8.5°). ``chroma`` keeps every pixel's L within 0.25 (uint8 rounding) and the hue within
    rounding, giving up 3.5 units of chroma on average there (up to 31). Over whole images the difference is small
    either way: mean CIEDE2000 to the true photo 0.636 (clip) vs 0.654 (chroma) for the photos' own colours, 8.936
    vs 8.931 for cnn-original. So the default stays ``clip``: the scores stay comparable with published ones, and
    the L it moves is a few units on a few percent of the pixels. ``run.json`` records which mode was used
    (``config.gamut``, also shown in the report's protocol); in-gamut pixels are identical in both modes.
    """
    if gamut not in GAMUT_MODES:
        raise ValueError(f"merge_luminance: gamut must be one of {GAMUT_MODES}, got {gamut!r}")
    if gray.ndim != 2 or gray.dtype != np.uint8:
        raise ValueError(f"merge_luminance: gray must be uint8 HxW, got {gray.dtype} {gray.shape}")
    _check_rgb_uint8(rgb_pred, "merge_luminance")
    L = rgb_to_lab(gray_to_rgb(gray))[..., :1]
    ab = rgb_to_lab(rgb_pred)[..., 1:]
    ab = resize_channels(ab, gray.shape[0], gray.shape[1])
    lab = np.concatenate([L, ab], axis=-1)
    if gamut == "chroma":
        lab = reduce_chroma_into_gamut(lab)
    return lab_to_rgb_uint8(lab)


def _check_rgb_uint8(rgb: np.ndarray, who: str) -> None:
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"{who}: expected uint8 HxWx3 RGB, got {rgb.dtype} {rgb.shape}")
