"""What a run records about where it ran: package versions, git commit, device, timestamps."""

from __future__ import annotations

import datetime as _dt
import importlib.metadata
import platform
import re
import subprocess
import sys
from pathlib import Path

from colorbench import __version__

_PACKAGES = ("numpy", "pillow", "scikit-image", "torch", "torchvision", "lpips", "diffusers", "transformers",
             "tensorflow", "onnxruntime", "torchmetrics")


def now_iso() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def package_versions() -> dict[str, str]:
    versions = {"python": sys.version.split()[0], "colorbench": __version__}
    for name in _PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            pass
    return versions


def git_sha() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).resolve().parent, capture_output=True,
                             text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode != 0:
        return None
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                           cwd=Path(__file__).resolve().parent,
                           capture_output=True, text=True, timeout=5).stdout.strip()
    return out.stdout.strip() + ("-dirty" if dirty else "")


def resolve_device(device: str) -> str:
    """``auto`` -> ``cuda`` when a GPU is visible, else ``cpu``; explicit devices are checked."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if not re.fullmatch(r"cpu|cuda(:\d+)?|mps", device):
        raise ValueError(f"device {device!r} is not one of auto, cpu, cuda, cuda:N (e.g. cuda:1), mps")
    if device == "mps" and not (torch.backends.mps.is_available()):
        raise ValueError("device 'mps' requested but no Apple GPU (MPS) is available; use --device cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} requested but no CUDA GPU is visible; use --device cpu "
                         f"(in Colab: Runtime > Change runtime type > GPU)")
    if device.startswith("cuda:") and int(device.split(":")[1]) >= torch.cuda.device_count():
        raise ValueError(f"device {device!r} requested but only {torch.cuda.device_count()} CUDA GPU(s) are visible "
                         f"(cuda:0 … cuda:{torch.cuda.device_count() - 1})")
    return device


def device_description(device: str) -> dict[str, str]:
    import torch

    info = {"device": device, "platform": platform.platform(), "processor": platform.processor() or platform.machine()}
    if device.startswith("cuda"):
        index = torch.device(device).index or 0
        info["gpu"] = torch.cuda.get_device_name(index)
        info["cuda"] = str(torch.version.cuda)
    else:
        info["threads"] = str(torch.get_num_threads())
    return info
