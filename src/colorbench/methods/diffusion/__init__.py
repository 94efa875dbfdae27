"""Stable Diffusion 1.5 + Canny ControlNet colorization (``controlnet-canny``, ``controlnet-canny-img2img``).

Modules: :mod:`.framing` (aspect handling), :mod:`.edges` (Canny maps), :mod:`.prompts` (presets),
:mod:`.loading` (hub ids / local folders -> pipeline), :mod:`.method` (the two methods), :mod:`.tiny` (the untrained
smoke model), :mod:`.notebook` (functions for notebook 03). Importing this package does not import torch/diffusers.
"""

from colorbench.methods.diffusion.edges import edge_map
from colorbench.methods.diffusion.notebook import (
    colorize_presets,
    colorize_with_preset,
    preset_table,
    raw_vs_merged,
)
from colorbench.methods.diffusion.prompts import PRESETS, PromptPreset, build_prompts, prompt_presets

__all__ = ["edge_map", "prompt_presets", "preset_table", "build_prompts", "PromptPreset", "PRESETS",
           "colorize_with_preset", "colorize_presets", "raw_vs_merged"]
