"""Families as data: every registered method declares one, run.json records it, imports take --family."""

from __future__ import annotations

import json
import shutil

import pytest
from test_merge_import import gray_run  # noqa: F401  (fixture)

from colorbench.cli import main
from colorbench.external import ImportRefused, import_outputs
from colorbench.methods import Method, method_class, method_names
from colorbench.methods.families import FAMILIES
from colorbench.records import RunRecord
from colorbench.runfolder import RunFolder

EXPECTED = {"gray": "floor", "cnn-original": "cnn", "cnn-lpips": "cnn", "cnn-mse": "cnn", "eccv16": "cnn",
            "siggraph17": "cnn", "coltran": "transformer", "controlnet-canny": "diffusion",
            "controlnet-canny-img2img": "diffusion"}


def _family(name: str) -> str | None:
    try:
        cls = method_class(name)
    except ImportError as exc:
        pytest.skip(f"{name} cannot be imported here ({exc}); install its extra to check its family")
    return getattr(cls, "family", None)


def test_every_registered_method_declares_a_known_family():
    unset = {name: _family(name) for name in method_names() if _family(name) not in FAMILIES}
    assert not unset, f"methods without a family of {FAMILIES}: {unset} (set `family = ...` on the class)"


def test_the_families_of_colorbenchs_own_methods():
    assert {name: _family(name) for name in EXPECTED} == EXPECTED


def test_a_misspelt_family_fails_when_the_class_is_made():
    with pytest.raises(ValueError, match="family 'CNN' is not one of floor, cnn, transformer, diffusion"):
        type("Typo", (Method,), {"name": "typo", "family": "CNN"})


def test_run_json_records_each_methods_family_and_old_files_stay_readable(gray_run):  # noqa: F811
    record = RunRecord.read(RunFolder(gray_run).run_json)
    assert record.method_status["gray"].family == "floor"
    data = json.loads(RunFolder(gray_run).run_json.read_text())
    del data["method_status"]["gray"]["family"]  # a run.json from before families were recorded
    assert RunRecord.from_dict(data).method_status["gray"].family is None


def test_an_import_takes_a_checked_family(tmp_path, gray_run):  # noqa: F811
    copies = tmp_path / "c"
    copies.mkdir()
    shutil.copy(RunFolder(gray_run).truth_path("class0_im0"), copies / "class0_im0.png")
    with pytest.raises(ImportRefused, match="family 'gan' is not one of floor, cnn, transformer, diffusion"):
        import_outputs(gray_run, "x", [copies], family="gan")
    import_outputs(gray_run, "x", [copies])
    assert RunRecord.read(RunFolder(gray_run).run_json).method_status["x"].family is None  # absent: unknown
    assert main(["import", str(gray_run), "--method", "y", "--from", str(copies), "--family", "transformer"]) == 0
    assert RunRecord.read(RunFolder(gray_run).run_json).method_status["y"].family == "transformer"


def test_colorbench_methods_shows_the_family(capsys):
    assert main(["methods"]) == 0
    rows = {line.split()[0]: line.split()[1] for line in capsys.readouterr().out.splitlines()
            if line.startswith("  ") and not line.startswith("      ")}
    assert rows["gray"] == "floor" and rows["coltran"] == "transformer" and rows["eccv16"] == "cnn"
