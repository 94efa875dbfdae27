"""Statistics: bootstrap coverage on synthetic data, paired tests, Holm, win rates."""

from __future__ import annotations

import numpy as np
import pytest

from colorbench.report.stats import abs_ci, bootstrap_ci, bootstrap_stat_ci, holm, paired_test, win_rate


@pytest.mark.parametrize("draw, true_mean", [
    (lambda rng, n: rng.normal(0.3, 0.1, n), 0.3),        # LPIPS-like, symmetric
    (lambda rng, n: rng.exponential(2.0, n), 2.0),        # skewed (ΔE-like)
])
def test_bootstrap_ci_covers_true_mean_at_about_nominal_rate(draw, true_mean):
    rng = np.random.default_rng(12345)
    trials, n = 400, 60
    covered = 0
    widths = []
    for t in range(trials):
        x = draw(rng, n)
        mean, lo, hi = bootstrap_ci(x, n_boot=1000, seed=t)
        assert lo <= mean <= hi
        covered += lo <= true_mean <= hi
        widths.append(hi - lo)
    rate = covered / trials
    # nominal 95%; the percentile bootstrap runs a little short at small n. 400 trials: SE ≈ 1.1 points.
    assert 0.90 <= rate <= 0.985, rate
    # and the interval is not trivially wide: ≈ 2·1.96·σ/√n
    sigma = np.std(draw(np.random.default_rng(0), 100000))
    assert np.mean(widths) == pytest.approx(2 * 1.96 * sigma / np.sqrt(n), rel=0.15)


def test_bootstrap_is_seeded_and_rejects_nan():
    x = np.random.default_rng(0).normal(size=50)
    assert bootstrap_ci(x, seed=3) == bootstrap_ci(x, seed=3)
    with pytest.raises(ValueError, match="NaN"):
        bootstrap_ci(np.array([1.0, np.nan]))
    assert np.isnan(bootstrap_ci(np.array([]))[0])


def test_bootstrap_stat_ci_of_delta_colourfulness():
    rng = np.random.default_rng(1)
    truth = rng.normal(40, 8, 300)
    pred = truth - 5 + rng.normal(0, 2, 300)  # 5 units less colourful
    point, lo, hi = bootstrap_stat_ci([pred, truth], lambda p, t: np.abs(p.mean(-1) - t.mean(-1)), seed=0)
    assert point == pytest.approx(abs(pred.mean() - truth.mean()))
    assert lo < 5.0 < hi and hi - lo < 1.0


def test_paired_test_detects_a_real_difference_and_not_a_null_one():
    rng = np.random.default_rng(2)
    base = rng.normal(0.3, 0.1, 200)
    better = base - 0.02 + rng.normal(0, 0.01, 200)
    res = paired_test(better, base, seed=0)
    assert res.n == 200 and res.ci_high < 0 and res.p_wilcoxon < 1e-10
    assert res.mean_diff == pytest.approx(np.mean(better - base))
    null = paired_test(base + rng.normal(0, 0.01, 200), base, seed=0)
    assert null.ci_low < 0 < null.ci_high
    assert paired_test(base, base).p_wilcoxon == 1.0


def test_paired_test_p_matches_scipy():
    from scipy.stats import wilcoxon

    rng = np.random.default_rng(3)
    a, b = rng.normal(size=40), rng.normal(size=40)
    assert paired_test(a, b).p_wilcoxon == pytest.approx(wilcoxon(a - b).pvalue)


def test_holm_hand_computed():
    # sorted p: 0.005, 0.01, 0.03, 0.04 -> ×4, ×3, ×2, ×1 = 0.02, 0.03, 0.06, 0.04 -> monotone 0.02, 0.03, 0.06, 0.06
    np.testing.assert_allclose(holm([0.01, 0.04, 0.03, 0.005]), [0.03, 0.06, 0.06, 0.02])
    np.testing.assert_allclose(holm([0.5, 0.9]), [1.0, 1.0])
    out = holm([0.01, np.nan, 0.02])
    assert np.isnan(out[1]) and out[0] == pytest.approx(0.02) and out[2] == pytest.approx(0.02)


def test_win_rate_direction_and_ties():
    a = np.array([0.1, 0.2, 0.3, 0.4])
    b = np.array([0.2, 0.2, 0.1, 0.5])
    assert win_rate(a, b, lower_is_better=True) == pytest.approx((2 + 0.5) / 4)
    assert win_rate(a, b, lower_is_better=False) == pytest.approx((1 + 0.5) / 4)


def test_bootstrap_refuses_infinite_values():
    # PSNR is +inf for an output identical to its truth: a mean with an infinite term has no CI
    with pytest.raises(ValueError, match="inf"):
        bootstrap_ci(np.array([30.0, np.inf, 31.0]))


@pytest.mark.parametrize("true_diff", [0.0, 0.5])
def test_abs_ci_covers_an_absolute_difference_near_zero(true_diff):
    """|mean(p) − mean(t)| (ΔCF) near 0: the percentile bootstrap of |·| itself never reaches 0 and misses the truth;
    folding the signed CI through |·| keeps at least the nominal coverage."""
    rng = np.random.default_rng(7)
    trials, n = 300, 40
    covered_folded = covered_naive = 0
    for t in range(trials):
        truth = rng.normal(40, 8, n)
        pred = truth + true_diff + rng.normal(0, 3, n)
        signed = bootstrap_stat_ci([pred, truth], lambda p, q: p.mean(-1) - q.mean(-1), n_boot=400, seed=t)
        point, lo, hi = abs_ci(*signed)
        assert point == pytest.approx(abs(pred.mean() - truth.mean()))
        assert 0.0 <= lo <= point <= hi
        covered_folded += lo <= true_diff <= hi
        _, nlo, nhi = bootstrap_stat_ci([pred, truth], lambda p, q: np.abs(p.mean(-1) - q.mean(-1)), n_boot=400, seed=t)
        covered_naive += nlo <= true_diff <= nhi
    assert covered_folded / trials >= 0.92, covered_folded / trials
    if true_diff == 0.0:
        assert covered_naive == 0  # why the fold is needed: |θ*| > 0 in every resample


def test_abs_ci_cases():
    assert abs_ci(-2.0, -3.0, -1.0) == (2.0, 1.0, 3.0)  # entirely negative: mirrored
    assert abs_ci(2.0, 1.0, 3.0) == (2.0, 1.0, 3.0)
    assert abs_ci(0.5, -1.0, 2.0) == (0.5, 0.0, 2.0)  # straddles 0: from 0 to the farther end
    assert abs_ci(-0.5, -2.0, 1.0) == (0.5, 0.0, 2.0)
    point, lo, hi = abs_ci(1.0, np.nan, np.nan)
    assert point == 1.0 and np.isnan(lo) and np.isnan(hi)


def test_signed_rank_direction_can_disagree_with_the_mean():
    # a is lower on 18 of 20 images, far higher on 2: the mean says a > b, the signed ranks say a < b
    b = np.full(20, 0.3)
    a = b + np.r_[np.full(18, -0.01) + np.linspace(0, 0.001, 18), 0.5, 0.6]
    res = paired_test(a, b, seed=0)
    assert res.mean_diff > 0 and res.rank_direction == -1 and res.p_wilcoxon < 0.05
    assert paired_test(b + 0.01 * np.arange(1, 21), b).rank_direction == 1
    assert paired_test(b, b).rank_direction == 0
