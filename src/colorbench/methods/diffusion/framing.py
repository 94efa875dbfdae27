"""Where a gray input sits on the square canvas Stable Diffusion paints, and how to get it back out.

Stable Diffusion 1.5 works on a square canvas (512² by default). Inputs of any aspect ratio are handled by
**padding** (the default): the image is resized so its long side fills the canvas, centred, and the rest of the
canvas is filled by repeating the border pixels (so no artificial frame edge appears in the Canny map; edges in
the padding are blanked anyway). After generation the padding is cropped away, so the method's native output has
the input's aspect ratio at canvas scale (e.g. 300×200 in -> 512×341 out) and the runner's L-merge lines up pixel
for pixel. Cropping the input instead would leave part of every non-square image without generated colour, so it
is not offered; ``aspect="stretch"`` (resize to the square, ignoring the aspect ratio) is, for comparison.

Example::

    >>> import numpy as np
    >>> framing = Framing.fit(300, 200, canvas=512)
    >>> framing.content_h, framing.content_w, framing.left
    (512, 341, 85)
    >>> framing.place(np.zeros((300, 200), np.uint8)).shape
    (512, 512)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np
from PIL import Image

Aspect = Literal["pad", "stretch"]
ASPECT_MODES: tuple[str, ...] = get_args(Aspect)


@dataclass(frozen=True)
class Framing:
    height: int  # the input's size
    width: int
    canvas: int  # side of the square canvas the pipeline paints
    top: int  # where the resized input sits on the canvas
    left: int
    content_h: int
    content_w: int

    @classmethod
    def fit(cls, height: int, width: int, canvas: int, aspect: str = "pad") -> "Framing":
        if aspect not in ASPECT_MODES:
            raise ValueError(f"aspect must be one of {ASPECT_MODES}, got {aspect!r}")
        if aspect == "stretch":
            return cls(height, width, canvas, 0, 0, canvas, canvas)
        scale = canvas / max(height, width)
        content_h = min(canvas, max(1, round(height * scale)))
        content_w = min(canvas, max(1, round(width * scale)))
        return cls(height, width, canvas, (canvas - content_h) // 2, (canvas - content_w) // 2, content_h, content_w)

    def place(self, gray: np.ndarray) -> np.ndarray:
        """The uint8 gray input resized onto the canvas (border-replicated padding), ``canvas x canvas``."""
        if gray.shape != (self.height, self.width):
            raise ValueError(f"framing is for {self.height}x{self.width} inputs, got {gray.shape}")
        content = gray
        if gray.shape != (self.content_h, self.content_w):
            content = np.asarray(Image.fromarray(gray).resize((self.content_w, self.content_h), Image.LANCZOS))
        bottom = self.canvas - self.top - self.content_h
        right = self.canvas - self.left - self.content_w
        return np.pad(content, ((self.top, bottom), (self.left, right)), mode="edge")

    def content_mask(self) -> np.ndarray:
        """Boolean ``canvas x canvas`` mask of the pixels that show the input (False on the padding)."""
        mask = np.zeros((self.canvas, self.canvas), dtype=bool)
        mask[self.top : self.top + self.content_h, self.left : self.left + self.content_w] = True
        return mask

    def crop(self, canvas_image: np.ndarray) -> np.ndarray:
        """The part of a generated ``canvas x canvas (x C)`` image that covers the input (the native output)."""
        if canvas_image.shape[:2] != (self.canvas, self.canvas):
            raise ValueError(f"expected a {self.canvas}x{self.canvas} canvas, got {canvas_image.shape[:2]}")
        return canvas_image[self.top : self.top + self.content_h, self.left : self.left + self.content_w].copy()
