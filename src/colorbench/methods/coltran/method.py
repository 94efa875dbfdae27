"""``coltran``: Google's ColTran (Kumar, Weissenborn, Kalchbrenner, ICLR 2021) as a colorbench method.

Any input size -> the official preprocessing (centre square crop, area resize to 256 and 64 px) -> colorizer
(autoregressive, 512 coarse colours at 64x64) -> colour upsampler -> spatial upsampler (256x256) -> the result
placed on a canvas with the input's aspect ratio (:func:`~.pipeline.place_on_input_canvas`: outside the centre
square ColTran has no colour, so those pixels stay gray).

Default sampler: ``official=True`` — the official algorithm including its row-only conditioning quirk, because
colorbench evaluates ColTran as released and published (the paper's samples and FID come from that sampler); the
``official=False`` variant (the distribution the model was trained on) is an option to compare. The upsamplers are
argmax, as in the official ``custom_colorize.py``. ``mode="sample"`` (official default) draws each image from its
own item seed, so K samples per image come from K item seeds.

Weights: converted safetensors in ``$COLORBENCH_MODELS/coltran/``; if absent, the release
(``coltran-release``, unpacked to ``$COLORBENCH_MODELS/coltran/release``) is converted once (needs TensorFlow).
"""

from __future__ import annotations

import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Literal, Mapping, Sequence

import numpy as np

from colorbench.extras import install_command
from colorbench.methods.base import SMOKE_LABEL, Method, check_grays, per_image_seeds
from colorbench.methods.coltran.sampler import Mode
from colorbench.methods.options import MethodOptions, speed_only

KINDS = ("colorizer", "color_upsampler", "spatial_upsampler")


def converted_dir() -> Path:
    from colorbench.paths import models_dir

    return models_dir() / "coltran"


def convert_command(folder: Path | None = None, release: Path | str | None = None) -> str:
    """The ``colorbench coltran convert`` command that writes the converted models into ``folder`` (its ``--out``
    only where that is not the default), from ``release`` (``--release``; None: the registry's release, fetched when
    missing). What a skip message and ``colorbench coltran info`` tell the user to type."""
    out = f" --out {folder}" if folder is not None and Path(folder) != converted_dir() else ""
    return f"colorbench coltran convert{f' --release {release}' if release else ''}{out}"


def ensure_converted(folder: Path | None = None, *, download: bool = True) -> Path:
    """The folder with the three converted models; converts the release (downloading it if needed) when absent."""
    from colorbench import weights
    from colorbench.methods.coltran.convert import convert_release, converted_paths

    folder = Path(folder) if folder else converted_dir()
    if all(p.is_file() for kind in KINDS for p in converted_paths(folder, kind)):
        return folder
    spec = weights.get_spec("coltran-release")
    try:
        release = weights.ensure(spec, download=download)
    except weights.WeightsUnavailable as exc:
        # the release is only the raw material: say what ColTran really runs from, and the command that makes it
        raise weights.WeightsUnavailable(spec, (
            f"{exc.reason}; ColTran runs from converted models ({', '.join(KINDS)} .safetensors + .json in "
            f"{folder}), which `{convert_command(folder)}` makes once from the release (downloading it), or "
            f"`{convert_command(folder, 'DIR')}` from a coltran.zip unpacked into DIR; that needs TensorFlow "
            f"once: {install_command('convert', python=sys.executable)}")) from None
    try:
        convert_release(release, folder)  # TensorFlow is imported in there, and only there
    except ImportError as exc:
        raise weights.WeightsUnavailable(
            spec, f"the release at {release} must be converted once (`{convert_command(folder)}`): {exc}") from None
    return folder


@dataclass(frozen=True, kw_only=True)
class ColTranOptions(MethodOptions):
    """``mode``: "sample" (the official default: each image from its own item seed) or "argmax";
    ``temperature`` of the colorizer's sampling; ``official``: the official sampler, row-only conditioning quirk
    included (see the module docstring); ``dtype``/``tf32``: CUDA precision (float32 on a CPU).
    ``upsampler_batch``: image-channels per upsampler pass (None: chosen from the device's free memory);
    ``cpu_threads``: torch threads on a CPU, one number or one per stage; None: ``pipeline.DEFAULT_CPU_THREADS``,
    measured by ``benchmarks/coltran_threads.py`` (colorizer on 1 thread, upsamplers on torch's setting)."""

    mode: Mode = "sample"
    temperature: float = 1.0
    official: bool = True
    # the colorizer's cached sampler needs batches on a GPU: 11.9 images/s at 64 vs 10.2 at 32 (float32, H100;
    # README "Speed"); the upsamplers chunk by free memory (upsampler_batch), so 64 fits smaller GPUs too
    batch_size: int = speed_only(64)
    dtype: Literal["float32", "bfloat16", "float16"] = "float32"
    cuda_graph: bool = speed_only(True)
    compile: bool = speed_only(False)
    tf32: bool = True
    upsampler_batch: int | None = speed_only(None)
    cpu_threads: int | Mapping[str, int] | None = speed_only(None)


class ColTran(Method):
    name = "coltran"
    family = "transformer"
    stochastic = True
    heavy_on_cpu = True  # the full autoregressive colorizer takes minutes per image on a CPU
    description = ("Google's ColTran (ICLR 2021): axial-transformer colorizer + colour and spatial upsamplers; "
                   "port checked against the official code.")

    Options = ColTranOptions

    def __init__(self, options: ColTranOptions | None = None, /, **values):
        super().__init__(options, **values)
        o = self.options
        if not o.temperature > 0:
            raise ValueError(f"coltran: temperature must be > 0, got {o.temperature}")
        self.mode, self.temperature, self.official = o.mode, o.temperature, o.official
        self.batch_size = max(1, o.batch_size)
        self.upsampler_batch = o.upsampler_batch
        self.dtype, self.cuda_graph, self.compile, self.tf32 = o.dtype, o.cuda_graph, o.compile, o.tf32
        self.cpu_threads = o.cpu_threads
        self.smoke = o.smoke
        self.pipeline = None
        self._source = None
        if self.smoke:
            self.description = f"{type(self).description} [{SMOKE_LABEL}: tiny random models]"

    def weights(self) -> list[str]:
        return [] if self.smoke else ["coltran-release"]

    def load(self, device: str) -> None:
        from colorbench.methods.coltran.pipeline import ColTranPipeline

        self.device = device
        on_cuda = device.startswith("cuda")
        options = dict(device=device, dtype=self.dtype if on_cuda else "float32",
                       cuda_graph=self.cuda_graph and on_cuda, compile=self.compile and on_cuda,
                       upsampler_batch=self.upsampler_batch,
                       cpu_threads=None if on_cuda else self.cpu_threads)
        if self.smoke:
            self.pipeline = ColTranPipeline.smoke(**options)
            self._source = "smoke (random init)"
        else:
            folder = ensure_converted()
            self.pipeline = ColTranPipeline.from_converted(folder, **options)
            self._source = str(folder)

    def colorize(self, grays: list[np.ndarray], *, seed: int, item_seeds: Sequence[int] | None = None,
                 labels: Sequence[str | None] | None = None) -> list[np.ndarray]:
        from colorbench.methods.coltran.pipeline import place_on_input_canvas

        check_grays(grays, self.name)
        if self.pipeline is None:
            raise RuntimeError("coltran: call load(device) before colorize")
        seeds = per_image_seeds(len(grays), seed, item_seeds)
        self.stage_seconds = {}
        outputs: list[np.ndarray] = []
        with self._tf32():
            for start in range(0, len(grays), self.batch_size):
                chunk = grays[start:start + self.batch_size]
                result = self.pipeline.run(chunk, mode=self.mode, temperature=self.temperature,
                                           seeds=seeds[start:start + self.batch_size], official=self.official)
                for stage, secs in result.seconds.items():
                    self.stage_seconds[stage] = self.stage_seconds.get(stage, 0.0) + secs
                t0 = time.perf_counter()
                outputs += [place_on_input_canvas(g, rgb) for g, rgb in zip(chunk, result.rgb_256)]
                self.stage_seconds["postprocess"] = (self.stage_seconds.get("postprocess", 0.0)
                                                     + time.perf_counter() - t0)
        return outputs

    @contextmanager
    def _tf32(self) -> Iterator[None]:
        """TF32 float32 matmuls (tensor cores) for this method's own CUDA work only: torch's flags are process-wide,
        so they are set for the call and restored after it, leaving other methods and the scorer exact."""
        if not (self.tf32 and self.device.startswith("cuda")):
            yield
            return
        from colorbench.methods.coltran.pipeline import tf32_products

        with tf32_products(True):
            yield

    def config(self) -> dict:
        cfg = {"mode": self.mode, "temperature": self.temperature, "official": self.official,
               "batch_size": self.batch_size, "dtype": self.dtype, "cuda_graph": self.cuda_graph,
               "compile": self.compile, "upsamplers": "argmax", "weights": self._source}
        if self.smoke:
            cfg["smoke"] = True
        return cfg

    def unload(self) -> None:
        self.pipeline = None
        super().unload()
