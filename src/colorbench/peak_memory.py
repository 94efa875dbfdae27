"""Peak memory and timing fences of the runner's batches: the CUDA allocator's peak on a GPU, the process's peak
resident set on a CPU (reset per batch on Linux), and a CUDA synchronize so a batch's time includes its kernels."""

from __future__ import annotations

import resource
import sys


def peak_memory_mb(device: str) -> float:
    """Peak memory since the last :func:`reset_peak`: CUDA allocator peak, or on a CPU the process's peak resident
    set (Linux: VmHWM, which :func:`reset_peak` resets, so each batch reports its own peak; elsewhere the peak
    since the process started)."""
    if device.startswith("cuda"):
        import torch

        return torch.cuda.max_memory_allocated(torch.device(device)) / 2**20
    hwm = _linux_vm_hwm_kib()
    if hwm is not None:
        return hwm / 2**10
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # macOS reports bytes, Linux KiB
    return peak / (2**20 if sys.platform == "darwin" else 2**10)


def _linux_vm_hwm_kib() -> int | None:
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def reset_peak(device: str) -> None:
    if device.startswith("cuda"):
        import torch

        torch.cuda.reset_peak_memory_stats(torch.device(device))
        return
    try:  # Linux: "5" resets the peak resident set size (VmHWM) to the current one (proc(5), clear_refs)
        with open("/proc/self/clear_refs", "w", encoding="ascii") as clear_refs:
            clear_refs.write("5")
    except OSError:
        pass  # not Linux, or not allowed: the peak then covers the whole process so far


def sync(device: str) -> None:
    if device.startswith("cuda"):
        import torch

        torch.cuda.synchronize(torch.device(device))
