"""tools/mutation.py's accounting: --only runs recorded as one module's 'unchecked' phase are merged, not
overwritten, and a mutant is never counted twice (no mutmut run here: the results are written by hand)."""

import json

import pytest
from conftest import load_script

PREFIX = "colorbench.methods.coltran.sampler."


@pytest.fixture
def tool(tmp_path, monkeypatch):
    module = load_script("tools/mutation.py")
    monkeypatch.setattr(module, "REPORT", tmp_path / "mutation.json")
    return module


def _run(tool, function, numbers, survivors, *, stopped=False):
    names = [f"{PREFIX}{function}__mutmut_{n}" for n in numbers]
    result = {"only": [f"*{function}__mutmut_*"], "seconds": 60, "counts": {"killed": len(names) - len(survivors),
              "survived": len(survivors)}, "survivors": [names[i] for i in survivors], "no_tests": [],
              "children": 1, "load_average_5min": [1.0, 1.0], "checked": tool.compact(names)}
    result.update(generated=len(names), killed=result["counts"]["killed"], survived=len(survivors))
    if stopped:
        result["stopped"] = "stopped early"
    return result


def test_a_second_only_run_is_merged_and_a_repeated_mutant_is_refused(tool):
    tool.record_phase("coltran", "unchecked", _run(tool, "x_choose", range(1, 11), [2]))
    tool.record_phase("coltran", "unchecked", _run(tool, "xǁ_CachedSamplerǁ__init__", range(1, 21), [0, 5]))
    entry = json.loads(tool.REPORT.read_text())["coltran"]["unchecked"]
    assert (entry["generated"], entry["killed"], entry["survived"], len(entry["runs"])) == (30, 27, 3, 2)
    assert entry["survivors"] == [f"{PREFIX}x_choose__mutmut_3", f"{PREFIX}xǁ_CachedSamplerǁ__init____mutmut_1",
                                  f"{PREFIX}xǁ_CachedSamplerǁ__init____mutmut_6"]
    assert entry["seconds"] == 120
    with pytest.raises(SystemExit, match="checked 1 mutants an earlier"):  # 10 was checked already, 11 not
        tool.record_phase("coltran", "unchecked", _run(tool, "x_choose", [10, 11], []))
    assert len(json.loads(tool.REPORT.read_text())["coltran"]["unchecked"]["runs"]) == 2  # nothing written


def test_a_stopped_run_without_names_blocks_only_its_known_survivors(tool):
    first = _run(tool, "x_choose", range(1, 6), [1], stopped=True)
    del first["checked"]  # recorded before runs kept their names: only the survivor is known by name
    tool.record_phase("coltran", "unchecked", first)
    tool.record_phase("coltran", "unchecked", _run(tool, "x_choose", range(6, 9), []))  # not reached before: fine
    assert json.loads(tool.REPORT.read_text())["coltran"]["unchecked"]["generated"] == 8
    with pytest.raises(SystemExit):
        tool.record_phase("coltran", "unchecked", _run(tool, "x_choose", [2], []))


def test_a_second_recheck_keeps_what_the_first_killed(tool):
    names = [f"{PREFIX}x_choose__mutmut_{n}" for n in range(1, 5)]
    common = {"seconds": 30, "children": 1, "load_average_5min": [1.0, 1.0], "no_tests": []}
    tool.record_phase("coltran", "recheck", {**common, "rerun_of": names[:2], "survivors": [names[1]],
                                             "counts": {"killed": 1, "survived": 1}})
    tool.record_phase("coltran", "recheck", {**common, "rerun_of": names[1:], "survivors": [names[3]],
                                             "counts": {"killed": 2, "survived": 1}})
    entry = json.loads(tool.REPORT.read_text())["coltran"]
    assert tool.rechecked_killed(entry) == set(names[:3])  # 1 by the first run, 2 and 3 by the second
    assert entry["recheck"]["survivors"] == [names[3]]


def test_each_mutants_tests_run_cheapest_first_once_mutmut_has_timed_them(tool, tmp_path, monkeypatch):
    """The hook the scratch conftest gets: mutmut stops at the first failing test, so the order is the cost."""
    hooks: dict = {"pytest": pytest}
    exec(tool._SCRATCH_HOOKS, hooks)
    items = [type("Item", (), {"nodeid": nodeid}) for nodeid in ("t.py::slow", "t.py::new", "t.py::fast")]
    monkeypatch.chdir(tmp_path)
    hooks["pytest_collection_modifyitems"](items)  # mutmut's stats run: no timings yet, pytest's order stays
    assert [i.nodeid for i in items] == ["t.py::slow", "t.py::new", "t.py::fast"]
    (tmp_path / "mutmut-stats.json").write_text(json.dumps({"duration_by_test": {"t.py::slow": 9.0,
                                                                                 "t.py::fast": 0.5}}))
    hooks["pytest_collection_modifyitems"](items)
    assert [i.nodeid for i in items] == ["t.py::new", "t.py::fast", "t.py::slow"]


def test_a_full_pass_alone_decides_what_is_left_to_judge(tool):
    name = f"{PREFIX}x_choose__mutmut_"
    tool.record_phase("coltran", "after", {"survivors": [name + "1"], "counts": {"survived": 1}})
    report = json.loads(tool.REPORT.read_text())
    assert tool.unjudged(report, "coltran")["after"] == [name + "1"]
    full = {"generated": 3, "counts": {"killed": 1, "survived": 2}, "survivors": [name + "2", name + "3"],
            "no_tests": [], "seconds": 90, "children": 2, "load_average_5min": [0.1, 2.0]}
    tool.record_phase("coltran", "full", full)
    report = json.loads(tool.REPORT.read_text())
    report["coltran"]["judged_harmless"] = {"sampler.x_choose__mutmut_3: a message": "why"}
    assert tool.unjudged(report, "coltran") == {"full": [name + "2"]}  # the after survivor is history
    table = tool.full_pass_table(report)
    assert "| coltran | 3 | 1 | 2 | 0 | 0 | 1.5 | 2 |" in table and "| all | | | | | | 1.5 |" in table


def test_only_a_recheck_after_the_full_pass_takes_mutants_off_its_survivors(tool):
    name = f"{PREFIX}x_choose__mutmut_"
    common = {"seconds": 30, "children": 1, "load_average_5min": [1.0, 1.0], "no_tests": []}
    # an earlier recheck killed 1: if the full pass finds it surviving after all, it must still be listed
    tool.record_phase("coltran", "recheck", {**common, "rerun_of": [name + "1"], "survivors": [],
                                             "counts": {"killed": 1}})
    tool.record_phase("coltran", "full", {**common, "generated": 3, "survivors": [name + "1", name + "2"],
                                          "counts": {"killed": 1, "survived": 2}})
    assert tool.unjudged(json.loads(tool.REPORT.read_text()), "coltran") == {"full": [name + "1", name + "2"]}
    tool.record_phase("coltran", "full_recheck", {**common, "rerun_of": [name + "2"], "survivors": [],
                                                  "counts": {"killed": 1}})
    assert tool.unjudged(json.loads(tool.REPORT.read_text()), "coltran") == {"full": [name + "1"]}


def test_each_pytest_session_of_the_pass_removes_its_temporary_folder(tool, tmp_path):
    """One pytest session per mutant: without this, a full pass left 62 GB in /tmp and filled the disk."""
    import os
    import subprocess
    import sys

    (tmp_path / "conftest.py").write_text("import pytest\n" + tool._SCRATCH_HOOKS)
    (tmp_path / "test_writes.py").write_text("def test_writes(tmp_path):\n"
                                             "    (tmp_path / 'x').write_bytes(b'1' * 1000)\n")
    root = tmp_path / "temproot"
    root.mkdir()
    env = {**os.environ, "PYTEST_DEBUG_TEMPROOT": str(root)}
    for _ in range(2):
        done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_writes.py"],
                              cwd=tmp_path, env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr
    left = [p for p in root.rglob("*") if p.is_file()]
    assert left == [] and not list(root.glob("pytest-of-*/pytest-[0-9]*"))
