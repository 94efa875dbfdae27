"""The runnable examples in the diffusion package's docstrings run and print what they claim."""

from __future__ import annotations

import doctest
import importlib
import warnings

import pytest

MODULES = ["framing", "edges", "prompts", "tiny", "loading", "method", "notebook"]


@pytest.mark.slow
@pytest.mark.parametrize("module", MODULES)
def test_docstring_examples(module):
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny models: extra threads only contend on a busy 2-core runner
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. the CPU warning of the loading example
            result = doctest.testmod(importlib.import_module(f"colorbench.methods.diffusion.{module}"),
                                     optionflags=doctest.ELLIPSIS)
    finally:
        torch.set_num_threads(threads)
    assert result.attempted > 0 and result.failed == 0
