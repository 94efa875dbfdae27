"""Loading Stable Diffusion 1.5 + a ControlNet (Canny, brightness): hub ids and local folders through one code path.

``resolve_weights`` turns a source into a local folder: an existing folder is used as is; a Hugging Face id goes
through :func:`colorbench.weights.ensure` (huggingface_hub's cache, ``$HF_HOME``; no network when present;
``HF_HUB_OFFLINE=1`` / ``COLORBENCH_OFFLINE=1`` forbid downloads). Ids declared in the weights registry (``sd15``,
``controlnet-canny-sd15``, ``controlnet-brightness-sd15``) use their declared file patterns; other ids (e.g.
``lllyasviel/control_v11p_sd15_canny``) get the same patterns for their role. Either way the folder is then read with
diffusers' ``from_pretrained`` — so a tiny model saved with ``save_pretrained`` exercises exactly what the real
weights go through.

Speed and memory: fp16 on CUDA (fp32 on CPU, warned: minutes per image), PyTorch SDPA attention (diffusers' default
with torch 2), a multistep scheduler (UniPC by default; see :data:`SCHEDULERS`; 20 steps is plenty), channels_last
on CUDA, VAE slicing (decode one image at a time: lower peak memory at batch > 1 for a negligible cost), optional
``torch.compile`` of the UNet and ControlNet, optional ``enable_model_cpu_offload`` for small GPUs. The safety
checker is not loaded: on a benchmark of sports photos its false positives would black out outputs and corrupt the
scores.

Example::

    >>> from colorbench.methods.diffusion.tiny import save_tiny_weights
    >>> import tempfile
    >>> base, controlnet = save_tiny_weights(tempfile.mkdtemp())
    >>> pipe = load_pipeline("txt2img", base, controlnet, device="cpu")
    >>> type(pipe).__name__
    'StableDiffusionControlNetPipeline'
"""

from __future__ import annotations

import logging
import os
import warnings
from dataclasses import replace
from pathlib import Path
from typing import Literal, get_args

from colorbench import weights
from colorbench.weights import WeightSpec, WeightsUnavailable

log = logging.getLogger(__name__)

DEFAULT_BASE_MODEL = "stable-diffusion-v1-5/stable-diffusion-v1-5"
DEFAULT_CONTROLNET_MODEL = "lllyasviel/sd-controlnet-canny"
# The registry entry whose file patterns a hub id of each role uses.
_ROLE_SPEC = {"base": "sd15", "controlnet": "controlnet-canny-sd15"}
_ROLE_WORDS = {"base": ("Stable Diffusion 1.5 model", "base_model", "model_index.json"),
               "controlnet": ("ControlNet", "controlnet_model", "config.json")}
# SD 1.5 ships with PNDM; the multistep solvers reach the same quality in ~20 steps; DDIM is the one ``eta`` acts on;
# Euler ancestral and DPM++ 2M Karras are what A1111/ComfyUI users know. Underscores are accepted for hyphens.
SCHEDULERS = ("unipc", "pndm", "ddim", "euler-a", "dpmpp-2m", "dpmpp-2m-karras")
ETA_SCHEDULERS = ("ddim",)  # the schedulers whose step() takes eta; the others would ignore it silently
PIPELINE_KINDS = ("txt2img", "img2img")
Dtype = Literal["auto", "float16", "bfloat16", "float32"]
DTYPES: tuple[str, ...] = get_args(Dtype)

_LOCAL_FIX = ("Fixes: with network access run the same command once (files are cached in $HF_HOME); offline, copy "
              "a Hugging Face cache that has them and point HF_HOME at it (HF_HUB_OFFLINE=1 then keeps "
              "huggingface_hub off the network); or download the folder anywhere and pass its path as {option}.")


class DiffusionWeightsError(WeightsUnavailable):
    """The base model or ControlNet could not be had or read; the message says which, why, and the fixes."""

    def __init__(self, spec: WeightSpec, message: str):  # noqa: D107 — own message, not WeightsUnavailable's
        RuntimeError.__init__(self, message)
        self.spec = spec
        self.reason = message


class DiffusionOutOfMemory(RuntimeError):
    """CUDA ran out of memory while generating; the message lists the fixes."""


def looks_like_hub_id(source: str) -> bool:
    parts = source.split("/")
    return (len(parts) == 2 and all(parts) and not source.startswith((".", "~"))
            and "\\" not in source and ":" not in source)


def _spec_for(source: str, role: str) -> WeightSpec:
    for spec in weights.REGISTRY.values():
        if spec.source == "hf" and spec.hf_repo == source:
            return spec
    template = weights.get_spec(_ROLE_SPEC[role])
    return replace(template, name=f"hf:{source}", relpath=source.replace("/", "--"), hf_repo=source,
                   hf_revision=None, sha256=None, size=None, licence="see the model card",
                   description=f"{role} {source} (not in the registry)")


def variant_patterns(patterns: tuple[str, ...] | None, variant: str | None) -> tuple[str, ...] | None:
    """The hub file patterns for a weights ``variant``: ``unet/diffusion_pytorch_model.safetensors`` becomes
    ``unet/diffusion_pytorch_model.fp16.safetensors`` (diffusers' naming), configs and tokenizer stay."""
    if not variant or patterns is None:
        return patterns
    return tuple(p[: -len(".safetensors")] + f".{variant}.safetensors" if p.endswith(".safetensors") else p
                 for p in patterns)


def _hub_spec(source: str, role: str, revision: str | None, variant: str | None) -> WeightSpec:
    spec = _spec_for(source, role)
    if revision:
        spec = replace(spec, hf_revision=revision, sha256=None, size=None)
    if variant:
        spec = replace(spec, hf_allow_patterns=variant_patterns(spec.hf_allow_patterns, variant), size=None)
    return spec


def option_words(role: str, method: str | None = None) -> str:
    """How a user sets ``role``'s source: ``--option METHOD.base_model=...`` (and the shared ``diffusion.`` prefix
    where the method takes that option from its group)."""
    option = _ROLE_WORDS[role][1]
    if method is None:
        return option
    from colorbench.methods.registry import OPTION_GROUPS, group_fields

    own = f"--option {method}.{option}=PATH"
    if method not in OPTION_GROUPS["diffusion"] or option not in group_fields(method):
        return own
    return f"{own} (or diffusion.{option}=PATH for every diffusion method that takes it)"


def resolve_weights(source: str | Path, role: str, *, download: bool = True, revision: str | None = None,
                    variant: str | None = None, method: str | None = None) -> Path:
    """Local folder for ``source`` (a folder, or a Hugging Face id fetched into the HF cache) of ``role``.

    ``role`` is ``"base"`` (a Stable Diffusion 1.5 folder with ``model_index.json``) or ``"controlnet"``.
    ``revision`` pins a hub id to a commit (or branch/tag); ``variant`` (e.g. ``"fp16"``) fetches only that variant's
    weight files. ``method`` names the method in the fixes (``--option METHOD.base_model=...``).
    Raises :class:`DiffusionWeightsError` with the fixes when it cannot be had.
    """
    if role not in _ROLE_SPEC:
        raise ValueError(f"role must be one of {tuple(_ROLE_SPEC)}, got {role!r}")
    what, _, marker = _ROLE_WORDS[role]
    option = option_words(role, method)
    text = str(source)
    local = Path(text).expanduser()
    if local.is_dir():
        if revision:
            raise DiffusionWeightsError(WeightSpec(name=f"local:{text}", relpath=text, source="url"),
                                        f"revision={revision!r} pins a Hugging Face id, but the {what} {text} is a "
                                        f"local folder: drop the revision, or pass the hub id")
        folder = local
    elif isinstance(source, Path) or local.exists() or not looks_like_hub_id(text):
        spec = WeightSpec(name=f"local:{text}", relpath=text, source="url")
        raise DiffusionWeightsError(spec, f"the {what} folder {local.resolve()} does not exist (or is not a folder); "
                                          f"pass an existing folder or a Hugging Face id as {option}")
    else:
        spec = _hub_spec(text, role, revision, variant)
        try:
            folder = weights.ensure(spec, download=download)
        except WeightsUnavailable as exc:
            raise DiffusionWeightsError(spec, f"the {what} {text!r} is not available: {exc.reason}. "
                                              + _LOCAL_FIX.format(option=option)
                                              + f" (If {text!r} was meant as a local folder: {local.resolve()} "
                                                "does not exist.)") from None
    if not (folder / marker).is_file():
        raise DiffusionWeightsError(WeightSpec(name=f"local:{folder}", relpath=str(folder)),
                                    f"{folder} is not a diffusers {what} folder: it has no {marker}. "
                                    + _LOCAL_FIX.format(option=option))
    return folder


def resolve_dtype(dtype: str, device: str):
    """``auto``: float16 on CUDA, float32 elsewhere (half precision on CPU is slow and poorly supported)."""
    import torch

    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {DTYPES}, got {dtype!r}")
    if dtype == "auto":
        return torch.float16 if str(device).startswith("cuda") else torch.float32
    return getattr(torch, dtype)


def scheduler_name(name: str) -> str:
    """The canonical spelling of a scheduler choice (``dpmpp_2m_karras`` -> ``dpmpp-2m-karras``); unknown: an error."""
    canonical = str(name).strip().lower().replace("_", "-")
    if canonical not in SCHEDULERS:
        raise ValueError(f"scheduler must be one of {', '.join(SCHEDULERS)}, got {name!r}")
    return canonical


def make_scheduler(name: str, config):
    """A scheduler from :data:`SCHEDULERS` built on the model's own noise schedule (``config``).

    ``unipc`` (default) and ``dpmpp-2m`` are deterministic multistep solvers good at ~20 steps; ``pndm`` is what SD
    1.5 ships with (needs ~50); ``ddim`` takes ``eta``; ``euler-a`` is ancestral (adds noise each step);
    ``dpmpp-2m-karras`` is DPM-Solver++ 2M on Karras et al.'s sigma spacing.
    """
    from diffusers import (
        DDIMScheduler,
        DPMSolverMultistepScheduler,
        EulerAncestralDiscreteScheduler,
        PNDMScheduler,
        UniPCMultistepScheduler,
    )

    name = scheduler_name(name)
    if name == "unipc":
        return UniPCMultistepScheduler.from_config(config)
    if name == "pndm":
        return PNDMScheduler.from_config(config, skip_prk_steps=True)  # as in SD 1.5's scheduler_config.json
    if name == "ddim":
        return DDIMScheduler.from_config(config)
    if name == "euler-a":
        return EulerAncestralDiscreteScheduler.from_config(config)
    return DPMSolverMultistepScheduler.from_config(config, algorithm_type="dpmsolver++", solver_order=2,
                                                   use_karras_sigmas=name == "dpmpp-2m-karras")


def _downloads_allowed(download: bool) -> bool:
    return download and os.environ.get("HF_HUB_OFFLINE") != "1" and os.environ.get("COLORBENCH_OFFLINE") != "1"


def _load_part(source, role: str, download: bool, load, *, revision=None, variant=None, method=None):
    """Resolve ``source`` and ``load(folder)``; a hub snapshot that fails to read is completed and read once more.

    An interrupted download leaves a snapshot folder with files missing, which the cache look-up still reports as
    present; :func:`colorbench.weights.fetch` (huggingface_hub's ``snapshot_download``) fetches just the missing files.
    """
    folder = resolve_weights(source, role, download=download, revision=revision, variant=variant, method=method)
    try:
        return _read(role, folder, load, method)
    except DiffusionWeightsError:
        local = Path(str(source)).expanduser()
        if local.is_dir() or not _downloads_allowed(download):
            raise
    spec = _hub_spec(str(source), role, revision, variant)
    log.warning("%s looks incomplete in the Hugging Face cache; fetching the missing files", source)
    try:
        folder = weights.fetch(spec)
    except WeightsUnavailable as exc:
        raise DiffusionWeightsError(spec, f"the {_ROLE_WORDS[role][0]} {source!r} is incomplete in the Hugging Face "
                                          f"cache and completing it failed: {exc.reason}. "
                                          + _LOCAL_FIX.format(option=option_words(role, method))) from None
    return _read(role, folder, load, method)


def _unreadable_errors() -> tuple[type[BaseException], ...]:
    """What reading a broken component raises: diffusers wraps a bad file in OSError for the UNet/VAE/ControlNet,
    but transformers lets safetensors' own ``SafetensorError`` (not an OSError) through for the text encoder, and a
    truncated ``.bin`` raises pickle's error."""
    import pickle

    errors: tuple[type[BaseException], ...] = (OSError, ValueError, KeyError, pickle.UnpicklingError)
    try:
        from safetensors import SafetensorError
    except ImportError:  # older safetensors: the class lives in the Rust module only
        return errors
    return (*errors, SafetensorError)


def corrupt_weight_files(folder: Path) -> list[str]:
    """The files under ``folder`` (relative paths) that cannot be what they claim, e.g. a download cut short: a
    ``*.safetensors`` whose header or size is broken (only headers are read, so this is quick even for the 3 GB
    UNet) or a ``*.json`` (configs, tokenizer vocabulary) that does not parse."""
    import json

    from safetensors import safe_open

    broken = []
    for path in sorted(Path(folder).rglob("*")):
        try:
            if path.suffix == ".safetensors":
                with safe_open(str(path), framework="pt"):
                    pass
            elif path.suffix == ".json":
                json.loads(path.read_text(encoding="utf-8"))
        except Exception:  # noqa: BLE001 — any failure to open or parse means the file is unusable
            broken.append(path.relative_to(folder).as_posix())
    return broken


def _read(role: str, folder: Path, load, method: str | None = None):
    what, option = _ROLE_WORDS[role][0], option_words(role, method)
    try:
        return load(folder)
    except _unreadable_errors() as exc:
        broken = corrupt_weight_files(folder)
        named = (f"{', '.join(broken)} {'is' if len(broken) == 1 else 'are'} corrupt or truncated (delete "
                 f"{'it' if len(broken) == 1 else 'them'} and fetch again); " if broken else "")
        raise DiffusionWeightsError(WeightSpec(name=f"local:{folder}", relpath=str(folder)),
                                    f"could not read the {what} in {folder}: {named}({type(exc).__name__}: {exc}); "
                                    f"the folder is incomplete or not a diffusers {what}. "
                                    + _LOCAL_FIX.format(option=option)) from None


def load_pipeline(kind: str, base_model: str | Path = DEFAULT_BASE_MODEL,
                  controlnet_model: str | Path = DEFAULT_CONTROLNET_MODEL, *, device: str = "cpu",
                  dtype: str = "auto", scheduler: str = "unipc", cpu_offload: bool = False,
                  channels_last: bool | None = None, compile: bool = False, vae_slicing: bool = True,
                  download: bool = True, warn_cpu: bool = True, revision: str | None = None,
                  controlnet_revision: str | None = None, variant: str | None = None,
                  controlnet_variant: str | None = None, method: str | None = None):
    """A ready ``StableDiffusionControlNet(Img2Img)Pipeline`` on ``device``. ``kind``: ``txt2img`` or ``img2img``.

    ``revision`` / ``controlnet_revision`` pin hub ids to a commit; ``variant`` / ``controlnet_variant`` (e.g.
    ``"fp16"``: half the download) read that variant's weight files (``*.fp16.safetensors``). ``method`` names the
    method whose options the error messages point to.
    """
    import torch
    from diffusers import ControlNetModel, StableDiffusionControlNetImg2ImgPipeline, StableDiffusionControlNetPipeline

    if kind not in PIPELINE_KINDS:
        raise ValueError(f"kind must be one of {PIPELINE_KINDS}, got {kind!r}")
    device = str(device)
    on_cuda = device.startswith("cuda")
    if cpu_offload and not on_cuda:
        raise ValueError(f"cpu_offload needs a CUDA device, got device={device!r}")
    torch_dtype = resolve_dtype(dtype, device)
    if warn_cpu and device == "cpu":
        warnings.warn("Stable Diffusion on CPU runs in float32 and takes minutes per image at 512²; "
                      "use a CUDA GPU (e.g. Colab's T4) for real runs.", RuntimeWarning, stacklevel=2)
    dtype_kw = {_dtype_keyword(): torch_dtype}
    pipeline_class = (StableDiffusionControlNetPipeline if kind == "txt2img"
                      else StableDiffusionControlNetImg2ImgPipeline)
    controlnet = _load_part(controlnet_model, "controlnet", download,
                            lambda folder: ControlNetModel.from_pretrained(folder, variant=controlnet_variant,
                                                                           **dtype_kw),
                            revision=controlnet_revision, variant=controlnet_variant, method=method)
    pipe = _load_part(base_model, "base", download,
                      lambda folder: pipeline_class.from_pretrained(folder, controlnet=controlnet, **dtype_kw,
                                                                    variant=variant, safety_checker=None,
                                                                    feature_extractor=None,
                                                                    requires_safety_checker=False),
                      revision=revision, variant=variant, method=method)
    pipe.scheduler = make_scheduler(scheduler, pipe.scheduler.config)
    _let_clip_skip_find_the_final_norm(pipe.text_encoder)
    pipe.set_progress_bar_config(disable=True)  # the runner shows progress over batches
    if vae_slicing:
        pipe.vae.enable_slicing()
    if channels_last if channels_last is not None else on_cuda:
        for module in (pipe.unet, pipe.controlnet, pipe.vae):
            module.to(memory_format=torch.channels_last)
    if cpu_offload:
        index = torch.device(device).index
        pipe.enable_model_cpu_offload(gpu_id=index if index is not None else 0)
    else:
        pipe.to(device)
    if compile:
        pipe.unet = torch.compile(pipe.unet)
        pipe.controlnet = torch.compile(pipe.controlnet)
    if attention_kind(pipe) != "sdpa":
        log.warning("attention is not PyTorch SDPA (%s); expect slower, hungrier generation", attention_kind(pipe))
    return pipe


def _let_clip_skip_find_the_final_norm(text_encoder) -> None:
    """transformers >= 5.6 flattened ``CLIPTextModel`` (no ``.text_model``), but diffusers' ``encode_prompt`` still
    reads ``text_encoder.text_model.final_layer_norm`` when ``clip_skip`` is set (huggingface/diffusers#14124, open).
    Point the old name at the model itself: a plain attribute, not a registered submodule, so ``state_dict``,
    ``.to()`` and offloading do not see a cycle."""
    if not hasattr(text_encoder, "text_model") and hasattr(text_encoder, "final_layer_norm"):
        object.__setattr__(text_encoder, "text_model", text_encoder)


def _dtype_keyword() -> str:
    """Recent diffusers renamed ``torch_dtype`` to ``dtype`` (the old name warns); older releases know only the old."""
    try:
        from diffusers.utils.deprecation_utils import _resolve_dtype  # noqa: F401 — present where ``dtype`` exists
    except ImportError:
        return "torch_dtype"
    return "dtype"


def attention_kind(pipe) -> str:
    """``"sdpa"`` when every UNet attention uses PyTorch's scaled_dot_product_attention, else the processor names."""
    unet = getattr(pipe.unet, "_orig_mod", pipe.unet)  # see through torch.compile
    names = sorted({type(p).__name__ for p in unet.attn_processors.values()})
    return "sdpa" if names == ["AttnProcessor2_0"] else ",".join(names)
