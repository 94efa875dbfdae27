"""torch's float32 product vs numpy's (OpenBLAS) on this CPU, at ColTran's upsampler shapes: the evidence for
``methods/coltran/cpu_blas.py``'s choice of library.

    PYTHONPATH=src python benchmarks/cpu_blas.py

Each shape is one image's product in a full-size upsampler layer (colour upsampler: 3 channels x 64 x 64 rows; the
spatial upsampler's rows are 16x as many, same per-row work). The two libraries run alternately, ``--repeats`` calls
each, at 1 and 2 threads (``torch.set_num_threads`` and threadpoolctl for OpenBLAS); process-CPU GFLOP/s, median.
Also records the CPU vendor, numpy's BLAS and what ``cpu_blas.uses_openblas()`` chose here. Writes
``benchmarks/out/cpu_blas.json``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch
from threadpoolctl import threadpool_info, threadpool_limits

from colorbench.methods.coltran import cpu_blas

OUT = Path(__file__).resolve().parent / "out" / "cpu_blas.json"
ROWS = 3 * 64 * 64
# (name, rows, inner, outer): the fused q/k/v projection, and the output projection (the MLP's two products have
# its shape too: hidden 512 and ff 512 in every full config, config.full_config)
SHAPES = [("qkv", ROWS, 512, 1536), ("project_final_and_mlp", ROWS, 512, 512)]


def cpu_seconds(fn, calls: int) -> float:
    start = time.process_time()
    for _ in range(calls):
        fn()
    return (time.process_time() - start) / calls


def measure(rows: int, inner: int, outer: int, threads: int, repeats: int, calls: int) -> dict:
    rng = np.random.default_rng(0)
    a = rng.standard_normal((rows, inner), np.float32)
    b = rng.standard_normal((inner, outer), np.float32)
    ta, tb = torch.from_numpy(a), torch.from_numpy(b)
    flop = 2 * rows * inner * outer
    torch.set_num_threads(threads)
    sides = {"torch": lambda: ta @ tb, "numpy_openblas": lambda: a @ b}
    seconds = {name: [] for name in sides}
    with threadpool_limits(limits=threads, user_api="blas"):
        for fn in sides.values():
            fn()  # warm-up: thread pools, first-touch of the output pages
        for _ in range(repeats):
            for name, fn in sides.items():
                seconds[name].append(cpu_seconds(fn, calls))
    gflops = {name: flop / statistics.median(s) / 1e9 for name, s in seconds.items()}
    return {"threads": threads, "cpu_seconds_per_call": seconds, "gflop_per_cpu_second": gflops,
            "numpy_over_torch": gflops["numpy_openblas"] / gflops["torch"]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--calls", type=int, default=3, help="products per timed sample")
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    report = {"what": "float32 products at ColTran upsampler shapes: torch (its BLAS) vs numpy (OpenBLAS), CPU time",
              "cpu_vendor": cpu_blas._cpu_vendor(), "cpu_count": os.cpu_count(), "torch": torch.__version__,
              "numpy": np.__version__,
              "numpy_blas": [{k: lib.get(k) for k in ("internal_api", "version", "architecture")}
                             for lib in threadpool_info() if lib.get("user_api") == "blas"],
              "torch_blas": torch.__config__.show().split("BLAS_INFO=")[-1].split(",")[0],
              "chosen_here": "openblas" if cpu_blas.uses_openblas() else "torch",
              "load_average_before": os.getloadavg(), "shapes": []}
    for name, rows, inner, outer in SHAPES:
        entry = {"name": name, "shape": [rows, inner, outer], "runs": []}
        for threads in args.threads:
            entry["runs"].append(measure(rows, inner, outer, threads, args.repeats, args.calls))
            run = entry["runs"][-1]
            print(f"{name} ({rows}x{inner})x({inner}x{outer}), {threads} thread(s): "
                  + ", ".join(f"{k} {v:.1f} GFLOP/s" for k, v in run["gflop_per_cpu_second"].items()), flush=True)
        report["shapes"].append(entry)
    report["load_average_after"] = os.getloadavg()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    from _machine import write_json  # records the machine; benchmarks/ is first on sys.path

    write_json(args.out, report)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
