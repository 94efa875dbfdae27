"""The SIGGRAPH17 colorizer (Zhang, Zhu et al., "Real-Time User-Guided Image Colorization with Learned Deep Priors",
2017) without user hints, as in the authors' PyTorch port.

Written from ``colorizers/siggraph17.py`` in richzhang/colorization so that ``siggraph17-df00044c.pth`` loads with
its exact keys: ``model1`` ... ``model10`` (BatchNorm last in 1-9), the upsampling convolutions ``model8up``,
``model9up``, ``model10up`` and shortcuts ``model3short8``, ``model2short9``, ``model1short10`` (one layer each,
key ``.0.``), ``model_class`` (1x1 conv 256 -> 529 on the 1/4-resolution features) and ``model_out`` (1x1 conv
128 -> 2, then tanh).

Input: L in [0, 100] plus the hint channels the port fills with zeros when no hints are given (ab = 0, mask = 0),
as ``SIGGRAPHGenerator.forward(input_A)`` does (user hints can be passed as ``input_B`` / ``mask_B`` are; both
paths checked against the authors' code). Output: the regression head, ab = 110 * tanh(...), at input
resolution; :meth:`SIGGRAPH17Net.forward_with_classes` also returns the classification logits
(``N x 529 x H/4 x W/4``), which the port computes modules for but never uses.

``width`` scales every channel count (64 is the real model).
"""

from __future__ import annotations

import itertools

import torch
from torch import nn

from colorbench.methods.zhang.decoding import AB_NORM, L_CENT, L_NORM, SIGGRAPH17_GRID
from colorbench.methods.zhang.eccv16 import _block


def _relu_block(channels: list[int]) -> nn.Sequential:
    """ReLU first (it follows a sum of two branches), then conv-ReLU pairs and BatchNorm: convs at 1, 3, ..."""
    layers: list[nn.Module] = [nn.ReLU(True)]
    for c_in, c_out in itertools.pairwise(channels):
        layers += [nn.Conv2d(c_in, c_out, 3, padding=1), nn.ReLU(True)]
    layers.append(nn.BatchNorm2d(channels[-1]))
    return nn.Sequential(*layers)


class SIGGRAPH17Net(nn.Module):
    def __init__(self, width: int = 64, classes: int = SIGGRAPH17_GRID**2):
        super().__init__()
        w1, w2, w4, w8 = width, 2 * width, 4 * width, 8 * width
        self.model1 = _block([4, w1, w1])
        self.model2 = _block([w1, w2, w2])
        self.model3 = _block([w2, w4, w4, w4])
        self.model4 = _block([w4, w8, w8, w8])
        self.model5 = _block([w8, w8, w8, w8], dilation=2)
        self.model6 = _block([w8, w8, w8, w8], dilation=2)
        self.model7 = _block([w8, w8, w8, w8])
        # Registration order = the official state_dict order (and the released file's): decoder stages first, then
        # the shortcuts, then the two heads.
        self.model8up = nn.Sequential(nn.ConvTranspose2d(w8, w4, 4, stride=2, padding=1))
        self.model8 = _relu_block([w4, w4, w4])
        self.model9up = nn.Sequential(nn.ConvTranspose2d(w4, w2, 4, stride=2, padding=1))
        self.model9 = _relu_block([w2, w2])
        self.model10up = nn.Sequential(nn.ConvTranspose2d(w2, w2, 4, stride=2, padding=1))
        self.model10 = nn.Sequential(nn.ReLU(True), nn.Conv2d(w2, w2, 3, padding=1), nn.LeakyReLU(0.2))
        self.model3short8 = nn.Sequential(nn.Conv2d(w4, w4, 3, padding=1))
        self.model2short9 = nn.Sequential(nn.Conv2d(w2, w2, 3, padding=1))
        self.model1short10 = nn.Sequential(nn.Conv2d(w1, w2, 3, padding=1))
        self.model_class = nn.Sequential(nn.Conv2d(w4, classes, 1))
        self.model_out = nn.Sequential(nn.Conv2d(w2, 2, 1), nn.Tanh())

    def forward_with_classes(self, L: torch.Tensor, *, with_classes: bool = True, hint_ab: torch.Tensor | None = None,
                             hint_mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
        """L ``N x 1 x H x W`` in [0, 100] (H, W multiples of 8) -> (regression ab ``N x 2 x H x W``, class logits).

        ``hint_ab`` (``N x 2 x H x W``, ab units) and ``hint_mask`` (``N x 1 x H x W``, 1 where a hint is given) are
        the port's ``input_B`` / ``mask_B``; without them both are zeros, the port's automatic mode.
        """
        if (hint_ab is None) != (hint_mask is None):
            raise ValueError("siggraph17: give both hint_ab and hint_mask, or neither")
        if hint_ab is None:
            hint_ab, hint_mask = torch.zeros_like(L).expand(-1, 2, -1, -1), torch.zeros_like(L)
        # port: cat(normalize_l(L), normalize_ab(input_B), mask_B) — the mask is not shifted
        x = torch.cat(((L - L_CENT) / L_NORM, hint_ab / AB_NORM, hint_mask), dim=1)
        conv1_2 = self.model1(x)
        conv2_2 = self.model2(conv1_2[:, :, ::2, ::2])
        conv3_3 = self.model3(conv2_2[:, :, ::2, ::2])
        conv4_3 = self.model4(conv3_3[:, :, ::2, ::2])
        conv7_3 = self.model7(self.model6(self.model5(conv4_3)))
        conv8_3 = self.model8(self.model8up(conv7_3) + self.model3short8(conv3_3))
        conv9_3 = self.model9(self.model9up(conv8_3) + self.model2short9(conv2_2))
        conv10_2 = self.model10(self.model10up(conv9_3) + self.model1short10(conv1_2))
        ab = self.model_out(conv10_2) * AB_NORM
        return ab, (self.model_class(conv8_3) if with_classes else None)

    def forward(self, L: torch.Tensor) -> torch.Tensor:
        """The port's output: regression ab ``N x 2 x H x W``."""
        return self.forward_with_classes(L, with_classes=False)[0]
