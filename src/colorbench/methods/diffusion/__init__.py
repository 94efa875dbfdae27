"""Stable Diffusion 1.5 + ControlNet colorization (``controlnet-canny``, ``controlnet-canny-img2img``,
``controlnet-brightness``).

Modules: :mod:`.framing` (aspect handling), :mod:`.edges` (Canny maps), :mod:`.prompts` (presets),
:mod:`.loading` (hub ids / local folders -> pipeline), :mod:`.method` (the shared machinery and the Canny methods),
:mod:`.brightness` (the brightness ControlNet, conditioned on the gray input), :mod:`.tiny` (the untrained
smoke model), :mod:`.notebook` (functions for notebook 03). Importing this package does not import torch/diffusers.
"""

from colorbench.methods.diffusion.edges import edge_map
from colorbench.methods.diffusion.notebook import (
    colorize_presets,
    colorize_with_preset,
    control_images,
    preset_table,
    raw_vs_merged,
)
from colorbench.methods.diffusion.prompts import PRESETS, PromptPreset, build_prompts, prompt_presets

__all__ = ["edge_map", "prompt_presets", "preset_table", "build_prompts", "PromptPreset", "PRESETS",
           "colorize_with_preset", "colorize_presets", "raw_vs_merged", "control_images"]
