"""The ``eccv16`` / ``siggraph17`` methods: the authors' pipeline, L preservation, batching, weights handling."""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pytest
import torch
from PIL import Image
from torch.nn import functional as F

from colorbench import weights
from colorbench.color import gray_to_rgb, lab_to_rgb_torch, merge_luminance, rgb_to_lab, to_gray
from colorbench.methods.registry import get_method, method_names
from colorbench.methods.zhang import decoding, release
from colorbench.methods.zhang.eccv16 import ECCV16Net
from colorbench.methods.zhang.method import (
    ECCV16Method,
    ECCV16Options,
    SIGGRAPH17Method,
    colorize_with_temperatures,
    join_full_resolution,
    lightness,
    network_input,
)
from colorbench.methods.zhang.siggraph17 import SIGGRAPH17Net

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _grays(seed=0):
    rng = np.random.default_rng(seed)
    # smooth images (a random field upsampled) at awkward sizes, one already 256 x 256
    sizes = [(120, 200), (256, 256), (97, 61)]
    out = []
    for h, w in sizes:
        field = rng.random((8, 8)) * 255
        out.append(np.asarray(Image.fromarray(field.astype(np.uint8)).resize((w, h), Image.BICUBIC)))
    return out


@pytest.fixture(scope="module")
def eccv16_smoke():
    method = get_method("eccv16", smoke=True)
    method.load("cpu")
    return method


@pytest.fixture(scope="module")
def siggraph17_smoke():
    method = get_method("siggraph17", smoke=True)
    method.load("cpu")
    return method


def test_registered():
    assert {"eccv16", "siggraph17"} <= set(method_names())
    assert isinstance(get_method("eccv16"), ECCV16Method) and isinstance(get_method("siggraph17"), SIGGRAPH17Method)


@pytest.mark.parametrize("name, weights_file", [("eccv16", "colorization_release_v2-9b330a0b.pth"),
                                                ("siggraph17", "siggraph17-df00044c.pth")])
def test_without_weights_load_fails_clearly_and_never_falls_back(name, weights_file):
    method = get_method(name)
    assert method.weights() == [name]
    with pytest.raises(weights.WeightsUnavailable) as info:
        method.load("cpu")
    assert weights_file in str(info.value) and "TORCH_HOME" in str(info.value)
    assert method.net is None


def test_smoke_is_labelled(eccv16_smoke, siggraph17_smoke):
    for m in (eccv16_smoke, siggraph17_smoke):
        assert m.config()["smoke"] is True and "smoke: untrained, numbers meaningless" in m.description
        assert m.weights() == []


def test_options_are_validated():
    with pytest.raises(ValueError, match="decode"):
        ECCV16Method(decode="regression")
    with pytest.raises(ValueError, match="decode"):
        SIGGRAPH17Method(decode="mean")
    with pytest.raises(ValueError, match="temperature"):
        ECCV16Method(temperature=-1)
    with pytest.raises(RuntimeError, match="load"):
        ECCV16Method(smoke=True).colorize(_grays()[:1], seed=0)


def test_outputs_at_input_size_and_deterministic(eccv16_smoke, siggraph17_smoke):
    grays = _grays()
    for m in (eccv16_smoke, siggraph17_smoke):
        out = m.colorize(grays, seed=0)
        assert [o.shape for o in out] == [g.shape + (3,) for g in grays]
        assert all(o.dtype == np.uint8 for o in out)
        again = type(m)(smoke=True)
        again.load("cpu")
        assert all(np.array_equal(a, b) for a, b in zip(out, again.colorize(grays, seed=123)))
        assert set(m.stage_seconds) == {"preprocess", "network", "postprocess"}


def test_batching_does_not_change_results(eccv16_smoke):
    grays = _grays(1)
    together = eccv16_smoke.colorize(grays, seed=0)
    one_by_one = [eccv16_smoke.colorize([g], seed=0)[0] for g in grays]
    assert all(np.array_equal(a, b) for a, b in zip(together, one_by_one))


def _authors_pipeline(gray, port, size=256):
    """colorizers/util.py written out with skimage, as the authors run it: RGB bicubic resize to 256, rgb2lab,
    network, F.interpolate(bilinear) back to full size, concatenate with full-res L, lab2rgb."""
    from skimage import color as skcolor

    rgb = gray_to_rgb(gray)
    rgb_small = np.asarray(Image.fromarray(rgb).resize((size, size), resample=3))
    l_small = torch.tensor(skcolor.rgb2lab(rgb_small)[:, :, 0], dtype=torch.float32)[None, None]
    l_full = torch.tensor(skcolor.rgb2lab(rgb)[:, :, 0], dtype=torch.float32)[None, None]
    with torch.no_grad():
        ab = port(l_small)
    ab = F.interpolate(ab, size=gray.shape, mode="bilinear")
    lab = torch.cat((l_full, ab), dim=1)[0].numpy().transpose(1, 2, 0)
    return np.rint(skcolor.lab2rgb(lab) * 255).astype(np.uint8)


@pytest.mark.parametrize("fixture_name, options", [("eccv16_smoke", {"decode": "mean"}), ("siggraph17_smoke", {})])
def test_reproduces_the_authors_pipeline(request, fixture_name, options):
    method = request.getfixturevalue(fixture_name)
    port = type(method)(smoke=True, **options)
    port.load("cpu")
    for gray in _grays(2):
        ours = port.colorize([gray], seed=0)[0]
        theirs = _authors_pipeline(gray, port.net)
        assert np.abs(ours.astype(int) - theirs).max() <= 1


def test_gpu_and_cpu_colour_conversions_give_the_same_image():
    gray = np.random.default_rng(4).integers(0, 256, (90, 70), dtype=np.uint8)
    ab = torch.randn(2, 64, 64, generator=torch.Generator().manual_seed(4)) * 40  # many pixels out of gamut too
    numpy_out = join_full_resolution(gray, ab, backend="numpy")
    torch_out = join_full_resolution(gray, ab, backend="torch")
    assert numpy_out.shape == (90, 70, 3) and numpy_out.dtype == torch_out.dtype == np.uint8
    differ = numpy_out != torch_out
    assert differ.mean() < 1e-3 and np.abs(numpy_out.astype(int) - torch_out).max() <= 1  # rounding ties only


def test_lightness_table_is_the_lab_conversion():
    gray = np.random.default_rng(5).integers(0, 256, (40, 30), dtype=np.uint8)
    assert np.array_equal(lightness(gray), rgb_to_lab(gray_to_rgb(gray))[..., 0])


def _in_gamut(gray, rgb):
    """Pixels whose (input L, output ab) colour is inside sRGB, i.e. where no clipping can move L."""
    lab = np.concatenate([lightness(gray)[..., None], rgb_to_lab(rgb)[..., 1:]], axis=-1)
    raw = lab_to_rgb_torch(torch.from_numpy(lab).permute(2, 0, 1), clip=False).permute(1, 2, 0).numpy()
    return ((raw >= 0) & (raw <= 1)).all(axis=-1)


@pytest.mark.parametrize("fixture_name", ["eccv16_smoke", "siggraph17_smoke"])
def test_input_lightness_is_preserved_and_the_runners_merge_is_a_no_op(request, fixture_name, real_images):
    method = request.getfixturevalue(fixture_name)
    grays = [to_gray(rgb) for rgb in real_images[:3]]
    for gray, out in zip(grays, method.colorize(grays, seed=0)):
        merged = merge_luminance(gray, out)
        inside = _in_gamut(gray, merged)
        assert inside.mean() > 0.3  # enough pixels to make the check mean something, even for a random model
        # L is the input's, to uint8 rounding (one RGB level moves L by well under 1)
        assert np.abs(rgb_to_lab(merged)[..., 0] - lightness(gray))[inside].max() < 1.0
        assert np.abs(rgb_to_lab(out)[..., 0] - lightness(gray))[inside].max() < 1.0
        # our native output already is the merge: the runner changes it by rounding only
        # (ab re-read from uint8 RGB is quantised, most in dark pixels: a level or two, rarely)
        diff = np.abs(merged.astype(int) - out)[inside]
        assert diff.max() <= 2 and diff.mean() < 0.06  # 0.051 for the siggraph17 smoke model


def test_temperatures_one_network_pass_and_t1_is_the_ports_mean(eccv16_smoke):
    grays = _grays(3)[:2]
    outs = eccv16_smoke.colorize_temperatures(grays, [1.0, 0.38, 0.0])
    assert [sorted(o) for o in outs] == [[0.0, 0.38, 1.0]] * 2
    port = ECCV16Method(decode="mean", smoke=True)
    port.load("cpu")
    for o, p in zip(outs, port.colorize(grays, seed=0)):
        assert np.abs(o[1.0].astype(int) - p).max() <= 1
        assert not np.array_equal(o[1.0], o[0.0])
    assert np.array_equal(outs[0][0.38], eccv16_smoke.colorize(grays, seed=0)[0])


def test_mean_decode_refuses_temperature_sweeps():
    with pytest.raises(ValueError, match="annealed"):
        ECCV16Method(decode="mean", smoke=True).colorize_temperatures(_grays()[:1], [1.0])


def test_notebook_helper_and_class_probabilities(eccv16_smoke):
    gray = _grays()[0]
    outs = colorize_with_temperatures([gray], (1.0, 0.1), smoke=True)
    assert outs[0][0.1].shape == gray.shape + (3,)
    centres, probs = eccv16_smoke.class_probabilities(gray, temperature=0.38)
    assert centres.shape == (313, 2) and probs.shape == (313, 64, 64)
    np.testing.assert_allclose(probs.sum(axis=0), 1.0, atol=1e-4)
    sharp = colorize_with_temperatures([gray], (0.38,), model="siggraph17", smoke=True)[0][0.38]
    assert sharp.shape == gray.shape + (3,)


def test_notebook_helper_runs_the_named_model_on_the_released_weights_by_default():
    """colorize_with_temperatures: ECCV16 unless told otherwise, the released weights unless smoke=True (a smoke
    network must never be shown silently), and the same outputs as the method itself."""
    gray = _grays()[2]
    with pytest.raises(weights.WeightsUnavailable, match="colorization_release_v2"):
        colorize_with_temperatures([gray], (1.0,))
    with pytest.raises(weights.WeightsUnavailable, match="siggraph17-df00044c"):
        colorize_with_temperatures([gray], (1.0,), model="siggraph17")
    for model, method_class in (("eccv16", ECCV16Method), ("siggraph17", SIGGRAPH17Method)):
        outs = colorize_with_temperatures([gray], (0.38, 0.0), model=model, smoke=True)[0]
        method = method_class(decode="annealed", smoke=True)
        method.load("cpu")
        expected = method.colorize_temperatures([gray], (0.38, 0.0))[0]
        assert all(np.array_equal(outs[t], expected[t]) for t in (0.38, 0.0)), model


def test_config_records_what_runs():
    """run.json's config (shown in the report's protocol): the decoding, its temperature only where it is used, the
    processing size, the weights and where ECCV16's bins come from."""
    common = {"input_size": 256, "smoke": False}
    assert get_method("eccv16").config() == {"decode": "annealed", "temperature": 0.38, "weights": "eccv16",
                                             "bins": "from checkpoint model_out", **common}
    assert get_method("eccv16", decode="mean").config() == {"decode": "mean", "temperature": None, "weights": "eccv16",
                                                            "bins": "from checkpoint model_out", **common}
    assert get_method("siggraph17").config() == {"decode": "regression", "temperature": None,
                                                 "weights": "siggraph17", **common}
    assert get_method("siggraph17", decode="annealed", temperature=0.5, input_size=64).config() == {
        "decode": "annealed", "temperature": 0.5, "weights": "siggraph17", **common, "input_size": 64}
    assert get_method("eccv16", smoke=True).config() == {"decode": "annealed", "temperature": 0.38, "weights": None,
                                                         "bins": "stand-in (smoke)", "input_size": 256, "smoke": True}
    # an options object works like the keywords, and T = 0 (the mode) is a valid temperature
    given = ECCV16Method(ECCV16Options(decode="mean", temperature=0.0, input_size=64, smoke=True)).config()
    assert (given["decode"], given["input_size"], given["smoke"]) == ("mean", 64, True)
    assert get_method("eccv16", temperature=0.0).config()["temperature"] == 0.0


def test_input_size_option_is_the_processing_size():
    """input_size replaces the authors' 256 (e.g. for speed): the network sees the gray resized to it."""
    gray = _grays()[0]
    for name in ("eccv16", "siggraph17"):
        method = get_method(name, smoke=True, input_size=32)
        method.load("cpu")
        with torch.inference_mode():
            ab = method.predict_ab(network_input([gray], 32))[0][0]
        assert ab.shape == (2, 32, 32)
        assert np.array_equal(method.colorize([gray], seed=0)[0], join_full_resolution(gray, ab)), name


def test_stage_seconds_add_up_every_batch(monkeypatch):
    """timings.csv's preprocess / network / postprocess seconds: each stage's time summed over the batches (a fake
    clock that ticks one second per reading: three batches of one image give 3 s per stage)."""
    import colorbench.methods.zhang.method as zhang_method

    method = ECCV16Method(smoke=True, input_size=32, batch_size=1)
    method.load("cpu")
    ticks = iter(range(1000))
    monkeypatch.setattr(zhang_method.time, "perf_counter", lambda: float(next(ticks)))
    method.colorize(_grays()[:3], seed=0)
    assert method.stage_seconds == {"preprocess": 3.0, "network": 3.0, "postprocess": 3.0}


def test_class_probabilities_are_the_annealed_softmax_of_the_logits_colorize_sees():
    """The notebook's colour-distribution plot: softmax(logits / T) over the logits of the method's own input size,
    T = 1 by default, T = 0 the mode (no division by zero)."""
    method = ECCV16Method(smoke=True, input_size=32)
    method.load("cpu")
    gray = _grays()[0]
    with torch.inference_mode():
        logits = method.net.class_logits(network_input([gray], 32))[0]
    centres, plain = method.class_probabilities(gray)
    np.testing.assert_array_equal(centres, method.centres.numpy())
    np.testing.assert_allclose(plain, torch.softmax(logits, dim=0).numpy(), atol=1e-6)
    _, sharp = method.class_probabilities(gray, temperature=0.5)
    np.testing.assert_allclose(sharp, torch.softmax(logits / 0.5, dim=0).numpy(), atol=1e-6)
    _, mode = method.class_probabilities(gray, temperature=0.0)
    assert np.isfinite(mode).all() and np.array_equal(mode.argmax(axis=0), logits.argmax(dim=0).numpy())
    assert mode.max(axis=0).min() > 0.99


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device here")
@pytest.mark.parametrize("name", ["eccv16", "siggraph17"])
def test_cuda_matches_cpu(name):
    grays = _grays()
    cpu, gpu = get_method(name, smoke=True), get_method(name, smoke=True)
    cpu.load("cpu")
    gpu.load("cuda")
    for a, b in zip(cpu.colorize(grays, seed=0), gpu.colorize(grays, seed=0)):
        assert np.abs(a.astype(int) - b).max() <= 2


# ------------------------------------------------------------------------------------------- real-size release files
def _install_release(name, net, tmp_path, monkeypatch):
    """Save ``net`` in the released format into torch.hub's cache under a name with its own sha256 prefix."""
    staging = release.save_release_format(net, tmp_path / f"{name}.pth")
    prefix = weights.sha256_file(staging)[:8]
    stem = weights.get_spec(name).relpath.rsplit("-", 1)[0]
    monkeypatch.setitem(weights.REGISTRY, name, dataclasses.replace(weights.get_spec(name),
                                                                    relpath=f"{stem}-{prefix}.pth"))
    target = weights.local_path(name)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging.rename(target)


@pytest.mark.slow
def test_full_size_eccv16_release_loads_and_decodes(tmp_path, monkeypatch):
    torch.manual_seed(0)
    net = ECCV16Net()
    with torch.no_grad():
        net.model_out.weight.copy_(torch.from_numpy(decoding.centres_to_model_out(decoding.standin_eccv16_centres())))
    _install_release("eccv16", net, tmp_path, monkeypatch)
    gray = _grays()[2]
    annealed = get_method("eccv16", temperature=1.0, input_size=64)  # small input: this test is about the weights
    annealed.load("cpu")
    assert annealed.config()["smoke"] is False and annealed.config()["weights"] == "eccv16"
    np.testing.assert_allclose(annealed.centres.numpy(), decoding.standin_eccv16_centres(), atol=1e-4)
    mean = get_method("eccv16", decode="mean", input_size=64)
    mean.load("cpu")
    a, m = annealed.colorize([gray], seed=0)[0], mean.colorize([gray], seed=0)[0]
    assert a.shape == gray.shape + (3,)
    assert np.abs(a.astype(int) - m).max() <= 1
    assert np.abs(m.astype(int) - _authors_pipeline(gray, mean.net, size=64)).max() <= 1


@pytest.mark.slow
def test_eccv16_release_without_bin_table_refuses_annealing_but_keeps_the_port(tmp_path, monkeypatch):
    torch.manual_seed(1)
    _install_release("eccv16", ECCV16Net(), tmp_path, monkeypatch)  # model_out random: not centres / 110
    with pytest.raises(release.CheckpointMismatch, match="model_out"):
        get_method("eccv16").load("cpu")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        get_method("eccv16", decode="mean").load("cpu")
    assert any("model_out" in str(w.message) for w in caught)


@pytest.mark.slow
def test_full_size_siggraph17_release_loads_both_heads(tmp_path, monkeypatch):
    torch.manual_seed(2)
    net = SIGGRAPH17Net()
    _install_release("siggraph17", net, tmp_path, monkeypatch)
    gray = _grays()[2]
    for decode in ("regression", "annealed"):
        method = get_method("siggraph17", decode=decode, input_size=64)
        method.load("cpu")
        out = method.colorize([gray], seed=0)[0]
        assert out.shape == gray.shape + (3,)
        if decode == "regression":
            assert np.abs(out.astype(int) - _authors_pipeline(gray, net.eval(), size=64)).max() <= 1


@pytest.mark.parametrize("name", ["eccv16", "siggraph17"])
def test_colorizing_before_load_or_after_unload_says_to_call_load(name):
    """A clear message, not a TypeError from a placeholder network, before load() and after unload()."""
    method = get_method(name, smoke=True)
    gray = _grays()[0]
    for _ in range(2):
        with pytest.raises(RuntimeError, match=rf"{name}: call load\(device\) before colorize"):
            method.colorize([gray], seed=0)
        method.load("cpu")
        assert method.colorize([gray], seed=0)[0].shape == (*gray.shape, 3)
        method.unload()
