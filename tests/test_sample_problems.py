"""Issue 14, points 1, 6 and 7: every file gets its own sample id, and every file a run cannot use is listed in
skipped.csv with the reason (broken links, csv rows without their file), never dropped silently."""

import csv
import os
import shutil

import numpy as np
import pytest
from PIL import Image

from colorbench.config import RunConfig
from colorbench.data.images import load_image
from colorbench.data.index import index_folder, index_kaggle
from colorbench.run import run
from colorbench.runfolder import RunFolder, read_csv


def _photo(path, value):
    path.parent.mkdir(parents=True, exist_ok=True)
    rgb = np.zeros((16, 16, 3), np.uint8)
    rgb[..., 0], rgb[..., 1] = value, 255 - value  # distinct colours: each truth can be told apart
    Image.fromarray(rgb).save(path, quality=100)


def test_colliding_names_get_unique_ids_and_each_truth_is_its_own_file(tmp_path):
    """``a b.jpg`` and ``a-b.jpg`` both sanitize to ``a-b``; a ``-1`` suffix then equals ``a-b-1.jpg``'s own id."""
    data = tmp_path / "photos"
    for value, name in zip((10, 120, 240), ["a b.jpg", "a-b-1.jpg", "a-b.jpg"]):
        _photo(data / name, value)
    summary = run(RunConfig(run="ids", dataset=str(data), methods=["gray"], results_dir=str(tmp_path / "results")),
                  progress=False)
    folder = RunFolder(summary.path)
    samples = folder.read_samples()
    assert len({s["id"] for s in samples}) == 3 == summary.samples
    assert len(list((summary.path / "images" / "gray").glob("*.png"))) == 3
    for s in samples:  # the truth stored under each id is the photo that id names
        assert np.array_equal(load_image(folder.truth_path(s["id"])).rgb, load_image(s["source"]).rgb)
    rerun = index_folder(data)  # stable across runs: resume finds the outputs by these ids
    assert sorted(x.id for x in rerun.samples) == sorted(s["id"] for s in samples)


def test_a_collision_that_cannot_be_resolved_stops_before_any_work(tmp_path, sports_dir):
    root = tmp_path / "kaggle"
    src = sorted((sports_dir / "test" / "archery").glob("*.jpg"))[0]
    (root / "test" / "archery").mkdir(parents=True)
    shutil.copy(src, root / "test" / "archery" / "1.jpg")
    with open(root / "sports.csv", "w", newline="") as fh:  # the same file listed twice
        writer = csv.writer(fh)
        writer.writerow(["class id", "filepaths", "labels", "data set"])
        writer.writerows([[0, "test/archery/1.jpg", "archery", "test"]] * 2)
    with pytest.raises(ValueError, match=r"test/archery/1.jpg.*test/archery/1.jpg.*same sample id"):
        run(RunConfig(run="dup", dataset=str(root), methods=["gray"], results_dir=str(tmp_path / "results")),
            progress=False)
    assert not (tmp_path / "results").exists()


def test_broken_links_in_a_folder_are_listed_in_skipped_csv(tmp_path):
    data = tmp_path / "photos"
    _photo(data / "good.png", 50)
    os.symlink(data / "nowhere.jpg", data / "dangling.jpg")
    os.symlink(data / "loop-b.jpg", data / "loop-a.jpg")
    os.symlink(data / "loop-a.jpg", data / "loop-b.jpg")
    summary = run(RunConfig(run="links", dataset=str(data), methods=["gray"], results_dir=str(tmp_path / "results")),
                  progress=False)
    skipped = {row["id"]: row["reason"] for row in read_csv(summary.path / "skipped.csv")}
    assert summary.samples == 1 and summary.skipped_images == 3
    assert "dangling" in skipped["dangling"] and "loop" in skipped["loop-a"] and "loop" in skipped["loop-b"]


def test_kaggle_rows_without_a_usable_file_are_listed_by_run(tmp_path, sports_dir):
    root = tmp_path / "kaggle"
    sources = sorted((sports_dir / "test" / "archery").glob("*.jpg"))
    (root / "test" / "archery").mkdir(parents=True)
    shutil.copy(sources[0], root / "test" / "archery" / "1.jpg")
    os.symlink(root / "test" / "archery" / "3.jpg", root / "test" / "archery" / "3.jpg")  # a link to itself
    with open(root / "sports.csv", "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["class id", "filepaths", "labels", "data set"])
        writer.writerows([[0, f"test/archery/{i}.jpg", "archery", "test"] for i in (1, 2, 3)])
        writer.writerow([0, "test/archery/notes.txt", "archery", "test"])
        writer.writerow([0, "train/archery/9.jpg", "archery", "train"])  # another split: not this run's business
    assert len(index_kaggle(root).problems) == 4  # what `data info` shows
    summary = run(RunConfig(run="kg", dataset=str(root), methods=["gray"], results_dir=str(tmp_path / "results")),
                  progress=False)
    skipped = {os.path.basename(row["source"]): row["reason"] for row in read_csv(summary.path / "skipped.csv")}
    assert summary.samples == 1 and summary.skipped_images == 3
    assert skipped.keys() == {"2.jpg", "3.jpg", "notes.txt"}
    assert skipped["2.jpg"].endswith("missing") and "loop" in skipped["3.jpg"]
    assert "not an image" in skipped["notes.txt"]
