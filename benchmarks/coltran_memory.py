"""ColTran memory per stage at full size: the estimate the upsamplers chunk by, checked by a CPU measurement, and
the batch sizes it implies on a Colab T4 (15 GB, no bf16) in float32 and float16.

    PYTHONPATH=src python benchmarks/coltran_memory.py              # arithmetic only (seconds)
    PYTHONPATH=src python benchmarks/coltran_memory.py --measure    # + peak RSS of the upsamplers on this CPU

``--measure`` runs each upsampler's ``predict`` on ``k`` = 1 and 2 image-channels in fresh subprocesses (random weights,
float32, ONE encoder layer: layers run one after the other and free their activations, so one layer has the per-item
peak of four) and takes the difference of two peaks as the measured bytes per item — the weights and the interpreter
cancel out. Two peaks per process: the peak RSS, and the peak of the live allocations (``heap.live_bytes``: what
malloc has handed out and not had back, sampled every millisecond), which leaves out the freed blocks glibc keeps in
its heap. The live bytes are the tensors themselves, what the T4 table uses (a GPU's caching allocator holds tensors,
not glibc's free blocks). The upsamplers run without and with the reused heap (:mod:`colorbench.methods.coltran.heap`,
on by default on a CPU): its RSS is what a CPU run peaks at. The colorizer is
measured the same way on 1 and 2 images (the full model, the cached official sampler over its first rows: the encoder,
the outer decoder's first full pass and the fixed-length caches are all allocated by then, so later rows add nothing).
From the measured float32 live bytes it derives the T4 table (``t4_from_measurement``): float16 halves every
activation (all activation tensors have the model's dtype; the integer inputs are small), the weights are the parameter
count times the element size, and a pass may use :data:`~colorbench.methods.coltran.memory.CUDA_SHARE` of the T4. Writes
``benchmarks/out/coltran_memory.json``."""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import torch
from peak import PollingPeak

from colorbench.methods.coltran import heap
from colorbench.methods.coltran.config import full_config
from colorbench.methods.coltran.memory import CUDA_SHARE, bytes_per_item
from colorbench.methods.coltran.models import build_model

OUT = Path(__file__).resolve().parent / "out" / "coltran_memory.json"
T4_BYTES = 15 * 10**9  # Colab's T4: 15 GB (about 14.7 GiB usable)
KINDS = ("colorizer", "color_upsampler", "spatial_upsampler")


def colorizer_bytes_per_image(element: int) -> int:
    """The colorizer's sampling state per image: the gray encoder's peak (64x64x512 activations, as an upsampler
    layer), plus z, the outer decoder's context and the cached keys/values of its column attention (2 layers x k, v)
    and the inner decoder's per-row state: about 8 more 64x64x512 tensors."""
    cfg = full_config("colorizer")
    side = cfg.resolution[0]
    return bytes_per_item(side, cfg.hidden_size, cfg.encoder.ff_size, torch.float32) // 4 * element + \
        8 * side * side * cfg.hidden_size * element


def estimate() -> dict:
    stages = {}
    for kind in KINDS:
        with torch.device("meta"):
            params = sum(p.numel() for p in build_model(full_config(kind)).parameters())
        row = {"parameters": params}
        for name, dtype in (("fp32", torch.float32), ("fp16", torch.float16)):
            element = torch.finfo(dtype).bits // 8
            weights = params * element
            if kind == "colorizer":
                per_image = colorizer_bytes_per_image(element)
                per_item_note = "per image"
            else:
                cfg = full_config(kind)
                per_item = bytes_per_item(cfg.resolution, cfg.hidden_size, cfg.encoder.ff_size, dtype)
                per_image = 3 * per_item  # three channels, when they run together
                row[f"{name}_bytes_per_image_channel"] = per_item
                per_item_note = "per image-channel"
            budget = int(T4_BYTES * CUDA_SHARE) - weights
            unit = per_image if kind == "colorizer" else row[f"{name}_bytes_per_image_channel"]
            row[name] = {"weights_gb": round(weights / 1e9, 3), "activations_gb_per_image": round(per_image / 1e9, 3),
                         "t4_items_per_pass": budget // unit, "unit": per_item_note}
        stages[kind] = row
    return stages


def LivePeak() -> "PollingPeak":
    """The peak of :func:`~colorbench.methods.coltran.heap.live_bytes` while the block runs, sampled every
    millisecond (``peak.PollingPeak``)."""
    return PollingPeak(heap.live_bytes, 0.001)


def _child(kind: str, items: int, reused_heap: bool = True) -> None:
    """In a fresh process: ``items`` image-channels (upsamplers, one full-width layer) or images (colorizer, the full
    model, first rows of the cached sampler) at once; print the peak RSS and the peak live bytes.
    ``reused_heap=False`` runs the upsampler without :func:`~colorbench.methods.coltran.heap.reused_heap` (glibc's
    default large-block handling)."""
    torch.set_num_threads(1)
    if not reused_heap:
        import contextlib

        import colorbench.methods.coltran.models as models

        models.reused_heap = contextlib.nullcontext
    cfg = full_config(kind)
    if kind == "colorizer":
        from colorbench.methods.coltran.sampler import sample_colorizer

        model = build_model(cfg, init="random")
        gray = torch.randint(0, 256, (items, 64, 64))
        with LivePeak() as live:
            sample_colorizer(model, gray, mode="sample", seeds=list(range(items)), max_rows=2)
        print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, live.peak)
        return
    model = build_model(replace(cfg, encoder=replace(cfg.encoder, num_layers=1)), init="random")
    R = cfg.resolution
    values = torch.randint(0, 8 if kind == "color_upsampler" else 256, (items, R, R, 1))
    gray = torch.randint(0, 256, (items, R, R))
    with torch.no_grad(), LivePeak() as live:
        model.predict(values, gray)
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, live.peak)


def _peaks(kind: str, reused_heap: bool) -> tuple[dict[int, int], dict[int, int]]:
    """{items: peak RSS} and {items: peak live bytes}, each from its own fresh process."""
    rss, live = {}, {}
    for items in (1, 2):
        cmd = [sys.executable, __file__, "--child", kind, str(items)] + ([] if reused_heap else ["--no-reused-heap"])
        proc = subprocess.run(cmd, check=True, capture_output=True, text=True,
                              env={**os.environ, "OMP_NUM_THREADS": "1"})
        rss[items], live[items] = (int(v) for v in proc.stdout.split()[-2:])
    return rss, live


def measure() -> dict:
    """Per stage, the peaks at 1 and 2 units and their differences: live bytes (the tensors: what the T4 table is
    derived from) and RSS. The upsamplers run twice: without the reused heap and with it (what a CPU run really peaks
    at, which :data:`~colorbench.methods.coltran.memory.CPU_HEAP_OVERHEAD` must cover)."""
    out = {}
    for kind in KINDS:
        rss, live = _peaks(kind, reused_heap=False)
        cfg = full_config(kind)
        unit = "image" if kind == "colorizer" else "image_channel"
        out[kind] = {"peak_live_bytes": live, f"live_bytes_per_{unit}": live[2] - live[1],
                     "peak_rss_bytes": rss, f"rss_bytes_per_{unit}": rss[2] - rss[1]}
        if kind != "colorizer":
            estimated = bytes_per_item(cfg.resolution, cfg.hidden_size, cfg.encoder.ff_size, torch.float32)
            heap_rss, heap_live = _peaks(kind, reused_heap=True)
            out[kind]["estimated_bytes_per_image_channel"] = estimated
            out[kind]["live_ratio_to_estimate"] = round((live[2] - live[1]) / estimated, 3)
            out[kind]["with_reused_heap"] = {
                "peak_rss_bytes": heap_rss, "rss_bytes_per_image_channel": heap_rss[2] - heap_rss[1],
                "rss_ratio_to_estimate": round((heap_rss[2] - heap_rss[1]) / estimated, 3),
                "peak_live_bytes": heap_live, "live_bytes_per_image_channel": heap_live[2] - heap_live[1]}
    return out


def t4_from_measurement(stages: dict, measured: dict) -> dict:
    """Per stage, float32 and float16: weights, measured activations per unit, and how many units fit one pass."""
    table = {}
    for kind in KINDS:
        per_unit32 = next(v for k, v in measured[kind].items() if k.startswith("live_bytes_per_"))
        row = {"unit": "image" if kind == "colorizer" else "image-channel"}
        for name, element in (("fp32", 4), ("fp16", 2)):
            weights = stages[kind]["parameters"] * element
            per_unit = per_unit32 * element // 4
            row[name] = {"weights_gb": round(weights / 1e9, 3), "activations_gb_per_unit": round(per_unit / 1e9, 3),
                         "t4_units_per_pass": (int(T4_BYTES * CUDA_SHARE) - weights) // per_unit,
                         "t4_gb_at_one_unit": round((weights + per_unit) / 1e9, 3)}
        table[kind] = row
    return table


def main() -> None:
    if len(sys.argv) in (4, 5) and sys.argv[1] == "--child":
        _child(sys.argv[2], int(sys.argv[3]), reused_heap="--no-reused-heap" not in sys.argv[4:])
        return
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--measure", action="store_true")
    args = ap.parse_args()
    if args.measure and heap.live_bytes() is None:
        raise SystemExit("--measure needs glibc >= 2.33 (mallinfo2) to count live allocations")
    report = {"t4_bytes": T4_BYTES, "share_of_gpu_memory_used": CUDA_SHARE,
              "note": "activation estimates from colorbench.methods.coltran.memory (upsamplers) and "
                      "colorizer_bytes_per_image; t4_items_per_pass = (T4 share - weights) / unit",
              "stages": estimate(), "load_average_at_start": os.getloadavg()}
    if args.measure:
        report["cpu_measurement"] = measure()
        report["t4_from_measurement"] = t4_from_measurement(report["stages"], report["cpu_measurement"])
        report["load_average_at_end"] = os.getloadavg()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    from _machine import write_json  # records the machine; benchmarks/ is first on sys.path

    write_json(OUT, report)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
