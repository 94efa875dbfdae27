"""Statistics for comparing methods on the same images: bootstrap CIs, paired tests, Holm, win rates.

All resampling is over images (the unit of the experiment), percentile bootstrap, seeded — the same run and seed
give the same intervals.

Example::

    >>> import numpy as np
    >>> bootstrap_ci(np.arange(10.0), n_boot=200)   # (mean, lower, upper), seeded
    (4.5, 2.9, 6.4)
    >>> holm([0.01, 0.04, 0.03]).tolist()           # Holm-adjusted p-values, in the input order
    [0.03, 0.06, 0.06]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

#: the one set of bootstrap settings: `colorbench report`, `colorbench judge-report`, the eye-test section and the
#: notebooks all default to them, so the same scores or judgements give the same intervals everywhere
DEFAULT_BOOTSTRAP = 2000
DEFAULT_SEED = 0
DEFAULT_LEVEL = 0.95


def _rng(seed) -> np.random.Generator:
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def bootstrap_indices(n: int, n_boot: int, seed=0) -> np.ndarray:
    """``n_boot × n`` resampling indices (with replacement)."""
    return _rng(seed).integers(0, n, size=(n_boot, n))


def bootstrap_ci(values, *, n_boot: int = DEFAULT_BOOTSTRAP, level: float = DEFAULT_LEVEL,
                 seed=0) -> tuple[float, float, float]:
    """(mean, lower, upper): the mean and its percentile-bootstrap confidence interval.

    NaN and ±inf are refused: a mean with an infinite term is not a number a CI can describe (e.g. PSNR of an
    output identical to its truth: cap it first, as :mod:`colorbench.report.aggregate` does).
    """
    x = np.asarray(values, dtype=np.float64)
    if x.size == 0:
        return (np.nan, np.nan, np.nan)
    if np.isnan(x).any():
        raise ValueError("bootstrap_ci: values contain NaN (drop missing images explicitly first)")
    if np.isinf(x).any():
        raise ValueError("bootstrap_ci: values contain ±inf (cap them first, e.g. PSNR of identical images)")
    if x.size == 1:
        return (float(x[0]), np.nan, np.nan)
    means = x[bootstrap_indices(x.size, n_boot, seed)].mean(axis=1)
    lo, hi = np.quantile(means, [(1 - level) / 2, 1 - (1 - level) / 2])
    return (float(x.mean()), float(lo), float(hi))


def bootstrap_stat_ci(columns: Sequence[np.ndarray], statistic: Callable[..., np.ndarray], *,
                      n_boot: int = DEFAULT_BOOTSTRAP, level: float = DEFAULT_LEVEL,
                      seed=0) -> tuple[float, float, float]:
    """CI of any statistic of paired columns resampled together; ``statistic(*cols)`` reduces the last axis.

    Example: ΔCF = |mean(cf_pred) − mean(cf_truth)| → ``statistic=lambda p, t: abs(p.mean(-1) - t.mean(-1))``.
    """
    cols = [np.asarray(c, dtype=np.float64) for c in columns]
    n = cols[0].size
    if n == 0:
        return (np.nan, np.nan, np.nan)
    point = float(statistic(*cols))
    if n == 1:
        return (point, np.nan, np.nan)
    idx = bootstrap_indices(n, n_boot, seed)
    stats = statistic(*[c[idx] for c in cols])
    lo, hi = np.quantile(stats, [(1 - level) / 2, 1 - (1 - level) / 2])
    return (point, float(lo), float(hi))


def abs_ci(point: float, lo: float, hi: float) -> tuple[float, float, float]:
    """CI of ``|θ|`` from a CI ``[lo, hi]`` of a signed ``θ``: the image of the interval under ``|·|``.

    Bootstrapping ``|mean|`` directly (percentile) never reaches 0 — every resample has ``|θ*| > 0`` — so when θ is
    near 0 the interval misses the truth almost always. Folding the signed interval keeps its coverage: it holds
    ``|θ|`` whenever ``[lo, hi]`` holds θ, and it starts at 0 when the signed interval straddles 0.
    """
    if np.isnan(lo) or np.isnan(hi):
        return (abs(point), np.nan, np.nan)
    if lo <= 0.0 <= hi:
        return (abs(point), 0.0, float(max(-lo, hi)))
    return (abs(point), float(min(abs(lo), abs(hi))), float(max(abs(lo), abs(hi))))


@dataclass(frozen=True)
class PairedResult:
    n: int
    mean_diff: float  # mean of (a − b)
    ci_low: float
    ci_high: float
    p_wilcoxon: float
    #: the side the signed-rank test points to: +1 when a tends to be larger (rank sum of positive differences
    #: above that of negative ones), −1 when smaller, 0 when balanced. It can disagree with the sign of the mean
    #: (a few large differences one way, most images the other way).
    rank_direction: int = 0


def paired_test(a, b, *, n_boot: int = DEFAULT_BOOTSTRAP, level: float = DEFAULT_LEVEL, seed=0) -> PairedResult:
    """Paired comparison on the same images: bootstrap CI of mean(a − b) and a two-sided Wilcoxon signed-rank p."""
    from scipy.stats import wilcoxon

    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"paired_test: a and b must be paired (same images), got {a.shape} and {b.shape}")
    d = a - b
    mean, lo, hi = bootstrap_ci(d, n_boot=n_boot, level=level, seed=seed)
    if d.size < 2 or np.all(d == 0):
        p = 1.0 if d.size else np.nan  # identical outputs: no evidence of a difference
    else:
        p = float(wilcoxon(d, zero_method="wilcox", alternative="two-sided").pvalue)
    return PairedResult(n=int(d.size), mean_diff=mean, ci_low=lo, ci_high=hi, p_wilcoxon=p,
                        rank_direction=signed_rank_direction(d))


def signed_rank_direction(d) -> int:
    """Sign of T+ − T− of the Wilcoxon signed-rank statistic (zeros dropped, tied |d| given mean ranks)."""
    from scipy.stats import rankdata

    d = np.asarray(d, dtype=np.float64)
    d = d[d != 0]
    if d.size == 0:
        return 0
    ranks = rankdata(np.abs(d))
    return int(np.sign(ranks[d > 0].sum() - ranks[d < 0].sum()))


def holm(pvalues: Sequence[float]) -> np.ndarray:
    """Holm–Bonferroni adjusted p-values (step-down, monotone, capped at 1); NaNs pass through."""
    p = np.asarray(pvalues, dtype=np.float64)
    out = np.full_like(p, np.nan)
    valid = np.flatnonzero(~np.isnan(p))
    m = valid.size
    if m == 0:
        return out
    order = valid[np.argsort(p[valid], kind="stable")]
    adjusted = np.maximum.accumulate((m - np.arange(m)) * p[order])
    out[order] = np.minimum(adjusted, 1.0)
    return out


def win_rate(a, b, *, lower_is_better: bool) -> float:
    """Share of images where a beats b (ties count one half)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.size == 0:
        return np.nan
    better = (a < b) if lower_is_better else (a > b)
    return float((better.sum() + 0.5 * (a == b).sum()) / a.size)


def smallest_holm_p(n: int, family_size: int) -> float:
    """The smallest Holm-adjusted Wilcoxon p that ``n`` paired images can give in a family of ``family_size`` tests,
    whatever the data: every difference non-zero, distinct and of one sign. Both of scipy's methods are tried
    (exact, and the normal approximation it uses when there are zeros or ties), and the smaller is taken, so a
    result ≥ alpha means no outcome of the experiment could be significant."""
    from scipy.stats import wilcoxon

    if n < 1:
        return 1.0
    if n > 30:  # 2 / 2**30 ≈ 2e-9: below alpha for any realistic family; skips scipy's costly exact distribution
        return min(1.0, 2.0 ** (1 - n) * max(family_size, 1))
    d = np.arange(1, n + 1, dtype=np.float64)
    p = min(float(wilcoxon(d, method=m).pvalue) for m in ("exact", "approx")) if n > 1 else 1.0
    return min(1.0, p * max(family_size, 1))
