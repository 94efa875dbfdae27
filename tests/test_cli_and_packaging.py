"""The CLI surface, the demo job on the bundled samples, atomic writes, packaging files in sync."""

import os
import re
from pathlib import Path

import numpy as np
import pytest
import yaml

from colorbench import atomic
from colorbench.cli import main
from colorbench.config import RunConfig
from colorbench.methods import get_method, item_seed
from colorbench.runfolder import RunFolder

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("argv", [[], ["run", "--help"], ["data", "download", "--help"],
                                  ["weights", "list"], ["methods"]])
def test_cli_commands_explain_themselves(argv, capsys):
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse exits 0 after --help
        code = exc.code
    assert code == 0
    assert capsys.readouterr().out.strip()


def test_methods_list_says_what_each_method_still_needs(capsys):
    """A trained CNN is not 'ready' until a checkpoint exists; registry weights are checked as before (the test
    caches are empty, so nothing that needs a download is ready)."""
    from colorbench.methods.cnn.checkpoint import cnn_models_dir

    def states() -> dict[str, str]:
        assert main(["methods"]) == 0
        lines = [line.split() for line in capsys.readouterr().out.splitlines()
                 if line.startswith("  ") and not line.startswith("      ")]
        return {parts[0]: " ".join(parts[3:]) for parts in lines}  # name, family, kind, state

    before = states()
    assert before["gray"] == "ready"
    assert before["cnn-lpips"].startswith("needs a trained model") and "--loss lpips" in before["cnn-lpips"]
    assert before["cnn-original"].startswith("needs weights: cnn-original-epoch186")
    target = cnn_models_dir() / "lpips" / "best.pt"  # readiness is about the file being there; loading checks it
    target.parent.mkdir(parents=True)
    target.write_bytes(b"checkpoint")
    assert states()["cnn-lpips"] == "ready"


def test_methods_list_columns_fit_a_long_plug_in_name(add_method, capsys):
    """The columns had fixed widths: a plug-in's name longer than 26 characters pushed its row out of line."""
    from colorbench.methods.gray import GrayBaseline

    class LongNamed(GrayBaseline):
        name = "a-plug-in-method-with-a-rather-long-name"

    add_method(LongNamed.name, LongNamed)
    add_method("broken-plug-in", "colorbench_test_absent_module:Method")
    assert main(["methods"]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines()
            if line.startswith("  ") and not line.startswith("      ")]
    importable = [row for row in rows if not row.split()[1].startswith("(")]
    assert any(row.split()[0] == LongNamed.name for row in importable)

    def starts(row: str) -> tuple[int, int, int]:  # where family, kind and state begin
        name, family, kind, state = row.split()[:4]
        at_family = row.index(family, 2 + len(name))
        at_kind = row.index(kind, at_family + len(family))
        return at_family, at_kind, row.index(state, at_kind + len(kind))

    assert len({starts(row) for row in importable}) == 1, [starts(row) for row in importable]
    assert starts(importable[0])[0] > 2 + len(LongNamed.name)
    assert any(row.split()[:2] == ["broken-plug-in", "(cannot"] for row in rows)


def test_run_via_cli_with_options_and_yaml(tmp_path, capsys):
    cfg = tmp_path / "run.yaml"
    cfg.write_text(yaml.safe_dump({"run": "from-yaml", "limit": 3, "methods": ["gray"], "batch_size": 2,
                                   "results_dir": str(tmp_path / "res")}))
    assert main(["run", "--config", str(cfg), "--seed", "7"]) == 0
    folder = RunFolder(tmp_path / "res" / "from-yaml")
    record = folder.read_run_json()
    assert record["config"]["seed"] == 7 and record["config"]["batch_size"] == 2
    assert len(folder.read_samples()) == 3
    assert "gray: 3 written" in capsys.readouterr().out


def test_unknown_method_and_bad_option_are_one_line_errors(capsys):
    assert main(["run", "--methods", "nope"]) == 2
    assert "unknown method" in capsys.readouterr().err
    assert main(["run", "--option", "broken"]) == 2
    assert "METHOD.KEY=VALUE" in capsys.readouterr().err


def test_demo_runs_gray_on_bundled_samples_and_lists_skipped(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COLORBENCH_RESULTS", str(tmp_path))
    assert main(["demo", "--limit", "2"]) == 0
    out = capsys.readouterr().out
    assert "gray: 2 written" in out
    assert (tmp_path / "demo" / "images" / "gray").is_dir()


def test_config_rejects_unknown_keys_and_bad_values(tmp_path):
    with pytest.raises(ValueError, match="unknown config keys"):
        RunConfig.from_dict({"batchsize": 3})
    with pytest.raises(ValueError, match="batch_size"):
        RunConfig(batch_size=0)
    assert RunConfig(methods="gray, tint").methods == ["gray", "tint"]


def test_gray_method_is_the_input_as_rgb():
    method = get_method("gray")
    method.load("cpu")
    gray = np.arange(12, dtype=np.uint8).reshape(3, 4)
    [out] = method.colorize([gray], seed=0)
    assert out.shape == (3, 4, 3) and all((out[..., c] == gray).all() for c in range(3))


def test_item_seed_is_stable_and_distinct():
    assert item_seed(0, "a", 0) == item_seed(0, "a", 0)
    assert len({item_seed(0, "a", 0), item_seed(1, "a", 0), item_seed(0, "b", 0), item_seed(0, "a", 1)}) == 4
    assert 0 <= item_seed(123, "x") < 2**63


def test_atomic_write_never_exposes_a_partial_file(tmp_path, monkeypatch):
    target = tmp_path / "out.png"
    seen = []
    real_replace = os.replace

    def checking_replace(src, dst):
        seen.append(Path(dst).exists())  # the final name is absent until the very rename
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", checking_replace)
    atomic.write_png(target, np.zeros((8, 8, 3), np.uint8))
    assert seen == [False] and target.is_file()
    with pytest.raises(RuntimeError):
        with atomic.atomic_path(tmp_path / "b.bin") as tmp:
            tmp.write_bytes(b"half")
            raise RuntimeError("killed mid-write")
    assert not (tmp_path / "b.bin").exists() and not list(tmp_path.glob(".tmp-*"))


def test_stale_temps_of_dead_writers_are_removed_and_live_ones_kept(tmp_path):
    """A killed run leaves a .tmp-* file; the next run removes it, but never one a live process is writing."""
    import subprocess
    import sys

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(dead.stdout)
    (tmp_path / "images").mkdir()
    stale = tmp_path / "images" / f".tmp-a.png.{dead_pid}.x1y2"
    live = tmp_path / f".tmp-timings.csv.{os.getpid()}.z3"
    foreign = tmp_path / ".tmp-write-check.abc"  # not one of ours: no process id
    for path in (stale, live, foreign):
        path.write_bytes(b"half")
    with atomic.atomic_path(tmp_path / "c.bin") as tmp:  # our own temp names carry our process id
        assert f".{os.getpid()}." in tmp.name
        tmp.write_bytes(b"x")
    assert atomic.remove_stale_temps(tmp_path) == 1
    assert not stale.exists() and live.exists() and foreign.exists()


def test_environment_yml_installs_everything_pyproject_declares():
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10: the backport, when installed; only this test needs a TOML reader
        tomllib = pytest.importorskip("tomli")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_lines = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert "-e .[all]" in pip_lines
    extras = project["optional-dependencies"]
    all_extra = extras["all"][0]
    assert all(name in all_extra for name in extras if name != "all"), "the [all] extra must list every extra"


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    assert "make test" in readme and "make demo" in readme
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def _make_dry_run(*args: str) -> str:
    import shutil
    import subprocess

    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    # VENV points at a folder that does not exist, so make prints every setup step it would run
    # a clean environment: under `.ci/run` this test itself runs inside `make test EXTRAS=all`, whose variables
    # reach a nested make through MAKEFLAGS and would turn every set into "all"
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "EXTRAS")}
    done = subprocess.run(["make", "-n", *args, "VENV=/nonexistent-venv"], cwd=ROOT, capture_output=True, text=True,
                          timeout=60, env=env)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_make_test_changes_nothing_outside_the_venv_and_installs_only_what_tests_need():
    steps = _make_dry_run("test")
    assert "apt-get" not in steps and "ensure_chromium" not in steps and "sudo" not in steps
    installed = re.search(r'-e "\.\[([^\]]*)\]"', steps)[1].split(",")
    assert "test" in installed and not {"convert", "diffusion", "all"} & set(installed)
    assert steps.index("ruff check .") < steps.index("pytest")  # lint runs in `make test`, so in CI, before the suite


def test_make_test_runs_the_suite_in_parallel_with_the_tool_it_installs():
    """`make test` (and so CI) runs pytest-xdist, one worker per core, a file per worker at a time (module fixtures
    built once); the test extra must install it, or the README's command fails on `-n`."""
    steps = _make_dry_run("test")
    assert re.search(r"pytest -q -n auto --dist loadfile --no-loadscope-reorder", steps), steps
    assert re.search(r"pytest -q -n 1 ", _make_dry_run("test", "TEST_WORKERS=1"))  # a serial run when asked
    toml = (ROOT / "pyproject.toml").read_text()
    test_extra = re.search(r"^test = \[(.*)\]$", toml, re.MULTILINE)[1]
    assert '"pytest-xdist' in test_extra


def test_make_demo_installs_only_what_the_demo_needs_and_ci_installs_everything():
    installed = re.search(r'-e "\.\[([^\]]*)\]"', _make_dry_run("demo"))[1].split(",")
    assert "metrics" in installed and not {"test", "notebooks", "convert", "diffusion", "all"} & set(installed)
    ci = (ROOT / ".ci" / "run").read_text()
    assert "EXTRAS=all" in ci and "ensure_chromium" in ci  # only CI installs the browser, and everything else


def test_browser_tests_skip_with_the_install_command(monkeypatch):
    from conftest import chromium_or_skip

    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(pytest.skip.Exception, match=r"apt-get install chromium chromium-driver"):
        chromium_or_skip()


def test_run_names_resolve_under_results_before_the_working_directory(tmp_path, monkeypatch):
    from colorbench.runfolder import resolve_run

    monkeypatch.setenv("COLORBENCH_RESULTS", str(tmp_path / "results"))
    (tmp_path / "results" / "notebooks").mkdir(parents=True)
    (tmp_path / "notebooks").mkdir()
    monkeypatch.chdir(tmp_path)
    assert resolve_run("notebooks") == tmp_path / "results" / "notebooks"
    assert resolve_run("./notebooks").resolve() == (tmp_path / "notebooks").resolve()
    with pytest.raises(FileNotFoundError, match="colorbench run --run"):
        resolve_run("nope")


@pytest.mark.parametrize("argv, says", [
    (["run", "--device", "gpu"], "device 'gpu' is not one of auto, cpu, cuda, cuda:N"),
    (["run", "--methods", "gray", "--option", "gray.colour=1"], "gray has no option 'colour'"),
    (["run", "--methods", "gray", "--option", "eccv61.temperature=0.1"], "no method 'eccv61'"),
    (["run", "--config", "missing.yaml"], "config file missing.yaml not found"),
    (["run", "--config", "broken.yaml"], "broken.yaml: not valid YAML at line 3"),
    (["run", "--run", "/elsewhere/r1"], "must be a plain folder name (it goes under results/); to put run folders "
                                        "elsewhere set COLORBENCH_RESULTS"),
])
def test_bad_values_are_one_line_errors_naming_the_value(argv, says, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "broken.yaml").write_text("methods: [gray,\nseed: 1\n")
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert says in err and err.count("\n") == 1, err
    assert not (tmp_path / "results").exists()  # refused before anything was written


def test_score_and_train_check_the_device_like_run(capsys):
    """One device resolver: `--device gpu` is refused by score and train as by run (they used to accept it)."""
    assert main(["run", "--methods", "gray", "--limit", "1", "--run", "d"]) == 0
    capsys.readouterr()
    assert main(["score", "d", "--device", "gpu"]) == 2
    assert "device 'gpu' is not one of auto, cpu, cuda, cuda:N" in capsys.readouterr().err
    from colorbench.train.trainer import resolve_device as trainer_resolve

    with pytest.raises(ValueError, match="device 'gpu' is not one of"):
        trainer_resolve("gpu")


def test_score_and_report_refuse_an_unwritable_run_folder_before_any_work(capsys, monkeypatch):
    import errno

    from colorbench import metrics, report, runfolder

    assert main(["run", "--methods", "gray", "--limit", "1", "--run", "w"]) == 0
    monkeypatch.setattr(metrics, "score_run", lambda *a, **k: pytest.fail("scored a run it cannot save"))
    monkeypatch.setattr(report, "build_report", lambda *a, **k: pytest.fail("reported a run it cannot save"))

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(runfolder.tempfile, "mkstemp", read_only)
    capsys.readouterr()
    for argv in (["score", "w"], ["report", "w", "--score"]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert "cannot write to" in err and "Read-only file system" in err and "COLORBENCH_RESULTS" in err


def test_train_without_a_model_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["train"])
    assert exit_info.value.code == 2 and "MODEL" in capsys.readouterr().err


@pytest.mark.parametrize("argv, says", [
    (["report", "some-run", "--bootstrap", "0"], "argument --bootstrap: must be at least 1, got 0"),
    (["report", "some-run", "--grid-images", "-1"], "argument --grid-images: must be at least 0, got -1"),
])
def test_report_numbers_are_checked_by_the_parser(argv, says, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2 and says in capsys.readouterr().err


def test_unknown_weights_name_is_an_unquoted_one_line_error(capsys):
    assert main(["weights", "fetch", "nope"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("colorbench: error: unknown weights 'nope'; known: ") and err.count("\n") == 1


def test_smoke_runs_default_to_their_own_folder(tmp_path, capsys, monkeypatch):
    """`colorbench demo --smoke` then `make demo` (colorbench demo) must not collide: the runner refuses to mix."""
    monkeypatch.setenv("COLORBENCH_RESULTS", str(tmp_path))
    assert main(["run", "--smoke", "--methods", "gray", "--limit", "1"]) == 0
    # the demo's real run (`run` without --run now names its folder after the dataset: results/samples)
    assert main(["run", "--methods", "gray", "--limit", "1", "--run", "demo"]) == 0
    assert RunFolder(tmp_path / "demo-smoke").read_run_json()["smoke"] is True
    assert RunFolder(tmp_path / "demo").read_run_json()["smoke"] is False
    assert main(["run", "--smoke", "--run", "demo", "--methods", "gray", "--limit", "1"]) == 2
    assert "holds a real (non-smoke) run" in capsys.readouterr().err


def test_ctrl_c_says_what_a_rerun_does_for_each_command(capsys, monkeypatch):
    from colorbench import metrics

    assert main(["run", "--methods", "gray", "--limit", "1", "--run", "c"]) == 0

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(metrics, "score_run", interrupted)
    capsys.readouterr()
    # scoring keeps whole batches only (the scorer says how many, see test_metrics_scorer): the hint claims none
    assert main(["score", "c"]) == 130
    err = capsys.readouterr().err
    assert "rerun the same command to continue (it skips the images kept, counted above)" in err
    assert "scored so far are kept" not in err
    monkeypatch.setattr("colorbench.run.run", interrupted)
    assert main(["run", "--methods", "gray", "--run", "c"]) == 130
    assert "finished outputs are kept — rerun the same command to resume" in capsys.readouterr().err


def test_method_option_numbers_in_exponent_notation_are_numbers(tmp_path):
    """PyYAML reads `1e-3` as a string; `--option eccv16.temperature=1e-1` must reach the method as 0.1."""
    import argparse

    from colorbench.cli.run import add_run_arguments, config_from_args

    parser = argparse.ArgumentParser()
    add_run_arguments(parser)
    cfg = config_from_args(parser.parse_args(["--option", "eccv16.temperature=1e-1", "--option", "x.name=lpips"]))
    assert cfg.method_options == {"eccv16": {"temperature": 0.1}, "x": {"name": "lpips"}}
    path = tmp_path / "run.yaml"
    path.write_text("method_options:\n  coltran:\n    temperature: 5E-1\n    mode: argmax\n")
    assert RunConfig.from_yaml(path).method_options == {"coltran": {"temperature": 0.5, "mode": "argmax"}}
    with pytest.raises(ValueError, match="method_options must map method names"):
        RunConfig(method_options={"eccv16": ["temperature", 0.1]})


def test_report_notices_images_added_after_scoring(tmp_path, monkeypatch, caplog):
    """Run gray, score, then add a method: `report` must not silently leave it out; `report --score` rescores."""
    import time

    from colorbench import metrics, report
    from colorbench.cli import evaluate as cli_eval

    assert main(["run", "--methods", "gray", "--limit", "1", "--run", "s"]) == 0
    run_path = Path(os.environ["COLORBENCH_RESULTS"]) / "s"
    # what scoring left: a row per output (the rest of its content is not read here)
    ids = [row["id"] for row in RunFolder(run_path).read_samples()]
    (run_path / "metrics.csv").write_text("method,id,k\n" + "".join(f"gray,{i},0\n" for i in ids))
    scored = []
    monkeypatch.setattr(metrics, "score_run", lambda path, **kw: scored.append(path))
    monkeypatch.setattr(cli_eval, "_print_score_summary", lambda result: None)
    monkeypatch.setattr(report, "build_report", lambda path, options: path / "report.html")
    # explicit times, not a sleep: the run's images an hour old, the scores half an hour old
    hour_ago = time.time() - 3600
    for png in (run_path / "images").rglob("*.png"):
        os.utime(png, (hour_ago, hour_ago))
    os.utime(run_path / "metrics.csv", (hour_ago + 1800, hour_ago + 1800))
    assert main(["report", "s", "--score"]) == 0 and scored == []  # scores are current: nothing to redo
    assert "written after" not in caplog.text

    later = run_path / "images" / "later-method"
    later.mkdir()
    atomic.write_png(later / "x.png", np.zeros((8, 8, 3), np.uint8))
    assert RunFolder(run_path).methods_newer_than_metrics() == ["later-method"]  # said by the report itself:
    # tests/test_stale_scores.py runs a real `colorbench report` on a grown run (terminal warning, report.html)
    assert main(["report", "s", "--score"]) == 0 and scored == [run_path]


def test_verbose_shows_our_debug_lines_but_keeps_third_party_loggers_at_warning(capsys):
    import logging

    from PIL import Image

    from colorbench.cli import configure_logging

    configure_logging(True)
    try:
        assert logging.getLogger("colorbench.run").isEnabledFor(logging.DEBUG)
        assert not logging.getLogger("PIL.PngImagePlugin").isEnabledFor(logging.DEBUG)  # no `STREAM b'IDAT'` flood
        assert not logging.getLogger("urllib3").isEnabledFor(logging.INFO)
        import io

        buf = io.BytesIO()
        Image.new("RGB", (4, 4)).save(buf, format="PNG")
        Image.open(io.BytesIO(buf.getvalue())).load()
        assert "IDAT" not in capsys.readouterr().err
    finally:
        configure_logging(False)
