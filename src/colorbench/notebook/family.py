"""What the family notebooks (02: transformers, 03: diffusion) call to name their methods: which of them this
colorbench knows and can run here, and the list the run is given.

A notebook's ``METHODS`` may name a method this installation does not have (a notebook newer than the package, or
a typo in ``--params``): the table says "unknown method" with the known ones, and the run goes on without it
instead of stopping the notebook — the same treatment a method without weights gets from the runner.

Example::

    >>> known_methods(["gray", "no-such-method"], show=False)
    ['gray']
    >>> family_table(["no-such-method"]).loc[0, "why not"][:15]
    'unknown method:'
"""

from __future__ import annotations

from typing import Sequence

from colorbench.notebook.render import banner, display_or_print

COLUMNS = ["method", "family", "ready", "why not", "description"]


def unknown_reason(name: str) -> str:
    from colorbench.methods.registry import method_names

    return f"unknown method: this colorbench has no {name!r} (known: {', '.join(method_names())}); skipped"


def _names(methods: str | Sequence[str]) -> list[str]:
    """A notebook's METHODS as names: a list, or a string as ``--params`` gives it ("a,b"; "auto": every method)."""
    from colorbench.methods.registry import method_names

    if isinstance(methods, str):
        methods = [m.strip() for m in methods.split(",") if m.strip()]
    return method_names() if methods in ([], ["auto"]) else list(dict.fromkeys(methods))


def family_table(methods: str | Sequence[str]):
    """One row per named method: its family, whether it can run here and why not (:func:`colorbench.methods.
    readiness`, the answer ``colorbench methods`` gives; "unknown method" for a name the registry lacks)."""
    import pandas as pd

    from colorbench.methods.registry import method_class, method_names, readiness

    rows = []
    for name in _names(methods):
        if name not in method_names():
            rows.append({"method": name, "family": "—", "ready": False, "why not": unknown_reason(name),
                         "description": ""})
            continue
        why_not = readiness(name)
        try:
            cls = method_class(name)
        except ImportError:  # readiness already says what is missing
            family, description = "—", ""
        else:
            family, description = getattr(cls, "family", "—"), cls.description
        rows.append({"method": name, "family": family, "ready": why_not is None, "why not": why_not or "",
                     "description": description})
    return pd.DataFrame(rows, columns=COLUMNS)


def known_methods(methods: str | Sequence[str], *, show: bool = True) -> list[str]:
    """The named methods this colorbench has (in order, once each; "auto": all); with ``show``, a banner names the
    others."""
    from colorbench.methods.registry import method_names

    known = set(method_names())
    unknown = [m for m in _names(methods) if m not in known]
    if unknown and show:
        display_or_print(banner("; ".join(unknown_reason(m) for m in unknown), kind="warning"))
    return [m for m in _names(methods) if m in known]
