"""Which machine a benchmark ran on: every JSON in ``benchmarks/out/`` records :func:`machine` under ``"machine"``.

Speed ratios depend on the CPU (ColTran's colour upsampler is 1.88x the official code on one AMD EPYC and 1.25x
on a Zen 4 EPYC with AVX-512: issue 27), so a figure without its machine cannot be checked or compared. Recorded:
the CPU model and vendor, the cores this process may use and the machine's count, the instruction-set flags that
decide which BLAS kernels run (AVX2, FMA, AVX-512 and AMX families), the BLAS libraries loaded (threadpoolctl:
numpy's OpenBLAS, torch's MKL/OpenMP, with their versions, kernel architecture and threads), torch's own build
(its BLAS, LAPACK and CPU capability), the GPU when CUDA is there, and the load average (a shared machine's
figures are slower by about the load over the core count).

    from _machine import write_json      # benchmarks/ is on sys.path when a script there runs
    write_json(out_path, report)         # report["machine"] gets machine()'s fields
"""

from __future__ import annotations

import os
import platform
import re

#: instruction sets that change which BLAS/oneDNN kernels run (the rest of /proc/cpuinfo's flags do not)
BLAS_FLAG = re.compile(r"^(avx2|fma|avx512\w*|amx\w*|avx_vnni\w*|avx_ifma)$")


def cpu_info(path: str = "/proc/cpuinfo") -> dict:
    """``model``, ``vendor`` and the BLAS-relevant ``flags`` of the first CPU listed; empty values off Linux."""
    model, vendor, flags = platform.processor() or platform.machine(), None, []
    try:
        with open(path, encoding="ascii", errors="replace") as info:
            for line in info:
                key, _, value = line.partition(":")
                key = key.strip()
                if key == "model name":
                    model = value.strip()
                elif key == "vendor_id":
                    vendor = value.strip()
                elif key == "flags":
                    flags = sorted(f for f in value.split() if BLAS_FLAG.match(f))
                    break  # one CPU is enough: the others repeat it
    except OSError:
        pass
    return {"model": model, "vendor": vendor, "blas_flags": flags}


def blas_libraries() -> list[dict]:
    """Every BLAS/OpenMP library loaded in this process, as threadpoolctl sees it (load torch and numpy first)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return []
    keep = ("user_api", "internal_api", "version", "architecture", "threading_layer", "num_threads")
    return [{**{k: lib.get(k) for k in keep if lib.get(k) is not None},
             "file": os.path.basename(lib.get("filepath", ""))} for lib in threadpool_info()]


def torch_build() -> dict:
    """torch's version, its BLAS and LAPACK (from ``torch.__config__``), the CPU capability it dispatches to,
    its thread count and the GPU (name, capability, CUDA) when CUDA is available; {} without torch."""
    try:
        import torch
    except ImportError:
        return {}
    config = torch.__config__.show()

    def setting(name: str) -> str | None:
        found = re.search(rf"{name}=([^,\n]+)", config)
        return found.group(1).strip() if found else None

    found = {"version": torch.__version__, "blas": setting("BLAS_INFO"), "lapack": setting("LAPACK_INFO"),
             "cpu_capability": getattr(torch.backends.cpu, "get_cpu_capability", lambda: None)(),
             "threads": torch.get_num_threads()}
    if torch.cuda.is_available():
        index = torch.cuda.current_device()
        found["gpu"] = {"name": torch.cuda.get_device_name(index),
                        "capability": ".".join(map(str, torch.cuda.get_device_capability(index))),
                        "cuda": torch.version.cuda, "count": torch.cuda.device_count()}
    return found


def device_info(device: str) -> dict:
    """What one run adds to :func:`machine`: the device it measured on, torch's thread count, and for CUDA the GPU's
    name, memory and compute capability (``device`` may name another GPU than the current one)."""
    import torch

    info = {"device": device, "torch_threads": torch.get_num_threads()}
    if device.startswith("cuda"):
        props = torch.cuda.get_device_properties(torch.device(device))
        info.update(gpu=props.name, gpu_memory_gib=round(props.total_memory / 2**30, 1),
                    compute_capability=f"{props.major}.{props.minor}")
    return info


def machine() -> dict:
    """The machine this process runs on, as the benchmarks record it (see the module doc)."""
    try:
        usable = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        usable = os.cpu_count()
    return {"cpu": cpu_info(), "cores": os.cpu_count(), "cores_usable": usable,
            "blas_libraries": blas_libraries(), "torch": torch_build(),
            "platform": platform.platform(), "python": platform.python_version(),
            "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None}


def write_json(path, report: dict) -> None:
    """Write a benchmark's ``report`` to ``path`` (folders made) with :func:`machine` under ``"machine"``.

    Fields a script recorded there itself stay, except those :func:`machine` names too (``cpu``, ``cores``, …):
    its value is the fuller one. ``report`` itself is updated, so a script that prints it prints the machine too."""
    import json
    from pathlib import Path

    report["machine"] = {**(report.get("machine") or {}), **machine()}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, default=str) + "\n", encoding="utf-8")


if __name__ == "__main__":
    import json

    print(json.dumps(machine(), indent=2))
