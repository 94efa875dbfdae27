"""Every runnable example (``>>>``) in the package's docstrings runs and prints what it claims.

Package-wide: the modules are found from the source tree, so a new example is tested without registering it.
A module whose optional stack is not installed (e.g. diffusers) is skipped with the install hint; CI installs
everything, so nothing skips there.
"""

from __future__ import annotations

import doctest
import importlib
import warnings

import pytest
from conftest import PROJECT_ROOT

from colorbench.extras import install_command, missing_modules

PACKAGE = PROJECT_ROOT / "src" / "colorbench"
#: modules whose examples build tiny diffusion pipelines: seconds each on a busy runner
SLOW_PREFIXES = ("colorbench.methods.diffusion",)
#: modules whose examples need an optional extra that `make test` leaves out: they import without it (the imports are
#: lazy), so only the extra's modules being absent tells that the examples cannot run here
EXTRA_OF_PREFIX = {"colorbench.methods.diffusion": "diffusion"}


def _modules_with_examples() -> list[str]:
    names = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if ">>> " in path.read_text(encoding="utf-8"):
            parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
            names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


MODULES = _modules_with_examples()


def test_examples_are_found_across_the_package():
    assert len(MODULES) >= 10 and any(m.startswith("colorbench.metrics") for m in MODULES)


@pytest.mark.parametrize("module", [pytest.param(m, marks=pytest.mark.slow) if m.startswith(SLOW_PREFIXES) else m
                                    for m in MODULES])
def test_docstring_examples(module):
    import torch

    for prefix, extra in EXTRA_OF_PREFIX.items():
        if module.startswith(prefix) and (absent := missing_modules(extra)):
            pytest.skip(f"{module}'s examples need the optional {extra} extra ({', '.join(absent)} absent): "
                        f"{install_command(extra)}")
    try:
        imported = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.split(".")[0] == "colorbench":
            raise
        pytest.skip(f"{module} needs {exc.name}: pip install 'colorbench[all]'")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny models: extra threads only contend on a busy 2-core runner
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. the CPU warning of the diffusion loading example
            result = doctest.testmod(imported, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    finally:
        torch.set_num_threads(threads)
    assert result.attempted > 0 and result.failed == 0
