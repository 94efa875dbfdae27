"""The weights registry: local files used offline, hash checks, resumable atomic downloads, clear errors."""

import contextlib
import hashlib
import http.server
import io
import threading
import zipfile
from pathlib import Path

import pytest

from colorbench import weights
from colorbench.weights import WeightSpec, WeightsUnavailable


class _RangeHandler(http.server.BaseHTTPRequestHandler):
    """Serves one payload over loopback and honours Range requests (like GitHub/GCS do)."""

    payload = b""
    requests: list = []
    fail_after: int | None = None  # bytes sent before dropping the connection (simulates an interruption)
    ignore_range: bool = False  # a server that always sends the whole file (200)

    def do_GET(self):  # noqa: N802
        type(self).requests.append(self.headers.get("Range"))
        start = 0
        if self.headers.get("Range") and not self.ignore_range:
            start = int(self.headers["Range"].split("=")[1].split("-")[0])
            if start >= len(self.payload):  # what S3/GCS answer for a range past the end
                self.send_response(416)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
        else:
            self.send_response(200)
        body = self.payload[start:]
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.fail_after is not None and start == 0:
            self.wfile.write(body[: self.fail_after])
            self.wfile.flush()
            self.connection.shutdown(2)
            return
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@contextlib.contextmanager
def serving(payload: bytes = b""):
    """(handler class, URL) of a loopback server of ``payload``; other test modules use it for their downloads."""
    handler = type("Handler", (_RangeHandler,), {"requests": [], "payload": payload})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield handler, f"http://127.0.0.1:{httpd.server_address[1]}/file"
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def server():
    with serving() as served:
        yield served


def _spec(url, payload, **kw):
    return WeightSpec(name="test-artefact", relpath="test/artefact.bin", url=url, size=len(payload),
                      sha256=hashlib.sha256(payload).hexdigest(), **kw)


def test_present_file_is_used_without_network(monkeypatch):
    payload = b"weights" * 100
    spec = _spec("http://127.0.0.1:9/unreachable", payload)
    path = weights.local_path(spec)
    path.parent.mkdir(parents=True)
    path.write_bytes(payload)
    assert weights.ensure(spec) == path
    assert weights.status(spec) == (True, "present")


def test_wrong_hash_is_refused_with_path(monkeypatch):
    spec = _spec("http://127.0.0.1:9/x", b"real")
    path = weights.local_path(spec)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"fake")
    present, state = weights.status(spec)  # same size; only the hash tells — and `weights list` must not say present
    assert present is False and "FAILS ITS CHECK" in state and "expected" in state
    with pytest.raises(WeightsUnavailable, match="expected"):
        weights.ensure(spec)


def test_offline_error_names_file_place_and_env_var():
    spec = weights.get_spec("cnn-original-epoch186")
    with pytest.raises(WeightsUnavailable) as info:
        weights.ensure(spec)
    message = str(info.value)
    assert "model-epoch-186-losses-0.124.pth" in message and "COLORBENCH_MODELS" in message
    assert "github.com/dakotalw/image-colorizer-2" in message


def test_torch_hub_artefacts_live_in_torch_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "th"))
    assert (weights.local_path("eccv16")
            == tmp_path / "th" / "hub" / "checkpoints" / "colorization_release_v2-9b330a0b.pth")
    with pytest.raises(WeightsUnavailable, match="TORCH_HOME"):
        weights.ensure("eccv16")


def test_download_is_hash_checked_and_atomic(server, monkeypatch):
    monkeypatch.delenv("COLORBENCH_OFFLINE")
    handler, url = server
    handler.payload = bytes(range(256)) * 4000
    spec = _spec(url, handler.payload)
    path = weights.ensure(spec, progress=False)
    assert path.read_bytes() == handler.payload
    assert not list(path.parent.glob("*.part"))


def test_interrupted_download_resumes_with_range(server, monkeypatch):
    monkeypatch.delenv("COLORBENCH_OFFLINE")
    handler, url = server
    handler.payload = bytes(range(256)) * 4000
    handler.fail_after = 300_000
    spec = _spec(url, handler.payload)
    with pytest.raises(WeightsUnavailable, match="resume"):
        weights.fetch(spec, progress=False)
    part = weights.local_path(spec).with_name("artefact.bin.part")
    part_size = part.stat().st_size
    assert 0 < part_size < len(handler.payload)
    assert not weights.local_path(spec).exists()  # nothing under the final name
    handler.fail_after = None
    weights.fetch(spec, progress=False)
    assert weights.local_path(spec).read_bytes() == handler.payload
    assert handler.requests[-1] == f"bytes={part_size}-"  # resumed, not restarted


def test_corrupted_download_is_rejected(server, monkeypatch):
    monkeypatch.delenv("COLORBENCH_OFFLINE")
    handler, url = server
    handler.payload = b"x" * 1000
    spec = WeightSpec(name="t", relpath="t.bin", url=url, size=1000, sha256="0" * 64)
    with pytest.raises(WeightsUnavailable, match="sha256"):
        weights.fetch(spec, progress=False)
    assert not weights.local_path(spec).exists()


def test_zip_archive_unpacks_and_records_its_hash(server, monkeypatch):
    monkeypatch.delenv("COLORBENCH_OFFLINE")
    handler, url = server
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("coltran/colorizer/checkpoint", "model_checkpoint_path: \"model\"")
    handler.payload = buf.getvalue()
    spec = WeightSpec(name="z", relpath="z/release", url=url, unpack="zip")
    target = weights.ensure(spec, progress=False)
    assert (target / "coltran" / "colorizer" / "checkpoint").is_file()
    recorded = Path(str(target) + ".sha256").read_text().strip()
    assert recorded == hashlib.sha256(handler.payload).hexdigest()


def test_hf_artefact_offline_is_a_clear_error():
    with pytest.raises(WeightsUnavailable, match="stable-diffusion-v1-5"):
        weights.ensure("sd15")


def test_every_registry_entry_is_complete():
    for spec in weights.REGISTRY.values():
        assert spec.used_by and spec.description and spec.licence, spec.name
        assert (spec.url if spec.source == "url" else spec.hf_repo), spec.name
        if spec.sha256:
            assert len(spec.sha256) == 64


def test_interrupted_hf_snapshot_is_not_taken_as_present(tmp_path, monkeypatch):
    """A snapshot folder missing some of the declared files (an interrupted download) is not 'present'."""
    from colorbench.weights.state import snapshot_complete as _snapshot_complete

    (tmp_path / "unet").mkdir()
    (tmp_path / "model_index.json").write_text("{}")
    patterns = ("model_index.json", "unet/*.safetensors")
    assert not _snapshot_complete(tmp_path, patterns)
    (tmp_path / "unet" / "diffusion_pytorch_model.safetensors").write_bytes(b"x")
    assert _snapshot_complete(tmp_path, patterns)


def test_a_damaged_checkpoint_is_named_without_advice_to_unpickle_code(tmp_path):
    import torch

    from colorbench.weights import UnreadableCheckpoint, load_torch_file

    good = tmp_path / "good.pt"
    torch.save({"w": torch.ones(2)}, good)
    assert torch.equal(load_torch_file(good)["w"], torch.ones(2))
    damaged = tmp_path / "best.pt"
    damaged.write_bytes(good.read_bytes()[:40])  # truncated
    for path in (damaged, tmp_path / "notes.txt"):
        path.write_bytes(path.read_bytes() if path.exists() else b"hello")
        with pytest.raises(UnreadableCheckpoint, match=str(path.name)) as info:
            load_torch_file(path)
        assert "weights_only" not in str(info.value) and "delete it" in str(info.value)


def test_fetch_list_and_methods_do_not_vouch_for_a_file_failing_its_check(capsys):
    """A random file under a torch.hub-style name (eccv16's, prefix 9b330a0b) is not 'present', not 'ready', and
    `weights fetch` reports it with the fix instead of a ✓ (issue 14, point 3)."""
    from colorbench.cli import main

    path = weights.local_path("eccv16")
    path.parent.mkdir(parents=True)
    path.write_bytes(b"random weights of the right name" * 100)
    assert main(["weights", "fetch", "eccv16"]) == 1
    out = capsys.readouterr().out
    assert "✓" not in out and "its name says it starts with 9b330a0b" in out and "delete it" in out
    main(["weights", "list"])
    line = next(row for row in capsys.readouterr().out.splitlines() if " eccv16 " in row)
    assert line.startswith("✗") and "FAILS ITS CHECK" in line
    main(["methods"])
    line = next(row for row in capsys.readouterr().out.splitlines() if row.strip().startswith("eccv16 "))
    assert "ready" not in line and "needs weights: eccv16" in line


# ------------------------------------------------------------------------------------------------- issue 13.5
def _part(spec) -> Path:
    return weights.local_path(spec).with_name(weights.local_path(spec).name + ".part")


def test_a_half_download_left_by_an_earlier_process_is_resumed_not_restarted(server, monkeypatch):
    """A .part file from a run that was killed (no exception, no clean-up) is continued with a Range request."""
    monkeypatch.delenv("COLORBENCH_OFFLINE")
    handler, url = server
    handler.payload = bytes(range(256)) * 4000
    spec = _spec(url, handler.payload)
    part = _part(spec)
    part.parent.mkdir(parents=True)
    part.write_bytes(handler.payload[:123_456])
    assert weights.ensure(spec, progress=False).read_bytes() == handler.payload
    assert handler.requests == ["bytes=123456-"] and not part.exists()


def test_a_server_that_ignores_the_range_gives_the_whole_file_once(server, monkeypatch):
    monkeypatch.delenv("COLORBENCH_OFFLINE")
    handler, url = server
    handler.payload, handler.ignore_range = bytes(range(256)) * 4000, True
    spec = _spec(url, handler.payload)
    _part(spec).parent.mkdir(parents=True)
    _part(spec).write_bytes(handler.payload[:5000])
    assert weights.fetch(spec, progress=False).read_bytes() == handler.payload  # not the first 5000 bytes twice


def test_a_connection_closed_early_is_not_taken_for_the_file_even_without_a_declared_size(server, monkeypatch):
    """No size or sha256 in the registry: the server's Content-Length is what tells a cut download from a whole one."""
    monkeypatch.delenv("COLORBENCH_OFFLINE")
    handler, url = server
    handler.payload, handler.fail_after = b"w" * 100_000, 40_000
    spec = WeightSpec(name="unsized", relpath="test/unsized.bin", url=url)
    with pytest.raises(WeightsUnavailable, match="run the fetch again to resume"):
        weights.fetch(spec, progress=False)
    assert not weights.local_path(spec).exists() and _part(spec).stat().st_size == 40_000
    handler.fail_after = None
    assert weights.fetch(spec, progress=False).read_bytes() == handler.payload
    assert handler.requests[-1] == "bytes=40000-"


def test_a_whole_part_file_left_before_the_rename_is_checked_not_fetched_forever(server, monkeypatch):
    """The server answers 416 to a range past the end: the .part is complete, and its check decides."""
    monkeypatch.delenv("COLORBENCH_OFFLINE")
    handler, url = server
    handler.payload = b"complete" * 1000
    spec = WeightSpec(name="unsized", relpath="test/unsized.bin", url=url,
                      sha256=hashlib.sha256(handler.payload).hexdigest())
    _part(spec).parent.mkdir(parents=True)
    _part(spec).write_bytes(handler.payload)
    assert weights.fetch(spec, progress=False).read_bytes() == handler.payload
    assert handler.requests == [f"bytes={len(handler.payload)}-"]


def test_a_download_failing_its_hash_names_the_file_and_is_deleted(server, monkeypatch):
    monkeypatch.delenv("COLORBENCH_OFFLINE")
    handler, url = server
    handler.payload = b"not the weights" * 100
    spec = WeightSpec(name="named", relpath="test/trunk.pth", url=url, sha256="1" * 64)
    with pytest.raises(WeightsUnavailable) as info:
        weights.fetch(spec, progress=False)
    message = str(info.value)
    assert "trunk.pth downloaded from" in message and "expected " + "1" * 64 in message
    assert "colorbench weights fetch named" in message and "deleted" in message
    assert not _part(spec).exists() and not weights.local_path(spec).exists()


def test_a_present_file_failing_its_hash_is_named_with_delete_and_refetch(monkeypatch):
    spec = WeightSpec(name="named", relpath="test/trunk.pth", url="http://127.0.0.1:9/x", sha256="1" * 64)
    path = weights.local_path(spec)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"something else")
    for call in (weights.ensure, weights.fetch):  # fetch does not silently download over it either
        with pytest.raises(WeightsUnavailable) as info:
            call(spec)
        message = str(info.value)
        assert str(path) in message and "delete it" in message and "colorbench weights fetch named" in message
    assert path.read_bytes() == b"something else"


def test_a_download_whose_bytes_do_not_match_the_hash_prefix_in_its_name_is_refused(server, monkeypatch):
    monkeypatch.delenv("COLORBENCH_OFFLINE")
    handler, url = server
    handler.payload = b"some other network" * 100
    right = hashlib.sha256(handler.payload).hexdigest()[:8]
    wrong = "0" * 8 if right != "0" * 8 else "1" * 8
    refused = WeightSpec(name="prefixed", relpath=f"test/alexnet-owt-{wrong}.pth", url=url)
    with pytest.raises(WeightsUnavailable, match=f"alexnet-owt-{wrong}.pth downloaded from .* its name says it "
                                                 f"starts with {wrong}"):
        weights.fetch(refused, progress=False)
    assert not weights.local_path(refused).exists() and not _part(refused).exists()
    accepted = WeightSpec(name="prefixed", relpath=f"test/alexnet-owt-{right}.pth", url=url)
    assert weights.fetch(accepted, progress=False).read_bytes() == handler.payload


def test_the_hash_prefix_is_checked_even_where_a_full_sha256_is_declared():
    """A registry line whose sha256 contradicts the file's name is caught: the name's prefix is checked too."""
    payload = b"weights"
    digest = hashlib.sha256(payload).hexdigest()
    spec = WeightSpec(name="contradiction", relpath="test/net-00000000.pth", url="http://127.0.0.1:9/x",
                      sha256=digest)
    path = weights.local_path(spec)
    path.parent.mkdir(parents=True)
    path.write_bytes(payload)
    with pytest.raises(WeightsUnavailable, match="its name says it starts with 00000000"):
        weights.ensure(spec)


def test_every_registered_file_with_a_hash_prefix_in_its_name_is_checked_against_it():
    prefixed = {name: weights.hash_prefix(spec.relpath) for name, spec in weights.REGISTRY.items()
                if spec.source == "url" and not spec.unpack and weights.hash_prefix(spec.relpath)}
    assert {"eccv16", "siggraph17", "torchvision-alexnet", "torchvision-vgg16", "fid-inception-v3",
            "torchvision-resnet18"} <= set(prefixed)
    for name, prefix in prefixed.items():
        spec = weights.get_spec(name)
        assert spec.sha256 is None or spec.sha256.startswith(prefix), name  # the registry agrees with itself
        path = weights.local_path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(f"random weights saved as {name}".encode())
        present, state = weights.status(name)
        assert not present and f"its name says it starts with {prefix}" in state and str(path) in state, name
        with pytest.raises(WeightsUnavailable, match="delete it"):
            weights.ensure(name)


def test_weights_list_columns_stay_aligned_whatever_the_state(capsys):
    """Long states (a failing check, 'not in the Hugging Face cache') used to push the later columns right."""
    from colorbench.cli import main

    path = weights.local_path("eccv16")
    path.parent.mkdir(parents=True)
    path.write_bytes(b"random weights of the right name")
    assert main(["weights", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    header, rows = lines[0], [line for line in lines if line[:1] in ("✓", "✗")]
    assert len(rows) == len(weights.REGISTRY)
    for column in ("STATE", "SIZE", "WHERE"):
        start = header.index(column)
        assert all(row[start - 1] == " " and row[start] != " " for row in rows), column
    where = header.index("WHERE")
    assert {row[where:] for row in rows} >= {str(path), "stable-diffusion-v1-5/stable-diffusion-v1-5"}
    failing = lines.index(next(row for row in rows if " eccv16 " in row))
    assert "its name says it starts with 9b330a0b" in lines[failing + 1]  # the detail, on its own line


def test_weights_list_columns_fit_a_long_artefact_name(monkeypatch, capsys):
    """A name longer than any built-in one (a plug-in's artefact) widens its column; the others stay aligned."""
    from colorbench.cli import main

    long_name = "a-plugin-artefact-with-a-name-much-longer-than-the-built-in-ones"
    spec = WeightSpec(name=long_name, relpath="plugin/a.bin", url="http://127.0.0.1:9/a.bin", size=2**20)
    monkeypatch.setitem(weights.REGISTRY, long_name, spec)
    assert main(["weights", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    header, rows = lines[0], [line for line in lines if line[:1] in ("✓", "✗")]
    assert any(f" {long_name} " in row for row in rows)
    for column in ("STATE", "SIZE", "WHERE"):
        start = header.index(column)
        assert start > len(long_name) + 2
        assert all(row[start - 1] == " " and row[start] != " " for row in rows), column
