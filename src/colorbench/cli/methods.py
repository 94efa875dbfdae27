"""``colorbench methods``: the registered colorization methods and what each still needs."""

from __future__ import annotations

import argparse

from colorbench.cli.common import command


def register(subparsers: argparse._SubParsersAction) -> None:
    command(subparsers, "methods", _methods_list, help="list the registered colorization methods")


def _methods_list(args) -> int:
    from colorbench.messages import aligned
    from colorbench.methods.listing import method_rows

    rows = method_rows()  # the same rows as the notebooks' methods table
    # columns as wide as their contents: a plug-in's long name must not push the others out of line
    cells = [(r.name, r.family, r.kind, r.why_not or "ready") if r.importable else (r.name, f"({r.why_not})")
             for r in rows]
    for row, line in zip(rows, aligned(cells, indent="  ")):
        print(line + (f"\n      {row.description}" if row.importable else ""))
    return 0
