"""The colorizer sampler: official-exact (quirk included), greedy samples, cached == uncached, seeded sampling."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from conftest import fixture_path

from colorbench.methods.coltran import config, models, naming
from colorbench.methods.coltran.sampler import per_image_uniforms, sample_colorizer

ATOL = 1e-4


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def fixture_colorizer(variant: str):
    cfg = config.read_checkpoint_config(fixture_path("coltran", f"ckpt_{variant}_colorizer"), "colorizer")
    model = models.build_model(cfg)
    naming.load_tf_named(model, dict(np.load(fixture_path("coltran", f"weights_{variant}_colorizer.npz"))))
    return model, np.load(fixture_path("coltran", f"reference_{variant}_colorizer.npz"))


def check_path_logits(logits: np.ndarray, ref) -> None:
    rows = ref["sampling_path_logits_row_indices"]
    np.testing.assert_allclose(logits[:, rows], ref["sampling_path_logits_rows"], atol=ATOL, rtol=0)
    np.testing.assert_allclose(logits.max(-1), ref["sampling_path_logits_max"], atol=ATOL, rtol=0)
    np.testing.assert_array_equal(logits.argmax(-1), ref["sampling_path_logits_argmax"])


@pytest.mark.parametrize("variant", ["test", "mh"])
def test_cached_sampler_step_reproduces_official_sampling_path_logits(variant):
    model, ref = fixture_colorizer(variant)
    out = sample_colorizer(model, torch.as_tensor(ref["gray_64"][..., 0]), mode="argmax", official=True,
                           force_bins=torch.as_tensor(ref["coarse_bins"]), return_logits=True)
    check_path_logits(out.logits.numpy(), ref)


@pytest.mark.slow
def test_uncached_official_algorithm_reproduces_sampling_path_logits():  # ~20 s: the official algorithm is slow
    model, ref = fixture_colorizer("test")
    out = sample_colorizer(model, torch.as_tensor(ref["gray_64"][..., 0]), mode="argmax", official=True, cached=False,
                           force_bins=torch.as_tensor(ref["coarse_bins"]), return_logits=True)
    check_path_logits(out.logits.numpy(), ref)


def first_near_tie(ref, rel_gap: float = 2e-4) -> np.ndarray:
    """Per image, the raster index of the first pixel whose top-2 probabilities are within float noise."""
    pmax, psecond = ref["sample_proba_max"], ref["sample_proba_second"]
    tie = ((pmax - psecond) / pmax < rel_gap).reshape(len(pmax), -1)
    return np.where(tie.any(1), tie.argmax(1), tie.shape[1])


@pytest.mark.parametrize("variant", ["test", "mh"])
def test_greedy_sample_matches_official_up_to_near_ties(variant):
    model, ref = fixture_colorizer(variant)
    out = sample_colorizer(model, torch.as_tensor(ref["sample_gray_64"][..., 0]), mode="argmax", official=True,
                           return_logits=True)
    got, want = out.bins.numpy().reshape(2, -1), ref["sample_bins"].reshape(2, -1)
    stop = first_near_tie(ref)
    for b in range(2):
        np.testing.assert_array_equal(got[b, : stop[b]], want[b, : stop[b]])
    if variant == "test":  # README: no pixel with a gap below 1e-4, so an exact match is expected
        assert (stop == got.shape[1]).all()
        np.testing.assert_array_equal(out.bins.numpy(), ref["sample_bins"])
    proba = torch.softmax(out.logits[:, :2], -1).numpy()
    np.testing.assert_allclose(proba, ref["sample_proba_rows_0_1"], atol=1e-5)
    from colorbench.methods.coltran.preprocess import bins_to_rgb

    np.testing.assert_array_equal(bins_to_rgb(out.parallel_bins.numpy()), ref["sample_parallel"])


def test_teacher_forcing_consistent_variant_equals_teacher_forcing_and_official_differs():
    """official=False gives the CLNs the full z: along a fixed path it reproduces the training-time logits; the
    official sampler (row-only context) does not — the quirk is real and the flag switches it."""
    model, ref = fixture_colorizer("test")
    gray, bins = torch.as_tensor(ref["gray_64"][..., 0]), torch.as_tensor(ref["coarse_bins"])
    # the first rows suffice: the CLNs' context differs from row 0 on, and rows past max_rows are never computed
    rows = 8
    consistent = sample_colorizer(model, gray, mode="argmax", official=False, force_bins=bins, return_logits=True,
                                  max_rows=rows)
    with torch.no_grad():
        teacher = model.teacher_forcing(gray, bins)["logits"][:, :rows]
    torch.testing.assert_close(consistent.logits[:, :rows], teacher, atol=ATOL, rtol=0)
    official = sample_colorizer(model, gray, mode="argmax", official=True, force_bins=bins, return_logits=True,
                                max_rows=rows)
    assert (official.logits[:, :rows] - teacher).abs().max() > 1e-2


@pytest.fixture(scope="module")
def smoke_colorizer():
    return models.build_model(config.smoke_config("colorizer"), init="random", seed=3)


@pytest.mark.parametrize("official", [True, False])
def test_cached_equals_uncached_when_sampling(smoke_colorizer, official):
    gray = torch.randint(0, 256, (2, 64, 64), generator=torch.Generator().manual_seed(1))
    kwargs = dict(mode="sample", temperature=0.9, official=official, seeds=[11, 12], return_logits=True, max_rows=6)
    fast = sample_colorizer(smoke_colorizer, gray, cached=True, **kwargs)
    slow = sample_colorizer(smoke_colorizer, gray, cached=False, **kwargs)
    torch.testing.assert_close(fast.logits, slow.logits, atol=1e-4, rtol=0)
    assert torch.equal(fast.bins, slow.bins)
    assert len(torch.unique(fast.bins[:, :6])) > 20  # actually sampling, not collapsing to one colour


def test_uncached_equals_cached_when_greedy_and_when_replaying_bins(smoke_colorizer):
    """The uncached official algorithm (``ColTranPipeline(cached=False)``) in its other two modes: greedy, and
    replaying given bins; int64 bins and float32 logits (only when asked for) as the cached sampler gives."""
    gen = torch.Generator().manual_seed(4)
    gray = torch.randint(0, 256, (2, 64, 64), generator=gen)
    forced = torch.randint(0, 512, (2, 64, 64), generator=gen)
    greedy = [sample_colorizer(smoke_colorizer, gray, mode="argmax", cached=cached, max_rows=2)
              for cached in (True, False)]
    assert greedy[0].logits is None and greedy[1].logits is None  # a (B, 64, 64, 512) buffer only when asked
    assert greedy[1].bins.dtype == torch.int64
    with pytest.raises(ValueError, match="cuda_graph=True needs a CUDA device"):  # not a failed capture
        sample_colorizer(smoke_colorizer, gray, mode="argmax", cuda_graph=True, max_rows=1)
    assert torch.equal(greedy[0].bins, greedy[1].bins)
    replay = [sample_colorizer(smoke_colorizer, gray, mode="argmax", cached=cached, force_bins=forced,
                               return_logits=True, max_rows=2) for cached in (True, False)]
    assert replay[1].logits.dtype == torch.float32 and replay[1].bins.dtype == torch.int64
    torch.testing.assert_close(replay[0].logits, replay[1].logits, atol=1e-4, rtol=0)
    assert torch.equal(replay[1].bins[:, :2], forced[:, :2])
    assert not torch.equal(replay[1].logits.argmax(-1)[:, :2], forced[:, :2])  # the replayed path is not greedy's


def test_half_precision_model_keeps_float32_logits_and_int64_bins(smoke_colorizer):
    """``dtype="bfloat16"`` (a CUDA option of the method; the dtypes are the same on CPU): along a fixed path the
    cached and the uncached sampler give float32 logits within bfloat16 rounding of the float32 model's, and sampling
    gives int64 bins in 0..511."""
    half = copy.deepcopy(smoke_colorizer).to(torch.bfloat16)
    gen = torch.Generator().manual_seed(4)
    gray = torch.randint(0, 256, (2, 64, 64), generator=gen)
    forced = torch.randint(0, 512, (2, 64, 64), generator=gen)
    kwargs = dict(mode="argmax", force_bins=forced, return_logits=True, max_rows=2)
    want = sample_colorizer(smoke_colorizer, gray, **kwargs).logits[:, :2]
    for cached in (True, False):
        got = sample_colorizer(half, gray, cached=cached, **kwargs).logits
        assert got.dtype == torch.float32
        torch.testing.assert_close(got[:, :2], want, atol=0.08, rtol=0)  # observed 0.02 (logits up to ~1)
        bins = sample_colorizer(half, gray, mode="sample", seeds=[1, 2], cached=cached, max_rows=1).bins
        assert bins.dtype == torch.int64 and 0 <= bins.min() and bins.max() < 512


def test_samples_depend_on_the_image_seed_only(smoke_colorizer):
    gray = torch.randint(0, 256, (3, 64, 64), generator=torch.Generator().manual_seed(2))
    batch = sample_colorizer(smoke_colorizer, gray, mode="sample", seeds=[5, 6, 7], max_rows=8).bins
    alone = sample_colorizer(smoke_colorizer, gray[1:2], mode="sample", seeds=[6], max_rows=8).bins
    assert torch.equal(batch[1:2], alone)
    other_seed = sample_colorizer(smoke_colorizer, gray[1:2], mode="sample", seeds=[8], max_rows=8).bins
    assert not torch.equal(alone, other_seed)


def test_inverse_cdf_sampling_follows_the_distribution():
    from colorbench.methods.coltran.sampler import choose

    logits = torch.log(torch.tensor([[0.1, 0.6, 0.3]])).expand(20000, 3)
    u = per_image_uniforms([0], 20000)[0]
    picks = choose(logits, "sample", 1.0, u)
    freq = torch.bincount(picks, minlength=3).double() / len(picks)
    torch.testing.assert_close(freq, torch.tensor([0.1, 0.6, 0.3], dtype=torch.float64), atol=0.015, rtol=0)
    cold = choose(logits, "sample", 0.05, u)  # low temperature approaches argmax
    assert (cold == 1).double().mean() > 0.99


def test_each_image_draws_float64_uniforms_from_its_own_seed():
    """What makes a ColTran sample reproducible per image: uniform float64 draws from a generator seeded with that
    image's seed (seeds 5 and 131 must not collide; float32 draws would move samples near bin boundaries)."""
    u = per_image_uniforms([5, 131], 64)
    assert u.dtype == torch.float64
    for row, seed in zip(u, (5, 131)):
        assert torch.equal(row, torch.rand(64, generator=torch.Generator().manual_seed(seed), dtype=torch.float64))
    assert not torch.equal(u[0], u[1])
