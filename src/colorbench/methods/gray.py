"""``gray``: returns the input as RGB. The floor every colorizer must beat."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from colorbench.color import gray_to_rgb
from colorbench.methods.base import Method, check_grays


class GrayBaseline(Method):
    name = "gray"
    family = "floor"
    stochastic = False
    description = "No colour at all: the gray input replicated to RGB (the floor)."

    def load(self, device: str) -> None:
        self.device = device

    def colorize(
        self,
        grays: list[np.ndarray],
        *,
        seed: int,
        item_seeds: Sequence[int] | None = None,
        labels: Sequence[str | None] | None = None,
    ) -> list[np.ndarray]:
        check_grays(grays, self.name)
        return [gray_to_rgb(g) for g in grays]
