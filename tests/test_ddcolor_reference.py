"""colorbench's DDColor checked against the authors' own code (piddnad/DDColor @ 2adb63f, run unmodified).

The shared fixture ``ddcolor/`` holds the official DDColor-T's activations and outputs for deterministic weights
given by a formula (its README, section 5). ``ddcolor_helpers`` rebuilds those weights (the formula written out, not
imported), which load into colorbench's network with ``strict=True``; every stage is compared with the README's
tolerances (section 7): the pipeline's network input, the four encoder features, the pixel decoder's four outputs,
the position embedding, the query state after every decoder layer, the colour queries and embedding, the per-query
pixel features, ab at model resolution and at the photo's size, and the final RGB at input sizes 512 and 256.

Deliberate breakages made once by hand to the code, each failing the fast tests here (first failing check, error vs
tolerance; the full table in ``docs/ddcolor.md``): ab upsampling nearest -> bilinear (ab_out 43, tol 1e-6); ConvNeXt
LayerNorm eps 1e-5 (enc_norm3 1.4e-4, tol 1e-4; ab 6.6e-3); self- before cross-attention (queries after layer 0:
4.8, tol 2e-4); query_embed unused (1.5) or added to self-attention values (2.1); norm_i output fed to the next
stage (enc_norm1 0.15); the final norm applied to f3 (enc_norm3 0.27); spectral sigma = the largest singular value
(sigma check; out0 2.9) or no sigma (out0 20); input_size 256 ignored (s256_rgb_u8 122 levels); INTER_AREA resize
(net input 0.29); BGR output not reversed (75 levels); a BGR photo read as RGB (orig_l 18.7); tanh GELU (enc_norm0
3.7e-4); blur padding right/bottom (out0 0.12); levels fine -> coarse (queries 5.0); the refine conv fed the
un-normalised image (ab 0.69, tol 2e-3).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from ddcolor_helpers import key_spec, reference, reference_net, reference_state_dict

pytest.importorskip("cv2")
from colorbench.methods.ddcolor import pipeline  # noqa: E402
from colorbench.methods.ddcolor.color_decoder import sine_position_embedding  # noqa: E402
from colorbench.methods.ddcolor.method import DDColor  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _close(actual, expected, tol, what):
    actual, expected = np.asarray(actual, np.float64), np.asarray(expected, np.float64)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    err = float(np.abs(actual - expected).max())
    assert err <= tol, f"{what}: max error {err:.3g} > {tol:g}"
    return err


def _stats(feature: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel spatial mean and population std of ``C x H x W``, in float64 (as the fixture)."""
    x = feature.double().flatten(1)
    return x.mean(1).numpy(), x.std(1, unbiased=False).numpy()


def _corners(feature: torch.Tensor, n: int = 8) -> np.ndarray:
    return np.stack([feature[:, :n, :n].numpy(), feature[:, -n:, -n:].numpy()])


def _rgb_levels(actual: np.ndarray, expected: np.ndarray, what: str) -> tuple[int, float]:
    """README tolerance for uint8 images: +-1 level on at most 0.5 % of values."""
    diff = np.abs(actual.astype(int) - expected.astype(int))
    share = float((diff > 0).mean())
    assert diff.max() <= 1 and share <= 0.005, f"{what}: max {diff.max()} levels, {share:.2%} of values differ"
    return int(diff.max()), share


class Capture:
    """Forward hooks on the network's stages: what each stage returned for the last forward."""

    def __init__(self, net):
        self.out: dict[str, object] = {}
        decoder = net.decoder
        colour = decoder.color_decoder
        named = {"encoder": net.encoder, "out0": decoder.layers[0], "out1": decoder.layers[1],
                 "out2": decoder.layers[2], "out3": decoder.last_shuf, "out_feat": decoder,
                 "q_norm": colour.decoder_norm, "color_embed": colour.color_embed}
        named.update({f"q_layer{i}": layer for i, layer in enumerate(colour.transformer_ffn_layers)})
        for name, module in named.items():
            module.register_forward_hook(lambda _m, _i, output, name=name: self.out.__setitem__(name, output))


@pytest.fixture(scope="module")
def img0_512():
    """Photo 0 through the network at 512 from the fixture's own network input, every stage captured."""
    net = reference_net()
    capture = Capture(net)
    x = torch.from_numpy(reference()["net_input_img0"])[None, None].expand(1, 3, 512, 512).contiguous()
    with torch.inference_mode():
        ab = net(x)
    return {**capture.out, "ab": ab[0]}


# ------------------------------------------------------------------------------------------------- weights
def test_formula_weights_match_the_fixture_sums_and_sigmas():
    spec, ref = key_spec(), reference()
    state = reference_state_dict()
    assert list(state) == [str(k) for k in ref["state_dict_keys"]]
    sums = np.array([state[k].double().sum().item() for k in state])
    np.testing.assert_allclose(sums, ref["weight_sums_f64"], rtol=1e-9, atol=1e-9)
    net = reference_net()  # strict=True inside: every key and shape of the authors' model, nothing else
    modules = dict(net.named_modules())
    for key, sigma in zip(ref["spectral_sigma_keys"], ref["spectral_sigma"]):
        assert modules[str(key)].sigma().item() == pytest.approx(float(sigma), rel=1e-5), key
    assert spec["constructor_kwargs"]["num_queries"] == net.decoder.color_decoder.query_feat.num_embeddings


# ------------------------------------------------------------------------------------------------- the pipeline
def test_network_input_and_lightness_equal_the_official_pipeline():
    ref = reference()
    for i, image in enumerate(ref["images_bgr_u8"]):
        orig_l, x = pipeline.prepare(image, 512)
        _close(orig_l, ref["orig_l"][i], 1e-4, f"orig_l[{i}]")
        _close(x[0, ::4, ::4], ref["net_input_sub4"][i], 1e-5, f"net_input[{i}]")
        assert np.abs(x[0] - x[2]).max() <= 1e-6  # gray RGB: the three channels agree
    _, x0 = pipeline.prepare(ref["images_bgr_u8"][0], 512)
    _close(x0[0], ref["net_input_img0"], 1e-5, "net_input_img0")
    _, x256 = pipeline.prepare(ref["images_bgr_u8"][0], 256)
    _close(x256[0], ref["s256_net_input_img0"], 1e-5, "s256_net_input_img0")


def test_postprocessing_is_nearest_ab_and_cv2_lab_with_rgb_out():
    """From the fixture's own ab at 512: nearest resize, the photo's L, LAB2BGR, rounding, RGB order."""
    ref = reference()
    ab = torch.from_numpy(ref["ab_model_img0"])
    _close(pipeline.resize_ab(ab, 224, 224).transpose(2, 0, 1), ref["ab_out"][0], 1e-6, "ab_out[0]")
    rgb = pipeline.finish(ref["orig_l"][0], ab)
    _rgb_levels(rgb, ref["rgb_u8"][0], "rgb_u8[0] from the fixture's ab")
    assert np.array_equal(rgb, np.rint(ref["bgr_float_img0"][..., ::-1] * 255).astype(np.uint8)) or \
        np.abs(rgb.astype(int) - (ref["bgr_float_img0"][..., ::-1] * 255).round()).max() <= 1


# ------------------------------------------------------------------------------------------------- layer by layer
def test_position_embedding():
    _close(sine_position_embedding(32, 32), reference()["pe_level0_img0"], 1e-5, "pe_level0")


def test_encoder_features(img0_512):
    ref = reference()
    features = [f[0] for f in img0_512["encoder"]]
    for i, feature in enumerate(features):
        mean, std = _stats(feature)
        _close(mean, ref[f"enc_norm{i}_chanmean"][0], 1e-4, f"enc_norm{i} mean")
        _close(std, ref[f"enc_norm{i}_chanstd"][0], 1e-4, f"enc_norm{i} std")
        if i < 3:
            _close(_corners(feature), ref[f"enc_norm{i}_img0_corners"], 1e-4, f"enc_norm{i} corners")
    _close(features[3], ref["enc_norm3_img0"], 1e-4, "enc_norm3")


def test_pixel_decoder_outputs(img0_512):
    ref = reference()
    for i in range(4):
        out = img0_512[f"out{i}"][0]
        mean, std = _stats(out)
        _close(mean, ref[f"dec_out{i}_chanmean"][0], 1e-4, f"out{i} mean")
        _close(std, ref[f"dec_out{i}_chanstd"][0], 1e-4, f"out{i} std")
        _close(_corners(out), ref[f"dec_out{i}_img0_corners"], 5e-4 if i < 3 else 1e-4, f"out{i} corners")


def test_colour_decoder_queries_layer_by_layer(img0_512):
    ref = reference()
    for i in range(9):
        _close(img0_512[f"q_layer{i}"][0], ref["q_layers_img0"][i], 2e-4, f"queries after layer {i}")
    _close(img0_512["q_norm"][0], ref["q_norm"][0], 2e-4, "q_norm")
    _close(img0_512["color_embed"][0], ref["color_embed"][0], 5e-4, "color_embed")
    out_feat = img0_512["out_feat"][0]
    mean, std = _stats(out_feat)
    _close(mean, ref["out_feat_chanmean"][0], 1e-2, "out_feat mean")
    _close(std, ref["out_feat_chanstd"][0], 1e-2, "out_feat std")
    _close(_corners(out_feat, 16), ref["out_feat_img0_corners"], 1e-2, "out_feat corners")
    _close(out_feat[:, ::32, ::32], ref["out_feat_img0_sub32"], 1e-2, "out_feat sub32")


def test_ab_at_model_resolution(img0_512):
    _close(img0_512["ab"], reference()["ab_model_img0"], 2e-3, "ab_model_img0")


# ------------------------------------------------------------------------------------------------- end to end
def _method(input_size: int, batch_size: int) -> DDColor:
    method = DDColor(input_size=input_size, batch_size=batch_size)
    method.net, method.device = reference_net(), "cpu"
    return method


@pytest.mark.parametrize("photos", [pytest.param([0, 1], id="photos01"),
                                    pytest.param([0, 1, 2, 3], id="all", marks=pytest.mark.slow)])
def test_end_to_end_at_256_batched_equals_the_official_one_at_a_time_runs(photos):
    """Photos in one batch at input size 256; the fixture's ran one at a time through the official pipeline."""
    ref = reference()
    method = _method(256, len(photos))
    capture = Capture(method.net)
    rgb = method.colorize_bgr([ref["images_bgr_u8"][i] for i in photos])
    for i in photos:
        _rgb_levels(rgb[i], ref["s256_rgb_u8"][i], f"s256_rgb_u8[{i}]")
    _close(capture.out["q_norm"][0], ref["s256_q_norm_img0"], 2e-4, "s256_q_norm_img0")
    _, x = pipeline.network_inputs(list(ref["images_bgr_u8"][:1]), 256)
    ab = method.predict_ab(x)[0]
    _close(ab[:, ::2, ::2], ref["s256_ab_model_img0_sub2"], 2e-3, "s256_ab_model_img0_sub2")


@pytest.mark.slow
def test_end_to_end_at_512_all_photos():
    """~1 min on one CPU thread: four 512 forwards. Photo 0's stages are checked above; here every photo's."""
    ref = reference()
    method = _method(512, 2)
    capture = Capture(method.net)
    queries, embeds, abs_ = [], [], []
    method.net.decoder.color_decoder.decoder_norm.register_forward_hook(lambda _m, _i, o: queries.append(o))
    method.net.decoder.color_decoder.color_embed.register_forward_hook(lambda _m, _i, o: embeds.append(o))
    method.net.refine_net.register_forward_hook(lambda _m, _i, o: abs_.append(o))
    rgb = method.colorize_bgr(list(ref["images_bgr_u8"]))
    q_norm, color_embed, ab = (torch.cat(x).numpy() for x in (queries, embeds, abs_))
    for i in range(4):
        _close(q_norm[i], ref["q_norm"][i], 2e-4, f"q_norm[{i}]")
        _close(color_embed[i], ref["color_embed"][i], 5e-4, f"color_embed[{i}]")
        _close(pipeline.resize_ab(torch.from_numpy(ab[i]), 224, 224).transpose(2, 0, 1), ref["ab_out"][i], 2e-3,
               f"ab_out[{i}]")
        _rgb_levels(rgb[i], ref["rgb_u8"][i], f"rgb_u8[{i}]")
    assert capture.out  # hooks ran on the method's own network
