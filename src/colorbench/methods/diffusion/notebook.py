"""What notebook 03 computes: control images, the prompt presets, results per preset, raw vs L-merged (the grids
that show them are :mod:`colorbench.notebook.diffusion`, which sits above the methods).

They hold no logic of their own beyond wiring the method's parts together, so what a notebook shows is what a run
computes.

Example (tiny untrained model, so the colours are meaningless)::

    >>> import numpy as np
    >>> gray = np.full((64, 64), 120, np.uint8)
    >>> grids = colorize_presets([gray], labels=["rowing"], presets=("original", "label"), smoke=True, steps=2)
    >>> sorted(grids), grids["label"][0].shape
    (['label', 'original'], (64, 64, 3))
    >>> raw_resized, merged = raw_vs_merged(gray, grids["label"][0])
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from colorbench.color import merge_luminance, resize_channels
from colorbench.methods.diffusion.prompts import build_prompts, prompt_presets


def preset_table(label: str = "basketball") -> list[dict[str, str]]:
    """One row per preset: name, description, and its prompt/negative as rendered for ``label``."""
    rows = []
    for preset in prompt_presets():
        prompt, negative = build_prompts([label], preset=preset.name)
        rows.append({"preset": preset.name, "description": preset.description, "prompt": prompt[0],
                     "negative_prompt": negative[0], "uses_label": str(preset.uses_label)})
    return rows


def diffusion_method(name: str, options: dict[str, Any]):
    from colorbench.methods.registry import OPTION_GROUPS, get_method

    if name not in OPTION_GROUPS["diffusion"]:
        raise ValueError(f"{name!r} is not a diffusion method; diffusion methods: "
                         f"{', '.join(OPTION_GROUPS['diffusion'])}")
    return get_method(name, **options)


def control_images(method, grays: Sequence[np.ndarray]) -> list[np.ndarray]:
    """What ``method``'s ControlNet sees for each gray input (Canny edges, or the framed gray input itself), at the
    pipeline's canvas size: the same function the method's ``colorize`` calls."""
    from colorbench.methods.diffusion.framing import Framing

    framings = [Framing.fit(*g.shape, canvas=method.resolution, aspect=method.aspect) for g in grays]
    return method.control_images(framings, [f.place(g) for f, g in zip(framings, grays)])


def colorize_presets(
    grays: Sequence[np.ndarray],
    *,
    labels: Sequence[str | None] | None = None,
    presets: Sequence[str] = ("original", "label"),
    seed: int = 0,
    item_seeds: Sequence[int] | None = None,
    img2img: bool = False,
    method_name: str | None = None,
    device: str | None = None,
    method=None,
    **options: Any,
) -> dict[str, list[np.ndarray]]:
    """Raw outputs (native size) for each prompt preset, with one pipeline load for all of them.

    Same seeds for every preset, so differences come from the prompt alone. ``options`` are the method's
    constructor options (``smoke=True``, ``steps``, ``base_model``, ...); ``method_name`` picks the diffusion method
    (default ``controlnet-canny``, or its img2img twin with ``img2img=True``); or pass a loaded ``method``.
    """
    if method is None:
        from colorbench.provenance import resolve_device

        default = "controlnet-canny-img2img" if img2img else "controlnet-canny"
        method = diffusion_method(method_name or default, options)
        method.load(resolve_device(device or "auto"))
    saved = (method.preset, method.prompt, method.negative_prompt)
    results = {}
    try:
        for preset in presets:
            method.preset, method.prompt, method.negative_prompt = preset, None, None
            results[preset] = method.colorize(list(grays), seed=seed, item_seeds=item_seeds, labels=labels)
    finally:
        method.preset, method.prompt, method.negative_prompt = saved
    return results


def colorize_with_preset(grays: Sequence[np.ndarray], preset: str = "original", **kwargs: Any) -> list[np.ndarray]:
    """Raw outputs for one preset; same arguments as :func:`colorize_presets`."""
    return colorize_presets(grays, presets=(preset,), **kwargs)[preset]


def raw_vs_merged(gray: np.ndarray, raw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(raw output resized to the input's size, L-merged output as the runner scores it), both uint8 ``HxWx3``."""
    resized = np.clip(np.rint(resize_channels(raw.astype(np.float64), *gray.shape)), 0, 255).astype(np.uint8)
    return resized, merge_luminance(gray, raw)


def notebook_options(name: str, method_options: dict[str, dict] | None, smoke: bool) -> dict[str, Any]:
    """Method ``name``'s options as a run gives them: its group's (``diffusion``) and its own, typed; plus smoke."""
    from colorbench.methods.registry import typed_options

    return {"smoke": smoke, **typed_options(name, method_options or {})}


def why_not_shown(methods: Sequence[str]) -> str | None:
    """Why notebook 03's pictures cannot be made here (the diffusion extra missing), or None."""
    from colorbench.extras import missing_extra_reason

    reason = missing_extra_reason("diffusion")
    return f"{', '.join(methods)}: {reason}" if reason else None
