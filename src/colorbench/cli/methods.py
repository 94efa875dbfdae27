"""``colorbench methods``: the registered colorization methods and what each still needs."""

from __future__ import annotations

import argparse

from colorbench.cli.common import command


def register(subparsers: argparse._SubParsersAction) -> None:
    command(subparsers, "methods", _methods_list, help="list the registered colorization methods")


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
        family = getattr(cls, "family", "?")  # unset only on a method that breaks the contract (a test catches it)
        print(f"  {name:26s} {family:12s} {kind:13s} {state}\n      {cls.description}")
    return 0
