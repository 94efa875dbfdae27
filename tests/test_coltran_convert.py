"""The converter: official checkpoint -> effective (EMA) weights -> naming rule -> safetensors -> TF-free loading."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import fixture_path, install_command

from colorbench.methods.coltran import config, convert, models, naming

KINDS = config.MODEL_KINDS


def manifest_cases():
    cases = [("full", kind) for kind in KINDS]
    cases += [(variant, kind) for variant in ("test", "mh") for kind in KINDS]
    return cases


def load_manifest(variant: str, kind: str) -> dict:
    if variant == "full":
        return json.loads(fixture_path("coltran", "manifest_full.json").read_text())[kind]
    return json.loads(fixture_path("coltran", f"manifest_{variant}_{kind}.json").read_text())


@pytest.mark.parametrize("variant,kind", manifest_cases())
def test_naming_rule_reproduces_every_manifest(variant, kind):
    """Same TF names, attribute paths, shapes and trainability as the official code wrote, for all configs."""
    m = load_manifest(variant, kind)
    cfg = config.config_from_dict(kind, m["config"]["model"])
    rule = {v.name: (v.path, v.shape, v.trainable) for v in naming.official_variables(cfg)}
    official = {v["name"]: (v["path"], tuple(v["shape"]), v["trainable"]) for v in m["variables"]}
    assert rule == official


@pytest.mark.parametrize("variant,kind", manifest_cases())
def test_every_checkpoint_key_is_classified_and_mapped(variant, kind):
    """All keys of the checkpoint key list: variables map 1:1, EMA shadows = trainable variables, nothing left over."""
    m = load_manifest(variant, kind)
    cfg = config.config_from_dict(kind, m["config"]["model"])
    layout = convert.classify_keys([k["key"] for k in m["checkpoint_keys"]], source=f"manifest {variant} {kind}")
    shapes = {k["key"]: tuple(k["shape"]) for k in m["checkpoint_keys"]}
    naming.check_shapes({name: shapes[key] for name, key in layout.raw.items()}, cfg)
    assert set(layout.ema) == {v.name for v in naming.official_variables(cfg) if v.trainable}
    assert all(shapes[layout.ema[n]] == shapes[layout.raw[n]] for n in layout.ema)
    accounted = (len(layout.raw) + len(layout.ema) + len(layout.slots) + len(layout.hyper)
                 + layout.ignored["bookkeeping"])
    assert accounted == m["num_checkpoint_keys"] == len(m["checkpoint_keys"])


def test_unexpected_keys_stop_the_conversion():
    m = load_manifest("test", "colorizer")
    keys = [k["key"] for k in m["checkpoint_keys"]]
    with pytest.raises(convert.ConversionError, match="unexpected"):
        convert.classify_keys(keys + ["model/layer_with_weights-0/kernel/.ATTRIBUTES/VARIABLE_VALUE"])
    with pytest.raises(convert.ConversionError, match="slots"):
        convert.classify_keys(keys + ["dense_99.Skernel:0/.OPTIMIZER_SLOT/optimizer/momentum/"
                                      ".ATTRIBUTES/VARIABLE_VALUE"])


def test_mapping_fails_loudly_on_missing_unused_or_misshaped_tensors():
    weights = dict(np.load(fixture_path("coltran", "weights_test_colorizer.npz")))
    cfg = config.read_checkpoint_config(fixture_path("coltran", "ckpt_test_colorizer"), "colorizer")
    naming.map_to_torch(weights, cfg)  # the intact set maps
    missing = {k: v for k, v in weights.items() if k != "dense_3/bias:0"}
    with pytest.raises(naming.CheckpointMismatch, match=r"1 missing \[dense_3/bias:0\]"):
        naming.map_to_torch(missing, cfg)
    with pytest.raises(naming.CheckpointMismatch, match=r"1 unused \[dense_99/kernel:0\]"):
        naming.map_to_torch({**weights, "dense_99/kernel:0": np.zeros((32, 32), np.float32)}, cfg)
    shifted = dict(weights)
    shifted["col_tran_core/auto_logits/bias:0"] = np.zeros(511, np.float32)
    with pytest.raises(naming.CheckpointMismatch, match="wrongly shaped"):
        naming.map_to_torch(shifted, cfg)
    # a checkpoint of another config (the mh one) is refused, not partially loaded
    with pytest.raises(naming.CheckpointMismatch):
        naming.map_to_torch(dict(np.load(fixture_path("coltran", "weights_mh_colorizer.npz"))), cfg)


def test_escaping_round_trip():
    assert convert.unescape_object_name("col_tran_core.Sauto_logits.Skernel:0") == "col_tran_core/auto_logits/kernel:0"
    assert convert.unescape_object_name("a..b.Sc") == "a.b/c"


# ------------------------------------------------------------------------------------------ with TensorFlow
@pytest.fixture(scope="module")
def tf_available():
    try:
        convert.import_tensorflow()  # the project's one TF import (torchvision first: the other order segfaults)
    except ImportError:
        pytest.skip(f"the converter's checkpoint reader needs TensorFlow: {install_command('convert')}")


@pytest.mark.slow
@pytest.mark.parametrize("variant", ["test", "mh"])
@pytest.mark.parametrize("kind", KINDS)
def test_reader_yields_exactly_the_effective_weights(tf_available, variant, kind):
    ckpt = convert.read_official_checkpoint(fixture_path("coltran", f"ckpt_{variant}_{kind}"))
    ref = np.load(fixture_path("coltran", f"weights_{variant}_{kind}.npz"))
    assert ckpt.prefix.endswith("model-3")  # the newest checkpoint, not step 0
    assert set(ckpt.effective) == set(ref.files)
    for name in ref.files:
        np.testing.assert_array_equal(ckpt.effective[name], ref[name], err_msg=name)


@pytest.mark.slow
def test_convert_release_then_load_without_tensorflow(tf_available, tmp_path):
    release = tmp_path / "release" / "coltran"
    release.mkdir(parents=True)
    for kind in KINDS:  # the release zip's layout: coltran/{colorizer,color_upsampler,spatial_upsampler}/
        os.symlink(fixture_path("coltran", f"ckpt_test_{kind}"), release / kind)
    out = tmp_path / "converted"
    written = convert.convert_release(tmp_path / "release", out)
    assert [p.name for p in written] == [f"{k}.safetensors" for k in KINDS]
    meta = json.loads((out / "colorizer.json").read_text())
    assert meta["provenance"]["optimizer_iterations"] == 1000
    for kind in KINDS:
        loaded = convert.load_converted(out, kind)
        reference = models.build_model(loaded.cfg)
        naming.load_tf_named(reference, dict(np.load(fixture_path("coltran", f"weights_test_{kind}.npz"))))
        for (k, a), (k2, b) in zip(loaded.state_dict().items(), reference.state_dict().items()):
            assert k == k2 and torch.equal(a, b), k


@pytest.mark.slow
def test_stale_checkpoint_file_falls_back_to_the_newest_index(tf_available, tmp_path):
    """A release's ``checkpoint`` file may name paths from the machine that wrote it: use the newest model-N."""
    import shutil

    src = fixture_path("coltran", "ckpt_test_color_upsampler")
    dst = tmp_path / "color_upsampler"
    shutil.copytree(src, dst)
    (dst / "checkpoint").chmod(0o644)
    (dst / "checkpoint").write_text('model_checkpoint_path: "/gcs/somewhere/model-3"\n')
    assert convert.find_checkpoint_prefix(dst).endswith("model-3")
    ckpt = convert.read_official_checkpoint(dst)
    ref = np.load(fixture_path("coltran", "weights_test_color_upsampler.npz"))
    assert all(np.array_equal(ckpt.effective[n], ref[n]) for n in ref.files)


@pytest.mark.slow
def test_converting_then_using_torchvision_does_not_crash_the_process(tf_available):
    """TF first, then torchvision, segfaults; the converter's import order must keep a session alive."""
    import subprocess
    import sys

    code = ("from colorbench.methods.coltran.convert import import_tensorflow\n"
            "import_tensorflow()\nimport torchvision.models\nprint('alive')\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600,
                         env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")})
    assert out.returncode == 0 and "alive" in out.stdout, out.stderr[-2000:]
