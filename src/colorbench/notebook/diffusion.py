"""Notebook 03's grids: what each diffusion method's ControlNet sees, and its outputs under each prompt preset.

They display what :mod:`colorbench.methods.diffusion.notebook` computes; they live here, above the methods, so that no
method module imports the notebook layer.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from colorbench.methods.diffusion import notebook as dn
from colorbench.notebook.grids import array_grid
from colorbench.notebook.render import Html, banner


def conditioning_grid(grays: Sequence[np.ndarray], *, row_names: Sequence[str], methods: Sequence[str],
                      method_options: dict[str, dict] | None = None, smoke: bool = False):
    """The gray inputs next to what each diffusion method's ControlNet sees (Canny edges; the framed gray input),
    made by the methods' own :meth:`control_images` with their options (no pipeline is loaded). Without the
    diffusion extra: a banner with the command that installs it, so the notebook goes on."""
    methods = [m for m in dict.fromkeys(methods) if not m.endswith("-img2img")]  # img2img sees Canny's edges too
    if reason := dn.why_not_shown(methods):
        return banner(f"What the ControlNet sees cannot be shown here — {reason}", kind="warning")
    columns: dict[str, list[np.ndarray]] = {"gray input": list(grays)}
    for name in methods:
        method = dn.diffusion_method(name, dn.notebook_options(name, method_options, smoke))
        columns[f"{name} sees"] = dn.control_images(method, grays)
    return array_grid(columns, row_names=row_names, caption="ControlNet conditioning, on the model's canvas")


def preset_grid(grays: Sequence[np.ndarray], *, labels: Sequence[str | None], row_names: Sequence[str],
                methods: Sequence[str], presets: Sequence[str], seed: int = 0,
                method_options: dict[str, dict] | None = None, smoke: bool = False, device: str | None = None):
    """Raw outputs of each method under each prompt preset (same images and seeds, so the differences come from the
    prompt), one pipeline load per method. A method that cannot run here (no diffusion extra, no weights) is named
    in a banner instead of stopping the notebook."""
    from colorbench.methods.registry import readiness
    from colorbench.provenance import resolve_device

    if reason := dn.why_not_shown(methods):
        return banner(f"The prompt presets cannot be compared here — {reason}", kind="warning")
    columns: dict[str, list[np.ndarray]] = {"gray input": list(grays)}
    skipped = []
    for name in dict.fromkeys(methods):
        options = dn.notebook_options(name, method_options, smoke)
        if why_not := readiness(name, **options):
            skipped.append(f"{name}: {why_not}")
            continue
        method = dn.diffusion_method(name, options)
        method.load(resolve_device(device or "auto"))
        try:
            outputs = dn.colorize_presets(grays, labels=labels, presets=presets, seed=seed, method=method)
        finally:
            method.unload()
        columns.update({f"{name} · {preset}": images for preset, images in outputs.items()})
    grid = array_grid(columns, row_names=row_names, caption="raw outputs by prompt preset", smoke=smoke)
    if not skipped:
        return grid
    note = banner("Not compared: " + "; ".join(skipped), kind="warning")
    return Html(note.html + grid.html, f"{note.text}\n{grid.text}")
