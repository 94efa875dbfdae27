"""Aggregation from metrics.csv rows to the report's numbers, on small synthetic frames with known answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from colorbench.report import aggregate as agg
from colorbench.report.build import headline_table
from colorbench.report.figures import metric_bars
from colorbench.report.grids import metric_captions

N_BOOT = 200


def _row(method, sample_id, k=0, status="ok", label="c", **scores):
    base = {"method": method, "id": sample_id, "k": k, "label": label, "class_id": "0", "status": status,
            "lpips": np.nan, "psnr": np.nan, "ssim": np.nan, "delta_e2000": np.nan, "colorfulness": np.nan,
            "colorfulness_truth": np.nan, "error": ""}
    if status == "ok":
        base.update(lpips=0.2, psnr=25.0, ssim=0.9, delta_e2000=5.0, colorfulness=30.0, colorfulness_truth=40.0)
    base.update(scores)
    return base


def test_identical_outputs_psnr_inf_is_capped_and_counted():
    """An output equal to its truth has PSNR +inf (metrics.csv says so); the report must still build: the paired
    difference inf − inf used to be NaN and crash the bootstrap, and the headline mean was ∞ with a NaN bound."""
    rows = []
    for i in range(6):
        rows.append(_row("copy", f"i{i}", psnr=np.inf if i < 2 else 30.0 + i))
        rows.append(_row("other", f"i{i}", psnr=np.inf if i == 0 else 20.0 + i))
    frame = pd.DataFrame(rows)
    pi = agg.per_image(frame)
    assert pi["psnr"].max() == agg.PSNR_CAP_DB
    table = agg.method_summary(pi, frame, {}, n_boot=N_BOOT).set_index("method")
    assert np.isfinite(table[["psnr_mean", "psnr_lo", "psnr_hi"]].to_numpy()).all()
    assert table.loc["copy", "psnr_mean"] == pytest.approx(
        (2 * agg.PSNR_CAP_DB + sum(30.0 + i for i in range(2, 6))) / 6)
    assert table.loc["copy", "psnr_n_capped"] == 2 and table.loc["other", "psnr_n_capped"] == 1
    pairs = agg.paired_table(pi, ["psnr"], n_boot=N_BOOT)
    assert len(pairs) == 1 and np.isfinite(pairs.loc[0, "mean_diff"]) and pairs.loc[0, "n"] == 6
    wins = agg.win_rate_matrix(pi, "psnr")
    assert wins.loc["copy", "other"] == pytest.approx((5 + 0.5) / 6)  # both identical on i0: a tie
    shown = headline_table(agg.method_summary(pi, frame, {}, n_boot=N_BOOT), {})
    assert any("PSNR = +∞" in note and "3 outputs identical" in note for note in shown.notes)


def test_missing_counts_cover_every_sample_of_a_stochastic_method():
    """K = 2 samples on 4 images: a1 lacks k=1, a2 lacks k=0 (k=1 exists), a3 lacks both. Counting only k=0 said
    2 missing while a2 was also scored (n_scored + n_missing > images) and a1's absent sample went unreported."""
    rows = [_row("s", "a0", 0), _row("s", "a0", 1),
            _row("s", "a1", 0), _row("s", "a1", 1, status="missing"),
            _row("s", "a2", 0, status="missing"), _row("s", "a2", 1),
            _row("s", "a3", 0, status="missing"), _row("s", "a3", 1, status="missing")]
    frame = pd.DataFrame(rows)
    pi = agg.per_image(frame)
    table = agg.method_summary(pi, frame, {}, n_boot=N_BOOT)
    row = table.iloc[0]
    assert (row["n_scored"], row["n_missing"], row["n_missing_samples"], row["samples_per_image"]) == (3, 1, 4, 2)
    shown = headline_table(table, {})
    assert shown.shown.loc[0, "missing"] == "1 (+2 of 8 samples)"
    assert any("samples of images that have some" in note for note in shown.notes)


def test_delta_cf_ci_reaches_zero_when_outputs_match_truth_colourfulness():
    rng = np.random.default_rng(0)
    truth = rng.normal(40, 8, 60)
    pred = truth + rng.normal(0, 3, 60)
    pred += truth.mean() - pred.mean() + 0.1  # mean CF 0.1 above the truths'
    frame = pd.DataFrame([_row("m", f"i{i}", colorfulness=p, colorfulness_truth=t)
                          for i, (p, t) in enumerate(zip(pred, truth))])
    row = agg.method_summary(agg.per_image(frame), frame, {}, n_boot=N_BOOT).iloc[0]
    assert row["delta_cf"] == pytest.approx(0.1) and row["cf_diff"] == pytest.approx(0.1)
    assert row["delta_cf_lo"] == 0.0 and row["delta_cf_hi"] > 0.1  # a percentile CI of |·| never reaches 0
    assert row["cf_diff_lo"] < 0 < row["cf_diff_hi"]


def test_truth_colourfulness_note_is_over_all_scored_images():
    """With a method missing an image, the note used the mean of per-method truth means (over different images)."""
    cf_truth = [10.0, 20.0, 60.0]
    rows = [_row("a", f"i{i}", colorfulness_truth=t) for i, t in enumerate(cf_truth)]
    rows += [_row("b", "i0", colorfulness_truth=10.0), _row("b", "i1", colorfulness_truth=20.0),
             _row("b", "i2", status="missing")]
    frame = pd.DataFrame(rows)
    pi = agg.per_image(frame)
    truth_cf = agg.truth_colorfulness(pi)
    assert truth_cf == pytest.approx(30.0)
    table = agg.method_summary(pi, frame, {}, n_boot=N_BOOT).set_index("method")
    assert table.loc["b", "colorfulness_truth_mean"] == pytest.approx(15.0)  # b's ΔCF is against its own images
    note = headline_table(table.reset_index(), {}, truth_cf).notes[1]
    assert "30.0" in note


def test_best_and_worst_classes_never_overlap():
    per_class = pd.DataFrame({"n_images": [1] * 3, "m": [0.1, 0.2, 0.3]}, index=pd.Index(["x", "y", "z"], name="label"))
    bw = agg.best_worst_classes(per_class, "lpips", n=5)
    best, worst = bw[bw["kind"] == "best"]["class"].tolist(), bw[bw["kind"] == "worst"]["class"].tolist()
    assert best == ["x"] and worst == ["z"]  # 3 classes: one each; "y" is neither
    many = pd.DataFrame({"n_images": [1] * 12, "m": np.arange(12.0)},
                        index=pd.Index([f"c{i}" for i in range(12)], name="label"))
    bw = agg.best_worst_classes(many, "psnr", n=5)  # higher is better
    assert bw[bw["kind"] == "best"]["class"].tolist() == ["c11", "c10", "c9", "c8", "c7"]
    assert bw[bw["kind"] == "worst"]["class"].tolist() == ["c0", "c1", "c2", "c3", "c4"]


def test_grid_captions_of_a_stochastic_method_name_the_shown_sample():
    """The grid shows sample k=0; the per-image value is the mean over K: the caption must not pass one off as
    the other."""
    frame = pd.DataFrame([_row("det", "i0", lpips=0.3), _row("sto", "i0", 0, lpips=0.1),
                          _row("sto", "i0", 1, lpips=0.5)])
    pi = agg.per_image(frame)
    with_samples = metric_captions(pi, ["i0"], "lpips", samples=frame)
    assert with_samples[("i0", "det")] == "lpips 0.300"
    assert with_samples[("i0", "sto")] == "lpips 0.100 (k=0)\nmean of 2: 0.300"
    assert metric_captions(pi, ["i0"], "lpips")[("i0", "sto")] == "lpips 0.300 (mean of 2)"


def test_metric_bars_draw_no_bar_for_a_method_without_values():
    """A method with no scored image has a NaN mean: a zero-height bar would read as a perfect LPIPS."""
    summary = pd.DataFrame({"method": ["a", "none"], "lpips_mean": [0.2, np.nan], "lpips_lo": [0.1, np.nan],
                            "lpips_hi": [0.3, np.nan]})
    fig = metric_bars(summary, ["lpips"])
    ax = fig.axes[0]
    assert len(ax.patches) == 1
    assert any(t.get_text() == "n/a" for t in ax.texts)


def test_pairwise_verdict_is_not_taken_from_the_mean_against_the_test():
    """LPIPS of a is lower (better) on 18 of 20 images and far higher on 2: Wilcoxon is significant in a's favour,
    the mean difference favours b. The verdict used the mean's sign alone and declared b significantly better."""
    b = np.full(20, 0.3)
    a = b + np.r_[np.full(18, -0.01) + np.linspace(0, 0.001, 18), 0.5, 0.6]
    frame = pd.DataFrame([_row("a", f"i{i}", lpips=x) for i, x in enumerate(a)]
                         + [_row("b", f"i{i}", lpips=x) for i, x in enumerate(b)]
                         + [_row("c", f"i{i}", lpips=x + 0.2) for i, x in enumerate(b)])
    pairs = agg.paired_table(agg.per_image(frame), ["lpips"], n_boot=N_BOOT).set_index(["method_a", "method_b"])
    assert pairs.loc[("a", "b"), "p_holm"] < 0.05 and pairs.loc[("a", "b"), "mean_diff"] > 0
    assert pairs.loc[("a", "b"), "better"] == "mixed: a wins by signed ranks, not by the mean"
    assert pairs.loc[("b", "c"), "better"] == "b"  # b lower on every image: a plain verdict
