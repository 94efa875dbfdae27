"""Images/s of the ``eccv16`` and ``siggraph17`` methods (full-size architectures), end to end and network only.

Random weights (speed does not depend on them): the full-size architectures are built with random initialisation,
saved in the released format and loaded through the real loader, so nothing here needs the authors' files.
Inputs are 224 x 224 gray images (the Kaggle sports size), processed as the authors do (256 x 256 network input,
ab upsampled to 224 x 224 and joined to the full-resolution L).

    PYTHONPATH=src python benchmarks/zhang.py                 # CPU, batch 1 and 8 -> benchmarks/out/zhang.json
    PYTHONPATH=src python benchmarks/zhang.py --device cuda --batch-sizes 1 8 32
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from _machine import cpu_info, write_json  # benchmarks/ is the script's folder: first on sys.path
from _timing import time_colorize

from colorbench import weights
from colorbench.methods.registry import get_method
from colorbench.methods.zhang import decoding, release
from colorbench.methods.zhang.eccv16 import ECCV16Net
from colorbench.methods.zhang.siggraph17 import SIGGRAPH17Net

CONFIGS = [  # (label, registry name, options)
    ("eccv16/annealed", "eccv16", {"decode": "annealed"}),
    ("eccv16/mean", "eccv16", {"decode": "mean"}),
    ("siggraph17/regression", "siggraph17", {"decode": "regression"}),
]


def install_random_release(cache: Path) -> None:
    """Random full-size weights in torch.hub's cache under names carrying their own hash prefix."""
    os.environ["TORCH_HOME"] = str(cache)
    os.environ["COLORBENCH_OFFLINE"] = "1"
    torch.manual_seed(0)
    for name, net in (("eccv16", ECCV16Net()), ("siggraph17", SIGGRAPH17Net())):
        if name == "eccv16":
            with torch.no_grad():
                net.model_out.weight.copy_(torch.from_numpy(decoding.centres_to_model_out(decoding.standin_eccv16_centres())))
        staging = release.save_release_format(net, cache / f"{name}.staging")
        stem = weights.get_spec(name).relpath.rsplit("-", 1)[0]
        weights.REGISTRY[name] = dataclasses.replace(weights.get_spec(name),
                                                     relpath=f"{stem}-{weights.sha256_file(staging)[:8]}.pth")
        target = weights.local_path(name)
        target.parent.mkdir(parents=True, exist_ok=True)
        staging.rename(target)


def measure(method, grays: list[np.ndarray], repeats: int) -> dict:
    totals, networks = time_colorize(method, grays, repeats, warm_up=grays)  # warm-up on the batch itself
    n = len(grays)
    return {
        "images_per_s": n / statistics.median(totals),
        "network_images_per_s": n / statistics.median(networks),
        "seconds_per_batch_median": statistics.median(totals),
        "seconds_per_batch_all": totals,
        "stage_seconds_last": dict(method.stage_seconds),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--size", type=int, default=224, help="input image side (network input is always 256)")
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's choice)")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "out" / "zhang.json")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    rng = np.random.default_rng(0)
    results = []
    with tempfile.TemporaryDirectory(prefix="zhang-bench-") as tmp:
        install_random_release(Path(tmp))
        for label, name, options in CONFIGS:
            method = get_method(name, batch_size=max(args.batch_sizes), **options)
            method.load(args.device)
            for batch in args.batch_sizes:
                grays = [rng.integers(0, 256, (args.size, args.size), dtype=np.uint8) for _ in range(batch)]
                row = {"config": label, "batch": batch, **measure(method, grays, args.repeats)}
                results.append(row)
                print(f"{label:24s} batch {batch:3d}: {row['images_per_s']:7.2f} images/s end to end, "
                      f"{row['network_images_per_s']:7.2f} images/s network", flush=True)
            method.unload()

    report = {
        "benchmark": "zhang",
        "weights": "random (full-size architectures; speed only)",
        "device": args.device,
        "device_name": (torch.cuda.get_device_name(args.device) if args.device.startswith("cuda")
                        else cpu_info()["model"]),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "load_average_at_end": os.getloadavg(),
        "input_size": [args.size, args.size],
        "network_input": [256, 256],
        "repeats": args.repeats,
        "torch": torch.__version__,
        "python": sys.version.split()[0],
        "timestamp_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "results": results,
    }
    write_json(args.out, report)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
