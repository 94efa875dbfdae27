"""The CLI states no default of its own: every flag's default is the one of the dataclass or function the command
calls, and ``--help`` shows it. The expected values below are built from the config objects themselves
(``TrainConfig()``, ``ReportOptions()``, the functions' signatures), independently of how the CLI reads them, so a
literal restated in a ``cli/`` module (and then left behind when the dataclass changes) fails here."""

from __future__ import annotations

import argparse
import inspect

import pytest

from colorbench.cli import build_parser
from colorbench.cli.common import Default, field_default, resolve_defaults
from colorbench.cli.run import config_from_args
from colorbench.config import RunConfig


def commands(parser: argparse.ArgumentParser, path=()) -> dict[tuple[str, ...], argparse.ArgumentParser]:
    """Every command's parser, by its words (``("train", "cnn")``)."""
    found = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found[(*path, name)] = sub
                found.update(commands(sub, (*path, name)))
    return found


def parse(argv: list[str]) -> argparse.Namespace:
    return resolve_defaults(build_parser().parse_args(argv))


def signature_defaults(func) -> dict:
    return {k: p.default for k, p in inspect.signature(func).parameters.items() if p.default is not p.empty}


def test_run_and_demo_flags_leave_runconfigs_defaults():
    for command in ("run", "demo"):
        args = parse([command])
        assert config_from_args(args) == RunConfig()  # nothing given: the dataclass, field for field
        parser = commands(build_parser())[(command,)]
        shown = parser.format_help()
        for flag, field in (("--seed", "seed"), ("--device", "device"),
                            ("--split", "split"), ("--dataset", "dataset"), ("--gamut", "gamut"), ("--run", "run"),
                            ("--samples-per-image", "samples_per_image")):
            value = getattr(RunConfig(), field)
            action = next(a for a in parser._actions if flag in a.option_strings)
            assert action.default is None  # not given: a --config file's value stands
            if (command, flag) == ("run", "--run"):  # `run` without --run writes to the dataset's name instead
                assert "(default:" not in action.help and "the dataset's name" in action.help
                continue
            assert f"(default: {value})" in " ".join(action.help.split()), flag
        assert "(default: auto)" in " ".join(shown.split())  # --methods: RunConfig's [AUTO_METHODS]
        # --batch-size: RunConfig's None = each method's own batch_size option, which the help says
        assert RunConfig().batch_size is None and "(default: each method's own batch_size option" in " ".join(
            shown.split())


def test_a_config_file_still_wins_over_unset_flags(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("batch_size: 3\nseed: 9\n")
    cfg = config_from_args(parse(["run", "--config", str(path), "--seed", "4"]))
    assert (cfg.batch_size, cfg.seed) == (3, 4)


def test_train_flags_default_to_trainconfig():
    from colorbench.cli.train import config_from_args as train_config
    from colorbench.train.config import TrainConfig

    cfg = train_config(parse(["train", "cnn", "--data", "somewhere"]))
    assert cfg == TrainConfig(data="somewhere")


def test_score_report_judge_and_import_flags_default_to_the_functions_they_call():
    from colorbench.external import import_outputs
    from colorbench.judge.app import serve
    from colorbench.judge.report import build_judge_content
    from colorbench.metrics.scorer import score_run
    from colorbench.report import ReportOptions

    scorer = signature_defaults(score_run)
    args = parse(["score", "r"])
    assert (args.lpips_net, args.device, args.batch_size) == (scorer["lpips_net"], scorer["device"],
                                                              scorer["batch_size"])
    assert (not args.no_fid, not args.no_progress, tuple(args.require)) == (scorer["fid"], scorer["progress"],
                                                                            tuple(scorer["require"]))
    args = parse(["report", "r"])
    options = ReportOptions()
    assert (args.bootstrap, args.seed, args.grid_images) == (options.n_boot, options.seed, options.grid_images)
    judge = signature_defaults(serve)
    args = parse(["judge", "r"])
    assert (args.mode, args.host, args.port, args.seed) == (judge["mode"], judge["host"], judge["port"], judge["seed"])
    judge_report = signature_defaults(build_judge_content)
    args = parse(["judge-report", "r"])
    assert (args.bootstrap, args.seed) == (judge_report["n_boot"], judge_report["seed"])
    imports = signature_defaults(import_outputs)
    args = parse(["import", "r", "--method", "m", "--from", "f"])
    assert (args.match, args.note, not args.no_l_merge) == (imports["match"], imports["note"], imports["l_merge"])


def unset(default) -> bool:
    """No default to state: an unset option, a switch, an accumulating list, or argparse's own (-h)."""
    return default is None or default is False or default is argparse.SUPPRESS or default == []


def test_no_flag_restates_a_default():
    """A flag with a default (not unset, not a switch, not an accumulating list) got it from ``add_option``, which
    read it from the config it names; --help shows that value."""
    seen = 0
    for words, parser in commands(build_parser()).items():
        help_text = None
        for action in parser._actions:
            if unset(action.default) or not action.option_strings:
                continue
            flag = f"colorbench {' '.join(words)} {action.option_strings[0]}"
            assert hasattr(action, "default_source"), f"{flag}: default {action.default!r} written in the CLI"
            source, field = action.default_source
            value = action.default.value() if isinstance(action.default, Default) else action.default
            if isinstance(source, str):
                module, _, name = source.partition(":")
                source = getattr(__import__(module, fromlist=[name]), name)
            assert value == field_default(source, field), flag
            help_text = help_text or " ".join(parser.format_help().split())
            if value is not None:  # None: "not set", which the help words itself (show=False)
                assert f"(default: {value if value != '' else chr(34) * 2})" in help_text, flag
            seen += 1
    assert seen >= 20  # score, report, train, judge, judge-report, import, data info


def test_field_default_names_the_fields_when_one_is_missing():
    with pytest.raises(KeyError, match="batch_size"):
        field_default(RunConfig, "batchsize")
    assert field_default(RunConfig, "methods") == ["auto"] and field_default(lambda *, x=3: x, "x") == 3


def test_building_the_parser_imports_neither_torch_nor_pandas():
    """Defaults of the scorer, trainer and report are read lazily: `colorbench --help` must stay fast."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    src = str(Path(__file__).resolve().parents[1] / "src")  # this checkout's package, not an installed one
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
    code = ("import sys; from colorbench.cli import build_parser; build_parser().parse_args(['score', 'r']); "
            "print(sorted(m for m in ('torch', 'pandas') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env).stdout
    assert out.strip() == "[]"
