"""ColTran's large float32 products on a CPU through numpy's OpenBLAS where torch's MKL is the slower library.

Why: torch's x86 wheels multiply float32 matrices with Intel MKL, which runs a generic path on AMD CPUs; numpy's
wheels carry OpenBLAS, which picks a kernel for the CPU it finds. On this project's AMD EPYC (AVX2) the upsamplers'
products run at 45-57 GFLOP/s in torch and 67-75 in numpy, on 1 or 2 threads (``benchmarks/cpu_blas.py``,
``benchmarks/out/cpu_blas.json``), and products are ~85 % of an upsampler's CPU time (torch.profiler).
So on an AMD (or Hygon) CPU, when numpy's BLAS is OpenBLAS, products of at least :data:`MIN_ROWS` rows go through
``numpy.matmul`` on the tensors' own memory (no copy); anywhere else (GPU, other dtypes, small products such as the
sampler's per-pixel steps, autograd, Intel CPUs where MKL is at home) torch does the product as before.
The two libraries sum in other orders, so the logits differ in the last bits (~1e-6 relative) and an argmax can
differ only at a near-tie. ``COLORBENCH_CPU_BLAS=torch`` (or ``openblas``) overrides the choice. OpenBLAS keeps its
own thread pool: every product sets it to torch's current thread count first, so ``cpu_threads`` (or
``torch.set_num_threads``) governs both libraries. Its idle threads would spin while torch's pool works (and torch's
while OpenBLAS works); ``import colorbench`` sets ``OPENBLAS_THREAD_TIMEOUT=4`` (unless set) so they sleep at once.
"""

from __future__ import annotations

import functools
import os

import numpy as np
import torch
import torch.nn.functional as F

ENV = "COLORBENCH_CPU_BLAS"
CHOICES = ("auto", "torch", "openblas")
# Below this many rows a product is too small for the library to matter and the round trip through numpy would be
# a noticeable share: the sampler's per-pixel products (batch-sized rows) keep torch's path
MIN_ROWS = 256
OPENBLAS_FRIENDLY_VENDORS = ("AuthenticAMD", "HygonGenuine")  # MKL's fast paths check for Intel CPUs


@functools.cache
def _cpu_vendor() -> str | None:
    """The CPU vendor string (``vendor_id`` of /proc/cpuinfo); None where there is no such file (not Linux)."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as info:
            for line in info:
                if line.startswith("vendor_id"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        return None
    return None


@functools.cache
def _openblas_libs() -> tuple:
    """threadpoolctl's controllers of every OpenBLAS loaded (numpy's, and e.g. scipy's own copy), when numpy's BLAS
    is OpenBLAS; empty otherwise. All of them get torch's thread count: which one is numpy's is not reliably known
    from the list's order, and a pool left at the core count makes a "1 thread" run use them all."""
    from threadpoolctl import ThreadpoolController

    blas = np.__config__.CONFIG.get("Build Dependencies", {}).get("blas", {}) if hasattr(np.__config__, "CONFIG") \
        else {"name": "openblas"}  # numpy < 1.26 has no CONFIG; its wheels carry OpenBLAS
    if "openblas" not in str(blas.get("name", "")).lower():
        return ()
    return tuple(ThreadpoolController().select(internal_api="openblas").lib_controllers)


def choice() -> str:
    """The backend setting: ``auto`` unless ``COLORBENCH_CPU_BLAS`` names another (a wrong name is an error)."""
    value = os.environ.get(ENV, "auto").strip().lower() or "auto"
    if value not in CHOICES:
        raise ValueError(f"{ENV}={os.environ[ENV]!r}: use one of {', '.join(CHOICES)}")
    return value


def uses_openblas() -> bool:
    """Whether large CPU float32 products go through numpy's OpenBLAS (see the module doc)."""
    setting = choice()
    if setting == "torch":
        return False
    if not _openblas_libs():
        if setting == "openblas":
            raise RuntimeError(f"{ENV}=openblas, but numpy's BLAS is not OpenBLAS here; unset {ENV} or use 'torch'")
        return False
    return setting == "openblas" or _cpu_vendor() in OPENBLAS_FRIENDLY_VENDORS


def _takes(x: torch.Tensor, w: torch.Tensor) -> bool:
    return (x.device.type == "cpu" and w.device.type == "cpu" and x.dtype == torch.float32
            and w.dtype == torch.float32 and x.dim() >= 2 and w.dim() == 2
            and x.numel() >= MIN_ROWS * x.shape[-1]
            and not (torch.is_grad_enabled() and (x.requires_grad or w.requires_grad))
            and uses_openblas())


def _openblas_matmul(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    threads = torch.get_num_threads()
    for blas in _openblas_libs():
        if blas.get_num_threads() != threads:  # C calls: cheap beside a product of this size
            blas.set_num_threads(threads)
    rows = x.reshape(-1, x.shape[-1])
    out = np.matmul(rows.numpy(), w.detach().numpy())
    return torch.from_numpy(out).reshape(*x.shape[:-1], w.shape[-1])


def matmul(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """``x @ w`` for ``x (..., K)`` and ``w (K, N)``, by OpenBLAS where the module doc says so, else by torch."""
    return _openblas_matmul(x, w) if _takes(x, w) else x @ w


def linear(x: torch.Tensor, kernel: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """``x @ kernel + bias`` (Keras Dense, kernel ``(in, out)``); torch's path is ``F.linear`` as before."""
    if not _takes(x, kernel):
        return F.linear(x, kernel.t(), bias)
    out = _openblas_matmul(x, kernel)
    return out.add_(bias) if bias is not None else out
