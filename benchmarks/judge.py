"""Eye-test costs: the Bradley–Terry fit with its bootstrap (what `colorbench judge-report` and the report section
spend), and how long the web app takes to store one answer and schedule the next (what a judge waits per click).

Synthetic judgements (4 methods, known strengths); the app runs on a loopback port against a small run folder made
from the shared fixtures when they are present. Writes benchmarks/out/judge.json and prints a summary.

    PYTHONPATH=src python benchmarks/judge.py
"""

from __future__ import annotations

import json
import os
import platform
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np

from colorbench.judge import analysis as an

OUT = Path(__file__).resolve().parent / "out" / "judge.json"
ROOT = Path(__file__).resolve().parents[1]


def _outcomes(n: int, seed: int = 0):
    import pandas as pd

    rng = np.random.default_rng(seed)
    strengths, methods, rows = np.array([0.9, 0.3, -0.2, -1.0]), ["m0", "m1", "m2", "m3"], []
    for idx in range(n):
        i, j = sorted(rng.choice(4, 2, replace=False))
        answer = "a" if rng.random() < 1 / (1 + np.exp(strengths[j] - strengths[i])) else "b"
        rows.append({"id": idx, "judge": "sim", "image_id": f"i{idx}", "a": methods[i], "ka": 0, "b": methods[j],
                     "kb": 0, "answer": answer, "score_a": an.SCORE[answer], "decisive": True, "truth_peeked": False})
    return pd.DataFrame(rows), methods


def bench_bradley_terry(n_judgements: int, n_boot: int) -> dict:
    outcomes, methods = _outcomes(n_judgements)
    start = time.perf_counter()
    an.bradley_terry(outcomes, methods, n_boot=n_boot)
    seconds = time.perf_counter() - start
    return {"n_judgements": n_judgements, "n_methods": 4, "n_boot": n_boot, "seconds": round(seconds, 3),
            "ms_per_resample": round(1000 * seconds / n_boot, 3)}


def bench_app(n_answers: int) -> dict | None:
    sys.path.insert(0, str(ROOT / "tests"))
    from conftest import fixtures_dir
    from evalrun_helpers import make_run

    from colorbench.judge.app import make_server
    from colorbench.judge.session import JudgingSession

    sports = fixtures_dir() / "sports"
    if not sports.exists():
        return None
    with tempfile.TemporaryDirectory() as tmp:
        make_run(Path(tmp) / "run", sports, n_images=10, stochastic_k=2, include_gray_source=False)
        server = make_server(JudgingSession(Path(tmp) / "run", seed=0), "127.0.0.1", 0)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{server.server_port}"
        token = json.load(urllib.request.urlopen(f"{base}/api/next?judge=bench"))["token"]
        times = []
        for _ in range(n_answers):  # one click: store the answer, then fetch the next pair
            start = time.perf_counter()
            body = json.dumps({"token": token, "answer": "left"}).encode()
            urllib.request.urlopen(urllib.request.Request(f"{base}/api/answer", data=body,
                                                          headers={"Content-Type": "application/json"}))
            token = json.load(urllib.request.urlopen(f"{base}/api/next?judge=bench"))["token"]
            times.append(time.perf_counter() - start)
        server.shutdown()
    return {"n_answers": n_answers, "methods": 4, "images": 10,
            "median_ms_per_click": round(1000 * float(np.median(times)), 2),
            "max_ms_per_click": round(1000 * max(times), 2)}


def main() -> int:
    result = {
        "machine": {"platform": platform.platform(), "python": platform.python_version(), "cpus": os.cpu_count(),
                    "load_average_1min_at_start": round(os.getloadavg()[0], 2)},
        "bradley_terry": [bench_bradley_terry(n, 1000) for n in (200, 2000)],
        "app": bench_app(60),
    }
    result["machine"]["load_average_1min_at_end"] = round(os.getloadavg()[0], 2)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    from _machine import write_json  # records the machine; benchmarks/ is first on sys.path

    write_json(OUT, result)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
