"""The weights registry: local files used offline, hash checks, resumable atomic downloads, clear errors."""

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

    def do_GET(self):  # noqa: N802
        type(self).requests.append(self.headers.get("Range"))
        start = 0
        if self.headers.get("Range"):
            start = int(self.headers["Range"].split("=")[1].split("-")[0])
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


@pytest.fixture
def server():
    handler = type("Handler", (_RangeHandler,), {"requests": []})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield handler, f"http://127.0.0.1:{httpd.server_address[1]}/file"
    httpd.shutdown()


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
