"""The batched run scorer on small run folders built from real fixture photos (tests/evalrun_helpers.py)."""

from __future__ import annotations

import argparse
import json
import shutil

import numpy as np
import pandas as pd
import pytest
from conftest import fixture_path
from evalrun_helpers import HUE_SAMPLER_ANGLES, make_run

from colorbench import atomic
from colorbench.data.images import read_png_rgb
from colorbench.metrics import METRIC_COLUMNS, ScoringError, load_metrics, load_summary, score_run
from colorbench.runfolder import FAILURE_COLUMNS
from colorbench.weights import WeightsUnavailable


@pytest.fixture(scope="module")
def scored(tmp_path_factory):
    """A run with 3 deterministic methods, one stochastic (K=3), one missing output, one gray-only source."""
    root = tmp_path_factory.mktemp("run") / "small"
    make_run(root, fixture_path("sports"), n_images=4, stochastic_k=3, missing={"gray": [1]})
    result = score_run(root, lpips_trunk="uncalibrated", fid=False, progress=False, batch_size=4)
    return root, result


def test_metrics_csv_has_documented_columns_and_round_trips(scored):
    root, result = scored
    frame = load_metrics(root)
    assert list(frame.columns) == METRIC_COLUMNS
    pd.testing.assert_frame_equal(frame[["lpips", "psnr", "ssim", "delta_e2000"]],
                                  result.frame[["lpips", "psnr", "ssim", "delta_e2000"]].astype(float), rtol=1e-12)
    assert json.loads((root / "metrics.json").read_text())["n_scorable"] == 4


def test_gray_source_excluded_and_counted(scored):
    root, result = scored
    s = result.summary
    assert s["n_samples"] == 5 and s["n_scorable"] == 4
    assert [e["id"] for e in s["excluded"]] == ["ski-jumping-2"]
    assert "ski-jumping-2" not in set(result.frame["id"])


def test_missing_output_is_a_row_with_the_runners_error(scored):
    _, result = scored
    frame = result.frame
    missing = frame[frame["status"] == "missing"]
    assert len(missing) == 1
    row = missing.iloc[0]
    assert row["method"] == "gray" and "simulated failure" in row["error"] and np.isnan(row["psnr"])
    assert result.summary["methods"]["gray"]["n_missing"] == 1
    assert result.summary["methods"]["gray"]["n_images_scored"] == 3


def test_known_quality_order(scored):
    """chroma-blur (true colours, blurred) beats hue-shift (30° hue rotation) beats gray on colour metrics."""
    _, result = scored
    ok = result.frame[(result.frame["status"] == "ok") & (result.frame["k"] == 0)]
    means = ok.groupby("method")[["psnr", "ssim", "delta_e2000", "lpips", "colorfulness"]].mean()
    assert (means.loc["chroma-blur", "delta_e2000"] < means.loc["hue-shift", "delta_e2000"]
            < means.loc["gray", "delta_e2000"])
    assert means.loc["chroma-blur", "psnr"] > means.loc["hue-shift", "psnr"] > means.loc["gray", "psnr"]
    assert means.loc["chroma-blur", "ssim"] > means.loc["gray", "ssim"]
    assert means.loc["gray", "colorfulness"] < 1.0  # L-merged gray stays (almost) colourless


def test_values_equal_skimage_per_image(scored):
    from skimage.color import deltaE_ciede2000, rgb2lab
    from skimage.metrics import peak_signal_noise_ratio, structural_similarity

    root, result = scored
    row = result.frame[(result.frame["method"] == "hue-shift")].iloc[2]
    truth = read_png_rgb(root / "inputs" / "truth" / f"{row['id']}.png")
    pred = read_png_rgb(root / "images" / "hue-shift" / f"{row['id']}.png")
    assert row["psnr"] == pytest.approx(peak_signal_noise_ratio(truth, pred), rel=1e-12)
    assert row["ssim"] == pytest.approx(structural_similarity(truth, pred, channel_axis=2), rel=1e-9)
    # the scorer's CIEDE2000 runs in float32: within 1e-4 ΔE of scikit-image's float64
    assert row["delta_e2000"] == pytest.approx(deltaE_ciede2000(rgb2lab(truth), rgb2lab(pred)).mean(), abs=1e-4)


def test_stochastic_samples_best_and_mean_of_k(scored):
    from colorbench.report.aggregate import per_image

    _, result = scored
    frame = result.frame
    sampler = frame[frame["method"] == "hue-sampler"]
    assert sorted(sampler["k"].unique()) == [0, 1, 2]
    assert result.summary["methods"]["hue-sampler"]["n_samples_per_image"] == 3
    # sample k rotates hue by HUE_SAMPLER_ANGLES[k]: a bigger rotation is a bigger colour error on every image
    by_k = sampler.pivot(index="id", columns="k", values="delta_e2000")
    assert (by_k[0] < by_k[1]).all() and (by_k[1] < by_k[2]).all(), HUE_SAMPLER_ANGLES
    pi = per_image(frame)
    row = pi[pi["method"] == "hue-sampler"].set_index("id")
    lp = sampler.pivot(index="id", columns="k", values="lpips")
    np.testing.assert_allclose(row["lpips"], lp.mean(axis=1).loc[row.index])
    np.testing.assert_allclose(row["lpips_best_of_k"], lp.min(axis=1).loc[row.index])
    assert (row["lpips_best_of_k"] <= row["lpips"]).all()


def test_batch_size_does_not_change_scores(tmp_path, sports_dir):
    root = tmp_path / "run"
    make_run(root, sports_dir, n_images=3, methods=("hue-shift",), missing={"hue-shift": [1]},
             include_gray_source=False)
    one = score_run(root, lpips_trunk="uncalibrated", fid=False, progress=False, batch_size=1, write=False)
    three = score_run(root, lpips_trunk="uncalibrated", fid=False, progress=False, batch_size=3, write=False)
    cols = ["lpips", "psnr", "ssim", "delta_e2000", "colorfulness", "colorfulness_truth"]
    assert one.frame["status"].tolist() == three.frame["status"].tolist() == ["ok", "missing", "ok"]
    pd.testing.assert_frame_equal(one.frame[cols], three.frame[cols], rtol=1e-5)


def test_lpips_unavailable_is_recorded_not_faked(tmp_path, sports_dir):
    root = tmp_path / "run"
    make_run(root, sports_dir, n_images=2, methods=("gray",), include_gray_source=False)
    result = score_run(root, fid=False, progress=False)  # real trunk: not in the (empty) test cache
    assert result.frame["lpips"].isna().all()
    assert result.frame["psnr"].notna().all()
    info = load_summary(root)["lpips"]
    assert info["available"] is False and info["weights"] == "torchvision-alexnet"
    assert "alexnet-owt-7be5be79.pth" in info["message"] and "TORCH_HOME" in info["message"]
    with pytest.raises(WeightsUnavailable):
        score_run(root, fid=False, progress=False, require=("lpips",))


def test_size_mismatch_names_the_file(tmp_path, sports_dir):
    root = tmp_path / "run"
    run = make_run(root, sports_dir, n_images=2, methods=("gray",), include_gray_source=False)
    sample_id = run.read_samples()[1]["id"]
    bad = run.output_path("gray", sample_id)
    atomic.write_png(bad, read_png_rgb(bad)[:200, :180])
    with pytest.raises(ScoringError, match=f"{bad}.*differs from its truth"):
        score_run(root, lpips_trunk="uncalibrated", fid=False, progress=False)


def test_nan_scores_are_errors_naming_the_file(tmp_path):
    from colorbench.metrics.scorer import _check_finite

    with pytest.raises(ScoringError, match="b.png: ssim is NaN"):
        _check_finite("m", [{"id": "a"}, {"id": "b"}], [tmp_path / "a.png", tmp_path / "b.png"],
                      {"psnr": np.array([1.0, 2.0]), "ssim": np.array([0.5, np.nan])})


def test_not_a_run_folder(tmp_path):
    with pytest.raises(ScoringError, match="samples.csv"):
        score_run(tmp_path, fid=False, progress=False)
    with pytest.raises(ScoringError, match="score the run first"):
        load_metrics(tmp_path)


def test_an_unscored_run_names_the_command_by_the_runs_name(tmp_path, monkeypatch):
    """`colorbench report quick` before `colorbench score quick` answered with the run's absolute path in the fix;
    a run under $COLORBENCH_RESULTS is named as the user names it, and the one-step alternative is given."""
    monkeypatch.setenv("COLORBENCH_RESULTS", str(tmp_path))
    folder = tmp_path / "unscored-quick"
    folder.mkdir(parents=True)
    (folder / "run.json").write_text("{}")
    with pytest.raises(ScoringError) as unscored:
        load_metrics(folder)
    assert "score the run first (`colorbench score unscored-quick`, or `colorbench report unscored-quick --score` " \
           "for both)" in str(unscored.value)


def _cli(argv):
    from colorbench.cli import evaluate as cli_eval

    parser = argparse.ArgumentParser()
    cli_eval.register(parser.add_subparsers())
    args = parser.parse_args(argv)
    return args.func(args)


def test_cli_score_and_report(tmp_path, sports_dir, capsys, caplog):
    root = tmp_path / "run"
    make_run(root, sports_dir, n_images=3, methods=("chroma-blur", "gray"), include_gray_source=True)
    assert _cli(["score", str(root), "--no-fid", "--no-progress", "--batch-size", "2"]) == 0
    out = capsys.readouterr().out
    assert "scored 3 images (1 excluded" in out and "LPIPS unavailable" in out and "reused" not in out
    with caplog.at_level("INFO", logger="colorbench"):  # nothing changed: nothing is scored again, and it says so
        assert _cli(["score", str(root), "--no-fid", "--no-progress"]) == 0
    assert f"3 of 3 images reused from the scoring before, their files unchanged (delete {root}" in caplog.text
    capsys.readouterr()
    assert _cli(["score", str(root), "--no-fid"]) == 0  # with its progress bar: none, for nothing to score
    assert "img/s" not in capsys.readouterr().err  # it once drew "scoring: 0img [00:00, ?img/s]"
    with pytest.raises(WeightsUnavailable):
        _cli(["score", str(root), "--no-fid", "--no-progress", "--require", "lpips"])
    assert _cli(["report", str(root), "--bootstrap", "200"]) == 0
    assert (root / "report.html").exists() and (root / "tables" / "headline.csv").exists()


def test_cpu_and_device_paths_agree(real_images):
    """On CPU the element-wise metrics go one image at a time; on CUDA the whole batch at once. Same numbers,
    also when only some truths of the batch have an output (the gather path)."""
    from colorbench.metrics.scorer import BatchScorer

    class WholeBatchScorer(BatchScorer):
        _chunk = None  # what runs on CUDA, here on the CPU

    truths = [np.array(x) for x in real_images[:3]]
    preds = [np.ascontiguousarray(x[..., ::-1]) for x in truths[::-1]]
    cpu, dev = BatchScorer(device="cpu"), WholeBatchScorer(device="cpu")
    a = cpu.score(cpu.prepare_truth(["a", "b", "c"], truths), [0, 1, 2], preds)
    b = dev.score(dev.prepare_truth(["a", "b", "c"], truths), [0, 1, 2], preds)
    sub = cpu.score(cpu.prepare_truth(["a", "b", "c"], truths), [2, 0], [preds[2], preds[0]])  # gather path
    for name in ("psnr", "ssim", "delta_e2000", "colorfulness", "colorfulness_truth"):
        rtol = 1e-5 if name == "delta_e2000" else 1e-12  # float32 means summed in another order
        np.testing.assert_allclose(a[name], b[name], rtol=rtol, err_msg=name)
        np.testing.assert_allclose(sub[name], a[name][[2, 0]], rtol=rtol, err_msg=name)


def test_methods_and_samples_the_runner_attempted_are_counted_even_without_files(tmp_path):
    """run.json's method_status says what ran: a method that failed on every image (no images/ folder) is scored
    as all missing with the runner's error, and a stochastic method's absent last sample (K from run.json, not
    from the files) counts as missing."""
    root = tmp_path / "run"
    run = make_run(root, fixture_path("sports"), n_images=3, stochastic_k=3, include_gray_source=False)
    record = run.read_run_json()
    record["methods"] += ["broken"]
    record["method_status"] = {"broken": {"status": "partial", "samples_per_image": 1, "failed": 3},
                               "hue-sampler": {"status": "done", "samples_per_image": 4},
                               "gray": {"status": "done", "samples_per_image": 1},
                               "never-ran": {"status": "skipped", "reason": "weights unavailable"}}
    atomic.write_json(run.run_json, record)
    ids = [r["id"] for r in run.read_samples()]
    failures = [{"method": "broken", "id": i, "k": 0, "error": "RuntimeError: out of memory"} for i in ids]
    atomic.write_csv(run.failures_csv, failures, list(failures[0]))
    result = score_run(root, lpips_trunk="uncalibrated", fid=False, progress=False)
    frame = result.frame
    broken = frame[frame["method"] == "broken"]
    assert len(broken) == 3 and (broken["status"] == "missing").all()
    assert broken["error"].str.contains("out of memory").all()
    assert result.summary["methods"]["broken"] == {"n_samples_per_image": 1, "n_images_scored": 0, "n_missing": 3,
                                                   "n_missing_samples": 3}
    assert "never-ran" not in set(frame["method"])  # skipped methods are not scored
    sampler = frame[frame["method"] == "hue-sampler"]
    assert sorted(sampler["k"].unique()) == [0, 1, 2, 3]
    assert (sampler.loc[sampler["k"] == 3, "status"] == "missing").all()
    assert result.summary["methods"]["hue-sampler"] == {"n_samples_per_image": 4, "n_images_scored": 3,
                                                        "n_missing": 0, "n_missing_samples": 3}


def test_an_unreadable_output_or_truth_costs_that_image_only(tmp_path):
    """A damaged output PNG is a missing row with the fix; a damaged truth leaves that image out (excluded, with
    the reason). Everything else is still scored."""
    root = tmp_path / "run"
    run = make_run(root, fixture_path("sports"), n_images=4, include_gray_source=False)
    ids = [r["id"] for r in run.read_samples()]
    run.output_path("hue-shift", ids[1]).write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    run.truth_path(ids[2]).write_bytes(b"not a png at all")
    result = score_run(root, lpips_trunk="uncalibrated", fid=False, progress=False, batch_size=2)
    frame = result.frame
    assert ids[2] not in set(frame["id"])
    assert [e["id"] for e in result.summary["excluded"]] == [ids[2]]
    assert "truth image unreadable" in result.summary["excluded"][0]["reason"]
    assert result.summary["n_scorable"] == 3
    bad = frame[(frame["method"] == "hue-shift") & (frame["id"] == ids[1])].iloc[0]
    assert bad["status"] == "missing" and "output unreadable" in bad["error"] and "delete it and rerun" in bad["error"]
    ok = frame[frame["status"] == "ok"]
    assert len(ok) == 3 * 3 - 1  # 3 readable truths x 3 methods, minus the damaged output
    assert result.summary["methods"]["hue-shift"]["n_missing"] == 1


def test_an_interrupted_scoring_continues_where_it_stopped(tmp_path, monkeypatch):
    """Killed after its first batch, a rerun scores only the rest and gives exactly the uninterrupted result; an
    output changed since is scored again; other settings start over."""
    from colorbench.metrics import checkpoint
    from colorbench.metrics.scorer import BatchScorer

    root = tmp_path / "run"
    run = make_run(root, fixture_path("sports"), n_images=4, include_gray_source=False)
    options = dict(lpips_trunk="uncalibrated", fid=False, progress=False, batch_size=2)
    reference = score_run(root, **options).frame
    shutil.rmtree(root / checkpoint.FOLDER_NAME)  # the finished scoring's store (next test): an interrupted one here

    calls = []
    real_score = BatchScorer.score

    def dying_score(self, truth, index, preds):
        calls.append(list(truth.ids))
        if len(calls) > 3:  # the first batch of 2 truths x 3 methods is done; die in the second
            raise KeyboardInterrupt
        return real_score(self, truth, index, preds)

    monkeypatch.setattr(BatchScorer, "score", dying_score)
    with pytest.raises(KeyboardInterrupt):
        score_run(root, **options)
    assert list((root / checkpoint.FOLDER_NAME).glob("batch-*.json"))
    monkeypatch.setattr(BatchScorer, "score", lambda self, *a: calls.append(list(a[0].ids)) or real_score(self, *a))
    calls.clear()
    resumed = score_run(root, **options).frame
    first_batch = set(reference["id"].unique()[:2])
    assert calls and not first_batch & {i for ids in calls for i in ids}  # the first batch was reused
    pd.testing.assert_frame_equal(resumed, reference)
    shutil.rmtree(root / checkpoint.FOLDER_NAME)

    # an interruption again, then one output of the saved batch is remade: only its image is scored again
    monkeypatch.setattr(BatchScorer, "score", dying_score)
    calls.clear()
    with pytest.raises(KeyboardInterrupt):
        score_run(root, **options)
    changed_id = sorted(first_batch)[0]
    path = run.output_path("gray", changed_id)
    atomic.write_png(path, np.zeros_like(read_png_rgb(path)) + 128)
    monkeypatch.setattr(BatchScorer, "score", lambda self, *a: calls.append(list(a[0].ids)) or real_score(self, *a))
    calls.clear()
    again = score_run(root, **options).frame
    scored_again = {i for ids in calls for i in ids}
    assert changed_id in scored_again and not (first_batch - {changed_id}) & scored_again
    row = again[(again["method"] == "gray") & (again["id"] == changed_id)].iloc[0]
    assert row["psnr"] != reference[(reference["method"] == "gray") & (reference["id"] == changed_id)].iloc[0]["psnr"]


def test_an_interrupted_scoring_says_how_many_images_it_kept(tmp_path, monkeypatch, caplog):
    """The checkpoint keeps whole batches: interrupted in its first batch (every image of a small run, as the demo's
    8 with the default batch of 32), nothing is kept, and the message must say 0, not "the images scored so far are
    kept" (what `colorbench score` said, seen on a new user's Ctrl-C)."""
    from colorbench.metrics.scorer import BatchScorer

    root = tmp_path / "run"
    make_run(root, fixture_path("sports"), n_images=4, include_gray_source=False)
    options = dict(lpips_trunk="uncalibrated", fid=False, progress=False, batch_size=2)
    real_score, calls = BatchScorer.score, []

    def dying_score(self, truth, index, preds):
        calls.append(1)
        if len(calls) > die_after:
            raise KeyboardInterrupt
        return real_score(self, truth, index, preds)

    monkeypatch.setattr(BatchScorer, "score", dying_score)
    for die_after, kept in ((1, 0), (3, 2)):  # in the first batch (3 methods a batch); in the second
        calls.clear()
        caplog.clear()
        with caplog.at_level("WARNING", logger="colorbench"), pytest.raises(KeyboardInterrupt):
            score_run(root, **options)
        assert f"scoring interrupted: {kept} of 4 images kept in {root / '.scoring-checkpoint'}" in caplog.text
        assert f"scores the other {4 - kept}" in caplog.text


def test_a_finished_scoring_is_not_redone_only_what_changed_is_scored(tmp_path, monkeypatch):
    """A rerun of a finished scoring (``colorbench demo`` or a notebook run again) reads the rows it kept and scores
    nothing, with the same metrics.csv; a remade output is scored again, alone; a method added to the run is scored
    alone and gives what a scoring from scratch gives; a missing output's row says what the runner recorded since;
    another LPIPS trunk scores everything; the store is one batch after each scoring."""
    from colorbench.metrics import checkpoint
    from colorbench.metrics.scorer import BatchScorer

    root = tmp_path / "run"
    run = make_run(root, fixture_path("sports"), n_images=4, include_gray_source=False)
    ids = [r["id"] for r in run.read_samples()]
    run.output_path("hue-shift", ids[3]).unlink()
    options = dict(lpips_trunk="uncalibrated", fid=False, progress=False, batch_size=2)
    first = score_run(root, **options)
    batches = lambda: sorted(p.name for p in (root / checkpoint.FOLDER_NAME).glob("batch-*.json"))  # noqa: E731
    assert len(batches()) == 1 and first.summary["n_reused"] == 0

    calls = []  # per call of the scorer, the images it scored (one method's outputs against their truths)
    real_score = BatchScorer.score
    monkeypatch.setattr(BatchScorer, "score",
                        lambda self, truth, index, preds: calls.append([truth.ids[i] for i in index])
                        or real_score(self, truth, index, preds))
    atomic.write_csv(run.failures_csv, [{"method": "hue-shift", "id": ids[3], "k": 0, "error": "CUDA out of memory"}],
                     FAILURE_COLUMNS)
    again = score_run(root, **options)
    assert calls == [] and again.summary["n_reused"] == 4 and len(batches()) == 1
    missing = again.frame[(again.frame["method"] == "hue-shift") & (again.frame["id"] == ids[3])].iloc[0]
    assert missing["status"] == "missing" and missing["error"] == "CUDA out of memory"
    pd.testing.assert_frame_equal(again.frame.drop(columns="error"), first.frame.drop(columns="error"))

    path = run.output_path("gray", ids[1])
    atomic.write_png(path, np.zeros_like(read_png_rgb(path)) + 128)
    remade = score_run(root, **options)
    assert calls == [[ids[1]]] and remade.summary["n_reused"] == 3 and len(batches()) == 1  # gray of ids[1] only
    row = remade.frame[(remade.frame["method"] == "gray") & (remade.frame["id"] == ids[1])].iloc[0]
    assert row["psnr"] != first.frame[(first.frame["method"] == "gray") & (first.frame["id"] == ids[1])].iloc[0]["psnr"]

    shutil.copytree(root / "images" / "hue-shift", root / "images" / "hue-copy")  # a method added to the run
    calls.clear()
    grown = score_run(root, **options)
    assert sorted(i for c in calls for i in c) == sorted(ids[:3])  # the new method's 3 outputs, nothing else
    assert grown.summary["n_reused"] == 0 and len(batches()) == 1
    shutil.rmtree(root / checkpoint.FOLDER_NAME)
    pd.testing.assert_frame_equal(grown.frame, score_run(root, **options).frame)  # = a scoring from scratch

    calls.clear()
    other = score_run(root, **{**options, "lpips_net": "vgg"})
    assert other.summary["n_reused"] == 0 and len(calls) == 8  # 3 methods with 2 batches each, hue-copy's 2


def test_a_checkpoint_made_with_other_settings_is_not_reused(tmp_path):
    from colorbench.metrics.checkpoint import ScoringCheckpoint

    root = tmp_path / "run"
    run = make_run(root, fixture_path("sports"), n_images=2, include_gray_source=False)
    ckpt = ScoringCheckpoint(run, {"lpips": "A"})
    rows = [{"id": "x", "method": "gray", "k": 0}, {"id": "x", "method": "tint", "k": 0}]
    ckpt.add({"x": ["gray", "tint"]}, rows, lambda i, m: [("f", 1, 1)], {}, {})
    reusable = ScoringCheckpoint.open(run, {"lpips": "A"}).reusable
    assert reusable(lambda i, m: [("f", 1, 1)], ["gray", "tint"]) == {"x": {"gray", "tint"}}
    changed = lambda i, m: [("f", 1, 2 if m == "tint" else 1)]  # noqa: E731 - tint's file changed
    assert reusable(changed, ["gray", "tint"]) == {"x": {"gray"}}
    assert reusable(lambda i, m: [("f", 1, 2)], ["gray"]) == {}
    later = ScoringCheckpoint.open(run, {"lpips": "A"})  # a later batch of the same (image, method) replaces it
    later.add({"x": ["gray"]}, [{"id": "x", "method": "gray", "k": 0, "psnr": 30.0}], lambda i, m: [("f", 1, 2)],
              {}, {})
    reopened = ScoringCheckpoint.open(run, {"lpips": "A"})
    assert reopened.records["x"]["gray"][0]["psnr"] == 30.0 and reopened.records["x"]["tint"] == [rows[1]]
    (root / ".scoring-checkpoint" / "batch-000001.json").write_text("{damaged")  # that batch is scored again
    reopened = ScoringCheckpoint.open(run, {"lpips": "A"})
    assert reopened.reusable(lambda i, m: [("f", 1, 1)], ["gray"]) == {"x": {"gray"}} and reopened.n_batches == 2
    assert ScoringCheckpoint.open(run, {"lpips": "B"}).records == {}
    assert not (root / ".scoring-checkpoint").exists()  # made with other settings: deleted, never mixed
