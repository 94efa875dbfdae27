"""Resumable, incremental scoring: what ``score_run`` has computed survives an interruption and a finished scoring,
and a rerun scores only what changed.

After every batch of truths the scorer saves, atomically, the rows of the images it finished, their FID features
and a fingerprint of every file each row was computed from (the truth and every expected output, with its size and
modification time, or its absence). A rerun with the same scoring settings reuses an image only when all of those
files are unchanged, so a re-run method, a deleted output or a new sample is scored again; other settings (another
LPIPS trunk, FID on or off, a metric that was unavailable and now is, a method added, a new scorer version) start
over. The store is a hidden folder of the run, ``.scoring-checkpoint/``; once ``metrics.csv`` is written it is
compacted to one batch, so a rerun of ``colorbench demo`` or of a notebook costs a scan of the files, not a
scoring. Deleting the folder forces a full scoring.

Usage (a sketch, not run by the doctests: it is what ``score_run`` does, in a run folder)::

    ckpt = ScoringCheckpoint.open(run, settings)       # finds a matching earlier checkpoint, if any
    done = ckpt.reusable(files_of)                      # ids whose files are unchanged
    ...
    ckpt.add(ids, records, files_of, real, fake)        # after each batch
    ckpt.compact(ids, records, files_of, real, fake)    # after metrics.csv is written: one batch of everything
"""

from __future__ import annotations

import io
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from colorbench import atomic
from colorbench.runfolder import RunFolder

FOLDER_NAME = ".scoring-checkpoint"
FORMAT = 2

#: (path, size, mtime_ns) of a file a score depends on, or (path, None, None) for an expected file that is absent
FileFingerprint = tuple[str, "int | None", "int | None"]


def fingerprint(path: Path) -> FileFingerprint:
    """What a score read from ``path``: its path, size and modification time, or ``None`` twice when it is absent.

    >>> fingerprint(Path("no-such-output.png"))
    ('no-such-output.png', None, None)
    """
    try:
        st = path.stat()
    except FileNotFoundError:
        return (str(path), None, None)
    return (str(path), st.st_size, st.st_mtime_ns)


@dataclass
class ScoringCheckpoint:
    """The finished batches of a scoring, interrupted or complete: one file pair per batch (append-only, so saving
    costs the size of one batch, not of everything scored so far), under ``<run>/.scoring-checkpoint/``."""

    run: RunFolder
    settings: dict
    records: dict[str, list[dict]] = field(default_factory=dict)  # id -> its metrics rows
    files: dict[str, list[list]] = field(default_factory=dict)  # id -> fingerprints of the files its rows came from
    real: dict[str, np.ndarray] = field(default_factory=dict)  # id -> Inception features of the truth
    fake: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)  # method -> id -> features of sample 0
    n_batches: int = 0  # the number the next batch file gets

    @property
    def folder(self) -> Path:
        return self.run.path / FOLDER_NAME

    @classmethod
    def open(cls, run: RunFolder, settings: dict) -> "ScoringCheckpoint":
        """The earlier checkpoint of ``run`` when it was made with the same ``settings``; otherwise an empty one
        (and an earlier checkpoint made differently is deleted, so the two never mix)."""
        ckpt = cls(run, settings)
        try:
            saved = json.loads((ckpt.folder / "settings.json").read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):
            saved = None
        if saved != {"format": FORMAT, "settings": json.loads(json.dumps(settings))}:
            ckpt.discard()
            return ckpt
        batches = sorted(ckpt.folder.glob("batch-*.json"))  # the .json is written last: it marks a whole batch
        ckpt.n_batches = 1 + max((int(b.stem.split("-")[1]) for b in batches), default=-1)  # next file number
        for batch in batches:
            try:
                state = json.loads(batch.read_text(encoding="utf-8"))
                features = batch.with_suffix(".npz")
                arrays = dict(np.load(features)) if features.exists() else {}
            except (OSError, ValueError):
                continue  # a damaged batch is scored again
            # a later batch of the same id replaces an earlier one
            for sample_id, fingerprints in state["files"].items():
                ckpt.files[sample_id] = fingerprints
                ckpt.records[sample_id] = [r for r in state["records"] if r["id"] == sample_id]
                ckpt.real.pop(sample_id, None)
                for per_id in ckpt.fake.values():
                    per_id.pop(sample_id, None)
            for key, value in arrays.items():
                kind, _, rest = key.partition("/")
                if kind == "real":
                    ckpt.real[rest] = value
                else:
                    method, _, sample_id = rest.partition("/")
                    ckpt.fake.setdefault(method, {})[sample_id] = value
        return ckpt

    def reusable(self, files_of: Callable[[str], list[FileFingerprint]]) -> set[str]:
        """Ids whose rows can be reused: every file they were computed from is unchanged (and no expected file
        appeared or vanished since)."""
        return {i for i, fingerprints in self.files.items() if [list(s) for s in files_of(i)] == fingerprints}

    def add(self, ids: list[str], records: list[dict], files_of: Callable[[str], list[FileFingerprint]],
            real: dict[str, np.ndarray], fake: dict[str, dict[str, np.ndarray]]) -> None:
        """Save a finished batch: its ids' rows, the fingerprints of their files and their FID features."""
        if not (self.folder / "settings.json").exists():
            atomic.write_json(self.folder / "settings.json", {"format": FORMAT, "settings": self.settings})
        name = self.folder / f"batch-{self.n_batches:06d}"
        arrays = {f"real/{i}": v for i, v in real.items()}
        arrays.update({f"fake/{m}/{i}": v for m, per_id in fake.items() for i, v in per_id.items()})
        if arrays:
            buffer = io.BytesIO()
            np.savez(buffer, **arrays)
            atomic.write_bytes(name.with_suffix(".npz"), buffer.getvalue())
        wanted = set(ids)
        state = {"records": [r for r in records if r["id"] in wanted],
                 "files": {i: [list(s) for s in files_of(i)] for i in ids}}
        atomic.write_text(name.with_suffix(".json"), json.dumps(state))
        self.n_batches += 1

    def compact(self, ids: list[str], records: list[dict], files_of: Callable[[str], list[FileFingerprint]],
                real: dict[str, np.ndarray], fake: dict[str, dict[str, np.ndarray]]) -> None:
        """Replace the batches with one holding ``ids``' rows and features (a finished scoring's, for the next
        rerun). The new batch is written before the old ones go: an interruption between leaves both, and a later
        batch of an id replaces an earlier one on :meth:`open`."""
        old = sorted(self.folder.glob("batch-*"))
        wanted = set(ids)
        self.add(ids, records, files_of, {i: v for i, v in real.items() if i in wanted},
                 {m: {i: v for i, v in per_id.items() if i in wanted} for m, per_id in fake.items()})
        for path in old:
            path.unlink(missing_ok=True)

    def discard(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
