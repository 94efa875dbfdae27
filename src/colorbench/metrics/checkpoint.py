"""Resumable scoring: what ``score_run`` has finished survives an interruption, and a rerun continues from it.

After every batch of truths the scorer saves, atomically, the rows of the images it finished, their FID features
and a fingerprint of every file each row was computed from (the truth and every expected output, with its size and
modification time, or its absence). A rerun with the same scoring settings reuses an image only when all of those
files are unchanged, so a re-run method, a deleted output or a new sample is scored again. The checkpoint is a
pair of hidden files in the run folder, deleted once ``metrics.csv`` is written.

Example (what ``score_run`` does)::

    ckpt = ScoringCheckpoint.open(run, settings)       # finds a matching earlier checkpoint, if any
    done = ckpt.reusable(files_of)                      # ids whose files are unchanged
    ...
    ckpt.add(ids, records, files_of, real, fake)        # after each batch
    ckpt.discard()                                      # after metrics.csv is written
"""

from __future__ import annotations

import io
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from colorbench import atomic
from colorbench.runfolder import RunFolder

STATE_NAME = ".scoring-checkpoint.json"
FEATURES_NAME = ".scoring-checkpoint.npz"
FORMAT = 1

#: (path, size, mtime_ns) of a file a score depends on, or (path, None, None) for an expected file that is absent
FileStamp = tuple[str, "int | None", "int | None"]


def stamp(path: Path) -> FileStamp:
    try:
        st = path.stat()
    except FileNotFoundError:
        return (str(path), None, None)
    return (str(path), st.st_size, st.st_mtime_ns)


@dataclass
class ScoringCheckpoint:
    run: RunFolder
    settings: dict
    records: dict[str, list[dict]] = field(default_factory=dict)  # id -> its metrics rows
    files: dict[str, list[list]] = field(default_factory=dict)  # id -> the stamps its rows were computed from
    real: dict[str, np.ndarray] = field(default_factory=dict)  # id -> Inception features of the truth
    fake: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)  # method -> id -> features of sample 0

    @property
    def state_path(self) -> Path:
        return self.run.path / STATE_NAME

    @property
    def features_path(self) -> Path:
        return self.run.path / FEATURES_NAME

    @classmethod
    def open(cls, run: RunFolder, settings: dict) -> "ScoringCheckpoint":
        """The earlier checkpoint of ``run`` when it was made with the same ``settings``, else an empty one."""
        ckpt = cls(run, settings)
        try:
            state = json.loads(ckpt.state_path.read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):
            return ckpt  # none, or damaged: start over (it only ever saves time)
        if state.get("format") != FORMAT or state.get("settings") != json.loads(json.dumps(settings)):
            return ckpt
        ckpt.records, ckpt.files = state.get("records", {}), state.get("files", {})
        if ckpt.features_path.exists():
            try:
                with np.load(ckpt.features_path) as saved:
                    for key in saved.files:
                        kind, _, rest = key.partition("/")
                        if kind == "real":
                            ckpt.real[rest] = saved[key]
                        else:
                            method, _, sample_id = rest.partition("/")
                            ckpt.fake.setdefault(method, {})[sample_id] = saved[key]
            except (OSError, ValueError):
                return cls(run, settings)
        return ckpt

    def reusable(self, files_of: Callable[[str], list[FileStamp]]) -> set[str]:
        """Ids whose rows can be reused: every file they were computed from is unchanged (and no expected file
        appeared or vanished since)."""
        return {i for i, stamps in self.files.items() if [list(s) for s in files_of(i)] == stamps}

    def add(self, ids: list[str], records: list[dict], files_of: Callable[[str], list[FileStamp]],
            real: dict[str, np.ndarray], fake: dict[str, dict[str, np.ndarray]]) -> None:
        """Record a finished batch (its ids' rows and features) and save the checkpoint atomically."""
        wanted = set(ids)
        for rec in records:
            if rec["id"] in wanted:
                self.records.setdefault(rec["id"], []).append(rec)
        for i in ids:
            self.files[i] = [list(s) for s in files_of(i)]
        self.real.update(real)
        for method, per_id in fake.items():
            self.fake.setdefault(method, {}).update(per_id)
        self._save()

    def _save(self) -> None:
        arrays = {f"real/{i}": v for i, v in self.real.items()}
        arrays.update({f"fake/{m}/{i}": v for m, per_id in self.fake.items() for i, v in per_id.items()})
        if arrays:
            buffer = io.BytesIO()
            np.savez(buffer, **arrays)
            atomic.write_bytes(self.features_path, buffer.getvalue())
        state = {"format": FORMAT, "settings": self.settings, "records": self.records, "files": self.files}
        atomic.write_text(self.state_path, json.dumps(state))

    def discard(self) -> None:
        for path in (self.state_path, self.features_path):
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
