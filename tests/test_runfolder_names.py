"""A run given by name lives under $COLORBENCH_RESULTS; anything else is a path — one rule for finding a run
(resolve_run) and for placing a new one (new_run_path, used by `colorbench merge OUT`)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from colorbench.runfolder import new_run_path, resolve_run


def test_a_bare_name_goes_under_the_results_folder_and_a_path_stays_a_path(tmp_path, monkeypatch):
    results = Path(os.environ["COLORBENCH_RESULTS"])
    assert new_run_path("merged") == results / "merged"
    monkeypatch.chdir(tmp_path)
    for given in ("./merged", "runs/merged", str(tmp_path / "merged")):
        assert new_run_path(given) == tmp_path / given  # a relative path resolves against the working folder
    monkeypatch.setenv("HOME", str(tmp_path))
    assert new_run_path("~/merged") == tmp_path / "merged"


def test_resolve_run_prefers_the_named_run_over_a_folder_of_the_same_name_here(tmp_path, monkeypatch):
    results = Path(os.environ["COLORBENCH_RESULTS"])
    (results / "demo").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "demo").mkdir()
    assert resolve_run("demo") == results / "demo"
    assert resolve_run("./demo") == tmp_path / "demo"  # absolute: a server or subprocess must find the same folder
    with pytest.raises(FileNotFoundError, match="colorbench run --run NAME"):
        resolve_run("absent")


def test_a_missing_run_names_each_place_it_looked_once(tmp_path, monkeypatch):
    results = Path(os.environ["COLORBENCH_RESULTS"])
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError) as named:
        resolve_run("absent")
    assert f"looked at {tmp_path / 'absent'} and {results / 'absent'})" in str(named.value)
    with pytest.raises(FileNotFoundError) as absolute:  # an absolute path is the same place both ways: said once
        resolve_run(str(tmp_path / "gone"))
    assert f"(looked at {tmp_path / 'gone'}); " in str(absolute.value)


def test_a_missing_run_lists_the_runs_there_and_where_names_are_looked_up(tmp_path, monkeypatch):
    """A run made in the checkout, its name typed in another folder: the error named only the two places it looked
    and said to create the run; it now lists the runs that are there and how names are found."""
    from colorbench.runfolder import RunFolder

    results = tmp_path / "elsewhere" / "results"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLORBENCH_RESULTS", str(results))
    with pytest.raises(FileNotFoundError) as nothing_there:
        resolve_run("quick")
    assert f"no runs in {results} (a run name is looked up in $COLORBENCH_RESULTS, else in results/" in str(
        nothing_there.value)
    for name in ("q2", "demo"):
        (results / name).mkdir(parents=True)
        RunFolder(results / name).run_json.write_text("{}")
    (results / "not-a-run").mkdir()  # a folder without run.json is not offered as a run
    with pytest.raises(FileNotFoundError) as two_there:
        resolve_run("quick")
    assert f"; runs in {results}: demo, q2 (a run name" in str(two_there.value)
