"""ColTran speed: images/s per stage at several batch sizes, cached vs naive (official re-run-everything) sampler.

Random weights (speed does not depend on the values). Writes ``benchmarks/out/coltran.json`` and prints a summary.

    PYTHONPATH=src python benchmarks/coltran.py                 # CPU: tiny config, full-size colorizer rows
    PYTHONPATH=src python benchmarks/coltran.py --device cuda   # GPU: full-size pipeline at large batches

On CPU the full-size stages are far too slow to run whole (that is what the GPU is for); the script times a few
colorizer rows (``rows_timed``) and reports seconds per row as measured, and the upsamplers at batch 1.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

from colorbench.methods.coltran.config import full_config, smoke_config
from colorbench.methods.coltran.models import build_model
from colorbench.methods.coltran.pipeline import ColTranPipeline
from colorbench.methods.coltran.sampler import sample_colorizer

OUT = Path(__file__).resolve().parent / "out" / "coltran.json"


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def timed(fn, device: str, repeat: int = 1) -> float:
    fn()  # warm-up (allocations, CUDA graph capture, compile)
    sync(device)
    t0 = time.perf_counter()
    for _ in range(repeat):
        fn()
    sync(device)
    return (time.perf_counter() - t0) / repeat


def make_pipeline(size: str, device: str, dtype: str, cuda_graph: bool, compile: bool) -> ColTranPipeline:
    cfg = full_config if size == "full" else smoke_config
    models = [build_model(cfg(k), init="random", seed=i) for i, k in
              enumerate(("colorizer", "color_upsampler", "spatial_upsampler"))]
    return ColTranPipeline(*models, device=device, dtype=dtype, cuda_graph=cuda_graph, compile=compile,
                           upsampler_batch=None)  # chosen from free memory, as the method does


def peak_gib(fn, device: str):
    """Run ``fn``; return (its result, the CUDA allocator's peak GiB during it, or None off CUDA)."""
    if not device.startswith("cuda"):
        return fn(), None
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    out = fn()
    torch.cuda.synchronize()
    return out, round(torch.cuda.max_memory_allocated() / 2**30, 3)


def bench_stages(pipe: ColTranPipeline, batch: int, device: str, rows: int | None) -> dict:
    """images/s per stage (one warm-up call each, then one timed call) and, on CUDA, each stage's peak memory."""
    rng = np.random.default_rng(0)
    g64 = rng.integers(0, 256, (batch, 64, 64)).astype(np.int32)
    g256 = rng.integers(0, 256, (batch, 256, 256)).astype(np.int32)
    gray = torch.as_tensor(g64).to(device)
    out: dict = {"batch": batch}
    seeds = list(range(batch))

    def colorize():
        return sample_colorizer(pipe.colorizer, gray, mode="sample", seeds=seeds, max_rows=rows,
                                cuda_graph=pipe.cuda_graph)

    secs, out["colorizer_peak_gib"] = peak_gib(lambda: timed(colorize, device), device)
    H = 64
    if rows is None or rows == H:
        out["colorizer_images_per_s"] = batch / secs
    else:  # partial: report what was measured
        out["colorizer_rows_timed"] = rows
        out["colorizer_seconds_per_row"] = secs / rows
    bins = rng.integers(0, 512, (batch, 64, 64))
    secs, out["color_upsampler_peak_gib"] = peak_gib(lambda: timed(lambda: pipe.upsample_color(bins, g64), device),
                                                     device)
    out["color_upsampler_images_per_s"] = batch / secs
    rgb64 = rng.integers(0, 256, (batch, 64, 64, 3)).astype(np.uint8)
    secs, out["spatial_upsampler_peak_gib"] = peak_gib(
        lambda: timed(lambda: pipe.upsample_spatial(rgb64, g256), device), device)
    out["spatial_upsampler_images_per_s"] = batch / secs
    if "colorizer_images_per_s" in out:
        total = sum(batch / out[k] for k in ("colorizer_images_per_s", "color_upsampler_images_per_s",
                                              "spatial_upsampler_images_per_s"))
        out["pipeline_images_per_s"] = batch / total
    return {k: v for k, v in out.items() if v is not None}


def bench_sampler_cached_vs_naive(size: str, device: str, batch: int, rows: int) -> dict:
    cfg = full_config("colorizer") if size == "full" else smoke_config("colorizer")
    model = build_model(cfg, init="random").to(device)
    gray = torch.randint(0, 256, (batch, 64, 64), device=device)
    res = {"batch": batch, "rows_timed": rows}
    for cached in (True, False):
        secs = timed(lambda cached=cached: sample_colorizer(model, gray, mode="argmax", cached=cached,
                                                            max_rows=rows), device)
        res["cached" if cached else "naive_official"] = {"seconds_per_row": secs / rows}
    res["speedup"] = res["naive_official"]["seconds_per_row"] / res["cached"]["seconds_per_row"]
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    ap.add_argument("--dtype", default="float32", help="float32 | bfloat16 | float16 (CUDA)")
    ap.add_argument("--batches", type=int, nargs="*", default=None)
    ap.add_argument("--no-cuda-graph", action="store_true")
    ap.add_argument("--compile", action="store_true")
    ap.add_argument("--no-tf32", action="store_true", help="CUDA: keep float32 matmuls exact (the coltran method "
                    "enables TF32 by default on CUDA, as this script does)")
    ap.add_argument("--quick", action="store_true", help="fewer configurations")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    cuda = args.device.startswith("cuda")
    if cuda and not args.no_tf32:  # what the coltran method does on CUDA
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    results: dict = {
        "machine": {"platform": platform.platform(), "python": sys.version.split()[0], "torch": torch.__version__,
                    "device": torch.cuda.get_device_name() if cuda else platform.processor() or "cpu",
                    "cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(),
                    "load_average_at_start": os.getloadavg()},
        "options": {"dtype": args.dtype, "cuda_graph": cuda and not args.no_cuda_graph, "compile": args.compile,
                    "tf32": cuda and not args.no_tf32},
        "note": "random weights; images/s = batch / wall seconds of that stage after one warm-up run",
        "runs": [],
    }
    if cuda:
        plan = [("full", b, None) for b in (args.batches or [16, 64, 128])]
    else:
        plan = [("tiny", b, None) for b in (args.batches or ([1, 4] if args.quick else [1, 4, 16]))]
        plan += [("full", 1, 2)]
    name = OUT if not cuda else OUT.with_name("coltran_cuda.json")
    OUT.parent.mkdir(parents=True, exist_ok=True)

    def save() -> None:  # after every configuration: a later failure (e.g. out of memory) loses nothing
        from _machine import write_json  # records the machine; benchmarks/ is first on sys.path

        write_json(name, results)

    for size, batch, rows in plan:
        if cuda:
            torch.cuda.reset_peak_memory_stats()
        try:
            pipe = make_pipeline(size, args.device, args.dtype, cuda and not args.no_cuda_graph, args.compile)
            if size == "full" and not cuda:  # the full spatial upsampler at 256x256 takes minutes per image on CPU
                pipe.spatial_upsampler = build_model(smoke_config("spatial_upsampler"), init="random")
            row = {"config": size, **bench_stages(pipe, batch, args.device, rows)}
        except torch.cuda.OutOfMemoryError as exc:
            row = {"config": size, "batch": batch, "error": f"out of memory: {str(exc).splitlines()[0]}"}
        if size == "full" and not cuda:
            row.pop("spatial_upsampler_images_per_s", None)
            row["note"] = "full-size colorizer timed over 2 rows; spatial upsampler not timed on CPU"
        if cuda:
            row["peak_memory_gib"] = round(torch.cuda.max_memory_allocated() / 2**30, 2)
        results["runs"].append(row)
        print(json.dumps(row))
        save()
        pipe = None
        if cuda:
            torch.cuda.empty_cache()
    sampler_plan = [("tiny", 4, 8), ("full", 1, 2)] if not cuda else [("full", 64, 4)]
    results["sampler_cached_vs_naive"] = []
    for size, batch, rows in sampler_plan:
        row = {"config": size, **bench_sampler_cached_vs_naive(size, args.device, batch, rows)}
        results["sampler_cached_vs_naive"].append(row)
        print(json.dumps(row))
        save()
    print(f"wrote {name}")


if __name__ == "__main__":
    main()
