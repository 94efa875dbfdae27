"""Download Kaggle's "100 Sports Image Classification" (``gpiosenka/sports-classification``) with the official
``kaggle`` client into ``data/sports/``, unzip it and verify it.

The final folder only appears once the archive is extracted and verified (extract into a temporary sibling, then
rename), so an interrupted download never leaves a half dataset that looks complete. The client itself resumes a
partial archive; a corrupt archive is deleted and fetched again. Credentials are read by the kaggle client from
``~/.kaggle/kaggle.json`` or ``KAGGLE_USERNAME``/``KAGGLE_KEY``; in Colab, secrets with those names are copied
into the environment of this process. Credentials are never printed, logged or written anywhere.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from colorbench.atomic import UMASK, process_alive
from colorbench.data.images import ImageLoadError, load_image
from colorbench.data.index import KAGGLE_CSV, DatasetIndex, index_kaggle, sports_dir
from colorbench.locks import run_folder_lock

DATASET = "gpiosenka/sports-classification"
ARCHIVE_NAME = "sports-classification.zip"  # what the client writes: <dataset slug>.zip
COMPLETE_MARKER = ".colorbench-verified.json"

CREDENTIAL_HELP = """Kaggle credentials are needed to download the sports dataset. Provide them in one of three ways:
  1. ~/.kaggle/kaggle.json  — from kaggle.com > Settings > API > "Create New Token" (chmod 600 it);
  2. environment variables KAGGLE_USERNAME and KAGGLE_KEY;
  3. in Colab: the key icon (Secrets) > add KAGGLE_USERNAME and KAGGLE_KEY, and allow this notebook access.
Without credentials, use the bundled samples (--dataset samples) or any folder of images (--dataset PATH)."""


class KaggleDownloadError(RuntimeError):
    """Download failed; the message says why and what to do."""


@dataclass
class VerifyReport:
    rows: int
    present: int
    missing: list[str]
    undecodable: list[tuple[str, str]]

    @property
    def ok(self) -> bool:
        return not self.missing and not self.undecodable


# ------------------------------------------------------------------------------------------------- credentials
def _colab_secrets_to_env() -> None:
    """In Colab, copy the KAGGLE_USERNAME/KAGGLE_KEY secrets into this process's environment (if granted)."""
    try:
        from google.colab import userdata  # type: ignore[import-not-found]
    except ImportError:
        return
    for name in ("KAGGLE_USERNAME", "KAGGLE_KEY"):
        if os.environ.get(name):
            continue
        try:
            value = userdata.get(name)
        except Exception:  # secret absent or notebook access not granted
            value = None
        if value:
            os.environ[name] = value


def kaggle_json_path() -> Path:
    config_dir = os.environ.get("KAGGLE_CONFIG_DIR")
    return Path(config_dir) / "kaggle.json" if config_dir else Path.home() / ".kaggle" / "kaggle.json"


def credentials_available() -> bool:
    """True when the kaggle client will find credentials (file, env vars, or Colab secrets copied to env)."""
    _colab_secrets_to_env()
    if os.environ.get("KAGGLE_USERNAME") and os.environ.get("KAGGLE_KEY"):
        return True
    if os.environ.get("KAGGLE_API_TOKEN"):
        return True
    path = kaggle_json_path()
    if path.is_file():
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            return False
        return bool(data.get("username") and data.get("key"))
    return False


# ------------------------------------------------------------------------------------------------- verification
def is_complete(root: Path) -> bool:
    return (root / COMPLETE_MARKER).is_file() and (root / KAGGLE_CSV).is_file()


def verify(root: Path, *, progress: bool = True) -> VerifyReport:
    """Every row of sports.csv has its file and every image decodes."""
    from tqdm.auto import tqdm

    index = index_kaggle(root)
    missing = [p.path for p in index.problems]  # absent, a broken link, or not an image: the copy is not complete
    undecodable = []
    for sample in tqdm(index.samples, desc="verify images", unit="img", disable=not progress):
        try:
            load_image(sample.path)
        except ImageLoadError as exc:
            undecodable.append((str(sample.path), exc.reason))
    return VerifyReport(rows=len(index.samples) + len(missing), present=len(index.samples), missing=missing,
                        undecodable=undecodable)


# ------------------------------------------------------------------------------------------------- download
def _client():
    """An authenticated official Kaggle API client (import deferred: ``import kaggle`` authenticates eagerly)."""
    try:
        from kaggle.api.kaggle_api_extended import KaggleApi
    except ImportError:
        raise KaggleDownloadError("the kaggle client is not installed: pip install 'colorbench[kaggle]'") from None
    api = KaggleApi()
    try:
        api.authenticate()
    except (SystemExit, Exception):
        raise KaggleDownloadError(f"Kaggle rejected or could not read the credentials.\n{CREDENTIAL_HELP}") from None
    return api


def _fetch_archive(download_dir: Path, *, quiet: bool) -> Path:
    api = _client()
    download_dir.mkdir(parents=True, exist_ok=True)
    try:
        # force=False lets the client resume a partial archive left by an interrupted run
        api.dataset_download_files(DATASET, path=str(download_dir), force=False, quiet=quiet, unzip=False)
    except Exception as exc:
        # by status code, not by the text: Kaggle's 401 says only {"code":401,"message":"Unauthenticated"}
        status = getattr(getattr(exc, "response", None), "status_code", None)
        if status in (401, 403):
            raise KaggleDownloadError(f"Kaggle rejected the credentials (HTTP {status}: {str(exc)[:100]}).\n"
                                      f"{CREDENTIAL_HELP}") from None
        text = str(exc)
        cause = f"HTTP {status}: " if status else ""
        raise KaggleDownloadError(
            f"downloading {DATASET} failed ({cause}{type(exc).__name__}: {text[:200]}). Are you offline? Nothing was "
            f"written to the dataset folder; rerun to resume.\n{CREDENTIAL_HELP}"
        ) from None
    archive = download_dir / ARCHIVE_NAME
    if not archive.is_file():
        zips = sorted(download_dir.glob("*.zip"))
        if not zips:
            raise KaggleDownloadError(f"the Kaggle client finished but no archive is in {download_dir}")
        archive = zips[0]
    return archive


def download(root: Path | None = None, *, force: bool = False, progress: bool = True) -> DatasetIndex:
    """Download, extract and verify the sports dataset into ``root`` (default ``data/sports``). Idempotent.

    Never deletes what colorbench did not create: a non-empty ``root`` that is not a verified colorbench download is
    refused before anything is fetched, and a previous download is replaced only once the new one is verified.
    """
    root = Path(root) if root is not None else sports_dir()
    if is_complete(root) and not force:
        return index_kaggle(root)
    _refuse_foreign_folder(root)
    if not credentials_available():
        raise KaggleDownloadError(CREDENTIAL_HELP)
    root.parent.mkdir(parents=True, exist_ok=True)
    lock_dir = root.parent / f".{root.name}.colorbench-download"  # the lock lives beside root, never in it
    lock_dir.mkdir(exist_ok=True)
    with run_folder_lock(lock_dir, command=f"colorbench data download --root {root}", launch_id=None):
        if is_complete(root) and not force:  # another process finished it while this one waited
            return index_kaggle(root)
        remove_dead_staging(root)
        download_dir = root.parent / ".kaggle-download"
        archive = _fetch_archive(download_dir, quiet=not progress)
        staging = Path(tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}{root.name}-{os.getpid()}-", dir=root.parent))
        try:
            os.chmod(staging, 0o777 & ~UMASK)  # mkdtemp makes 0700; the dataset is shared like any other folder
            _extract(archive, staging)
            report = verify(staging, progress=progress)
            if report.missing or report.undecodable:
                raise KaggleDownloadError(
                    f"the downloaded dataset is incomplete: {len(report.missing)} files missing, "
                    f"{len(report.undecodable)} undecodable (first: "
                    f"{(report.missing + [u[0] for u in report.undecodable])[:3]}). "
                    f"Delete {archive} and rerun."
                )
            from colorbench.atomic import write_json

            write_json(staging / COMPLETE_MARKER, {"dataset": DATASET, "rows": report.rows, "verified": True})
            _replace(root, staging)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        shutil.rmtree(download_dir, ignore_errors=True)
    shutil.rmtree(lock_dir, ignore_errors=True)
    return index_kaggle(root)


STAGING_PREFIX = ".tmp-"  # staging folders: .tmp-<root name>-<pid>-<random>, beside root


def _refuse_foreign_folder(root: Path) -> None:
    """Stop before any work if ``root`` holds files that are not a colorbench download: replacing it would lose them."""
    if root.exists() and not root.is_dir():
        raise KaggleDownloadError(f"{root} is a file, not a folder: choose another --root")
    if not root.is_dir() or (root / COMPLETE_MARKER).is_file() or not any(root.iterdir()):
        return
    examples = ", ".join(sorted(p.name for p in root.iterdir())[:3])
    raise KaggleDownloadError(
        f"{root} is not empty ({examples}, ...) and is not a dataset colorbench downloaded (no {COMPLETE_MARKER}); "
        f"colorbench never deletes files it did not create. Choose an empty or new folder with --root, or move "
        f"those files away. To use a Kaggle-layout copy you made yourself, pass it as --dataset {root}.")


def _extract(archive: Path, staging: Path) -> None:
    """Unzip into ``staging``, refusing entries that would land outside it (zip-slip: ``../x``, ``/etc/x``)."""
    try:
        with zipfile.ZipFile(archive) as zf:
            for name in zf.namelist():
                target = (staging / name).resolve()
                if os.path.isabs(name) or ".." in Path(name.replace("\\", "/")).parts or \
                        not target.is_relative_to(staging.resolve()):
                    archive.unlink(missing_ok=True)
                    raise KaggleDownloadError(
                        f"{archive} has an entry {name!r} that points outside the dataset folder; this is not the "
                        f"Kaggle archive (or it was tampered with): it was deleted, nothing was extracted — rerun")
            zf.extractall(staging)
    except (zipfile.BadZipFile, EOFError):
        archive.unlink(missing_ok=True)  # a corrupt archive is redone next time, not resumed
        raise KaggleDownloadError(f"{archive} is not a valid zip (interrupted download?); it was deleted — "
                                  "rerun") from None


def _replace(root: Path, staging: Path) -> None:
    """Put the verified ``staging`` at ``root``: a previous colorbench download is moved aside first and deleted only
    once the new one is in place (so a crash leaves one complete copy), an empty folder is replaced."""
    _refuse_foreign_folder(root)  # again: files may have appeared while downloading
    if root.is_dir() and (root / COMPLETE_MARKER).is_file():
        old = Path(tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}{root.name}-{os.getpid()}-old-", dir=root.parent))
        os.replace(root, old / root.name)
        os.replace(staging, root)
        shutil.rmtree(old, ignore_errors=True)
        return
    if root.is_dir():
        root.rmdir()  # empty (checked above)
    os.replace(staging, root)


def remove_dead_staging(root: Path) -> int:
    """Delete the staging folders beside ``root`` left by downloads that were killed (their pid no longer runs);
    a live download's staging is left alone. Returns how many were removed."""
    removed = 0
    prefix = f"{STAGING_PREFIX}{root.name}-"
    for path in root.parent.glob(prefix + "*"):
        pid = path.name[len(prefix):].split("-")[0]
        if path.is_dir() and pid.isdigit() and not process_alive(int(pid)):
            shutil.rmtree(path, ignore_errors=True)
            removed += 1
    return removed
