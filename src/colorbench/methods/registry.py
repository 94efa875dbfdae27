"""One registry of methods, by name: colorbench's own, and those other packages ship through entry points.

Adding a method to colorbench = one module + one line in ``_REGISTRY`` + one options dataclass (see
:mod:`colorbench.methods.base`). Another package adds one without touching colorbench: it declares an entry point in
the group ``colorbench.methods`` (in its ``pyproject.toml``: ``[project.entry-points."colorbench.methods"]`` then
``my-method = "my_package.module:MyMethod"``); once it is installed, ``colorbench methods`` lists it and runs take it
by name. :func:`register_method` is the same registration as a call (what the entry-point loader uses, and tests).

The name is the registry's: a class that declares no ``name`` gets it from its registration; one that declares
another name is refused when it is looked up.

Entries are import paths, so listing methods never imports torch, diffusers or TensorFlow (nor a plug-in's module).
"""

from __future__ import annotations

import importlib
import importlib.metadata
import logging
from typing import Any

from colorbench.messages import did_you_mean
from colorbench.methods.base import Method
from colorbench.methods.options import MethodOptions, OptionError, check_values, option_fields

#: the entry-point group through which other packages add methods
ENTRY_POINT_GROUP = "colorbench.methods"

log = logging.getLogger("colorbench.methods")

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
    "controlnet-brightness": "colorbench.methods.diffusion.brightness:ControlNetBrightness",
}


# Option groups: ``--option diffusion.base_model=...`` (or a ``diffusion:`` section of ``method_options``) reaches
# every member that takes the option; a member's own option wins over its group's. A member lists in its class
# attribute ``not_from_groups`` the options it takes from no group (e.g. the brightness ControlNet's own model).
OPTION_GROUPS: dict[str, tuple[str, ...]] = {
    "diffusion": ("controlnet-canny", "controlnet-canny-img2img", "controlnet-brightness"),
}


class UnknownMethod(KeyError):
    def __str__(self) -> str:  # KeyError quotes its message; this one reads as a sentence
        return str(self.args[0])


# registered at run time: entry points of installed packages, and :func:`register_method` calls
_ADDED: dict[str, str | type[Method]] = {}
_ENTRY_POINTS_READ = False
_NAME_CHECKED: set[tuple[str, type]] = set()


def register_method(name: str, target: str | type[Method], *, replace: bool = False) -> None:
    """Add method ``name``: ``target`` is ``"module:Class"`` (imported only when the method is used) or the class.

    A name colorbench or another registration already uses is refused unless ``replace`` (a plug-in must not
    silently stand in for a built-in method). :func:`unregister_method` takes it back."""
    if not isinstance(name, str) or not name or any(c.isspace() or c in ",=:" for c in name):
        raise ValueError(f"method name {name!r}: give a non-empty name without spaces, ',', '=' or ':' "
                         f"(it is typed in --methods and --option NAME.KEY=VALUE)")
    if isinstance(target, str) and target.count(":") != 1:
        raise ValueError(f"method {name!r}: target {target!r} must be 'module:Class'")
    if not isinstance(target, str) and not (isinstance(target, type) and issubclass(target, Method)):
        raise TypeError(f"method {name!r}: target must be 'module:Class' or a Method subclass, got {target!r}")
    _read_entry_points()
    if not replace and name in _entries():
        raise ValueError(f"method {name!r} is already registered ({_describe(_entries()[name])}); pick another "
                         f"name, or pass replace=True")
    _ADDED[name] = target


def unregister_method(name: str) -> None:
    """Take back a :func:`register_method` registration (colorbench's own methods cannot be removed)."""
    if _ADDED.pop(name, None) is None:
        raise UnknownMethod(f"method {name!r} was not added by register_method or an entry point")


def _read_entry_points() -> None:
    """Register each installed package's ``colorbench.methods`` entry points, once, without importing them. A broken
    one (a clash with another method's name, a malformed target) is left out with a warning naming its package:
    one bad plug-in must not stop colorbench."""
    global _ENTRY_POINTS_READ
    if _ENTRY_POINTS_READ:
        return
    _ENTRY_POINTS_READ = True
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        package = ep.dist.name if ep.dist is not None else "an installed package"
        try:
            register_method(ep.name, ep.value)
        except (TypeError, ValueError) as exc:
            log.warning("ignoring the %s entry point %r of %s: %s", ENTRY_POINT_GROUP, ep.name, package, exc)


def _entries() -> dict[str, str | type[Method]]:
    _read_entry_points()
    return {**_REGISTRY, **_ADDED}


def _describe(target: str | type[Method]) -> str:
    return target if isinstance(target, str) else f"{target.__module__}:{target.__qualname__}"


def method_names() -> list[str]:
    return list(_entries())


def method_class(name: str) -> type[Method]:
    entries = _entries()
    try:
        target = entries[name]
    except KeyError:
        raise UnknownMethod(f"unknown method {name!r}{did_you_mean(name, entries)}; known methods: "
                            f"{', '.join(entries)}") from None
    if isinstance(target, str):
        module_name, class_name = target.split(":")
        target = getattr(importlib.import_module(module_name), class_name)
    return _named(name, target)


def _named(name: str, cls: type[Method]) -> type[Method]:
    """``cls`` carrying its registry name: set where the class declares none, checked (once) where it does."""
    if (name, cls) in _NAME_CHECKED:
        return cls
    if not (isinstance(cls, type) and issubclass(cls, Method)):
        raise TypeError(f"method {name!r} is registered as {cls!r}, which is not a colorbench Method subclass")
    declared = cls.__dict__.get("name")
    if declared is None:
        cls.name = name
    elif declared != name:
        raise TypeError(f"{cls.__module__}.{cls.__qualname__} declares name {declared!r} but is registered as "
                        f"{name!r}: the registry's name is the one; drop the class's name or register it as "
                        f"{declared!r}")
    _NAME_CHECKED.add((name, cls))
    return cls


def method_family(name: str) -> str | None:
    """The family a registered method declares; None for a name the registry does not know (an imported method)
    or a method whose module cannot be imported here (its optional dependency is missing)."""
    if name not in _REGISTRY:
        return None
    try:
        return getattr(method_class(name), "family", None)
    except ImportError:
        return None


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
            fields = {m: group_fields(m) for m in members}
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
            raise OptionError(f"--option {name}.{','.join(options)}: no method {name!r}{did_you_mean(name, known)}; "
                              "known methods: "
                              f"{', '.join(known)}"
                              f" (option groups: {', '.join(OPTION_GROUPS)})")
        typed[name] = _check_given(name, options)
    return typed


def _options_class(name: str) -> type[MethodOptions] | None:
    try:
        return method_class(name).Options
    except ImportError:  # its optional dependency is missing: the run reports it as skipped with the reason
        return None


def group_fields(name: str) -> set[str]:
    """The options of method ``name`` that its option groups (``diffusion.*``) may set."""
    try:
        exempt = getattr(method_class(name), "not_from_groups", frozenset())
    except ImportError:
        exempt = frozenset()
    return set(option_fields(_options_class(name) or MethodOptions)) - set(exempt)


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
    fields = group_fields(name)
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
