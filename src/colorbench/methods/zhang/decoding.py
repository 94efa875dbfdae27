"""Colour bins and decoders for Zhang et al.'s classification colorizers.

ECCV16 ("Colorful Image Colorization") predicts, for every pixel of a 1/4-resolution map, a distribution over
Q = 313 quantised ab bins: the cells of a 10-unit grid on the ab plane that the authors kept as "in gamut". The
paper turns that distribution into one colour with the **annealed mean** (eq. 5)::

    f_T(z) = exp(log z / T) / sum_q exp(log z_q / T)      ab = sum_q f_T(z)_q * centre_q

For a softmax distribution z = softmax(logits), f_T(z) = softmax(logits / T): T = 1 is the plain mean, T -> 0 the
mode; the paper uses T = 0.38. SIGGRAPH17 ("Real-Time User-Guided Image Colorization") has, beside its regression
head, a classification head over all 23 x 23 = 529 cells of the same grid (a, b in -110..110, index a_i * 23 + b_i);
the annealed mean over it is the same formula with those centres.

Where the 313 centres come from
-------------------------------
The authors' centres (``pts_in_hull.npy``) cannot be regenerated from sRGB alone: the cells of the 10-unit grid that
some sRGB colour falls into (``srgb_gamut_cells``, 261 of them) are all among the 313, but the published set adds 52
cells lying up to ~13.5 ab units outside the sRGB gamut's convex hull (we compared with the table as published in
OpenCV's colorization sample; no simple gamut rule we tried — occupancy, convex hull, dilations, other white points —
reproduces exactly those 313, and the published table passes :func:`check_eccv16_centres`).
So the released checkpoint is the authority: its final 1x1 convolution ``model_out`` (313 -> 2, no bias) *is* the
table of centres divided by 110 (Caffe's ``class8_ab`` layer, whose weights were ``pts_in_hull``).
:func:`centres_from_model_out` reads them back and :func:`check_eccv16_centres` verifies their properties. Smoke runs
and tests, which have no released file, use :func:`standin_eccv16_centres`: 313 cells built from the sRGB gamut with
the same properties — a stand-in, never presented as the authors' table.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch

# Normalisation of the official models (colorizers/base_color.py): L is centred and scaled, ab scaled.
L_CENT = 50.0
L_NORM = 100.0
AB_NORM = 110.0

GRID_STEP = 10  # ab units between bin centres
ECCV16_CLASSES = 313
SIGGRAPH17_GRID = 23  # 23 x 23 = 529 classes: a, b in -110..110
PAPER_TEMPERATURE = 0.38
# Published centres lie at most ~13.5 ab units outside the sRGB gamut's convex hull; a checkpoint whose centres
# stray further is not the release we know.
MAX_OUTSIDE_SRGB_HULL = 15.0


# ------------------------------------------------------------------------------------------- the sRGB gamut
@functools.lru_cache(maxsize=1)
def _srgb_ab_samples() -> np.ndarray:
    """ab of every colour on the sRGB cube's surface (8-bit steps).

    The surface is enough: for a fixed (a, b) the in-gamut lightnesses form intervals whose ends lie on the gamut
    boundary, so the ab projection of the surface equals that of the whole cube (65k points x 6 instead of 16.7M).
    """
    from colorbench.color import rgb_to_lab

    v = np.arange(256, dtype=np.uint8)
    g, b = np.meshgrid(v, v, indexing="ij")
    faces = []
    for axis in range(3):
        for value in (0, 255):
            channels = [g, b]
            channels.insert(axis, np.full_like(g, value))
            faces.append(np.stack(channels, axis=-1).reshape(-1, 3))
    return rgb_to_lab(np.concatenate(faces))[:, 1:]


@functools.lru_cache(maxsize=1)
def srgb_gamut_cells() -> np.ndarray:
    """The 10-unit ab cells (centres, int ``Kx2``, sorted by a then b) that some 8-bit sRGB colour quantises to.

    261 cells. Every one of them is among the authors' 313 bins.
    """
    cells = np.unique(np.rint(_srgb_ab_samples() / GRID_STEP).astype(int) * GRID_STEP, axis=0)
    return cells  # np.unique sorts rows lexicographically: a, then b


@functools.lru_cache(maxsize=1)
def _srgb_hull_equations() -> np.ndarray:
    from scipy.spatial import ConvexHull

    return ConvexHull(_srgb_ab_samples()).equations  # rows (n_a, n_b, c): n . x + c <= 0 inside


def distance_outside_srgb_hull(ab: np.ndarray) -> np.ndarray:
    """Signed distance (ab units) of points ``Kx2`` from the convex hull of the sRGB gamut's ab projection
    (<= 0 inside)."""
    eq = _srgb_hull_equations()
    return (np.asarray(ab, dtype=np.float64) @ eq[:, :2].T + eq[:, 2]).max(axis=1)


# ------------------------------------------------------------------------------------------- bin centres
@functools.lru_cache(maxsize=1)
def standin_eccv16_centres() -> np.ndarray:
    """A 313-cell stand-in for the authors' bins, for smoke runs and tests only (float ``313x2``, sorted a, b).

    The grid cells nearest the sRGB gamut's convex hull (ties broken by a, then b). Shares the published table's
    properties (contains every sRGB cell, within 15 units of the hull, sorted) but is not the same set: real runs
    always take the centres from the released checkpoint.
    """
    axis = np.arange(-110, 111, GRID_STEP)
    grid = np.stack(np.meshgrid(axis, axis, indexing="ij"), axis=-1).reshape(-1, 2)
    order = np.lexsort((grid[:, 1], grid[:, 0], np.round(distance_outside_srgb_hull(grid), 9)))
    chosen = grid[np.sort(order[:ECCV16_CLASSES])]  # grid is a-major, so sorted indices keep (a, b) order
    return chosen.astype(np.float64)


def siggraph17_centres() -> np.ndarray:
    """Centres of SIGGRAPH17's 529 classes (float ``529x2``): index ``a_i * 23 + b_i``, value ``-110 + 10 * i``.

    This is the training code's encoding (colorization-pytorch ``encode_ab_ind`` with ab_max 110, ab_quant 10).
    """
    axis = -AB_NORM + GRID_STEP * np.arange(SIGGRAPH17_GRID, dtype=np.float64)
    return np.stack(np.meshgrid(axis, axis, indexing="ij"), axis=-1).reshape(-1, 2)


def centres_from_model_out(weight: torch.Tensor | np.ndarray) -> np.ndarray:
    """ECCV16's ``model_out.weight`` (``2x313x1x1``) -> bin centres in ab units (float ``313x2``)."""
    w = np.asarray(weight.detach().cpu().numpy() if hasattr(weight, "detach") else weight, dtype=np.float64)
    if w.shape != (2, ECCV16_CLASSES, 1, 1):
        raise ValueError(f"model_out.weight must be 2x{ECCV16_CLASSES}x1x1, got {w.shape}")
    return w[:, :, 0, 0].T * AB_NORM


def centres_to_model_out(centres: np.ndarray) -> np.ndarray:
    """Inverse of :func:`centres_from_model_out`: the fixed 1x1 convolution that computes the expectation."""
    return (np.asarray(centres, dtype=np.float32).T / np.float32(AB_NORM))[:, :, None, None]


def check_eccv16_centres(centres: np.ndarray, *, tolerance: float = 1e-2) -> list[str]:
    """Problems (empty when none) that make ``centres`` unlike the authors' 313 bins.

    Checked: 313 distinct points on the 10-unit grid, sorted by a then b (the class order of ``pts_in_hull``), every
    sRGB cell present, none further than 15 units outside the sRGB gamut's convex hull.
    """
    c = np.asarray(centres, dtype=np.float64)
    if c.shape != (ECCV16_CLASSES, 2):
        return [f"expected {ECCV16_CLASSES}x2 centres, got {c.shape}"]
    problems = []
    snapped = np.rint(c / GRID_STEP) * GRID_STEP
    off = np.abs(c - snapped).max()
    if off > tolerance:
        problems.append(f"centres are not on the 10-unit ab grid (max offset {off:.4f})")
    keys = [(int(a), int(b)) for a, b in snapped]
    if len(set(keys)) != len(keys):
        problems.append("centres repeat")
    if keys != sorted(keys):
        problems.append("centres are not sorted by a, then b")
    missing = {tuple(int(v) for v in p) for p in srgb_gamut_cells()} - set(keys)
    if missing:
        problems.append(f"{len(missing)} sRGB-gamut cells missing, e.g. {sorted(missing)[:3]}")
    outside = distance_outside_srgb_hull(snapped).max()
    if outside > MAX_OUTSIDE_SRGB_HULL:
        problems.append(f"a centre lies {outside:.1f} ab units outside the sRGB gamut (limit {MAX_OUTSIDE_SRGB_HULL})")
    return problems


# ------------------------------------------------------------------------------------------- decoders
def annealed_mean(logits: torch.Tensor, centres: torch.Tensor, temperature: float) -> torch.Tensor:
    """Annealed mean of per-pixel class logits ``N x Q x H x W`` over bin ``centres`` ``Q x 2`` -> ab ``N x 2 x H x W``.

    ``temperature`` 1 gives the plain mean, 0 the mode (the limit, computed as the arg-max bin), 0.38 the paper's
    setting. Computed in float32 with a max-subtracted softmax, so small temperatures do not overflow.

    Example::

        >>> import torch
        >>> centres = torch.tensor([[0.0, 0.0], [10.0, -10.0]])
        >>> logits = torch.tensor([1.0, 0.0]).view(1, 2, 1, 1)
        >>> annealed_mean(logits, centres, 0.0).flatten().tolist()
        [0.0, 0.0]
    """
    import torch

    if temperature < 0:
        raise ValueError(f"temperature must be >= 0, got {temperature}")
    centres = centres.to(device=logits.device, dtype=torch.float32)
    logits = logits.float()
    if temperature == 0:
        index = logits.argmax(dim=1)  # N x H x W
        return centres[index].permute(0, 3, 1, 2).contiguous()
    weights = torch.softmax(logits / temperature, dim=1)
    return torch.einsum("nqhw,qc->nchw", weights, centres)
