"""``controlnet-brightness``: Stable Diffusion 1.5 + ioclab's brightness ControlNet, conditioned on the gray input.

Unlike the Canny ControlNet, which sees only edges, ``ioclab/control_v1p_sd15_brightness`` was trained to turn a
grayscale photo back into its colour original (ioclab/grayscale_image_aesthetic_3M: about 3 million aesthetic
photos, each paired with its grayscale version as the control image). So the control image is the gray input itself:
framed on the square canvas like every diffusion method's input (:mod:`.framing`; the padding repeats the border
pixels and is cropped off afterwards) and replicated to three channels. That is what the ControlNet was trained on:
diffusers' ControlNet training scripts (the model is released in diffusers' format) convert each conditioning image
to RGB and scale it to [0, 1] with ``ToTensor``, and the pipeline's control-image processor does the same at
inference (RGB, no normalisation to [-1, 1]). The output is L-merged onto the input like every method's.

Defaults, and where they come from (the measurement that would tune them: ``benchmarks/brightness_defaults.py``):

* ``controlnet_scale = 0.9`` — the model card gives no number; its authors' card for the sibling illumination
  ControlNet (ioclab/ioc-controlnet) recommends a weight of 0.4–0.9. A colorizer wants the generated picture to keep
  the input's layout, so the top of that range.
* ``control_guidance_end = 1.0`` — that card recommends an exit timing of 0.4–0.9 (the ControlNet stops steering for
  the last steps so the prompt can redraw details). Details redrawn without the input would put colours where the
  input has none, and the L-merge cannot move colours back, so the ControlNet steers to the end.
* ``guidance_scale = 7.5``, ``steps = 20`` with UniPC — Stable Diffusion 1.5's and diffusers' ControlNet examples'
  settings, as for the Canny methods.
* ``preset = "label"`` — the class label in the prompt, and a negative prompt that names "grayscale, monochrome":
  a gray control image pulls towards gray output, which the negative prompt pushes against.

Example (the tiny untrained model; real weights: drop ``smoke=True``)::

    >>> import numpy as np
    >>> method = ControlNetBrightness(smoke=True, steps=2)
    >>> method.load("cpu")
    >>> raw = method.colorize([np.full((48, 80), 128, np.uint8)], seed=0, labels=["rowing"])
    >>> raw[0].shape   # long side fills the 64² smoke canvas; aspect kept
    (38, 64, 3)
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from colorbench.methods.diffusion.framing import Framing
from colorbench.methods.diffusion.method import ControlNetMethod, DiffusionOptions

DEFAULT_BRIGHTNESS_MODEL = "ioclab/control_v1p_sd15_brightness"


@dataclass(frozen=True, kw_only=True)
class BrightnessOptions(DiffusionOptions):
    """The shared diffusion options with the brightness ControlNet's defaults (see the module docstring)."""

    controlnet_model: str | os.PathLike = DEFAULT_BRIGHTNESS_MODEL
    preset: str | None = "label"
    controlnet_scale: float = 0.9
    control_guidance_end: float = 1.0
    guidance_scale: float = 7.5
    steps: int = 20


class ControlNetBrightness(ControlNetMethod):
    name = "controlnet-brightness"
    description = ("Stable Diffusion 1.5 + ioclab's brightness ControlNet (diffusers), trained to colorize: "
                   "generated from noise, conditioned on the gray input itself and a prompt; L-merged onto the input.")
    control_stage = "control"
    # The `diffusion.` option group must not point this method at another ControlNet (e.g. diffusion.controlnet_model
    # set for the Canny methods): its ControlNet is set on the method only.
    not_from_groups: ClassVar[frozenset[str]] = frozenset({"controlnet_model", "controlnet_revision",
                                                           "controlnet_variant"})

    Options = BrightnessOptions

    def control_images(self, framings: list[Framing], canvases: list[np.ndarray]) -> list[np.ndarray]:
        # the framed gray canvas itself: what the ControlNet was trained on (replicated to RGB on the way in)
        return list(canvases)
