"""ColTran preprocessing is bit-exact against the official TF pipeline (fixtures made with TF 2.5.3)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import fixture_path

from colorbench.methods.coltran import preprocess as P


@pytest.fixture(scope="module")
def ref():
    return np.load(fixture_path("coltran", "reference_preprocess.npz"))


@pytest.mark.parametrize("i", range(4))
def test_crop_and_area_resize_match_tf_bit_for_bit(ref, i):
    photo = ref[f"photo_{i}"]  # 300x240, 256x256, 200x333 (upscale), 512x384
    before_round = P.resize_area(P.center_square_crop(photo), 256)
    np.testing.assert_array_equal(before_round, ref[f"photo_{i}_square_256_float_before_round"])
    np.testing.assert_array_equal(P.resize_to_square(photo, 256), ref[f"photo_{i}_square_256"])


def test_256_to_64_rounds_half_to_even_and_64_to_256_replicates(ref):
    t256 = ref["targets_256"]
    np.testing.assert_array_equal(np.stack([P.resize_area(x, 64) for x in t256]), ref["targets_64_float_before_round"])
    t64 = np.stack([P.change_resolution(x, 64) for x in t256])
    # the fixture has exact .5 ties: rounding half away from zero would fail here
    assert np.any(ref["targets_64_float_before_round"] % 1 == 0.5)
    np.testing.assert_array_equal(t64, ref["targets_64"])
    up = np.stack([P.upsample_replicate(x) for x in t64])
    np.testing.assert_array_equal(up, ref["targets_64_up_back"])
    np.testing.assert_array_equal(np.stack([P.change_resolution(x, 256) for x in t64]), up)


def test_bits_bins_and_post_processing(ref):
    bits = P.to_coarse_bits(ref["targets_64"])
    np.testing.assert_array_equal(bits, ref["bits_3_of_targets_64"])
    np.testing.assert_array_equal(P.labels_to_bins(bits), ref["bins_512_of_targets_64"])
    np.testing.assert_array_equal(P.bins_to_labels(np.arange(512)), ref["bins_to_labels_0_511"])
    np.testing.assert_array_equal(P.bins_to_rgb(np.arange(512)).astype(np.int32), ref["post_process_0_511"])
    np.testing.assert_array_equal(P.tf_rgb_to_gray(ref["targets_256"])[..., None], ref["gray_of_targets_256"])


def test_tf_gray_matches_all_2_pow_24_inputs():
    lut = np.load(fixture_path("coltran", "gray_lut_int32_rgb.npz"))["gray"]
    g, b = np.meshgrid(np.arange(256), np.arange(256), indexing="ij")
    for r in range(0, 256, 32):  # chunks keep memory small
        rgb = np.stack(np.broadcast_arrays(np.arange(r, r + 32)[:, None, None], g[None], b[None]), axis=-1)
        np.testing.assert_array_equal(P.tf_rgb_to_gray(rgb), lut[r:r + 32])
    assert P.tf_rgb_to_gray(np.array([255, 255, 255])) == 254  # truncation, not rounding


@pytest.mark.parametrize("variant", ["test", "mh"])
def test_recolorize_inputs_match_the_pipeline_fixture(variant):
    ref = np.load(fixture_path("coltran", f"reference_{variant}_pipeline.npz"))
    got = P.rgb_inputs(ref["photo_rgb_uint8"])
    for key in ("image_256", "image_64"):
        np.testing.assert_array_equal(got[key], ref[key])
    np.testing.assert_array_equal(got["gray_256"], ref["gray_256"][0, ..., 0])
    np.testing.assert_array_equal(got["gray_64"], ref["gray_64"][0, ..., 0])


def test_gray_inputs_crop_resize_and_any_size():
    """Expected values written independently of the module: for integer factors TF's area resize is the block mean
    (exact in float32 here), then rounding half to even; the crop keeps the centre square, offsets floored."""
    rng = np.random.default_rng(0)
    gray = rng.integers(0, 256, (512, 771), dtype=np.uint8)  # wide: 259 columns cropped, 129 left / 130 right
    g256, g64 = P.gray_inputs(gray)
    assert g256.shape == (256, 256) and g64.shape == (64, 64) and g256.dtype == np.int32
    square = gray[:, 129:129 + 512].astype(np.float64)

    def block_mean(x, f):
        return x.reshape(x.shape[0] // f, f, x.shape[1] // f, f).mean(axis=(1, 3))

    expected_256 = np.round(block_mean(square, 2))  # np.round: half to even, as TF's pipeline rounds
    np.testing.assert_array_equal(g256, expected_256)
    np.testing.assert_array_equal(g64, np.round(block_mean(expected_256, 4)))
    assert np.any(block_mean(square, 2) % 1 == 0.5)  # ties occur, so the rounding mode is really tested
    tall = P.gray_inputs(rng.integers(0, 256, (97, 301), dtype=np.uint8))  # any size, upscaled
    assert tall[0].shape == (256, 256) and tall[1].shape == (64, 64)
