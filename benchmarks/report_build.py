"""Time ``colorbench report`` (``build_report``) on a scored run, and the size of what it writes.

The report is the last step of every ``colorbench demo`` and notebook "Run all", and it was most of the smoke demo's
time: a dozen photo grids (the fixed random selection and each method's best and worst images), each drawn and
saved. This script times ``build_report`` ``--repeats`` times on one run folder and records the seconds, the bytes of
``figures/`` and of ``report.html``, and the run's size (images, methods).

Without ``--run`` it makes the representative case first, in a temporary folder: the smoke demo (``colorbench demo
--smoke``: every registered method, tiny untrained models, the 8 bundled photos). The script imports the ``src/``
beside it, so a copy of it in an older checkout times that checkout's code (how the "before" figure was made):

    PYTHONPATH=src python benchmarks/report_build.py                   # writes benchmarks/out/report_build.json
    PYTHONPATH=src python benchmarks/report_build.py --run results/demo --out /tmp/report.json
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
from _machine import write_json  # noqa: E402  (benchmarks/ is the script's folder: first on sys.path)


def smoke_demo_run(folder: Path) -> Path:
    """``colorbench demo --smoke`` into ``folder`` (as a user runs it, from that folder); returns the run's path."""
    from colorbench.cli import main

    cwd = os.getcwd()
    os.chdir(folder)
    try:
        if main(["demo", "--smoke"]) != 0:
            raise SystemExit("colorbench demo --smoke failed: see its output above")
    finally:
        os.chdir(cwd)
    return folder / "results" / "demo-smoke"


def _forget_thumbnails() -> None:
    from colorbench.report import grids

    cache = getattr(grids, "_file_thumbnail", None)  # absent in a checkout before the mosaic grids
    if cache is not None:
        cache.cache_clear()


def folder_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", type=Path, help="a scored run folder (default: make the smoke demo in a temp folder)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out" / "report_build.json")
    args = parser.parse_args()

    from colorbench.metrics.table import load_metrics
    from colorbench.report.build import build_report
    from colorbench.runfolder import RunFolder

    with tempfile.TemporaryDirectory() as tmp:
        run_path = args.run.resolve() if args.run else smoke_demo_run(Path(tmp))
        run = RunFolder(run_path)
        frame = load_metrics(run.path)
        seconds = []
        for _ in range(args.repeats):
            _forget_thumbnails()  # each repeat as a fresh `colorbench report` process: nothing cached
            start = time.perf_counter()
            build_report(run.path)
            seconds.append(round(time.perf_counter() - start, 3))
            print(f"build_report: {seconds[-1]:.1f} s", flush=True)
        report = {
            "what": "seconds of colorbench.report.build.build_report on one scored run, repeated; the bytes it wrote",
            "run": "smoke demo (colorbench demo --smoke)" if args.run is None else str(args.run),
            "n_images": int(frame["id"].nunique()),
            "n_methods": int(frame["method"].nunique()),
            "seconds": seconds,
            "best_s": min(seconds),
            "figures_bytes": folder_bytes(run.figures_dir),
            "figure_files": sorted(p.name for p in run.figures_dir.iterdir()),
            "report_html_bytes": run.report_html.stat().st_size,
        }
    write_json(args.out, report)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
