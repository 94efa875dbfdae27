"""Known-answer tests: PSNR, SSIM, CIEDE2000 against scikit-image on real photos; colourfulness by hand."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from colorbench.metrics.colour import colorfulness, delta_colorfulness, delta_e2000_map, mean_delta_e2000
from colorbench.metrics.pixel import psnr, ssim

skimage_metrics = pytest.importorskip("skimage.metrics")
from skimage.color import deltaE_ciede2000, rgb2lab  # noqa: E402


def nchw(images) -> torch.Tensor:
    return torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2)


@pytest.fixture
def pairs(real_images):
    """(prediction, truth) pairs from real photos: a photo against a degraded copy and against another photo."""
    assert len(real_images) >= 4
    truth = real_images[:4]
    rng = np.random.default_rng(0)
    noisy = np.clip(truth[0].astype(int) + rng.integers(-20, 21, truth[0].shape), 0, 255).astype(np.uint8)
    swapped = truth[1][..., ::-1].copy()  # BGR: same structure, wrong colours
    preds = [noisy, swapped, truth[3], truth[2]]
    return preds, truth


def test_psnr_matches_skimage(pairs):
    preds, truth = pairs
    ours = psnr(nchw(preds), nchw(truth)).numpy()
    ref = [skimage_metrics.peak_signal_noise_ratio(t, p) for p, t in zip(preds, truth)]
    np.testing.assert_allclose(ours, ref, rtol=1e-12)


def test_psnr_identical_is_inf_like_skimage(real_images):
    x = nchw(real_images[:1])
    assert torch.isinf(psnr(x, x)).all()


def test_ssim_matches_skimage_defaults(pairs):
    preds, truth = pairs
    ours = ssim(nchw(preds), nchw(truth)).numpy()
    ref = [skimage_metrics.structural_similarity(t, p, channel_axis=2) for p, t in zip(preds, truth)]
    np.testing.assert_allclose(ours, ref, rtol=1e-9, atol=1e-12)
    assert ssim(nchw(truth[:1]), nchw(truth[:1])).item() == pytest.approx(1.0)


def test_ssim_chunking_and_int64_sums_change_nothing(pairs, monkeypatch):
    """One image at a time (the CPU path) equals the whole batch; the int64 window sums (very large images)
    equal the int32 ones."""
    from colorbench.metrics import pixel

    preds, truth = nchw(pairs[0]), nchw(pairs[1])
    whole = ssim(preds, truth)
    np.testing.assert_array_equal(ssim(preds, truth, chunk=1).numpy(), whole.numpy())
    np.testing.assert_array_equal(ssim(preds, truth, chunk=3).numpy(), whole.numpy())
    assert pixel._sum_dtype(224, 224) == torch.int32 and pixel._sum_dtype(5000, 224) == torch.int64
    monkeypatch.setattr(pixel, "_sum_dtype", lambda h, w: torch.int64)
    np.testing.assert_array_equal(ssim(preds, truth).numpy(), whole.numpy())


def test_int32_window_sums_do_not_overflow_at_the_largest_size_that_uses_them():
    from colorbench.metrics import pixel

    h = next(h for h in range(4000, 6000) if pixel._sum_dtype(h + 1, 8) == torch.int64)  # tallest int32 image
    assert pixel._sum_dtype(h, 8) == torch.int32
    squares = torch.full((1, 1, h, 8), 255 * 255, dtype=torch.int64)
    exact = pixel._box_sum_valid(squares, pixel.SSIM_WINDOW)
    assert (exact == 49 * 255 * 255).all()
    assert torch.equal(pixel._box_sum_valid(squares.to(torch.int32), pixel.SSIM_WINDOW).long(), exact)


def test_ssim_on_odd_sizes_matches_skimage(real_images):
    a, b = real_images[0][:37, :50], real_images[1][:37, :50]
    ours = ssim(nchw([a]), nchw([b])).item()
    assert ours == pytest.approx(skimage_metrics.structural_similarity(b, a, channel_axis=2), rel=1e-9)


def test_delta_e2000_matches_skimage_on_real_photos(pairs):
    preds, truth = pairs
    ours = mean_delta_e2000(nchw(preds), nchw(truth)).numpy()
    ref = [deltaE_ciede2000(rgb2lab(t), rgb2lab(p)).mean() for p, t in zip(preds, truth)]
    np.testing.assert_allclose(ours, ref, rtol=1e-9)
    # float32 (what the scorer uses, for speed): within 1e-4 ΔE of scikit-image's float64
    ours32 = mean_delta_e2000(nchw(preds), nchw(truth), dtype=torch.float32)
    assert ours32.dtype == torch.float32  # both images' Lab in float32, not one silently in float64
    np.testing.assert_allclose(ours32.double().numpy(), ref, rtol=0, atol=1e-4)


@pytest.mark.parametrize("lab1, lab2, expected", [
    # Sharma, Wu & Dalal (2005) test data, pairs 1, 7 and 17 (4 decimals in the paper)
    ((50.0, 2.6772, -79.7751), (50.0, 0.0, -82.7485), 2.0425),
    ((50.0, 0.0, 0.0), (50.0, -1.0, 2.0), 2.3669),
    ((50.0, 2.5, 0.0), (73.0, 25.0, -18.0), 27.1492),
])
def test_delta_e2000_sharma_reference_pairs(lab1, lab2, expected):
    t1 = torch.tensor(lab1, dtype=torch.float64).view(3, 1, 1)
    t2 = torch.tensor(lab2, dtype=torch.float64).view(3, 1, 1)
    assert delta_e2000_map(t1, t2).item() == pytest.approx(expected, abs=1e-4)
    assert delta_e2000_map(t2, t1).item() == pytest.approx(expected, abs=1e-4)  # symmetric
    assert delta_e2000_map(t1.float(), t2.float()).item() == pytest.approx(expected, abs=1e-4)  # float32 too


def test_colorfulness_hand_computed():
    gray = np.full((8, 8, 3), 120, np.uint8)
    red = np.zeros((8, 8, 3), np.uint8)
    red[..., 0] = 255
    half = red.copy()
    half[:4] = 0  # half black, half red: rg in {0, 255}, yb in {0, 127.5}
    cf = colorfulness(nchw([gray, red, half])).numpy()
    assert cf[0] == 0.0
    # uniform red: no spread, mean (rg, yb) = (255, 127.5) -> 0.3 * |(255, 127.5)|
    assert cf[1] == pytest.approx(0.3 * np.hypot(255.0, 127.5))
    # half red: population std of rg = 127.5, of yb = 63.75; means 127.5 and 63.75
    assert cf[2] == pytest.approx(np.hypot(127.5, 63.75) + 0.3 * np.hypot(127.5, 63.75))


def test_colorfulness_matches_direct_formula_on_real_photos(real_images):
    def reference(rgb):  # Hasler & Süsstrunk (2003), written out plainly
        r, g, b = (rgb[..., i].astype(np.float64) for i in range(3))
        rg, yb = r - g, 0.5 * (r + g) - b
        return np.sqrt(rg.std() ** 2 + yb.std() ** 2) + 0.3 * np.sqrt(rg.mean() ** 2 + yb.mean() ** 2)

    ours = colorfulness(nchw(real_images[:4])).numpy()
    np.testing.assert_allclose(ours, [reference(x) for x in real_images[:4]], rtol=1e-10)
    assert (ours > 5).all()  # real colour photos are colourful


def test_shape_mismatch_is_an_error(real_images):
    a = nchw([real_images[0]])
    b = nchw([real_images[1][:100, :100]])
    for fn in (psnr, ssim, mean_delta_e2000):
        with pytest.raises(ValueError, match="shape"):
            fn(a, b)


def test_an_empty_batch_scores_to_an_empty_result():
    empty = torch.zeros(0, 3, 16, 16, dtype=torch.uint8)
    for fn in (psnr, ssim, mean_delta_e2000):
        assert fn(empty, empty).shape == (0,)


def test_colorfulness_refuses_a_batch_without_its_image_axis():
    # N×3×W (a row of pixels, or an image missing a dimension) must not be read as three channels
    with pytest.raises(ValueError, match="N×3×H×W"):
        colorfulness(torch.zeros(4, 3, 16, dtype=torch.uint8))


def test_delta_colorfulness_is_the_absolute_difference_of_the_means():
    assert delta_colorfulness(30.5, 42.0) == 11.5 and delta_colorfulness(42.0, 30.5) == 11.5


def test_ssim_at_the_smallest_size_and_on_float_inputs_holding_integers(real_images):
    a, b = real_images[0][:7, :7], real_images[1][:7, :7]  # 7x7: one window, the documented minimum
    assert ssim(nchw([a]), nchw([b])).item() == pytest.approx(
        skimage_metrics.structural_similarity(b, a, channel_axis=2), rel=1e-9)
    pair = nchw([real_images[0][:40, :40]]), nchw([real_images[1][:40, :40]])
    torch.testing.assert_close(ssim(*(x.double() for x in pair)), ssim(*pair), rtol=0, atol=0)
    with pytest.raises(ValueError, match="fractional"):
        ssim(pair[0].double() + 0.5, pair[1].double())
    with pytest.raises(ValueError, match="fractional"):
        ssim(pair[0].double(), pair[1].double() + 0.5)
