"""Functions notebook 03 calls: control images, the prompt presets, a grid of results per preset, raw vs L-merged.

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


def _method(name: str, options: dict[str, Any]):
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

        method = _method(method_name or ("controlnet-canny-img2img" if img2img else "controlnet-canny"), options)
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


def _options(name: str, method_options: dict[str, dict] | None, smoke: bool) -> dict[str, Any]:
    """Method ``name``'s options as a run gives them: its group's (``diffusion``) and its own, typed; plus smoke."""
    from colorbench.methods.registry import typed_options

    return {"smoke": smoke, **typed_options(name, method_options or {})}


def _cannot_show(methods: Sequence[str]) -> str | None:
    """Why notebook 03's pictures cannot be made here (the diffusion extra missing), or None."""
    from colorbench.extras import missing_extra_reason

    reason = missing_extra_reason("diffusion")
    return f"{', '.join(methods)}: {reason}" if reason else None


def conditioning_grid(grays: Sequence[np.ndarray], *, row_names: Sequence[str], methods: Sequence[str],
                      method_options: dict[str, dict] | None = None, smoke: bool = False):
    """The gray inputs next to what each diffusion method's ControlNet sees (Canny edges; the framed gray input),
    made by the methods' own :meth:`control_images` with their options (no pipeline is loaded). Without the
    diffusion extra: a banner with the command that installs it, so the notebook goes on."""
    from colorbench.notebook.grids import array_grid
    from colorbench.notebook.render import banner

    methods = [m for m in dict.fromkeys(methods) if not m.endswith("-img2img")]  # img2img sees Canny's edges too
    if reason := _cannot_show(methods):
        return banner(f"What the ControlNet sees cannot be shown here — {reason}", kind="warning")
    columns: dict[str, list[np.ndarray]] = {"gray input": list(grays)}
    for name in methods:
        method = _method(name, _options(name, method_options, smoke))
        columns[f"{name} sees"] = control_images(method, grays)
    return array_grid(columns, row_names=row_names, caption="ControlNet conditioning, on the model's canvas")


def preset_grid(grays: Sequence[np.ndarray], *, labels: Sequence[str | None], row_names: Sequence[str],
                methods: Sequence[str], presets: Sequence[str], seed: int = 0,
                method_options: dict[str, dict] | None = None, smoke: bool = False, device: str | None = None):
    """Raw outputs of each method under each prompt preset (same images and seeds, so the differences come from the
    prompt), one pipeline load per method. A method that cannot run here (no diffusion extra, no weights) is named
    in a banner instead of stopping the notebook."""
    from colorbench.methods.registry import readiness
    from colorbench.notebook.grids import array_grid
    from colorbench.notebook.render import banner
    from colorbench.provenance import resolve_device

    if reason := _cannot_show(methods):
        return banner(f"The prompt presets cannot be compared here — {reason}", kind="warning")
    columns: dict[str, list[np.ndarray]] = {"gray input": list(grays)}
    skipped = []
    for name in dict.fromkeys(methods):
        options = _options(name, method_options, smoke)
        if why_not := readiness(name, **options):
            skipped.append(f"{name}: {why_not}")
            continue
        method = _method(name, options)
        method.load(resolve_device(device or "auto"))
        try:
            outputs = colorize_presets(grays, labels=labels, presets=presets, seed=seed, method=method)
        finally:
            method.unload()
        columns.update({f"{name} · {preset}": images for preset, images in outputs.items()})
    grid = array_grid(columns, row_names=row_names, caption="raw outputs by prompt preset", smoke=smoke)
    if not skipped:
        return grid
    from colorbench.notebook.render import Html

    note = banner("Not compared: " + "; ".join(skipped), kind="warning")
    return Html(note.html + grid.html, f"{note.text}\n{grid.text}")
