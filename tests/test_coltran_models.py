"""The three PyTorch ColTran models reproduce the official TF activations and logits (fixtures, both variants)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from conftest import fixture_path

from colorbench.methods.coltran import config, models, naming

VARIANTS = ["test", "mh"]
ATOL = 1e-4  # float32 re-implementation vs TF/oneDNN CPU (README section 7); observed ~1e-5


def load_fixture_model(variant: str, kind: str):
    cfg = config.read_checkpoint_config(fixture_path("coltran", f"ckpt_{variant}_{kind}"), kind)
    model = models.build_model(cfg)
    naming.load_tf_named(model, dict(np.load(fixture_path("coltran", f"weights_{variant}_{kind}.npz"))))
    return model


def compare_compact_logits(got: np.ndarray, ref, name: str, margin: float = 1e-4) -> None:
    """Check full rows, per-position max/logsumexp/argmax and the float64 sum (README section 6 storage)."""
    rows = ref[f"{name}_row_indices"]
    np.testing.assert_allclose(got[:, rows], ref[f"{name}_rows"], atol=ATOL, rtol=0)
    np.testing.assert_allclose(got.max(-1), ref[f"{name}_max"], atol=ATOL, rtol=0)
    lse = torch.logsumexp(torch.as_tensor(got), -1).numpy()
    np.testing.assert_allclose(lse, ref[f"{name}_logsumexp"], atol=ATOL, rtol=0)
    assert abs(got.astype(np.float64).sum() - float(ref[f"{name}_sum"])) < 1e-6 * got.size + 1.0
    # argmax: exact wherever the top-2 gap is not within float noise
    top2 = np.sort(got, axis=-1)[..., -2:]
    clear = (top2[..., 1] - top2[..., 0]) > margin
    assert clear.mean() > 0.99
    np.testing.assert_array_equal(got.argmax(-1)[clear], ref[f"{name}_argmax"][clear])


@pytest.mark.parametrize("variant", VARIANTS)
def test_colorizer_teacher_forcing_activations_logits_and_parallel_head(variant):
    model = load_fixture_model(variant, "colorizer")
    ref = np.load(fixture_path("coltran", f"reference_{variant}_colorizer.npz"))
    with torch.no_grad():
        out = model.teacher_forcing(torch.as_tensor(ref["gray_64"][..., 0]), torch.as_tensor(ref["coarse_bins"]))
    for key in ("encoder_out", "pixel_embed", "outer_decoder_out", "inner_decoder_out"):
        np.testing.assert_allclose(out[key].numpy(), ref[key], atol=ATOL, rtol=0, err_msg=key)
    compare_compact_logits(out["logits"].numpy()[..., None, :], ref, "logits")
    compare_compact_logits(out["encoder_logits"].numpy()[..., None, :], ref, "encoder_logits")
    # the eval loss in bits per dim, from our logits
    nll = torch.nn.functional.cross_entropy(out["logits"].reshape(-1, 512),
                                            torch.as_tensor(ref["coarse_bins"]).reshape(-1).long())
    assert abs(nll.item() / np.log(2) - float(ref["loss_bits_per_dim"])) < 1e-4


@pytest.mark.parametrize("variant", VARIANTS)
def test_color_upsampler_logits_slice_call_and_argmax(variant):
    model = load_fixture_model(variant, "color_upsampler")
    ref = np.load(fixture_path("coltran", f"reference_{variant}_color_upsampler.npz"))
    gray = torch.as_tensor(ref["gray_64"][..., 0])
    with torch.no_grad():
        logits = model.logits(torch.as_tensor(ref["bits_3"]), gray).numpy()
        sliced = model.logits(torch.as_tensor(ref["slice_input"] // 32), gray,
                              channel_index=torch.as_tensor(ref["slice_channel_index"])).numpy()
    compare_compact_logits(logits, ref, "logits")
    compare_compact_logits(sliced, ref, "logits_slice")
    np.testing.assert_array_equal(logits.argmax(-1).astype(np.uint8), ref["sample_bit_up_argmax"])


@pytest.mark.parametrize("variant", ["test", pytest.param("mh", marks=pytest.mark.slow)])
def test_spatial_upsampler_logits_and_argmax(variant):
    model = load_fixture_model(variant, "spatial_upsampler")
    ref = np.load(fixture_path("coltran", f"reference_{variant}_spatial_upsampler.npz"))
    with torch.no_grad():
        logits = model.logits(torch.as_tensor(ref["up_back_256"]), torch.as_tensor(ref["gray_256"][..., 0])).numpy()
    compare_compact_logits(logits, ref, "logits")
    got = logits.argmax(-1).astype(np.uint8)
    top2 = np.sort(logits, axis=-1)[..., -2:]
    clear = (top2[..., 1] - top2[..., 0]) > 1e-4
    np.testing.assert_array_equal(got[clear], ref["sample_high_res_argmax"][clear])
    assert (got != ref["sample_high_res_argmax"]).sum() <= 2  # README: 0-2 near-ties per file


def test_model_parameters_are_exactly_the_official_variables():
    """Every parameter of every model is one official variable (by the naming rule) and vice versa."""
    for kind in config.MODEL_KINDS:
        for cfg in (config.full_config(kind), config.smoke_config(kind)):
            model = models.build_model(cfg)
            rule = {v.torch_key: v.shape for v in naming.official_variables(cfg)}
            params = {k: tuple(v.shape) for k, v in model.state_dict().items()}
            assert params == rule, kind



def test_axial_attention_on_a_non_square_grid_spans_the_attended_axis():
    """Row attention's relative positions span the width, column attention's the height. The checkpoints are all
    square (64 x 64, 256 x 256), so the fixture checks cannot tell the two apart: a 3 x 5 grid, where a layer that
    took the other side's length would build a bias of the wrong size."""
    from colorbench.methods.coltran.layers import AxialAttention

    torch.manual_seed(0)
    x = torch.randn(2, 3, 5, 8)  # (B, H, W, D)
    for axis, length in (("row", 5), ("col", 3)):
        layer = AxialAttention(8, 2, height=3, width=5, axis=axis, masked=True)
        assert layer.relative_attention.matrix(masked=True).shape == (2, length, length)
        with torch.no_grad():
            assert layer(x).shape == x.shape


def _small_config(kind: str):
    """The smoke config, with the spatial upsampler at 64x64 like the others: the overflow check in predict does not
    depend on the side, and float16 on a CPU made the 256x256 one the slowest of these tests."""
    cfg = config.smoke_config(kind)
    return dataclasses.replace(cfg, resolution=64) if kind == "spatial_upsampler" else cfg


def _half_smoke(kind: str, scale: float = 1.0):
    model = models.build_model(_small_config(kind), init="random", seed=0)
    with torch.no_grad():
        model.final_dense.kernel.mul_(scale)  # a huge last layer: logits past float16's 65504, as an overflow would
    return model.half().eval()


@pytest.mark.parametrize("kind", ["color_upsampler", "spatial_upsampler"])
def test_float16_overflow_in_an_upsampler_is_an_error_not_silent_colour_zero(kind):
    R, top = 64, (8 if kind == "color_upsampler" else 256)
    rng = np.random.default_rng(0)
    values = torch.as_tensor(rng.integers(0, top, (1, R, R, 3)))
    gray = torch.as_tensor(rng.integers(0, 256, (1, R, R)))
    assert _half_smoke(kind).predict(values, gray).shape == (1, R, R, 3)  # in range: no complaint
    with pytest.raises(FloatingPointError, match="overflowed float16.*bfloat16"):
        _half_smoke(kind, scale=1e9).predict(values, gray)
    model = models.build_model(_small_config(kind), init="random", seed=0).to(torch.bfloat16).eval()
    with torch.no_grad():
        model.final_dense.kernel.mul_(1e9)
    model.predict(values, gray)  # bfloat16 has float32's range: nothing to check


def test_float16_overflow_in_the_colorizer_is_an_error():
    from colorbench.methods.coltran.sampler import sample_colorizer

    gray = torch.as_tensor(np.random.default_rng(0).integers(0, 256, (1, 64, 64)))
    assert sample_colorizer(_half_smoke("colorizer"), gray, mode="argmax", max_rows=2).bins.shape == (1, 64, 64)
    with pytest.raises(FloatingPointError, match="colorizer overflowed float16"):
        sample_colorizer(_half_smoke("colorizer", scale=1e9), gray, mode="argmax", max_rows=2)
