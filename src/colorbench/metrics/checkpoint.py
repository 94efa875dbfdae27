"""Resumable, incremental scoring: what ``score_run`` has computed survives an interruption and a finished scoring,
and a rerun scores only what changed.

After every batch of truths the scorer saves, atomically, the rows of each (image, method) it scored, their FID
features and a fingerprint of every file those rows were computed from (the truth and each of the method's expected
outputs, with its size and modification time, or its absence). A rerun with the same scoring settings reuses an
(image, method) only when all of those files are unchanged: a re-run method, a deleted output or a new sample is
scored again, and a method added to the run is scored alone; other settings (another LPIPS trunk, FID on or off, a
metric that was unavailable and now is, a new scorer version) start over. The store is a hidden folder of the run,
``.scoring-checkpoint/``; once ``metrics.csv`` is written it is compacted to one batch, so a rerun of ``colorbench
demo`` or of a notebook costs a scan of the files, not a scoring. Deleting the folder forces a full scoring.

Usage (a sketch, not run by the doctests: it is what ``score_run`` does, in a run folder)::

    ckpt = ScoringCheckpoint.open(run, settings)        # finds a matching earlier checkpoint, if any
    done = ckpt.reusable(files_of, methods)              # id -> the methods whose files are unchanged
    ...
    ckpt.add(pairs, records, files_of, real, fake)       # after each batch: pairs = id -> the methods it scored
    ckpt.compact(pairs, records, files_of, real, fake)   # after metrics.csv is written: one batch of everything
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
FORMAT = 3  # 3: rows and fingerprints per (image, method), so an added method is scored alone

#: (path, size, mtime_ns) of a file a score depends on, or (path, None, None) for an expected file that is absent
FileFingerprint = tuple[str, "int | None", "int | None"]
#: the fingerprints of the files one method's rows of one image come from: ``files_of(sample_id, method)``
FilesOf = Callable[[str, str], list[FileFingerprint]]


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
    records: dict[str, dict[str, list[dict]]] = field(default_factory=dict)  # id -> method -> its metrics rows
    files: dict[str, dict[str, list[list]]] = field(default_factory=dict)  # id -> method -> its files' fingerprints
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
            ckpt._merge(state, arrays)
        return ckpt

    def _merge(self, state: dict, arrays: dict[str, np.ndarray]) -> None:
        """Add one saved batch: a later batch's (image, method) replaces an earlier one's rows and features."""
        for sample_id, per_method in state["files"].items():
            for method, fingerprints in per_method.items():
                self.files.setdefault(sample_id, {})[method] = fingerprints
                self.records.setdefault(sample_id, {})[method] = [
                    r for r in state["records"] if r["id"] == sample_id and r["method"] == method]
                self.fake.get(method, {}).pop(sample_id, None)
        for key, value in arrays.items():
            kind, _, rest = key.partition("/")
            if kind == "real":  # the truth's: saved by the batch that first scored the image (or its new truth)
                self.real[rest] = value
            else:
                method, _, sample_id = rest.partition("/")
                self.fake.setdefault(method, {})[sample_id] = value

    def reusable(self, files_of: FilesOf, methods: list[str]) -> dict[str, set[str]]:
        """For each saved image, the ``methods`` whose rows can be reused: every file they were computed from is
        unchanged (and no expected file appeared or vanished since). Images with none are left out."""
        found = {}
        for sample_id, per_method in self.files.items():
            same = {m for m in methods if per_method.get(m) == [list(s) for s in files_of(sample_id, m)]}
            if same:
                found[sample_id] = same
        return found

    def add(self, pairs: dict[str, list[str]], records: list[dict], files_of: FilesOf,
            real: dict[str, np.ndarray], fake: dict[str, dict[str, np.ndarray]]) -> None:
        """Save a finished batch: for each image, the methods it scored (``pairs``: id -> methods), their rows and
        the fingerprints of their files, and the FID features computed."""
        if not (self.folder / "settings.json").exists():
            atomic.write_json(self.folder / "settings.json", {"format": FORMAT, "settings": self.settings})
        name = self.folder / f"batch-{self.n_batches:06d}"
        arrays = {f"real/{i}": v for i, v in real.items()}
        arrays.update({f"fake/{m}/{i}": v for m, per_id in fake.items() for i, v in per_id.items()})
        if arrays:
            buffer = io.BytesIO()
            np.savez(buffer, **arrays)
            atomic.write_bytes(name.with_suffix(".npz"), buffer.getvalue())
        state = {"records": [r for r in records if r["method"] in pairs.get(r["id"], ())],
                 "files": {i: {m: [list(s) for s in files_of(i, m)] for m in methods} for i, methods in pairs.items()}}
        atomic.write_text(name.with_suffix(".json"), json.dumps(state))
        self.n_batches += 1

    def compact(self, pairs: dict[str, list[str]], records: list[dict], files_of: FilesOf,
                real: dict[str, np.ndarray], fake: dict[str, dict[str, np.ndarray]]) -> None:
        """Replace the batches with one holding ``pairs``' rows and features (a finished scoring's, for the next
        rerun). The new batch is written before the old ones go: an interruption between leaves both, and a later
        batch replaces an earlier one on :meth:`open`."""
        old = sorted(self.folder.glob("batch-*"))
        self.add(pairs, records, files_of, {i: v for i, v in real.items() if i in pairs},
                 {m: {i: v for i, v in per_id.items() if m in pairs.get(i, ())} for m, per_id in fake.items()})
        for path in old:
            path.unlink(missing_ok=True)

    def discard(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
