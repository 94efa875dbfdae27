"""``colorbench judge RUN`` and ``colorbench judge-report RUN``: thin over :mod:`colorbench.judge`."""

from __future__ import annotations

import argparse

from colorbench.cli.common import add_option, command, int_at_least

SERVE = "colorbench.judge.app:serve"  # flag defaults are read from these, lazily (they import pandas)
JUDGE_REPORT = "colorbench.judge.report:build_judge_content"
# what of the judge extra each command imports: the app serves pages (flask); the report fits Bradley–Terry (choix)
# and computes κ and Wilson intervals (statsmodels). Checked before any work, every missing one named at once.
NEEDS = {"judge": ("judge", ("flask",)), "judge-report": ("judge", ("choix", "statsmodels"))}


def register(subparsers) -> None:
    judge = command(
        subparsers, "judge", _judge, interrupt_hint="every answer given is stored; run the same command to go on",
        needs=NEEDS["judge"],
        help="the eye test: judge a run's colorizations blind in the browser (writes judgements.sqlite)",
        description="Starts a local web app that shows one gray input's colorizations by two hidden methods on "
                    "random sides and asks which looks more natural (keys: ← → ↓ B, V shows the true colours and is "
                    "recorded). --mode real-or-fake shows one image and asks whether it is a real colour photo. "
                    "Answers go to RUN/judgements.sqlite, one transaction each; several judges can judge at once.")
    judge.add_argument("run", help="run name (under results/) or run folder path")
    add_option(judge, "--mode", SERVE, choices=["pair", "real-or-fake"], help="what the judges are asked")
    add_option(judge, "--host", SERVE, help="address to listen on (127.0.0.1: this machine only; 0.0.0.0 opens it to "
                                            "the network)")
    add_option(judge, "--port", SERVE, type=int_at_least(0), help="port (0: any free port)")
    add_option(judge, "--seed", SERVE, type=int, show=False, help="seed of the pair scheduler (default: random)")

    report = command(
        subparsers, "judge-report", _judge_report, needs=NEEDS["judge-report"],
        help="Bradley–Terry ranking, judge agreement and metric-vs-people agreement from judgements",
        description="Reads RUN/judgements.sqlite (and metrics.csv when the run is scored) and writes the eye test's "
                    "tables (tables/judge_*) and figures; `colorbench report` adds the same as a report section.")
    report.add_argument("run", help="run name (under results/) or run folder path")
    add_option(report, "--bootstrap", JUDGE_REPORT, "n_boot", type=int_at_least(1), help="bootstrap resamples")
    add_option(report, "--seed", JUDGE_REPORT, type=int, help="bootstrap seed")


def _judge(args: argparse.Namespace) -> int:
    from colorbench.judge.app import serve
    from colorbench.runfolder import resolve_run

    serve(resolve_run(args.run), host=args.host, port=args.port, mode=args.mode, seed=args.seed)
    return 0


def _judge_report(args: argparse.Namespace) -> int:
    from colorbench.judge.report import write_judge_report
    from colorbench.report.tables import to_markdown
    from colorbench.runfolder import RunFolder, resolve_run

    run = RunFolder(resolve_run(args.run))
    content = write_judge_report(run.path, n_boot=args.bootstrap, seed=args.seed)
    for name in ("judge_metric_agreement", "judge_strengths", "judge_fool_rate"):
        if name in content.tables:
            print(to_markdown(content.tables[name]))
    for note in content.notes:
        print(note)
    print(f"tables: {run.tables_dir}/judge_*\nfigures: {run.figures_dir}")
    return 0
