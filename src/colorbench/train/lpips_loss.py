"""LPIPS for training: a thin module over the ``lpips`` package (v0.1) taking RGB in [0, 1].

LPIPS expects inputs in [-1, 1]; :func:`to_lpips_range` is the one place that converts. The calibrated version
needs torchvision's ImageNet trunk (VGG16 or AlexNet) in torch.hub's cache (``$TORCH_HOME``); it is fetched through
colorbench's weights registry so an offline machine gets one clear error. ``calibrated=False`` builds LPIPS with a
*randomly initialised* trunk (no download) — only for tests and smoke runs; its values mean nothing.

NOTE(lead): the evaluation engineer's metrics LPIPS wrapper should become the single definition; this module is
kept private to training until then.
"""

from __future__ import annotations

import warnings

import torch
from torch import nn

_TRUNK_WEIGHTS = {"vgg": "torchvision-vgg16", "alex": "torchvision-alexnet"}


def to_lpips_range(rgb01: torch.Tensor) -> torch.Tensor:
    """RGB in [0, 1] -> [-1, 1], the range LPIPS was calibrated on."""
    return rgb01 * 2.0 - 1.0


class LpipsDistance(nn.Module):
    """Per-image LPIPS distance between two ``N×3×H×W`` RGB batches in [0, 1]; frozen, always in eval mode."""

    def __init__(self, net: str = "vgg", *, calibrated: bool = True):
        super().__init__()
        import lpips

        if calibrated:
            from colorbench import weights

            weights.ensure(_TRUNK_WEIGHTS[net])  # into torch.hub's cache, where torchvision looks
        # pretrained=True loads the linear calibration layers shipped inside the lpips package (no download);
        # pnet_rand decides whether the trunk is ImageNet (download/cache) or random.
        with warnings.catch_warnings():  # lpips still passes torchvision's deprecated `pretrained=` argument
            warnings.filterwarnings("ignore", category=UserWarning, module="torchvision")
            self.net = lpips.LPIPS(net=net, version="0.1", pretrained=True, pnet_rand=not calibrated, verbose=False)
        self.net.eval()
        for p in self.net.parameters():
            p.requires_grad_(False)
        self.net_name = net
        self.calibrated = calibrated

    def train(self, mode: bool = True) -> "LpipsDistance":
        return super().train(False)  # dropout in the linear layers must stay off

    def forward(self, rgb_a: torch.Tensor, rgb_b: torch.Tensor) -> torch.Tensor:
        return self.net(to_lpips_range(rgb_a), to_lpips_range(rgb_b)).flatten()

    def describe(self) -> str:
        return f"lpips-{self.net_name}" + ("" if self.calibrated else " (UNCALIBRATED random trunk: meaningless)")
