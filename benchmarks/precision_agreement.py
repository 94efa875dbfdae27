"""How far ColTran's fast GPU settings move its outputs from exact float32: TF32, bfloat16, float16, CUDA graphs and
``torch.compile``, stage by stage, at full size with seeded random weights.

Each variant is compared with the exact float32 run (TF32 off) on the same inputs:

- the upsamplers: their logits (largest and mean absolute difference), how many argmax colours differ, and the largest
  float32 top-2 margin at a differing position (a difference at a margin far above the logit error would be a bug,
  not rounding);
- the colorizer: its per-pixel logits along the float32 greedy path (``force_bins`` replays that path, so every
  variant sees the same context), and how many greedy coarse colours differ when each variant samples on its own;
- CUDA graphs and ``torch.compile`` must not change anything at a given precision beyond rounding: their differing
  counts are reported the same way.

Random weights are not the released ones: their logits are flatter, so near-ties (and argmax flips) are more common
than with trained weights. The figures bound the numerical error; they do not predict quality. ``gpu_check`` runs this
as its ``agreement`` section; ``--dry-run`` runs it on the CPU with tiny models (float32 vs bfloat16 only).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src")]

from colorbench.methods.coltran.config import full_config, smoke_config  # noqa: E402
from colorbench.methods.coltran.models import build_model  # noqa: E402
from colorbench.methods.coltran.pipeline import tf32_products as tf32  # noqa: E402
from colorbench.methods.coltran.sampler import sample_colorizer  # noqa: E402

DTYPES = {"fp32": torch.float32, "tf32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


def compare_logits(ref: torch.Tensor, other: torch.Tensor) -> dict:
    """Logit error and argmax flips of ``other`` against the float32 reference (both (..., classes))."""
    ref, other = ref.float(), other.float()
    diff = (other - ref).abs()
    top2 = ref.topk(2, dim=-1).values
    margin = top2[..., 0] - top2[..., 1]
    flips = ref.argmax(-1) != other.argmax(-1)
    n = flips.numel()
    return {"positions": n, "argmax_differs": int(flips.sum()), "argmax_differs_fraction": float(flips.sum()) / n,
            "max_abs_logit_diff": float(diff.max()), "mean_abs_logit_diff": float(diff.mean()),
            "reference_logit_std": float(ref.std()),
            "max_reference_margin_where_argmax_differs": float(margin[flips].max()) if flips.any() else None,
            "median_reference_margin": float(margin.median())}


def upsampler_inputs(kind: str, batch: int, device: str, rng: np.random.Generator):
    R, top = (64, 8) if kind == "color_upsampler" else (256, 256)
    values = torch.as_tensor(rng.integers(0, top, (batch, R, R, 3))).to(device)
    gray = torch.as_tensor(rng.integers(0, 256, (batch, R, R))).to(device)
    return values, gray


@torch.no_grad()
def upsampler(kind: str, cfg, device: str, variants: list[str], batch: int, compile_check: bool) -> dict:
    model = build_model(cfg(kind), init="random", seed=1).to(device).eval()
    values, gray = upsampler_inputs(kind, batch, device, np.random.default_rng(0))
    with tf32(False):
        ref = model.logits(values, gray)
    out = {"batch": batch}
    for name in variants:
        variant = build_model(cfg(kind), init="random", seed=1).to(device, DTYPES[name]).eval()
        with tf32(name == "tf32"):
            out[name] = compare_logits(ref, variant.logits(values, gray))
        del variant
    if compile_check:  # the pipeline compiles the encoder; same precision (TF32) both sides
        with tf32(True):
            eager = model.predict(values, gray)
            model.encoder = torch.compile(model.encoder, dynamic=False)
            compiled = model.predict(values, gray)
        out["compile_vs_eager_tf32"] = {"argmax_differs": int((eager != compiled).sum()), "positions": eager.numel()}
    return out


@torch.no_grad()
def colorizer(cfg, device: str, variants: list[str], batch: int, graph_check: bool) -> dict:
    model = build_model(cfg("colorizer"), init="random", seed=0).to(device).eval()
    gray = torch.as_tensor(np.random.default_rng(0).integers(0, 256, (batch, 64, 64))).to(device)
    with tf32(False):
        ref = sample_colorizer(model, gray, mode="argmax", return_logits=True)
    out = {"batch": batch}
    for name in variants:
        variant = build_model(cfg("colorizer"), init="random", seed=0).to(device, DTYPES[name]).eval()
        with tf32(name == "tf32"):
            replay = sample_colorizer(variant, gray, mode="argmax", force_bins=ref.bins, return_logits=True)
            own = sample_colorizer(variant, gray, mode="argmax")
        out[name] = {"logits_along_fp32_path": compare_logits(ref.logits, replay.logits),
                     "greedy_bins_differ": int((own.bins != ref.bins).sum()), "greedy_positions": ref.bins.numel()}
        del variant
    if graph_check:  # CUDA graphs replay the same kernels: the bins should not move at all
        with tf32(False):
            graphed = sample_colorizer(model, gray, mode="argmax", cuda_graph=True)
        out["cuda_graph_vs_eager_fp32"] = {"bins_differ": int((graphed.bins != ref.bins).sum()),
                                           "positions": ref.bins.numel()}
    return out


def run(device: str, dry: bool) -> dict:
    cuda = device.startswith("cuda")
    cfg = smoke_config if dry else full_config
    variants = ["tf32", "bf16", "fp16"] if cuda else ["bf16"]
    torch.manual_seed(0)
    result = {"config": "tiny (smoke)" if dry else "full (released models' shapes)",
              "weights": "seeded random: flatter logits than trained ones, so more near-ties than real runs",
              "reference": "float32 with TF32 off", "device": device}
    batches = (2, 1, 2) if dry else (8, 1, 4)
    result["color_upsampler"] = upsampler("color_upsampler", cfg, device, variants, batches[0], compile_check=cuda)
    result["spatial_upsampler"] = upsampler("spatial_upsampler", cfg, device, variants, batches[1],
                                            compile_check=cuda)
    result["colorizer"] = colorizer(cfg, device, variants, batches[2], graph_check=cuda)
    return result


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--dry-run", action="store_true", help="tiny models on the CPU (float32 vs bfloat16)")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    device = "cpu" if args.dry_run else args.device
    result = run(device, args.dry_run)
    if args.out:
        from _machine import write_json  # records the machine; benchmarks/ is first on sys.path

        write_json(args.out, result)
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
