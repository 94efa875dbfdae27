"""``eccv16`` and ``siggraph17``: Zhang et al.'s colorizers as colorbench methods, with the authors' pipeline.

Pipeline (``colorizers/util.py`` + ``demo_release.py`` in richzhang/colorization): resize the input to 256 x 256
(PIL bicubic), take CIELAB L, run the network, get ab at 256 x 256, upsample ab bilinearly to the input's size
(``F.interpolate``, align_corners=False) and join it to the input's *full-resolution* L; Lab -> sRGB.

Why the output is full resolution: that joined image is what the authors' code produces, so it is the method's
native output. The runner's ``merge_luminance`` then finds the same size and the same L and, on in-gamut pixels,
changes at most a level or two of uint8 rounding (tested); out-of-gamut pixels were clipped to sRGB by the authors'
step already, and the runner's L-merge of the clipped colour may move them a little more (the suite-wide rule).
Returning the 256 x 256 image instead would make the runner resize ab a second time (with PIL's antialiased filter,
not the authors' bilinear) after an sRGB round trip that clips out-of-gamut ab at low resolution.

Checked against the authors' own code (``tests/test_zhang_official.py``, shared fixture ``zhang/``: the official
networks run with formula weights): network input, every block, logits, ab and post-processed RGB agree within the
fixture's float32 tolerances. Known differences, with their measured size:

* rounding vs truncation: we round ``255 x rgb``; the official demo's ``plt.imsave`` truncates, so our values are
  one level higher on ~30-50 % of values (never more) — see :func:`join_lightness`;
* resize filters: none on the method's own path (PIL bicubic in, ``F.interpolate`` bilinear out, as the authors).
  The runner's L-merge (PIL antialiased bilinear) only resizes outputs whose size differs from the input's, which
  ours never do; it re-reads ab from the uint8 RGB, which moves colours the sRGB clip left alone by <= 2 levels
  (on < 1 % of values) and clipped colours further (measured up to 7 levels with ECCV16);
* the input: the runner gives BT.601 gray, whose L differs from a colour photo's L by up to 17 L units on the
  fixture's photos, so our outputs on the runner's gray equal the official pipeline *run on that gray photo*, not
  the official output for the colour photo.

Decoding (see :mod:`.decoding`):

* ``eccv16``: ``decode="annealed"`` (default) — the paper's annealed mean, temperature ``temperature`` (default 0.38),
  over the checkpoint's 313 bin centres; ``decode="mean"`` — the official port's output (equal to the authors' code
  within float32 tolerance, tested), ``model_out(softmax(logits))``, the plain mean (annealed mean at T = 1). T applies
  to the logits as the port computes them. Caveat: the Caffe deploy net annealed with a Scale layer (``conv8_313_rh``,
  x2.606 ~ 1/0.384) before its softmax; the port has no such layer. If the conversion dropped it (what the missing layer
  suggests), the port's output is the plain mean and our T is the paper's T; if it folded the factor into ``model8.6``,
  the port's output is already annealed and our T acts as T x 0.384. Which one happened cannot be read off the weights.
* ``siggraph17``: ``decode="regression"`` (default) — the port's output, the regression head;
  ``decode="annealed"`` — annealed mean over the classification head's 529 = 23 x 23 bins (a, b in -110..110), a
  secondary decoding the port does not use (the authors trained this head as an auxiliary/for colour suggestions).

Usage (a sketch, not run by the doctests: it needs the released weights)::

    from colorbench.methods.registry import get_method
    m = get_method("eccv16", temperature=0.38)      # needs the released weights (or smoke=True)
    m.load("cuda")
    rgb = m.colorize([gray], seed=0)[0]
"""

from __future__ import annotations

import functools
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar, Literal

import numpy as np
import torch
from torch.nn import functional as F

from colorbench.color import gray_to_rgb, lab_to_rgb_torch, lab_to_rgb_uint8, rgb_to_lab
from colorbench.methods.base import SMOKE_LABEL, Method, check_grays
from colorbench.methods.options import MethodOptions, speed_only
from colorbench.methods.zhang import decoding
from colorbench.methods.zhang.eccv16 import ECCV16Net
from colorbench.methods.zhang.release import CheckpointMismatch, load_release
from colorbench.methods.zhang.siggraph17 import SIGGRAPH17Net

INPUT_SIZE = 256  # the authors' processing size
SMOKE_WIDTH = 8  # channel width of the smoke models (the real ones have 64)
SMOKE_SEED = 0


# ------------------------------------------------------------------------------------------- pre/post-processing
@functools.lru_cache(maxsize=1)
def _lightness_table() -> np.ndarray:
    # A gray pixel's L depends on its 8-bit value only: tabulate colorbench's one Lab conversion for all 256 values.
    return rgb_to_lab(gray_to_rgb(np.arange(256, dtype=np.uint8)[None, :]))[0, :, 0]


def lightness(gray: np.ndarray) -> np.ndarray:
    """CIELAB L (float64 ``HxW``, 0..100) of a uint8 gray image — ``rgb_to_lab`` of the gray RGB, via a table."""
    return _lightness_table()[gray]


def network_input(images: Sequence[np.ndarray], size: int = INPUT_SIZE) -> torch.Tensor:
    """CIELAB L of each image resized to ``size`` x ``size`` with PIL bicubic, as the authors do: ``N x 1 x s x s``.

    ``images`` are uint8 ``HxW`` gray (what a method gets) or ``HxWx3`` RGB (what the authors' ``load_img`` gives;
    tests compare this path with the official ``tens_l_rs``). The authors resize the uint8 RGB image, then take L;
    for a gray image (R = G = B, which is what their ``load_img`` makes of one) that is the same as resizing the gray
    channel, which is what we do (tested equal).
    """
    from PIL import Image

    planes = []
    for image in images:
        small = image if image.shape[:2] == (size, size) else np.asarray(
            Image.fromarray(image).resize((size, size), Image.BICUBIC))
        planes.append(lightness(small) if small.ndim == 2 else rgb_to_lab(small)[..., 0])
    return torch.from_numpy(np.stack(planes)[:, None].astype(np.float32))


def join_full_resolution(gray: np.ndarray, ab: torch.Tensor, *, backend: str | None = None) -> np.ndarray:
    """ab ``2 x h x w`` (any device) upsampled bilinearly to the gray image's size and joined to its full-res L.

    Returns uint8 ``HxWx3`` on the CPU; see :func:`join_lightness`.
    """
    return join_lightness(lightness(gray), ab, backend=backend)


def join_lightness(l_full: np.ndarray, ab: torch.Tensor, *, backend: str | None = None) -> np.ndarray:
    """The authors' ``postprocess_tens``: ab ``2 x h x w`` upsampled to L's size (``F.interpolate`` bilinear,
    align_corners=False, no antialias), joined to the full-resolution L ``HxW`` (0..100), Lab -> sRGB, then
    ``rint(255 x rgb)`` as uint8 ``HxWx3`` on the CPU.

    Measured against the official code (``tests/test_zhang_official.py``, the fixture's 4 photos): the official
    float output rounded, to +-1 level on <= 0.01 % of values (float error <= 2e-3, i.e. our half-level rounding).
    The official demo saves with ``plt.imsave``, which *truncates* (floor) instead of rounding: our values are one
    level above the demo's PNGs on 49.8 % (ECCV16) / 28.8 % (SIGGRAPH17, many values clipped to 0 or 255) of
    values of image 0, never more than one level — a difference in the demo's file writing, not in the colours.

    On a GPU the Lab -> sRGB step runs there, in float64 with colorbench's torch twin of the skimage formula; on the
    CPU numpy's twin is faster (``backend`` "numpy"/"torch" overrides). Both give the same uint8 image (tested).
    """
    height, width = l_full.shape
    ab = ab.float()
    if tuple(ab.shape[-2:]) != (height, width):
        ab = F.interpolate(ab[None], size=(height, width), mode="bilinear", align_corners=False)[0]
    if (backend or ("numpy" if ab.device.type == "cpu" else "torch")) == "numpy":
        lab = np.concatenate([np.asarray(l_full, np.float64)[..., None],
                              ab.permute(1, 2, 0).cpu().numpy().astype(np.float64)], axis=-1)
        return lab_to_rgb_uint8(lab)
    l_plane = torch.as_tensor(np.asarray(l_full, np.float64), device=ab.device)
    lab = torch.cat([l_plane[None], ab.double()], dim=0)
    return torch.round(lab_to_rgb_torch(lab, clip=True) * 255.0).to(torch.uint8).permute(1, 2, 0).cpu().numpy()


# ------------------------------------------------------------------------------------------- the methods
@dataclass(frozen=True, kw_only=True)
class ZhangOptions(MethodOptions):
    """``decode``: how ab comes out of the network (each method's own choices, see the module docstring);
    ``temperature``: the annealed mean's T (0 = mode, 1 = mean); ``input_size``: the processing size (a multiple
    of 8; the authors' is 256)."""

    decode: str
    temperature: float = decoding.PAPER_TEMPERATURE
    batch_size: int = speed_only(16)
    input_size: int = INPUT_SIZE


@dataclass(frozen=True, kw_only=True)
class ECCV16Options(ZhangOptions):
    decode: Literal["annealed", "mean"] = "annealed"


@dataclass(frozen=True, kw_only=True)
class SIGGRAPH17Options(ZhangOptions):
    decode: Literal["regression", "annealed"] = "regression"


class _ZhangMethod(Method):
    family = "cnn"
    stochastic = False
    weights_name: ClassVar[str]
    Options: ClassVar[type[ZhangOptions]]
    net: torch.nn.Module | None

    def __init__(self, options: ZhangOptions | None = None, /, **values):
        super().__init__(options, **values)
        o = self.options
        if not o.temperature >= 0:
            raise ValueError(f"{self.name}: temperature must be >= 0 (0 = mode, 1 = mean), got {o.temperature}")
        if o.input_size % 8:
            raise ValueError(f"{self.name}: input_size must be a multiple of 8, got {o.input_size}")
        self.net = None
        if o.smoke:
            self.description = f"{type(self).description} [{SMOKE_LABEL}]"

    # -- contract
    def weights(self) -> list[str]:
        return [] if self.options.smoke else [self.weights_name]

    def build(self) -> torch.nn.Module:
        raise NotImplementedError

    def load(self, device: str) -> None:
        if self.options.smoke:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(SMOKE_SEED)
                net = self.build()
            self._init_smoke(net)
        else:
            net = self.build()
            load_release(net, self.weights_name)
            self._after_release_load(net)
        self.device = device
        self.net = net.eval().to(device)

    def _init_smoke(self, net: torch.nn.Module) -> None:
        pass

    def _after_release_load(self, net: torch.nn.Module) -> None:
        pass

    def unload(self) -> None:
        self.net = None
        super().unload()

    def config(self) -> dict:
        o = self.options  # the options (Method.config), with the temperature only where the decoding uses it
        return {**super().config(), "temperature": o.temperature if o.decode == "annealed" else None,
                "weights": None if o.smoke else self.weights_name}

    def colorize(self, grays: list[np.ndarray], *, seed: int, item_seeds: Sequence[int] | None = None,
                 labels: Sequence[str | None] | None = None) -> list[np.ndarray]:
        """Colorize uint8 ``HxW`` gray images; returns uint8 ``HxWx3`` at the input's size (see module docstring)."""
        return [out[0] for out in self._run(grays, [self.options.temperature])]

    # -- shared machinery
    def _require_loaded(self) -> torch.nn.Module:
        if self.net is None:
            raise RuntimeError(f"{self.name}: call load(device) before colorize")
        return self.net

    def _run(self, grays: Sequence[np.ndarray], temperatures: Sequence[float]) -> list[list[np.ndarray]]:
        """For each image, one output per temperature; the network runs once per image."""
        check_grays(grays, self.name)
        self._require_loaded()
        stages = {"preprocess": 0.0, "network": 0.0, "postprocess": 0.0}
        outputs: list[list[np.ndarray]] = []
        for start in range(0, len(grays), self.options.batch_size):
            chunk = grays[start:start + self.options.batch_size]
            t0 = time.perf_counter()
            l_small = network_input(chunk, self.options.input_size).to(self.device)
            t1 = time.perf_counter()
            with torch.inference_mode():
                abs_per_t = self.predict_ab(l_small, temperatures)  # list (per T) of N x 2 x s x s
                if str(self.device).startswith("cuda"):
                    torch.cuda.synchronize(self.device)
            t2 = time.perf_counter()
            with torch.inference_mode():
                for i, gray in enumerate(chunk):
                    outputs.append([join_full_resolution(gray, ab[i]) for ab in abs_per_t])
            t3 = time.perf_counter()
            stages["preprocess"] += t1 - t0
            stages["network"] += t2 - t1
            stages["postprocess"] += t3 - t2
        self.stage_seconds = stages
        return outputs

    def predict_ab(self, L: torch.Tensor, temperatures: Sequence[float] | None = None) -> list[torch.Tensor]:
        """The network part of :meth:`colorize`: L ``N x 1 x s x s`` (0..100, from :func:`network_input`) -> one ab
        ``N x 2 x s x s`` per temperature (default: the method's own), on the method's device."""
        net = self._require_loaded()
        temperatures = [self.options.temperature] if temperatures is None else temperatures
        return self._predict_ab(net, L.to(self.device), temperatures)

    def _predict_ab(self, net: torch.nn.Module, L: torch.Tensor, temperatures: Sequence[float]) -> list[torch.Tensor]:
        raise NotImplementedError

    # -- notebook helpers
    def colorize_temperatures(self, grays: list[np.ndarray],
                              temperatures: Sequence[float]) -> list[dict[float, np.ndarray]]:
        """Annealed-mean outputs at several temperatures (network run once): per image ``{T: uint8 HxWx3}``.

        Needs ``decode="annealed"``. T = 1 is the plain mean, T = 0 the mode, 0.38 the paper's choice.
        """
        if self.options.decode != "annealed":
            raise ValueError(f"{self.name}: temperatures only matter with decode='annealed' (this one has "
                             f"{self.options.decode!r})")
        for t in temperatures:
            if not t >= 0:
                raise ValueError(f"temperature must be >= 0, got {t}")
        temps = [float(t) for t in temperatures]
        return [dict(zip(temps, outs)) for outs in self._run(grays, temps)]


class ECCV16Method(_ZhangMethod):
    name = "eccv16"
    description = ("Zhang et al. ECCV 2016: CNN classifying 313 ab bins per pixel, annealed-mean decoding; "
                   "authors' weights.")
    weights_name = "eccv16"
    Options = ECCV16Options
    centres: torch.Tensor | None = None  # the bin centres, set by load

    def build(self) -> ECCV16Net:
        return ECCV16Net(width=SMOKE_WIDTH if self.options.smoke else 64)

    def _init_smoke(self, net: torch.nn.Module) -> None:
        # The released model_out is the fixed table of bin centres / 110; a smoke model gets the stand-in table.
        with torch.no_grad():
            net.model_out.weight.copy_(torch.from_numpy(decoding.centres_to_model_out(decoding.standin_eccv16_centres())))
        self.centres = torch.from_numpy(decoding.standin_eccv16_centres()).float()

    def _after_release_load(self, net: torch.nn.Module) -> None:
        centres = decoding.centres_from_model_out(net.model_out.weight)
        problems = decoding.check_eccv16_centres(centres)
        if problems:
            message = (f"eccv16: the checkpoint's model_out does not look like the 313 bin centres / 110 "
                       f"({'; '.join(problems)})")
            if self.options.decode == "annealed":
                raise CheckpointMismatch(message + "; the annealed mean needs them. "
                                                   "decode='mean' still reproduces the port.")
            warnings.warn(message, stacklevel=3)
        self.centres = torch.from_numpy(centres).float()

    def config(self) -> dict:
        return {**super().config(), "bins": "stand-in (smoke)" if self.options.smoke else "from checkpoint model_out"}

    def _predict_ab(self, net, L, temperatures):
        logits = net.class_logits(L)
        if self.options.decode == "mean":
            return [net.upsample4(net.model_out(torch.softmax(logits, dim=1))) * decoding.AB_NORM]
        return [net.upsample4(decoding.annealed_mean(logits, self.centres, t)) for t in temperatures]

    def class_probabilities(self, gray: np.ndarray, temperature: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
        """(bin centres ``313x2``, probabilities ``313 x h x w`` at the network's 1/4 resolution) for one image,
        annealed at ``temperature`` — for plotting the predicted colour distribution of a pixel."""
        net = self._require_loaded()
        check_grays([gray], self.name)
        with torch.inference_mode():
            logits = net.class_logits(network_input([gray], self.options.input_size).to(self.device))[0].float()
            probs = torch.softmax(logits / max(temperature, 1e-6), dim=0)
        return self.centres.numpy().copy(), probs.cpu().numpy()


class SIGGRAPH17Method(_ZhangMethod):
    name = "siggraph17"
    description = "Zhang et al. SIGGRAPH 2017 (U-Net with shortcuts, regression head, no user hints), authors' weights."
    weights_name = "siggraph17"
    Options = SIGGRAPH17Options

    @functools.cached_property
    def centres(self) -> torch.Tensor:
        """The classification head's 529 bin centres (a fixed grid, not read from the checkpoint)."""
        return torch.from_numpy(decoding.siggraph17_centres()).float()

    def build(self) -> SIGGRAPH17Net:
        return SIGGRAPH17Net(width=SMOKE_WIDTH if self.options.smoke else 64)

    def _predict_ab(self, net, L, temperatures):
        if self.options.decode == "regression":
            return [net(L)]
        _, logits = net.forward_with_classes(L)
        return [ECCV16Net.upsample4(decoding.annealed_mean(logits, self.centres, t)) for t in temperatures]


# ------------------------------------------------------------------------------------------- notebook entry points
def colorize_with_temperatures(grays: list[np.ndarray], temperatures: Sequence[float] = (1.0, 0.38, 0.1, 0.0), *,
                               model: str = "eccv16", device: str = "cpu",
                               smoke: bool = False) -> list[dict[float, np.ndarray]]:
    """Colorize with the annealed mean at several temperatures, to show what T does (one network pass per image).

    Example (``smoke=True``: a tiny untrained network, no weights needed)::

        >>> import numpy as np
        >>> outs = colorize_with_temperatures([np.full((32, 48), 128, np.uint8)], (1.0, 0.38, 0.0), smoke=True)
        >>> sorted(outs[0]), outs[0][0.38].shape, outs[0][0.38].dtype  # uint8 HxWx3 at the input's size
        ([0.0, 0.38, 1.0], (32, 48, 3), dtype('uint8'))
    """
    method = (ECCV16Method if model == "eccv16" else SIGGRAPH17Method)(decode="annealed", smoke=smoke)
    method.load(device)
    try:
        return method.colorize_temperatures(grays, temperatures)
    finally:
        method.unload()
