"""The peak of a memory reading while a block of code runs, sampled in a background thread.

One definition for the benchmarks' two memory figures: ``coltran_memory.py`` reads the bytes malloc has handed out
and not had back (:func:`colorbench.methods.coltran.heap.live_bytes`, every millisecond), ``coltran_vs_official.py``
the process's resident memory (:func:`rss_bytes`, every 20 ms, for TensorFlow's side too). torch's and
TensorFlow's operations release the GIL, so the thread samples while they run.
"""

from __future__ import annotations

import os
import threading
from typing import Callable


def rss_bytes() -> int:
    """The process's resident memory now (``/proc/self/statm``; Linux)."""
    with open("/proc/self/statm", encoding="ascii") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class PollingPeak:
    """``with PollingPeak(read, period) as p: ...`` leaves ``p.base`` (the reading at entry), ``p.peak`` (the largest
    reading while the block ran, entry and exit included) and ``p.extra_bytes`` (``peak - base``)."""

    def __init__(self, read: Callable[[], int], period_s: float):
        self.read, self.period_s = read, period_s

    def __enter__(self) -> "PollingPeak":
        self.base = self.peak = self.read()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()
        return self

    def _poll(self) -> None:
        while not self._stop.wait(self.period_s):
            self.peak = max(self.peak, self.read())

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.read())
        self.extra_bytes = self.peak - self.base
