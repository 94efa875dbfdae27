"""DDColor's image encoder: ConvNeXt (Liu et al. 2022) as the authors use it, returning the four normalised stage
features the pixel decoder reads.

Parameters sit at the authors' attribute paths (``downsample_layers.0.0``, ``stages.2.5.pwconv1``, ``norm3``, ...)
so a released state dict loads by name. Two facts of the authors' forward that a textbook ConvNeXt gets wrong:

* ``norm{i}`` is applied to stage ``i``'s output only to *capture* it (their forward hook); the un-normalised stage
  output is what goes on to the next stage;
* the final ``norm`` (over the pooled vector of a classifier) is computed and thrown away by the authors, so it has
  no effect on the colours: it is kept as a parameter (released checkpoints have it; keys load strictly) and never
  run.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

LN_EPS = 1e-6  # every LayerNorm of the authors' ConvNeXt


class ChannelsFirstLayerNorm(nn.Module):
    """LayerNorm over the channel axis of ``N x C x H x W`` (the authors' ``data_format="channels_first"``)."""

    def __init__(self, channels: int, eps: float = LN_EPS):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # statistics in float32 even under autocast: a half-precision variance over 1536 channels loses digits
        dtype = x.dtype
        x = x.float()
        mean = x.mean(1, keepdim=True)
        var = (x - mean).pow(2).mean(1, keepdim=True)
        x = (x - mean) / torch.sqrt(var + self.eps)
        return (self.weight[:, None, None] * x + self.bias[:, None, None]).to(dtype)


class Block(nn.Module):
    """Depthwise 7x7 conv -> LayerNorm -> Linear 4C -> GELU (exact erf) -> Linear C -> x gamma, plus the input."""

    def __init__(self, dim: int):
        super().__init__()
        self.dwconv = nn.Conv2d(dim, dim, kernel_size=7, padding=3, groups=dim)
        self.norm = nn.LayerNorm(dim, eps=LN_EPS)
        self.pwconv1 = nn.Linear(dim, 4 * dim)
        self.pwconv2 = nn.Linear(4 * dim, dim)
        self.gamma = nn.Parameter(torch.full((dim,), 1e-6))  # layer scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.dwconv(x).permute(0, 2, 3, 1)
        y = self.pwconv2(F.gelu(self.pwconv1(self.norm(y))))
        return x + (self.gamma * y).permute(0, 3, 1, 2)


class ConvNeXt(nn.Module):
    """``dims``/``depths``: (96, 192, 384, 768)/(3, 3, 9, 3) for ConvNeXt-T, (192, 384, 768, 1536)/(3, 3, 27, 3)
    for -L. ``forward`` returns ``[norm0(s0), norm1(s1), norm2(s2), norm3(s3)]`` at strides 4, 8, 16, 32."""

    def __init__(self, dims: tuple[int, ...], depths: tuple[int, ...], in_chans: int = 3):
        super().__init__()
        self.dims, self.depths = tuple(dims), tuple(depths)
        self.downsample_layers = nn.ModuleList([nn.Sequential(
            nn.Conv2d(in_chans, dims[0], kernel_size=4, stride=4), ChannelsFirstLayerNorm(dims[0]))])
        for i in range(3):
            self.downsample_layers.append(nn.Sequential(
                ChannelsFirstLayerNorm(dims[i]), nn.Conv2d(dims[i], dims[i + 1], kernel_size=2, stride=2)))
        self.stages = nn.ModuleList(nn.Sequential(*[Block(dims[i]) for _ in range(depths[i])]) for i in range(4))
        for i in range(4):
            self.add_module(f"norm{i}", ChannelsFirstLayerNorm(dims[i]))
        self.norm = nn.LayerNorm(dims[-1], eps=LN_EPS)  # unused: see the module docstring

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        features = []
        for i in range(4):
            x = self.stages[i](self.downsample_layers[i](x))
            features.append(getattr(self, f"norm{i}")(x))
        return features


class Encoder(nn.Module):
    """The authors' wrapper (``encoder.arch.*`` in the state dict)."""

    def __init__(self, dims: tuple[int, ...], depths: tuple[int, ...]):
        super().__init__()
        self.arch = ConvNeXt(dims, depths)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        return self.arch(x)
