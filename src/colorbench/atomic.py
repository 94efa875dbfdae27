"""Atomic file writes: a reader never sees a partial file under its final name (and the one file hash, sha256_file).

Every file colorbench writes goes through here: the bytes go to a temporary file in the same folder, are flushed
and fsynced, then renamed over the final name (``os.replace`` is atomic on POSIX and Windows). A run killed
mid-write leaves at most a ``.tmp-*`` file, which resume ignores and :func:`remove_stale_temps` deletes (the name
carries the writer's process id, so a file another live process is writing is never touched).
"""

from __future__ import annotations

import contextlib
import csv
import errno
import io
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping, Sequence

import numpy as np

TMP_PREFIX = ".tmp-"
_UMASK = os.umask(0)
os.umask(_UMASK)  # read once: os.umask can only be read by setting it
UMASK = _UMASK


def remove_stale_temps(folder: str | os.PathLike) -> int:
    """Delete the ``.tmp-*`` files under ``folder`` left by writers that no longer run (a killed run); returns how
    many. Files of a live process, or without a process id in their name, are left alone."""
    removed = 0
    for tmp in Path(folder).rglob(TMP_PREFIX + "*"):
        parts = tmp.name.rsplit(".", 2)  # .tmp-<final name>.<pid>.<random>
        if len(parts) != 3 or not parts[1].isdigit() or process_alive(int(parts[1])):
            continue
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
            removed += 1
    return removed


def process_alive(pid: int) -> bool:
    if pid == os.getpid() or os.name == "nt":  # on Windows os.kill would terminate the process: never probe there
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # exists (another user's), or cannot tell: keep the file
    return True


class DiskFull(OSError):
    """No space (or quota) left where colorbench writes; the message names the folder and the space needed."""

    def __init__(self, folder: Path, needed: int | None, *, remaining: str = ""):
        self.folder, self.needed = Path(folder), needed
        self.errno = errno.ENOSPC
        try:
            free = f"{format_size(shutil.disk_usage(folder).free)} free there"
        except OSError:
            free = "free space unknown"
        needs = ("a file could not be written" if needed is None
                 else f"the file being written needs {format_size(needed)}")
        super().__init__(f"no space left on the device of {folder}: {needs}, {free}{remaining}. Free some space (or "
                         f"point COLORBENCH_RESULTS / COLORBENCH_DATA at a bigger disk) and rerun the same command: "
                         f"finished files are kept and reused")


def format_size(n: int) -> str:
    return f"{n / 2**20:.1f} MiB" if n >= 2**20 else f"{n / 2**10:.1f} KiB" if n >= 2**10 else f"{n} bytes"


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, *, size: int | None = None) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success it is renamed to ``path``, on error removed. A full disk
    raises :class:`DiskFull` naming the folder and ``size`` (the bytes being written, when the caller knows)."""
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f"{TMP_PREFIX}{final.name}.{os.getpid()}.", dir=final.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; results are meant to be shared like any other file
    try:
        yield tmp
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, final)
    except BaseException as exc:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        if isinstance(exc, OSError) and not isinstance(exc, DiskFull) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise DiskFull(final.parent, size) from exc
        raise


def write_bytes(path: str | os.PathLike, data: bytes) -> None:
    with atomic_path(path, size=len(data)) as tmp:
        tmp.write_bytes(data)


def write_text(path: str | os.PathLike, text: str) -> None:
    write_bytes(path, text.encode("utf-8"))


def write_json(path: str | os.PathLike, obj: Any) -> None:
    write_text(path, json.dumps(obj, indent=2, sort_keys=False, default=str) + "\n")


def write_png(path: str | os.PathLike, image: np.ndarray) -> None:
    """Write a uint8 ``HxW`` or ``HxWx3`` array as PNG, atomically."""
    from PIL import Image

    if image.dtype != np.uint8:
        raise TypeError(f"write_png expects uint8, got {image.dtype} for {path}")
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="PNG", compress_level=1)  # 3x faster than the default, ~7% larger
    write_bytes(path, buf.getvalue())


def write_csv(path: str | os.PathLike, rows: Iterable[Mapping[str, Any]], columns: Sequence[str]) -> None:
    """Write rows (dicts) with a fixed column order, atomically."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(columns), extrasaction="raise", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({c: row.get(c, "") for c in columns})
    write_text(path, buf.getvalue())


def append_csv_rows(path: str | os.PathLike, rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> None:
    """Append rows to a CSV by rewriting it atomically (files here are small; a torn append is never visible)."""
    path = Path(path)
    existing: list[dict[str, str]] = []
    if path.exists():
        with open(path, newline="", encoding="utf-8") as fh:
            existing = list(csv.DictReader(fh))
    write_csv(path, [*existing, *rows], columns)


def sha256_file(path: str | os.PathLike) -> str:
    """The sha256 of a file's bytes, read in 1 MiB blocks (weights, downloads, imported outputs, run inputs)."""
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
