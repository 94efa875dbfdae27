"""The FID's trace term alone: ``frechet_distance`` now against the general-eigenvalue formula it replaced.

Until issue 27, ``metrics/fid.py`` took tr √(Σ₁Σ₂) as Σ √eigvals(Σ₁Σ₂) of the 2048×2048 product (a non-symmetric
eigenproblem: its cost does not depend on the number of images, and a Colab run spent 543 s in it). Now the trace is
the nuclear norm of the centred n₁×n₂ product (fewer images than dimensions) or comes from symmetric square roots
(more): see ``trace_sqrt_product``. This script times both on the same pool3-like random features (non-negative,
correlated, decaying spectrum) at several n, and records how far the two values are apart.

    PYTHONPATH=src python benchmarks/fid_trace.py            # writes benchmarks/out/fid_trace.json
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
from _machine import write_json  # noqa: E402  (benchmarks/ is the script's folder: first on sys.path)

DIMS = 2048


def pool3_like(rng, n: int, shift: float = 0.0) -> np.ndarray:
    rank = 256
    z = rng.standard_normal((n, rank))
    mixing = rng.standard_normal((rank, DIMS)) / np.arange(1, rank + 1)[:, None]
    return np.abs(z @ mixing + shift + 0.05 * rng.standard_normal((n, DIMS)))


def eigvals_formula(x: np.ndarray, y: np.ndarray) -> float:
    """The replaced formula (colorbench 4c0eccc, metrics/fid.py), for the 'before' timing."""
    s1, s2 = np.cov(x, rowvar=False), np.cov(y, rowvar=False)
    eig = np.linalg.eigvals(s1 @ s2)
    tr_covmean = np.sqrt(np.clip(eig.real, 0.0, None)).sum()
    return float(((x.mean(0) - y.mean(0)) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2.0 * tr_covmean)


def timed(fn, *args) -> tuple[float, float]:
    start = time.perf_counter()
    value = fn(*args)
    return time.perf_counter() - start, value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, nargs="+", default=[8, 500, 2500], help="images per set")
    parser.add_argument("--before-at", type=int, default=500, help="n at which the replaced formula is timed "
                        "(its cost does not depend on n)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out" / "fid_trace.json")
    args = parser.parse_args()

    from colorbench.metrics.fid import frechet_distance

    rng = np.random.default_rng(0)
    rows = []
    for n in args.n:
        x, y = pool3_like(rng, n), pool3_like(rng, n, shift=0.1)
        seconds, value = timed(frechet_distance, x, y)
        row = {"n_real": n, "n_fake": n, "dims": DIMS, "form": "nuclear norm" if n ** 3 <= DIMS ** 3 else
               "symmetric square roots", "seconds": round(seconds, 3), "fid": value}
        if n == args.before_at:
            before_s, before = timed(eigvals_formula, x, y)
            row.update(before_eigvals_seconds=round(before_s, 2), before_fid=before,
                       relative_difference=abs(value - before) / abs(before))
        rows.append(row)
        print(row, flush=True)
    write_json(args.out, {"what": "FID trace term: frechet_distance vs the replaced eigvals(Σ1Σ2), CPU, float64",
                          "features": "pool3-like random (non-negative, rank-256 structure + noise), 2048-d",
                          "runs": rows, "note": "wall-clock on a shared machine; see machine.load_average"})
    print(f"-> {args.out}")


if __name__ == "__main__":
    main()
