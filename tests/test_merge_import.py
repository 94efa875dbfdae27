"""``colorbench merge`` (one comparison from runs made elsewhere) and ``colorbench import`` (outputs of other tools)."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from PIL import Image
from test_sharded import images_of, tiny_dataset

from colorbench.cli import main
from colorbench.color import merge_luminance
from colorbench.config import RunConfig
from colorbench.data.images import read_gray, read_png_rgb
from colorbench.distributed import Shard
from colorbench.external import ImportRefused, import_outputs
from colorbench.merge import MergeRefused, merge_runs
from colorbench.metrics import score_run
from colorbench.report.aggregate import PSNR_CAP_DB, per_image
from colorbench.run import run
from colorbench.runfolder import RunFolder, read_csv

SCORE = dict(lpips_trunk="uncalibrated", fid=False, progress=False, batch_size=4, shard=Shard())


@pytest.fixture
def tint(add_method, monkeypatch):
    add_method("tint", "test_run:TintMethod")


def _run(tmp_path, name, methods, data, **options):
    cfg = RunConfig(run=name, dataset=str(data), methods=methods, batch_size=2, results_dir=str(tmp_path / "results"),
                    **options)
    return run(cfg, progress=False, shard=Shard()).path


# ------------------------------------------------------------------------------------------------ merge
def test_a_merge_of_two_half_runs_equals_the_full_run(tmp_path, tint):
    data = tiny_dataset(tmp_path / "data")
    full = _run(tmp_path, "full", ["gray", "tint"], data)
    half_a = _run(tmp_path, "a", ["gray"], data)
    half_b = _run(tmp_path, "b", ["tint"], data)
    merged = merge_runs(tmp_path / "results" / "merged", [half_a, half_b])
    assert images_of(merged) == images_of(full)
    assert sorted(p.relative_to(merged) for p in merged.rglob("raw/*/*.png")) == \
        sorted(p.relative_to(full) for p in full.rglob("raw/*/*.png"))
    timings = read_csv(RunFolder(merged).timings_csv)
    assert {m: sum(int(r["n_images"]) for r in timings if r["method"] == m) for m in ("gray", "tint")} == \
        {"gray": 6, "tint": 6}
    record = RunFolder(merged).read_run_json()
    assert record["methods"] == ["gray", "tint"]
    assert record["method_status"]["tint"]["origin"] == [str(half_b.resolve())]
    assert [m["methods"] for m in record["merged_from"]] == [["gray"], ["tint"]]
    assert record["merged_from"][1]["run_json"]["run"] == "b" and record["merged_from"][1]["device"]["device"] == "cpu"
    from colorbench.merge import method_origins

    origins = method_origins(merged).set_index("method")
    assert origins.loc["tint", "origin"] == "merged" and origins.loc["tint", "from"] == str(half_b.resolve())
    score_run(full, **SCORE)
    score_run(merged, **SCORE)
    assert (merged / "metrics.csv").read_text() == (full / "metrics.csv").read_text()

    # halves by images (say, two machines each ran half of them): the union is the full run
    first, second = tmp_path / "first", tmp_path / "second"
    for copy, keep in ((first, slice(0, 3)), (second, slice(3, 6))):
        shutil.copytree(full, copy)
        (copy / "metrics.csv").unlink()
        pngs = sorted((copy / "images" / "tint").glob("*.png"))
        for png in pngs[:keep.start] + pngs[keep.stop:]:
            png.unlink()
    by_images = merge_runs(tmp_path / "by-images", [first, second])
    assert images_of(by_images) == images_of(full)
    assert RunFolder(by_images).read_run_json()["method_status"]["tint"]["origin"] == [str(first), str(second)]


def test_merge_refuses_runs_on_other_inputs(tmp_path, tint):
    data = tiny_dataset(tmp_path / "data")
    a = _run(tmp_path, "a", ["gray"], data)
    fewer = _run(tmp_path, "fewer", ["tint"], data, limit=4)
    with pytest.raises(MergeRefused, match=r"not run on the same inputs: 2 images only in .*a \(e\.g\. "):
        merge_runs(tmp_path / "out", [a, fewer])
    # the same ids, but one gray input differs (another gray conversion, another resize): the content hash sees it
    b = tmp_path / "b"
    shutil.copytree(a, b)
    gray = RunFolder(b).gray_path("class0_im0")
    Image.fromarray(np.asarray(Image.open(gray)) // 2).save(gray)
    with pytest.raises(MergeRefused, match=r"1 image whose gray input, truth, label or split differ "
                                           r"\(e\.g\. class0_im0"):
        merge_runs(tmp_path / "out", [a, b])
    assert not (tmp_path / "out").exists()  # refused before writing anything


def test_merge_refuses_one_method_with_other_settings_and_smoke_with_real(tmp_path, tint):
    data = tiny_dataset(tmp_path / "data")
    seed0 = _run(tmp_path, "seed0", ["tint"], data)
    seed1 = _run(tmp_path, "seed1", ["tint"], data, seed=1)
    with pytest.raises(MergeRefused, match=r"tint was made with other settings in .*seed0 \(\{'options': \{\}, "
                                           r"'seed': 0\}\) than in .*seed1 \(\{'options': \{\}, 'seed': 1\}\)"):
        merge_runs(tmp_path / "out", [seed0, seed1])
    smoke = _run(tmp_path, "smoke", ["gray"], data, smoke=True)
    with pytest.raises(MergeRefused, match=r"smoke runs .* and real runs cannot be one comparison: .*seed0 \(real\), "
                                           r".*smoke \(smoke\)"):
        merge_runs(tmp_path / "out", [seed0, smoke])


def test_merge_cli_says_what_to_do(tmp_path, tint, capsys):
    data = tiny_dataset(tmp_path / "data")
    a, b = _run(tmp_path, "a", ["gray"], data), _run(tmp_path, "b", ["tint"], data)
    assert main(["merge", str(tmp_path / "m"), str(a), str(b)]) == 0
    assert "colorbench score" in capsys.readouterr().out
    assert main(["merge", str(tmp_path / "m"), str(a), str(b)]) == 2  # OUT exists now
    assert "already holds a run: merge into a new folder" in capsys.readouterr().err


# ------------------------------------------------------------------------------------------------ import
@pytest.fixture
def gray_run(tmp_path):
    return _run(tmp_path, "base", ["gray"], tiny_dataset(tmp_path / "data"))


def test_import_reports_every_file_and_scores_the_rest(tmp_path, gray_run):
    folder = RunFolder(gray_run)
    ids = [r["id"] for r in folder.read_samples()]
    out = tmp_path / "ddcolor-external"
    out.mkdir()
    for i, sample_id in enumerate(ids[:4]):  # other size and aspect, PNG and JPEG
        truth = Image.fromarray(read_png_rgb(folder.truth_path(sample_id)))
        resized = truth.resize((50, 30))
        resized.save(out / f"{sample_id}.{'png' if i % 2 else 'jpg'}", quality=95)
    (out / f"{ids[4]}x.png").write_bytes((out / f"{ids[0]}.jpg").read_bytes())  # misnamed
    (out / "zebra.png").write_bytes((out / f"{ids[1]}.png").read_bytes())  # extra
    jpeg = (out / f"{ids[0]}.jpg").read_bytes()
    (out / f"{ids[5]}.jpg").write_bytes(jpeg[: len(jpeg) // 2])  # unreadable: a truncated copy
    (out / "log.txt").write_text("made with DDColor's own code")

    report = import_outputs(gray_run, "ddcolor-external", [out], note="DDColor tiny")
    assert report.written == 4
    assert report.missing == [ids[4]]
    assert any(u.endswith(f"{ids[4]}x.png (did you mean '{ids[4]}'?)") for u in report.unmatched)
    assert any("zebra.png" in u for u in report.unmatched)
    assert len(report.unreadable) == 1 and f"{ids[5]}.jpg" in report.unreadable[0]
    assert report.not_images == [str(out / "log.txt")]
    assert report.other_aspect == 4
    text = report.text()
    for needle in ("1 missing", "2 unmatched", "1 unreadable", "1 not image", "another aspect ratio"):
        assert needle in text
    merged = read_png_rgb(folder.output_path("ddcolor-external", ids[0]))
    assert merged.shape == read_png_rgb(folder.truth_path(ids[0])).shape
    assert read_png_rgb(folder.raw_path("ddcolor-external", ids[0])).shape == (30, 50, 3)  # the file as imported, kept

    record = folder.read_run_json()["method_status"]["ddcolor-external"]
    assert record["status"] == "partial" and record["imported"]["note"] == "DDColor tiny"
    assert set(record["imported"]["from"][0]["files_sha256"]) == set(ids[:4])
    frame = score_run(gray_run, **SCORE).frame
    rows = frame[frame["method"] == "ddcolor-external"].set_index("id")
    assert (rows.loc[ids[:4], "status"] == "ok").all()
    assert rows.loc[ids[4], "error"].startswith("imported: no file for this image")
    assert "cannot decode" in rows.loc[ids[5], "error"]


def test_import_by_original_file_name_reports_ambiguous_names(tmp_path):
    data = tmp_path / "data"
    rng = np.random.default_rng(0)
    for cls in ("a", "b"):
        (data / cls).mkdir(parents=True)
        for name in ("1", f"only-{cls}"):
            Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(data / cls / f"{name}.png")
    base = _run(tmp_path, "base", ["gray"], data)
    out = tmp_path / "outs"
    out.mkdir()
    for name in ("1", "only-a", "only-b"):
        Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(out / f"{name}.jpg")
    report = import_outputs(base, "other", [out], match="filename")
    assert report.written == 2 and sorted(report.missing) == ["a_1", "b_1"]
    assert "names 2 images of the run" in report.ambiguous[0] and "use --match id" in report.ambiguous[0]


def test_imported_copies_of_the_truth_score_ideally_without_l_merge_and_as_the_oracle_with_it(tmp_path, gray_run):
    folder = RunFolder(gray_run)
    ids = [r["id"] for r in folder.read_samples()]
    copies = tmp_path / "copies"
    copies.mkdir()
    for sample_id in ids:
        shutil.copy(folder.truth_path(sample_id), copies / f"{sample_id}.png")
    import_outputs(gray_run, "truth-as-is", [copies], l_merge=False)
    import_outputs(gray_run, "truth-merged", [copies])
    frame = score_run(gray_run, **SCORE).frame
    as_is = frame[frame["method"] == "truth-as-is"]
    assert (as_is["lpips"] == 0).all() and np.isposinf(as_is["psnr"]).all() and (as_is["ssim"] == 1).all()
    assert (as_is["delta_e2000"] == 0).all()
    capped = per_image(frame).reset_index()
    assert (capped.loc[capped["method"] == "truth-as-is", "psnr"] == PSNR_CAP_DB).all()  # as results/README says
    # L-merged (the protocol): the truth's colours on the input's L, exactly what the protocol makes of them
    for sample_id in ids:
        oracle = merge_luminance(read_gray(folder.gray_path(sample_id)), read_png_rgb(folder.truth_path(sample_id)))
        assert np.array_equal(read_png_rgb(folder.output_path("truth-merged", sample_id)), oracle)
    means = frame.groupby("method")[["lpips", "delta_e2000"]].mean()
    assert means.loc["truth-merged", "lpips"] < means.loc["gray", "lpips"]
    assert means.loc["truth-merged", "delta_e2000"] < means.loc["gray", "delta_e2000"]

    from colorbench.report import ReportOptions, build_report

    html = build_report(gray_run, ReportOptions(n_boot=50, grid_images=0)).read_text(encoding="utf-8")
    assert f"imported from {copies.resolve()}; NOT L-merged" in html  # the report marks imported methods
    cost = html[html.index('id="table-cost"'):]
    cost = cost[:cost.index("</section>") if "</section>" in cost else None]
    # imported methods have no timings: the cost table said nothing of them, as if they were forgotten
    assert "Not in this table: truth-as-is, truth-merged — no timings (outputs imported" in cost


def test_import_refusals_name_the_fix(tmp_path, gray_run):
    with pytest.raises(ImportRefused, match="one of colorbench's own methods; .* gray-external"):
        import_outputs(gray_run, "gray", [tmp_path])
    with pytest.raises(ImportRefused, match="no such folder"):
        import_outputs(gray_run, "x", [tmp_path / "nope"])
    with pytest.raises(ImportRefused, match="not a run folder"):
        import_outputs(tmp_path, "x", [tmp_path])
    copies = tmp_path / "c"
    copies.mkdir()
    shutil.copy(RunFolder(gray_run).truth_path("class0_im0"), copies / "class0_im0.png")
    import_outputs(gray_run, "x", [copies])
    with pytest.raises(ImportRefused, match="already holds outputs of x: import under another --method name"):
        import_outputs(gray_run, "x", [copies])


def test_import_cli_prints_the_report(tmp_path, gray_run, capsys):
    copies = tmp_path / "c"
    copies.mkdir()
    shutil.copy(RunFolder(gray_run).truth_path("class0_im0"), copies / "class0_im0.png")
    assert main(["import", str(gray_run), "--method", "x", "--from", str(copies), "--note", "n"]) == 0
    out = capsys.readouterr().out
    assert "imported 1 output as x" in out and "5 missing" in out
    assert f"next: colorbench score {gray_run} && colorbench report {gray_run}" in out  # it printed no next step
    assert json.loads(RunFolder(gray_run).run_json.read_text())["method_status"]["x"]["imported"]["note"] == "n"


def test_several_folders_are_the_samples_of_a_stochastic_import(tmp_path, gray_run):
    folder = RunFolder(gray_run)
    ids = [r["id"] for r in folder.read_samples()]
    sources = []
    for k in range(2):
        source = tmp_path / f"sample{k}"
        source.mkdir()
        for sample_id in ids[: 6 - k]:  # the second folder lacks one image
            truth = read_png_rgb(folder.truth_path(sample_id))
            Image.fromarray((truth // (k + 1)).astype(np.uint8)).save(source / f"{sample_id}.png")
        sources.append(source)
    report = import_outputs(gray_run, "sampler", sources)
    assert report.written == 11 and report.missing == [f"{ids[5]}__k1"]
    assert folder.output_path("sampler", ids[0], 1).exists()
    frame = score_run(gray_run, **SCORE).frame
    rows = frame[frame["method"] == "sampler"]
    assert sorted(rows["k"].unique()) == [0, 1] and (rows["status"] == "missing").sum() == 1
