"""``colorbench`` command line: thin over the package's functions.

One module per command group, each with ``register(subparsers)``; adding a group is one line in
``COMMAND_MODULES``. What the groups share (the user-facing error, registering a command, flag defaults read from
the config dataclasses) is in :mod:`colorbench.cli.common`; the work itself is in the modules a command calls.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from colorbench import __version__
from colorbench.cli.common import ColorbenchError, int_at_least, reject_unknown_arguments

__all__ = ["COMMAND_MODULES", "ColorbenchError", "build_parser", "int_at_least", "main"]

COMMAND_MODULES = [
    "colorbench.cli.data",  # data download | info
    "colorbench.cli.weights",  # weights list | fetch
    "colorbench.cli.methods",  # methods
    "colorbench.cli.run",  # run, demo
    "colorbench.cli.notebooks",  # notebooks run | list | strip
    "colorbench.cli.coltran",  # coltran convert / info
    "colorbench.cli.train",  # train cnn
    "colorbench.cli.evaluate",  # score, report
    "colorbench.cli.judge",  # judge, judge-report (the eye test)
    "colorbench.cli.merge",  # merge, import
    "colorbench.cli.frontpage",  # frontpage picture | table (README's picture and results table)
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="colorbench",
        description=(
            "Compare colorization methods, each family at its best (CNNs; transformers: DDColor, ColTran; "
            "diffusion: Stable Diffusion + ControlNets) on the same grayscale inputs, score them against the true "
            "colours and report, family answer first. Typical flow: `colorbench run` -> "
            "`colorbench score RUN` -> `colorbench report RUN`."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"colorbench {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="show debug logging and full tracebacks")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        reject_unknown_arguments(getattr(getattr(args, "func", None), "parser", parser), unknown)
    configure_logging(args.verbose)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        hint = getattr(args, "interrupt_hint", "finished outputs are kept — rerun the same command to resume")
        print(f"interrupted; {hint}", file=sys.stderr)
        return 130
    except Exception as exc:  # user-facing errors: one clear line, traceback only with -v
        from colorbench.weights import WeightsUnavailable

        if args.verbose or not isinstance(exc, (ColorbenchError, WeightsUnavailable, OSError, ValueError, KeyError)):
            raise
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc  # str(KeyError) adds quotes
        print(f"colorbench: error: {message}", file=sys.stderr)
        return 2


def configure_logging(verbose: bool) -> None:
    """colorbench's own messages at INFO (DEBUG with -v); every other library's stay at WARNING even with -v, so
    -v shows our debug output, not PIL's per-chunk `STREAM b'IDAT'` lines or HTTP clients' chatter."""
    logging.basicConfig(level=logging.WARNING, format="%(message)s", handlers=[AboveProgressBars()])
    logging.getLogger().setLevel(logging.WARNING)  # also when something configured the root logger before us
    logging.getLogger("colorbench").setLevel(logging.DEBUG if verbose else logging.INFO)


class AboveProgressBars(logging.StreamHandler):
    """A stderr handler that writes through ``tqdm.write``: a warning logged while a progress bar is drawn (an
    unreadable image while inputs are prepared or scored) gets a line of its own instead of being glued to the end
    of the bar's line (``prepare inputs:   0%|          | 0/5 [00:00<?, ?img/s]skipping …/notes.jpg: …``)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            from tqdm import tqdm

            tqdm.write(self.format(record), file=self.stream)
        except Exception:  # as logging.StreamHandler does: a broken stream must not stop the command
            self.handleError(record)
