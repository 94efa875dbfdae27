"""Where colorbench keeps weights, data and results: named absolutely, whatever folder a command runs in."""

from __future__ import annotations

import pytest

from colorbench import paths


@pytest.mark.parametrize("where, env", [(paths.models_dir, paths.MODELS_ENV), (paths.data_dir, paths.DATA_ENV),
                                        (paths.results_dir, paths.RESULTS_ENV)])
def test_default_and_relative_locations_are_absolute_under_the_working_folder(where, env, tmp_path, monkeypatch):
    """A new user ran from another folder and read "Put the file at models/cnn-original/…" with no way to tell
    relative to what: every location is absolute, resolved against the folder the command runs in."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(env, raising=False)
    assert where().is_absolute() and where().parent == tmp_path
    monkeypatch.setenv(env, "elsewhere/x")
    assert where() == tmp_path / "elsewhere" / "x"
