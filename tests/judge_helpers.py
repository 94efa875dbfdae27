"""Helpers for the eye-test tests: small run folders (evalrun_helpers.make_run), a synthetic metrics.csv with
known values, and simulated judges whose choices follow a known rule."""

from __future__ import annotations

import numpy as np

from colorbench import atomic
from colorbench.metrics.scorer import METRIC_COLUMNS
from colorbench.runfolder import RunFolder


def write_synthetic_metrics(run: RunFolder, seed: int = 0) -> dict:
    """metrics.csv for every output of ``run``: each metric an independent random draw per (method, image, k),
    shifted by the method's position so methods differ on average. Returns {(method, id, k): row}."""
    from colorbench.judge.catalogue import Catalogue

    cat = Catalogue.from_run(run.path)
    rng = np.random.default_rng(seed)
    rows, table = [], {}
    for mi, method in enumerate(cat.methods):
        for image_id, ks in sorted(cat.samples[method].items()):
            if not run.truth_path(image_id).exists():
                continue  # gray-only source: never scored, like the real scorer
            for k in ks:
                row = {"method": method, "id": image_id, "k": k, "label": image_id.rsplit("-", 1)[0], "class_id": 0,
                       "status": "ok", "lpips": 0.1 + 0.05 * mi + rng.uniform(0, 0.2),
                       "psnr": 30 - 2 * mi + rng.uniform(0, 8), "ssim": 0.95 - 0.03 * mi + rng.uniform(0, 0.1),
                       "delta_e2000": 2 + mi + rng.uniform(0, 4), "colorfulness": 40 - 5 * mi + rng.uniform(0, 20),
                       "colorfulness_truth": 45.0, "error": ""}
                rows.append(row)
                table[(method, image_id, k)] = row
    atomic.write_csv(run.metrics_csv, rows, METRIC_COLUMNS)
    return table


def judge_by_metric(session, table: dict, metric: str, lower_is_better: bool, n: int, judges=("ana", "ben")) -> None:
    """Answer ``n`` items through ``session`` as judges who prefer what ``metric`` prefers ('tie' when unscored)."""
    for i in range(n):
        shown = session.next_for(judges[i % len(judges)])
        session.images_for(shown)  # a judge sees both images before answering (the store refuses otherwise)
        left = table.get((shown.left_method, shown.image_id, shown.left_k))
        right = table.get((shown.right_method, shown.image_id, shown.right_k))
        if left is None or right is None or left[metric] == right[metric]:
            answer = "tie"
        else:
            left_better = (left[metric] < right[metric]) if lower_is_better else (left[metric] > right[metric])
            answer = "left" if left_better else "right"
        session.answer(shown.token, answer)
