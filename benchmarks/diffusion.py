"""Speed and memory of ``controlnet-canny`` (or its img2img twin, or ``controlnet-brightness``): images/s, denoising
it/s, peak memory.

Real weights on a GPU (what the numbers are for; the issue's target is >= 2 images/s at 512², 20 steps, on an
H100/H200)::

    PYTHONPATH=src python benchmarks/diffusion.py --device cuda --batch-size 8 --images 32
    PYTHONPATH=src python benchmarks/diffusion.py --device cuda --batch-size 4 --cpu-offload   # small GPUs

The tiny untrained pipeline on any machine (checks the plumbing; its speed says nothing about the real model)::

    PYTHONPATH=src python benchmarks/diffusion.py --smoke --device cpu

Inputs are synthetic 224×224 gray photos (the dataset's size): speed does not depend on content. Timings: one
warm-up batch (model warm-up, ``torch.compile`` if asked) is timed apart; then ``--images`` images in batches.
``it/s`` is denoising steps per second of a whole batch (what diffusers' progress bar shows), timed between
consecutive UNet calls (CUDA events on GPU); ``images/s`` includes everything ``colorize`` does (framing, Canny,
text encoding, denoising, VAE decode). Peak memory: ``torch.cuda.max_memory_allocated`` on CUDA, the process's
peak RSS on CPU. Writes ``benchmarks/out/diffusion.json`` (or ``--out``) and prints a summary.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import numpy as np


def synthetic_grays(n: int, size: int = 224) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:size, 0:size]
    out = []
    for _ in range(n):
        cy, cx, r = rng.uniform(0.3, 0.7, 2).tolist() + [rng.uniform(0.1, 0.3)]
        disc = ((yy / size - cy) ** 2 + (xx / size - cx) ** 2) < r**2
        img = 60 + 100 * xx / size + 80 * disc + rng.normal(0, 4, (size, size))
        out.append(np.clip(img, 0, 255).astype(np.uint8))
    return out


class StepClock:
    """Times consecutive UNet calls (one per denoising step of a batch) with CUDA events or perf_counter."""

    def __init__(self, unet, cuda: bool):
        import torch

        self.cuda, self.marks = cuda, []
        self._torch = torch
        # on the outermost module (torch.compile's wrapper when compiled) and kept out of the graph: a hook inside
        # a compiled UNet is traced, and its events were never recorded (gpu_check, H100, 2026-11-26)
        self._mark = torch.compiler.disable(self._mark)
        self.handle = unet.register_forward_pre_hook(self._mark)

    def _mark(self, module, args):
        if self.cuda:
            event = self._torch.cuda.Event(enable_timing=True)
            event.record()
            self.marks.append(event)
        else:
            self.marks.append(time.perf_counter())

    def step_seconds(self, steps_per_batch: int) -> list[float]:
        """Seconds between consecutive steps within each batch (gaps between batches excluded)."""
        if self.cuda:
            self._torch.cuda.synchronize()
        gaps = []
        for b in range(0, len(self.marks), steps_per_batch):
            batch = self.marks[b : b + steps_per_batch]
            for first, second in zip(batch, batch[1:]):
                gaps.append(first.elapsed_time(second) / 1000 if self.cuda else second - first)
        return gaps


def machine_info(device: str) -> dict:
    """The device and diffusers' version; ``_machine.write_json`` adds the machine (CPU, cores, BLAS, torch)."""
    import diffusers
    from _machine import device_info

    return {**device_info(device), "diffusers": diffusers.__version__}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--method", default="controlnet-canny",
                        choices=["controlnet-canny", "controlnet-canny-img2img", "controlnet-brightness"])
    parser.add_argument("--smoke", action="store_true", help="tiny untrained pipeline (plumbing only)")
    parser.add_argument("--device", default=None, help="cuda, cuda:1, cpu (default: cuda if available)")
    parser.add_argument("--resolution", type=int, default=None, help="canvas side (default 512; 64 with --smoke)")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--images", type=int, default=None, help="timed images (default 4 batches)")
    parser.add_argument("--dtype", default="auto")
    parser.add_argument("--scheduler", default="unipc")
    parser.add_argument("--compile", action="store_true")
    parser.add_argument("--cpu-offload", action="store_true")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--base-model", default=None, help="hub id or folder (default SD 1.5)")
    parser.add_argument("--controlnet-model", default=None, help="hub id or folder (default: the method's)")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "out" / "diffusion.json")
    args = parser.parse_args(argv)

    import torch

    from colorbench.methods.registry import get_method

    if args.threads:
        torch.set_num_threads(args.threads)
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    cuda = device.startswith("cuda")
    options = dict(smoke=args.smoke, steps=args.steps, batch_size=args.batch_size, dtype=args.dtype,
                   scheduler=args.scheduler, compile=args.compile, cpu_offload=args.cpu_offload,
                   resolution=args.resolution)
    if args.base_model:
        options["base_model"] = args.base_model
    if args.controlnet_model:
        options["controlnet_model"] = args.controlnet_model
    method = get_method(args.method, **options)

    start = time.perf_counter()
    method.load(device)
    load_s = time.perf_counter() - start
    n_images = args.images or 4 * args.batch_size
    grays = synthetic_grays(n_images + args.batch_size)
    warm, timed = grays[: args.batch_size], grays[args.batch_size :]

    start = time.perf_counter()
    method.colorize(warm, seed=0)
    if cuda:
        torch.cuda.synchronize()
    warmup_s = time.perf_counter() - start

    if cuda:
        torch.cuda.reset_peak_memory_stats(torch.device(device))
    steps_per_batch = int(method.steps * getattr(method, "strength", 1.0))
    clock = StepClock(method.pipe.unet, cuda)
    start = time.perf_counter()
    method.colorize(timed, seed=1)
    if cuda:
        torch.cuda.synchronize()
    generate_s = time.perf_counter() - start
    step_gaps = clock.step_seconds(steps_per_batch)
    clock.handle.remove()

    result = {
        "what": ("TINY UNTRAINED PIPELINE (smoke): plumbing check only; its speed says nothing about SD 1.5"
                 if args.smoke else f"Stable Diffusion 1.5 + ControlNet ({args.method}), weights from "
                 f"{args.base_model or 'the hub (SD 1.5)'} and "
                 f"{args.controlnet_model or 'the hub (' + str(method.controlnet_model) + ')'}"),
        "method": args.method,
        "machine": machine_info(device),
        "config": method.config(),
        "load_s": round(load_s, 3),
        "warmup_batch_s": round(warmup_s, 3),
        "timed_images": len(timed),
        "generate_s": round(generate_s, 3),
        "images_per_s": round(len(timed) / generate_s, 4),
        "seconds_per_image": round(generate_s / len(timed), 4),
        "denoise_it_per_s": round(1.0 / float(np.median(step_gaps)), 3) if step_gaps else None,
        "denoise_it_per_s_note": f"denoising steps per second for a batch of {args.batch_size} (median over steps)",
        "stage_seconds_last_call": {k: round(v, 3) for k, v in method.stage_seconds.items()},
    }
    if cuda:
        result["peak_gpu_memory_allocated_gib"] = round(
            torch.cuda.max_memory_allocated(torch.device(device)) / 2**30, 3)
        result["peak_gpu_memory_reserved_gib"] = round(torch.cuda.max_memory_reserved(torch.device(device)) / 2**30, 3)
    result["peak_process_rss_gib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 3)

    args.out.parent.mkdir(parents=True, exist_ok=True)
    from _machine import write_json  # records the machine; benchmarks/ is first on sys.path

    write_json(args.out, result)
    memory = (f"peak GPU {result['peak_gpu_memory_allocated_gib']} GiB allocated" if cuda
              else f"peak RSS {result['peak_process_rss_gib']} GiB")
    print(f"{result['what']}\n{args.method} on {result['machine'].get('gpu', result['machine']['cpu'])} "
          f"({device}, {result['config'].get('torch_dtype')}), {method.resolution}², {args.steps} steps, "
          f"batch {args.batch_size}: {result['images_per_s']} images/s, {result['denoise_it_per_s']} it/s, "
          f"{memory}; load {result['load_s']} s, warm-up batch {result['warmup_batch_s']} s\n-> {args.out}")
    return result


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
