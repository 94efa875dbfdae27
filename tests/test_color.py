"""The one gray conversion, the CIELAB twins against scikit-image, and L-merging."""

import numpy as np
import pytest
import torch
from skimage import color as skcolor

from colorbench.color import (
    gray_to_rgb,
    lab_to_rgb,
    lab_to_rgb_torch,
    merge_luminance,
    rgb_to_lab,
    rgb_to_lab_torch,
    to_gray,
)


def _nchw(rgb: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(rgb.astype(np.float64) / 255.0).permute(2, 0, 1)[None]


def test_to_gray_is_bt601_rounded():
    rgb = np.array([[[255, 0, 0], [0, 255, 0], [0, 0, 255], [10, 20, 30]]], dtype=np.uint8)
    expected = np.rint(np.array([0.299 * 255, 0.587 * 255, 0.114 * 255, 0.299 * 10 + 0.587 * 20 + 0.114 * 30]))
    assert to_gray(rgb).tolist() == [expected.astype(np.uint8).tolist()]
    assert to_gray(rgb).dtype == np.uint8


def test_to_gray_matches_pil_luma_on_real_images(real_images):
    from PIL import Image

    for rgb in real_images:
        ours = to_gray(rgb).astype(int)
        pil = np.asarray(Image.fromarray(rgb).convert("L")).astype(int)
        assert np.abs(ours - pil).max() <= 1  # PIL uses fixed-point weights; rounding may differ by one


def test_rgb_to_lab_matches_skimage_on_real_images(real_images):
    assert real_images, "no real images"
    for rgb in real_images:
        np.testing.assert_allclose(rgb_to_lab(rgb), skcolor.rgb2lab(rgb), atol=1e-4)


def test_lab_to_rgb_matches_skimage_including_out_of_gamut(real_images):
    rng = np.random.default_rng(0)
    for rgb in real_images:
        lab = skcolor.rgb2lab(rgb)
        lab[..., 1:] += rng.normal(0, 30, lab[..., 1:].shape)  # push many pixels out of gamut
        np.testing.assert_allclose(lab_to_rgb(lab), skcolor.lab2rgb(lab), atol=1e-4)


def test_torch_twins_match_numpy(real_images):
    for rgb in real_images:
        lab_t = rgb_to_lab_torch(_nchw(rgb))[0].permute(1, 2, 0).numpy()
        np.testing.assert_allclose(lab_t, rgb_to_lab(rgb), atol=1e-4)
        back = lab_to_rgb_torch(torch.from_numpy(rgb_to_lab(rgb)).permute(2, 0, 1)[None])[0].permute(1, 2, 0).numpy()
        np.testing.assert_allclose(back, rgb / 255.0, atol=1e-4)


def test_torch_twin_float32_and_differentiable(real_images):
    x = _nchw(real_images[0][:32, :32]).float().requires_grad_(True)
    lab = rgb_to_lab_torch(x)
    assert lab.dtype == torch.float32
    lab[:, 1:].abs().sum().backward()
    assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    # gradients also through lab -> rgb, including at black (where the cube root has its kink)
    lab2 = torch.zeros(1, 3, 4, 4, requires_grad=True)
    lab_to_rgb_torch(lab2).sum().backward()
    assert torch.isfinite(lab2.grad).all()


def test_merge_luminance_keeps_input_L_and_takes_prediction_ab(real_images):
    rgb = real_images[1]
    gray = to_gray(rgb)
    merged = merge_luminance(gray, rgb)
    assert merged.shape == rgb.shape and merged.dtype == np.uint8
    L_in = rgb_to_lab(gray_to_rgb(gray))[..., 0]
    lab_out = rgb_to_lab(merged)
    in_gamut = np.abs(lab_to_rgb(np.concatenate([L_in[..., None], rgb_to_lab(rgb)[..., 1:]], -1)) - 0.5).max(-1) < 0.499
    assert np.abs(lab_out[..., 0] - L_in)[in_gamut].max() < 0.6  # uint8 rounding of RGB moves L by < 0.6
    # colour comes from the prediction: hue agrees with the truth's where the truth is saturated
    ab_truth = rgb_to_lab(rgb)[..., 1:]
    saturated = np.hypot(*ab_truth.transpose(2, 0, 1)) > 20
    cos = (ab_truth * lab_out[..., 1:]).sum(-1) / (np.linalg.norm(ab_truth, axis=-1)
                                                   * np.linalg.norm(lab_out[..., 1:], axis=-1) + 1e-9)
    assert np.median(cos[saturated]) > 0.95


def test_merge_luminance_resizes_prediction_to_input_size(real_images):
    rgb = real_images[0]
    gray = to_gray(rgb)
    small = np.asarray(__import__("PIL.Image", fromlist=["Image"]).fromarray(rgb).resize((64, 48)))
    merged = merge_luminance(gray, small)
    assert merged.shape[:2] == gray.shape
    L_in = rgb_to_lab(gray_to_rgb(gray))[..., 0]
    assert np.median(np.abs(rgb_to_lab(merged)[..., 0] - L_in)) < 0.5


def test_merge_of_gray_prediction_is_gray():
    gray = (np.arange(64 * 48) % 256).astype(np.uint8).reshape(48, 64)
    merged = merge_luminance(gray, gray_to_rgb(gray))
    assert np.abs(merged.astype(int) - gray_to_rgb(gray).astype(int)).max() <= 1


def test_bad_shapes_are_rejected():
    with pytest.raises(ValueError, match="uint8 HxWx3"):
        to_gray(np.zeros((4, 4), np.uint8))
    with pytest.raises(ValueError, match="gray must be uint8 HxW"):
        merge_luminance(np.zeros((4, 4, 3), np.uint8), np.zeros((4, 4, 3), np.uint8))


# ------------------------------------------------------------------------------------------------------ gamut
def _hue_deg(lab):
    return np.degrees(np.arctan2(lab[..., 2], lab[..., 1]))


def _angle_diff(a, b):
    return np.abs((a - b + 180.0) % 360.0 - 180.0)


def test_chroma_reduction_lands_in_gamut_keeping_L_and_hue():
    from colorbench.color import out_of_gamut, reduce_chroma_into_gamut

    rng = np.random.default_rng(0)
    lab = np.stack([rng.uniform(0, 100, 20000), rng.uniform(-110, 110, 20000), rng.uniform(-110, 110, 20000)], -1)
    bad = out_of_gamut(lab)
    assert 0.3 < bad.mean() < 0.95  # the test really exercises the mapping
    mapped = reduce_chroma_into_gamut(lab)
    assert not out_of_gamut(mapped).any()
    assert np.array_equal(mapped[..., 0], lab[..., 0])  # L untouched
    assert np.array_equal(mapped[~bad], lab[~bad])  # in-gamut colours untouched
    chroma_in, chroma_out = np.hypot(lab[..., 1], lab[..., 2]), np.hypot(mapped[..., 1], mapped[..., 2])
    assert (chroma_out <= chroma_in + 1e-12).all() and (chroma_out[bad] < chroma_in[bad]).all()
    moved = bad & (chroma_out > 1e-6)
    assert _angle_diff(_hue_deg(mapped[moved]), _hue_deg(lab[moved])).max() < 1e-9  # same hue angle
    # as much chroma as possible: 1% more would leave the gamut again (away from the L = 0 / 100 ends)
    loose = bad & (lab[..., 0] > 2) & (lab[..., 0] < 98) & (chroma_out > 1)
    more = mapped[loose].copy()
    more[:, 1:] *= 1.01
    assert out_of_gamut(more).mean() > 0.99


def test_chroma_mode_keeps_the_inputs_L_on_real_photos_where_clipping_does_not(real_images):
    """The tolerance 0.35 is what uint8 rounding of the mapped RGB costs: measured max 0.25 over 100 real photos
    with their true colours (benchmarks/out/gamut.json); clipping moved L by up to ~5 on the same photos."""
    from colorbench.color import out_of_gamut

    worst_clip, n_bad = 0.0, 0
    for rgb in real_images:
        gray = to_gray(rgb)
        L_in = rgb_to_lab(gray_to_rgb(gray))[..., 0]
        wanted = np.concatenate([L_in[..., None], rgb_to_lab(rgb)[..., 1:]], -1)
        bad = out_of_gamut(wanted)
        n_bad += int(bad.sum())
        clipped, mapped = merge_luminance(gray, rgb), merge_luminance(gray, rgb, gamut="chroma")
        lab_mapped = rgb_to_lab(mapped)
        assert np.abs(lab_mapped[..., 0] - L_in).max() < 0.35
        worst_clip = max(worst_clip, float(np.abs(rgb_to_lab(clipped)[..., 0] - L_in).max()))
        # hue kept where there is enough chroma for uint8 rounding not to dominate the angle
        chromatic = bad & (np.hypot(lab_mapped[..., 1], lab_mapped[..., 2]) > 20)
        assert _angle_diff(_hue_deg(lab_mapped[chromatic]), _hue_deg(wanted[chromatic])).max() < 2.0
        # in-gamut pixels come out identical in both modes
        assert np.array_equal(clipped[~bad], mapped[~bad])
    assert n_bad > 1000 and worst_clip > 2.0  # the photos do leave the gamut, and clipping does move L there


def test_clip_mode_is_the_literatures_clip_and_stays_the_default(real_images):
    rgb = real_images[2]
    gray = to_gray(rgb)
    lab = np.concatenate([rgb_to_lab(gray_to_rgb(gray))[..., :1], rgb_to_lab(rgb)[..., 1:]], -1)
    expected = np.rint(skcolor.lab2rgb(lab) * 255).astype(np.uint8)  # skimage clips out-of-gamut RGB
    assert np.array_equal(merge_luminance(gray, rgb), expected)
    assert np.array_equal(merge_luminance(gray, rgb, gamut="clip"), expected)
    with pytest.raises(ValueError, match="gamut must be one of"):
        merge_luminance(gray, rgb, gamut="perceptual")
    with pytest.raises(ValueError, match="merge_luminance: expected uint8 HxWx3"):
        merge_luminance(np.zeros((4, 4), np.uint8), np.zeros((4, 4), np.uint8))


def test_torch_lab_to_rgb_clips_by_default_like_numpy_and_not_when_asked():
    """The training loss calls ``lab_to_rgb_torch(lab)`` (default clip): it must be the numpy twin's clipped sRGB,
    and ``clip=False`` must really leave out-of-gamut values outside [0, 1] (the Zhang in-gamut masks rely on it)."""
    rng = np.random.default_rng(3)
    lab = np.stack([rng.uniform(0, 100, (16, 16)), rng.normal(0, 60, (16, 16)), rng.normal(0, 60, (16, 16))], -1)
    lab_t = torch.from_numpy(lab).permute(2, 0, 1)[None]
    clipped = lab_to_rgb_torch(lab_t)[0].permute(1, 2, 0).numpy()
    np.testing.assert_allclose(clipped, lab_to_rgb(lab), atol=1e-6)
    raw = lab_to_rgb_torch(lab_t, clip=False)
    assert (raw < -0.05).any() and (raw > 1.05).any()
    np.testing.assert_allclose(raw.clamp(0, 1)[0].permute(1, 2, 0).numpy(), clipped, atol=1e-12)


def test_resize_channels_is_antialiased_bilinear():
    """The runner resizes a prediction's ab with PIL's antialiased bilinear filter (torch's antialias=True bilinear
    implements the same filter): another filter would change every resized method's colours."""
    from torch.nn import functional as F

    from colorbench.color import resize_channels

    rng = np.random.default_rng(4)
    ab = rng.normal(0, 30, (40, 52, 2))
    for height, width in ((17, 23), (90, 110)):  # down (antialiasing matters) and up
        ours = resize_channels(ab, height, width)
        ref = F.interpolate(torch.from_numpy(ab).permute(2, 0, 1)[None], size=(height, width), mode="bilinear",
                            align_corners=False, antialias=True)[0].permute(1, 2, 0).numpy()
        assert ours.shape == (height, width, 2) and ours.dtype == np.float64
        np.testing.assert_allclose(ours, ref, atol=1e-3)


def test_to_gray_keeps_black_and_white_and_errors_name_the_function():
    rgb = np.array([[[0, 0, 0], [255, 255, 255]]], dtype=np.uint8)
    assert to_gray(rgb).tolist() == [[0, 255]]
    with pytest.raises(ValueError, match="to_gray: expected uint8 HxWx3"):
        to_gray(np.zeros((4, 4, 3), np.float32))
    with pytest.raises(ValueError, match="expected HxW gray image"):
        gray_to_rgb(np.zeros((4, 4, 3), np.uint8))


def test_rgb_to_lab_takes_float_rgb_in_unit_range(real_images):
    rgb = real_images[0][:16, :16]
    np.testing.assert_allclose(rgb_to_lab(rgb.astype(np.float64) / 255.0), rgb_to_lab(rgb), atol=1e-12)
    np.testing.assert_allclose(rgb_to_lab(rgb.astype(np.float32) / np.float32(255)), rgb_to_lab(rgb), atol=1e-4)


def test_gamut_check_keeps_the_srgb_cube_corners_and_flags_colours_just_outside():
    """The corners of the sRGB cube (a channel at exactly 0 or 1) are in gamut: the chroma mode must leave pure
    primaries alone; a colour a few 1e-4 outside the cube is out."""
    from colorbench.color import out_of_gamut, reduce_chroma_into_gamut

    corners = np.array([[r, g, b] for r in (0, 255) for g in (0, 255) for b in (0, 255)], np.uint8)
    lab = rgb_to_lab(corners)
    assert not out_of_gamut(lab).any()
    assert np.array_equal(reduce_chroma_into_gamut(lab), lab)
    red = rgb_to_lab(np.array([1.0, 0.0, 0.0]))
    for outside in (red + [0.0, 0.0, 0.5], red + [0.0, 0.5, 0.0]):  # pushes blue below 0 / red above 1
        assert out_of_gamut(outside)
