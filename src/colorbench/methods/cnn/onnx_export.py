"""ONNX export of a CNN and an onnxruntime predictor with the same interface as :class:`TorchAbPredictor`.

The exported graph takes ``L`` (float32 ``N×1×H×W``, CIELAB units, H and W multiples of 8; batch and size are
dynamic) and returns ``ab`` (``N×2×H×W``); the input adapter and output scale are inside the graph, so
pre/post-processing is the same code for both backends (:mod:`colorbench.methods.cnn.inference`).
BatchNorm is exported in eval mode (running statistics).

Usage (a sketch, not run by the doctests: it needs onnxruntime and writes a file)::

    from colorbench.methods.cnn.onnx_export import export_onnx, OnnxAbPredictor
    export_onnx(model, "models/cnn/onnx/original.onnx")
    predictor = OnnxAbPredictor("models/cnn/onnx/original.onnx")
"""

from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path

import numpy as np

from colorbench.atomic import atomic_path

log = logging.getLogger(__name__)

INPUT_NAME = "L"
OUTPUT_NAME = "ab"
OPSET = 18


def export_onnx(model, path: str | os.PathLike, *, opset: int = OPSET) -> Path:
    """Export ``model`` (a :class:`ColorizationNet`) to ``path`` atomically; returns the path.

    Uses the torch.export-based exporter; falls back to the TorchScript exporter on torch versions without it.
    """
    import torch

    model = model.eval().to("cpu")
    example = (torch.full((1, 1, 64, 64), 50.0),)
    path = Path(path)
    with atomic_path(path) as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tmp_onnx = tmp.with_suffix(".onnx")  # the exporter wants a real .onnx name (it may write side files)
        try:
            try:
                from torch.export import Dim

                torch.onnx.export(
                    model, example, str(tmp_onnx), input_names=[INPUT_NAME], output_names=[OUTPUT_NAME],
                    dynamic_shapes={"L": {0: Dim.AUTO, 2: Dim.AUTO, 3: Dim.AUTO}}, dynamo=True,
                    opset_version=opset, verbose=False, external_data=False,
                )
            except Exception as exc:  # older torch, or an exporter regression: the TorchScript path still works
                log.debug("dynamo ONNX export failed (%s); using the TorchScript exporter", exc)
                axes = {0: "batch", 2: "height", 3: "width"}
                torch.onnx.export(
                    model, example, str(tmp_onnx), input_names=[INPUT_NAME], output_names=[OUTPUT_NAME],
                    dynamic_axes={INPUT_NAME: axes, OUTPUT_NAME: axes}, opset_version=17, dynamo=False,
                )
            os.replace(tmp_onnx, tmp)
        finally:
            if tmp_onnx.exists():
                tmp_onnx.unlink()
    return path


class OnnxAbPredictor:
    """onnxruntime session over an exported CNN; ``__call__(L) -> ab`` like :class:`TorchAbPredictor`."""

    def __init__(self, path: str | os.PathLike, *, providers: list[str] | None = None, threads: int | None = None):
        import onnxruntime as ort

        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = int(threads)
        self.path = Path(path)
        self.session = ort.InferenceSession(str(self.path), options, providers=providers or ["CPUExecutionProvider"])
        self.input_name = self.session.get_inputs()[0].name

    def __call__(self, L: np.ndarray) -> np.ndarray:
        return self.session.run(None, {self.input_name: np.ascontiguousarray(L, dtype=np.float32)})[0]
