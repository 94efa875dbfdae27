"""Typed method options: each method declares one frozen dataclass, its ``Options``; its fields are the keys of
``--option METHOD.KEY=VALUE``, of a config file's ``method_options`` section and of the notebooks' ``METHOD_OPTIONS``.

One place reads them: values are checked and converted by the field's type (``int``, ``float``, ``bool``, ``str``,
``Optional``, ``Literal``, unions of those), strings from the command line included; an unknown key or a value of
the wrong type is an :class:`OptionError` naming the method and the key and listing every valid key with its type
and default. Fields marked :func:`speed_only` change speed or memory, never the images (``batch_size``,
``compile``, ...): the runner leaves them out of a method's identity, so resuming with another value is fine (that
is how one recovers from running out of memory). Precision options (``dtype``, ``precision``, ``tf32``) change the
numbers and are not speed-only.

A subclass that only changes defaults declares an options subclass with other defaults, nothing else.

Example::

    >>> from dataclasses import dataclass
    >>> from typing import Literal
    >>> @dataclass(frozen=True, kw_only=True)
    ... class DemoOptions(MethodOptions):
    ...     mode: Literal["fast", "exact"] = "exact"
    ...     batch_size: int = speed_only(8)
    >>> parse_options(DemoOptions, {"mode": "fast", "batch_size": "4"}, who="demo")
    DemoOptions(smoke=False, mode='fast', batch_size=4)
    >>> sorted(speed_only_names(DemoOptions))
    ['batch_size']
"""

from __future__ import annotations

import dataclasses
import os
import types
import typing
from collections.abc import Mapping
from typing import Any, Literal, Union


class OptionError(ValueError):
    """An unknown method option or a value its type does not allow; ``key`` is the option's name."""

    def __init__(self, message: str, key: str | None = None) -> None:
        super().__init__(message)
        self.key = key


@dataclasses.dataclass(frozen=True, kw_only=True)
class MethodOptions:
    """The options every method has. ``smoke``: tiny untrained models, no files needed, numbers meaningless (the
    runner sets it for ``--smoke`` runs)."""

    smoke: bool = False


def speed_only(default: Any = dataclasses.MISSING, **kwargs: Any) -> Any:
    """A field that changes only speed or memory, never the images (left out of the run's resume identity)."""
    return dataclasses.field(default=default, metadata={"speed_only": True}, **kwargs)


def option_fields(options_cls: type[MethodOptions]) -> dict[str, dataclasses.Field]:
    return {f.name: f for f in dataclasses.fields(options_cls)}


def option_types(options_cls: type[MethodOptions]) -> dict[str, Any]:
    """Each field's type, resolved (modules use ``from __future__ import annotations``: the raw ones are strings)."""
    return typing.get_type_hints(options_cls)


def option_defaults(options_cls: type[MethodOptions]) -> dict[str, Any]:
    return {name: f.default for name, f in option_fields(options_cls).items() if f.default is not dataclasses.MISSING}


def speed_only_names(options_cls: type[MethodOptions]) -> frozenset[str]:
    return frozenset(name for name, f in option_fields(options_cls).items() if f.metadata.get("speed_only"))


def options_record(options: MethodOptions) -> dict[str, Any]:
    """``options`` as run.json records them: every field but the speed-only ones, values made JSON-able (a path or
    other object as its text)."""
    import json

    speed = speed_only_names(type(options))
    values = {f.name: getattr(options, f.name) for f in dataclasses.fields(options) if f.name not in speed}
    return json.loads(json.dumps(values, default=str))


def type_name(tp: Any) -> str:
    """``int``, ``str | None``, ``'sample' | 'argmax'``: how the error messages spell a type."""
    if tp is type(None):
        return "None"
    if typing.get_origin(tp) is Literal:
        return " | ".join(repr(a) for a in typing.get_args(tp))
    if _is_union(tp):
        return " | ".join(type_name(a) for a in typing.get_args(tp))
    if typing.get_origin(tp) is not None:  # Mapping[str, int] and the like
        return str(tp).replace("typing.", "").replace("collections.abc.", "")
    return getattr(tp, "__name__", str(tp))


def describe_options(options_cls: type[MethodOptions]) -> str:
    """``key: type = default`` for every option, by name; speed-only ones say so."""
    types_ = option_types(options_cls)
    parts = []
    for name, f in sorted(option_fields(options_cls).items()):
        default = "" if f.default is dataclasses.MISSING else f" = {f.default!r}"
        parts.append(f"{name}: {type_name(types_[name])}{default}" + (" (speed only)" if f.metadata.get("speed_only")
                                                                        else ""))
    return "; ".join(parts)


def check_values(options_cls: type[MethodOptions], values: Mapping[str, Any], *,
                 who: str) -> dict[str, Any]:
    """``values`` checked against ``options_cls`` and converted by each field's type (strings parsed): the options
    as given, typed. Raises :class:`OptionError` naming ``who`` and the key, listing the valid keys."""
    types_ = option_types(options_cls)
    fields = option_fields(options_cls)
    checked = {}
    for key, value in values.items():
        if key not in fields:
            raise OptionError(f"{who} has no option {key!r}; its options: {', '.join(sorted(fields))} "
                              f"({describe_options(options_cls)})", key)
        try:
            checked[key] = convert(types_[key], value)
        except (TypeError, ValueError):
            raise OptionError(f"{who}: option {key} must be {type_name(types_[key])}, got {value!r}; its options: "
                              f"{', '.join(sorted(fields))} ({describe_options(options_cls)})", key) from None
    return checked


def parse_options(options_cls: type[MethodOptions], values: Mapping[str, Any], *, who: str) -> MethodOptions:
    """An ``options_cls`` instance from keyword values (strings converted by the field types)."""
    return options_cls(**check_values(options_cls, values, who=who))


# ------------------------------------------------------------------------------------------ conversion by type
_TRUE, _FALSE, _NONE = {"true", "yes", "on", "1"}, {"false", "no", "off", "0"}, {"none", "null", "~"}


def _is_union(tp: Any) -> bool:
    return typing.get_origin(tp) in (Union, types.UnionType)


def convert(tp: Any, value: Any) -> Any:
    """``value`` as type ``tp``: a string (the command line's) is parsed; anything else must already be of the type
    (an ``int`` is a fine ``float``, a ``bool`` is no ``int``). Raises TypeError or ValueError."""
    if _is_union(tp):
        members = typing.get_args(tp)
        # a string tries the other members first: "none" is None for ``str | None``, "4" is 4 for ``int | str``
        ordered = sorted(members, key=lambda m: m is str) if isinstance(value, str) else members
        for member in ordered:
            try:
                return convert(member, value)
            except (TypeError, ValueError):
                continue
        raise TypeError(f"{value!r} is not {type_name(tp)}")
    if tp is type(None):
        if value is None or (isinstance(value, str) and value.strip().lower() in _NONE):
            return None
        raise TypeError(f"{value!r} is not None")
    if typing.get_origin(tp) is Literal:
        for allowed in typing.get_args(tp):
            if value == allowed or (isinstance(value, str) and not isinstance(allowed, str)
                                    and value.strip() == str(allowed)):
                return allowed
        raise ValueError(f"{value!r} is not one of {typing.get_args(tp)}")
    if tp is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE
        raise TypeError(f"{value!r} is not a bool")
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str):
            return int(value.strip())
        raise TypeError(f"{value!r} is not an int")
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            return float(value.strip())
        raise TypeError(f"{value!r} is not a number")
    if tp is str:
        if isinstance(value, str):
            return value
        raise TypeError(f"{value!r} is not a string")
    if tp is os.PathLike:
        if isinstance(value, os.PathLike):
            return value
        raise TypeError(f"{value!r} is not a path")
    if typing.get_origin(tp) in (Mapping, dict) or tp in (Mapping, dict):
        if isinstance(value, str):
            import yaml

            value = yaml.safe_load(value)
        if not isinstance(value, Mapping):
            raise TypeError(f"{value!r} is not a mapping")
        args = typing.get_args(tp)
        return {convert(args[0], k) if args else k: convert(args[1], v) if args else v for k, v in value.items()}
    raise TypeError(f"options of type {tp!r} are not supported")  # a method declared a type this module cannot read
