"""``cnn-original``: the original project's LPIPS-trained CNN (github.com/dakotalw/image-colorizer-2, epoch 186).

Reproduces the original code's outputs for this checkpoint (ab within 1e-3, tested on the shared reference):
input ``(L, 0, 0)`` in CIELAB units, output ab in CIELAB units, BatchNorm in
eval mode. The original inference script ran the network in train mode (per-batch BatchNorm statistics); pass
``bn_mode="train"`` to get that behaviour deliberately.

Usage (a sketch, not run by the doctests: it needs the released weights)::

    from colorbench.methods import get_method
    m = get_method("cnn-original")          # weights: `colorbench weights fetch cnn-original-epoch186`
    m.load("cpu")
    [rgb] = m.colorize([gray_uint8_hw], seed=0)
"""

from __future__ import annotations

from colorbench.methods.cnn.common import CnnMethodBase
from colorbench.methods.cnn.model import ORIGINAL, ColorizationNet

WEIGHTS = "cnn-original-epoch186"


class CnnOriginal(CnnMethodBase):
    name = "cnn-original"
    stochastic = False
    description = "Original project's LPIPS-trained CNN (ResNet-18 trunk to layer2 + upsampler), epoch 186."

    def weights(self) -> list[str]:
        return [] if self.smoke else [WEIGHTS]

    def build_model(self) -> ColorizationNet:
        if self.smoke:
            return self.smoke_model(ORIGINAL)
        from colorbench import weights
        from colorbench.methods.cnn.checkpoint import load_original

        return load_original(weights.ensure(WEIGHTS))

    def config(self) -> dict:
        return {**super().config(), "weights": None if self.smoke else WEIGHTS}
