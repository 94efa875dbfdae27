"""download -> extract -> verify through a fake Kaggle archive with the real layout.

Only the network call (``KaggleApi.dataset_download_files``) is replaced; authentication, extraction,
verification and indexing are the real code.
"""

import csv
import io
import zipfile
from pathlib import Path

import pytest

from colorbench.cli import main as cli_main
from colorbench.data import kaggle as kaggle_mod
from colorbench.data.kaggle import ARCHIVE_NAME, KaggleDownloadError, download

SECRET = "0123456789abcdef-very-secret-key"


def _fake_archive(sports_dir: Path, *, drop: str | None = None, corrupt: str | None = None) -> bytes:
    """A small zip with the real layout: sports.csv + train/ valid/ test/ + the model file Kaggle ships."""
    classes = ["air hockey", "archery", "bobsled"]
    rows, files = [], {}
    for class_id, label in enumerate(classes):
        sources = sorted((sports_dir / "test" / label).glob("*.jpg"))
        for split, picks in (("train", sources[:2]), ("valid", sources[2:3]), ("test", sources[3:5])):
            for i, src in enumerate(picks, 1):
                rel = f"{split}/{label}/{i:03d}.jpg" if split == "train" else f"{split}/{label}/{i}.jpg"
                rows.append({"class id": class_id, "filepaths": rel, "labels": label, "data set": split})
                files[rel] = src.read_bytes()
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=["class id", "filepaths", "labels", "data set"], lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("sports.csv", buf.getvalue())
        zf.writestr("EfficientNetB0-100-(224 X 224)- 97.59.h5", b"model weights the dataset ships")
        for rel, data in files.items():
            if rel == drop:
                continue
            zf.writestr(rel, data[: len(data) // 3] if rel == corrupt else data)
    return out.getvalue()


@pytest.fixture
def fake_kaggle(monkeypatch, sports_dir, tmp_path_factory):
    """Credentials in env; the network call writes the fake archive like the real client does."""
    from kaggle.api.kaggle_api_extended import KaggleApi

    monkeypatch.setenv("KAGGLE_USERNAME", "colorbench-test")
    monkeypatch.setenv("KAGGLE_KEY", SECRET)
    # never read a real kaggle.json
    monkeypatch.setenv("KAGGLE_CONFIG_DIR", str(tmp_path_factory.mktemp("no-kaggle-config")))
    state = {"calls": 0, "payload": _fake_archive(sports_dir), "error": None}

    def fake_download(self, dataset, path=None, force=False, quiet=True, unzip=False, licenses=[]):
        state["calls"] += 1
        assert dataset == "gpiosenka/sports-classification" and not unzip
        if state["error"]:
            raise state["error"]
        Path(path).mkdir(parents=True, exist_ok=True)
        (Path(path) / ARCHIVE_NAME).write_bytes(state["payload"])

    monkeypatch.setattr(KaggleApi, "dataset_download_files", fake_download)
    return state


def test_download_extract_verify_index(tmp_path, fake_kaggle):
    root = tmp_path / "sports"
    index = download(root, progress=False)
    assert fake_kaggle["calls"] == 1
    assert len(index) == 15 and index.splits() == ["test", "train", "valid"] and not index.problems
    assert (root / "sports.csv").is_file() and (root / "train" / "archery" / "001.jpg").is_file()
    assert kaggle_mod.is_complete(root)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sports"]  # no staging or archive left behind


def test_complete_download_is_not_repeated(tmp_path, fake_kaggle):
    download(tmp_path / "sports", progress=False)
    download(tmp_path / "sports", progress=False)
    assert fake_kaggle["calls"] == 1


def test_missing_credentials_list_three_ways_and_write_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("KAGGLE_CONFIG_DIR", str(tmp_path / "no-config"))
    with pytest.raises(KaggleDownloadError) as info:
        download(tmp_path / "sports", progress=False)
    message = str(info.value)
    assert "kaggle.json" in message and "KAGGLE_USERNAME" in message and "Colab" in message
    assert not (tmp_path / "sports").exists()


def test_offline_gives_clear_message_and_nothing_half_written(tmp_path, fake_kaggle):
    fake_kaggle["error"] = ConnectionError("Failed to resolve www.kaggle.com")
    with pytest.raises(KaggleDownloadError, match="offline"):
        download(tmp_path / "sports", progress=False)
    assert not (tmp_path / "sports").exists()


def test_rejected_credentials(tmp_path, fake_kaggle):
    import requests

    response = requests.Response()
    response.status_code = 401  # what the client raises: an HTTPError carrying the response (its text varies)
    fake_kaggle["error"] = requests.HTTPError("Unauthenticated", response=response)
    with pytest.raises(KaggleDownloadError, match="rejected the credentials"):
        download(tmp_path / "sports", progress=False)


def test_corrupt_archive_is_deleted_then_redone(tmp_path, fake_kaggle, sports_dir):
    good = fake_kaggle["payload"]
    fake_kaggle["payload"] = good[: len(good) // 2]
    with pytest.raises(KaggleDownloadError, match="not a valid zip"):
        download(tmp_path / "sports", progress=False)
    assert not (tmp_path / "sports").exists()
    assert not list((tmp_path / ".kaggle-download").glob("*.zip"))
    fake_kaggle["payload"] = good
    assert len(download(tmp_path / "sports", progress=False)) == 15


@pytest.mark.parametrize("kind", ["drop", "corrupt"])
def test_incomplete_dataset_is_refused(tmp_path, fake_kaggle, sports_dir, kind):
    fake_kaggle["payload"] = _fake_archive(sports_dir, **{kind: "test/archery/1.jpg"})
    with pytest.raises(KaggleDownloadError, match="incomplete"):
        download(tmp_path / "sports", progress=False)
    assert not (tmp_path / "sports").exists()


def test_cli_download_never_prints_the_key(tmp_path, fake_kaggle, capsys, monkeypatch):
    monkeypatch.setenv("COLORBENCH_DATA", str(tmp_path))
    assert cli_main(["data", "download"]) == 0
    assert cli_main(["data", "info", "--dataset", "sports"]) == 0
    out = capsys.readouterr()
    assert "15 images" in out.out
    assert SECRET not in out.out + out.err


def test_cli_download_without_credentials_is_one_clear_error(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("COLORBENCH_DATA", str(tmp_path))
    monkeypatch.setenv("KAGGLE_CONFIG_DIR", str(tmp_path / "no-config"))
    assert cli_main(["data", "download"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("colorbench: error: Kaggle credentials are needed") and "Traceback" not in err
