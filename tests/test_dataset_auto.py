"""DATASET = "auto" (the notebooks' default): sports when its data or Kaggle credentials are here, else the bundled
samples with a note saying how to get sports; notebook errors name the notebook setting, not the CLI flag."""

from __future__ import annotations

import json

import pytest

import colorbench.notebook as nb
from colorbench.data.kaggle import KaggleDownloadError
from colorbench.data.specs import choose_auto_dataset, open_dataset


@pytest.fixture
def no_kaggle(tmp_path, monkeypatch):
    monkeypatch.setenv("COLORBENCH_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("KAGGLE_CONFIG_DIR", str(tmp_path / "kaggle"))  # no kaggle.json there
    return tmp_path


def test_auto_without_credentials_or_data_is_the_samples_with_a_note(no_kaggle, capsys):
    choice, note = choose_auto_dataset()
    assert choice == "samples" and "Kaggle credentials" in note and "KAGGLE_USERNAME" in note
    assert open_dataset("auto").name == open_dataset("samples").name
    index = nb.ensure_dataset("auto")  # "Run all" without credentials works
    assert len(index) == len(open_dataset("samples"))
    assert 'DATASET = "auto" chose "samples"' in capsys.readouterr().out


def test_auto_with_credentials_or_data_is_sports(no_kaggle, monkeypatch):
    (no_kaggle / "kaggle").mkdir()
    (no_kaggle / "kaggle" / "kaggle.json").write_text(json.dumps({"username": "u", "key": "k"}))
    assert choose_auto_dataset()[0] == "sports"
    (no_kaggle / "kaggle" / "kaggle.json").unlink()
    sports = no_kaggle / "data" / "sports"
    sports.mkdir(parents=True)
    (sports / "sports.csv").write_text("class id,filepaths,labels,data set\n")
    choice, why = choose_auto_dataset()
    assert choice == "sports" and str(sports) in why


def test_sports_without_credentials_names_the_notebook_setting(no_kaggle):
    with pytest.raises(KaggleDownloadError) as err:
        nb.ensure_dataset("sports")
    message = str(err.value)
    assert 'DATASET = "samples" or "auto" in the parameters cell' in message and "--dataset" not in message


def test_the_notebooks_default_to_auto():
    from colorbench.notebooks_run import declared_parameters, notebooks_dir

    for path in sorted(notebooks_dir().glob("0*.ipynb")):
        assert declared_parameters(path)["DATASET"] in ('"auto"', "auto"), path.name
