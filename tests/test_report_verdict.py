"""The verdict paragraph, written from synthetic metric tables with known answers: a clear winner, metrics that
disagree, one method, too few images for any test, and methods that did not run."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from colorbench.messages import one_line
from colorbench.report import aggregate as agg
from colorbench.report.stats import smallest_holm_p
from colorbench.report.verdict import write_verdict

N_BOOT = 300


def _frame(methods: dict[str, dict], n: int, seed: int = 0) -> pd.DataFrame:
    """``methods``: name -> {metric: mean}; per-image values are the mean plus small seeded noise."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        truth_cf = 40.0 + rng.normal(0, 2)
        for method, means in methods.items():
            row = {"method": method, "id": f"img{i}", "k": 0, "label": f"c{i % 3}", "class_id": str(i % 3),
                   "status": "ok", "colorfulness_truth": truth_cf, "error": ""}
            for metric, mean in means.items():
                row[metric] = mean + rng.normal(0, 0.01 * max(abs(mean), 1))
            rows.append(row)
    return pd.DataFrame(rows)


def _verdict(frame: pd.DataFrame, run_info: dict | None = None):
    pi = agg.per_image(frame)
    table = agg.method_summary(pi, frame, {}, n_boot=N_BOOT)
    metrics = agg.available_metrics(frame)
    headline = agg.headline_metric(frame)
    paired = agg.paired_table(pi, metrics, n_boot=N_BOOT)
    return write_verdict(table, paired, headline=headline, metrics=metrics, run_info=run_info or {},
                         truth_colorfulness=agg.truth_colorfulness(pi), run_name="myrun")


GOOD = {"lpips": 0.12, "psnr": 26.0, "ssim": 0.95, "delta_e2000": 6.0, "colorfulness": 21.0}
FLOOR = {"lpips": 0.20, "psnr": 24.0, "ssim": 0.93, "delta_e2000": 9.0, "colorfulness": 0.0}


def test_clear_winner_names_the_lead_its_ci_p_n_agreement_and_colourfulness():
    v = _verdict(_frame({"gray": FLOOR, "cnn-original": GOOD}, n=60))
    assert v.ran == ["cnn-original", "gray"] and v.comparable and not v.too_few_images
    text = v.text
    lead = re.match(r"cnn-original beats gray on LPIPS by (0\.\d+) \[(0\.\d+), (0\.\d+)\]", text)
    assert lead, text  # 0.20 − 0.12 = 0.08: lower is better, so the lead is positive
    assert float(lead[2]) < float(lead[1]) < float(lead[3]) and abs(float(lead[1]) - 0.08) < 0.005
    assert "over 60 images" in text and "Holm-adjusted" in text and "p < 1e-" in text
    assert "PSNR, SSIM and ΔE2000 agree." in text
    assert "cnn-original's colourfulness is 21.0 vs 40." in text and "colours timidly" in text
    assert "did not run" not in text


def test_metrics_that_disagree_are_named():
    better_colour = dict(GOOD, psnr=22.0, ssim=0.93)  # best on LPIPS and ΔE, worse on PSNR, level on SSIM
    text = _verdict(_frame({"gray": FLOOR, "zhang": better_colour}, n=60)).text
    assert "zhang beats gray on LPIPS" in text
    assert "ΔE2000 agrees; PSNR favours gray; SSIM shows no significant difference." in text


def test_not_significant_lead_is_not_called_a_win():
    close = dict(FLOOR, lpips=0.1999)
    text = _verdict(_frame({"gray": FLOOR, "near": close}, n=40, seed=3)).text
    assert "beats" not in text.split(".")[0] and "is not significant" in text


def test_one_method_says_there_is_nothing_to_compare_and_how_to_add_one():
    v = _verdict(_frame({"gray": FLOOR}, n=10))
    assert not v.comparable
    assert "Only gray produced images, so there is nothing to compare" in v.text
    assert "`colorbench run --run myrun --methods gray,cnn-original`" in v.text
    assert "`colorbench report myrun`" in v.text


def test_tiny_n_is_said_once_instead_of_pairs():
    v = _verdict(_frame({"gray": FLOOR, "cnn-original": GOOD, "eccv16": dict(GOOD, lpips=0.15)}, n=2))
    assert v.too_few_images
    assert v.text.count("no paired test can reach significance") == 1
    assert "cnn-original has the best mean LPIPS" in v.text and "beats" not in v.text


def test_enough_images_are_not_called_too_few():
    assert not _verdict(_frame({"gray": FLOOR, "cnn-original": GOOD}, n=8)).too_few_images  # 2/2^8 < 0.05
    assert smallest_holm_p(5, 1) < 0.05 <= smallest_holm_p(5, 3)  # scipy's normal approximation reaches 0.043


def test_skipped_and_failed_methods_are_named_and_pointed_to_the_one_place_with_their_reasons():
    """The reasons (with their fixes) are said once, under "Did not run" in the report: the verdict names the
    methods and points there (a new user found the same reason in the verdict, the protocol and the coverage)."""
    run_info = {"methods": ["gray", "cnn-original", "coltran", "eccv16"], "method_status": {
        "gray": {"status": "done"}, "cnn-original": {"status": "done"},
        "coltran": {"status": "skipped", "reason": "too slow on a CPU for the automatic selection; name it in "
                                                   "--methods to run it anyway, or use a GPU"},
        "eccv16": {"status": "failed", "reason": "failed to load: RuntimeError: bad file. Put it at /x\nmore"}}}
    v = _verdict(_frame({"gray": FLOOR, "cnn-original": GOOD}, n=30), run_info)
    assert [n.method for n in v.not_run] == ["coltran", "eccv16"]
    assert v.text.endswith('coltran was skipped and eccv16 failed: why, and how to make each run, is under "Did not '
                           'run" in the report.')
    assert "too slow" not in v.text and "bad file" not in v.text


def test_methods_that_did_not_run_are_named_once_whatever_their_reasons():
    slow = {"status": "skipped", "reason": "too slow on a CPU"}
    run_info = {"method_status": {"coltran": slow, "controlnet-canny": slow, "eccv16": {
        "status": "skipped", "reason": "weights 'eccv16' are not available: offline. Put the file at /x"}}}
    text = _verdict(_frame({"gray": FLOOR, "cnn-original": GOOD}, n=10), run_info).text
    assert text.endswith('coltran, controlnet-canny and eccv16 were skipped: why, and how to make each run, is under '
                         '"Did not run" in the report.')
    assert text.count("coltran") == 1 and "too slow" not in text and "offline" not in text


def test_a_method_skipped_now_but_with_images_from_before_is_not_listed_as_not_run():
    run_info = {"method_status": {"coltran": {"status": "skipped", "reason": "no GPU"}}}
    v = _verdict(_frame({"gray": FLOOR, "coltran": GOOD}, n=10), run_info)
    assert v.not_run == [] and "did not run" not in v.text


@pytest.mark.parametrize("reason,short", [
    ("weights 'x' are not available: offline. Put the file at /a (download it from b)",
     "weights 'x' are not available: offline."),
    ("line one\nline two", "line one"),
])
def test_one_line(reason, short):
    assert one_line(reason) == short


def test_a_colourless_best_method_adds_no_colour_rather_than_colouring_timidly():
    v = _verdict(_frame({"gray": FLOOR}, n=20))
    assert "gray's colourfulness is 0.0 vs 40." in v.text and "it adds no colour" in v.text
    assert "timidly" not in v.text


def test_the_offline_demos_five_skips_are_one_short_sentence():
    """The offline demo: three downloads failed the same way and two CNNs lack their checkpoint; the verdict names
    them in one sentence (their reasons are in the report, once)."""
    offline = "downloading it failed ([Errno -2] Name or service not known; no network access?). Put the file at /x"
    run_info = {"method_status": {
        **{m: {"status": "skipped", "reason": f"weights '{w}' are not available: {offline}"}
           for m, w in (("eccv16", "eccv16"), ("siggraph17", "siggraph17"), ("cnn-original", "cnn-original-e186"))},
        **{m: {"status": "skipped", "reason": f"no trained CNN checkpoint found (looked at models/cnn/{m[4:]}/best.pt)"
                                              ". Train one with `colorbench train cnn`"}
           for m in ("cnn-lpips", "cnn-mse")}}}
    text = _verdict(_frame({"gray": FLOOR, "zhang": GOOD}, n=10), run_info).text
    assert text.endswith("eccv16, siggraph17, cnn-original, cnn-lpips and cnn-mse were skipped: why, and how to make "
                         'each run, is under "Did not run" in the report.'), text
    assert "downloading it failed" not in text and "checkpoint" not in text


def test_one_method_whose_suggested_partner_did_not_run_says_so_and_the_section_text_is_short():
    run_info = {"method_status": {"cnn-original": {"status": "skipped", "reason": "weights 'cnn-original-e186' are "
                                                                                  "not available: offline"}}}
    v = _verdict(_frame({"gray": FLOOR}, n=6), run_info)
    assert "`colorbench run --run myrun --methods gray,cnn-original`" in v.text
    # the condition comes before the command (a new user ran the command first: refused, cnn-original skipped)
    assert v.text.index("first make a second method runnable: cnn-original did not run here (its fix") < \
        v.text.index("`colorbench run --run myrun")
    # the paired-statistics section shows only the comparison sentence, not the not-run list again
    assert v.comparison.startswith("Only gray produced images") and "are not available" not in v.comparison
    assert 'cnn-original was skipped: why, and how to make it run, is under "Did not run"' in v.text
    assert "did not run here (" not in _verdict(_frame({"gray": FLOOR}, n=6)).text


def test_the_verdict_names_a_missing_file_without_its_folders():
    """A new user's verdict read "eccv16 (weights 'eccv16' are not available: /root/.cache/torch/hub/checkpoints/
    colorization_release_v2-9b330a0b.pth does not exist and downloading is off)": the reason, folders and all, is
    in the Protocol's "Did not run" list, once."""
    reason = ("weights 'eccv16' are not available: /root/.cache/torch/hub/checkpoints/colorization_release_v2-9b330a0b"
              ".pth does not exist and downloading is off. Put the file at /root/.cache/torch/hub/checkpoints/x.pth")
    run_info = {"method_status": {"eccv16": {"status": "skipped", "reason": reason}}}
    text = _verdict(_frame({"gray": FLOOR, "cnn-original": GOOD}, n=10), run_info).text
    assert text.endswith('eccv16 was skipped: why, and how to make it run, is under "Did not run" in the report.'), text
    assert "/root" not in text and "colorization_release" not in text

