"""What a diffusers user expects of the two diffusion methods: corrupt files named and skipped, shared options,
no false misalignment warning for ``aspect=stretch``, and the pipeline options (scheduler, guess mode, ControlNet
guidance window, eta, clip skip, revision, variant) reaching the diffusers call. All on the tiny pipeline saved with
``save_pretrained`` and loaded through the real ``from_pretrained`` path."""

from __future__ import annotations

import logging
import shutil

import numpy as np
import pytest
from conftest import skip_without
from PIL import Image

from colorbench.config import RunConfig

pytestmark = pytest.mark.usefixtures("one_torch_thread")

STEPS, RES = 2, 64


@pytest.fixture(scope="module")
def tiny_weights(tmp_path_factory):
    from colorbench.methods.diffusion.tiny import save_tiny_weights

    return save_tiny_weights(tmp_path_factory.mktemp("tiny-sd"))


def _truncate(path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])  # a download cut short: the header promises more than is there


def _photo_dir(tmp_path, shape=(48, 80)):
    folder = tmp_path / "photos"
    folder.mkdir()
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (*shape, 3), dtype=np.uint8)).save(folder / "wide.png")
    return folder


def _load(tiny_weights, name="controlnet-canny", **options):
    from colorbench.methods.registry import get_method

    base, controlnet = tiny_weights
    method = get_method(name, base_model=str(base), controlnet_model=str(controlnet), steps=STEPS, resolution=RES,
                        **options)
    with pytest.warns(RuntimeWarning, match="CPU runs in float32"):
        method.load("cpu")
    return method


# ------------------------------------------------------------------------------------------ 13: corrupt files
@pytest.mark.parametrize("part", ["text_encoder/model.safetensors", "unet/diffusion_pytorch_model.safetensors",
                                  "tokenizer/tokenizer.json", "unet/config.json",
                                  "vae/diffusion_pytorch_model.safetensors", "controlnet"])
def test_a_corrupt_component_file_is_named(tiny_weights, tmp_path, part):
    from colorbench.methods.diffusion.loading import DiffusionWeightsError, load_pipeline
    from colorbench.weights import WeightsUnavailable

    base, controlnet = (tmp_path / "sd", tmp_path / "cn")
    shutil.copytree(tiny_weights[0], base)
    shutil.copytree(tiny_weights[1], controlnet)
    broken = controlnet / "diffusion_pytorch_model.safetensors" if part == "controlnet" else base / part
    _truncate(broken)
    with pytest.raises(DiffusionWeightsError) as info:
        load_pipeline("txt2img", base, controlnet, device="cpu", warn_cpu=False)
    assert isinstance(info.value, WeightsUnavailable)  # what the runner turns into a skip
    message = str(info.value)
    name = "diffusion_pytorch_model.safetensors" if part == "controlnet" else part
    assert (f"{name} is corrupt or truncated" in message
            and str(broken.parent.parent if "/" in part else controlnet) in message)


def test_a_corrupt_text_encoder_skips_the_method_and_the_run_goes_on(tiny_weights, tmp_path):
    from colorbench.run import run

    base = tmp_path / "sd"
    shutil.copytree(tiny_weights[0], base)
    _truncate(base / "text_encoder" / "model.safetensors")
    cfg = RunConfig(run="corrupt", dataset=str(_photo_dir(tmp_path)), split=None, methods=["gray", "controlnet-canny"],
                    device="cpu", results_dir=str(tmp_path / "results"),
                    method_options={"controlnet-canny": {"base_model": str(base),
                                                         "controlnet_model": str(tiny_weights[1]),
                                                         "steps": 1, "resolution": RES}})
    summary = run(cfg, progress=False)
    outcome = {m.name: m for m in summary.methods}
    assert outcome["gray"].status == "done"
    assert outcome["controlnet-canny"].status == "skipped"
    assert "text_encoder/model.safetensors is corrupt or truncated" in outcome["controlnet-canny"].reason


# ------------------------------------------------------------------------------------------ 14: shared options
def test_a_diffusion_option_reaches_both_methods_and_a_methods_own_option_wins():
    from colorbench.run import check_method_options, made_with, options_for

    cfg = RunConfig(method_options={"diffusion": {"base_model": "/sd", "steps": 3, "strength": 0.5},
                                    "controlnet-canny": {"steps": 5}})
    check_method_options(cfg.method_options)
    assert options_for("controlnet-canny", cfg) == {"base_model": "/sd", "steps": 5}  # takes no strength
    assert options_for("controlnet-canny-img2img", cfg) == {"base_model": "/sd", "steps": 3, "strength": 0.5}
    assert options_for("gray", cfg) == {}
    # resume compares what the method ran with, however it was spelled
    same = RunConfig(method_options={"controlnet-canny-img2img": {"base_model": "/sd", "steps": 3, "strength": 0.5}})
    assert made_with("controlnet-canny-img2img", cfg) == made_with("controlnet-canny-img2img", same)
    with pytest.raises(ValueError, match=r"diffusion\.stepz: no diffusion method"):
        check_method_options({"diffusion": {"stepz": 3}})


def test_the_shared_prefix_comes_from_the_cli_and_from_a_config_section(tmp_path):
    import argparse

    from colorbench.cli.run import add_run_arguments, config_from_args
    from colorbench.run import options_for

    parser = argparse.ArgumentParser()
    add_run_arguments(parser)
    cfg = config_from_args(parser.parse_args(["--option", "diffusion.base_model=/sd15",
                                              "--option", "controlnet-canny-img2img.base_model=/other"]))
    assert options_for("controlnet-canny", cfg)["base_model"] == "/sd15"
    assert options_for("controlnet-canny-img2img", cfg)["base_model"] == "/other"
    config = tmp_path / "run.yaml"
    config.write_text("method_options:\n  diffusion:\n    controlnet_model: /canny\n    scheduler: pndm\n")
    cfg = RunConfig.from_yaml(config)
    assert options_for("controlnet-canny-img2img", cfg) == {"controlnet_model": "/canny", "scheduler": "pndm"}


def test_the_skip_message_names_the_option_with_its_prefix(tmp_path):
    from colorbench.run import run

    skip_without("diffusion")  # without it, the skip reason is the missing extra, not the missing model

    cfg = RunConfig(run="missing", dataset=str(_photo_dir(tmp_path)), split=None, device="cpu",
                    methods=["controlnet-canny", "controlnet-canny-img2img"], results_dir=str(tmp_path / "results"),
                    method_options={"diffusion": {"controlnet_model": "someone/not-cached-canny"}})
    summary = run(cfg, progress=False)
    for outcome in summary.methods:
        assert outcome.status == "skipped"
        assert "someone/not-cached-canny" in outcome.reason  # the shared option reached both
        assert f"--option {outcome.name}.controlnet_model=PATH" in outcome.reason
        assert "diffusion.controlnet_model=PATH" in outcome.reason


# ------------------------------------------------------------------------------------------ 15: stretch
def test_stretch_does_not_raise_the_misalignment_warning_but_a_real_misalignment_does(tiny_weights, tmp_path,
                                                                                      caplog):
    from colorbench.methods.diffusion.method import ControlNetCanny
    from colorbench.run import _ASPECT_WARNED, _check_aspect, run

    _ASPECT_WARNED.clear()
    wide, square = np.zeros((48, 80), np.uint8), np.zeros((64, 64, 3), np.uint8)
    with caplog.at_level(logging.WARNING, logger="colorbench.run"):
        for aspect in ("stretch", "pad"):  # pad must keep the aspect
            method = ControlNetCanny(smoke=True, aspect=aspect)
            _check_aspect(method.name, wide, square, spans_input=method.output_spans_input)
            assert ("misaligns" in caplog.text) == (aspect == "pad")
        assert "misaligns" in caplog.text
    _ASPECT_WARNED.clear()
    caplog.clear()
    base, controlnet = tiny_weights
    cfg = RunConfig(run="stretch", dataset=str(_photo_dir(tmp_path)), split=None, methods=["controlnet-canny"],
                    device="cpu", results_dir=str(tmp_path / "results"),
                    method_options={"diffusion": {"base_model": str(base), "controlnet_model": str(controlnet),
                                                  "steps": 1, "resolution": RES, "aspect": "stretch"}})
    with caplog.at_level(logging.WARNING, logger="colorbench.run"), pytest.warns(RuntimeWarning, match="CPU"):
        summary = run(cfg, progress=False)
    assert summary.methods[0].status == "done" and summary.methods[0].written == 1
    raw = np.asarray(Image.open(summary.path / "raw" / "controlnet-canny" / "wide.png"))
    assert raw.shape[:2] == (RES, RES)  # the squeezed square canvas, which the L-merge stretches back
    assert "misaligns" not in caplog.text


# ------------------------------------------------------------------------------------------ 16: pipeline options
@pytest.mark.parametrize(("name", "cls"), [("pndm", "PNDMScheduler"), ("ddim", "DDIMScheduler"),
                                           ("euler_a", "EulerAncestralDiscreteScheduler"),
                                           ("dpmpp_2m_karras", "DPMSolverMultistepScheduler")])
def test_scheduler_choices_keep_the_models_noise_schedule(name, cls):
    from colorbench.methods.diffusion.loading import make_scheduler
    from colorbench.methods.diffusion.tiny import build_tiny_components

    scheduler = make_scheduler(name, build_tiny_components()["scheduler"].config)
    assert type(scheduler).__name__ == cls
    assert (scheduler.config.beta_start, scheduler.config.beta_end, scheduler.config.beta_schedule) == (
        0.00085, 0.012, "scaled_linear")
    assert bool(scheduler.config.get("use_karras_sigmas")) == name.endswith("karras")
    if name == "pndm":
        assert scheduler.config.skip_prk_steps  # SD 1.5's own setting


def test_pipeline_options_reach_the_diffusers_call(tiny_weights, monkeypatch):
    method = _load(tiny_weights, scheduler="ddim", eta=0.7, guess_mode=True, control_guidance_start=0.1,
                   control_guidance_end=0.6, clip_skip=1)
    assert type(method.pipe.scheduler).__name__ == "DDIMScheduler"
    assert method.config()["scheduler_class"] == "DDIMScheduler"
    calls = []
    pipeline_class = type(method.pipe)
    real_call = pipeline_class.__call__

    def spy(self, *args, **kwargs):
        calls.append(kwargs)
        return real_call(self, *args, **kwargs)

    monkeypatch.setattr(pipeline_class, "__call__", spy)
    method.colorize([np.full((40, 40), 90, np.uint8)], seed=0)
    [kwargs] = calls
    assert {k: kwargs[k] for k in ("eta", "guess_mode", "control_guidance_start", "control_guidance_end",
                                   "clip_skip")} == {"eta": 0.7, "guess_mode": True, "control_guidance_start": 0.1,
                                                     "control_guidance_end": 0.6, "clip_skip": 1}


def test_eta_and_clip_skip_change_the_image(tiny_weights):
    gray = [np.tile(np.linspace(20, 230, 40, dtype=np.uint8), (40, 1))]
    ddim = _load(tiny_weights, scheduler="ddim")
    plain = ddim.colorize(gray, seed=3)[0]
    assert np.array_equal(ddim.colorize(gray, seed=3)[0], plain)  # deterministic: differences below are real
    ddim.eta = 1.0
    assert not np.array_equal(ddim.colorize(gray, seed=3)[0], plain)
    ddim.eta, ddim.clip_skip = 0.0, 1
    assert not np.array_equal(ddim.colorize(gray, seed=3)[0], plain)


def test_bad_pipeline_option_values_fail_at_construction():
    from colorbench.methods.registry import get_method

    with pytest.raises(ValueError, match="eta=0.5 acts only with scheduler=ddim"):
        get_method("controlnet-canny", eta=0.5)
    with pytest.raises(ValueError, match="control_guidance_start < control_guidance_end"):
        get_method("controlnet-canny", control_guidance_start=0.8, control_guidance_end=0.2)
    with pytest.raises(ValueError, match="scheduler must be one of"):
        get_method("controlnet-canny", scheduler="lms")
    assert get_method("controlnet-canny", scheduler="DPMPP_2M_KARRAS").scheduler == "dpmpp-2m-karras"


def test_a_pinned_revision_reads_that_snapshot(tiny_weights, tmp_path, monkeypatch):
    import huggingface_hub.constants

    from colorbench.methods.diffusion.loading import DEFAULT_BASE_MODEL, DiffusionWeightsError, resolve_weights

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path))
    root = tmp_path / f"models--{DEFAULT_BASE_MODEL.replace('/', '--')}"
    old, new = "a" * 40, "b" * 40
    for commit in (old, new):
        shutil.copytree(tiny_weights[0], root / "snapshots" / commit)
    (root / "refs").mkdir()
    (root / "refs" / "main").write_text(new)
    assert resolve_weights(DEFAULT_BASE_MODEL, "base").name == new
    assert resolve_weights(DEFAULT_BASE_MODEL, "base", revision=old).name == old
    with pytest.raises(DiffusionWeightsError, match="pins a Hugging Face id"):
        resolve_weights(tiny_weights[0], "base", revision=old)


def test_the_fp16_variant_reads_the_variant_files(tiny_weights, tmp_path):
    from colorbench.methods.diffusion.loading import DiffusionWeightsError, _hub_spec, load_pipeline

    base = tmp_path / "sd-fp16"
    shutil.copytree(tiny_weights[0], base)
    for weights_file in base.rglob("*.safetensors"):  # diffusers' variant naming: only fp16 files in the folder
        weights_file.rename(weights_file.with_name(weights_file.name.replace(".safetensors", ".fp16.safetensors")))
    pipe = load_pipeline("txt2img", base, tiny_weights[1], device="cpu", warn_cpu=False, variant="fp16")
    assert type(pipe.unet).__name__ == "UNet2DConditionModel"
    with pytest.raises(DiffusionWeightsError, match="could not read"):
        load_pipeline("txt2img", base, tiny_weights[1], device="cpu", warn_cpu=False)
    # from the hub only the variant's weight files are fetched (half the download)
    patterns = _hub_spec("stable-diffusion-v1-5/stable-diffusion-v1-5", "base", None, "fp16").hf_allow_patterns
    assert "unet/diffusion_pytorch_model.fp16.safetensors" in patterns and "unet/config.json" in patterns
    assert not any(p.endswith(".safetensors") and ".fp16." not in p for p in patterns)


def test_the_methods_revision_and_variant_reach_the_hub_look_up(tiny_weights, monkeypatch):
    from colorbench import weights
    from colorbench.methods.diffusion.loading import DiffusionWeightsError
    from colorbench.methods.registry import get_method

    asked = []

    def ensure(spec, download=True, **kw):
        asked.append(spec)
        raise weights.WeightsUnavailable(spec, "not cached (test)")

    monkeypatch.setattr(weights, "ensure", ensure)
    method = get_method("controlnet-canny-img2img", revision="c" * 40, variant="fp16", controlnet_revision="d" * 40)
    with pytest.raises(DiffusionWeightsError, match=r"--option controlnet-canny-img2img\.controlnet_model=PATH"):
        method.load("cpu")
    assert asked[-1].hf_repo == "lllyasviel/sd-controlnet-canny" and asked[-1].hf_revision == "d" * 40
    # a local ControlNet: on to the base
    method.controlnet_model, method.controlnet_revision = str(tiny_weights[1]), None
    with pytest.raises(DiffusionWeightsError, match=r"--option controlnet-canny-img2img\.base_model=PATH"), \
            pytest.warns(RuntimeWarning, match="CPU"):
        method.load("cpu")
    base = asked[-1]
    assert base.hf_repo == "stable-diffusion-v1-5/stable-diffusion-v1-5" and base.hf_revision == "c" * 40
    assert "unet/diffusion_pytorch_model.fp16.safetensors" in base.hf_allow_patterns
