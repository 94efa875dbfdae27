"""benchmarks/peak.py: the sampler behind the benchmarks' memory figures keeps the largest reading, also one that
only the background thread saw, and the reading at entry as the base."""

from __future__ import annotations

import time

from conftest import load_script


def _peak_module():
    return load_script("benchmarks/peak.py")


def test_the_peak_seen_only_while_the_block_runs_is_kept():
    peak = _peak_module()
    level = {"now": 100}
    with peak.PollingPeak(lambda: level["now"], 0.001) as seen:
        level["now"] = 900  # a transient high that is gone before the block ends
        deadline = time.monotonic() + 5
        while seen.peak < 900 and time.monotonic() < deadline:
            time.sleep(0.001)
        level["now"] = 300
    assert (seen.base, seen.peak, seen.extra_bytes) == (100, 900, 800)


def test_rss_is_the_resident_size_of_this_process():
    rss = _peak_module().rss_bytes()
    with open("/proc/self/status", encoding="ascii") as status:
        vm_rss_kib = next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))
    assert abs(rss - vm_rss_kib * 1024) < 64 * 2**20  # same figure, read a moment apart
