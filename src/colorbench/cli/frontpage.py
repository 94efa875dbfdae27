"""``colorbench frontpage picture RUN`` and ``colorbench frontpage table FOLDER``: README's picture and results table
from a run, so a fork remakes its front page from its own run. Thin over :mod:`colorbench.report.front_page` and
:mod:`colorbench.report.results_table`."""

from __future__ import annotations

from colorbench.cli.common import add_option, command, group, int_at_least

PICTURE = "colorbench.report.front_page:front_page_picture"  # where the picture's defaults are, read lazily


def register(subparsers) -> None:
    sub = group(subparsers, "frontpage", help="README's picture and results table, made from a run")
    picture = command(
        sub, "picture", _picture,
        help="gray input | true colours | each method for a few photos, with the verdict, as one small JPEG",
        description="Draws the report's image grid for a few scored photos of a reported run (every method the run "
                    "has, the headline metric under each output) with the run's verdict below, into OUT/NAME.jpg.",
        epilog="example:\n  colorbench frontpage picture sports-test --out docs/img",
        interrupt_hint="nothing was written; rerun the same command")
    picture.add_argument("run", help="run name (under results/) or run folder path; scored and reported")
    add_option(picture, "--out", PICTURE, "out_dir", help="folder for the picture")
    add_option(picture, "--name", PICTURE, help="file name without .jpg")
    add_option(picture, "--images", PICTURE, "n_images", type=int_at_least(1), help="photos shown")
    add_option(picture, "--seed", PICTURE, type=int, help="seed of the photos' selection")

    table = command(
        sub, "table", _table,
        help="README's results table from a results folder (metrics.json + tables/headline.csv)",
        description="Prints the Markdown results table of FOLDER: a run's metrics.json and tables/headline.csv, "
                    "plus sub-folders of the same shape for other LPIPS trunks (one LPIPS column each). With "
                    "--readme, rewrites every table README marks with `<!-- results-table: FOLDER -->` instead; "
                    "--check only says whether they are current (exit 1 if not).",
        epilog="example:\n  colorbench frontpage table docs/results/sports-test\n"
               "  colorbench frontpage table --readme README.md",
        interrupt_hint="rerun the same command")
    table.add_argument("folder", nargs="?", help="results folder (not needed with --readme)")
    table.add_argument("--readme", help="Markdown file whose marked tables to regenerate")
    table.add_argument("--check", action="store_true", help="with --readme: change nothing, exit 1 if out of date")


def _picture(args) -> int:
    from colorbench.report.front_page import front_page_picture
    from colorbench.runfolder import resolve_run

    path = front_page_picture(resolve_run(args.run), args.out, n_images=args.images, seed=args.seed, name=args.name)
    print(f"wrote {path} ({path.stat().st_size / 1024:.0f} KiB)")
    return 0


def _table(args) -> int:
    from colorbench.cli import ColorbenchError
    from colorbench.report.results_table import marked_tables, results_table, update_readme

    if not args.readme:
        if not args.folder:
            raise ColorbenchError("give a results folder (e.g. docs/results/sports-test) or --readme README.md")
        print(results_table(args.folder), end="")
        return 0
    from pathlib import Path

    from colorbench.messages import plural

    marked = marked_tables(args.readme)
    if not marked:
        raise ColorbenchError(f"{args.readme} has no `<!-- results-table: FOLDER -->` … `<!-- /results-table -->` "
                              "block: add one where the table goes")
    if args.check:
        stale = [f for f, body in marked if results_table(Path(args.readme).parent / f) != body]
        for folder in stale:
            print(f"{args.readme}: the table of {folder} is out of date: run "
                  f"`colorbench frontpage table --readme {args.readme}`")
        return 1 if stale else 0
    changed = update_readme(args.readme)
    print(f"{args.readme}: {len(changed)} of {plural(len(marked), 'table')} regenerated")
    return 0
