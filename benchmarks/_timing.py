"""Timing a method's ``colorize`` the one way the method benchmarks do (``ddcolor.py``, ``zhang.py``).

    from _timing import time_colorize   # benchmarks/ is on sys.path when a script there runs
    totals, networks = time_colorize(method, grays, repeats=3, warm_up=grays[:1])
"""

from __future__ import annotations

import time


def time_colorize(method, grays: list, repeats: int, warm_up: list) -> tuple[list[float], list[float]]:
    """Seconds of each of ``repeats`` calls of ``method.colorize(grays)``, end to end and inside the network
    (``method.stage_seconds["network"]``), after one call on ``warm_up`` (cuDNN autotune, allocations)."""
    method.colorize(warm_up, seed=0)
    totals, networks = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        method.colorize(grays, seed=0)
        totals.append(time.perf_counter() - start)
        networks.append(method.stage_seconds["network"])
    return totals, networks
