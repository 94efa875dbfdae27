"""LPIPS wiring with an explicitly uncalibrated trunk (the real trunk cannot be downloaded here)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from colorbench import weights
from colorbench.metrics.lpips_metric import LPIPS
from colorbench.weights import WeightsUnavailable


@pytest.fixture(scope="module")
def metric():
    return LPIPS(trunk="uncalibrated")  # the default net: AlexNet, what the docs and the scorer use


@pytest.fixture
def batch(real_images):
    x = torch.from_numpy(np.stack(real_images[:4])).permute(0, 3, 1, 2).float() / 255.0
    return x[:2], x[2:4]


def test_uncalibrated_is_labelled_as_such(metric):
    assert metric.calibrated is False
    assert "UNCALIBRATED" in metric.label
    assert metric.net == "alex" and metric.trunk == "uncalibrated"
    assert metric.trunk_provenance == {}  # no trunk file behind a random trunk


def test_frozen_and_dropout_stays_off_inside_a_training_loop(metric, batch):
    """LPIPS as a training loss (cnn-lpips): no parameter of its own to train, and ``train()`` (what a training loop
    calls on every module) keeps its dropout off, so the loss is deterministic."""
    assert not any(p.requires_grad for p in metric.parameters())
    a, b = batch
    before = metric(a, b)
    try:
        metric.train()
        assert not metric.training and not metric.model.training
        torch.testing.assert_close(metric(a, b), before, rtol=0, atol=0)
    finally:
        metric.eval()



def test_vgg_net_is_a_vgg16_trunk_with_its_own_linear_layers():
    vgg = LPIPS(net="vgg", trunk="uncalibrated")
    assert [lin.model[-1].in_channels for lin in vgg.model.lins] == [64, 128, 256, 512, 512]  # AlexNet: 64, 192, ...
    assert "vgg" in vgg.label


def test_a_checkpoint_missing_trunk_weights_is_refused_naming_the_file(metric):
    from colorbench.metrics.lpips_metric import _load_trunk

    partial = {k: v for k, v in metric.model.net.state_dict().items()}  # our names, not torchvision's
    with pytest.raises(ValueError, match=r"trunk\.pth: not a torchvision checkpoint .*features\.0\.weight"):
        _load_trunk(metric.model.net, partial, "trunk.pth")


def test_matches_lpips_package_on_minus_one_to_one_inputs(metric, batch):
    a, b = batch
    ours = metric(a, b)
    theirs = metric.model(a * 2 - 1, b * 2 - 1).flatten()
    also = metric.model(a, b, normalize=True).flatten()  # the package's own [0, 1] switch
    torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-7)
    torch.testing.assert_close(ours, also, rtol=1e-5, atol=1e-7)
    # the classic mistake (feeding [0, 1] as if it were [-1, 1]) gives different numbers
    assert not torch.allclose(ours, metric.model(a, b).flatten(), rtol=1e-3)


def test_range_identity_symmetry_and_batching(metric, batch):
    a, b = batch
    with torch.inference_mode():
        d = metric(a, b)
        assert d.shape == (2,)
        assert torch.all(d > 0) and torch.all(torch.isfinite(d))
        torch.testing.assert_close(metric(a, a), torch.zeros(2), atol=1e-7, rtol=0)
        torch.testing.assert_close(metric(b, a), d, rtol=1e-5, atol=1e-7)
        singles = torch.cat([metric(a[i:i + 1], b[i:i + 1]) for i in range(2)])
        torch.testing.assert_close(singles, d, rtol=1e-4, atol=1e-6)
        # cached truth features give the same distances as the plain forward
        cached = metric.distance_from_features(metric.features(a), metric.features(b))
        torch.testing.assert_close(cached, d, rtol=1e-5, atol=1e-7)


def test_more_colour_damage_is_farther(metric, real_images):
    from colorbench.color import gray_to_rgb, to_gray

    truth = real_images[0]
    gray = gray_to_rgb(to_gray(truth))
    slightly = ((truth.astype(np.float64) * 0.9 + gray * 0.1)).astype(np.uint8)
    t = lambda x: torch.from_numpy(np.array(x)).permute(2, 0, 1)[None].float() / 255  # noqa: E731
    assert metric(t(slightly), t(truth)).item() < metric(t(gray), t(truth)).item()


def test_size_mismatch_is_an_error(metric):
    with pytest.raises(ValueError, match="same size"):
        metric(torch.rand(1, 3, 64, 64), torch.rand(1, 3, 64, 48))
    with pytest.raises(ValueError, match="float"):
        metric.features(torch.zeros(1, 3, 64, 64, dtype=torch.uint8))
    with pytest.raises(ValueError, match="N×3×H×W"):  # RGBA is not silently fed to an RGB network
        metric.features(torch.zeros(1, 4, 64, 64))


def test_real_trunk_missing_offline_is_weights_unavailable():
    with pytest.raises(WeightsUnavailable, match="torchvision-alexnet"):
        LPIPS(net="alex")
    with pytest.raises(WeightsUnavailable, match="vgg16"):
        LPIPS(net="vgg")


def _stand_in_alexnet_file(monkeypatch, *, name_ok: bool = True, payload: bytes | None = None):
    """A random AlexNet (or ``payload``) in torch.hub's cache under a name carrying its own sha256 prefix (the
    registry entry is pointed at that name), or, with ``name_ok=False``, under torchvision's real file name."""
    import dataclasses
    import hashlib
    import io

    from torchvision.models import alexnet

    torch.manual_seed(123)
    stand_in = alexnet(weights=None).state_dict()  # a random stand-in with torchvision's exact keys
    if payload is None:
        buffer = io.BytesIO()
        torch.save(stand_in, buffer)
        payload = buffer.getvalue()
    spec = weights.get_spec("torchvision-alexnet")
    if name_ok:
        spec = dataclasses.replace(spec, relpath=f"alexnet-standin-{hashlib.sha256(payload).hexdigest()[:8]}.pth")
        monkeypatch.setitem(weights.REGISTRY, spec.name, spec)
    path = weights.local_path(spec)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(payload)
    return stand_in, path


def test_trunk_is_loaded_from_the_torch_hub_cache(monkeypatch):
    """A file at the registry path is used (no network) and lands in the trunk, key for key."""
    stand_in, path = _stand_in_alexnet_file(monkeypatch)
    metric = LPIPS(net="alex", trunk="imagenet")
    assert metric.calibrated and metric.label == "LPIPS v0.1 (alex)"  # the name reports show for the real metric
    assert not any(p.requires_grad for p in metric.parameters())  # frozen: a training loss never updates it
    assert metric.trunk_provenance["file"] == str(path) and metric.trunk_provenance["source"] == "url"
    trunk = metric.model.net
    torch.testing.assert_close(getattr(trunk.slice1, "0").weight, stand_in["features.0.weight"])
    torch.testing.assert_close(getattr(trunk.slice5, "10").bias, stand_in["features.10.bias"])
    # the calibrated linear layers still come from the lpips package
    import os

    import lpips

    shipped = torch.load(os.path.join(os.path.dirname(lpips.__file__), "weights/v0.1/alex.pth"), map_location="cpu")
    torch.testing.assert_close(metric.model.lin0.model[1].weight, shipped["lin0.model.1.weight"])


def test_random_trunk_under_torchvisions_name_is_refused(monkeypatch):
    """A random AlexNet saved as alexnet-owt-7be5be79.pth is not scored as calibrated LPIPS (issue 14, point 3):
    its sha256 does not start with the prefix in its name; `weights list` does not call it present."""
    _, path = _stand_in_alexnet_file(monkeypatch, name_ok=False)
    assert path.name == "alexnet-owt-7be5be79.pth"
    present, state = weights.status("torchvision-alexnet")
    assert present is False and "7be5be79" in state
    with pytest.raises(WeightsUnavailable, match="its name says it starts with 7be5be79") as info:
        LPIPS(net="alex")
    assert "delete it" in str(info.value)


def test_unreadable_trunk_is_weights_unavailable_not_torchs_advice(monkeypatch):
    """A damaged trunk (right name, unreadable bytes) gives WeightsUnavailable naming the file (issue 14, point 12),
    never torch's 'weights_only=False' advice, so `score` records LPIPS as unavailable instead of aborting."""
    _, path = _stand_in_alexnet_file(monkeypatch, payload=b"PK\x03\x04 truncated torch zip")
    with pytest.raises(WeightsUnavailable) as info:
        LPIPS(net="alex")
    message = str(info.value)
    assert str(path) in message and "delete it" in message and "weights_only" not in message


def test_unknown_net_or_trunk():
    with pytest.raises(ValueError, match="unknown LPIPS net"):
        LPIPS(net="resnet")
    with pytest.raises(ValueError, match="trunk"):
        LPIPS(net="alex", trunk="random")


def test_get_lpips_shares_one_model_per_net_trunk_device_and_trunk_file(monkeypatch):
    """The scorer takes its LPIPS from get_lpips: the defaults are the real metric (alex, ImageNet trunk, CPU); a
    second call with the same arguments reuses the built model, other arguments never get it, and a replaced trunk
    file (new mtime) is loaded afresh instead of the cached model's old trunk."""
    import os

    from colorbench.metrics import lpips_metric

    monkeypatch.setattr(lpips_metric, "_CACHE", {})
    with pytest.raises(WeightsUnavailable, match="torchvision-alexnet"):  # no trunk file yet
        lpips_metric.get_lpips()
    _, path = _stand_in_alexnet_file(monkeypatch)
    real = lpips_metric.get_lpips()
    assert (real.net, real.trunk, real.calibrated) == ("alex", "imagenet", True)
    assert lpips_metric.get_lpips("alex", "imagenet", torch.device("cpu")) is real
    uncalibrated = lpips_metric.get_lpips(trunk="uncalibrated")
    assert (uncalibrated.net, uncalibrated.trunk) == ("alex", "uncalibrated")
    assert lpips_metric.get_lpips(trunk="uncalibrated") is uncalibrated
    vgg = lpips_metric.get_lpips("vgg", "uncalibrated")
    assert (vgg.net, vgg.trunk) == ("vgg", "uncalibrated") and vgg is not uncalibrated
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert lpips_metric.get_lpips() is not real
