"""Diffusion method parts that need no pipeline: framing, Canny maps, prompts, weight resolution."""

from __future__ import annotations

import shutil
import socket

import numpy as np
import pytest

from colorbench.methods.diffusion import edges, prompts
from colorbench.methods.diffusion.framing import Framing


# ------------------------------------------------------------------------------------------------------ framing
@pytest.mark.parametrize(("h", "w", "content"), [(224, 224, (512, 512)), (300, 200, (512, 341)),
                                                  (200, 300, (341, 512)), (100, 30, (512, 154))])
def test_framing_keeps_the_aspect_ratio(h, w, content):
    f = Framing.fit(h, w, canvas=512)
    assert (f.content_h, f.content_w) == content
    assert f.top == (512 - content[0]) // 2 and f.left == (512 - content[1]) // 2


def test_place_then_crop_returns_the_resized_input_and_pads_by_replication():
    rng = np.random.default_rng(0)
    gray = rng.integers(0, 256, (48, 80), dtype=np.uint8)
    f = Framing.fit(48, 80, canvas=64)
    canvas = f.place(gray)
    assert canvas.shape == (64, 64)
    inner = f.crop(canvas)
    assert inner.shape == (38, 64)
    # the padding repeats the content's first/last rows (no artificial frame)
    assert (canvas[: f.top] == inner[0]).all() and (canvas[f.top + f.content_h :] == inner[-1]).all()
    # the content is the input resized, not something else: its mean stays close to the input's
    assert abs(float(inner.mean()) - float(gray.mean())) < 3
    assert f.content_mask().sum() == 38 * 64


def test_stretch_uses_the_whole_canvas():
    f = Framing.fit(48, 80, canvas=64, aspect="stretch")
    assert (f.top, f.left, f.content_h, f.content_w) == (0, 0, 64, 64)
    with pytest.raises(ValueError, match="aspect"):
        Framing.fit(48, 80, canvas=64, aspect="crop")


# ------------------------------------------------------------------------------------------------------ edges
def _square_image(size=224):
    gray = np.full((size, size), 30, np.uint8)
    gray[size // 4 : 3 * size // 4, size // 4 : 3 * size // 4] = 220
    return gray


@pytest.mark.parametrize("resolution", [64, 512])
def test_canny_maps_are_binary_and_at_the_pipeline_resolution(resolution):
    emap = edges.edge_map(_square_image(), resolution=resolution)
    assert emap.shape == (resolution, resolution) and emap.dtype == np.uint8
    assert set(np.unique(emap).tolist()) == {0, 255}
    # the square's outline is found: edge pixels near its border at canvas scale, none in the flat centre
    q = resolution // 4
    assert emap[q - 2 : q + 3, resolution // 2].max() == 255
    assert emap[resolution // 2 - 2 : resolution // 2 + 3, resolution // 2 - 2 : resolution // 2 + 3].max() == 0


def test_canny_padding_carries_no_edges_and_thresholds_matter():
    rng = np.random.default_rng(1)
    gray = rng.integers(0, 256, (100, 300), dtype=np.uint8)  # wide: big padding above and below
    emap = edges.edge_map(gray, resolution=256)
    f = Framing.fit(100, 300, canvas=256)
    assert emap[~f.content_mask()].max() == 0
    assert emap[f.content_mask()].max() == 255
    loose = edges.edge_map(gray, resolution=256, low_threshold=10, high_threshold=20)
    strict = edges.edge_map(gray, resolution=256, low_threshold=400, high_threshold=800)
    assert (loose > 0).sum() > (emap > 0).sum() > (strict > 0).sum()


def test_canny_runs_at_the_canvas_size_without_resampling():
    import cv2

    canvas = Framing.fit(224, 224, canvas=256).place(_square_image())
    # CannyDetector is cv2.Canny at an unchanged size: so must ours be
    assert (edges.canny(canvas, 100, 200) == cv2.Canny(canvas, 100, 200)).all()


def test_resolution_must_be_a_multiple_of_64():
    with pytest.raises(ValueError, match="multiple of 64"):
        edges.edge_map(_square_image(), resolution=500)


# ------------------------------------------------------------------------------------------------------ prompts
def test_original_preset_is_the_original_projects_prompt():
    p, n = prompts.build_prompts([None, "rowing"], preset="original")
    assert p == ["add color to this image, portrait, high quality"] * 2
    assert n == ["black and white, cartoon, low quality"] * 2


def test_label_preset_names_each_images_class():
    p, n = prompts.build_prompts(["basketball", " ski jumping ", None], preset="label")
    assert p == ["a color photograph of basketball, natural colors, high quality",
                 "a color photograph of ski jumping, natural colors, high quality",
                 "a color photograph of a scene, natural colors, high quality"]
    assert n[0] == "black and white, cartoon, low quality, grayscale, monochrome"
    assert prompts.PRESETS["label"].uses_label and not prompts.PRESETS["original"].uses_label


def test_free_prompts_override_the_preset():
    p, n = prompts.build_prompts(["golf"], preset="original", prompt="vivid {label} photo")
    assert p == ["vivid golf photo"] and n == ["black and white, cartoon, low quality"]
    p, n = prompts.build_prompts(["golf"], preset=None, prompt="x", negative_prompt="y {label}")
    assert (p, n) == (["x"], ["y golf"])
    with pytest.raises(ValueError, match="unknown prompt preset 'nope'"):
        prompts.build_prompts(["golf"], preset="nope")


def test_preset_table_lists_every_preset_rendered():
    from colorbench.methods.diffusion import preset_table

    rows = preset_table("polo")
    assert [r["preset"] for r in rows] == list(prompts.PRESETS)
    assert rows[1]["prompt"] == "a color photograph of polo, natural colors, high quality"


# ------------------------------------------------------------------------------------------------------ weights
@pytest.fixture(scope="module")
def tiny_weights(tmp_path_factory):
    from colorbench.methods.diffusion.tiny import save_tiny_weights

    return save_tiny_weights(tmp_path_factory.mktemp("tiny-sd"))


def _fake_hf_cache(cache, repo: str, folder) -> None:
    """Lay ``folder`` out as huggingface_hub's cache does for ``repo`` (refs/main -> snapshots/<commit>/)."""
    commit = "0123456789abcdef0123456789abcdef01234567"
    root = cache / f"models--{repo.replace('/', '--')}"
    shutil.copytree(folder, root / "snapshots" / commit)
    (root / "refs").mkdir(parents=True)
    (root / "refs" / "main").write_text(commit)


def test_local_folders_are_used_as_they_are(tiny_weights, monkeypatch):
    from colorbench import weights
    from colorbench.methods.diffusion.loading import resolve_weights

    monkeypatch.setattr(weights, "ensure", lambda *a, **k: pytest.fail("a local folder must not touch the hub"))
    base, controlnet = tiny_weights
    assert resolve_weights(str(base), "base") == base
    assert resolve_weights(controlnet, "controlnet") == controlnet


def test_hub_ids_resolve_through_the_hf_cache(tiny_weights, tmp_path, monkeypatch):
    import huggingface_hub.constants

    from colorbench.methods.diffusion.loading import DEFAULT_BASE_MODEL, DEFAULT_CONTROLNET_MODEL, resolve_weights

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path))  # read at call time
    base, controlnet = tiny_weights
    _fake_hf_cache(tmp_path, DEFAULT_BASE_MODEL, base)
    _fake_hf_cache(tmp_path, DEFAULT_CONTROLNET_MODEL, controlnet)
    _fake_hf_cache(tmp_path, "lllyasviel/control_v11p_sd15_canny", controlnet)  # not in the registry
    found = resolve_weights(DEFAULT_BASE_MODEL, "base")
    assert found.parent.name == "snapshots" and (found / "model_index.json").is_file()
    assert (resolve_weights(DEFAULT_CONTROLNET_MODEL, "controlnet") / "config.json").is_file()
    assert (resolve_weights("lllyasviel/control_v11p_sd15_canny", "controlnet") / "config.json").is_file()


def test_missing_hub_weights_offline_say_how_to_fix_it():
    from colorbench.methods.diffusion.loading import DiffusionWeightsError, resolve_weights
    from colorbench.weights import WeightsUnavailable

    with pytest.raises(WeightsUnavailable) as info:  # the CLI prints these as one line
        resolve_weights("stable-diffusion-v1-5/stable-diffusion-v1-5", "base")
    message = str(info.value)
    assert isinstance(info.value, DiffusionWeightsError)
    for needle in ("stable-diffusion-v1-5/stable-diffusion-v1-5", "HF_HOME", "HF_HUB_OFFLINE", "base_model"):
        assert needle in message
    with pytest.raises(DiffusionWeightsError, match="controlnet_model"):
        resolve_weights("someone/other-canny", "controlnet")


def test_bad_local_folders_are_named(tmp_path):
    from colorbench.methods.diffusion.loading import DiffusionWeightsError, resolve_weights

    with pytest.raises(DiffusionWeightsError, match="does not exist"):
        resolve_weights(str(tmp_path / "nowhere" / "sd15"), "base")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DiffusionWeightsError, match="no model_index.json"):
        resolve_weights(tmp_path / "empty", "base")


def test_incomplete_folder_is_a_clear_error(tiny_weights, tmp_path):
    from colorbench.methods.diffusion.loading import DiffusionWeightsError, load_pipeline

    base, controlnet = tiny_weights
    broken = tmp_path / "sd"
    shutil.copytree(base, broken)
    for weights_file in (broken / "unet").glob("*.safetensors"):
        weights_file.unlink()
    with pytest.raises(DiffusionWeightsError, match=r"could not read the Stable Diffusion 1.5 model in .*sd"):
        load_pipeline("txt2img", broken, controlnet, device="cpu", warn_cpu=False)


def test_registry_declares_both_artefacts_for_both_methods():
    from colorbench import weights
    from colorbench.methods.registry import get_method

    assert weights.get_spec("sd15").hf_repo == "stable-diffusion-v1-5/stable-diffusion-v1-5"
    assert weights.get_spec("controlnet-canny-sd15").hf_repo == "lllyasviel/sd-controlnet-canny"
    for name in ("controlnet-canny", "controlnet-canny-img2img"):
        method = get_method(name)
        assert method.weights() == ["sd15", "controlnet-canny-sd15"] and method.stochastic
        assert get_method(name, smoke=True).weights() == []


def test_an_interrupted_hub_download_is_completed_then_loaded(tiny_weights, tmp_path, monkeypatch):
    import huggingface_hub

    from colorbench.methods.diffusion.loading import DEFAULT_CONTROLNET_MODEL, DiffusionWeightsError, load_pipeline

    base, controlnet = tiny_weights
    commit_folder = tmp_path / "models--lllyasviel--sd-controlnet-canny" / "snapshots" / "abc"
    shutil.copytree(controlnet, commit_folder)
    (commit_folder / "diffusion_pytorch_model.safetensors").unlink()  # the download was cut short
    fetched = []

    def fake_snapshot_download(repo_id, revision=None, allow_patterns=None, local_files_only=False, **kw):
        assert repo_id == DEFAULT_CONTROLNET_MODEL
        if not local_files_only:  # what huggingface_hub does online: fetch the missing files
            fetched.append(list(allow_patterns))
            shutil.copy(controlnet / "diffusion_pytorch_model.safetensors", commit_folder)
        return str(commit_folder)

    monkeypatch.setattr(huggingface_hub, "snapshot_download", fake_snapshot_download)
    # offline: the incomplete snapshot is not taken as present, and the error says so
    with pytest.raises(DiffusionWeightsError, match="ControlNet 'lllyasviel/sd-controlnet-canny' is not available"):
        load_pipeline("txt2img", base, DEFAULT_CONTROLNET_MODEL, device="cpu", warn_cpu=False)
    assert fetched == []
    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.delenv("COLORBENCH_OFFLINE")
    pipe = load_pipeline("txt2img", base, DEFAULT_CONTROLNET_MODEL, device="cpu", warn_cpu=False)
    assert fetched == [["config.json", "diffusion_pytorch_model.safetensors"]]
    assert type(pipe.controlnet).__name__ == "ControlNetModel"


def test_a_damaged_hub_snapshot_is_completed_through_the_weights_fetch_path(tiny_weights, tmp_path, monkeypatch):
    """The diffusion loader has no download of its own: a snapshot whose files are all there but one cannot be read
    is completed by colorbench.weights.fetch (huggingface_hub's client, called in one place), then read again."""
    import sys

    import huggingface_hub

    from colorbench.methods.diffusion.loading import DEFAULT_CONTROLNET_MODEL, DiffusionWeightsError, load_pipeline

    base, controlnet = tiny_weights
    commit_folder = tmp_path / "models--lllyasviel--sd-controlnet-canny" / "snapshots" / "abc"
    shutil.copytree(controlnet, commit_folder)
    damaged = commit_folder / "diffusion_pytorch_model.safetensors"
    damaged.write_bytes(damaged.read_bytes()[:100])  # present, so the snapshot looks complete; unreadable

    def fake_snapshot_download(repo_id, revision=None, allow_patterns=None, local_files_only=False, **kw):
        if not local_files_only:  # what huggingface_hub does online: replace what is not right
            shutil.copy(controlnet / "diffusion_pytorch_model.safetensors", damaged)
        return str(commit_folder)

    monkeypatch.setattr(huggingface_hub, "snapshot_download", fake_snapshot_download)
    fetch_module = sys.modules["colorbench.weights.fetch"]
    fetched, real_fetch_hf = [], fetch_module._fetch_hf

    def fetch_hf(spec):
        fetched.append(spec.hf_repo)
        return real_fetch_hf(spec)

    monkeypatch.setattr(fetch_module, "_fetch_hf", fetch_hf)
    with pytest.raises(DiffusionWeightsError, match="diffusion_pytorch_model.safetensors is corrupt"):
        load_pipeline("txt2img", base, DEFAULT_CONTROLNET_MODEL, device="cpu", warn_cpu=False)  # offline
    assert fetched == []
    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.delenv("COLORBENCH_OFFLINE")
    pipe = load_pipeline("txt2img", base, DEFAULT_CONTROLNET_MODEL, device="cpu", warn_cpu=False)
    assert fetched == [DEFAULT_CONTROLNET_MODEL] and type(pipe.controlnet).__name__ == "ControlNetModel"


def test_an_unreachable_hub_is_a_clear_error(monkeypatch):
    import huggingface_hub

    from colorbench.methods.diffusion.loading import DiffusionWeightsError, resolve_weights

    def unreachable(repo_id, local_files_only=False, **kw):
        raise (huggingface_hub.errors.LocalEntryNotFoundError("not cached") if local_files_only
               else ConnectionError("Failed to resolve 'huggingface.co'"))

    monkeypatch.setattr(huggingface_hub, "snapshot_download", unreachable)
    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.delenv("COLORBENCH_OFFLINE")
    with pytest.raises(DiffusionWeightsError) as info:
        resolve_weights("lllyasviel/sd-controlnet-canny", "controlnet")
    message = str(info.value)
    for needle in ("downloading lllyasviel/sd-controlnet-canny failed", "Failed to resolve", "HF_HOME",
                   "HF_HUB_OFFLINE", "controlnet_model"):
        assert needle in message


@pytest.mark.parametrize(("name", "cls", "algorithm"), [("unipc", "UniPCMultistepScheduler", None),
                                                        ("dpmpp-2m", "DPMSolverMultistepScheduler", "dpmsolver++")])
def test_fast_multistep_schedulers_keep_the_models_noise_schedule(name, cls, algorithm):
    from colorbench.methods.diffusion.loading import make_scheduler
    from colorbench.methods.diffusion.tiny import build_tiny_components

    trained = build_tiny_components()["scheduler"].config
    scheduler = make_scheduler(name, trained)
    assert type(scheduler).__name__ == cls
    assert (scheduler.config.beta_start, scheduler.config.beta_end, scheduler.config.beta_schedule) == (
        0.00085, 0.012, "scaled_linear")
    if algorithm:
        assert scheduler.config.algorithm_type == algorithm
    with pytest.raises(ValueError, match="scheduler must be one of"):
        make_scheduler("euler", trained)


def test_the_hubs_offline_advice_is_cut_to_its_first_sentence(monkeypatch):
    """huggingface_hub's offline error is a paragraph of advice; a new user's report showed all of it per method."""
    import huggingface_hub

    from colorbench.weights import WeightsUnavailable, ensure

    long = ("Got: ConnectError: [Errno -2] Name or service not known An error happened while trying to locate the "
            "files on the Hub. Please check your internet connection and try again.")

    def offline(repo_id, **kw):
        raise huggingface_hub.errors.LocalEntryNotFoundError(long)

    monkeypatch.setattr(huggingface_hub, "snapshot_download", offline)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("COLORBENCH_OFFLINE", raising=False)
    with pytest.raises(WeightsUnavailable) as info:
        ensure("controlnet-canny-sd15")
    reason = info.value.reason
    assert "downloading lllyasviel/sd-controlnet-canny failed (LocalEntryNotFoundError: Got: " in reason
    assert "Please check your internet connection" not in reason

    def no_network(repo_id, **kw):  # what the Hub raises with no network: its error chain ends in the socket's
        try:
            try:
                raise socket.gaierror(-2, "Name or service not known")
            except OSError as exc:
                raise ConnectionError("ConnectError") from exc
        except ConnectionError:
            raise huggingface_hub.errors.LocalEntryNotFoundError(long)  # noqa: B904 - chained as the Hub does

    monkeypatch.setattr(huggingface_hub, "snapshot_download", no_network)
    with pytest.raises(WeightsUnavailable) as info:
        ensure("controlnet-canny-sd15")
    assert info.value.reason == ("downloading lllyasviel/sd-controlnet-canny failed ([Errno -2] Name or service not "
                                 "known; no network access?)")
