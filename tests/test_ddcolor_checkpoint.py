"""DDColor's weights: the authors' ``.pth`` format, the Hugging Face snapshot layout, strict keys, and every bad input
(another variant, another model, a truncated file, a snapshot without weights, nothing offline) as one clear error
naming the file and the fix, with the method SKIPPED by the runner and the rest of the run unaffected."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

pytest.importorskip("cv2")
from colorbench.config import RunConfig  # noqa: E402
from colorbench.methods.ddcolor.checkpoint import (  # noqa: E402
    DDColorWeightsError,
    build_from_state_dict,
    load_network,
)
from colorbench.methods.ddcolor.model import DDColorNet, encoder_of_state_dict  # noqa: E402
from colorbench.methods.registry import get_method  # noqa: E402
from colorbench.run import run  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def tiny_state():
    """A DDColor-T state dict (random init: these tests are about loading, not colours)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        return DDColorNet("convnext-t").state_dict()


@pytest.fixture(scope="module")
def release_pth(tiny_state, tmp_path_factory):
    """The authors' release format: ``torch.save({'params': state_dict})``."""
    path = tmp_path_factory.mktemp("release") / "ddcolor_paper_tiny.pth"
    torch.save({"params": tiny_state}, path)
    return path


@pytest.fixture(autouse=True)
def hub_cache(tmp_path, monkeypatch):
    """huggingface_hub reads ``$HF_HOME`` once, at import: point its cache into this test's tmp (offline is set by
    conftest)."""
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hf-hub"))
    return tmp_path / "hf-hub"


def _hub_snapshot(variant: str, files: dict[str, object]) -> Path:
    """A Hugging Face cache entry for ``piddnad/ddcolor_<variant>`` laid out as huggingface_hub writes it."""
    import huggingface_hub.constants

    repo = Path(huggingface_hub.constants.HF_HUB_CACHE) / f"models--piddnad--ddcolor_{variant}"
    commit = "0123456789abcdef0123456789abcdef01234567"
    snapshot = repo / "snapshots" / commit
    snapshot.mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    for name, content in files.items():
        if isinstance(content, dict):
            from safetensors.torch import save_file

            save_file(content, str(snapshot / name))
        else:
            (snapshot / name).write_text(content)
    return snapshot


def test_encoder_size_is_read_from_the_shapes(tiny_state):
    assert encoder_of_state_dict(tiny_state) == "convnext-t"
    large = {"encoder.arch.downsample_layers.0.0.weight": torch.zeros(192, 3, 4, 4),
             **{f"encoder.arch.stages.2.{j}.gamma": torch.zeros(768) for j in range(27)}}
    assert encoder_of_state_dict(large) == "convnext-l"
    assert encoder_of_state_dict({**large, "encoder.arch.stages.2.27.gamma": torch.zeros(768)}) is None


def test_the_authors_pth_loads_strictly_and_gives_the_same_network(tiny_state, release_pth):
    net, path = load_network(variant="modelscope", checkpoint=release_pth)  # the checkpoint decides: T
    assert path == release_pth and net.encoder_size.name == "convnext-t"
    loaded = net.state_dict()
    assert all(torch.equal(loaded[k], v) for k, v in tiny_state.items())


def test_a_missing_or_unexpected_key_is_an_error_naming_it(tiny_state):
    missing = {k: v for k, v in tiny_state.items() if k != "decoder.color_decoder.query_embed.weight"}
    with pytest.raises(DDColorWeightsError, match=r"1 missing keys: decoder\.color_decoder\.query_embed\.weight"):
        build_from_state_dict(missing, "x.pth")
    extra = {**tiny_state, "decoder.color_decoder.extra.weight": torch.zeros(1)}
    with pytest.raises(DDColorWeightsError, match=r"1 unexpected keys: decoder\.color_decoder\.extra\.weight"):
        build_from_state_dict(extra, "x.pth")


def test_another_models_shapes_are_an_error_naming_them(tiny_state):
    """The SingleColorDecoder/constructor-default model has 256 queries: same keys, other shapes."""
    other = dict(tiny_state)
    other["decoder.color_decoder.query_feat.weight"] = torch.zeros(256, 256)
    with pytest.raises(DDColorWeightsError, match=r"wrong shapes: decoder\.color_decoder\.query_feat\.weight "
                                                  r"\(256, 256\) \(expected \(100, 256\)\)"):
        build_from_state_dict(other, "other.pth")
    with pytest.raises(DDColorWeightsError, match="not a DDColor checkpoint with a known encoder"):
        build_from_state_dict({"conv.weight": torch.zeros(3)}, "resnet.pth")


def test_a_truncated_file_names_the_file_and_the_fix(release_pth, tmp_path):
    cut = tmp_path / "ddcolor_modelscope.pth"
    cut.write_bytes(release_pth.read_bytes()[:100_000])
    with pytest.raises(DDColorWeightsError) as info:
        get_method("ddcolor", checkpoint=str(cut)).load("cpu")
    assert str(cut) in str(info.value) and "truncated" in str(info.value)


def test_a_missing_checkpoint_path_is_named_and_not_ready(tmp_path):
    method = get_method("ddcolor", checkpoint=str(tmp_path / "nope.pth"))
    assert "does not exist" in method.not_ready()
    with pytest.raises(DDColorWeightsError, match=r"nope\.pth does not exist.*ddcolor\.checkpoint"):
        method.load("cpu")


def test_offline_without_the_hub_repo_names_it_the_cache_env_and_the_local_option():
    method = get_method("ddcolor", variant="artistic")
    assert "ddcolor-artistic" in method.not_ready()
    with pytest.raises(DDColorWeightsError) as info:
        method.load("cpu")
    text = str(info.value)
    assert "piddnad/ddcolor_artistic" in text and "HF_HOME" in text and "ddcolor.checkpoint=PATH" in text
    assert "ddcolor_artistic.pth" in text


def test_a_complete_hub_snapshot_loads_and_a_wrong_variants_weights_are_refused(tiny_state):
    _hub_snapshot("paper_tiny", {"config.json": json.dumps({"encoder_name": "convnext-t"}),
                                 "model.safetensors": tiny_state})
    method = get_method("ddcolor", variant="paper_tiny")
    assert method.not_ready() is None
    method.load("cpu")
    assert method.config()["encoder"] == "convnext-t" and method.config()["weights"].endswith("model.safetensors")
    # T weights where the L model's repo should be: the variant's encoder is checked against the shapes
    _hub_snapshot("paper", {"config.json": "{}", "model.safetensors": tiny_state})
    with pytest.raises(DDColorWeightsError, match="holds a convnext-t model but its variant needs convnext-l"):
        get_method("ddcolor", variant="paper").load("cpu")


def test_a_hub_snapshot_without_weights_names_the_folder_and_the_fix(tmp_path):
    snapshot = _hub_snapshot("modelscope", {"config.json": "{}"})
    with pytest.raises(DDColorWeightsError) as info:
        get_method("ddcolor").load("cpu")
    text = str(info.value)
    assert str(snapshot) in text and "no model.safetensors" in text and "fetch again" in text
    # the same for a saved repo folder passed as the checkpoint
    folder = tmp_path / "saved_repo"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    with pytest.raises(DDColorWeightsError, match=r"saved_repo holds no weights .*it has config\.json"):
        get_method("ddcolor", checkpoint=str(folder)).load("cpu")


def test_bad_weights_skip_the_method_and_the_run_goes_on(release_pth, tmp_path):
    cut = tmp_path / "cut.pth"
    cut.write_bytes(release_pth.read_bytes()[:5000])
    cfg = RunConfig(run="bad-ddcolor", methods=["gray", "ddcolor"], limit=2, results_dir=str(tmp_path / "results"),
                    method_options={"ddcolor": {"checkpoint": str(cut)}})
    summary = run(cfg, progress=False)
    outcome = {m.name: m for m in summary.methods}
    assert outcome["gray"].status == "done" and outcome["gray"].written == 2
    assert outcome["ddcolor"].status == "skipped" and str(cut) in outcome["ddcolor"].reason
    assert not outcome["ddcolor"].reason.startswith("ddcolor")  # shown as "ddcolor: SKIPPED — reason": name once
    images = sorted((summary.path / "images" / "gray").glob("*.png"))
    assert len(images) == 2 and not (summary.path / "images" / "ddcolor").exists()
