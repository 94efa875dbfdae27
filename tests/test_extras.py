"""A method whose optional extra is not installed (the lean `make demo` venv has no diffusers) says so, with the
command that installs it: in `colorbench methods` and as the runner's skip reason (it said "needs weights: sd15,
controlnet-canny-sd15" and "No module named 'diffusers'" before)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from colorbench import extras
from colorbench.config import RunConfig
from colorbench.methods import readiness
from colorbench.methods.base import Method


def test_readiness_names_the_missing_extra_and_its_install_command(monkeypatch):
    monkeypatch.setitem(extras.OPTIONAL_STACKS, "diffusion", ("colorbench_test_absent_module",))
    reason = readiness("controlnet-canny")
    assert reason == (f"needs the optional diffusion extra (colorbench_test_absent_module not installed): "
                      f"{sys.executable} -m pip install -e '.[diffusion]' from the colorbench checkout")
    assert readiness("controlnet-canny-img2img") == reason  # inherited
    assert readiness("gray") is None  # methods without an extra are not affected


def test_readiness_with_the_extra_present_asks_for_what_else_is_missing(monkeypatch):
    monkeypatch.setitem(extras.OPTIONAL_STACKS, "diffusion", ("json",))  # importable: the extra counts as installed
    assert "optional diffusion extra" not in (readiness("controlnet-canny") or "")


class _NeedsAbsent(Method):
    name = "needs-absent"
    requires_extra = "diffusion"

    def load(self, device):
        import colorbench_test_absent_module  # noqa: F401

    def colorize(self, grays, *, seed, item_seeds=None, labels=None):
        return []


class _Child(_NeedsAbsent):
    name = "needs-absent-child"

    def load(self, device):
        super().load(device)


def test_a_load_import_error_from_an_extra_gets_the_install_command_once(monkeypatch):
    monkeypatch.setitem(extras.OPTIONAL_STACKS, "diffusion", ("colorbench_test_absent_module",))
    for cls in (_NeedsAbsent, _Child):
        with pytest.raises(ImportError) as info:
            cls().load("cpu")
        text = str(info.value)
        assert text.startswith("No module named 'colorbench_test_absent_module' — part of the optional diffusion "
                               "extra: ")
        assert text.count("pip install -e '.[diffusion]'") == 1 and info.value.name == "colorbench_test_absent_module"


def test_an_import_error_outside_the_extras_is_left_as_it_is():
    class Plain(Method):
        name = "plain"

        def load(self, device):
            import colorbench_test_other_absent_module  # noqa: F401

        def colorize(self, grays, *, seed, item_seeds=None, labels=None):
            return []

    with pytest.raises(ImportError, match=r"^No module named 'colorbench_test_other_absent_module'$"):
        Plain().load("cpu")


def _run_on_one_photo(tmp_path, methods: list[str]) -> dict:
    """A smoke run of ``methods`` on one random photo; each method's outcome by name."""
    from colorbench.run import run

    photos = tmp_path / "photos"
    photos.mkdir()
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (24, 32, 3), dtype=np.uint8)).save(photos / "a.png")
    cfg = RunConfig(run="one-photo", dataset=str(photos), split=None, methods=methods, device="cpu", smoke=True,
                    results_dir=str(tmp_path / "results"))
    return {m.name: m for m in run(cfg, progress=False).methods}


def test_the_run_skips_a_diffusion_method_without_diffusers_with_the_install_command(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "diffusers", None)  # import diffusers -> ImportError, as in the demo venv
    outcome = _run_on_one_photo(tmp_path, ["gray", "controlnet-canny"])
    assert outcome["gray"].status == "done"
    assert outcome["controlnet-canny"].status == "skipped"
    assert "part of the optional diffusion extra" in outcome["controlnet-canny"].reason
    assert "pip install -e '.[diffusion]'" in outcome["controlnet-canny"].reason


def test_a_method_module_that_cannot_be_imported_names_the_extra(add_method, monkeypatch):
    add_method("needs-tf", "colorbench_test_absent_tf_module:Method")
    monkeypatch.setitem(extras.OPTIONAL_STACKS, "convert", ("colorbench_test_absent_tf_module",))
    reason = readiness("needs-tf")
    assert reason.startswith("cannot import: No module named 'colorbench_test_absent_tf_module' — part of the "
                             "optional convert extra: ") and "pip install -e '.[convert]'" in reason


@pytest.mark.parametrize("argv", [["notebooks", "list"], ["notebooks", "run", "--smoke", "--only", "00"]])
def test_notebook_commands_without_papermill_say_which_extra_in_one_line(monkeypatch, capsys, argv):
    """The `make demo` venv has no notebooks extra: this was a ModuleNotFoundError traceback."""
    from colorbench.cli import main

    monkeypatch.setitem(sys.modules, "papermill", None)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("colorbench: error: ") and "needs the optional notebooks extra (papermill is not installed)" \
        in err and "pip install -e '.[notebooks]'" in err and "Traceback" not in err


def test_the_judge_without_its_extra_names_it(monkeypatch):
    import importlib

    from colorbench.extras import MissingExtra
    from colorbench.judge import analysis

    monkeypatch.setitem(sys.modules, "choix", None)
    with pytest.raises(MissingExtra, match=r"Bradley–Terry ranking of the eye test needs the optional judge extra "
                                           r"\(choix is not installed\)"):
        analysis.fit_strengths(np.array([[0.0, 3.0], [1.0, 0.0]]))
    monkeypatch.setitem(sys.modules, "flask", None)
    monkeypatch.delitem(sys.modules, "colorbench.judge.app", raising=False)
    with pytest.raises(MissingExtra, match=r"the judging app needs the optional judge extra \(flask"):
        importlib.import_module("colorbench.judge.app")
    monkeypatch.undo()
    importlib.import_module("colorbench.judge.app")  # back to the real module for the other tests


def test_the_run_skips_a_method_whose_module_needs_an_absent_extra_with_the_install_command(add_method, monkeypatch,
                                                                                            tmp_path):
    add_method("needs-tf", "colorbench_test_absent_tf_module:Method")
    monkeypatch.setitem(extras.OPTIONAL_STACKS, "convert", ("colorbench_test_absent_tf_module",))
    outcome = _run_on_one_photo(tmp_path, ["gray", "needs-tf"])
    assert outcome["gray"].status == "done"
    assert outcome["needs-tf"].status == "skipped"
    assert outcome["needs-tf"].reason.count("part of the optional convert extra") == 1
    assert "pip install -e '.[convert]'" in outcome["needs-tf"].reason


def test_the_demo_summary_gives_each_skip_reason_in_one_line(capsys):
    from types import SimpleNamespace

    from colorbench.cli.run import _print_summary

    long_reason = "needs weights: sd15\n" + "fetch them with `colorbench weights fetch sd15` " * 10
    summary = SimpleNamespace(path=Path("results/demo"), samples=2, skipped_images=0,
                              methods=[SimpleNamespace(name="controlnet-canny", status="skipped", reason=long_reason)])
    _print_summary(summary, brief=True)
    brief = capsys.readouterr().out
    _print_summary(summary)
    full = capsys.readouterr().out
    assert len(brief.splitlines()) == 3 and len(brief) < len(full)
    # the line the one-line reason lost its fix to points at where the whole text is
    assert "results/demo/report.html" in brief.splitlines()[2] and "colorbench weights list" in brief
    assert long_reason in full and "how to make them run" not in full


@pytest.mark.parametrize("command, modules", [("judge", ["flask"]), ("judge-report", ["choix", "statsmodels"])])
def test_each_judge_command_names_what_it_needs_of_the_judge_extra_before_any_work(command, modules, monkeypatch,
                                                                                   capsys, tmp_path):
    """judge-report needed choix and statsmodels but failed late (after reading the judgements; statsmodels with a
    bare traceback); `colorbench judge` needs flask only. Each says so up front, naming every missing module."""
    from colorbench.cli import main

    for module in modules:
        monkeypatch.setitem(sys.modules, module, None)
    assert main([command, str(tmp_path / "no-such-run")]) == 2  # the extra is checked before the run is looked up
    err = capsys.readouterr().err
    assert err == (f"colorbench: error: `colorbench {command}` needs the optional judge extra ({', '.join(modules)} "
                   f"{'is' if len(modules) == 1 else 'are'} not installed): {sys.executable} -m pip install -e "
                   "'.[judge]' from the colorbench checkout, or `make setup` (it installs the test set, notebooks "
                   "included)\n")
    with pytest.raises(SystemExit) as exit_:  # --help still works, and says what the command needs
        main([command, "--help"])
    assert exit_.value.code == 0
    needs = f"Needs the optional judge extra ({', '.join(modules)}): pip install -e '.[judge]'"
    assert needs in capsys.readouterr().out
