"""``ddcolor``: DDColor (Kang et al., ICCV 2023) as a colorbench method — the transformer family's strongest open
colorizer (ImageNet-val FID 3.92 against ColTran's 6.44 in the paper's Table 1).

The native output is the authors' ``ColorizationPipeline`` output for the gray image colorbench gives it (the gray
stacked to BGR, as ``cv2.imread`` reads a gray photo): OpenCV Lab, bilinear resize to ``input_size``, the network,
nearest ab upsampling to the photo's size, the photo's L joined back (:mod:`.pipeline`). The runner's L-merge then
applies as to every method. Checked against the authors' code layer by layer and end to end
(``tests/test_ddcolor_reference.py``).

Options (``--option ddcolor.KEY=VALUE``):

* ``variant``: ``modelscope`` (default, the authors' default; ConvNeXt-L), ``paper``, ``artistic`` (ConvNeXt-L) or
  ``paper_tiny`` (ConvNeXt-T): the Hugging Face repo ``piddnad/ddcolor_<variant>``;
* ``checkpoint``: a local file or folder instead (the authors' ``.pth``); its encoder size is read from its shapes;
* ``input_size``: 512 (every official inference script's default) or 256 (the size all models were trained and
  evaluated at);
* ``precision``: ``fp32`` (default), or ``fp16``/``bf16`` autocast on CUDA (a CPU always runs fp32);
* ``batch_size`` (speed only): images per forward; the authors run one at a time, batches give the same colours.

Usage (a sketch, not run by the doctests: it needs the DDColor weights and a GPU)::

    from colorbench.methods.registry import get_method
    m = get_method("ddcolor", variant="paper_tiny", input_size=256)   # or smoke=True: tiny random weights
    m.load("cuda")
    rgb = m.colorize([gray], seed=0)[0]     # uint8 HxWx3 at the gray image's size
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from colorbench.methods.base import SMOKE_LABEL, Method, check_grays
from colorbench.methods.options import MethodOptions, speed_only

log = logging.getLogger(__name__)

Variant = Literal["paper_tiny", "paper", "modelscope", "artistic"]
Precision = Literal["fp32", "fp16", "bf16"]
SMOKE_SEED = 0


@dataclass(frozen=True, kw_only=True)
class DDColorOptions(MethodOptions):
    """See the module docstring."""

    variant: Variant = "modelscope"
    checkpoint: str | None = None
    input_size: Literal[512, 256] = 512
    precision: Precision = "fp32"
    batch_size: int = speed_only(8)


def smoke_network():
    """A tiny DDColor with random weights (seeded): the real architecture at toy widths, for ``--smoke`` runs."""
    import torch

    from colorbench.methods.ddcolor.model import DDColorNet, EncoderSize

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(SMOKE_SEED)
        return DDColorNet(EncoderSize("smoke", (8, 16, 32, 64), (1, 1, 1, 1)), num_queries=8, nf=64, hidden=32,
                          heads=4, ffn=64, num_layers=3).eval()


class DDColor(Method):
    name = "ddcolor"
    family = "transformer"
    stochastic = False
    requires_extra = "ddcolor"
    description = ("DDColor (ICCV 2023): ConvNeXt encoder + pixel decoder + transformer colour decoder with 100 "
                   "colour queries; authors' weights, output equal to their pipeline's.")
    Options = DDColorOptions

    def __init__(self, options: DDColorOptions | None = None, /, **values):
        super().__init__(options, **values)
        o = self.options
        if o.batch_size < 1:
            raise ValueError(f"ddcolor: batch_size must be >= 1, got {o.batch_size}")
        self.net = None
        self._source: str | None = None
        self._precision = "fp32"
        if o.smoke:
            self.description = f"{type(self).description} [{SMOKE_LABEL}: tiny random model]"

    # -- contract
    def weights(self) -> list[str]:
        from colorbench.methods.ddcolor.checkpoint import weights_name

        if self.options.smoke or self.options.checkpoint is not None:
            return []
        return [weights_name(self.options.variant)]

    def not_ready(self) -> str | None:
        from pathlib import Path

        checkpoint = self.options.checkpoint
        if not self.options.smoke and checkpoint is not None and not Path(checkpoint).expanduser().exists():
            return f"checkpoint {checkpoint} does not exist"
        return super().not_ready()

    def load(self, device: str) -> None:
        import cv2  # noqa: F401 — absent: the base class names the extra and its install command, before any work
        import torch

        from colorbench.methods.ddcolor.checkpoint import load_network

        o = self.options
        if o.smoke:
            net, self._source = smoke_network(), "smoke (random init)"
        else:
            net, path = load_network(variant=o.variant, checkpoint=o.checkpoint)
            self._source = str(path)
        self.device = str(device)
        on_cuda = self.device.startswith("cuda")
        if o.precision != "fp32" and not on_cuda:
            log.warning("ddcolor: precision %s is for CUDA; running fp32 on %s", o.precision, self.device)
        self._precision = o.precision if on_cuda else "fp32"
        self.net = net.to(torch.device(self.device))

    def unload(self) -> None:
        self.net = None
        super().unload()

    def config(self) -> dict:
        o = self.options
        encoder = self.net.encoder_size.name if self.net is not None else None
        return {"variant": None if o.checkpoint else o.variant, "checkpoint": o.checkpoint, "encoder": encoder,
                "input_size": o.input_size, "precision": self._precision, "weights": self._source,
                "smoke": o.smoke}

    # -- work
    def colorize(self, grays: list[np.ndarray], *, seed: int, item_seeds: Sequence[int] | None = None,
                 labels: Sequence[str | None] | None = None) -> list[np.ndarray]:
        """uint8 ``HxW`` gray -> uint8 ``HxWx3`` RGB at the same size (deterministic: seeds are not used)."""
        from colorbench.methods.ddcolor.pipeline import bgr_of_gray

        check_grays(grays, self.name)
        return self.colorize_bgr([bgr_of_gray(g) for g in grays])

    def colorize_bgr(self, images_bgr: Sequence[np.ndarray]) -> list[np.ndarray]:
        """The authors' pipeline on BGR uint8 images (colour photos too: what the fixture tests), RGB out."""
        from colorbench.methods.ddcolor.pipeline import finish, network_inputs

        if self.net is None:
            raise RuntimeError("ddcolor: call load(device) before colorize")
        stages = {"preprocess": 0.0, "network": 0.0, "postprocess": 0.0}
        outputs: list[np.ndarray] = []
        for start in range(0, len(images_bgr), self.options.batch_size):
            chunk = images_bgr[start:start + self.options.batch_size]
            t0 = time.perf_counter()
            orig_ls, batch = network_inputs(chunk, self.options.input_size)
            t1 = time.perf_counter()
            ab = self.predict_ab(batch).cpu()
            t2 = time.perf_counter()
            outputs += [finish(orig_l, ab_i) for orig_l, ab_i in zip(orig_ls, ab)]
            t3 = time.perf_counter()
            for stage, seconds in zip(stages, (t1 - t0, t2 - t1, t3 - t2)):
                stages[stage] += seconds
        self.stage_seconds = stages
        return outputs

    def predict_ab(self, batch):
        """The network on a ``N x 3 x S x S`` gray RGB batch -> ab ``N x 2 x S x S`` float32 on the device."""
        import torch

        with torch.inference_mode(), self._numerics():
            ab = self.net(batch.to(self.device)).float()
            if self.device.startswith("cuda"):
                torch.cuda.synchronize(self.device)
        return ab

    def _numerics(self):
        """fp16/bf16: autocast (LayerNorm statistics and the spectral sigma stay fp32). fp32 on CUDA: TF32 off for
        the call (exact float32, as the reference), restored after: torch's flags are process-wide."""
        import torch

        if not self.device.startswith("cuda"):
            return contextlib.nullcontext()
        if self._precision != "fp32":
            dtype = torch.float16 if self._precision == "fp16" else torch.bfloat16
            return torch.autocast("cuda", dtype=dtype)
        from colorbench.methods.coltran.pipeline import tf32_products

        return tf32_products(False)
