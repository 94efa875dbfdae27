"""Notebook suite speed: wall-clock seconds per notebook of `colorbench notebooks run --smoke` (or with --params).

Runs the suite into a temporary results folder (nothing of yours is touched; offline in smoke mode), writes
``benchmarks/out/notebooks.json`` and prints a summary. The seconds include starting a kernel and importing torch in
every notebook, and the HTML export.

    PYTHONPATH=src python benchmarks/notebooks.py                    # smoke, every notebook
    PYTHONPATH=src python benchmarks/notebooks.py --only 00,04,05    # a subset
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

from colorbench.notebooks_run import parse_params, run_suite

OUT = Path(__file__).resolve().parent / "out" / "notebooks.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", help="comma-separated notebook numbers")
    parser.add_argument("--params", nargs="*", default=[], metavar="KEY=VALUE")
    parser.add_argument("--real", action="store_true", help="not smoke (needs weights and data)")
    parser.add_argument("--keep", type=Path, help="write the results (executed notebooks, HTML) here instead of a "
                                                  "temporary folder, to look at them afterwards")
    args = parser.parse_args()
    load_start = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="colorbench-nb-bench-") as tmp:
        tmp = str(args.keep.resolve()) if args.keep else tmp
        for var, sub in (("COLORBENCH_RESULTS", "results"), ("COLORBENCH_MODELS", "models")):
            if not args.real:
                os.environ[var] = str(Path(tmp) / sub)
        if not args.real:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("COLORBENCH_OFFLINE", "1")
        t0 = time.perf_counter()
        result = run_suite(smoke=not args.real, params=parse_params(args.params),
                           only=args.only.split(",") if args.only else None)
        total = time.perf_counter() - t0
    import resource

    children = resource.getrusage(resource.RUSAGE_CHILDREN)  # the kernels papermill started
    own = resource.getrusage(resource.RUSAGE_SELF)
    record = {
        "machine": {"platform": platform.platform(), "processor": platform.processor() or platform.machine(),
                    "cpus": os.cpu_count(), "load_average_1m": os.getloadavg()[0],
                    "load_average_1m_at_start": load_start},
        "cpu_s": round(children.ru_utime + children.ru_stime + own.ru_utime + own.ru_stime, 1),
        "smoke": not args.real,
        "params": args.params,
        "total_s": round(total, 1),
        "notebooks": [{"name": r.name, "status": r.status, "seconds": round(r.seconds, 1), "error": r.error}
                      for r in result.notebooks],
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    from _machine import write_json  # records the machine; benchmarks/ is first on sys.path

    write_json(OUT, record)
    print(f"{'notebook':20s} {'status':8s} seconds")
    for r in record["notebooks"]:
        print(f"{r['name']:20s} {r['status']:8s} {r['seconds']:7.1f}")
    print(f"total {total:.1f} s on {record['machine']['cpus']} CPUs (load {record['machine']['load_average_1m']:.1f}) "
          f"-> {OUT}")


if __name__ == "__main__":
    main()
