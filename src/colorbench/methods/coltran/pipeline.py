"""The three ColTran stages chained, on numpy images: the notebook-level API.

Example (tiny random models; the real ones come from :meth:`ColTranPipeline.from_converted`)::

    >>> import numpy as np
    >>> pipe = ColTranPipeline.smoke()
    >>> out = pipe.run([np.full((80, 120), 100, np.uint8)], mode="argmax")
    >>> out.coarse_rgb_64.shape, out.rgb_64.shape, out.rgb_256.shape
    ((1, 64, 64, 3), (1, 64, 64, 3), (1, 256, 256, 3))

Stage by stage (``gray_inputs`` gives the official 256/64 px grays of any photo)::

    g256, g64 = preprocess.gray_inputs(gray)
    bins = pipe.colorize_coarse(g64[None], mode="sample", seeds=[1])      # (1, 64, 64) bins, 512 colours
    rgb64 = pipe.upsample_color(bins, g64[None])                           # (1, 64, 64, 3) uint8
    rgb256 = pipe.upsample_spatial(rgb64, g256[None])                      # (1, 256, 256, 3) uint8
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Mapping, Sequence

import numpy as np
import torch

from colorbench.methods.coltran import preprocess as P
from colorbench.methods.coltran.config import smoke_config
from colorbench.methods.coltran.models import build_model
from colorbench.methods.coltran.sampler import sample_colorizer

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
STAGES = ("colorizer", "color_upsampler", "spatial_upsampler")


# The default ``cpu_threads`` (None), from ``benchmarks/coltran_threads.py`` (1 vs 2 threads per stage, full-size
# models, alternating; benchmarks/out/coltran_threads.json, a 2-core machine at load 7-9): the colorizer's sampler,
# ~100 tiny operations per pixel, took 5.5x the wall time on 2 threads (thread hand-offs, no speed), so it runs on
# one thread. The upsamplers were also 1.15-1.2x faster in wall time on 1 thread there, but only because 2 threads
# competed with ~8 other busy processes: their CPU seconds grew only 1.05-1.24x with 2 threads, so on an idle machine
# (wall ~ CPU / threads) the large matmuls gain from every core. They keep torch's setting; on a busy machine set
# ``cpu_threads=1``. Re-measured in benchmarks/out/coltran_vs_official.json (full-size colour upsampler, batch 1,
# load ~5.5): 2 threads 11.7 s wall / 7.5 s CPU, 1 thread 13.4 s / 6.7 s, so 2 threads stay the shorter wait.
DEFAULT_CPU_THREADS: dict[str, int] = {"colorizer": 1}


def stage_threads(cpu_threads: int | Mapping[str, int] | None) -> dict[str, int]:
    """``cpu_threads`` as {stage: torch CPU threads}: one number for every stage, or a mapping naming some stages
    (the others keep torch's setting; ``{}`` leaves every stage to torch). None (default): the measured
    :data:`DEFAULT_CPU_THREADS` (the colorizer on one thread, the upsamplers on torch's setting)."""
    if cpu_threads is None:
        return dict(DEFAULT_CPU_THREADS)
    if isinstance(cpu_threads, Mapping):
        unknown = set(cpu_threads) - set(STAGES)
        if unknown:
            raise ValueError(f"cpu_threads: unknown stage(s) {sorted(unknown)}; stages are {list(STAGES)}")
        threads = {stage: int(n) for stage, n in cpu_threads.items()}
    else:
        threads = dict.fromkeys(STAGES, int(cpu_threads))
    bad = {stage: n for stage, n in threads.items() if n < 1}
    if bad:
        raise ValueError(f"cpu_threads must be >= 1, got {bad}")
    return threads


@dataclass
class StageOutputs:
    """Every stage's output for a batch (numpy, NHWC)."""

    gray_256: np.ndarray  # (N, 256, 256) int32: the official 256 px gray (centre crop, area resize)
    gray_64: np.ndarray  # (N, 64, 64) int32
    coarse_bins: np.ndarray  # (N, 64, 64) int64, stage 1 (colorizer), 512 colours
    coarse_rgb_64: np.ndarray  # (N, 64, 64, 3) uint8, stage 1 as RGB (multiples of 32)
    rgb_64: np.ndarray  # (N, 64, 64, 3) uint8, stage 2 (colour upsampler)
    rgb_256: np.ndarray  # (N, 256, 256, 3) uint8, stage 3 (spatial upsampler)
    seconds: dict[str, float] = field(default_factory=dict)


@contextmanager
def tf32_products(on: bool) -> Iterator[None]:
    """float32 matrix products and convolutions in TensorFloat-32 (tensor cores) or exact, for the block only:
    torch's flags are process-wide, so they are restored after it, leaving other methods and the scorer as they were."""
    before = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = on
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = before


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class ColTranPipeline:
    """Colorizer -> colour upsampler -> spatial upsampler, on one device.

    ``dtype`` "bfloat16"/"float16" runs the models in half precision (CUDA; sampling still draws from float32
    logits); ``cuda_graph`` replays the colorizer's per-pixel step from a CUDA graph; ``compile`` wraps the
    upsamplers' encoders in ``torch.compile``; ``cpu_threads`` sets torch's CPU threads per stage
    (:func:`stage_threads`; default :data:`DEFAULT_CPU_THREADS`, from a measurement) for the duration of that stage.
    ``upsampler_batch`` is how many image-channels an upsampler encodes at once; None (default) chooses it from the
    device's free memory (:mod:`.memory`), so the default never asks for more memory than the machine has.
    """

    def __init__(self, colorizer, color_upsampler, spatial_upsampler, *, device: str | torch.device = "cpu",
                 dtype: str = "float32", cuda_graph: bool = False, compile: bool = False,
                 upsampler_batch: int | None = None,
                 cpu_threads: int | Mapping[str, int] | None = None, smoke: bool = False):
        self.device = torch.device(device)
        if dtype not in DTYPES:
            raise ValueError(f"dtype must be one of {list(DTYPES)}, got {dtype!r}")
        if dtype != "float32" and self.device.type != "cuda":
            raise ValueError(f"dtype={dtype!r} is for CUDA; on {self.device} use float32")
        if (cuda_graph or compile) and self.device.type != "cuda":
            raise ValueError("cuda_graph/compile are CUDA options")
        self.dtype = DTYPES[dtype]
        self.colorizer = colorizer.to(self.device, self.dtype).eval()
        self.color_upsampler = color_upsampler.to(self.device, self.dtype).eval()
        self.spatial_upsampler = spatial_upsampler.to(self.device, self.dtype).eval()
        self.cuda_graph = cuda_graph
        self.upsampler_batch = None if upsampler_batch is None else max(1, int(upsampler_batch))
        self.last_upsampler_chunks: dict[str, int] = {}  # items per chunk each upsampler used last (benchmarks)
        self.cpu_threads = stage_threads(cpu_threads) if self.device.type == "cpu" else {}
        self.smoke = smoke
        if compile:
            self.color_upsampler.encoder = torch.compile(self.color_upsampler.encoder, dynamic=False)
            self.spatial_upsampler.encoder = torch.compile(self.spatial_upsampler.encoder, dynamic=False)

    # -- construction
    @classmethod
    def from_converted(cls, folder: str | Path, **options) -> "ColTranPipeline":
        """Load ``{colorizer,color_upsampler,spatial_upsampler}.safetensors`` (+ .json) written by the converter."""
        from colorbench.methods.coltran.convert import load_converted

        return cls(*(load_converted(folder, kind) for kind in ("colorizer", "color_upsampler", "spatial_upsampler")),
                   **options)

    @classmethod
    def smoke(cls, seed: int = 0, **options) -> "ColTranPipeline":
        """Tiny randomly initialised models (seconds on CPU). Untrained: outputs are meaningless."""
        models = [build_model(smoke_config(kind), init="random", seed=seed + i)
                  for i, kind in enumerate(("colorizer", "color_upsampler", "spatial_upsampler"))]
        return cls(*models, smoke=True, **options)

    # -- stages
    @torch.no_grad()
    def colorize_coarse(self, gray_64: np.ndarray, *, mode: str = "sample", temperature: float = 1.0,
                        seeds: Sequence[int] | None = None, official: bool = True, cached: bool = True) -> np.ndarray:
        """Stage 1: (N, 64, 64) gray ints -> (N, 64, 64) coarse bins (0..511)."""
        gray = torch.as_tensor(np.asarray(gray_64)).to(self.device)
        out = sample_colorizer(self.colorizer, gray, mode=mode, temperature=temperature, official=official,
                               seeds=seeds, cached=cached, cuda_graph=self.cuda_graph and cached)
        return out.bins.cpu().numpy()

    def _items_per_chunk(self, model, n_items: int) -> int:
        from colorbench.methods.coltran.memory import auto_items

        if self.upsampler_batch is not None:
            return min(self.upsampler_batch, n_items)
        return auto_items(model.bytes_per_item(), n_items, self.device)

    @torch.no_grad()
    def upsample_color(self, coarse_bins: np.ndarray, gray_64: np.ndarray) -> np.ndarray:
        """Stage 2 (argmax, as the official pipeline): coarse bins (N, 64, 64) -> uint8 RGB (N, 64, 64, 3)."""
        bits = torch.as_tensor(P.bins_to_labels(coarse_bins)).to(self.device)
        gray = torch.as_tensor(np.asarray(gray_64)).to(self.device)
        chunk = self._items_per_chunk(self.color_upsampler, 3 * len(bits))
        self.last_upsampler_chunks["color_upsampler"] = chunk
        return self.color_upsampler.predict(bits, gray, items_per_chunk=chunk).cpu().numpy()

    @torch.no_grad()
    def upsample_spatial(self, rgb_64: np.ndarray, gray_256: np.ndarray) -> np.ndarray:
        """Stage 3 (argmax): uint8 RGB (N, 64, 64, 3) + gray (N, 256, 256) -> uint8 RGB (N, 256, 256, 3).

        The replicated 256 px input is built per chunk of images, so its int64 copy never exceeds one chunk."""
        chunk = self._items_per_chunk(self.spatial_upsampler, 3 * len(rgb_64))
        self.last_upsampler_chunks["spatial_upsampler"] = chunk
        images = max(1, chunk // 3)  # whole images per predict call; predict splits their channels by `chunk`
        out = []
        for start in range(0, len(rgb_64), images):
            part = np.asarray(rgb_64[start:start + images])
            up = torch.as_tensor(P.upsample_replicate(part, batched=True).astype(np.int64)).to(self.device)
            gray = torch.as_tensor(np.asarray(gray_256[start:start + images])).to(self.device)
            out.append(self.spatial_upsampler.predict(up, gray, items_per_chunk=chunk).cpu().numpy())
        return np.concatenate(out)

    def run(self, grays: Sequence[np.ndarray], *, mode: str = "sample", temperature: float = 1.0,
            seeds: Sequence[int] | None = None, official: bool = True, cached: bool = True) -> StageOutputs:
        """All stages on uint8 ``HxW`` grays of any size (official preprocessing: centre crop, area resize)."""
        seconds: dict[str, float] = {}
        with self._timed("preprocess", seconds):
            pairs = [P.gray_inputs(g) for g in grays]
            g256 = np.stack([p[0] for p in pairs])
            g64 = np.stack([p[1] for p in pairs])
        with self._timed("colorizer", seconds):
            bins = self.colorize_coarse(g64, mode=mode, temperature=temperature, seeds=seeds, official=official,
                                        cached=cached)
        with self._timed("color_upsampler", seconds):
            rgb64 = self.upsample_color(bins, g64)
        with self._timed("spatial_upsampler", seconds):
            rgb256 = self.upsample_spatial(rgb64, g256)
        return StageOutputs(g256, g64, bins, P.bins_to_rgb(bins), rgb64, rgb256, seconds)

    def samples(self, gray: np.ndarray, k: int, *, seed: int = 0, temperature: float = 1.0,
                official: bool = True) -> StageOutputs:
        """``k`` samples of one uint8 gray image (item seeds ``item_seed(seed, "k<i>")``), every stage kept."""
        from colorbench.methods.base import item_seed

        return self.run([gray] * k, mode="sample", temperature=temperature, official=official,
                        seeds=[item_seed(seed, f"k{i}") for i in range(k)])

    @contextmanager
    def _timed(self, name: str, into: dict[str, float]) -> Iterator[None]:
        threads_before = torch.get_num_threads()
        if name in self.cpu_threads:
            torch.set_num_threads(self.cpu_threads[name])
        _sync(self.device)
        t0 = time.perf_counter()
        try:
            yield
        finally:
            _sync(self.device)
            into[name] = into.get(name, 0.0) + time.perf_counter() - t0
            torch.set_num_threads(threads_before)


def place_on_input_canvas(gray: np.ndarray, rgb_256: np.ndarray) -> np.ndarray:
    """Return ColTran's 256x256 centre-crop result aligned with the whole input.

    ColTran only sees the centre square of a non-square photo. The output has the input's aspect ratio at ColTran's
    scale (the crop's side -> 256 px): the crop region holds the colorized result, the parts ColTran never saw hold the
    input's gray (no colour), so L-merging puts every colour where it belongs. Square inputs get the 256x256 output
    unchanged.
    """
    h, w = gray.shape
    side = min(h, w)
    if h == w:
        return rgb_256
    scale = 256.0 / side
    out_h, out_w = int(round(h * scale)), int(round(w * scale))
    canvas = np.repeat(
        np.clip(np.round(P.resize_area(gray, (out_h, out_w))), 0, 255).astype(np.uint8)[..., None], 3, axis=2)
    top = int(round((h - side) // 2 * scale))
    left = int(round((w - side) // 2 * scale))
    top, left = min(top, out_h - 256), min(left, out_w - 256)
    canvas[top:top + 256, left:left + 256] = rgb_256
    return canvas
