"""The family answer (which family colorizes best, each at its best, and what the answer rests on), report sections
as data, and one statistics story: the interval beside a significance statement never contradicts it."""

from __future__ import annotations

import ast
import itertools
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import fixture_path
from evalrun_helpers import make_run
from judge_helpers import write_synthetic_metrics

from colorbench.report import aggregate as agg
from colorbench.report import sections
from colorbench.report.family import family_answer
from colorbench.report.html import CORE_SECTIONS
from colorbench.report.verdict import lead_sentence, write_verdict

N_BOOT = 200
MEANS = {"gray": 0.30, "cnn-original": 0.12, "eccv16": 0.15, "coltran": 0.20}
RUN_INFO = {"methods": ["gray", "cnn-original", "eccv16", "coltran", "controlnet-canny"], "method_status": {
    "gray": {"status": "done", "family": "floor"}, "cnn-original": {"status": "done", "family": "cnn"},
    "eccv16": {"status": "done", "family": "cnn"}, "coltran": {"status": "done", "family": "transformer"},
    "controlnet-canny": {"status": "skipped", "reason": "too slow on a CPU", "family": "diffusion"}}}


def _frame(means: dict[str, float], n: int = 40, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = [{"method": m, "id": f"img{i}", "k": 0, "label": "c", "class_id": "0", "status": "ok", "lpips": mean
             + rng.normal(0, 0.01), "psnr": 20.0, "ssim": 0.9, "delta_e2000": 5.0, "colorfulness": 30.0,
             "colorfulness_truth": 40.0, "error": ""} for i in range(n) for m, mean in means.items()]
    return pd.DataFrame(rows)


def _answer(means=MEANS, run_info=RUN_INFO):
    frame = _frame(means)
    pi = agg.per_image(frame)
    table = agg.method_summary(pi, frame, {}, n_boot=N_BOOT)
    return frame, pi, table, family_answer(pi, table, run_info, metric="lpips", n_boot=N_BOOT)


def test_each_family_is_its_best_method_and_the_answer_says_what_it_rests_on():
    _, _, _, answer = _answer()
    assert {f: b.method for f, b in answer.best.items()} == {
        "floor": "gray", "cnn": "cnn-original", "transformer": "coltran", "diffusion": None}
    assert [b.family for b in answer.ranked] == ["cnn", "transformer"]  # lower LPIPS first; the floor is no contender
    assert answer.rests_on() == ["CNN: best of 2 methods (cnn-original, eccv16)", "transformer: only coltran ran",
                                 "diffusion: no method ran (controlnet-canny skipped)"]
    [row] = answer.comparisons.to_dict("records")  # family best vs family best, on the images both produced
    assert (row["method_a"], row["method_b"], row["n"]) == ("cnn-original", "coltran", 40)
    assert row["better"] == "cnn-original" and row["ci_high"] < 0 and abs(row["mean_diff"] + 0.08) < 0.01


def test_a_family_absent_from_the_run_and_an_unrecorded_family_are_said():
    info = {"methods": ["gray", "cnn-original", "mine"], "method_status": {"mine": {"status": "done"}}}
    _, _, _, answer = _answer({"gray": 0.3, "cnn-original": 0.12, "mine": 0.1}, info)
    assert answer.rests_on()[1:] == ["transformer: no method in this run", "diffusion: no method in this run"]
    assert answer.unknown == ["mine"] and answer.best["cnn"].method == "cnn-original"  # mine is left out, not a CNN
    assert answer.families["cnn-original"] == "cnn"  # no family in run.json (an old file): the registry's


def test_the_verdicts_first_sentence_is_the_family_answer():
    frame, pi, table, answer = _answer()
    paired = agg.paired_table(pi, ["lpips"], n_boot=N_BOOT)
    text = write_verdict(table, paired, headline="lpips", metrics=["lpips"], run_info=RUN_INFO, family=answer).text
    first = text.split(" It rests on: ")[0]
    assert first.startswith("Family answer (CNN vs transformer, each at its best): cnn-original beats coltran on "
                            "LPIPS by 0.08"), text
    assert "It rests on: CNN: best of 2 methods (cnn-original, eccv16); transformer: only coltran ran; diffusion: " \
           "no method ran (controlnet-canny skipped)." in text


# ------------------------------------------------------------------------------------------------ statistics
DEMO = {"n": 40, "diff": -0.0359, "lo": -0.0643, "hi": -0.0105, "p": 0.078, "better": "no significant difference",
        "mean_best": 0.20, "mean_second": 0.2359}


def test_the_demos_contradiction_cannot_be_printed():
    """The demo once printed "the difference −0.0359 [−0.0643, −0.0105] … (p = 0.078, Holm-adjusted Wilcoxon) is
    not significant": an interval that leaves out 0 beside "not significant", unexplained."""
    text = lead_sentence("a", "b", dict(DEMO), "lpips", n_tests=3, tests="pairs of methods")
    assert "is not significant" not in text
    assert "leaves out 0" in text and "3 comparisons" in text and "not enough evidence to call a better" in text


@pytest.mark.parametrize("lo,hi,better,n_tests", itertools.product(
    [-0.06, -0.01, 0.01], [-0.005, 0.02, 0.06], ["a", "no significant difference", "mixed: b wins"], [1, 3]))
def test_no_interval_is_printed_beside_a_statement_it_contradicts(lo, hi, better, n_tests):
    if lo > hi:
        return
    row = dict(DEMO, diff=(lo + hi) / 2, lo=lo, hi=hi, better=better, p=0.01 if better == "a" else 0.2)
    text = lead_sentence("a", "b", row, "lpips", n_tests=n_tests, tests="pairs")
    excludes_zero = lo > 0 or hi < 0
    if excludes_zero:  # "not significant" may only come with the reason the interval disagrees
        assert "is not significant" not in text
    else:  # a win may only be claimed with the interval's doubt said
        assert not re.search(r"beats b on LPIPS by", text) or "reaches 0" in text
        assert "beats b on LPIPS by" not in text


def test_report_and_judge_report_share_one_set_of_bootstrap_settings():
    import inspect

    from colorbench.cli import build_parser
    from colorbench.cli.common import resolve_defaults
    from colorbench.judge.report import build_judge_content
    from colorbench.report import ReportOptions
    from colorbench.report.stats import DEFAULT_BOOTSTRAP, DEFAULT_SEED

    judge = resolve_defaults(build_parser().parse_args(["judge-report", "r"]))
    report = resolve_defaults(build_parser().parse_args(["report", "r"]))
    defaults = inspect.signature(build_judge_content).parameters
    assert (judge.bootstrap, judge.seed) == (report.bootstrap, report.seed) == (DEFAULT_BOOTSTRAP, DEFAULT_SEED)
    assert (ReportOptions().n_boot, ReportOptions().seed) == (DEFAULT_BOOTSTRAP, DEFAULT_SEED)
    assert (defaults["n_boot"].default, defaults["seed"].default) == (DEFAULT_BOOTSTRAP, DEFAULT_SEED)


# ------------------------------------------------------------------------------------------------ sections
def test_the_report_package_never_imports_the_judge_not_even_inside_a_function():
    root = Path(__file__).resolve().parents[1] / "src" / "colorbench" / "report"
    found = []
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            found += [f"{path.name}:{node.lineno} {n}" for n in names if n.startswith("colorbench.judge")]
    assert not found, found


def test_sections_are_in_page_order_with_the_family_answer_after_the_headline():
    ids = [s.id for s in sections.report_sections(CORE_SECTIONS)]
    assert ids[:4] == ["protocol", "headline", "family", "statistics"] and ids.index("coverage") < len(ids)
    with pytest.raises(ValueError, match="registered twice"):
        sections.report_sections((*CORE_SECTIONS, sections.Section("family", "x", render=lambda c, p: "")))


def test_a_report_shows_the_family_section_and_a_newly_registered_one(tmp_path, monkeypatch):
    from colorbench.report import ReportOptions, build_report

    root = tmp_path / "run"
    run = make_run(root, fixture_path("sports"), n_images=4, methods=("chroma-blur", "hue-shift", "gray"),
                   include_gray_source=False)
    record = json.loads(run.run_json.read_text())
    record["methods"] += ["coltran"]
    record["method_status"] = {"chroma-blur": {"status": "done", "family": "cnn"}, "gray": {"status": "done"},
                               "hue-shift": {"status": "done", "family": "diffusion"},
                               "coltran": {"status": "skipped", "reason": "no GPU", "family": "transformer"}}
    run.run_json.write_text(json.dumps(record))
    write_synthetic_metrics(run)
    monkeypatch.setattr(sections, "_REGISTERED", dict(sections._REGISTERED))  # the registration ends with the test
    sections.register_section(sections.Section("counted", "Counted", order=85, render=lambda c, p:
                                               f"<p>{len(c.verdict.ran)} methods ran</p>"))
    page = build_report(root, ReportOptions(n_boot=50, grid_images=1, grid_extremes=1)).read_text()
    assert 'href="#family"' in page and '<section id="family"><h2>Family answer</h2>' in page
    assert page.index('id="headline"') < page.index('id="family"') < page.index('id="statistics"')
    assert "transformer: no method ran (coltran skipped)" in page
    assert 'id="table-family_best"' in page and (root / "tables" / "family_best.csv").exists()
    assert '<section id="counted"><h2>Counted</h2><p>3 methods ran</p></section>' in page
    assert page.index('id="coverage"') < page.index('id="counted"')
    assert (root / "verdict.md").read_text().startswith("Family answer (")


def test_the_eye_test_section_is_declared_in_the_entry_point_group_the_report_reads():
    import importlib

    tomllib = pytest.importorskip("tomllib", reason="tomllib is in the standard library from Python 3.11")
    pyproject = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text(encoding="utf-8"))
    declared = pyproject["project"]["entry-points"][sections.ENTRY_POINT_GROUP]
    module, _, name = declared["eye-test"].partition(":")
    section = getattr(importlib.import_module(module), name)
    assert isinstance(section, sections.Section) and section.id == "eye-test" and section.build is not None
