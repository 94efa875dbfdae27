"""Dataset indexes: the real Kaggle csv + test split, folders of images, bundled samples, subsets."""

import numpy as np
import pytest
from PIL import Image

from colorbench.data.index import index_folder, index_kaggle, index_samples, sample_id_from_relpath
from colorbench.data.specs import open_dataset


def test_kaggle_index_from_real_csv_reports_absent_splits(sports_dir):
    index = index_kaggle(sports_dir)
    assert len(index) == 500
    assert index.splits() == ["test"]
    assert len(index.labels()) == 100
    assert set(index.counts().values()) == {5}
    assert index.missing_by_split() == {"train": 13492, "valid": 500}
    assert len({s.id for s in index.samples}) == 500
    s = next(s for s in index.samples if s.path.name == "1.jpg" and s.label == "air hockey")
    assert (s.id, s.class_id, s.split) == ("test_air-hockey_1", 0, "test")


def test_kaggle_index_class_ids_follow_the_csv(sports_dir):
    import csv

    rows = {r["filepaths"]: r for r in csv.DictReader(open(sports_dir / "sports.csv"))}
    for s in index_kaggle(sports_dir).samples[::37]:
        row = rows[str(s.path.relative_to(sports_dir))]
        assert (s.class_id, s.label, s.split) == (int(row["class id"]), row["labels"], row["data set"])


def test_stratified_subset_is_deterministic_and_balanced(sports_dir):
    index = index_kaggle(sports_dir)
    a = index.subset(split="test", n_per_class=2, seed=3)
    b = index.subset(split="test", n_per_class=2, seed=3)
    c = index.subset(split="test", n_per_class=2, seed=4)
    assert [s.id for s in a.samples] == [s.id for s in b.samples]
    assert [s.id for s in a.samples] != [s.id for s in c.samples]
    assert len(a) == 200 and set(a.counts().values()) == {2}
    limited = index.subset(split="test", limit=150, seed=0)
    per_class = limited.counts().values()
    assert len(limited) == 150 and max(per_class) - min(per_class) <= 1  # round-robin keeps the cap balanced


def test_unknown_split_is_a_clear_error(sports_dir):
    with pytest.raises(ValueError, match="no samples in split 'train'"):
        index_kaggle(sports_dir).subset(split="train")


def test_folder_index_labels_are_subfolders(tmp_path):
    for rel in ["cats/a.jpg", "cats/b.png", "dogs/c.jpg", "top.jpg", "dogs/notes.txt"]:
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if rel.endswith(".txt"):
            path.write_text("x")
        else:
            Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(path)
    index = index_folder(tmp_path)
    assert sorted((s.id, s.label) for s in index.samples) == [
        ("cats_a", "cats"), ("cats_b", "cats"), ("dogs_c", "dogs"), ("top", None)]
    assert {s.id for s in index.subset(split="test").samples} == {s.id for s in index.samples}  # no split info


def test_folder_index_with_split_folders(tmp_path):
    for rel in ["train/x/1.jpg", "test/x/2.jpg", "test/y/3.jpg"]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(tmp_path / rel)
    index = index_folder(tmp_path)
    assert index.splits() == ["test", "train"]
    assert [(s.split, s.label) for s in index.subset(split="test").samples] == [("test", "x"), ("test", "y")]


def test_colliding_ids_are_made_unique(tmp_path):
    for name in ["a.jpg", "a.png"]:
        Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(tmp_path / name)
    ids = sorted(s.id for s in index_folder(tmp_path).samples)
    assert len(set(ids)) == 2 and all(i.startswith("a~") for i in ids)  # a + a hash of each file's own path


def test_sample_ids_are_filesystem_safe():
    assert sample_id_from_relpath("test/air hockey/1.jpg") == "test_air-hockey_1"
    assert "/" not in sample_id_from_relpath("a/b c/d&e.png")


def test_bundled_samples_are_real_colour_photos():
    from colorbench.data.images import load_image

    index = index_samples()
    assert len(index) >= 8 and len(index.labels()) == len(index)
    for s in index.samples:
        assert load_image(s.path).has_color, s.path


def test_open_dataset_errors_name_the_fix(tmp_path, monkeypatch):
    monkeypatch.setenv("COLORBENCH_DATA", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="colorbench data download"):
        open_dataset("sports")
    with pytest.raises(FileNotFoundError, match="not found"):
        open_dataset(tmp_path / "nope")


def test_a_split_whose_files_are_all_missing_says_so(tmp_path):
    """A partial Kaggle copy: asking for its absent split must say the csv lists it but the files are missing."""
    (tmp_path / "test" / "golf").mkdir(parents=True)
    Image.fromarray(np.full((16, 16, 3), 90, np.uint8)).save(tmp_path / "test" / "golf" / "1.jpg")
    (tmp_path / "sports.csv").write_text("class id,filepaths,labels,data set\n"
                                         "0,train/golf/1.jpg,golf,train\n0,train/golf/2.jpg,golf,train\n"
                                         "0,test/golf/1.jpg,golf,test\n")
    index = index_kaggle(tmp_path)
    with pytest.raises(ValueError, match=r"no samples in split 'train': the csv lists 2 train images but none is "
                                         r"under .*train .*data download --force.*splits present: \['test'\]"):
        index.subset(split="train")
    with pytest.raises(ValueError, match=r"no samples in split 'nope'; splits present"):
        index.subset(split="nope")
