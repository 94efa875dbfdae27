"""One registry of methods, by name. Adding a method = one module + one line in ``_REGISTRY``.

Entries are import paths, so listing methods never imports torch, diffusers or TensorFlow.
"""

from __future__ import annotations

import importlib
from typing import Any

from colorbench.methods.base import Method

# name -> "module:Class"
_REGISTRY: dict[str, str] = {
    # the floor
    "gray": "colorbench.methods.gray:GrayBaseline",
    # CNNs
    "cnn-original": "colorbench.methods.cnn.original:CnnOriginal",
    "cnn-lpips": "colorbench.methods.cnn.lpips_cnn:CnnLpips",
    "cnn-mse": "colorbench.methods.cnn.lpips_cnn:CnnMse",
    "eccv16": "colorbench.methods.zhang.method:ECCV16Method",
    "siggraph17": "colorbench.methods.zhang.method:SIGGRAPH17Method",
    # transformer
    "coltran": "colorbench.methods.coltran.method:ColTran",
    # diffusion
    "controlnet-canny": "colorbench.methods.diffusion.method:ControlNetCanny",
    "controlnet-canny-img2img": "colorbench.methods.diffusion.method:ControlNetCannyImg2Img",
}


# Option groups: ``--option diffusion.base_model=...`` (or a ``diffusion:`` section of ``method_options``) reaches
# every member that takes the option; a member's own option wins over its group's.
OPTION_GROUPS: dict[str, tuple[str, ...]] = {
    "diffusion": ("controlnet-canny", "controlnet-canny-img2img"),
}


class UnknownMethod(KeyError):
    def __str__(self) -> str:  # KeyError quotes its message; this one reads as a sentence
        return str(self.args[0])


def method_names() -> list[str]:
    return list(_REGISTRY)


def method_class(name: str) -> type[Method]:
    try:
        target = _REGISTRY[name]
    except KeyError:
        raise UnknownMethod(f"unknown method {name!r}; known methods: {', '.join(_REGISTRY)}") from None
    module_name, class_name = target.split(":")
    return getattr(importlib.import_module(module_name), class_name)


def get_method(name: str, **options: Any) -> Method:
    """Instantiate method ``name`` with its options (e.g. ``get_method("coltran", mode="argmax")``)."""
    return method_class(name)(**options)


def readiness(name: str, **options: Any) -> str | None:
    """Why method ``name`` (with ``options``) cannot run here, or None when it can: the one answer that
    ``colorbench methods``, the notebooks' methods table and the runner's ``auto`` selection give. Never downloads."""
    try:
        cls = method_class(name)
    except ImportError as exc:
        from colorbench.extras import explain_import_error

        return f"cannot import: {explain_import_error(exc)}"
    try:
        method = cls(**options)
    except Exception as exc:  # noqa: BLE001 — a constructor that rejects its options says why it cannot run
        return f"cannot be configured: {type(exc).__name__}: {exc}"
    return method.not_ready()
