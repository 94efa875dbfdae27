"""How many image-channels an upsampler encodes at once: from the memory the device has, unless told.

The upsamplers run each colour channel of each image as one item through the same encoder. An item's activations
are ``R x R x hidden`` floats per tensor (256 x 256 x 512 x 4 B = 128 MiB for the spatial upsampler in float32),
and a layer keeps about :data:`LIVE_ACTIVATIONS` of them alive at its peak (residual input, q, k, v, attention
output and its re-laid-out copy, projection, sum, norm; the feed-forward's hidden layer is ``ff/hidden`` more).
Chunking by items instead of by images lets a machine that cannot hold three channels of one image still run.

Available memory: CUDA — the driver's free memory (``torch.cuda.mem_get_info``) plus what torch's cache already
holds; CPU — ``MemAvailable`` from ``/proc/meminfo`` (the kernel's estimate of what can be allocated without
swapping). Only :data:`CPU_SHARE` of it on a CPU (other processes share the machine) and :data:`CUDA_SHARE` on a GPU.
On a CPU an item is also counted :data:`CPU_HEAP_OVERHEAD` times: the upsamplers run there inside
:func:`~colorbench.methods.coltran.heap.reused_heap`, which keeps freed blocks in the heap for reuse, so a pass peaks
above its live tensors.
"""

from __future__ import annotations

import os

import torch

LIVE_ACTIVATIONS = 10  # (R x R x hidden)-sized tensors alive at a layer's peak, per item (see the module docstring)
CPU_SHARE = 0.5
CUDA_SHARE = 0.8
#: peak RSS on a CPU with the reused heap, per image-channel of the full-size spatial upsampler, over the estimate:
#: 1.09x for one layer (benchmarks/out/coltran_memory.json, with_reused_heap) and 1.50x for the whole model's first
#: call on one image, three channels in one pass (coltran_vs_official.json, first_call_peak_extra_rss_bytes / 3: 6.18
#: GiB; 1.31x in an earlier run); the figure moves with what glibc keeps, so 1.75 keeps a margin over the highest
CPU_HEAP_OVERHEAD = 1.75


def bytes_per_item(resolution: int, hidden: int, ff_size: int, dtype: torch.dtype) -> int:
    """Estimated peak activation bytes of one image-channel in an upsampler's encoder."""
    element = torch.finfo(dtype).bits // 8
    return resolution * resolution * (LIVE_ACTIVATIONS * hidden + ff_size) * element


def available_bytes(device: torch.device) -> int:
    """Memory this process can still use on ``device`` (before the safety share is applied)."""
    if device.type == "cuda":
        free, _total = torch.cuda.mem_get_info(device)
        return int(free + torch.cuda.memory_reserved(device) - torch.cuda.memory_allocated(device))
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")  # free pages: a conservative fallback


def auto_items(per_item: int, n_items: int, device: torch.device, available: int | None = None) -> int:
    """Items per chunk that fit the device's share of free memory: at least 1, at most ``n_items``."""
    available = available_bytes(device) if available is None else available
    if device.type == "cuda":
        share = CUDA_SHARE
    else:
        share, per_item = CPU_SHARE, int(per_item * CPU_HEAP_OVERHEAD)
    return max(1, min(n_items, int(available * share) // max(1, per_item)))
