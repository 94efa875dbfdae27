"""The optional extras that `make demo` and `make test` leave out, the modules each brings, and the command that
installs one: the one definition that a method's readiness (`colorbench methods`), its load error and the tests'
skips share.

    >>> from colorbench.extras import install_command, missing_modules
    >>> install_command("diffusion")
    "pip install -e '.[diffusion]'"
    >>> isinstance(missing_modules("diffusion"), list)  # [] when diffusers & co. are importable
    True
"""

from __future__ import annotations

import importlib
import importlib.util
import sys

#: extra (pyproject.toml) -> the modules it brings that colorbench imports; big, and each needed by few methods
OPTIONAL_STACKS: dict[str, tuple[str, ...]] = {
    "diffusion": ("diffusers", "transformers", "accelerate", "controlnet_aux", "cv2", "huggingface_hub"),
    "convert": ("tensorflow",),
    "ddcolor": ("cv2", "huggingface_hub"),
}


def install_command(extra: str, python: str | None = None) -> str:
    """``pip install -e '.[EXTRA]'``; with ``python``, that interpreter's pip (the venv colorbench runs in: a bare
    ``pip`` outside the activated venv would install into another Python)."""
    pip = f"{python} -m pip" if python else "pip"
    return f"{pip} install -e '.[{extra}]'"


def missing_modules(extra: str) -> list[str]:
    """The modules of ``extra`` that cannot be imported here (without importing them)."""
    return [module for module in OPTIONAL_STACKS[extra] if not importable(module)]


def importable(module: str) -> bool:
    """Whether ``module`` can be imported here, found without importing it."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def missing_extra_reason(extra: str) -> str | None:
    """Why a method that needs ``extra`` cannot run here, with the install command; None when the extra is there."""
    absent = missing_modules(extra)
    if not absent:
        return None
    return (f"needs the optional {extra} extra ({', '.join(absent)} not installed): "
            f"{install_command(extra, python=sys.executable)} from the colorbench checkout")


def explain_import_error(exc: ImportError) -> str:
    """The error's text, plus the extra and the command that installs it when the missing module belongs to one."""
    if getattr(exc, "_extra_explained", False):  # already explained (a method's load): not twice
        return str(exc)
    top = (getattr(exc, "name", None) or "").split(".")[0]
    for extra, modules in OPTIONAL_STACKS.items():
        if top in modules:
            return (f"{exc} — part of the optional {extra} extra: "
                    f"{install_command(extra, python=sys.executable)} from the colorbench checkout")
    return str(exc)


class MissingExtra(ImportError, ValueError):
    """A command needs an optional extra that is not installed. An ImportError (code that handles those, and the
    tests' skip hook, see one) and a ValueError (the CLI prints it as one clear line, not a traceback)."""


def import_extra(module: str, extra: str, needed_for: str):
    """``import module``, or MissingExtra naming the extra and the command that installs it (e.g. `colorbench
    notebooks` in a `make demo` venv, which has no papermill)."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingExtra(_needs_extra(needed_for, extra, [module]), name=module) from exc


def require_extra(extra: str, modules: tuple[str, ...], needed_for: str) -> None:
    """MissingExtra, naming every one of ``modules`` that is missing and the command that installs ``extra``, before
    a command starts its work (not when it first imports one, late and one module at a time)."""
    absent = [module for module in modules if not importable(module)]
    if absent:
        raise MissingExtra(_needs_extra(needed_for, extra, absent), name=absent[0])


def _needs_extra(needed_for: str, extra: str, absent: list[str]) -> str:
    # `make setup` installs every extra but the big ones (OPTIONAL_STACKS): offered only where it brings this one
    setup = "" if extra in OPTIONAL_STACKS else ", or `make setup` (it installs the test set, notebooks included)"
    return (f"{needed_for} needs the optional {extra} extra ({', '.join(absent)} "
            f"{'is' if len(absent) == 1 else 'are'} not installed): {install_command(extra, python=sys.executable)} "
            f"from the colorbench checkout{setup}")
