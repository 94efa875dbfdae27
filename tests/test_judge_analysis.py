"""The eye test's statistics against known answers: Bradley–Terry recovers the strengths of a simulated
tournament (and its CIs cover them at about the nominal rate), agrees with an independent logistic-regression fit,
Cohen's κ reproduces a textbook value, and the metric-agreement table gives 100% for the metric the "people" follow."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest
from conftest import fixture_path
from evalrun_helpers import make_run
from judge_helpers import judge_by_metric, write_synthetic_metrics

from colorbench.judge import analysis as an
from colorbench.judge.report import build_judge_content, has_judgements
from colorbench.judge.session import JudgingSession

METHODS = ["m0", "m1", "m2", "m3"]
TRUE = np.array([0.9, 0.3, -0.2, -1.0])  # log-strengths, mean 0


def tournament(rng, n: int, tie_rate: float = 0.0) -> pd.DataFrame:
    """``n`` judgements of random pairs drawn from Bradley–Terry with strengths TRUE."""
    rows = []
    for idx in range(n):
        i, j = sorted(rng.choice(len(METHODS), 2, replace=False))
        if rng.random() < tie_rate:
            answer = "tie"
        else:
            answer = "a" if rng.random() < 1 / (1 + np.exp(TRUE[j] - TRUE[i])) else "b"
        rows.append({"id": idx, "judge": "sim", "image_id": f"img{idx % 7}", "a": METHODS[i], "ka": 0, "b": METHODS[j],
                     "kb": 0, "answer": answer, "score_a": an.SCORE[answer], "decisive": answer in "ab",
                     "truth_peeked": False})
    return pd.DataFrame(rows)


def test_bradley_terry_recovers_known_strengths():
    fit = an.bradley_terry(tournament(np.random.default_rng(0), 3000), METHODS, n_boot=200).set_index("method")
    assert list(fit.index) == METHODS  # the ranking is the true one
    assert np.abs(fit.loc[METHODS, "strength"].to_numpy() - TRUE).max() < 0.15
    assert (fit["ci_low"] < fit["strength"]).all() and (fit["strength"] < fit["ci_high"]).all()


def test_bootstrap_intervals_cover_the_truth_at_about_the_nominal_rate():
    rng = np.random.default_rng(1)
    covered = total = 0
    for _ in range(25):
        fit = an.bradley_terry(tournament(rng, 400), METHODS, n_boot=150, seed=int(rng.integers(1 << 30)))
        fit = fit.set_index("method").loc[METHODS]
        covered += int(((fit["ci_low"] <= TRUE) & (TRUE <= fit["ci_high"])).sum())
        total += len(METHODS)
    # 100 intervals at a 95% level: ~95 cover; a bug (wrong scale, no centring, CIs of the wrong width) gives far fewer
    assert 86 <= covered <= 100, covered


def test_choix_fit_equals_an_independent_logistic_regression():
    """BT is a logistic regression on ±1 design columns (Agresti, Categorical Data Analysis, §11.6): statsmodels'
    GLM on the same judgements must give the same strengths (ties as half a win each way, via frequency weights)."""
    import statsmodels.api as sm

    outcomes = tournament(np.random.default_rng(2), 600, tie_rate=0.2)
    ours = an.bradley_terry(outcomes, METHODS, n_boot=1).set_index("method").loc[METHODS, "strength"].to_numpy()
    design, y, w = [], [], []
    for r in outcomes.itertuples():
        x = np.zeros(len(METHODS))
        x[METHODS.index(r.a)], x[METHODS.index(r.b)] = 1, -1
        for outcome, weight in ((1, r.score_a), (0, 1 - r.score_a)):
            if weight:
                design.append(x[1:])  # m0 is the reference level
                y.append(outcome)
                w.append(weight)
    glm = sm.GLM(np.array(y), np.array(design), family=sm.families.Binomial(), freq_weights=np.array(w)).fit()
    theirs = np.concatenate([[0.0], glm.params])
    np.testing.assert_allclose(ours, theirs - theirs.mean(), atol=2e-3)  # choix's tiny ridge only


def test_ties_count_half():
    rows = [{"a": "x", "b": "y", "score_a": s} for s in (1.0, 0.5, 0.5, 0.0)]
    share, count = an.win_matrix(pd.DataFrame(rows), ["x", "y"])
    assert share.loc["x", "y"] == 0.5 and count.loc["x", "y"] == 4


def test_cohens_kappa_reproduces_the_textbook_example():
    """Wikipedia's "Cohen's kappa" worked example: 50 proposals, yes/yes 20, yes/no 5, no/yes 10,
    no/no 15 -> κ = 0.4."""
    pairs = [("a", "a")] * 20 + [("a", "b")] * 5 + [("b", "a")] * 10 + [("b", "b")] * 15
    rows = []
    for n, (first, second) in enumerate(pairs):
        for judge, answer in (("r1", first), ("r2", second)):
            rows.append({"id": len(rows), "judge": judge, "image_id": f"i{n}", "a": "x", "ka": 0, "b": "y", "kb": 0,
                         "answer": answer, "score_a": an.SCORE[answer], "decisive": True, "truth_peeked": False})
    table, fleiss = an.judge_agreement(pd.DataFrame(rows))
    assert table.iloc[0]["n_common"] == 50 and table.iloc[0]["agreement"] == pytest.approx(0.7)
    assert table.iloc[0]["cohen_kappa"] == pytest.approx(0.4)
    assert fleiss["n_raters"] == 2 and fleiss["n_items"] == 50


def test_consistency_counts_repeats_per_judge():
    rows = [{"id": i, "judge": "j", "image_id": "same", "a": "x", "ka": 0, "b": "y", "kb": 0, "answer": ans,
             "score_a": an.SCORE[ans], "decisive": ans in "ab", "truth_peeked": False}
            for i, ans in enumerate(["a", "a", "b", "a"])]
    c = an.judge_consistency(pd.DataFrame(rows)).iloc[0]
    assert (c["n_answers"], c["n_repeats"]) == (4, 3) and c["consistent"] == pytest.approx(2 / 3)


@pytest.fixture(scope="module")
def judged_run(tmp_path_factory):
    """A small real run folder with a synthetic metrics.csv; the "people" prefer whatever ΔE2000 prefers."""
    root = tmp_path_factory.mktemp("judged") / "run"
    run = make_run(root, fixture_path("sports"), n_images=5, stochastic_k=2)
    table = write_synthetic_metrics(run)
    session = JudgingSession(root, seed=0)
    judge_by_metric(session, table, "delta_e2000", lower_is_better=True, n=70)
    rof = JudgingSession(root, mode="real-or-fake", seed=0)
    for i in range(30):
        item = rof.next_for("ana")
        rof.images_for(item)
        rof.answer(item.token, "real" if item.left_method in ("__truth__", "chroma-blur") else "fake")
    return root, table


def test_metric_agreement_is_100_percent_for_the_metric_people_follow(judged_run):
    root, _ = judged_run
    content = build_judge_content(root, n_boot=100)
    agreement = content.tables["judge_metric_agreement"].numbers.set_index("metric")
    assert agreement.loc["delta_e2000", "agreement"] == 1.0
    assert agreement.loc["delta_e2000", "n_pairs"] >= 40
    assert agreement.loc["delta_e2000", "ci_low"] > 0.9
    others = agreement.drop(index="delta_e2000")["agreement"]
    assert (others < 1.0).all()  # independent draws: the other metrics agree only by chance or by the method offsets
    assert set(agreement.index) >= {"lpips", "psnr", "ssim", "colorfulness", "colorfulness_gap"}


def test_fool_rate_per_method(judged_run):
    root, _ = judged_run
    fool = build_judge_content(root, n_boot=20).tables["judge_fool_rate"].numbers.set_index("source")
    assert fool.loc["true colours (reference)", "judged_real"] == 1.0 and fool.loc["chroma-blur", "judged_real"] == 1.0
    assert fool.loc["gray", "judged_real"] == 0.0 and fool.loc["gray", "ci_high"] > 0  # Wilson: never [0, 0]
    assert fool["n"].sum() == 30


def test_report_gets_an_eye_test_section_when_judgements_exist(judged_run, tmp_path):
    from colorbench.report import ReportOptions, build_report

    src, _ = judged_run
    root = tmp_path / "copy"
    shutil.copytree(src, root)
    assert has_judgements(root)
    path = build_report(root, ReportOptions(n_boot=50, grid_images=2, grid_extremes=1))
    page = path.read_text()
    assert 'id="eye-test"' in page and 'href="#eye-test"' in page
    for name in ("judge_metric_agreement", "judge_strengths", "judge_win_rate", "judge_fool_rate"):
        assert f'id="table-{name}"' in page and (root / "tables" / f"{name}.csv").exists()
    assert 'id="figure-judge_strengths"' in page and 'id="figure-grid_judge_disagreement"' in page


def test_report_has_no_eye_test_section_without_judgements(tmp_path):
    from colorbench.report import ReportOptions, build_report

    root = tmp_path / "plain"
    run = make_run(root, fixture_path("sports"), n_images=2, methods=("gray", "hue-shift"), include_gray_source=False)
    write_synthetic_metrics(run)
    page = build_report(root, ReportOptions(n_boot=20, grid_images=1, grid_extremes=1)).read_text()
    assert "eye-test" not in page and not (root / "judgements.sqlite").exists()


def test_judge_report_cli(judged_run, tmp_path, capsys):
    from colorbench.cli import main

    src, _ = judged_run
    root = tmp_path / "cli"
    shutil.copytree(src, root)
    assert main(["judge-report", str(root), "--bootstrap", "20"]) == 0
    out = capsys.readouterr().out
    assert "How often each metric prefers the image people preferred" in out and "| ΔE2000 ↓ | 1.00" in out
    assert (root / "tables" / "judge_strengths.csv").exists() and (root / "figures" / "judge_strengths.png").exists()
    (root / "judgements.sqlite").unlink()
    assert main(["judge-report", str(root)]) == 2
    assert "judgements.sqlite does not exist: collect judgements first" in capsys.readouterr().err


def test_a_damaged_judgements_file_is_named_in_the_report_not_fatal(tmp_path):
    from colorbench.report import ReportOptions, build_report

    root = tmp_path / "damaged"
    run = make_run(root, fixture_path("sports"), n_images=2, methods=("gray", "hue-shift"), include_gray_source=False)
    write_synthetic_metrics(run)
    (root / "judgements.sqlite").write_bytes(b"garbage" * 500)
    page = build_report(root, ReportOptions(n_boot=20, grid_images=1, grid_extremes=1)).read_text()
    assert 'id="eye-test"' in page and "judgements.sqlite cannot be read as SQLite" in page
    assert 'id="table-headline"' in page  # the rest of the report is there


def _one_sided(n: int) -> pd.DataFrame:
    """``n`` pair judgements of x against y, all preferring x (no bootstrap resample can differ)."""
    return pd.DataFrame([{"id": i, "judge": "j", "image_id": f"img-{i}", "a": "x", "ka": 0, "b": "y", "kb": 0,
                          "answer": "a", "score_a": 1.0, "decisive": True, "truth_peeked": False} for i in range(n)])


def test_too_few_judgements_give_no_interval_rather_than_a_zero_width_one():
    """With 1 answer every bootstrap resample is that answer: the 'interval' was [x, x]."""
    few = an.bradley_terry(_one_sided(1), ["x", "y"], n_boot=50)
    assert few["strength"].notna().all() and few["ci_low"].isna().all() and few["ci_high"].isna().all()
    assert list(few["method"]) == ["x", "y"]  # the ranking still stands
    agree = an.bradley_terry(_one_sided(an.MIN_CI_JUDGEMENTS + 5), ["x", "y"], n_boot=50)
    assert agree["ci_low"].isna().all()  # enough answers, but all the same: every resample identical, still no CI
    mixed = an.bradley_terry(tournament(np.random.default_rng(3), an.MIN_CI_JUDGEMENTS), METHODS, n_boot=50)
    assert (mixed["ci_high"] - mixed["ci_low"] > 0).all()  # from the minimum on, an interval


def test_judge_report_says_the_interval_cannot_be_estimated_from_one_answer(tmp_path, capsys):
    from colorbench.cli import main

    root = tmp_path / "one-answer"
    run = make_run(root, fixture_path("sports"), n_images=2, methods=("gray", "hue-shift"), include_gray_source=False)
    write_synthetic_metrics(run)
    session = JudgingSession(root, seed=0)
    item = session.next_for("ana")
    session.images_for(item)
    session.answer(item.token, "left")
    assert main(["judge-report", str(root), "--bootstrap", "20"]) == 0
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith(("| 1 |", "| 2 |"))]
    assert len(rows) == 2 and all("(no CI: too few judgements)" in row and "[" not in row for row in rows), rows
    assert (f"cannot be estimated from 1 pair judgement: the bootstrap needs at least {an.MIN_CI_JUDGEMENTS} "
            f"({an.MIN_CI_JUDGEMENTS - 1} more: `colorbench judge {root}`)") in out
    assert "over the 1 pair judgement (20 resamples" in out


def test_the_report_names_a_missing_judge_extra_in_its_eye_test_section_and_still_builds(judged_run, tmp_path,
                                                                                          monkeypatch):
    import sys

    from colorbench.report import ReportOptions, build_report

    src, _ = judged_run
    root = tmp_path / "no-choix"
    shutil.copytree(src, root)
    monkeypatch.setitem(sys.modules, "choix", None)
    page = build_report(root, ReportOptions(n_boot=20, grid_images=1, grid_extremes=1)).read_text()
    assert 'id="eye-test"' in page and "needs the optional judge extra (choix is not installed)" in page
    assert 'id="table-headline"' in page  # the rest of the report is there
