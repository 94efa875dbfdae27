"""The method contract's per-image arguments: ``item_seeds`` and ``labels`` need one entry per image, checked once
in :class:`Method` for every method (a short list used to be broadcast: three identical "independent" samples)."""

from __future__ import annotations

import numpy as np
import pytest

from colorbench.methods.base import Method
from colorbench.methods.registry import get_method, method_class, method_names


class Recorder(Method):
    """Stochastic stand-in that records whether colorize ran at all."""

    name = "recorder"
    stochastic = True

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def load(self, device: str) -> None:
        self.device = device

    def colorize(self, grays, *, seed, item_seeds=None, labels=None):
        self.calls += 1
        return [np.repeat(g[..., None], 3, axis=2) for g in grays]


GRAYS = [np.full((8, 8), v, np.uint8) for v in (10, 20, 30)]


@pytest.mark.parametrize("kwargs, what", [({"item_seeds": [7]}, "1 item_seeds"),
                                          ({"item_seeds": [1, 2, 3, 4]}, "4 item_seeds"),
                                          ({"labels": ["golf"]}, "1 labels")])
def test_wrong_length_is_refused_before_the_method_runs(kwargs, what):
    method = Recorder()
    with pytest.raises(ValueError, match=f"recorder: 3 images but {what}; give one per image"):
        method.colorize(GRAYS, seed=0, **kwargs)
    assert method.calls == 0


def test_matching_lengths_and_none_pass_through():
    method = Recorder()
    assert len(method.colorize(GRAYS, seed=0, item_seeds=[1, 2, 3], labels=["a", None, "b"])) == 3
    assert len(method.colorize(GRAYS, seed=0)) == 3
    assert method.calls == 2


def test_a_subclass_of_a_subclass_is_checked_once_per_override():
    class Child(Recorder):
        def colorize(self, grays, *, seed, item_seeds=None, labels=None):
            return super().colorize(grays, seed=seed, item_seeds=item_seeds, labels=labels)

    child = Child()
    with pytest.raises(ValueError, match="3 images but 1 item_seeds"):
        child.colorize(GRAYS, seed=0, item_seeds=[7])
    assert child.calls == 0 and len(child.colorize(GRAYS, seed=0, item_seeds=[1, 2, 3])) == 3


@pytest.mark.parametrize("name", method_names())
def test_every_registered_method_checks_its_per_image_arguments(name):
    """No method escapes the check, whatever its own colorize does (stochastic ones most of all)."""
    assert getattr(method_class(name).colorize, "_checks_per_image_args", False), name


def test_coltran_refuses_one_seed_for_three_images(one_torch_thread):
    """The issue's example: ``colorize([g, g, g], seed=0, item_seeds=[7])`` returned three identical samples."""
    method = get_method("coltran", smoke=True, mode="sample")
    method.load("cpu")
    gray = np.full((64, 64), 120, np.uint8)
    with pytest.raises(ValueError, match="coltran: 3 images but 1 item_seeds"):
        method.colorize([gray, gray, gray], seed=0, item_seeds=[7])
