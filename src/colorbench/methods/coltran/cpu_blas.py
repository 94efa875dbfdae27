"""ColTran's large float32 products on a CPU through numpy's OpenBLAS where torch's MKL is the slower library.

Why: torch's x86 wheels multiply float32 matrices with Intel MKL, which may run a generic path on AMD CPUs; numpy's
wheels carry OpenBLAS, which picks a kernel for the CPU it finds. On this project's first AMD EPYC (AVX2) the
upsamplers' products ran at 45-57 GFLOP/s in torch and 67-75 in numpy, on 1 or 2 threads (``benchmarks/cpu_blas.py``,
``benchmarks/out/cpu_blas.json``), and products are ~85 % of an upsampler's CPU time (torch.profiler). The vendor
alone does not decide it: on a Zen 4 EPYC with AVX-512 the two libraries were equal (issue 27), and either library's
kernels change with its version. So ``auto`` measures: the first time a process needs the choice, a short timing
of one upsampler-shaped product in each library (:func:`measure`, a second or two) picks the faster, and
the answer is kept in ``$XDG_CACHE_HOME/colorbench/cpu_blas.json`` (default ``~/.cache``) under a key naming the
CPU, its flags, both libraries' versions and the thread count: another machine, library or thread count measures
again. OpenBLAS must win by :data:`MARGIN` to be chosen (torch's path needs no round trip through numpy).
Where OpenBLAS is chosen, products of at least :data:`MIN_ROWS` rows go through ``numpy.matmul`` on the tensors'
own memory (no copy); anywhere else (GPU, other dtypes, small products such as the sampler's per-pixel steps,
autograd) torch does the product as before.
The two libraries sum in other orders, so the logits differ in the last bits (~1e-6 relative) and an argmax can
differ only at a near-tie. ``COLORBENCH_CPU_BLAS=torch`` (or ``openblas``) overrides the choice (nothing measured).
OpenBLAS keeps its own thread pool: every product sets it to torch's current thread count first, so ``cpu_threads`` (or
``torch.set_num_threads``) governs both libraries. Its idle threads would spin while torch's pool works (and torch's
while OpenBLAS works); ``import colorbench`` sets ``OPENBLAS_THREAD_TIMEOUT=4`` (unless set) so they sleep at once.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

ENV = "COLORBENCH_CPU_BLAS"
CHOICES = ("auto", "torch", "openblas")
# Below this many rows a product is too small for the library to matter and the round trip through numpy would be
# a noticeable share: the sampler's per-pixel products (batch-sized rows) keep torch's path
MIN_ROWS = 256
#: OpenBLAS must be this much faster (torch's seconds / OpenBLAS's) to be chosen: below it, timing noise
MARGIN = 1.05
#: the measured product: one image's q/k/v-sized rows of a colour upsampler layer, cut to keep the timing short
MEASURE_SHAPE = (2048, 512, 512)
CACHE_NAME = "cpu_blas.json"


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
def _cpu_key_parts() -> tuple:
    """The CPU's model name and flags (/proc/cpuinfo's first CPU); empty strings where there is no such file."""
    model = flags = ""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as info:
            for line in info:
                key, _, value = line.partition(":")
                if key.strip() == "model name":
                    model = value.strip()
                elif key.strip() == "flags":
                    flags = value.strip()
                    break
    except OSError:
        pass
    return model, flags


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
    return setting == "openblas" or measured_choice() == "openblas"


def decide(torch_seconds: float, openblas_seconds: float) -> str:
    """The faster library by median seconds, torch unless OpenBLAS wins by :data:`MARGIN`."""
    return "openblas" if torch_seconds > MARGIN * openblas_seconds else "torch"


def cache_file() -> Path:
    """Where measured choices are kept: ``$XDG_CACHE_HOME/colorbench/cpu_blas.json`` (default ``~/.cache``)."""
    root = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(root) / "colorbench" / CACHE_NAME


def cache_key() -> str:
    """What the choice depends on: the CPU (model, flags), torch's and OpenBLAS's versions, the thread count."""
    return _cache_key(torch.get_num_threads())


@functools.cache
def _cache_key(threads: int) -> str:  # asked before every large product: built once per thread count
    model, flags = _cpu_key_parts()
    libs = sorted(f"{lib.internal_api} {lib.version} {lib.architecture}" for lib in _openblas_libs()
                  if hasattr(lib, "version"))
    torch_blas = torch.__config__.show().split("BLAS_INFO=")[-1].split(",")[0]
    text = json.dumps([model, flags, torch.__version__, torch_blas, libs, threads])
    return f"{model or 'cpu'} | {threads} threads | {hashlib.sha256(text.encode()).hexdigest()[:16]}"


def measure(repeats: int = 5) -> dict:
    """Median wall seconds of one :data:`MEASURE_SHAPE` float32 product in torch and in OpenBLAS, alternating, at
    torch's thread count (OpenBLAS set to it as for every product)."""
    rows, inner, outer = MEASURE_SHAPE
    gen = torch.Generator().manual_seed(0)
    x, w = torch.randn(rows, inner, generator=gen), torch.randn(inner, outer, generator=gen)
    sides = {"torch": lambda: x @ w, "openblas": lambda: _openblas_matmul(x, w)}
    seconds: dict[str, list] = {name: [] for name in sides}
    with torch.no_grad():
        for fn in sides.values():
            fn()  # warm-up: thread pools, first touch of the output
        for _ in range(repeats):
            for name, fn in sides.items():
                start = time.perf_counter()
                fn()
                seconds[name].append(time.perf_counter() - start)
    return {name: sorted(s)[len(s) // 2] for name, s in seconds.items()}


_choices: dict[str, str] = {}  # this process's answers, by cache key


def measured_choice() -> str:
    """``auto``'s answer: from this process's memory, else the cache file, else :func:`measure` (then cached)."""
    key = cache_key()
    if key in _choices:
        return _choices[key]
    path = cache_file()
    try:
        known = json.loads(path.read_text(encoding="utf-8"))
        known = known if isinstance(known, dict) else {}
    except (OSError, ValueError):
        known = {}  # absent or damaged: measured again and rewritten
    entry = known.get(key)
    if not (isinstance(entry, dict) and entry.get("choice") in ("torch", "openblas")):
        timing = measure()
        entry = {"choice": decide(timing["torch"], timing["openblas"]), "median_seconds": timing,
                 "shape": list(MEASURE_SHAPE), "measured": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        known[key] = entry
        try:
            from colorbench import atomic

            atomic.write_json(path, known)
        except OSError:
            pass  # a read-only home: this process still keeps its answer
    _choices[key] = entry["choice"]
    return entry["choice"]


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
