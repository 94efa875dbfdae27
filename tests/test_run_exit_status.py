"""Issue 14, point 11: a method named in --methods that ends SKIPPED makes `colorbench run` exit non-zero, so that
`colorbench run ... && colorbench score ...` stops; the automatic selection keeps skipping quietly."""

import pytest

from colorbench.cli import main as cli_main
from colorbench.methods import registry
from colorbench.methods.base import Method


class NeedsWeights(Method):
    """A method whose weights are not here (tests run offline with empty caches): it is skipped with the reason."""

    name = "needs-weights"
    description = "test method needing unavailable weights"

    def load(self, device):
        from colorbench import weights

        weights.ensure("cnn-original-epoch186")

    def colorize(self, grays, *, seed, item_seeds=None, labels=None):
        raise AssertionError("must not run")


@pytest.fixture
def needs_weights(add_method, monkeypatch):
    add_method("needs-weights", f"{__name__}:NeedsWeights")


def test_an_explicitly_named_method_that_is_skipped_fails_the_command(needs_weights, capsys):
    status = cli_main(["run", "--methods", "gray,needs-weights", "--limit", "1", "--run", "named"])
    out = capsys.readouterr().out
    assert "needs-weights: SKIPPED" in out and "gray: 1 written" in out
    assert status == 1 and "named in --methods but skipped" in out


def test_the_automatic_selection_still_exits_zero_when_it_skips(needs_weights, monkeypatch, capsys):
    monkeypatch.setattr(registry, "method_names", lambda: ["gray", "needs-weights"])
    import colorbench.run as run_module

    monkeypatch.setattr(run_module, "method_names", lambda: ["gray", "needs-weights"])
    status = cli_main(["run", "--methods", "auto", "--limit", "1", "--run", "auto"])
    assert "needs-weights: SKIPPED" in capsys.readouterr().out and status == 0
