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


def _photo_folder(root, n_bad: int, good: int = 0):
    """A dataset folder (one class) of ``n_bad`` corrupt .jpg files and ``good`` real photos from the fixtures."""
    import shutil

    from conftest import fixture_path

    folder = root / "photos" / "cls"
    folder.mkdir(parents=True)
    for i in range(n_bad):
        (folder / f"bad{i}.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg" * 20)
    for path in sorted((fixture_path("sports") / "test" / "golf").glob("*.jpg"))[:good]:
        shutil.copy(path, folder / path.name)
    return folder.parent


def test_a_run_whose_images_are_all_unreadable_fails_naming_the_folder_and_the_fix(tmp_path, capsys):
    """One bad image never stops a run; a run with nothing to colorize is not a success (it exited 0)."""
    dataset = _photo_folder(tmp_path, n_bad=3)
    assert cli_main(["run", "--dataset", str(dataset), "--methods", "gray", "--run", "unreadable"]) == 2
    err = capsys.readouterr().err.splitlines()[-1]  # the last line: the error (the progress bar comes before it)
    assert err.startswith("colorbench: error: none of the 3 images of dataset") and str(dataset.resolve()) in err
    assert "bad0.jpg: cannot decode" in err and "skipped.csv" in err
    assert "point --dataset at a folder of readable photos" in err
    single = _photo_folder(tmp_path / "single", n_bad=1)  # one image: said without "none of the 1 image"
    assert cli_main(["run", "--dataset", str(single), "--methods", "gray", "--run", "unreadable-one"]) == 2
    err = capsys.readouterr().err.splitlines()[-1]
    assert err.startswith("colorbench: error: the one image of dataset") and "could not be read (/" in err


def test_one_unreadable_image_among_good_ones_still_runs_and_exits_zero(tmp_path, capsys):
    dataset = _photo_folder(tmp_path, n_bad=1, good=1)
    assert cli_main(["run", "--dataset", str(dataset), "--methods", "gray", "--run", "one-bad"]) == 0
    out = capsys.readouterr().out
    assert "(1 image, 1 skipped" in out and "gray: 1 written" in out
