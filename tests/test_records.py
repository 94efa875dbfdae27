"""run.json and metrics.json through their records: round trip, files written before the schema version, damaged and
newer files refused with the file named and the fix."""

from __future__ import annotations

import json

import pytest

from colorbench.config import RunConfig
from colorbench.merge import merge_runs
from colorbench.records import (
    RUN_SCHEMA_VERSION,
    SCHEMA_KEY,
    MethodStatus,
    RecordError,
    RunRecord,
    ScoreSummary,
)
from colorbench.run import run
from colorbench.runfolder import RunFolder

# run.json as run.py wrote it before it carried a schema version (a real finished gray run, trimmed lists)
OLD_RUN_JSON = {
    "run": "old", "status": "finished",
    "config": {"run": "old", "methods": ["gray"], "seed": 0, "smoke": False, "gamut": "clip"},
    "dataset": {"name": "samples", "root": "/data/samples", "split": "test", "n": 2, "classes": 2,
                "has_splits": False},
    "methods": ["gray", "coltran"],
    "method_status": {
        "gray": {"status": "done", "reason": "", "written": 2, "reused": 0, "failed": 0, "samples_per_image": 1,
                 "config": {}, "made_with": {"options": {}}},
        "coltran": {"status": "skipped", "reason": "weights 'coltran-release' are not available"},
    },
    "seed": 0, "smoke": False, "versions": {"colorbench": "0.4.0", "torch": "2.4.0"}, "git_sha": None,
    "device": {"device": "cpu", "platform": "Linux", "threads": "2"},
    "launch": {"world_size": 1, "devices": [{"device": "cpu"}]},
    "started": "2026-01-01T00:00:00+00:00", "resumed": False, "updated": "2026-01-01T00:01:00+00:00",
    "finished": "2026-01-01T00:01:00+00:00",
}

OLD_METRICS_JSON = {
    "scored_at": "2026-01-01T00:02:00+00:00", "run": "results/old", "n_samples": 2, "n_scorable": 2, "excluded": [],
    "resolution": ["64x48"],
    "methods": {"gray": {"n_samples_per_image": 1, "n_images_scored": 2, "n_missing": 0, "n_missing_samples": 0}},
    "lpips": {"available": True, "net": "alex", "version": "0.1", "trunk": "imagenet", "calibrated": True,
              "label": "LPIPS (alex, v0.1)", "trunk_weights": {"sha256": "ab", "file": "/m/alexnet.pth"}},
    "fid": {"available": False, "reason": "offline", "message": "weights 'fid-inception-v3' are not available: ...",
            "protocol": "pytorch-fid"},
    "device": "cpu", "batch_size": 32, "seconds": 1.5, "versions": {"torch": "2.4.0"}, "conventions": {},
}


def _write(path, data) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data) if not isinstance(data, str) else data, encoding="utf-8")


def test_a_run_record_survives_write_and_read(tmp_path):
    record = RunRecord(
        run="r", status="finished", config={"seed": 3}, dataset={"name": "d", "root": "/d"}, methods=["gray", "x"],
        method_status={"gray": MethodStatus(status="done", written=2, reused=1, failed=0, samples_per_image=1,
                                            made_with={"options": {"a": 1}}, extra={"new_key": [1, 2]}),
                       "x": MethodStatus(status="partial", imported={"from": [], "note": "n"}, origin=["/a"])},
        seed=3, smoke=True, versions={"colorbench": "1"}, git_sha="abc", device="cpu", launch={"world_size": 2},
        started="s", updated="u", finished="f", resumed=True, merged_from=[{"path": "/a"}],
        extra={"a_later_key": {"kept": True}})
    path = tmp_path / "run.json"
    record.write(path)
    assert json.loads(path.read_text())[SCHEMA_KEY] == RUN_SCHEMA_VERSION
    back = RunRecord.read(path)
    assert back == record
    assert back.method_status["gray"].ran and back.method_status["x"].ran and back.is_smoke


def test_a_score_summary_survives_write_and_read(tmp_path):
    summary = ScoreSummary.from_dict(OLD_METRICS_JSON)
    summary.write(tmp_path / "metrics.json")
    back = ScoreSummary.read(tmp_path / "metrics.json")
    assert back == summary and back.to_dict() == OLD_METRICS_JSON  # every key kept, nested ones included
    assert back.lpips.net == "alex" and back.lpips.extra["trunk_weights"]["sha256"] == "ab"
    assert back.fid.available is False and back.fid.why_unavailable.startswith("weights 'fid-inception-v3'")


def test_files_without_a_schema_version_are_read_as_version_1(tmp_path):
    _write(tmp_path / "run.json", OLD_RUN_JSON)
    record = RunFolder(tmp_path).run_record()
    assert record.methods == ["gray", "coltran"] and record.dataset_root == "/data/samples"
    assert record.method_status["gray"].made_with == {"options": {}} and record.method_status["gray"].written == 2
    assert record.status_of("coltran").status == "skipped" and not record.status_of("coltran").ran
    assert record.status_of("never-ran") == MethodStatus()
    # nothing lost or renamed (version 1 is today's format); null means "not recorded" and is not written back
    assert record.to_dict() == {key: value for key, value in OLD_RUN_JSON.items() if value is not None}
    _write(tmp_path / "metrics.json", OLD_METRICS_JSON)
    assert RunFolder(tmp_path).score_summary().lpips.label == "LPIPS (alex, v0.1)"


def test_a_run_folder_from_before_the_schema_version_resumes_and_keeps_its_status(tmp_path, monkeypatch):
    """The runner resumes a folder whose run.json has no schema_version: its images are reused, what it said about
    them is kept, and the file it writes back carries the version."""
    cfg = RunConfig(run="old", methods=["gray"], limit=2, results_dir=str(tmp_path))
    folder = RunFolder(run(cfg, progress=False).path)
    record = json.loads(folder.run_json.read_text())
    del record[SCHEMA_KEY]
    record["method_status"]["earlier"] = {"status": "done", "written": 2, "made_with": {"options": {"k": 1}}}
    folder.run_json.write_text(json.dumps(record))
    outcome = run(cfg, progress=False).methods[0]
    assert outcome.reused == 2 and outcome.written == 0
    again = json.loads(folder.run_json.read_text())
    assert again[SCHEMA_KEY] == RUN_SCHEMA_VERSION and again["resumed"] is True
    assert again["method_status"]["earlier"] == {"status": "done", "written": 2, "made_with": {"options": {"k": 1}}}


@pytest.mark.parametrize("content, says", [
    ('{"run": "j", "status": ', "is not valid JSON"),
    ('["gray"]', "holds list, not a run.json object"),
    ('{"run": "j"}', "has no methods"),
    ('{"methods": "gray"}', "methods should be a list, not \"gray\""),
    ('{"methods": ["gray", 3]}', "methods should be a list of strings, not 3"),
    ('{"methods": [], "smoke": "no"}', "smoke should be true/false"),
    ('{"methods": ["gray"], "method_status": {"gray": {"written": "2"}}}', "method_status.gray.written should be an "
                                                                           "integer"),
    ('{"methods": ["gray"], "method_status": {"gray": "done"}}', "method_status.gray should be an object"),
    ('{"schema_version": "1", "methods": []}', "schema_version should be a whole number"),
])
def test_a_damaged_run_json_is_named_with_the_fix(tmp_path, content, says):
    _write(tmp_path / "run.json", content)
    with pytest.raises(RecordError) as caught:
        RunFolder(tmp_path).run_record()
    message = str(caught.value)
    assert str(tmp_path / "run.json") in message and says in message
    assert "move it aside and run `colorbench run` on the same folder again" in message


@pytest.mark.parametrize("content, says", [
    ("{not json", "is not valid JSON"),
    ('{"methods": {}, "lpips": {}}', "has no fid"),
    ('{"methods": {}, "lpips": {"available": "yes"}, "fid": {}}', "lpips.available should be true/false"),
    ('{"methods": {}, "lpips": {}, "fid": {}, "n_scorable": 2.5}', "n_scorable should be an integer"),
])
def test_a_damaged_metrics_json_is_named_with_the_fix(tmp_path, content, says):
    _write(tmp_path / "metrics.json", content)
    with pytest.raises(RecordError) as caught:
        RunFolder(tmp_path).score_summary()
    message = str(caught.value)
    assert str(tmp_path / "metrics.json") in message and says in message
    assert "`colorbench score RUN`" in message


def test_a_newer_schema_version_is_refused_and_left_untouched(tmp_path):
    """A run.json of a newer colorbench: every reader refuses it with the upgrade, and the runner does not write
    over it (it would drop what this version does not know)."""
    cfg = RunConfig(run="new", methods=["gray"], limit=2, results_dir=str(tmp_path))
    folder = RunFolder(run(cfg, progress=False).path)
    newer = {**json.loads(folder.run_json.read_text()), SCHEMA_KEY: RUN_SCHEMA_VERSION + 1}
    folder.run_json.write_text(json.dumps(newer))
    for read in (folder.run_record, folder.methods, lambda: run(cfg, progress=False)):
        with pytest.raises(RecordError, match=rf"{folder.run_json} was written by a newer colorbench \(run.json "
                                              rf"schema version {RUN_SCHEMA_VERSION + 1}.*upgrade colorbench"):
            read()
    assert json.loads(folder.run_json.read_text()) == newer
    _write(tmp_path / "metrics.json", {**OLD_METRICS_JSON, SCHEMA_KEY: 2})
    with pytest.raises(RecordError, match="newer colorbench.*metrics.json schema version 2"):
        RunFolder(tmp_path).score_summary()


def test_merge_refuses_a_damaged_source_before_writing_anything(tmp_path):
    cfg = RunConfig(run="a", methods=["gray"], limit=2, results_dir=str(tmp_path))
    good = run(cfg, progress=False).path
    bad = run(RunConfig(run="b", methods=["gray"], limit=2, results_dir=str(tmp_path)), progress=False).path
    (bad / "run.json").write_text('{"methods": ["gray"], "seed": "zero"}')
    with pytest.raises(RecordError, match=rf"{bad / 'run.json'}: seed should be an integer"):
        merge_runs(tmp_path / "merged", [good, bad])
    assert not (tmp_path / "merged" / "run.json").exists()


def test_report_functions_take_a_record_or_its_dict():
    """Report helpers called from notebooks with a plain run.json dict read it through the same record."""
    from colorbench.report.verdict import not_run_methods

    as_dict = {"methods": ["gray", "coltran"], "method_status": {"coltran": {"status": "skipped", "reason": "r"}}}
    expected = not_run_methods(RunRecord.from_dict(as_dict), ["gray"])
    assert [(n.method, n.status, n.reason) for n in expected] == [("coltran", "skipped", "r")]
    assert not_run_methods(as_dict, ["gray"]) == expected
    with pytest.raises(RecordError, match="method_status.coltran.reason should be a string"):
        not_run_methods({"method_status": {"coltran": {"status": "skipped", "reason": 3}}}, [])
