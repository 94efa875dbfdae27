"""Shared by the DDColor tests: the fixture's weight formula (written out here from the fixture README, section 5,
not imported from its reading aid) and the fixture's arrays.

The formula's k is the position of a tensor in the authors' ``basicsr`` state-dict order, which the fixture's
``state_dict_keys_ddcolor_tiny.json`` lists (our module tree has the same keys, in an order that does not matter:
tensors load by name).
"""

from __future__ import annotations

import functools
import json
import math
from collections import OrderedDict

import numpy as np
import torch
from conftest import fixture_path

CONSTANTS = {"mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}
EMBEDDINGS = ("query_feat", "query_embed", "level_embed")


@functools.lru_cache(maxsize=1)
def key_spec() -> dict:
    return json.loads(fixture_path("ddcolor", "state_dict_keys_ddcolor_tiny.json").read_text())


@functools.lru_cache(maxsize=1)
def reference() -> dict:
    with np.load(fixture_path("ddcolor", "reference_ddcolor_tiny.npz"), allow_pickle=False) as npz:
        return {name: npz[name] for name in npz.files}


def _dense(n: int, k: int, a: float, b: float, scale: float) -> np.ndarray:
    i = np.arange(n, dtype=np.int64)
    return scale * np.sin(((a * i.astype(np.float64) + b * k) + 0.5) + ((i * i) % 65537).astype(np.float64))


def formula_weights(entries: list[tuple[str, tuple[int, ...]]], *, a=0.37, b=1.11, gain=2.3, g0=0.5, g1=0.25,
                    rv=0.1) -> OrderedDict:
    """key -> numpy tensor for the ordered ``(key, shape)`` list: the README's rules, float64 rounded to float32."""
    shapes = dict(entries)
    batchnorms = {key.rsplit(".", 1)[0] for key in shapes if key.endswith(".running_mean")}
    out: dict[str, np.ndarray] = {}
    for k, (key, shape) in enumerate(entries):
        prefix, leaf = key.rsplit(".", 1) if "." in key else ("", key)
        n = math.prod(shape)
        i = np.arange(n, dtype=np.float64)
        if key in CONSTANTS:
            value = np.array(CONSTANTS[key])
        elif leaf == "num_batches_tracked":
            out[key] = np.zeros(shape, np.int64)
            continue
        elif prefix in batchnorms:
            value = {"weight": 1 + 0.1 * np.sin(0.29 * i + k), "bias": 0.05 * np.cos(0.31 * i + k),
                     "running_mean": 0.02 * np.sin(0.17 * i + k),
                     "running_var": rv * (1 + 0.2 * np.abs(np.sin(0.23 * i + k)))}[leaf]
        elif leaf in ("weight_u", "weight_v"):
            continue  # one power-iteration step from the weight, below
        elif leaf == "gamma":
            value = g0 + g1 * np.sin(0.37 * i + k)
        elif leaf == "weight" and prefix.rsplit(".", 1)[-1] in EMBEDDINGS:
            value = _dense(n, k, a, b, 1.0)
        elif leaf in ("weight", "weight_orig", "in_proj_weight") and len(shape) in (2, 4):
            value = _dense(n, k, a, b, gain / math.sqrt(math.prod(shape[1:])))
        elif leaf == "weight":  # 1-D: a LayerNorm
            value = 1 + 0.1 * np.sin(0.29 * i + k)
        elif leaf == "bias" and len(shapes.get(prefix + ".weight", ())) == 1:
            value = 0.05 * np.cos(0.31 * i + k)
        elif leaf in ("bias", "in_proj_bias"):
            value = 0.01 * np.cos(0.53 * i + k)
        else:
            raise AssertionError(f"no rule for {key} {shape}")
        out[key] = np.asarray(value, np.float64).astype(np.float32).reshape(shape)
    index = {key: k for k, (key, _) in enumerate(entries)}
    for key in shapes:
        if key.endswith(".weight_u"):
            prefix = key[: -len(".weight_u")]
            wm = out[prefix + ".weight_orig"].astype(np.float64)
            wm = wm.reshape(wm.shape[0], -1)
            u0 = np.cos(0.61 * np.arange(wm.shape[0], dtype=np.float64) + index[key])
            v = wm.T @ u0
            v /= np.linalg.norm(v)
            u = wm @ v
            u /= np.linalg.norm(u)
            out[key], out[prefix + ".weight_v"] = u.astype(np.float32), v.astype(np.float32)
    return OrderedDict((key, out[key]) for key, _ in entries)


@functools.lru_cache(maxsize=1)
def reference_state_dict() -> dict[str, torch.Tensor]:
    """The fixture's reference weights for DDColor-T, as torch tensors."""
    spec = key_spec()
    params = {key: float(v) for key, v in spec["formula_params"].items()}
    entries = [(e["key"], tuple(e["shape"])) for e in spec["entries"]]
    return {key: torch.from_numpy(value) for key, value in formula_weights(entries, **params).items()}


def reference_net():
    """colorbench's DDColor-T with the fixture's weights loaded strictly, in eval mode."""
    from colorbench.methods.ddcolor.model import DDColorNet

    net = DDColorNet("convnext-t")
    net.load_state_dict(reference_state_dict(), strict=True)
    return net.eval()
