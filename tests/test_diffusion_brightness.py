"""controlnet-brightness on a tiny untrained pipeline saved with ``save_pretrained`` and loaded through the real
``from_pretrained`` path: the control image the ControlNet receives is the gray input (framed on the canvas,
replicated to RGB, in [0, 1]), the ``diffusion.`` option group reaches it (but never swaps its ControlNet), seeds and K
samples behave, the runner L-merges it, the hub id is the registered one, and smoke builds the tiny model."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from colorbench.config import RunConfig
from colorbench.methods.base import item_seed

pytestmark = pytest.mark.usefixtures("one_torch_thread")

STEPS, RES = 2, 64
NAME = "controlnet-brightness"


@pytest.fixture(scope="module")
def tiny_weights(tmp_path_factory):
    from colorbench.methods.diffusion.tiny import save_tiny_weights

    return save_tiny_weights(tmp_path_factory.mktemp("tiny-sd"))


@pytest.fixture(scope="module")
def method(tiny_weights):
    from colorbench.methods.registry import get_method

    base, controlnet = tiny_weights
    loaded = get_method(NAME, base_model=str(base), controlnet_model=str(controlnet), steps=STEPS, resolution=RES,
                        batch_size=4)
    with pytest.MonkeyPatch.context() as mp, pytest.warns(RuntimeWarning, match="CPU runs in float32"):
        mp.setenv("HF_HUB_OFFLINE", "1")
        loaded.load("cpu")
    return loaded


def _gradient(h, w, seed=0):
    """A gray image whose every pixel differs from its neighbours' (so a wrong framing or flip shows)."""
    yy, xx = np.mgrid[0:h, 0:w]
    rng = np.random.default_rng(seed)
    return np.clip(30 + 150 * xx / max(w - 1, 1) + 60 * yy / max(h - 1, 1) + rng.normal(0, 4, (h, w)),
                   0, 255).astype(np.uint8)


def _spy_on_controlnet(method, monkeypatch) -> list:
    seen = []
    original = method.pipe.controlnet.forward

    def spy(*args, **kwargs):
        seen.append(kwargs["controlnet_cond"].detach().clone())
        return original(*args, **kwargs)

    monkeypatch.setattr(method.pipe.controlnet, "forward", spy)
    return seen


# ------------------------------------------------------------------------------------------ the control image
def test_the_controlnet_sees_the_framed_gray_input_replicated_to_rgb(method, monkeypatch):
    from colorbench.methods.diffusion.framing import Framing

    grays = [_gradient(48, 80, 1), _gradient(64, 64, 2)]
    seen = _spy_on_controlnet(method, monkeypatch)
    raws = method.colorize(grays, seed=0, labels=["rowing", None])
    assert [r.shape for r in raws] == [(38, 64, 3), (64, 64, 3)]  # aspect kept at canvas scale, padding cropped
    assert len(seen) == STEPS
    # classifier-free guidance runs negative and positive prompts as one batch: each image's control image twice
    cond = seen[0].numpy()
    assert cond.shape == (2 * len(grays), 3, RES, RES)
    for i, gray in enumerate(grays):
        canvas = Framing.fit(*gray.shape, canvas=RES).place(gray).astype(np.float32) / 255.0
        for row in (i, i + len(grays)):
            for channel in range(3):  # gray -> RGB: the same plane three times, in [0, 1] as ioclab trained it
                np.testing.assert_allclose(cond[row, channel], canvas, atol=1e-6)
    assert all(np.array_equal(s.numpy(), cond) for s in seen)  # the same control image at every step
    assert set(method.stage_seconds) == {"control", "generate"}


def test_the_control_image_follows_the_brightness_not_only_the_edges(method):
    """A photo and its negative have the same Canny edges, so the Canny ControlNet cannot tell them apart; the
    brightness ControlNet sees them apart, so (same seed, same prompt) the outputs differ."""
    from colorbench.methods.diffusion.edges import edge_map

    yy, xx = np.mgrid[0:64, 0:64]
    photo = np.where((yy - 32) ** 2 + (xx - 32) ** 2 < 18**2, 200, 60).astype(np.uint8)
    negative = 255 - photo
    assert np.array_equal(edge_map(photo, RES), edge_map(negative, RES))
    out = method.colorize([photo, negative], seed=0, item_seeds=[9, 9], labels=["golf", "golf"])
    assert np.abs(out[0].astype(int) - out[1].astype(int)).mean() > 0.5


def test_the_notebook_shows_exactly_the_control_image_the_method_uses(method):
    from colorbench.methods.diffusion import control_images
    from colorbench.methods.diffusion.framing import Framing

    gray = _gradient(30, 50)
    [shown] = control_images(method, [gray])
    assert np.array_equal(shown, Framing.fit(30, 50, canvas=RES).place(gray))


# ------------------------------------------------------------------------------------------ seeds, K samples
def test_seeds_k_samples_and_batches(method):
    gray = _gradient(64, 64)
    first, again, other = (method.colorize([gray], seed=0, item_seeds=[s])[0] for s in (11, 11, 12))
    assert np.array_equal(first, again)
    assert np.abs(first.astype(int) - other.astype(int)).mean() > 1.0
    k0, k1 = method.colorize([gray, gray], seed=3, item_seeds=[item_seed(3, "x", 0), item_seed(3, "x", 1)])
    assert np.abs(k0.astype(int) - k1.astype(int)).mean() > 1.0
    in_batch = method.colorize([_gradient(48, 80, 5), gray], seed=3, item_seeds=[7, item_seed(3, "x", 1)])[1]
    assert np.abs(in_batch.astype(int) - k1.astype(int)).max() <= 1  # batched kernels' float order at most


def test_a_run_writes_k_l_merged_samples_per_image(tiny_weights, tmp_path):
    from colorbench.color import rgb_to_lab
    from colorbench.run import run

    photos = tmp_path / "photos"
    photos.mkdir()
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (40, 60, 3), dtype=np.uint8)).save(photos / "wide.png")
    base, controlnet = tiny_weights
    cfg = RunConfig(run="k", dataset=str(photos), split=None, methods=[NAME], device="cpu", samples_per_image=2,
                    results_dir=str(tmp_path / "results"),
                    method_options={"diffusion": {"base_model": str(base), "steps": 1, "resolution": RES},
                                    NAME: {"controlnet_model": str(controlnet)}})
    with pytest.warns(RuntimeWarning, match="CPU"):
        summary = run(cfg, progress=False)
    assert summary.methods[0].status == "done" and summary.methods[0].written == 2
    gray = np.asarray(Image.open(summary.path / "inputs" / "gray" / "wide.png"))
    k0, k1 = (np.asarray(Image.open(summary.path / "images" / NAME / name)) for name in ("wide.png", "wide__k1.png"))
    assert k0.shape == k1.shape == (40, 60, 3) and not np.array_equal(k0, k1)
    raw = np.asarray(Image.open(summary.path / "raw" / NAME / "wide.png"))
    assert raw.shape == (43, 64, 3)  # native: the canvas-scale output, padding cropped
    gray_L = rgb_to_lab(np.repeat(gray[..., None], 3, axis=2))[..., 0]
    for merged in (k0, k1):  # the input's lightness kept (up to rounding and the odd out-of-gamut pixel)
        assert np.median(np.abs(rgb_to_lab(merged)[..., 0] - gray_L)) < 0.3


# ------------------------------------------------------------------------------------------ options
def test_the_diffusion_group_reaches_it_but_never_swaps_its_controlnet():
    from colorbench.methods.registry import OPTION_GROUPS, check_method_options
    from colorbench.run import options_for

    assert NAME in OPTION_GROUPS["diffusion"]
    cfg = RunConfig(method_options={"diffusion": {"base_model": "/sd", "steps": 3, "controlnet_model": "/canny",
                                                  "canny_low": 50, "preset": "original"}})
    check_method_options(cfg.method_options)
    assert options_for(NAME, cfg) == {"base_model": "/sd", "steps": 3, "preset": "original"}
    assert options_for("controlnet-canny", cfg)["controlnet_model"] == "/canny"  # the Canny methods still take it
    own = RunConfig(method_options={"diffusion": {"controlnet_model": "/canny"}, NAME: {"controlnet_model": "/b"}})
    assert options_for(NAME, own) == {"controlnet_model": "/b"}
    with pytest.raises(ValueError, match="no option 'canny_low'"):
        check_method_options({NAME: {"canny_low": 10}})


def test_a_missing_controlnet_names_the_methods_own_option(tmp_path):
    from conftest import skip_without

    from colorbench.run import run

    skip_without("diffusion")  # without it the method is skipped for the missing extra, not the missing ControlNet

    photos = tmp_path / "photos"
    photos.mkdir()
    Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(photos / "a.png")
    cfg = RunConfig(run="missing", dataset=str(photos), split=None, device="cpu", methods=[NAME],
                    results_dir=str(tmp_path / "results"),
                    method_options={NAME: {"controlnet_model": "someone/not-cached-brightness"}})
    [outcome] = run(cfg, progress=False).methods
    assert outcome.status == "skipped" and "someone/not-cached-brightness" in outcome.reason
    assert f"--option {NAME}.controlnet_model=PATH" in outcome.reason
    assert "diffusion.controlnet_model" not in outcome.reason  # the group cannot set it: not offered as a fix


def test_defaults_and_the_registered_weights():
    from colorbench import weights
    from colorbench.methods.diffusion.brightness import DEFAULT_BRIGHTNESS_MODEL
    from colorbench.methods.registry import get_method

    spec = weights.get_spec("controlnet-brightness-sd15")
    assert spec.hf_repo == DEFAULT_BRIGHTNESS_MODEL == "ioclab/control_v1p_sd15_brightness"
    assert spec.licence == "CreativeML Open RAIL-M" and NAME in spec.used_by
    assert NAME in weights.get_spec("sd15").used_by
    method = get_method(NAME)
    assert method.weights() == ["sd15", "controlnet-brightness-sd15"]
    assert method.family == "diffusion" and method.stochastic and method.heavy_on_cpu
    assert (method.controlnet_scale, method.guidance_scale, method.steps, method.preset) == (0.9, 7.5, 20, "label")
    assert method.control_guidance_end == 1.0
    assert get_method(NAME, smoke=True).weights() == []


def test_the_hub_id_loads_the_same_weights_as_the_folder(method, tiny_weights, tmp_path, monkeypatch):
    import huggingface_hub.constants
    from test_diffusion_parts import _fake_hf_cache

    from colorbench.methods.diffusion.brightness import DEFAULT_BRIGHTNESS_MODEL
    from colorbench.methods.diffusion.loading import DEFAULT_BASE_MODEL
    from colorbench.methods.registry import get_method

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    _fake_hf_cache(tmp_path, DEFAULT_BASE_MODEL, tiny_weights[0])
    _fake_hf_cache(tmp_path, DEFAULT_BRIGHTNESS_MODEL, tiny_weights[1])
    from_hub = get_method(NAME, steps=STEPS, resolution=RES)  # the default ids
    assert from_hub.not_ready() is None  # both registered artefacts found in the (fake) Hugging Face cache
    with pytest.warns(RuntimeWarning, match="CPU"):
        from_hub.load("cpu")
    gray = _gradient(64, 64)
    assert np.array_equal(from_hub.colorize([gray], seed=0, item_seeds=[4])[0],
                          method.colorize([gray], seed=0, item_seeds=[4])[0])


def test_config_records_the_brightness_controlnet(method):
    cfg = method.config()
    assert cfg["controlnet_scale"] == 0.9 and cfg["pipeline"] == "txt2img" and "canny_low" not in cfg
    assert cfg["prompt_template"] == "a color photograph of {label}, natural colors, high quality"


def test_smoke_builds_the_tiny_model_and_says_so():
    from colorbench.methods.registry import get_method

    smoke = get_method(NAME, smoke=True, steps=STEPS)
    smoke.load("cpu")
    assert smoke.config()["smoke"] is True and "smoke: untrained, numbers meaningless" in smoke.description
    assert smoke.colorize([_gradient(30, 40)], seed=0)[0].shape == (48, 64, 3)
