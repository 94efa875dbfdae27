"""``colorbench methods``: the registered colorization methods and what each still needs."""

from __future__ import annotations

import argparse

from colorbench.cli.common import command


def register(subparsers: argparse._SubParsersAction) -> None:
    command(subparsers, "methods", _methods_list, help="list the registered colorization methods")


def _methods_list(args) -> int:
    from colorbench.methods.listing import method_rows

    for row in method_rows():  # the same rows as the notebooks' methods table
        if not row.importable:
            print(f"  {row.name:26s} ({row.why_not})")
            continue
        print(f"  {row.name:26s} {row.family:12s} {row.kind:13s} {row.why_not or 'ready'}\n      {row.description}")
    return 0
