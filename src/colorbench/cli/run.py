"""``colorbench run`` and ``colorbench demo``: thin over :func:`colorbench.run.run` and
:func:`colorbench.demo.run_demo`. Every flag is a :class:`colorbench.config.RunConfig` field (or adds to one), and
a flag not given leaves the ``--config`` file's value, else the dataclass's."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from colorbench.cli import ColorbenchError
from colorbench.cli.common import add_option, command
from colorbench.config import SMOKE_RUN
from colorbench.config import RunConfig as Config

if TYPE_CHECKING:
    from colorbench.config import RunConfig


def register(subparsers: argparse._SubParsersAction) -> None:
    _register_run(subparsers)
    _register_demo(subparsers)


# ------------------------------------------------------------------------------------------------- run
def add_run_arguments(p: argparse.ArgumentParser, *, run_default_shown: bool = True) -> None:
    """The flags of ``run`` and ``demo``; their defaults are RunConfig's (shown in --help), parsed as None when not
    given so that a --config file's values stand."""
    def option(flag: str, help: str, **kwargs) -> None:
        add_option(p, flag, Config, help=help, layered=True, **kwargs)

    p.add_argument("--config", type=Path, help="YAML file with RunConfig keys; flags override it")
    option("--run", f"run folder name under results/ of the current folder (or $COLORBENCH_RESULTS: set it to run "
                    f"from anywhere into one place; {SMOKE_RUN} with --smoke; `run` without "
                    "it: the dataset's name, e.g. samples or sports-test); the same name again resumes that run",
           show=run_default_shown)  # `run` writes to the dataset's name, not RunConfig's "demo": the text says so
    option("--dataset", "samples (bundled) | sports (Kaggle, after `data download`) | PATH: a folder of images "
                        "(sub-folder names are the classes; train/ valid/ test/ are splits) or a Kaggle-layout folder "
                        "with sports.csv")
    option("--split", "train | valid | test (ignored for datasets without splits)")
    option("--n-per-class", "stratified subset: this many images per class", type=int)
    option("--limit", "at most this many images (balanced across classes)", type=int)
    option("--methods", "comma-separated method names, or 'auto': every method whose weights can be had, except the "
                        "slow ones (ColTran, diffusion) on a CPU outside --smoke; see `colorbench methods`")
    option("--device", "auto | cpu | cuda | cuda:N")
    option("--batch-size", "images per colorize call, for every method (default: each method's own batch_size "
                           "option, its measured-best batch on a GPU; a smaller value here caps it)", type=int,
           show=False)
    option("--seed", "run seed; per-image seeds derive from it and the sample id", type=int)
    option("--samples-per-image", "K outputs per image for stochastic methods", type=int)
    p.add_argument("--option", action="append", default=[], metavar="METHOD.KEY=VALUE",
                   help="method option, e.g. coltran.mode=argmax (repeatable; the value is read as the option's type)")
    option("--max-pixels", "accept input images up to this many pixels (default: Pillow's guard against "
                           "decompression bombs, PIL.Image.MAX_IMAGE_PIXELS)", type=int)
    option("--gamut", "L-merge of colours outside sRGB: clip (as in the literature; moves L) or chroma (keeps the "
                      "input's L and the hue, reduces chroma)", choices=("clip", "chroma"))
    option("--smoke", "tiny untrained models: runs every code path in minutes, numbers meaningless (ColTran and "
                      "diffusion included, also on a CPU)", action="store_true")


def config_from_args(args, name_by_dataset: bool = False) -> "RunConfig":
    """The run's config: a --config file, then the flags. ``name_by_dataset`` (``colorbench run``): without a run
    name, the folder is named after the dataset (see :func:`dataset_run_name`) instead of the demo's."""
    from colorbench.config import RunConfig

    cfg = RunConfig.from_yaml(args.config) if args.config else RunConfig()
    if args.run is None and cfg.run == RunConfig.run and (args.smoke or cfg.smoke):
        # smoke outputs must never share a folder with real ones (the runner refuses): its own default name
        args.run = SMOKE_RUN
    elif args.run is None and cfg.run == RunConfig.run and name_by_dataset:
        # `colorbench run` wrote into results/demo, the demo's own folder, mixing a user's runs with it
        args.run = dataset_run_name(args.dataset or cfg.dataset, args.split or cfg.split)
        print(f"no --run given: writing results/{args.run}/ (name the run folder with --run NAME)")
    cfg = cfg.override(run=args.run, dataset=args.dataset, split=args.split, n_per_class=args.n_per_class,
                       limit=args.limit, methods=args.methods, device=args.device, batch_size=args.batch_size,
                       seed=args.seed, samples_per_image=args.samples_per_image, smoke=args.smoke,
                       max_pixels=getattr(args, "max_pixels", None), gamut=getattr(args, "gamut", None))
    options = {k: dict(v) for k, v in cfg.method_options.items()}
    for item in args.option:
        key, sep, value = item.partition("=")
        method, dot, option = key.partition(".")
        if not sep or not dot or not method or not option:
            raise ColorbenchError(f"--option {item!r}: expected METHOD.KEY=VALUE, e.g. coltran.mode=argmax")
        check_option_runs(item, method, cfg.methods)
        options.setdefault(method, {})[option] = value  # a string: the method's options dataclass converts it by type
    cfg.method_options = options
    cfg.__post_init__()
    return cfg


def check_option_runs(item: str, method: str, requested: list[str]) -> None:
    """``--option METHOD.KEY=VALUE`` for a method this run will not run would be silently ignored (the user thinks
    it took effect): refuse it, naming the methods that will run. A METHOD that is no method at all is left to the
    options check before the run (:func:`colorbench.methods.registry.check_method_options`), whose error names the
    option and the known methods."""
    from colorbench.methods.registry import OPTION_GROUPS, method_names
    from colorbench.run import resolve_methods

    names = resolve_methods(requested)  # the automatic selection: every method, so every option may apply
    selected = ", ".join(names)
    if method in OPTION_GROUPS:
        if not set(OPTION_GROUPS[method]) & set(names):
            raise ColorbenchError(f"--option {item}: none of the {method} methods ({', '.join(OPTION_GROUPS[method])})"
                                  f" is in --methods ({selected}): add one or drop the option")
    elif method in method_names() and method not in names:
        raise ColorbenchError(f"--option {item}: {method} is not in --methods ({selected}): add it or drop the option")


def dataset_run_name(dataset: str, split: str | None) -> str:
    """The default run name of ``colorbench run``: ``samples``, ``sports-test``, or the dataset folder's name (with
    the split when the dataset has splits), so that the same command again resumes the same folder.

    >>> dataset_run_name("sports", "test"), dataset_run_name("samples", "test"), dataset_run_name("~/photos/", None)
    ('sports-test', 'samples', 'photos')
    """
    if dataset == "samples":
        return "samples"
    name = Path(dataset).expanduser().name or "dataset"
    return f"{name}-{split}" if split and (dataset == "sports" or (Path(dataset).expanduser() / split).is_dir()) \
        else name


def _register_run(subparsers) -> None:
    p = command(
        subparsers, "run", _run,
        help="colorize a dataset subset with each method into results/RUN",
        description="Writes results/RUN/: run.json, inputs/, images/<method>/<id>.png (L-merged), raw/,\n"
                    "timings.csv, skipped.csv, failures.csv. Rerunning resumes: finished outputs are kept.\n"
                    "Unreadable images are listed in skipped.csv, images a method fails on in failures.csv;\n"
                    "neither stops the run.",
        epilog="examples:\n"
               "  colorbench run --methods gray --limit 4 --run quick      # a first look at the bundled samples\n"
               "  colorbench run --dataset sports --n-per-class 5 --methods gray,cnn-original --run sports-test\n"
               "  colorbench run --methods eccv16 --option eccv16.temperature=0.1 --run eccv16-t01\n"
               f"  colorbench run --smoke       # tiny untrained models, every code path -> results/{SMOKE_RUN}\n"
               "then: colorbench score RUN && colorbench report RUN",
    )
    add_run_arguments(p, run_default_shown=False)


def _print_summary(summary, explicit: bool = False, brief: bool = False) -> int:
    """Print the run's outcome; returns the exit status: 1 when a method could not run for an error, or when a method
    named explicitly in --methods was skipped (so that `run && score` does not go on without it). ``brief``: a skip
    reason in one line (the demo, whose report and verdict carry the full text with its fix)."""
    from colorbench.messages import one_line, plural, weights_fetch_hint
    from colorbench.records import MethodState

    unusable = f" (unusable images: see {summary.path / 'skipped.csv'})" if summary.skipped_images else ""
    print(f"run folder: {summary.path}  ({plural(summary.samples, 'image')}, {summary.skipped_images} skipped"
          f"{unusable})")
    for m in summary.methods:
        if m.status == MethodState.SKIPPED:
            print(f"  - {m.name}: SKIPPED — {one_line(m.reason) if brief else m.reason}")
        elif m.status == MethodState.FAILED:
            print(f"  - {m.name}: FAILED — {m.reason} (rerun with -v for the traceback)")
        else:
            extra = f", {m.failed} failed (see failures.csv)" if m.failed else ""
            print(f"  - {m.name}: {m.written} written, {m.reused} already there{extra}")
    fetch_hint = weights_fetch_hint([m.reason for m in summary.methods if m.status == MethodState.SKIPPED])
    if fetch_hint:
        print(f"  {fetch_hint}")
    if brief and any(m.status == MethodState.SKIPPED for m in summary.methods):
        # the one-line reasons above drop their fix: say where the whole text is
        print(f"  how to make them run: the report's \"Did not run\" section ({summary.path / 'report.html'}), "
              "or `colorbench weights list` (where each file goes, and whether it is there)")
    _say_scores_out_of_date(summary)
    skipped = [m.name for m in summary.methods if m.status == MethodState.SKIPPED] if explicit else []
    if skipped:
        print(f"exit status 1: {', '.join(skipped)} named in --methods but skipped (see above)")
    return 1 if skipped or any(m.status == MethodState.FAILED for m in summary.methods) else 0


def _say_scores_out_of_date(summary) -> None:
    """New outputs in a folder that was scored before: its metrics.csv (and a report from it) now leaves them out."""
    from colorbench.runfolder import RunFolder

    folder = RunFolder(summary.path)
    if folder.metrics_csv.exists() and any(m.written for m in summary.methods) and folder.unscored_outputs():
        print(f"  scores are now out of date: `colorbench score {folder.command_name()}`")


def _run(args) -> int:
    from colorbench.distributed import Shard
    from colorbench.run import run

    cfg = config_from_args(args, name_by_dataset=True)
    summary = run(cfg)
    if not Shard.from_env().is_main:  # a sharded run: rank 0 prints the whole run's summary
        return 0
    return _print_summary(summary, explicit=_methods_named(cfg))


def _methods_named(cfg) -> bool:
    """Whether the methods were named (not the automatic selection, which skips what it cannot run)."""
    from colorbench.config import AUTO_METHODS

    return list(cfg.methods) not in ([], [AUTO_METHODS])


# ------------------------------------------------------------------------------------------------- demo
def _register_demo(subparsers) -> None:
    p = command(
        subparsers, "demo", _demo,
        help="the main job: every available method on the bundled samples, then score and report",
        description="Runs every registered method whose weights can be had on the bundled samples (methods "
                    "whose weights cannot be fetched are listed as skipped, never faked), then scores the run "
                    "and writes the report. Under torchrun / accelerate launch every process colorizes its share; "
                    "rank 0 then scores the whole run and writes the report.",
        epilog="writes (RUN: the --run name, default demo):\n"
               "  results/RUN/report.html   the report: one file, open it in a browser\n"
               "  results/RUN/verdict.md    the verdict in words (also printed at the end)\n"
               "  results/RUN/metrics.csv   every score, one row per image, method and sample\n"
               "results/ is relative to the current folder; COLORBENCH_RESULTS puts it elsewhere.\n"
               "Run the same command again to resume: finished images are kept (no model is loaded for them);\n"
               "the scoring reuses the scores of images whose files are unchanged (other settings, e.g. the real\n"
               "LPIPS trunk set up since, score all again) and the report is rebuilt.",
    )
    add_run_arguments(p)


def _demo(args) -> int:
    from colorbench.cli.evaluate import print_unavailable_metrics, print_verdict
    from colorbench.demo import run_demo
    from colorbench.runfolder import RunFolder

    cfg = config_from_args(args)
    result = run_demo(cfg)
    if not result.is_main:  # a sharded demo: rank 0 prints the whole run's outcome
        return 0
    status = _print_summary(result.summary, explicit=_methods_named(cfg), brief=True)
    print_unavailable_metrics(result.scored.summary)
    print(f"report: {result.report}")
    print_verdict(RunFolder(result.summary.path).verdict_md)
    return status
