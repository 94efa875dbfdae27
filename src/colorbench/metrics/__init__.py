"""Per-image metrics (LPIPS, PSNR, SSIM, CIEDE2000, colourfulness), FID, and the batched run scorer.

Notebook use::

    from colorbench.metrics import score_run, load_metrics
    score_run("results/demo")                  # writes metrics.csv + metrics.json
    frame = load_metrics("results/demo")       # one row per (method, image, sample k)

Reading scores needs no torch: the table contract is :mod:`colorbench.metrics.table`, and the scorer (which needs
torch) is imported only when one of its names is first used.
"""

from colorbench.metrics.table import (
    LOWER_IS_BETTER,
    METRIC_COLUMNS,
    METRICS,
    ScoringError,
    load_metrics,
    load_summary,
)

_SCORER_NAMES = ("BatchScorer", "ScoreResult", "score_run", "smoke_scoring")

__all__ = ["LOWER_IS_BETTER", "METRIC_COLUMNS", "METRICS", "ScoringError", "load_metrics", "load_summary",
           *_SCORER_NAMES]


def __getattr__(name: str):
    if name in _SCORER_NAMES:
        from colorbench.metrics import scorer

        return getattr(scorer, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
