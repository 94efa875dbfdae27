"""What every command group of the CLI shares: the user-facing error, one way to register a command, and one way to
state a flag's default — read from the dataclass or function the command calls, never restated here.

Example::

    >>> import argparse
    >>> from colorbench.train import TrainConfig
    >>> top = argparse.ArgumentParser(prog="colorbench").add_subparsers()
    >>> p = command(top, "try", print, help="an example")
    >>> _ = add_option(p, "--epochs", TrainConfig, type=int, help="training epochs")
    >>> p.parse_args([]).epochs == TrainConfig.epochs
    True
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import importlib
import inspect
from collections.abc import Callable
from typing import Any


class ColorbenchError(Exception):
    """An error whose message is the whole story for the user (printed without a traceback)."""


def int_at_least(minimum: int):
    """An argparse ``type`` for integers >= ``minimum``: a bad value is a usage error naming the flag."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"invalid int value: {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value

    return parse


def command(subparsers: argparse._SubParsersAction, name: str, func: Callable[[argparse.Namespace], int], *,
            help: str, description: str | None = None, epilog: str | None = None,
            interrupt_hint: str | None = None, needs: tuple[str, tuple[str, ...]] | None = None
            ) -> argparse.ArgumentParser:
    """Register the command ``name`` that runs ``func(args)`` (with every lazy :class:`Default` of ``args`` resolved).
    Descriptions and epilogs keep their line breaks (examples), and ``interrupt_hint`` is what Ctrl-C prints
    (default: rerun to resume). ``needs``: (extra, the modules of it the command imports), checked first: a missing
    one is one line naming them all and the install command, before any work (not a late ImportError)."""
    if needs:  # --help says it too
        from colorbench.extras import install_command

        extra, modules = needs
        needed = f"Needs the optional {extra} extra ({', '.join(modules)}): {install_command(extra)}"
        description = f"{description}\n\n{needed}" if description else needed
    parser = subparsers.add_parser(name, help=help, description=description, epilog=epilog,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)

    @functools.wraps(func)
    def run(args: argparse.Namespace) -> int:
        if needs:
            from colorbench.extras import require_extra

            require_extra(*needs, needed_for=f"`{parser.prog}`")
        return func(resolve_defaults(args))

    run.parser = parser  # main() names this command, not `colorbench`, when a flag is mistyped
    parser.set_defaults(func=run, **({"interrupt_hint": interrupt_hint} if interrupt_hint else {}))
    return parser


def reject_unknown_arguments(parser: argparse.ArgumentParser, unknown: list[str]) -> None:
    """Exit (status 2) with the usage of the command that was given ``unknown`` and, for a mistyped flag, its
    closest flag: argparse reports a subcommand's unknown flag as the top-level ``colorbench``'s, with that usage
    and no hint (``colorbench run --limt 2`` said ``colorbench: error: unrecognized arguments: --limt 2``)."""
    import difflib

    flags = [s for action in parser._actions for s in action.option_strings if s.startswith("--")]
    hints = []
    for arg in unknown:
        flag = arg.split("=", 1)[0]
        close = difflib.get_close_matches(flag, flags, n=1, cutoff=0.7) if flag.startswith("--") else []
        if close:
            hints.append(f"{flag}: did you mean {close[0]}?")
    hint = f" ({'; '.join(hints)})" if hints else f" (see `{parser.prog} --help`)"
    parser.error(f"unrecognized arguments: {' '.join(unknown)}{hint}")


def group(subparsers: argparse._SubParsersAction, name: str, *, help: str,
          metavar: str = "SUBCOMMAND") -> argparse._SubParsersAction:
    """Register ``colorbench NAME SUBCOMMAND``: a command made of sub-commands (one of which must be given)."""
    return subparsers.add_parser(name, help=help).add_subparsers(dest=f"{name}_command", metavar=metavar,
                                                                 required=True)


def field_default(source: Any, name: str) -> Any:
    """The default of ``name`` in ``source``: a dataclass's field (its ``default_factory()`` when it has one) or a
    function's keyword parameter. Raises ``KeyError`` naming the fields there are, so a renamed field fails loudly."""
    if dataclasses.is_dataclass(source):
        fields = {f.name: f for f in dataclasses.fields(source)}
        if name in fields:
            f = fields[name]
            return f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
    else:
        params = inspect.signature(source).parameters
        if name in params and params[name].default is not inspect.Parameter.empty:
            return params[name].default
        fields = params
    raise KeyError(f"{getattr(source, '__qualname__', source)} has no default for {name!r}; it has {sorted(fields)}")


class Default:
    """A flag's default read from ``"module:name"`` (a dataclass or function) only when it is needed — when the
    command runs or its ``--help`` is shown: importing the scorer or the trainer to build the parser would make
    every ``colorbench …`` start by importing torch."""

    def __init__(self, source: str, field: str):
        self.source, self.field = source, field

    def value(self) -> Any:
        module, _, name = self.source.partition(":")
        return field_default(getattr(importlib.import_module(module), name), self.field)

    def __str__(self) -> str:  # what --help shows
        try:
            return _shown(self.value())
        except ImportError as exc:  # its module needs an extra that is not installed: --help still works
            return f"unknown until {exc.name or 'an optional extra'} is installed"

    def __repr__(self) -> str:
        return f"Default({self.source!r}, {self.field!r})"


def resolve_defaults(args: argparse.Namespace) -> argparse.Namespace:
    """``args`` with every lazy :class:`Default` replaced by its value (flags not given on the command line)."""
    for key, value in vars(args).items():
        if isinstance(value, Default):
            setattr(args, key, value.value())
    return args


def add_option(parser: argparse.ArgumentParser, flag: str, source: Any, field: str | None = None, *,
               help: str, layered: bool = False, show: bool = True, **kwargs: Any) -> argparse.Action:
    """Add ``flag`` whose default is ``source``'s default for ``field`` (by default the flag's own name,
    ``--batch-size`` → ``batch_size``), and say it in ``--help``. ``source``: a dataclass or function, or
    ``"module:name"`` for one whose module is slow to import (read lazily, see :class:`Default`).

    ``layered``: the parsed value is None when the flag is not given, so that what a ``--config`` file says stands
    (RunConfig's flags); ``--help`` still shows the dataclass's default. The action remembers its ``default_source``
    (the test that no flag restates a default looks for it). ``show=False``: the default means "not set" and
    ``help`` says what happens then."""
    field = field or flag.lstrip("-").replace("-", "_")
    if isinstance(source, str):
        default = Default(source, field)
        help = f"{help} (default: %(default)s)" if show else help
    else:
        default = field_default(source, field)
        if show and default is not None and default is not False:  # an unset option or a switch: nothing to say
            help = f"{help} (default: {_shown(default).replace('%', '%%')})"  # argparse %-formats help
    action = parser.add_argument(flag, default=None if layered else default, help=help, **kwargs)
    action.default_source = (source, field)
    return action


def _shown(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return ",".join(map(str, value))
    return '""' if value == "" else str(value)
