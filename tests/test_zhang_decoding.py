"""Bins and the annealed mean of Zhang et al.'s colorizers (no weights needed)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from colorbench.color import rgb_to_lab
from colorbench.methods.zhang import decoding
from colorbench.methods.zhang.eccv16 import ECCV16Net


# ------------------------------------------------------------------------------------------- bins
def test_srgb_gamut_cells_cover_every_srgb_colour_and_nothing_else():
    cells = decoding.srgb_gamut_cells()
    assert cells.shape == (261, 2)
    assert (cells % 10 == 0).all()
    keys = [tuple(c) for c in cells]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)
    # every sRGB colour (random sample, interior of the cube included) quantises into a listed cell
    rgb = np.random.default_rng(0).integers(0, 256, size=(20000, 3), dtype=np.uint8)
    quantised = {tuple(q) for q in np.rint(rgb_to_lab(rgb)[:, 1:] / 10).astype(int) * 10}
    assert quantised <= set(keys)
    # known landmarks: neutral gray, pure red (a 80.1, b 67.2), pure blue (a 79.2, b -107.9),
    # pure green (a -86.2, b 83.2)
    for cell in [(0, 0), (80, 70), (80, -110), (-90, 80)]:
        assert cell in set(keys)
    assert (110, 110) not in set(keys)


def test_standin_has_the_published_tables_properties():
    centres = decoding.standin_eccv16_centres()
    assert centres.shape == (313, 2)
    assert decoding.check_eccv16_centres(centres) == []
    assert {tuple(c) for c in decoding.srgb_gamut_cells()} <= {tuple(c) for c in centres.astype(int)}


@pytest.mark.parametrize("corrupt, expected", [
    (lambda c: c[::-1], "not sorted"),
    (lambda c: c + 3.0, "not on the 10-unit ab grid"),
    (lambda c: c + 0.5, "not on the 10-unit ab grid"),  # half a unit off is not the release either
    (lambda c: np.concatenate([c[:1], c[:-1]]), "repeat"),
    (lambda c: np.where(np.all(c == [0, 0], axis=1)[:, None], [110.0, 110.0], c), "outside the sRGB gamut"),
    (lambda c: c[:300], "expected 313x2"),
])
def test_centre_check_catches_tables_that_are_not_the_release(corrupt, expected):
    problems = decoding.check_eccv16_centres(corrupt(decoding.standin_eccv16_centres().copy()))
    assert any(expected in p for p in problems), problems


def test_distance_outside_the_srgb_hull_is_per_point_and_signed():
    """The centre check and the stand-in bins rank grid cells by it: one signed distance per point."""
    points = np.array([[0.0, 0.0], [150.0, 150.0], [0.0, 10.0], [-150.0, 0.0]])
    distance = decoding.distance_outside_srgb_hull(points)
    assert distance.shape == (4,)
    assert distance[0] < -10 and distance[2] < 0  # gray and a pale yellow lie well inside
    assert distance[1] > 50 and distance[3] > 50  # far outside in two directions
    assert distance[1] != distance[3]


def test_missing_srgb_cell_is_reported():
    centres = decoding.standin_eccv16_centres()
    neutral = np.flatnonzero(np.all(centres == [0, 0], axis=1))[0]
    without_neutral = np.vstack([np.delete(centres, neutral, axis=0), [[200.0, 200.0]]])
    problems = decoding.check_eccv16_centres(without_neutral)
    assert any("sRGB-gamut cells missing" in p and "(0, 0)" in p for p in problems), problems


def test_model_out_round_trip_is_exact_to_float32():
    centres = decoding.standin_eccv16_centres()
    weight = torch.from_numpy(decoding.centres_to_model_out(centres))
    assert weight.shape == (2, 313, 1, 1)
    np.testing.assert_allclose(decoding.centres_from_model_out(weight), centres, atol=1e-4)
    # a numpy weight (e.g. read from a file without torch) gives the same centres
    assert np.array_equal(decoding.centres_from_model_out(weight.numpy()), decoding.centres_from_model_out(weight))


def test_siggraph17_centres_follow_the_training_encoding():
    centres = decoding.siggraph17_centres()
    assert centres.shape == (529, 2)
    ab = np.random.default_rng(1).uniform(-110, 110, size=(1000, 2))
    idx = np.rint((ab + 110) / 10).astype(int)  # colorization-pytorch encode_ab_ind: a_i * 23 + b_i
    index = idx[:, 0] * 23 + idx[:, 1]
    assert np.abs(centres[index] - ab).max() <= 5.0 + 1e-9


# ------------------------------------------------------------------------------------------- annealed mean
def _random_case(seed=0, classes=313, size=3):
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(2, classes, size, size, generator=g) * 3
    centres = torch.from_numpy(decoding.standin_eccv16_centres()).float()
    return logits, centres


def test_temperature_one_is_the_plain_mean():
    logits, centres = _random_case()
    p = torch.softmax(logits.double(), dim=1)
    expected = torch.einsum("nqhw,qc->nchw", p, centres.double())
    torch.testing.assert_close(decoding.annealed_mean(logits, centres, 1.0).double(), expected, atol=1e-4, rtol=0)


def test_annealed_mean_is_the_papers_formula():
    logits, centres = _random_case(seed=3)
    z = torch.softmax(logits.double(), dim=1).numpy()
    for t in (0.38, 0.7, 2.0):
        f = np.exp(np.log(z) / t)
        f /= f.sum(axis=1, keepdims=True)
        expected = np.einsum("nqhw,qc->nchw", f, centres.double().numpy())
        np.testing.assert_allclose(decoding.annealed_mean(logits, centres, t).numpy(), expected, atol=1e-3)


def test_small_temperature_approaches_the_mode_and_zero_is_the_mode():
    logits, centres = _random_case(seed=5)
    top = logits.argmax(dim=1, keepdim=True)
    logits = logits.scatter_add(1, top, torch.ones_like(top, dtype=logits.dtype))  # a clear mode (gap >= 1) per pixel
    mode = centres[logits.argmax(dim=1)].permute(0, 3, 1, 2)
    distances = [(decoding.annealed_mean(logits, centres, t) - mode).abs().max().item() for t in (1.0, 0.38, 0.1, 0.01)]
    assert distances == sorted(distances, reverse=True)
    assert distances[-1] < 1e-2
    assert distances[0] > 1.0  # the mean really differs from the mode on these distributions
    assert torch.equal(decoding.annealed_mean(logits, centres, 0.0), mode.contiguous())


def test_sharpening_is_monotone_in_entropy():
    logits, _ = _random_case(seed=7)
    entropies = []
    for t in (2.0, 1.0, 0.38, 0.1):
        p = torch.softmax(logits / t, dim=1)
        entropies.append(float(-(p * p.clamp_min(1e-30).log()).sum(dim=1).mean()))
    assert entropies == sorted(entropies, reverse=True)


def test_tiny_temperature_on_large_logits_stays_finite():
    logits, centres = _random_case(seed=9)
    out = decoding.annealed_mean(logits * 1000, centres, 1e-4)
    assert torch.isfinite(out).all()


def test_negative_temperature_is_refused():
    logits, centres = _random_case()
    with pytest.raises(ValueError, match="temperature"):
        decoding.annealed_mean(logits, centres, -0.1)


def test_port_mean_equals_annealed_mean_at_t1_when_model_out_holds_the_centres():
    torch.manual_seed(0)
    net = ECCV16Net(width=8).eval()
    centres = decoding.standin_eccv16_centres()
    with torch.no_grad():
        net.model_out.weight.copy_(torch.from_numpy(decoding.centres_to_model_out(centres)))
        L = torch.rand(2, 1, 64, 64) * 100
        port = net(L)
        ours = net.upsample4(decoding.annealed_mean(net.class_logits(L), torch.from_numpy(centres), 1.0))
    assert port.shape == (2, 2, 64, 64)
    torch.testing.assert_close(port, ours, atol=1e-3, rtol=0)
