"""ONNX export + onnxruntime CPU path: same outputs as PyTorch (within 1e-3 ab), any size, through the method."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import torch
from conftest import fixture_path

pytest.importorskip("onnxruntime")

from colorbench import weights  # noqa: E402
from colorbench.color import to_gray  # noqa: E402
from colorbench.methods.cnn.inference import TorchAbPredictor  # noqa: E402
from colorbench.methods.cnn.onnx_export import OnnxAbPredictor, export_onnx  # noqa: E402
from colorbench.methods.registry import get_method  # noqa: E402


@pytest.fixture
def original_weights():
    target = weights.local_path("cnn-original-epoch186")
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(fixture_path("original-cnn", "model-epoch-186-losses-0.124.pth"), target)
    return target


def test_onnx_matches_pytorch_on_the_original_checkpoint(original_weights, tmp_path):
    reference = np.load(fixture_path("original-cnn", "reference_epoch186.npz"))
    method = get_method("cnn-original")
    method.load("cpu")
    path = export_onnx(method.model, tmp_path / "original.onnx")
    assert path.is_file() and not list(tmp_path.glob(".tmp-*"))
    onnx_predictor = OnnxAbPredictor(path)
    torch_predictor = TorchAbPredictor(method.model, precision="fp32")
    L = reference["L"][:, None].astype(np.float32)
    np.testing.assert_allclose(onnx_predictor(L), reference["ab"], rtol=0, atol=1e-3)
    # dynamic batch and size: another batch size and a non-square size from the same exported graph
    L2 = np.ascontiguousarray(L[:3, :, :96, :160])
    np.testing.assert_allclose(onnx_predictor(L2), torch_predictor(L2), rtol=0, atol=1e-3)


def test_onnx_backend_of_the_method_matches_the_torch_backend(original_weights, real_images):
    grays = [to_gray(rgb) for rgb in real_images[:3]]
    grays.append(np.ascontiguousarray(grays[0][:101, :77]))  # needs padding
    torch_method = get_method("cnn-original")
    torch_method.load("cpu")
    onnx_method = get_method("cnn-original", backend="onnx")
    onnx_method.load("cpu")
    assert onnx_method.onnx_path.is_file() and onnx_method.config()["backend"] == "onnx"
    a, b = torch_method.colorize(grays, seed=0), onnx_method.colorize(grays, seed=0)
    for x, y in zip(a, b):
        assert x.shape == y.shape
        assert np.abs(x.astype(int) - y.astype(int)).max() <= 1  # ab within 1e-3 -> uint8 within rounding
    # the export is cached by content: a second load reuses the file
    mtime = onnx_method.onnx_path.stat().st_mtime_ns
    again = get_method("cnn-original", backend="onnx")
    again.load("cpu")
    assert again.onnx_path == onnx_method.onnx_path and again.onnx_path.stat().st_mtime_ns == mtime


def test_onnx_backend_refuses_batch_statistics():
    with pytest.raises(ValueError, match="bn_mode='train' needs backend='torch'"):
        get_method("cnn-original", backend="onnx", bn_mode="train")
    assert get_method("cnn-original", backend="onnx", bn_mode="eval").backend == "onnx"  # only that pair is refused


def test_onnx_backend_gives_the_torch_backends_colours_from_an_export_named_by_the_weights():
    """backend='onnx' exports the loaded network and runs it with onnxruntime: the same colours as the torch backend
    (ab within 1e-3, so uint8 within rounding). The export's file name carries state_digest, which changes with any
    weight, so a retrained network never reuses a stale export. Smoke networks, exported to a temporary folder
    (the real checkpoint's export, cached under models/cnn/onnx/, is the test above)."""
    from colorbench.methods.cnn.common import state_digest

    grays = [np.random.default_rng(0).integers(0, 256, (24, 40), dtype=np.uint8)]
    torch_method, onnx_method = get_method("cnn-original", smoke=True), get_method("cnn-original", smoke=True,
                                                                                   backend="onnx")
    torch_method.load("cpu")
    onnx_method.load("cpu")
    assert onnx_method.onnx_path.is_file() and onnx_method.config()["backend"] == "onnx"
    assert onnx_method.onnx_path.name == f"cnn-original-{state_digest(torch_method.model)}.onnx"
    a, b = torch_method.colorize(grays, seed=0)[0], onnx_method.colorize(grays, seed=0)[0]
    assert a.shape == b.shape == (24, 40, 3) and np.abs(a.astype(int) - b.astype(int)).max() <= 1
    digest = state_digest(torch_method.model)
    with torch.no_grad():
        next(reversed(list(torch_method.model.parameters())))[0] += 1e-3  # one weight of the last layer
    assert state_digest(torch_method.model) != digest
