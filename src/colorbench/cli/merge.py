"""``colorbench merge OUT RUN_A RUN_B …`` and ``colorbench import RUN --method NAME --from FOLDER``: one comparison
from runs made on several machines, and from outputs made by other tools."""

from __future__ import annotations

from colorbench.cli.common import add_option, command
from colorbench.methods.families import FAMILIES

IMPORT = "colorbench.external:import_outputs"  # where import's defaults are, read lazily


def register(subparsers) -> None:
    merge = command(
        subparsers, "merge", _merge,
        help="one run folder from run folders made on different machines",
        description="Copies the inputs and every method's images, timings and failures of RUN_A, RUN_B, ... into "
                    "the new folder OUT, recording where each method came from. Refuses runs on different inputs "
                    "(compared by content hash), a method made with other settings in two runs, and smoke and real "
                    "runs mixed. Then: colorbench score OUT && colorbench report OUT.")
    merge.add_argument("out", help="the new run folder (a run name under results/, or a path)")
    merge.add_argument("runs", nargs="+", metavar="RUN", help="run names (under results/) or run folder paths")

    imp = command(
        subparsers, "import", _import,
        help="add outputs made by another tool to a run, as an imported method",
        description="Matches the image files of FOLDER to the run's images, takes each through colorbench's "
                    "protocol (ab resized to the input and L-merged, the file kept in raw/) and records their "
                    "hashes in run.json. Missing, unmatched, ambiguous and unreadable files are listed; the rest "
                    "is imported. Several --from folders give K samples per image (a stochastic method).",
        epilog="example:\n  colorbench import demo --method ddcolor --from ~/ddcolor_out --match filename "
               "--note 'DDColor tiny, official repo'")
    imp.add_argument("run", help="run name (under results/) or run folder path")
    imp.add_argument("--method", required=True, help="name the imported method gets (not a colorbench method's name)")
    imp.add_argument("--from", dest="sources", action="append", required=True, metavar="FOLDER",
                     help="folder of colorized images (repeat for sample k=1, 2, ... of a stochastic method)")
    add_option(imp, "--match", IMPORT, choices=["id", "filename"],
               help="id: files named <sample id>.<ext>; filename: named like the original images")
    add_option(imp, "--note", IMPORT, help="free text recorded in run.json (tool, version, settings)")
    add_option(imp, "--family", IMPORT, choices=list(FAMILIES), show=False,
               help="the imported method's family, for the report's family answer; without it the method is "
                    "shown as family 'unknown' and left out of the family answer (the report says so)")
    imp.add_argument("--no-l-merge", action="store_true",
                     help="keep the files as they are (input's size required): for oracles and checks only — "
                          "their luminance is not the input's, so they do not compare fairly with L-merged methods")


def _merge(args) -> int:
    from colorbench.merge import merge_runs
    from colorbench.messages import plural
    from colorbench.runfolder import new_run_path, resolve_run

    out = merge_runs(new_run_path(args.out), [resolve_run(r) for r in args.runs])
    print(f"merged {plural(len(args.runs), 'run')} into {out}; next: colorbench score {out}")
    return 0


def _import(args) -> int:
    from colorbench.external import import_outputs
    from colorbench.runfolder import resolve_run

    report = import_outputs(resolve_run(args.run), args.method, args.sources, match=args.match, note=args.note,
                            l_merge=not args.no_l_merge, family=args.family)
    print(report.text())
    if report.written:  # a newcomer did not know what came next
        print(f"next: colorbench score {args.run} && colorbench report {args.run}")
    return 0 if report.written else 1
