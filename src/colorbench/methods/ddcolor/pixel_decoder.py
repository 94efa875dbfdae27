"""DDColor's pixel decoder: a U-Net-style upsampler (from DeOldify/fastai) over the encoder's four features.

Spectral normalisation is the authors' ``nn.utils.spectral_norm`` *as it runs in eval mode*: the weight is
``weight_orig / sigma`` with ``sigma = weight_u . (W weight_v)`` from the stored vectors, and no power iteration
(that runs only in training). So it is a plain conv whose weight is rescaled by a number fixed by the checkpoint;
:class:`SpectralConv2d` keeps the three tensors under their released names (``weight_orig``, ``weight_u``,
``weight_v``) and computes the scaled weight once per forward.

Upsampling is ``PixelShuffle`` followed by the "blur" of Sugawara et al. (2018): pad one row on the top and one
column on the left by replication, then a 2x2 average with stride 1 (the output keeps its size).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

BN_EPS = 1e-5  # nn.BatchNorm2d's default, the authors'


class SpectralConv2d(nn.Module):
    """A conv with eval-mode spectral normalisation (see the module docstring); ``padding`` keeps the size."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 1, *, bias: bool):
        super().__init__()
        self.weight_orig = nn.Parameter(torch.empty(out_channels, in_channels, kernel_size, kernel_size))
        self.register_buffer("weight_u", torch.ones(out_channels))
        self.register_buffer("weight_v", torch.ones(in_channels * kernel_size * kernel_size))
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        self.padding = (kernel_size - 1) // 2
        nn.init.kaiming_normal_(self.weight_orig)  # the authors' init; released weights replace it
        self.init_vectors()

    @torch.no_grad()
    def init_vectors(self) -> None:
        """``weight_v``/``weight_u`` from one power-iteration step (what a trained checkpoint holds), so that sigma is
        positive and near the largest singular value, for a model built without released weights (smoke)."""
        weight = self.weight_orig.reshape(self.weight_orig.shape[0], -1)
        v = F.normalize(weight.t() @ torch.ones_like(self.weight_u), dim=0)
        self.weight_v.copy_(v)
        self.weight_u.copy_(F.normalize(weight @ v, dim=0))

    def sigma(self) -> torch.Tensor:
        weight = self.weight_orig.float().reshape(self.weight_orig.shape[0], -1)
        return torch.dot(self.weight_u.float(), weight @ self.weight_v.float())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weight = (self.weight_orig.float() / self.sigma()).to(self.weight_orig.dtype)
        return F.conv2d(x, weight, self.bias, padding=self.padding)


def blur(x: torch.Tensor) -> torch.Tensor:
    """Replication-pad top and left by one, then average 2x2 windows with stride 1 (same size out)."""
    return F.avg_pool2d(F.pad(x, (1, 0, 1, 0), mode="replicate"), 2, stride=1)


class PixelShuffleUp(nn.Module):
    """The authors' ``CustomPixelShuffle_ICNR`` with blur: ``blur(shuffle(ReLU(conv(x))))``. ``conv`` is a
    Sequential at ``conv.0`` (spectral 1x1), with a BatchNorm at ``conv.1`` when ``batch_norm`` (then no bias)."""

    def __init__(self, in_channels: int, out_channels: int, scale: int, *, batch_norm: bool):
        super().__init__()
        layers: list[nn.Module] = [SpectralConv2d(in_channels, out_channels * scale * scale, bias=not batch_norm)]
        if batch_norm:
            layers.append(nn.BatchNorm2d(out_channels * scale * scale, eps=BN_EPS))
        self.conv = nn.Sequential(*layers)
        self.scale = scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return blur(F.pixel_shuffle(F.relu(self.conv(x)), self.scale))


class UnetBlockWide(nn.Module):
    """Upsample ``up_in`` x2, join the batch-normalised skip feature, ReLU, then 3x3 spectral conv -> ReLU -> BN."""

    def __init__(self, up_in_channels: int, skip_channels: int, out_channels: int):
        super().__init__()
        self.shuf = PixelShuffleUp(up_in_channels, out_channels, 2, batch_norm=True)
        self.bn = nn.BatchNorm2d(skip_channels, eps=BN_EPS)
        # indices 0 / 2 as in the authors' Sequential(conv, ReLU, BN)
        self.conv = nn.Sequential(SpectralConv2d(out_channels + skip_channels, out_channels, 3, bias=False),
                                  nn.ReLU(), nn.BatchNorm2d(out_channels, eps=BN_EPS))

    def forward(self, up_in: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        return self.conv(F.relu(torch.cat([self.shuf(up_in), self.bn(skip)], dim=1)))


class PixelDecoder(nn.Module):
    """Encoder features ``[f0, f1, f2, f3]`` (strides 4..32) -> ``[out0, out1, out2, out3]``: 512 channels at
    1/16, 512 at 1/8, 256 at 1/4 (the colour decoder's three levels) and 256 at full size (``last_shuf``, x4)."""

    def __init__(self, encoder_dims: tuple[int, ...], nf: int = 512):
        super().__init__()
        d0, d1, d2, d3 = encoder_dims
        self.layers = nn.Sequential(UnetBlockWide(d3, d2, nf), UnetBlockWide(nf, d1, nf),
                                    UnetBlockWide(nf, d0, nf // 2))
        self.last_shuf = PixelShuffleUp(nf // 2, nf // 2, 4, batch_norm=False)

    def forward(self, features: list[torch.Tensor]) -> list[torch.Tensor]:
        f0, f1, f2, f3 = features
        out0 = self.layers[0](f3, f2)
        out1 = self.layers[1](out0, f1)
        out2 = self.layers[2](out1, f0)
        return [out0, out1, out2, self.last_shuf(out2)]
