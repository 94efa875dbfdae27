"""``colorbench score RUN`` and ``colorbench report RUN``: thin over :func:`colorbench.metrics.score_run` and
:func:`colorbench.report.build_report`."""

from __future__ import annotations

import argparse

from colorbench.cli.common import add_option, command, int_at_least
from colorbench.metrics.options import ScoreOptions

REPORT_OPTIONS = "colorbench.report.build:ReportOptions"  # read lazily: the report imports pandas


def register(subparsers) -> None:
    score = command(
        subparsers, "score", _score,
        help="score every method of a run folder against the truths (writes metrics.csv, metrics.json)",
        description="Per-image LPIPS, PSNR, SSIM, CIEDE2000 and colourfulness for every output of a run, plus FID "
                    "per method. Metrics whose weights cannot be had are marked unavailable (with the fix) unless "
                    "--require makes that fatal.",
        interrupt_hint="metrics.csv is written once the scoring completes; rerun the same command to continue "
                       "(it skips the images kept, counted above)")
    score.add_argument("run", help="run name (under results/) or run folder path")
    add_option(score, "--lpips-net", ScoreOptions, choices=["alex", "vgg"],
               help="LPIPS trunk (alex is the LPIPS authors' choice for evaluation)")
    score.add_argument("--require", action="append", default=[], choices=["lpips", "fid"],
                       help="fail instead of marking this metric unavailable (repeatable)")
    add_option(score, "--device", ScoreOptions, help="auto (CUDA if available), cpu, cuda, cuda:1, ...")
    add_option(score, "--batch-size", ScoreOptions, type=int, help="images per batch")
    score.add_argument("--no-fid", action="store_true", help="skip FID (its Inception pass is the slowest part on CPU)")
    score.add_argument("--no-progress", action="store_true", help="no progress bar")

    report = command(
        subparsers, "report", _report,
        help="tables, figures and one self-contained report.html from a scored run",
        description="Aggregates metrics.csv (bootstrap CIs, paired tests with Holm correction, win rates, per-class "
                    "results, cost from timings.csv) into tables/ (CSV, Markdown, HTML), figures/ (PNG and SVG; the "
                    "photo grids JPEG) and report.html. With --score, scores the run first when metrics.csv is absent "
                    "or leaves some of the run's outputs out (written since, or never scored); only their images are "
                    "scored again.",
        interrupt_hint="rerun the same command to build the report again")
    report.add_argument("run", help="run name (under results/) or run folder path")
    add_option(report, "--bootstrap", REPORT_OPTIONS, "n_boot", type=int_at_least(1), help="bootstrap resamples")
    add_option(report, "--seed", REPORT_OPTIONS, help="seed of the bootstrap and of the image selection", type=int)
    add_option(report, "--grid-images", REPORT_OPTIONS, type=int_at_least(0),
               help="images in the fixed random grid (0: no grid)")
    report.add_argument("--score", action="store_true",
                        help="run `colorbench score` first when metrics.csv is absent or leaves outputs out (only "
                             "their images are scored again)")


def _score(args: argparse.Namespace) -> int:
    from colorbench.cli import ColorbenchError
    from colorbench.metrics import ScoringError, score_run
    from colorbench.runfolder import ensure_writable, resolve_run

    path = resolve_run(args.run)
    ensure_writable(path)  # before scoring: a read-only folder must not cost the whole computation
    try:
        result = score_run(path, lpips_net=args.lpips_net, require=tuple(args.require), device=args.device,
                           batch_size=args.batch_size, fid=not args.no_fid, progress=not args.no_progress)
    except ScoringError as exc:
        raise ColorbenchError(str(exc)) from None
    if not result.summary:  # a rank other than 0 of a sharded scoring: rank 0 prints the whole summary
        return 0
    _print_score_summary(result)
    return 0


def _print_score_summary(result) -> None:
    from colorbench.messages import plural

    s = result.summary
    print(f"scored {plural(s['n_scorable'], 'image')} ({len(s['excluded'])} excluded: no usable colour ground truth) "
          f"for {plural(len(s['methods']), 'method')} in {s['seconds']} s on {s['device']} -> {result.metrics_csv}")
    for method, info in s["methods"].items():
        k_count = info["n_samples_per_image"]
        other_samples = info.get("n_missing_samples", 0) - info["n_missing"] * k_count  # of images that were scored
        missing = f", {info['n_missing']} missing" if info["n_missing"] else ""
        missing += f", {other_samples} of their samples missing" if other_samples > 0 else ""
        k = f", K={k_count}" if k_count > 1 else ""
        print(f"  {method}: {plural(info['n_images_scored'], 'image')}{k}{missing}")
    print_unavailable_metrics(s)


def print_unavailable_metrics(summary: dict) -> None:
    """One line per metric the scorer could not compute (its weights could not be had), with the fix."""
    for name in ("lpips", "fid"):
        info = summary[name]
        if not info.get("available"):
            print(f"  {name.upper()} unavailable: {info.get('message') or info.get('reason')}")


def _report(args: argparse.Namespace) -> int:
    from colorbench.cli import ColorbenchError
    from colorbench.metrics.table import ScoringError
    from colorbench.report import ReportOptions, build_report
    from colorbench.runfolder import RunFolder, ensure_writable, resolve_run

    run = RunFolder(resolve_run(args.run))
    ensure_writable(run.path)
    try:
        if args.score and run.scores_stale():
            from colorbench.metrics import score_run  # imports torch: only when asked to score

            _print_score_summary(score_run(run.path))
        # otherwise outputs the scores leave out are said by build_report (terminal, notebook and report.html alike)
        path = build_report(run.path, ReportOptions(n_boot=args.bootstrap, seed=args.seed,
                                                    grid_images=args.grid_images))
    except ScoringError as exc:
        raise ColorbenchError(str(exc)) from None
    print(f"report: {path}\ntables: {run.tables_dir}\nfigures: {run.figures_dir}")
    print_verdict(run.verdict_md)
    return 0


def print_verdict(path) -> None:
    """The report's verdict paragraph, wrapped for a terminal (the same text heads report.html and notebook 05)."""
    import textwrap
    from pathlib import Path

    if not Path(path).is_file():  # a report written before verdicts existed
        return
    text = Path(path).read_text(encoding="utf-8").strip()
    print("\n" + textwrap.fill("Verdict: " + text, width=100, break_on_hyphens=False, break_long_words=False))

