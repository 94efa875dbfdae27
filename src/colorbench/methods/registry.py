"""One registry of methods, by name. Adding a method = one module + one line in ``_REGISTRY`` + one options dataclass
(see :mod:`colorbench.methods.base`).

Entries are import paths, so listing methods never imports torch, diffusers or TensorFlow.
"""

from __future__ import annotations

import importlib
from typing import Any

from colorbench.methods.base import Method
from colorbench.methods.options import MethodOptions, OptionError, check_values, option_fields

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
    "ddcolor": "colorbench.methods.ddcolor.method:DDColor",
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


def check_method_options(method_options: dict[str, dict]) -> dict[str, dict]:
    """``method_options`` with every value converted by its option's type (command-line strings included).

    Fails before any work on an option for an unknown method, an option the method's ``Options`` dataclass does
    not have, or a value its type does not allow (a typo would otherwise be ignored, or crash the run only when that
    method's turn comes). A group's option (``diffusion.X``) must be an option of at least one of its methods, and
    fit the type of each that has it."""
    known = method_names()
    typed: dict[str, dict] = {}
    for name, options in method_options.items():
        if name in OPTION_GROUPS:
            members = OPTION_GROUPS[name]
            fields = {m: option_fields(_options_class(m) or MethodOptions) for m in members}
            for key, value in options.items():
                takers = [m for m in members if key in fields[m]]
                if not takers:
                    accepted = sorted(set().union(*fields.values()))
                    raise OptionError(f"--option {name}.{key}: no {name} method ({', '.join(members)}) has option "
                                      f"{key!r}; their options: {', '.join(accepted)}")
                converted = [_check_given(member, {key: value}, prefix=name)[key] for member in takers]
                typed.setdefault(name, {})[key] = converted[0]
            continue
        if name not in known:
            raise OptionError(f"--option {name}.{','.join(options)}: no method {name!r}; known methods: "
                              f"{', '.join(known)}"
                              f" (option groups: {', '.join(OPTION_GROUPS)})")
        typed[name] = _check_given(name, options)
    return typed


def _options_class(name: str) -> type[MethodOptions] | None:
    try:
        return method_class(name).Options
    except ImportError:  # its optional dependency is missing: the run reports it as skipped with the reason
        return None


def _check_given(name: str, options: dict, *, prefix: str | None = None) -> dict:
    """``options`` checked and converted by method ``name``'s options dataclass; errors say ``--option KEY``."""
    options_cls = _options_class(name)
    if options_cls is None:
        return dict(options)  # cannot be imported here: nothing to check against, and it will not run
    try:
        return check_values(options_cls, options, who=name)
    except OptionError as exc:
        raise OptionError(f"--option {prefix or name}.{exc.key}: {exc}", exc.key) from None


def typed_options(name: str, method_options: dict[str, dict]) -> dict:
    """The options method ``name`` runs with, typed, from a run's ``method_options``: those of its groups
    (``diffusion.*``) that it has, then its own (which win)."""
    options: dict = {}
    fields = option_fields(_options_class(name) or MethodOptions)
    for group, members in OPTION_GROUPS.items():
        if name in members and method_options.get(group):
            options.update({k: v for k, v in method_options[group].items() if k in fields})
    options.update(method_options.get(name, {}))
    return _check_given(name, options)


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
