"""Images/s of the ``ddcolor`` method with DDColor-T and DDColor-L (full-size architectures, random weights).

Random weights (speed does not depend on them): each network is built at full size with its default initialisation,
saved in the authors' release format (``{'params': state_dict}``) and loaded through the method's own loader
(``--option ddcolor.checkpoint=PATH``), so nothing here needs the released files. Inputs are 224 x 224 gray images
(the Kaggle sports size); the network runs at ``--input-size`` (512, the authors' default), end to end as the method
runs (OpenCV pre/post-processing included).

    PYTHONPATH=src python benchmarks/ddcolor.py                      # CPU, T and L, batch 1 and 8
    PYTHONPATH=src python benchmarks/ddcolor.py --device cuda --batch-sizes 1 8 32 --precision fp32 fp16 bf16

Writes ``benchmarks/out/ddcolor.json`` with the machine it ran on (``_machine``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from _machine import device_info, write_json  # benchmarks/ is the script's folder: first on sys.path
from _timing import time_colorize

from colorbench.methods.ddcolor.model import DDColorNet
from colorbench.methods.registry import get_method

ENCODERS = {"T": "convnext-t", "L": "convnext-l"}


def random_release(encoder: str, folder: Path, seed: int = 0) -> Path:
    """A full-size DDColor with random weights, saved as the authors' ``.pth``: the path to pass as checkpoint."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        state = DDColorNet(encoder).state_dict()
    path = folder / f"ddcolor-random-{encoder}.pth"
    torch.save({"params": state}, path)
    return path


def measure(method, grays: list[np.ndarray], repeats: int) -> dict:
    """End-to-end and network-only images/s of ``method.colorize(grays)`` (median of ``repeats``, after a warm-up
    on one image: cuDNN autotune, allocations)."""
    totals, networks = time_colorize(method, grays, repeats, warm_up=grays[:1])
    n = len(grays)
    return {"images_per_s": n / statistics.median(totals), "network_images_per_s": n / statistics.median(networks),
            "seconds_per_batch_all": totals, "stage_seconds_last": dict(method.stage_seconds)}


def bench(device: str, sizes: list[str], batches: list[int], precisions: list[str], input_size: int, repeats: int,
          image_side: int = 224, folder: Path | None = None, on_run=None) -> list[dict]:
    """One row per (model, precision, batch); ``on_run(runs)`` after each (the script saves its JSON there, so a
    long CPU run that is stopped keeps what it measured)."""
    rng = np.random.default_rng(0)
    runs = []
    with tempfile.TemporaryDirectory(prefix="ddcolor-bench-") as tmp:
        for size in sizes:
            checkpoint = random_release(ENCODERS[size], Path(folder or tmp))
            for precision in precisions:
                method = get_method("ddcolor", checkpoint=str(checkpoint), input_size=input_size,
                                    precision=precision, batch_size=max(batches))
                method.load(device)
                if device.startswith("cuda"):
                    torch.cuda.reset_peak_memory_stats(device)
                for batch in batches:
                    grays = [rng.integers(0, 256, (image_side, image_side), dtype=np.uint8) for _ in range(batch)]
                    row = {"model": f"DDColor-{size}", "encoder": ENCODERS[size], "precision": precision,
                           "batch": batch, "input_size": input_size, **measure(method, grays, repeats)}
                    if device.startswith("cuda"):
                        row["peak_memory_gib"] = round(torch.cuda.max_memory_allocated(device) / 2**30, 2)
                    runs.append(row)
                    if on_run is not None:
                        on_run(runs)
                    print(f"DDColor-{size} {precision} batch {batch:3d}: {row['images_per_s']:7.3f} images/s end to "
                          f"end, {row['network_images_per_s']:7.3f} network", flush=True)
                method.unload()
            checkpoint.unlink()
    return runs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--models", nargs="+", choices=sorted(ENCODERS), default=["T", "L"])
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--precision", nargs="+", choices=["fp32", "fp16", "bf16"], default=["fp32"])
    parser.add_argument("--input-size", type=int, choices=[256, 512], default=512)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's choice)")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "out" / "ddcolor.json")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    machine = {**device_info(args.device), "load_average_at_start": os.getloadavg()}
    planned = len(args.models) * len(args.precision) * len(args.batch_sizes)

    def save(runs: list[dict]) -> None:
        write_json(args.out, {
            "benchmark": "ddcolor", "weights": "random (full-size architectures; speed only)", "machine": machine,
            "load_average_now": os.getloadavg(), "image_size": [224, 224], "repeats": args.repeats,
            "complete": len(runs) == planned, "timestamp_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "runs": runs})

    save(bench(args.device, args.models, args.batch_sizes, args.precision, args.input_size, args.repeats,
               on_run=save))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
