"""The ``ddcolor`` method's contract with the runner, on the smoke model (tiny, random weights, no files): output
shape and dtype at any input size, determinism, batches equal to one image at a time, the smoke label, options."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("cv2")
from colorbench.methods.base import SMOKE_LABEL  # noqa: E402
from colorbench.methods.options import OptionError, speed_only_names  # noqa: E402
from colorbench.methods.registry import get_method, method_class  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _grays(rng, sizes):
    return [rng.integers(0, 256, size, dtype=np.uint8) for size in sizes]


@pytest.fixture(scope="module")
def grays():
    rng = np.random.default_rng(3)
    images = _grays(rng, [(224, 224), (37, 61), (300, 180)])
    images[0][:112] = 30  # a flat dark half: not every pixel random
    return images


def _smoke(**options):
    method = get_method("ddcolor", smoke=True, input_size=256, **options)
    method.load("cpu")
    return method


def test_registered_as_a_deterministic_transformer_with_speed_only_batch_size():
    cls = method_class("ddcolor")
    assert cls.family == "transformer" and cls.stochastic is False
    assert speed_only_names(cls.Options) == {"batch_size"}
    defaults = cls.Options()
    assert (defaults.variant, defaults.input_size, defaults.precision, defaults.checkpoint) == (
        "modelscope", 512, "fp32", None)
    assert get_method("ddcolor", input_size="256").options.input_size == 256  # the command line's string
    with pytest.raises(OptionError, match="input_size"):
        get_method("ddcolor", input_size=384)
    with pytest.raises(OptionError, match="variant"):
        get_method("ddcolor", variant="large")


def test_smoke_outputs_uint8_rgb_at_each_inputs_size_and_is_labelled(grays):
    method = _smoke()
    outputs = method.colorize(grays, seed=0)
    assert [o.shape for o in outputs] == [(*g.shape, 3) for g in grays]
    assert all(o.dtype == np.uint8 for o in outputs)
    assert SMOKE_LABEL in method.description
    config = method.config()
    assert config["smoke"] is True and config["weights"].startswith("smoke") and config["input_size"] == 256
    assert set(method.stage_seconds) == {"preprocess", "network", "postprocess"}
    # colours, not gray: the random network's ab reaches the output (a gray output would mean ab was dropped)
    spread = max(int(np.ptp(o.astype(int), axis=2).max()) for o in outputs)
    assert spread > 0


def test_smoke_is_deterministic_and_ignores_the_seed(grays):
    first = _smoke().colorize(grays, seed=0)
    again = _smoke().colorize(grays, seed=123)  # a fresh model: same weights, and the seed is irrelevant
    assert all(np.array_equal(a, b) for a, b in zip(first, again))


def test_batches_equal_one_image_at_a_time(grays):
    batched = _smoke(batch_size=3).colorize(grays, seed=0)
    single = _smoke(batch_size=1).colorize(grays, seed=0)
    assert all(np.array_equal(a, b) for a, b in zip(batched, single))


def test_output_keeps_the_inputs_lightness_as_the_authors_merge_does(grays):
    """The authors join their ab to the photo's own L: the output's L equals the gray's L (up to 8-bit rounding)
    wherever the colour is inside sRGB."""
    from colorbench.color import gray_to_rgb, rgb_to_lab

    gray = grays[0]
    out = _smoke().colorize([gray], seed=0)[0]
    l_out = rgb_to_lab(out)[..., 0]
    l_in = rgb_to_lab(gray_to_rgb(gray))[..., 0]
    inside = (out > 3).all(axis=2) & (out < 252).all(axis=2)  # away from the clipped edges of the gamut
    assert inside.mean() > 0.5
    assert np.abs(l_out - l_in)[inside].max() < 1.5


def test_precision_falls_back_to_fp32_on_cpu_and_says_so(caplog):
    method = _smoke(precision="bf16")
    assert method.config()["precision"] == "fp32"
    assert "fp32" in caplog.text


def test_colorize_before_load_and_bad_inputs_are_errors(grays):
    method = get_method("ddcolor", smoke=True)
    with pytest.raises(RuntimeError, match="load"):
        method.colorize(grays[:1], seed=0)
    with pytest.raises(ValueError, match="uint8"):
        _smoke().colorize([grays[0].astype(np.float32)], seed=0)
