"""``controlnet-canny`` and ``controlnet-canny-img2img``: Stable Diffusion 1.5 steered by Canny edges of the input.

For each gray input: frame it on the pipeline's square canvas (:mod:`.framing`: padding keeps the aspect ratio),
take its Canny edges (:mod:`.edges`), build its prompt (:mod:`.prompts`, label-aware if asked), and generate with
a generator seeded from that image's own seed — so an image's output does not depend on which batch it was in, and
any image can be regenerated alone. The padding is cropped off and the raw generated RGB returned at canvas scale
(e.g. 512×512 for a square input); the runner resizes its ab to the input and keeps the input's L (L-merge).

The img2img variant starts denoising from the gray photo itself (``strength`` of the way back to noise) instead of
pure noise, still steered by the same edges and prompts.

Example (the tiny untrained model; real weights: drop ``smoke=True``)::

    >>> import numpy as np
    >>> method = ControlNetCanny(smoke=True, steps=2)
    >>> method.load("cpu")
    >>> raw = method.colorize([np.full((48, 80), 128, np.uint8)], seed=0, labels=["basketball"])
    >>> raw[0].shape   # long side fills the 64² smoke canvas; aspect kept
    (38, 64, 3)
"""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass
from typing import Any, ClassVar, Sequence

import numpy as np

from colorbench.methods.base import SMOKE_LABEL, Method, check_grays, per_image_seeds
from colorbench.methods.diffusion import edges as edges_mod
from colorbench.methods.diffusion import prompts as prompts_mod
from colorbench.methods.diffusion.framing import ASPECT_MODES, Aspect, Framing
from colorbench.methods.diffusion.loading import (
    DEFAULT_BASE_MODEL,
    DEFAULT_CONTROLNET_MODEL,
    ETA_SCHEDULERS,
    DiffusionOutOfMemory,
    Dtype,
    attention_kind,
    load_pipeline,
    scheduler_name,
)
from colorbench.methods.options import MethodOptions, speed_only

DEFAULT_RESOLUTION = 512
SMOKE_RESOLUTION = 64  # the tiny model's canvas unless a resolution is given


@dataclass(frozen=True, kw_only=True)
class DiffusionOptions(MethodOptions):
    """Model ids (a Hugging Face repo id or a local folder, pinned with ``revision``/``variant``), prompts
    (:mod:`.prompts`), framing (:mod:`.framing`), Canny thresholds, sampler settings, and speed/memory switches.
    ``resolution`` None: 512, or the tiny model's 64 in smoke runs. ``download``: fetch missing weights (else fail
    with the fix)."""

    base_model: str | os.PathLike = DEFAULT_BASE_MODEL
    controlnet_model: str | os.PathLike = DEFAULT_CONTROLNET_MODEL
    preset: str | None = prompts_mod.DEFAULT_PRESET
    prompt: str | None = None
    negative_prompt: str | None = None
    unknown_label: str = prompts_mod.DEFAULT_UNKNOWN_LABEL
    resolution: int | None = None
    aspect: Aspect = "pad"
    canny_low: int = edges_mod.DEFAULT_LOW_THRESHOLD
    canny_high: int = edges_mod.DEFAULT_HIGH_THRESHOLD
    steps: int = 20
    guidance_scale: float = 7.5
    controlnet_scale: float = 1.0
    guess_mode: bool = False
    control_guidance_start: float = 0.0
    control_guidance_end: float = 1.0
    scheduler: str = "unipc"
    eta: float = 0.0
    clip_skip: int | None = None
    revision: str | None = None
    controlnet_revision: str | None = None
    variant: str | None = None
    controlnet_variant: str | None = None
    batch_size: int = speed_only(4)
    dtype: Dtype = "auto"
    cpu_offload: bool = speed_only(False)
    channels_last: bool | None = speed_only(None)
    compile: bool = speed_only(False)
    vae_slicing: bool = speed_only(True)
    download: bool = speed_only(True)


@dataclass(frozen=True, kw_only=True)
class Img2ImgOptions(DiffusionOptions):
    """``strength``: how far back towards noise the gray photo goes before denoising (1 = all the way)."""

    strength: float = 0.8


class ControlNetCanny(Method):
    name = "controlnet-canny"
    family = "diffusion"
    stochastic = True
    heavy_on_cpu = True  # minutes per 512² image on a CPU: not part of the automatic CPU selection
    requires_extra = "diffusion"  # diffusers & co.: not in `make demo`'s or `make test`'s install
    description = ("Stable Diffusion 1.5 + Canny ControlNet (diffusers): generated from noise, steered by the "
                   "input's edges and a prompt; L-merged onto the input.")
    pipeline_kind = "txt2img"

    Options: ClassVar[type[DiffusionOptions]] = DiffusionOptions

    def __init__(self, options: DiffusionOptions | None = None, /, **values: Any) -> None:
        super().__init__(options, **values)
        o = self.options
        prompts_mod.resolve_templates(o.preset, o.prompt, o.negative_prompt)  # fail at construction, not mid-run
        if o.aspect not in ASPECT_MODES:
            raise ValueError(f"aspect must be one of {ASPECT_MODES}, got {o.aspect!r}")
        if o.steps < 1 or o.batch_size < 1:
            raise ValueError(f"steps and batch_size must be >= 1, got steps={o.steps}, batch_size={o.batch_size}")
        scheduler = scheduler_name(o.scheduler)
        if not 0.0 <= o.control_guidance_start < o.control_guidance_end <= 1.0:
            raise ValueError(f"need 0 <= control_guidance_start < control_guidance_end <= 1 (fractions of the "
                             f"steps the ControlNet acts in), got {o.control_guidance_start} and "
                             f"{o.control_guidance_end}")
        if o.eta < 0 or (o.eta and scheduler not in ETA_SCHEDULERS):
            raise ValueError(f"eta={o.eta} acts only with scheduler={'|'.join(ETA_SCHEDULERS)} (the others would "
                             f"ignore it); set scheduler=ddim or drop eta")
        if o.clip_skip is not None and o.clip_skip < 0:
            raise ValueError(f"clip_skip counts CLIP layers to skip and must be >= 0, got {o.clip_skip}")
        self.base_model, self.controlnet_model = str(o.base_model), str(o.controlnet_model)
        self.preset, self.prompt, self.negative_prompt, self.unknown_label = (
            o.preset, o.prompt, o.negative_prompt, o.unknown_label)
        self.resolution = edges_mod.check_resolution(o.resolution or (SMOKE_RESOLUTION if o.smoke
                                                                      else DEFAULT_RESOLUTION))
        self.aspect = o.aspect
        self.canny_low, self.canny_high = o.canny_low, o.canny_high
        self.steps, self.guidance_scale, self.controlnet_scale = o.steps, o.guidance_scale, o.controlnet_scale
        self.guess_mode = o.guess_mode
        self.control_guidance_start, self.control_guidance_end = o.control_guidance_start, o.control_guidance_end
        self.eta, self.clip_skip = o.eta, o.clip_skip
        self.revision, self.controlnet_revision = o.revision, o.controlnet_revision
        self.variant, self.controlnet_variant = o.variant, o.controlnet_variant
        self.scheduler, self.batch_size, self.dtype = scheduler, o.batch_size, o.dtype
        self.cpu_offload, self.channels_last, self.compile, self.vae_slicing = (
            o.cpu_offload, o.channels_last, o.compile, o.vae_slicing)
        self.download, self.smoke = o.download, o.smoke
        if o.smoke:
            self.description = f"{type(self).description} [{SMOKE_LABEL}]"
        # With aspect=stretch the output covers the whole input, squeezed to the square canvas; the L-merge's
        # resize to the input undoes the squeeze, so colours stay aligned (the runner must not warn).
        self.output_spans_input = o.aspect == "stretch"
        self.pipe = None

    # ------------------------------------------------------------------------------------------------ loading
    def weights(self) -> list[str]:
        if self.smoke:
            return []
        from colorbench.weights import REGISTRY

        return [s.name for s in REGISTRY.values()
                if s.source == "hf" and s.hf_repo in (self.base_model, self.controlnet_model)]

    def load(self, device: str) -> None:
        self.device = str(device)
        options = dict(device=self.device, dtype=self.dtype, scheduler=self.scheduler, cpu_offload=self.cpu_offload,
                       channels_last=self.channels_last, compile=self.compile, vae_slicing=self.vae_slicing)
        if self.smoke:
            from colorbench.methods.diffusion.tiny import save_tiny_weights

            # The tiny model goes through save_pretrained/from_pretrained like real weights: one loading path.
            with tempfile.TemporaryDirectory(prefix="colorbench-tiny-sd-") as folder:
                base, controlnet = save_tiny_weights(folder)
                self.pipe = load_pipeline(self.pipeline_kind, base, controlnet, warn_cpu=False, **options)
        else:
            self.pipe = load_pipeline(self.pipeline_kind, self.base_model, self.controlnet_model,
                                      download=self.download, revision=self.revision,
                                      controlnet_revision=self.controlnet_revision, variant=self.variant,
                                      controlnet_variant=self.controlnet_variant, method=self.name, **options)

    def unload(self) -> None:
        self.pipe = None
        super().unload()

    # ------------------------------------------------------------------------------------------------ running
    def build_prompts(self, labels: Sequence[str | None]) -> tuple[list[str], list[str]]:
        return prompts_mod.build_prompts(labels, self.preset, self.prompt, self.negative_prompt, self.unknown_label)

    def colorize(
        self,
        grays: list[np.ndarray],
        *,
        seed: int,
        item_seeds: Sequence[int] | None = None,
        labels: Sequence[str | None] | None = None,
    ) -> list[np.ndarray]:
        check_grays(grays, self.name)
        if self.pipe is None:
            raise RuntimeError(f"{self.name}: call load(device) before colorize")
        n = len(grays)
        seeds = per_image_seeds(n, seed, item_seeds)  # lengths checked by Method (one check for every method)
        labels = list(labels) if labels is not None else [None] * n
        self.stage_seconds = {"edges": 0.0, "generate": 0.0}

        start = time.perf_counter()
        framings = [Framing.fit(*g.shape, canvas=self.resolution, aspect=self.aspect) for g in grays]
        canvases = [f.place(g) for f, g in zip(framings, grays)]
        edge_maps = [edges_mod.framed_edges(f, c, self.canny_low, self.canny_high) for f, c in zip(framings, canvases)]
        prompts, negatives = self.build_prompts(labels)
        self.stage_seconds["edges"] = time.perf_counter() - start

        start = time.perf_counter()
        outputs: list[np.ndarray] = []
        for lo in range(0, n, self.batch_size):
            hi = min(n, lo + self.batch_size)
            images = self._generate(canvases[lo:hi], edge_maps[lo:hi], prompts[lo:hi], negatives[lo:hi], seeds[lo:hi])
            outputs.extend(f.crop(img) for f, img in zip(framings[lo:hi], images))
        self.stage_seconds["generate"] = time.perf_counter() - start
        return outputs

    def _pipeline_inputs(self, canvases: list[np.ndarray], edge_maps: list[np.ndarray]) -> dict[str, Any]:
        from PIL import Image

        return {"image": [Image.fromarray(e).convert("RGB") for e in edge_maps]}

    def _generate(self, canvases, edge_maps, prompts, negatives, seeds) -> list[np.ndarray]:
        import torch

        # One CPU generator per image: its initial noise (and, for img2img, its VAE sample) depends on its seed
        # alone, identically on every device.
        generators = [torch.Generator(device="cpu").manual_seed(int(s)) for s in seeds]
        try:
            with torch.inference_mode():
                result = self.pipe(
                    prompt=list(prompts), negative_prompt=list(negatives), height=self.resolution,
                    width=self.resolution, num_inference_steps=self.steps, guidance_scale=self.guidance_scale,
                    controlnet_conditioning_scale=self.controlnet_scale, guess_mode=self.guess_mode,
                    control_guidance_start=self.control_guidance_start, control_guidance_end=self.control_guidance_end,
                    eta=self.eta, clip_skip=self.clip_skip, generator=generators, output_type="np",
                    **self._pipeline_inputs(canvases, edge_maps),
                )
        except torch.cuda.OutOfMemoryError as exc:
            torch.cuda.empty_cache()
            raise DiffusionOutOfMemory(
                f"{self.name}: CUDA ran out of memory generating {len(seeds)} images at {self.resolution}² "
                f"({self.dtype} weights, cpu_offload={self.cpu_offload}). Fixes: a smaller batch (batch_size=1 or 2), "
                f"cpu_offload=True (fits a 4 GB GPU, slower), dtype='float16' if you forced float32, or free the GPU "
                f"from other notebooks/processes. ({exc})"
            ) from None
        images = np.clip(np.rint(np.asarray(result.images, dtype=np.float32) * 255.0), 0, 255).astype(np.uint8)
        return list(images)

    def config(self) -> dict:
        import diffusers

        cfg = {
            "base_model": self.base_model if not self.smoke else "tiny (untrained)",
            "controlnet_model": self.controlnet_model if not self.smoke else "tiny (untrained)",
            "pipeline": self.pipeline_kind,
            "preset": self.preset, "prompt": self.prompt, "negative_prompt": self.negative_prompt,
            "prompt_template": prompts_mod.resolve_templates(self.preset, self.prompt, self.negative_prompt)[0],
            "negative_template": prompts_mod.resolve_templates(self.preset, self.prompt, self.negative_prompt)[1],
            "unknown_label": self.unknown_label,
            "resolution": self.resolution, "aspect": self.aspect,
            "canny_low": self.canny_low, "canny_high": self.canny_high,
            "steps": self.steps, "guidance_scale": self.guidance_scale, "controlnet_scale": self.controlnet_scale,
            "guess_mode": self.guess_mode, "control_guidance_start": self.control_guidance_start,
            "control_guidance_end": self.control_guidance_end, "eta": self.eta, "clip_skip": self.clip_skip,
            "revision": self.revision, "controlnet_revision": self.controlnet_revision, "variant": self.variant,
            "controlnet_variant": self.controlnet_variant,
            "scheduler": self.scheduler, "batch_size": self.batch_size, "dtype": self.dtype,
            "cpu_offload": self.cpu_offload, "channels_last": self.channels_last, "compile": self.compile,
            "vae_slicing": self.vae_slicing, "diffusers": diffusers.__version__, "smoke": self.smoke,
        }
        if self.pipe is not None:
            cfg["torch_dtype"] = str(self.pipe.unet.dtype).replace("torch.", "")
            cfg["attention"] = attention_kind(self.pipe)
            cfg["scheduler_class"] = type(self.pipe.scheduler).__name__
        return cfg


class ControlNetCannyImg2Img(ControlNetCanny):
    name = "controlnet-canny-img2img"
    description = ("Stable Diffusion 1.5 + Canny ControlNet img2img (diffusers): starts from the gray photo, "
                   "steered by its edges and a prompt; L-merged onto the input.")
    pipeline_kind = "img2img"

    Options = Img2ImgOptions

    def __init__(self, options: Img2ImgOptions | None = None, /, **values: Any) -> None:
        super().__init__(options, **values)
        strength = self.options.strength
        if not 0.0 < strength <= 1.0:
            raise ValueError(f"strength must be in (0, 1], got {strength}")
        # With strength s only round(s * steps) denoising steps run (from the partly noised photo).
        if int(self.steps * strength) < 1:
            raise ValueError(f"steps={self.steps} x strength={strength} leaves no denoising step; raise either")
        self.strength = float(strength)

    def _pipeline_inputs(self, canvases: list[np.ndarray], edge_maps: list[np.ndarray]) -> dict[str, Any]:
        from PIL import Image

        return {"image": [Image.fromarray(c).convert("RGB") for c in canvases],
                "control_image": [Image.fromarray(e).convert("RGB") for e in edge_maps],
                "strength": self.strength}

    def config(self) -> dict:
        return {**super().config(), "strength": self.strength}
