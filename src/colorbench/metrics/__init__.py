"""Per-image metrics (LPIPS, PSNR, SSIM, CIEDE2000, colourfulness), FID, and the batched run scorer.

Notebook use::

    from colorbench.metrics import score_run, load_metrics
    score_run("results/demo")                  # writes metrics.csv + metrics.json
    frame = load_metrics("results/demo")       # one row per (method, image, sample k)
"""

from colorbench.metrics.scorer import (
    LOWER_IS_BETTER,
    METRIC_COLUMNS,
    METRICS,
    BatchScorer,
    ScoreResult,
    ScoringError,
    load_metrics,
    load_summary,
    score_run,
)

__all__ = [
    "LOWER_IS_BETTER", "METRIC_COLUMNS", "METRICS", "BatchScorer", "ScoreResult", "ScoringError",
    "load_metrics", "load_summary", "score_run",
]
