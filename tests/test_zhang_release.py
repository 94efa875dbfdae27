"""Released-weights format of Zhang et al.'s models: exact key names and shapes, the torch.hub cache location,
the hash prefix in the file name, and loud failures on anything else."""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import sys
from pathlib import Path

import pytest
import torch

from colorbench import weights
from colorbench.methods.zhang import release
from colorbench.methods.zhang.eccv16 import ECCV16Net
from colorbench.methods.zhang.siggraph17 import SIGGRAPH17Net

BN = ("weight", "bias", "running_mean", "running_var")


def _conv(prefix, out_c, in_c, k, bias=True):
    return {f"{prefix}.weight": (out_c, in_c, k, k), **({f"{prefix}.bias": (out_c,)} if bias else {})}


def _deconv(prefix, in_c, out_c, k=4):
    return {f"{prefix}.weight": (in_c, out_c, k, k), f"{prefix}.bias": (out_c,)}


def _bn(prefix, c):
    return {f"{prefix}.{name}": (c,) for name in BN}


def _vgg_block(name, channels, first_index=0):
    """Layers as listed in the official code: conv, ReLU, conv, ReLU, ..., BatchNorm."""
    keys, i = {}, first_index
    for c_in, c_out in itertools.pairwise(channels):
        keys |= _conv(f"{name}.{i}", c_out, c_in, 3)
        i += 2
    return keys | _bn(f"{name}.{i}", channels[-1])


# Written from colorizers/eccv16.py and colorizers/siggraph17.py (richzhang/colorization), independently of our
# architecture code, so a slip in either shows up here.
ECCV16_RELEASE = {
    **_vgg_block("model1", [1, 64, 64]), **_vgg_block("model2", [64, 128, 128]),
    **_vgg_block("model3", [128, 256, 256, 256]), **_vgg_block("model4", [256, 512, 512, 512]),
    **_vgg_block("model5", [512] * 4), **_vgg_block("model6", [512] * 4), **_vgg_block("model7", [512] * 4),
    **_deconv("model8.0", 512, 256), **_conv("model8.2", 256, 256, 3), **_conv("model8.4", 256, 256, 3),
    **_conv("model8.6", 313, 256, 1), **_conv("model_out", 2, 313, 1, bias=False),
}
SIGGRAPH17_RELEASE = {
    **_vgg_block("model1", [4, 64, 64]), **_vgg_block("model2", [64, 128, 128]),
    **_vgg_block("model3", [128, 256, 256, 256]), **_vgg_block("model4", [256, 512, 512, 512]),
    **_vgg_block("model5", [512] * 4), **_vgg_block("model6", [512] * 4), **_vgg_block("model7", [512] * 4),
    **_deconv("model8up.0", 512, 256), **_conv("model3short8.0", 256, 256, 3),
    **_vgg_block("model8", [256, 256, 256], 1),
    **_deconv("model9up.0", 256, 128), **_conv("model2short9.0", 128, 128, 3), **_vgg_block("model9", [128, 128], 1),
    **_deconv("model10up.0", 128, 128), **_conv("model1short10.0", 128, 64, 3), **_conv("model10.1", 128, 128, 3),
    **_conv("model_class.0", 529, 256, 1), **_conv("model_out.0", 2, 128, 1),
}


@pytest.mark.parametrize("net_class, release_keys", [(ECCV16Net, ECCV16_RELEASE), (SIGGRAPH17Net, SIGGRAPH17_RELEASE)])
def test_full_size_state_dict_has_exactly_the_release_keys_and_shapes(net_class, release_keys):
    state = net_class().state_dict()
    ours = {k: tuple(v.shape) for k, v in state.items() if not k.endswith("num_batches_tracked")}
    assert ours == release_keys
    assert {k for k in state if k.endswith("num_batches_tracked")} == {
        k.replace("running_mean", "num_batches_tracked") for k in release_keys if k.endswith("running_mean")}


@pytest.fixture
def tiny_release(tmp_path, monkeypatch):
    """A tiny ECCV16 saved in the released format under torch.hub's cache, registered under a name carrying its own
    sha256 prefix (the real name carries the real file's)."""
    torch.manual_seed(0)
    net = ECCV16Net(width=8)
    staging = release.save_release_format(net, tmp_path / "staging.pth")
    prefix = weights.sha256_file(staging)[:8]
    spec = dataclasses.replace(weights.get_spec("eccv16"), relpath=f"colorization_release_v2-{prefix}.pth")
    monkeypatch.setitem(weights.REGISTRY, "eccv16", spec)
    target = weights.local_path("eccv16")
    target.parent.mkdir(parents=True, exist_ok=True)
    staging.rename(target)
    return net, target


def test_release_lives_in_torch_hubs_checkpoint_folder(tiny_release):
    _, target = tiny_release
    assert target.parent == __import__("pathlib").Path(torch.hub.get_dir()) / "checkpoints"


def test_load_release_round_trips_every_tensor(tiny_release):
    original, target = tiny_release
    fresh = ECCV16Net(width=8)
    assert release.load_release(fresh, "eccv16", download=False) == target
    for key, value in original.state_dict().items():
        assert torch.equal(fresh.state_dict()[key], value), key


def test_wrong_hash_prefix_is_refused(tiny_release):
    _, target = tiny_release
    target.write_bytes(target.read_bytes() + b"tampered")
    with pytest.raises(weights.WeightsUnavailable, match="sha256"):
        release.load_release(ECCV16Net(width=8), "eccv16", download=False)


def test_missing_file_names_the_file_and_the_fix():
    with pytest.raises(weights.WeightsUnavailable) as info:
        release.load_release(ECCV16Net(width=8), "eccv16")
    message = str(info.value)
    assert "colorization_release_v2-9b330a0b.pth" in message and "TORCH_HOME" in message
    assert "colorizers.s3.us-east-2.amazonaws.com" in message


def _as_release(monkeypatch, data: bytes):
    """Put ``data`` where eccv16's release goes, under a name carrying its own sha256 prefix: it passes the hash
    check, so refusing it is the loader's job."""
    prefix = hashlib.sha256(data).hexdigest()[:8]
    monkeypatch.setitem(weights.REGISTRY, "eccv16", dataclasses.replace(
        weights.get_spec("eccv16"), relpath=f"colorization_release_v2-{prefix}.pth"))
    target = weights.local_path("eccv16")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    return target


def test_unreadable_file_is_reported_as_unavailable(monkeypatch):
    target = _as_release(monkeypatch, b"not a torch file")  # the hash check passes: the load must refuse it
    with pytest.raises(weights.WeightsUnavailable, match="could not be read") as info:
        release.load_release(ECCV16Net(width=8), "eccv16", download=False)
    assert target.name in str(info.value) and "delete it" in str(info.value)


def test_pickled_objects_are_refused(tiny_release, monkeypatch):
    """Released files are plain tensors: anything that needs unpickling code is refused (weights_only=True)."""
    import argparse

    _, staging = tiny_release
    # the hash check passes, so it is the load that must refuse the pickled object
    torch.save({**ECCV16Net(width=8).state_dict(), "extra": argparse.Namespace(a=1)}, staging)
    _as_release(monkeypatch, staging.read_bytes())
    with pytest.raises(weights.WeightsUnavailable, match="could not be read"):
        release.load_release(ECCV16Net(width=8), "eccv16", download=False)


def test_load_release_downloads_by_default(monkeypatch):
    """The methods call load_release(net, name): a missing file is fetched, not reported missing."""
    calls = []

    def fake_ensure(spec, *, download, **_):
        calls.append(download)
        raise weights.WeightsUnavailable(spec, "stop here")

    monkeypatch.setattr(sys.modules["colorbench.weights.fetch"], "ensure", fake_ensure)
    with pytest.raises(weights.WeightsUnavailable, match="stop here"):
        release.load_release(ECCV16Net(width=8), "eccv16")
    assert calls == [True]


def _state():
    torch.manual_seed(1)
    return ECCV16Net(width=8).state_dict()


def test_extra_key_is_refused_by_name():
    state = _state()
    state["model9.0.weight"] = torch.zeros(1)
    with pytest.raises(release.CheckpointMismatch, match="model9.0.weight"):
        release.load_state_dict_exactly(ECCV16Net(width=8), state, source="x.pth")


def test_missing_key_is_refused_by_name():
    state = _state()
    del state["model_out.weight"]
    with pytest.raises(release.CheckpointMismatch, match="model_out.weight"):
        release.load_state_dict_exactly(ECCV16Net(width=8), state, source="x.pth")


def test_wrong_shape_is_refused_by_name():
    state = _state()
    state["model8.6.weight"] = torch.zeros(312, 32, 1, 1)
    with pytest.raises(release.CheckpointMismatch, match="model8.6.weight"):
        release.load_state_dict_exactly(ECCV16Net(width=8), state, source="x.pth")


def test_siggraph_file_is_not_accepted_as_eccv16():
    with pytest.raises(release.CheckpointMismatch, match="missing"):
        release.load_state_dict_exactly(ECCV16Net(width=8), SIGGRAPH17Net(width=8).state_dict(), source="x.pth")


def test_absent_num_batches_tracked_is_accepted():
    state = {k: v for k, v in _state().items() if not k.endswith("num_batches_tracked")}
    net = ECCV16Net(width=8)
    release.load_state_dict_exactly(net, state, source="old.pth")
    assert torch.equal(net.state_dict()["model1.4.running_var"], state["model1.4.running_var"])


def test_hash_prefix_follows_torch_hub_naming():
    assert weights.hash_prefix("colorization_release_v2-9b330a0b.pth") == "9b330a0b"
    assert weights.hash_prefix("siggraph17-df00044c.pth") == "df00044c"
    assert weights.hash_prefix("model.pth") is None


def test_a_missing_release_is_downloaded_checked_and_read_through_the_one_weights_path(tmp_path, monkeypatch):
    """load_release has no download, hash check or torch.load of its own: the file comes through the weights
    package's one download path (here from a loopback server standing in for the authors' S3 bucket) and is read by
    its one safe loader."""
    from test_weights import serving

    fetch_module, loading_module = sys.modules["colorbench.weights.fetch"], sys.modules["colorbench.weights.loading"]
    downloads, reads = [], []
    real_download, real_read = fetch_module._download_url, loading_module.load_torch_file

    def download(spec, dest, **kw):
        downloads.append(spec.name)
        return real_download(spec, dest, **kw)

    def read(path):
        reads.append(Path(path))
        return real_read(path)

    monkeypatch.setattr(fetch_module, "_download_url", download)
    monkeypatch.setattr(loading_module, "load_torch_file", read)
    monkeypatch.delenv("COLORBENCH_OFFLINE")
    torch.manual_seed(0)
    original = ECCV16Net(width=8)
    payload = release.save_release_format(original, tmp_path / "staging.pth").read_bytes()
    with serving(payload) as (_handler, url):
        prefix = hashlib.sha256(payload).hexdigest()[:8]
        monkeypatch.setitem(weights.REGISTRY, "eccv16", dataclasses.replace(
            weights.get_spec("eccv16"), relpath=f"colorization_release_v2-{prefix}.pth", url=url))
        fresh = ECCV16Net(width=8)
        path = release.load_release(fresh, "eccv16")
    assert downloads == ["eccv16"] and reads == [path] and path == weights.local_path("eccv16")
    for key, value in original.state_dict().items():
        assert torch.equal(fresh.state_dict()[key], value), key
    # served bytes that are not the file its name promises are refused, and nothing is stored
    path.unlink()
    with serving(payload + b"tampered") as (_handler, url):
        monkeypatch.setitem(weights.REGISTRY, "eccv16", dataclasses.replace(weights.get_spec("eccv16"), url=url))
        with pytest.raises(weights.WeightsUnavailable, match=f"its name says it starts with {prefix}"):
            release.load_release(ECCV16Net(width=8), "eccv16")
    assert not path.exists()
