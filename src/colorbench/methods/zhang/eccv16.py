"""The ECCV16 colorizer (Zhang, Isola, Efros, "Colorful Image Colorization", 2016), as in the authors' PyTorch port.

Written from the architecture of ``colorizers/eccv16.py`` in richzhang/colorization so that the released state dict
(``colorization_release_v2-9b330a0b.pth``) loads with its exact key names: eight ``nn.Sequential`` blocks
``model1`` ... ``model8`` (convolutions at list positions 0, 2, 4, ...; ReLUs in between; BatchNorm last in blocks
1-7) and ``model_out``, a bias-free 1x1 convolution 313 -> 2 that holds the bin centres / 110.

Input: L in [0, 100], ``N x 1 x H x W`` (256 x 256 in the authors' pipeline). The trunk works at 1/4 resolution:
:meth:`ECCV16Net.class_logits` gives ``N x 313 x H/4 x W/4``. :meth:`forward` is the port's output: softmax, then
the fixed expectation ``model_out`` (the plain mean over bins), upsampled x4 bilinearly, times 110.

``width`` scales every channel count (64 is the real model); smaller widths build the tiny smoke model.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from colorbench.methods.zhang.decoding import AB_NORM, ECCV16_CLASSES, L_CENT, L_NORM


def _block(channels: list[int], *, strides: list[int] | None = None, dilation: int = 1,
           norm: bool = True) -> nn.Sequential:
    """conv-ReLU pairs (3x3, 'same' padding), then BatchNorm: indices 0, 2, 4 are convs, the last one is the norm."""
    layers: list[nn.Module] = []
    strides = strides or [1] * (len(channels) - 1)
    for c_in, c_out, stride in zip(channels[:-1], channels[1:], strides):
        layers += [nn.Conv2d(c_in, c_out, 3, stride=stride, padding=dilation, dilation=dilation), nn.ReLU(True)]
    if norm:
        layers.append(nn.BatchNorm2d(channels[-1]))
    return nn.Sequential(*layers)


class ECCV16Net(nn.Module):
    def __init__(self, width: int = 64, classes: int = ECCV16_CLASSES):
        super().__init__()
        w1, w2, w4, w8 = width, 2 * width, 4 * width, 8 * width
        self.model1 = _block([1, w1, w1], strides=[1, 2])
        self.model2 = _block([w1, w2, w2], strides=[1, 2])
        self.model3 = _block([w2, w4, w4, w4], strides=[1, 1, 2])
        self.model4 = _block([w4, w8, w8, w8])
        self.model5 = _block([w8, w8, w8, w8], dilation=2)
        self.model6 = _block([w8, w8, w8, w8], dilation=2)
        self.model7 = _block([w8, w8, w8, w8])
        self.model8 = nn.Sequential(
            nn.ConvTranspose2d(w8, w4, 4, stride=2, padding=1), nn.ReLU(True),
            nn.Conv2d(w4, w4, 3, padding=1), nn.ReLU(True),
            nn.Conv2d(w4, w4, 3, padding=1), nn.ReLU(True),
            nn.Conv2d(w4, classes, 1),
        )
        self.model_out = nn.Conv2d(classes, 2, 1, bias=False)

    def class_logits(self, L: torch.Tensor) -> torch.Tensor:
        """L ``N x 1 x H x W`` in [0, 100] -> bin logits ``N x 313 x H/4 x W/4`` (what the port's softmax sees)."""
        x = (L - L_CENT) / L_NORM
        for block in (self.model1, self.model2, self.model3, self.model4, self.model5, self.model6, self.model7,
                      self.model8):
            x = block(x)
        return x

    @staticmethod
    def upsample4(ab: torch.Tensor) -> torch.Tensor:
        # nn.Upsample(scale_factor=4, mode="bilinear") in the port: align_corners=False
        return F.interpolate(ab, scale_factor=4, mode="bilinear", align_corners=False)

    def forward(self, L: torch.Tensor) -> torch.Tensor:
        """The port's output: ab ``N x 2 x H x W`` = 110 * upsample4(model_out(softmax(logits)))."""
        return self.upsample4(self.model_out(torch.softmax(self.class_logits(L), dim=1))) * AB_NORM
