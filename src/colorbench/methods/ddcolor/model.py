"""The DDColor network (Kang et al., ICCV 2023): ConvNeXt encoder -> pixel decoder + colour decoder -> 1x1
refine conv, giving ab (CIELAB units, no scaling) at the input's size.

Input: ``N x 3 x S x S`` gray RGB in [0, 1] (the three channels equal); it is normalised with the ImageNet
``mean``/``std`` buffers of the state dict, and that *normalised* image is also what the refine conv sees.

:data:`ENCODERS` lists the two released encoder sizes; :func:`encoder_of_state_dict` tells them apart from a
checkpoint's shapes. The module tree (and so every state-dict key) is the authors' ``basicsr`` ``DDColor``'s.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from colorbench.methods.ddcolor.color_decoder import MultiScaleColorDecoder
from colorbench.methods.ddcolor.encoder import Encoder
from colorbench.methods.ddcolor.pixel_decoder import PixelDecoder, SpectralConv2d

NUM_QUERIES = 100  # every released model (the constructor default of 256 is not what they use)
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class EncoderSize:
    name: str
    dims: tuple[int, int, int, int]
    depths: tuple[int, int, int, int]


ENCODERS = {
    "convnext-t": EncoderSize("convnext-t", (96, 192, 384, 768), (3, 3, 9, 3)),
    "convnext-l": EncoderSize("convnext-l", (192, 384, 768, 1536), (3, 3, 27, 3)),
}
STEM_KEY = "encoder.arch.downsample_layers.0.0.weight"


class DualDecoder(PixelDecoder):
    """The authors' ``Decoder``: the pixel decoder's layers plus the colour decoder, under one ``decoder.*``."""

    def __init__(self, encoder_dims: tuple[int, ...], nf: int = 512, num_queries: int = NUM_QUERIES, **colour):
        super().__init__(encoder_dims, nf)
        self.color_decoder = MultiScaleColorDecoder((nf, nf, nf // 2), num_queries=num_queries, **colour)

    def forward(self, features: list[torch.Tensor]) -> torch.Tensor:
        out0, out1, out2, out3 = super().forward(features)
        return self.color_decoder([out0, out1, out2], out3)


class DDColorNet(nn.Module):
    """``forward(x)``: gray RGB ``N x 3 x S x S`` in [0, 1] -> ab ``N x 2 x S x S``. ``S`` a multiple of 32.

    The keywords size the decoders; the released models use the defaults (``colour`` goes to the colour decoder:
    ``hidden``, ``heads``, ``ffn``, ``num_layers``; smaller values make the smoke model)."""

    def __init__(self, encoder: str | EncoderSize = "convnext-l", *, num_queries: int = NUM_QUERIES, nf: int = 512,
                 **colour):
        super().__init__()
        size = ENCODERS[encoder] if isinstance(encoder, str) else encoder
        self.encoder_size = size
        self.encoder = Encoder(size.dims, size.depths)
        self.decoder = DualDecoder(size.dims, nf, num_queries, **colour)
        self.refine_net = nn.Sequential(nn.Sequential(SpectralConv2d(num_queries + 3, 2, bias=True)))
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] % 32 or x.shape[-2] % 32:
            raise ValueError(f"DDColor needs a size that is a multiple of 32, got {tuple(x.shape[-2:])}")
        x = (x - self.mean) / self.std
        out_feat = self.decoder(self.encoder(x))
        return self.refine_net(torch.cat([out_feat, x.to(out_feat.dtype)], dim=1))


def encoder_of_state_dict(state: dict) -> str | None:
    """``"convnext-t"`` or ``"convnext-l"`` from a checkpoint's stem width and stage-3 depth; None when neither."""
    stem = state.get(STEM_KEY)
    if stem is None or getattr(stem, "ndim", 0) != 4:
        return None
    depth = 1 + max((int(k.split(".")[4]) for k in state if k.startswith("encoder.arch.stages.2.")), default=-1)
    for name, size in ENCODERS.items():
        if stem.shape[0] == size.dims[0] and depth == size.depths[2]:
            return name
    return None
