"""The CNN family: a ResNet-18 trunk cut after ``layer2`` and a small upsampling decoder predicting CIELAB ab.

One module serves both the original project's checkpoint and the models colorbench trains; they differ only in
the input adapter and the output scale, recorded in :class:`CnnArchitecture`:

* ``ORIGINAL`` — input ``(L, 0, 0)`` with L in CIELAB units [0, 100] through a 3-channel ``conv1``; the network
  output *is* ab in CIELAB units. Submodule names (``midlevel_resnet``, ``upsample``) and layer indices match the
  original checkpoint's state-dict keys, so it loads with ``strict=True``. 963,504 state-dict values.
* ``IMPROVED`` — one input channel holding L normalised like an ImageNet gray image (so an ImageNet-initialised
  trunk sees the statistics it was trained on), and an output scaled by 100 so the last conv works at unit scale.

``forward`` always takes L in CIELAB units (``N×1×H×W``) and returns ab in CIELAB units (``N×2×H×W``), H and W
multiples of 8; the adapters live inside the graph so the ONNX export carries them too.

Example::

    >>> import torch
    >>> net = ColorizationNet(ORIGINAL).eval()
    >>> tuple(net(torch.full((1, 1, 64, 64), 50.0)).shape)
    (1, 2, 64, 64)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

TRUNK_CHANNELS = 128  # ResNet-18 layer2 output, at 1/8 of the input resolution
SIZE_MULTIPLE = 8  # input H and W must be multiples of this (three 2× downsamplings, three 2× upsamplings)

# ImageNet statistics of a gray image (mean / std of the three channel statistics), for the 1-channel input.
_GRAY_MEAN = 0.449
_GRAY_STD = 0.226


@dataclass(frozen=True)
class CnnArchitecture:
    """What distinguishes one member of the family; stored in every checkpoint and sidecar."""

    input_mode: str = "l1"  # "lab3": (L, 0, 0) in CIELAB units; "l1": one channel, (L/100 - mean) / std
    ab_scale: float = 100.0  # network output × ab_scale = ab in CIELAB units

    def __post_init__(self) -> None:
        if self.input_mode not in ("lab3", "l1"):
            raise ValueError(f"input_mode must be 'lab3' or 'l1', got {self.input_mode!r}")

    @property
    def in_channels(self) -> int:
        return 3 if self.input_mode == "lab3" else 1

    def to_dict(self) -> dict:
        return {"family": "resnet18-layer2-upsampler", **asdict(self)}

    @classmethod
    def from_dict(cls, d: dict) -> "CnnArchitecture":
        return cls(input_mode=d["input_mode"], ab_scale=float(d["ab_scale"]))


ORIGINAL = CnnArchitecture(input_mode="lab3", ab_scale=1.0)
IMPROVED = CnnArchitecture(input_mode="l1", ab_scale=100.0)


def _conv_bn_relu(c_in: int, c_out: int) -> list[nn.Module]:
    return [nn.Conv2d(c_in, c_out, kernel_size=3, padding=1), nn.BatchNorm2d(c_out), nn.ReLU()]


class ColorizationNet(nn.Module):
    def __init__(self, architecture: CnnArchitecture = IMPROVED):
        super().__init__()
        from torchvision.models import resnet18

        self.architecture = architecture
        # num_classes=365 as in the original (a Places365-shaped head); the head is dropped anyway.
        resnet = resnet18(weights=None, num_classes=365)
        if architecture.in_channels == 1:
            resnet.conv1 = nn.Conv2d(1, 64, kernel_size=7, stride=2, padding=3, bias=False)
        # conv1, bn1, relu, maxpool, layer1, layer2 -> 128 channels at 1/8 resolution
        self.midlevel_resnet = nn.Sequential(*list(resnet.children())[0:6])
        # Indices matter: they are the original checkpoint's `upsample.<i>.*` keys.
        self.upsample = nn.Sequential(
            *_conv_bn_relu(TRUNK_CHANNELS, 128),  # 0, 1, 2
            nn.Upsample(scale_factor=2),  # 3 (nearest)
            *_conv_bn_relu(128, 64),  # 4, 5, 6
            *_conv_bn_relu(64, 64),  # 7, 8, 9
            nn.Upsample(scale_factor=2),  # 10
            *_conv_bn_relu(64, 32),  # 11, 12, 13
            nn.Conv2d(32, 2, kernel_size=3, padding=1),  # 14
            nn.Upsample(scale_factor=2),  # 15
        )

    def network_input(self, L: torch.Tensor) -> torch.Tensor:
        if self.architecture.input_mode == "lab3":
            zeros = torch.zeros_like(L)
            return torch.cat([L, zeros, zeros], dim=1)
        return (L / 100.0 - _GRAY_MEAN) / _GRAY_STD

    def forward(self, L: torch.Tensor) -> torch.Tensor:
        """L in CIELAB units ``N×1×H×W`` (H, W multiples of 8) -> ab in CIELAB units ``N×2×H×W``."""
        out = self.upsample(self.midlevel_resnet(self.network_input(L)))
        if self.architecture.ab_scale != 1.0:
            out = out * self.architecture.ab_scale
        return out


def state_dict_size(model: nn.Module) -> int:
    """Number of values in the state dict (parameters + BatchNorm buffers), the figure quoted for the original."""
    return sum(t.numel() for t in model.state_dict().values())


def load_imagenet_trunk(model: ColorizationNet, state_dict: dict[str, torch.Tensor]) -> None:
    """Initialise the trunk from torchvision's ImageNet ResNet-18 state dict.

    For the 1-channel input, conv1's RGB filters are summed: a gray image replicated to RGB gives the same
    response. The 3-channel ``(L, 0, 0)`` input keeps the filters as they are.
    """
    trunk = {}
    prefix_to_index = {"conv1.": "0.", "bn1.": "1.", "layer1.": "4.", "layer2.": "5."}
    for key, value in state_dict.items():
        for prefix, index in prefix_to_index.items():
            if key.startswith(prefix):
                if key == "conv1.weight" and model.architecture.in_channels == 1:
                    value = value.sum(dim=1, keepdim=True)
                trunk[index + key[len(prefix):]] = value
    model.midlevel_resnet.load_state_dict(trunk, strict=True)
