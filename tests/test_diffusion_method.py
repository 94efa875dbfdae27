"""controlnet-canny / controlnet-canny-img2img on a tiny untrained pipeline, loaded like real weights.

The tiny model is saved with ``save_pretrained`` and loaded back through the same code the hub ids use
(``load_pipeline`` -> ``resolve_weights`` -> ``from_pretrained``). Its colours are meaningless; what is tested is the
plumbing: sizes, seeds, batching, prompts, L-merge, errors.
"""

from __future__ import annotations

import numpy as np
import pytest

from colorbench.color import lab_to_rgb_torch, merge_luminance, rgb_to_lab
from colorbench.methods.base import item_seed

STEPS = 2
RES = 64


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def tiny_weights(tmp_path_factory):
    from colorbench.methods.diffusion.tiny import save_tiny_weights

    return save_tiny_weights(tmp_path_factory.mktemp("tiny-sd"))


def _loaded(name, tiny_weights, **options):
    from colorbench.methods.registry import get_method

    base, controlnet = tiny_weights
    method = get_method(name, base_model=str(base), controlnet_model=str(controlnet), steps=STEPS, resolution=RES,
                        **options)
    with pytest.MonkeyPatch.context() as mp, pytest.warns(RuntimeWarning, match="CPU runs in float32"):
        mp.setenv("HF_HUB_OFFLINE", "1")
        method.load("cpu")
    return method


@pytest.fixture(scope="module")
def method(tiny_weights):
    return _loaded("controlnet-canny", tiny_weights, preset="label", batch_size=4)


@pytest.fixture(scope="module")
def img2img(tiny_weights):
    return _loaded("controlnet-canny-img2img", tiny_weights, strength=0.75)


def _photo(h, w, seed=0):
    """A gray image with structure (a bright disc on a gradient) so Canny finds edges."""
    yy, xx = np.mgrid[0:h, 0:w]
    img = 40 + 120 * xx / max(w - 1, 1) + 90 * (((yy - h / 2) ** 2 + (xx - w / 2) ** 2) < (min(h, w) / 3) ** 2)
    rng = np.random.default_rng(seed)
    return np.clip(img + rng.normal(0, 3, (h, w)), 0, 255).astype(np.uint8)


def test_native_outputs_keep_the_inputs_aspect_at_canvas_scale(method):
    grays = [_photo(64, 64), _photo(48, 80), _photo(100, 30), _photo(224, 224)]
    raws = method.colorize(grays, seed=0)
    assert [r.shape for r in raws] == [(64, 64, 3), (38, 64, 3), (64, 19, 3), (64, 64, 3)]
    assert all(r.dtype == np.uint8 for r in raws)
    assert set(method.stage_seconds) == {"edges", "generate"}


def test_same_seed_same_image_other_seed_other_image(method):
    gray = _photo(64, 64)
    first, again, other = (method.colorize([gray], seed=0, item_seeds=[s])[0] for s in (11, 11, 12))
    assert np.array_equal(first, again)
    assert np.abs(first.astype(int) - other.astype(int)).mean() > 1.0


def test_an_images_output_does_not_depend_on_its_batch(method):
    a, b, c = _photo(64, 64, 1), _photo(48, 80, 2), _photo(64, 64, 3)
    seeds = [item_seed(7, sid) for sid in ("a", "b", "c")]
    in_batch = method.colorize([a, b, c], seed=7, item_seeds=seeds, labels=["golf", "polo", None])
    alone = method.colorize([b], seed=7, item_seeds=seeds[1:2], labels=["polo"])[0]
    assert in_batch[1].shape == alone.shape
    # identical up to float summation order in batched kernels (at most one uint8 level)
    assert np.abs(in_batch[1].astype(int) - alone.astype(int)).max() <= 1


def test_k_samples_from_the_runners_item_seeds_differ(method):
    gray = _photo(64, 64)
    k0, k1 = method.colorize([gray, gray], seed=3, item_seeds=[item_seed(3, "x", 0), item_seed(3, "x", 1)])
    assert np.abs(k0.astype(int) - k1.astype(int)).mean() > 1.0


def test_without_item_seeds_the_run_seed_decides(method):
    gray = _photo(64, 64)
    assert np.array_equal(method.colorize([gray], seed=5)[0], method.colorize([gray], seed=5)[0])
    assert not np.array_equal(method.colorize([gray], seed=5)[0], method.colorize([gray], seed=6)[0])


def test_the_label_aware_prompt_reaches_the_text_encoder(method, monkeypatch):
    tokenizer_class = type(method.pipe.tokenizer)
    seen: list[str] = []
    original_call = tokenizer_class.__call__

    def spy(self, text=None, *args, **kwargs):
        seen.extend([text] if isinstance(text, str) else list(text))
        return original_call(self, text, *args, **kwargs)

    monkeypatch.setattr(tokenizer_class, "__call__", spy)
    gray = _photo(64, 64)
    out = method.colorize([gray, gray], seed=0, item_seeds=[5, 5], labels=["basketball", "rowing"])
    assert "a color photograph of basketball, natural colors, high quality" in seen
    assert "a color photograph of rowing, natural colors, high quality" in seen
    assert "black and white, cartoon, low quality, grayscale, monochrome" in seen
    # same image, same seed: the outputs differ only because the label changed the prompt embedding
    assert np.abs(out[0].astype(int) - out[1].astype(int)).mean() > 0.5


def test_l_merge_keeps_the_inputs_lightness(method):
    from colorbench.methods.diffusion import raw_vs_merged

    gray = _photo(90, 120)
    raw = method.colorize([gray], seed=1)[0]
    resized, merged = raw_vs_merged(gray, raw)
    assert resized.shape == merged.shape == (90, 120, 3)
    assert np.array_equal(merged, merge_luminance(gray, raw))
    lab_merged, lab_gray = rgb_to_lab(merged), rgb_to_lab(np.repeat(gray[..., None], 3, axis=2))
    # where the merged colour lies in the sRGB gamut (no clipping), L is the input's up to uint8 rounding
    import torch

    target = np.concatenate([lab_gray[..., :1], lab_merged[..., 1:]], axis=-1)
    unclipped = lab_to_rgb_torch(torch.from_numpy(target).permute(2, 0, 1)[None],
                                 clip=False)[0].permute(1, 2, 0).numpy()
    in_gamut = ((unclipped >= 0) & (unclipped <= 1)).all(axis=-1)
    assert in_gamut.mean() > 0.5
    dL = np.abs(lab_merged[..., 0] - lab_gray[..., 0])[in_gamut]
    assert dL.max() < 0.75 and dL.mean() < 0.3
    # ... while the raw output's own lightness is free (the model does not preserve it)
    raw_L = rgb_to_lab(resized)[..., 0]
    assert np.abs(raw_L - lab_gray[..., 0]).mean() > 2.0


def test_real_photos_keep_their_lightness_after_the_merge(method, real_images):
    from colorbench.color import to_gray

    grays = [to_gray(rgb) for rgb in real_images[:2]]
    raws = method.colorize(grays, seed=0, labels=["sports", "sports"])
    assert [r.shape for r in raws] == [(RES, RES, 3)] * 2  # the Kaggle photos are square 224²
    for gray, raw in zip(grays, raws):
        merged = merge_luminance(gray, raw)
        assert merged.shape == (*gray.shape, 3)
        dL = np.abs(rgb_to_lab(merged)[..., 0] - rgb_to_lab(np.repeat(gray[..., None], 3, axis=2))[..., 0])
        assert np.median(dL) < 0.3  # out-of-gamut clipping may move a few pixels; the bulk keeps L


def test_txt2img_follows_edges_not_brightness_while_img2img_starts_from_the_photo(method, img2img, monkeypatch):
    dark, light = np.full((64, 64), 50, np.uint8), np.full((64, 64), 200, np.uint8)  # no edges in either
    txt = method.colorize([dark, light], seed=0, item_seeds=[9, 9], labels=["golf", "golf"])
    assert np.abs(txt[0].astype(int) - txt[1].astype(int)).max() <= 1  # batch-position float noise at most

    encoded = []
    vae = img2img.pipe.vae
    original_encode = type(vae).encode
    monkeypatch.setattr(vae, "encode", lambda x, *a, **k: (encoded.append(x.detach().clone()),
                                                           original_encode(vae, x, *a, **k))[1])
    i2i = img2img.colorize([dark, light], seed=0, item_seeds=[9, 9], labels=["golf", "golf"])
    assert [r.shape for r in i2i] == [(64, 64, 3), (64, 64, 3)]
    # the denoising starts from the gray photos themselves (VAE-encoded, in [-1, 1])
    started_from = np.concatenate([e.numpy() for e in encoded])
    assert started_from.shape == (2, 3, 64, 64)
    assert (np.allclose(started_from[0], 50 / 127.5 - 1, atol=1e-3)
            and np.allclose(started_from[1], 200 / 127.5 - 1, atol=1e-3))
    assert np.abs(i2i[0].astype(int) - i2i[1].astype(int)).mean() > 0.5
    alone = img2img.colorize([dark], seed=0, item_seeds=[9])[0]
    assert np.abs(i2i[0].astype(int) - alone.astype(int)).max() <= 1  # per-image seeds hold for img2img too


def test_img2img_keeps_aspect_and_validates_strength(img2img):
    from colorbench.methods.registry import get_method

    assert img2img.colorize([_photo(48, 80)], seed=0)[0].shape == (38, 64, 3)
    assert img2img.config()["strength"] == 0.75 and img2img.config()["pipeline"] == "img2img"
    with pytest.raises(ValueError, match="strength"):
        get_method("controlnet-canny-img2img", strength=0.0)
    with pytest.raises(ValueError, match="no denoising step"):
        get_method("controlnet-canny-img2img", steps=2, strength=0.3)


def test_hub_ids_load_the_same_weights_as_the_folder(method, tiny_weights, tmp_path, monkeypatch):
    import huggingface_hub.constants
    from test_diffusion_parts import _fake_hf_cache

    from colorbench.methods.diffusion.loading import DEFAULT_BASE_MODEL, DEFAULT_CONTROLNET_MODEL
    from colorbench.methods.registry import get_method

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path))
    _fake_hf_cache(tmp_path, DEFAULT_BASE_MODEL, tiny_weights[0])
    _fake_hf_cache(tmp_path, DEFAULT_CONTROLNET_MODEL, tiny_weights[1])
    from_hub = get_method("controlnet-canny", preset="label", steps=STEPS, resolution=RES)  # default ids
    with pytest.warns(RuntimeWarning, match="CPU"):
        from_hub.load("cpu")
    gray = _photo(64, 64)
    assert np.array_equal(from_hub.colorize([gray], seed=0, item_seeds=[4])[0],
                          method.colorize([gray], seed=0, item_seeds=[4])[0])


def test_out_of_gpu_memory_names_the_fixes(method, monkeypatch):
    import torch

    from colorbench.methods.diffusion.loading import DiffusionOutOfMemory

    def exhausted(**kwargs):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(method, "pipe", exhausted)
    with pytest.raises(DiffusionOutOfMemory) as info:
        method.colorize([_photo(64, 64)], seed=0)
    for needle in ("batch_size", "cpu_offload=True", "Tried to allocate"):
        assert needle in str(info.value)


def test_config_records_what_was_run(method, monkeypatch):
    """run.json's record must describe the pipeline that really ran: checked against the loaded pipeline and a
    spy on the UNet, not against the constructor arguments."""
    cfg = method.config()
    assert cfg["prompt_template"] == "a color photograph of {label}, natural colors, high quality"
    assert cfg["scheduler"] == "unipc" and type(method.pipe.scheduler).__name__ == "UniPCMultistepScheduler"
    assert cfg["torch_dtype"] == "float32" and method.pipe.unet.dtype == __import__("torch").float32
    assert cfg["smoke"] is False and cfg["attention"] == "sdpa"
    unet_calls, controlnet_inputs = [], []
    original_unet, original_controlnet = method.pipe.unet.forward, method.pipe.controlnet.forward
    monkeypatch.setattr(method.pipe.unet, "forward", lambda *a, **k: (unet_calls.append(1), original_unet(*a, **k))[1])

    def controlnet_spy(*args, **kwargs):
        controlnet_inputs.append(kwargs["controlnet_cond"].shape[-1])
        return original_controlnet(*args, **kwargs)

    monkeypatch.setattr(method.pipe.controlnet, "forward", controlnet_spy)
    method.colorize([_photo(64, 64)], seed=0)
    assert len(unet_calls) == cfg["steps"]  # one denoising step per recorded step (guidance batched in one call)
    assert set(controlnet_inputs) == {cfg["resolution"]}  # the edges really went in at the recorded canvas size


def test_smoke_builds_the_tiny_model_and_says_so():
    from colorbench.methods.registry import get_method

    smoke = get_method("controlnet-canny", smoke=True, steps=STEPS)
    smoke.load("cpu")
    assert smoke.config()["smoke"] is True and "smoke: untrained, numbers meaningless" in smoke.description
    assert smoke.colorize([_photo(30, 40)], seed=0)[0].shape == (48, 64, 3)


def test_notebook_preset_grid_reuses_one_pipeline(method):
    from colorbench.methods.diffusion import colorize_presets, colorize_with_preset

    gray = _photo(64, 64)
    grid = colorize_presets([gray], labels=["archery"], presets=("original", "label"), item_seeds=[2], method=method)
    assert sorted(grid) == ["label", "original"] and grid["label"][0].shape == (64, 64, 3)
    assert not np.array_equal(grid["label"][0], grid["original"][0])  # only the prompt differs
    assert method.preset == "label"  # the method's own settings are restored
    single = colorize_with_preset([gray], "original", labels=["archery"], item_seeds=[2], method=method)
    assert np.array_equal(single[0], grid["original"][0])
