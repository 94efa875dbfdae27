"""CLI commands for the notebook suite: ``colorbench notebooks run | list | strip``."""

from __future__ import annotations

import argparse
from pathlib import Path

from colorbench.cli.common import ColorbenchError, command, group


def register(subparsers: argparse._SubParsersAction) -> None:
    from colorbench.notebooks_run import default_run_name  # light: papermill is imported only when the suite runs

    sub = group(subparsers, "notebooks", help="run the notebook suite (papermill) and export it to HTML")

    run = command(
        sub, "run", _run,
        help="execute the notebooks in order into results/RUN/notebooks/ (+ HTML)",
        description="Executes notebooks/00_setup_and_data … 06_eye_test with papermill in a kernel of this Python; "
                    "all share one run folder results/RUN/. Each executed notebook is saved as .ipynb and exported "
                    "to .html next to it. A failing notebook is reported with the cell and error; notebooks that "
                    "need it are skipped, the others still run. Exit status 1 if any notebook failed.",
    )
    run.add_argument("--smoke", action="store_true",
                     help="tiny untrained models on 2 bundled samples: every code path in minutes on a CPU, "
                          "no network; numbers meaningless")
    run.add_argument("--params", nargs="+", default=[], metavar="KEY=VALUE",
                     help="notebook parameters (values are YAML), e.g. LIMIT=8 DEVICE=cuda; NN.KEY=VALUE sets "
                          "one notebook's, e.g. 01.METHODS=[cnn-lpips]")
    run.add_argument("--run", help=f"run folder name (default: {default_run_name(False)}, or "
                                   f"{default_run_name(True)} with --smoke)")
    run.add_argument("--only", help="comma-separated notebook numbers or names, e.g. 00,04")
    run.add_argument("--fail-fast", action="store_true", help="stop at the first failing notebook")
    run.add_argument("--no-html", action="store_true", help="skip the HTML export")

    command(sub, "list", _list, help="the notebooks and their parameters with defaults")

    strip = command(sub, "strip", _strip, help="remove outputs from notebooks before committing (or --check)")
    strip.add_argument("paths", nargs="*", type=Path, help="notebooks (default: every notebooks/*.ipynb)")
    strip.add_argument("--check", action="store_true", help="change nothing; exit 1 if any notebook has outputs")


def _run(args) -> int:
    from colorbench.notebooks_run import parse_params, run_suite

    only = [s for s in args.only.split(",")] if args.only else None
    try:
        result = run_suite(run=args.run, smoke=args.smoke, params=parse_params(args.params), only=only,
                           fail_fast=args.fail_fast, html=not args.no_html)
    except ValueError as exc:
        raise ColorbenchError(str(exc)) from None
    print()
    print(result.describe())
    return 0 if result.ok else 1


def _list(args) -> int:
    from colorbench.notebooks_run import SUITE, declared_parameters, notebooks_dir

    folder = notebooks_dir()
    for name, needs in SUITE:
        path = folder / f"{name}.ipynb"
        if not path.is_file():
            print(f"{name}  (missing: {path})")
            continue
        after = f"  (needs {', '.join(needs)})" if needs else ""
        print(f"{name}{after}")
        for key, default in declared_parameters(path).items():
            print(f"    {key} = {default}")
    return 0


def _strip(args) -> int:
    import nbformat

    from colorbench.notebooks_run import has_outputs, notebooks_dir, strip_outputs

    targets = args.paths or sorted(notebooks_dir().glob("*.ipynb"))
    dirty = 0
    for path in targets:
        nb = nbformat.read(str(path), as_version=4)
        if args.check:
            cells = has_outputs(nb)
            if cells:
                dirty += 1
                print(f"{path}: outputs in code cells {cells}")
        elif strip_outputs(nb):
            nbformat.write(nb, str(path))
            print(f"stripped {path}")
    return 1 if dirty else 0
