"""How many torch CPU threads each ColTran stage should use: 1 vs 2 (or ``--threads``), measured side by side.

    PYTHONPATH=src python benchmarks/coltran_threads.py            # full-size models, random weights

Each stage runs with full-size random weights (speed does not depend on the values) on one image, the thread
settings alternating (1, 2, 1, 2, ...) so load changes on a shared machine hit both alike; wall and process-CPU
seconds, median of ``--repeats``. To keep the run to minutes on a 2-core machine the colorizer samples ``--rows``
of its 64 rows (every row is the same work: the caches have fixed length) and the spatial upsampler runs
``--spatial-layers`` of its 3 encoder layers on one image-channel (every layer is the same work); the colour upsampler
runs whole (one image, three channels). The stage's recommended thread count is the one with the lower median wall
time. Writes ``benchmarks/out/coltran_threads.json`` with the load average before and after each stage.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

import torch

from colorbench.methods.coltran.config import full_config
from colorbench.methods.coltran.models import build_model
from colorbench.methods.coltran.sampler import sample_colorizer

OUT = Path(__file__).resolve().parent / "out" / "coltran_threads.json"


def stage_calls(rows: int, spatial_layers: int) -> dict:
    """{stage: (description, zero-argument call)} at full width with random weights."""
    gen = torch.Generator().manual_seed(0)
    colorizer = build_model(full_config("colorizer"), init="random")
    gray64 = torch.randint(0, 256, (1, 64, 64), generator=gen)
    color = build_model(full_config("color_upsampler"), init="random")
    bits = torch.randint(0, 8, (1, 64, 64, 3), generator=gen)
    spatial_cfg = full_config("spatial_upsampler")
    spatial_cfg = replace(spatial_cfg, encoder=replace(spatial_cfg.encoder, num_layers=spatial_layers))
    spatial = build_model(spatial_cfg, init="random")
    values256 = torch.randint(0, 256, (1, 256, 256, 1), generator=gen)
    gray256 = torch.randint(0, 256, (1, 256, 256), generator=gen)
    return {
        "colorizer": (f"cached official sampler, 1 image, {rows} of 64 rows",
                      lambda: sample_colorizer(colorizer, gray64, mode="sample", seeds=[0], max_rows=rows)),
        "color_upsampler": ("predict, 1 image x 3 channels, full model", lambda: color.predict(bits, gray64)),
        "spatial_upsampler": (f"predict, 1 image-channel, {spatial_layers} of 3 encoder layers",
                              lambda: spatial.predict(values256, gray256)),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--rows", type=int, default=8)
    ap.add_argument("--spatial-layers", type=int, default=1)
    ap.add_argument("--stages", nargs="+", default=["colorizer", "color_upsampler", "spatial_upsampler"])
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    calls = stage_calls(args.rows, args.spatial_layers)
    report = {"what": "torch CPU threads per ColTran stage, full-size random weights, alternating settings",
              "torch": torch.__version__, "cpu_count": os.cpu_count(), "repeats": args.repeats, "stages": {}}
    with torch.no_grad():
        for stage in args.stages:
            what, call = calls[stage]
            load_before = os.getloadavg()
            torch.set_num_threads(args.threads[0])
            call()  # warm-up (allocator, first-call set-up)
            runs = {n: {"wall_s": [], "cpu_s": []} for n in args.threads}
            for _ in range(args.repeats):
                for n in args.threads:
                    torch.set_num_threads(n)
                    w, c = time.perf_counter(), time.process_time()
                    call()
                    runs[n]["wall_s"].append(time.perf_counter() - w)
                    runs[n]["cpu_s"].append(time.process_time() - c)
                    print(f"{stage} threads={n}: wall {runs[n]['wall_s'][-1]:.2f} s cpu {runs[n]['cpu_s'][-1]:.2f} s "
                          f"load {os.getloadavg()[0]:.1f}", flush=True)
            for r in runs.values():
                r["wall_median"], r["cpu_median"] = statistics.median(r["wall_s"]), statistics.median(r["cpu_s"])
            best = min(runs, key=lambda n: runs[n]["wall_median"])
            report["stages"][stage] = {"what": what, "threads": {str(n): r for n, r in runs.items()},
                                       "fastest_wall_threads": best, "load_average_before": load_before,
                                       "load_average_after": os.getloadavg()}
            args.out.parent.mkdir(parents=True, exist_ok=True)
            from _machine import write_json  # records the machine; benchmarks/ is first on sys.path

            write_json(args.out, report)
    print(json.dumps({s: r["fastest_wall_threads"] for s, r in report["stages"].items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
