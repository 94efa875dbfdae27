"""The Kaggle path end to end through the real ``kaggle`` client against a fake Kaggle server on 127.0.0.1.

Nothing of the client is replaced: it authenticates, POSTs ``DownloadDataset``, follows the redirect to the archive,
streams it, retries a cut connection with an HTTP ``Range`` request. The only change is where it connects: the
client's ``LOCALHOST`` environment (``KAGGLE_API_ENVIRONMENT=LOCALHOST``, which ``KaggleApi`` reads into its
``args`` at import) is pointed at the test's port instead of port 80. The server answers a bounded number of
requests and is stopped by the test.
"""

import base64
import email.utils
import hashlib
import io
import json
import os
import subprocess
import sys
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from test_kaggle_download import _fake_archive

from colorbench.data import kaggle as kaggle_mod
from colorbench.data.kaggle import KaggleDownloadError, download

pytest.importorskip("kaggle")
USER, KEY = "colorbench-test", "0123456789abcdef-very-secret-key"
MAX_REQUESTS = 40  # the server's loop is bounded: a client stuck in retries cannot keep the test alive
ARCHIVE_PATH = "/files/sports-classification.zip"


class FakeKaggle:
    """What Kaggle does for ``DownloadDataset``: check the credentials, redirect to the archive, serve it with
    ``Accept-Ranges``/``ETag``/``Last-Modified`` and honour ``Range``. ``cut_next`` sends half of the next full
    response and drops the connection; ``unauthenticated`` answers 401 with Kaggle's JSON body."""

    def __init__(self, payload: bytes):
        self.payload = payload
        self.requests: list[dict] = []
        self.cut_next = False
        self.unauthenticated = False
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep the test output clean
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                fake.requests.append({"method": "POST", "path": self.path, "body": body.decode()})
                expected = "Basic " + base64.b64encode(f"{USER}:{KEY}".encode()).decode()
                if fake.unauthenticated or self.headers.get("Authorization") != expected:
                    return self._json(401, {"code": 401, "message": "Unauthenticated"})
                if self.path != "/api/v1/datasets.DatasetApiService/DownloadDataset":
                    return self._json(404, {"code": 404, "message": "Not found"})
                self.send_response(302)
                self.send_header("Location", ARCHIVE_PATH)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_GET(self):
                range_header = self.headers.get("Range")
                fake.requests.append({"method": "GET", "path": self.path, "range": range_header})
                data = fake.payload
                start = int(range_header.removeprefix("bytes=").split("-")[0]) if range_header else 0
                self.send_response(206 if range_header else 200)
                self.send_header("Content-Type", "application/zip")
                self.send_header("Accept-Ranges", "bytes")
                self.send_header("ETag", '"' + hashlib.sha256(data).hexdigest()[:16] + '"')
                self.send_header("Last-Modified", email.utils.formatdate(1_600_000_000, usegmt=True))
                if range_header:
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                self.send_header("Content-Length", str(len(data) - start))
                self.end_headers()
                if fake.cut_next and not range_header:
                    fake.cut_next = False
                    self.wfile.write(data[: len(data) // 2])  # then the connection drops
                    self.close_connection = True
                    return
                self.wfile.write(data[start:])

            def _json(self, status, obj):
                body = json.dumps(obj).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = HTTPServer(("127.0.0.1", 0), Handler)  # one request at a time: the count below is exact
        self.server.timeout = 0.1
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self):
        handled = 0
        while not self._stop.is_set() and handled < MAX_REQUESTS:
            before = len(self.requests)
            self.server.handle_request()
            handled += len(self.requests) > before

    def stop(self):
        self._stop.set()
        self._thread.join(timeout=10)
        self.server.server_close()


@pytest.fixture
def kaggle_server(monkeypatch, sports_dir, tmp_path_factory):
    from kaggle.api.kaggle_api_extended import KaggleApi
    from kagglesdk import kaggle_env

    server = FakeKaggle(_fake_archive(sports_dir))
    monkeypatch.setenv("KAGGLE_USERNAME", USER)
    monkeypatch.setenv("KAGGLE_KEY", KEY)
    monkeypatch.setenv("KAGGLE_CONFIG_DIR", str(tmp_path_factory.mktemp("no-kaggle-config")))
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("KAGGLE_API_ENVIRONMENT", "LOCALHOST")
    monkeypatch.setattr(KaggleApi, "args", ["--local"])  # what KAGGLE_API_ENVIRONMENT=LOCALHOST sets at import
    monkeypatch.setitem(kaggle_env._env_to_endpoint, kaggle_env.KaggleEnv.LOCAL, server.url)
    yield server
    server.stop()


def _zip(entries: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for name, data in entries.items():
            zf.writestr(zipfile.ZipInfo(name), data)
    return out.getvalue()


def test_first_download_then_a_second_call_makes_no_request(tmp_path, kaggle_server):
    root = tmp_path / "data" / "sports"
    index = download(root, progress=False)
    assert len(index) == 15 and index.splits() == ["test", "train", "valid"] and kaggle_mod.is_complete(root)
    posts = [r for r in kaggle_server.requests if r["method"] == "POST"]
    assert len(posts) == 1 and json.loads(posts[0]["body"]) == {"ownerSlug": "gpiosenka",
                                                               "datasetSlug": "sports-classification"}
    assert sorted(p.name for p in root.parent.iterdir()) == ["sports"]  # no archive, staging or lock left
    seen = len(kaggle_server.requests)
    assert len(download(root, progress=False)) == 15
    assert len(kaggle_server.requests) == seen  # complete and verified: not even a metadata request


def test_a_cut_connection_is_resumed_with_a_range_request(tmp_path, kaggle_server):
    # the client writes 1 MiB chunks: a bigger archive (the real one ships a 16 MB model file) so that some of it is
    # on disk when the connection drops
    out = io.BytesIO(kaggle_server.payload)
    with zipfile.ZipFile(out, "a") as zf:
        zf.writestr("EfficientNetB0-weights-stand-in.h5", os.urandom(3 * 2**20))
    kaggle_server.payload = out.getvalue()
    kaggle_server.cut_next = True
    index = download(tmp_path / "sports", progress=False)
    gets = [r for r in kaggle_server.requests if r["method"] == "GET"]
    assert len(gets) == 2 and gets[0]["range"] is None
    resumed_at = int(gets[1]["range"].removeprefix("bytes=").rstrip("-"))
    assert 0 < resumed_at <= len(kaggle_server.payload) // 2  # only what was missing is fetched again, appended
    assert len(index) == 15 and not index.problems  # and the joined archive is the right one: every image decodes


def test_a_corrupt_zip_is_deleted_and_the_next_call_fetches_it_again(tmp_path, kaggle_server):
    good = kaggle_server.payload
    kaggle_server.payload = good[: len(good) // 2]  # served in full, but not a whole zip
    with pytest.raises(KaggleDownloadError, match="not a valid zip.*deleted"):
        download(tmp_path / "sports", progress=False)
    assert not (tmp_path / "sports").exists() and not list(tmp_path.glob(".kaggle-download/*.zip"))
    kaggle_server.payload = good
    assert len(download(tmp_path / "sports", progress=False)) == 15


@pytest.mark.parametrize("evil", ["../evil.txt", "../../evil.txt", "/tmp/colorbench-zip-slip-evil.txt"])
def test_zip_slip_entries_are_refused_and_nothing_lands_outside(tmp_path, kaggle_server, evil):
    work = tmp_path / "a" / "b"
    kaggle_server.payload = _zip({"sports.csv": b"class id,filepaths,labels,data set\n", evil: b"pwned"})
    with pytest.raises(KaggleDownloadError, match="points outside the dataset folder"):
        download(work / "sports", progress=False)
    written = [p for p in tmp_path.rglob("*") if p.name == "evil.txt"]
    assert not written and not Path("/tmp/colorbench-zip-slip-evil.txt").exists()
    assert not (work / "sports").exists() and not list(work.glob(".kaggle-download/*.zip"))


def test_a_401_with_kaggles_json_body_is_a_credentials_problem(tmp_path, kaggle_server):
    kaggle_server.unauthenticated = True
    with pytest.raises(KaggleDownloadError) as info:
        download(tmp_path / "sports", progress=False)
    message = str(info.value)
    assert "rejected the credentials" in message and "401" in message and "offline" not in message
    assert KEY not in message and not (tmp_path / "sports").exists()


def test_the_cli_reports_a_401_in_one_line_without_the_key(tmp_path, kaggle_server, monkeypatch, capsys):
    from colorbench.cli import main as cli_main

    kaggle_server.unauthenticated = True
    monkeypatch.setenv("COLORBENCH_DATA", str(tmp_path))
    assert cli_main(["data", "download"]) == 2
    out = capsys.readouterr()
    assert "colorbench: error: Kaggle rejected the credentials" in out.err and "Traceback" not in out.err
    assert KEY not in out.out + out.err


def test_a_folder_with_the_users_files_is_refused_and_left_untouched(tmp_path, kaggle_server):
    root = tmp_path / "myphotos"
    (root / "holiday").mkdir(parents=True)
    (root / "holiday" / "notes.txt").write_text("my notes")
    with pytest.raises(KaggleDownloadError, match="not empty.*never deletes"):
        download(root, progress=False)
    assert (root / "holiday" / "notes.txt").read_text() == "my notes"
    assert kaggle_server.requests == []  # refused before any download


def test_a_previous_download_survives_a_failed_redownload_and_is_replaced_by_a_good_one(tmp_path, kaggle_server):
    root = tmp_path / "sports"
    download(root, progress=False)
    good = kaggle_server.payload
    kaggle_server.payload = good[: len(good) // 2]
    with pytest.raises(KaggleDownloadError, match="not a valid zip"):
        download(root, force=True, progress=False)
    assert kaggle_mod.is_complete(root) and len(kaggle_mod.index_kaggle(root)) == 15  # the old copy is intact
    kaggle_server.payload = good
    (root / "test" / "archery" / "1.jpg").unlink()  # so that the replacement can be told from the old copy
    assert len(download(root, force=True, progress=False)) == 15
    assert (root / "test" / "archery" / "1.jpg").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sports"]  # the old copy and staging are gone


def test_staging_left_by_a_killed_download_is_removed_but_a_live_ones_is_not(tmp_path, kaggle_server):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    killed = tmp_path / f".tmp-sports-{dead.pid}-x1y2"
    live = tmp_path / f".tmp-sports-{os.getppid()}-a3b4"  # a process that runs (pytest's parent)
    for staging in (killed, live):
        (staging / "test").mkdir(parents=True)
        (staging / "test" / "big.jpg").write_bytes(b"\0" * 1000)
    download(tmp_path / "sports", progress=False)
    assert not killed.exists() and live.exists()


def test_the_dataset_folder_follows_the_umask(tmp_path, kaggle_server):
    from colorbench.atomic import UMASK

    root = tmp_path / "sports"
    download(root, progress=False)
    assert root.stat().st_mode & 0o777 == 0o777 & ~UMASK  # mkdtemp's 0700 would hide it from the group
