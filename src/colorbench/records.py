"""The records of a run folder's JSON files — the one place that reads and writes them.

``run.json`` is a :class:`RunRecord` (written by the runner, ``colorbench merge`` and ``colorbench import``; read by
the resume check, the scorer, the report, the judge and the notebooks); the scorer's ``metrics.json`` is a
:class:`ScoreSummary`. Every reader goes through :meth:`RunRecord.read` / :meth:`ScoreSummary.read`, so a damaged
file, a file of a newer colorbench or a missing field gives one clear error naming the file and the fix, instead of
a ``KeyError`` (or a silently wrong default) somewhere in a ``.get`` chain.

Schema versions. Both files carry ``"schema_version"``. A file without one is version 1: the format colorbench
wrote before the key existed, which version 1 still is (the key is the only addition):

``run.json`` v1: ``run`` (name), ``status`` (running, finished, interrupted, ``failed: <Error>``), ``config``
(RunConfig.to_dict()), ``dataset`` (name, root, split, n, classes, has_splits), ``methods`` (every method the
folder has run or imported, in order; **required**), ``method_status`` (method -> :class:`MethodStatus`), ``seed``,
``smoke``, ``versions`` (package -> version), ``git_sha``, ``device`` and ``launch`` (what ran it), ``started``,
``updated``, ``finished`` (ISO times), ``resumed``; a merged run adds ``merged_from`` (one entry per source
folder, with its whole run.json). Keys a record does not know are kept (``extra``) and written back unchanged.

``metrics.json`` v1: ``scored_at``, ``run``, ``n_samples``, ``n_scorable``, ``excluded``, ``resolution``,
``methods`` (method -> counts), ``lpips`` and ``fid`` (:class:`MetricInfo`), ``device``, ``batch_size``,
``seconds``, ``versions``, ``conventions``; ``methods``, ``lpips`` and ``fid`` are required.

A reader refuses a newer version (it cannot know what changed) and names the upgrade; it reads every older one.
Torch-free (the report reads these records in an environment without torch).

Example::

    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "run.json"
    >>> done = MethodStatus(status=MethodState.DONE)
    >>> RunRecord(run="demo", methods=["gray"], method_status={"gray": done}).write(path)
    >>> RunRecord.read(path).method_status["gray"].ran
    True
"""

from __future__ import annotations

import dataclasses
import enum
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

SCHEMA_KEY = "schema_version"
RUN_SCHEMA_VERSION = 1
SCORE_SCHEMA_VERSION = 1

_RUN_JSON_FIX = ("restore it (from a backup or the machine that made it), or move it aside and run `colorbench run` "
                 "on the same folder again to write a new one (the images are kept and reused, but what run.json "
                 "said about them — settings, import and merge origins — is lost)")
_METRICS_JSON_FIX = "score the run again (`colorbench score RUN`): it rewrites metrics.json and metrics.csv"


class RecordError(ValueError):
    """A run.json or metrics.json that cannot be read; the message names the file and the fix."""


# ------------------------------------------------------------------------------------------------ field checks
_TYPE_NAMES = {str: "a string", int: "an integer", float: "a number", bool: "true/false", dict: "an object",
               list: "a list", type(None): "null"}


def _is(value: Any, types: tuple[type, ...]) -> bool:
    if isinstance(value, bool):  # JSON true is not a count or a seed
        return bool in types
    if isinstance(value, int) and float in types:
        return True
    return isinstance(value, types)


class _Record:
    """from_dict / to_dict for the dataclasses below: every field is checked against its JSON types (``_TYPES``),
    null means "not recorded" (the field's default), keys the record does not know go to ``extra``."""

    _TYPES: ClassVar[dict[str, tuple[type, ...]]] = {}
    _NESTED: ClassVar[dict[str, type]] = {}  # field -> record class of its values (a dict of name -> record)

    @classmethod
    def from_dict(cls, data: Any, where: str = "") -> Any:
        if not isinstance(data, dict):
            raise _TypeProblem(where.rstrip(".") or "the file", "an object", data)
        kwargs: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            if f.name == "extra" or f.name not in data or data[f.name] is None:
                continue
            value, name = data[f.name], f"{where}{f.name}"
            if not _is(value, cls._TYPES[f.name]):
                raise _TypeProblem(name, " or ".join(_TYPE_NAMES[t] for t in cls._TYPES[f.name]), value)
            if f.name in cls._NESTED:
                value = {key: cls._NESTED[f.name].from_dict(item, f"{name}.{key}.") for key, item in value.items()}
            elif cls._TYPES[f.name] == (list,) and f.name in getattr(cls, "_STRING_LISTS", ()):
                bad = [item for item in value if not isinstance(item, str)]
                if bad:
                    raise _TypeProblem(name, "a list of strings", bad[0])
            kwargs[f.name] = value
        if "extra" in {f.name for f in dataclasses.fields(cls)}:
            known = {f.name for f in dataclasses.fields(cls)} | {SCHEMA_KEY}
            kwargs["extra"] = {k: v for k, v in data.items() if k not in known}
        return cls(**kwargs)

    def to_dict(self) -> dict:
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name == "extra" or value is None:
                continue
            if f.name in self._NESTED:
                value = {key: item.to_dict() for key, item in value.items()}
            out[f.name] = value
        return {**out, **getattr(self, "extra", {})}


class _TypeProblem(Exception):
    def __init__(self, name: str, expected: str, value: Any):
        super().__init__(f"{name} should be {expected}, not {json.dumps(value, default=str)[:80]}")


def _read_versioned(path: Path, current: int, what: str, fix: str, required: tuple[str, ...]) -> dict:
    """The JSON object in ``path``, checked for its schema version and required keys."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:  # colorbench writes atomically: damaged elsewhere (a sync, an editor)
        raise RecordError(f"{path} is not valid JSON ({exc}): {fix}") from None
    except UnicodeDecodeError as exc:
        raise RecordError(f"{path} is not a text file ({exc.reason}): {fix}") from None
    if not isinstance(data, dict):
        raise RecordError(f"{path} holds {type(data).__name__}, not a {what} object: {fix}")
    version = data.get(SCHEMA_KEY, 1)  # files written before the key existed are version 1
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise RecordError(f"{path}: {SCHEMA_KEY} should be a whole number from 1, not {version!r}: {fix}")
    if version > current:
        raise RecordError(f"{path} was written by a newer colorbench ({what} schema version {version}; this "
                          f"colorbench reads up to {current}): upgrade colorbench to read it (in a checkout: "
                          f"`git pull`, then `pip install -e .`), or use the colorbench that wrote it")
    missing = [key for key in required if data.get(key) is None]
    if missing:
        raise RecordError(f"{path} has no {', '.join(missing)} (a {what} always has): {fix}")
    return data


def _write(path: str | os.PathLike, version: int, data: dict) -> None:
    from colorbench import atomic

    atomic.write_json(Path(path), {SCHEMA_KEY: version, **data})


class _FileRecord(_Record):
    """A record stored as one JSON file of a run folder, with a schema version: read, written and coerced here."""

    FILE: ClassVar[str]  # the file's name, for messages
    SCHEMA_VERSION: ClassVar[int]
    FIX: ClassVar[str]  # what to do when the file cannot be read
    REQUIRED: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def read(cls, path: str | os.PathLike):
        """The record in ``path``; :class:`RecordError` naming the file and the fix when it cannot be read."""
        data = _read_versioned(Path(path), cls.SCHEMA_VERSION, cls.FILE, cls.FIX, cls.REQUIRED)
        try:
            return cls.from_dict(data)
        except _TypeProblem as exc:
            raise RecordError(f"{path}: {exc}: {cls.FIX}") from None

    @classmethod
    def coerce(cls, value):
        """A record from a record, the file's dict (e.g. given to a report function directly), or None / {} (no
        file: a run not yet made, or scored before metrics.json existed)."""
        if isinstance(value, cls):
            return value
        try:
            return cls.from_dict(value or {})
        except _TypeProblem as exc:
            raise RecordError(f"{cls.FILE} record: {exc}") from None

    def write(self, path: str | os.PathLike) -> None:
        """Write atomically (temp file + rename), with this colorbench's schema version."""
        _write(path, self.SCHEMA_VERSION, self.to_dict())


# ------------------------------------------------------------------------------------------------ run.json
class MethodState(str, enum.Enum):
    """What happened to a method in a run folder: run.json's ``method_status.<method>.status``, the runner's outcome
    and what the report, the notebooks and the CLI say. A ``str``: it is written to and compared with the JSON text
    as it is (``MethodState.DONE == "done"``)."""

    DONE = "done"  # every image made (or reused)
    PARTIAL = "partial"  # some images failed (failures.csv says which and why)
    SKIPPED = "skipped"  # could not run here (a missing extra, missing weights, too slow on a CPU), with the reason
    FAILED = "failed"  # it started but could not load (a corrupt checkpoint, out of memory), with the error

    def __str__(self) -> str:  # "done", not "MethodState.DONE", in messages and f-strings on every Python
        return self.value

    __format__ = str.__format__

    @classmethod
    def made_images(cls) -> tuple[MethodState, ...]:
        """The states in which the method made images in the folder (all of them, or some)."""
        return cls.DONE, cls.PARTIAL


@dataclass
class MethodStatus(_Record):
    """``run.json``'s ``method_status.<method>``: what happened to one method in this run folder."""

    status: str | None = None  # a MethodState (a plain string as read from run.json)
    reason: str | None = None
    written: int | None = None
    reused: int | None = None
    failed: int | None = None
    samples_per_image: int | None = None  # K the runner asked for (stochastic methods), else 1
    config: dict | None = None  # the method's own description of its settings (Method.config())
    made_with: dict | None = None  # what its images depend on: options, seed, gamut (the resume and merge checks)
    imported: dict | None = None  # `colorbench import`: sources with file hashes, match mode, note, l_merged
    origin: list | None = None  # `colorbench merge`: the source run folders its images came from
    last_attempt: str | None = None  # a later call that could not add to its images, and why
    #: the method's family (colorbench.methods.families); None in run.json files from before families were recorded
    #: (the report then asks the registry) and for imported outputs given no ``--family``
    family: str | None = None
    extra: dict = field(default_factory=dict)

    _TYPES: ClassVar = {"status": (str,), "reason": (str,), "written": (int,), "reused": (int,), "failed": (int,),
                        "samples_per_image": (int,), "config": (dict,), "made_with": (dict,), "imported": (dict,),
                        "origin": (list,), "last_attempt": (str,), "family": (str,)}

    @property
    def ran(self) -> bool:
        """The method made images in this folder (all of them, or some)."""
        return self.status in MethodState.made_images()


@dataclass
class RunRecord(_FileRecord):
    """``run.json`` of a run folder (see the module docstring for the fields)."""

    run: str | None = None
    status: str | None = None
    config: dict = field(default_factory=dict)
    dataset: dict | str | None = None  # a dict since the first runner; a bare name in some hand-made folders
    methods: list[str] = field(default_factory=list)
    method_status: dict[str, MethodStatus] = field(default_factory=dict)
    seed: int | None = None
    smoke: bool = False
    versions: dict = field(default_factory=dict)
    git_sha: str | None = None
    device: dict | str | None = None
    launch: dict | None = None
    started: str | None = None
    updated: str | None = None
    finished: str | None = None
    resumed: bool | None = None
    merged_from: list | None = None
    extra: dict = field(default_factory=dict)

    _TYPES: ClassVar = {"run": (str,), "status": (str,), "config": (dict,), "dataset": (dict, str),
                        "methods": (list,), "method_status": (dict,), "seed": (int,), "smoke": (bool,),
                        "versions": (dict,), "git_sha": (str,), "device": (dict, str), "launch": (dict,),
                        "started": (str,), "updated": (str,), "finished": (str,), "resumed": (bool,),
                        "merged_from": (list,)}
    _NESTED: ClassVar = {"method_status": MethodStatus}
    _STRING_LISTS: ClassVar = ("methods",)
    REQUIRED: ClassVar = ("methods",)
    FILE: ClassVar = "run.json"
    SCHEMA_VERSION: ClassVar = RUN_SCHEMA_VERSION
    FIX: ClassVar = _RUN_JSON_FIX

    def status_of(self, method: str) -> MethodStatus:
        """The method's status (an empty one when run.json says nothing about it)."""
        return self.method_status.get(method) or MethodStatus()

    @property
    def name(self) -> str:
        """The run's name (``name`` in hand-made folders of the report's tests); "" when not recorded."""
        return self.run or str(self.extra.get("name") or "")

    @property
    def is_smoke(self) -> bool:
        """A smoke run (tiny untrained models): its numbers say nothing about the methods."""
        return bool(self.smoke or self.config.get("smoke"))

    @property
    def dataset_root(self) -> str | None:
        return self.dataset.get("root") if isinstance(self.dataset, dict) else None


# ------------------------------------------------------------------------------------------------ metrics.json
@dataclass
class MetricInfo(_Record):
    """``metrics.json``'s ``lpips`` / ``fid``: whether the metric was computed, how, and why not."""

    available: bool | None = None  # None: not recorded (a run scored before metrics.json existed)
    reason: str | None = None  # short, when not available
    message: str | None = None  # the full message with the fix, when not available
    calibrated: bool | None = None  # False: a stand-in trunk/Inception (tests, benchmarks), not the real metric
    label: str | None = None
    net: str | None = None
    version: str | None = None
    trunk: str | None = None
    protocol: str | None = None
    min_reliable: int | None = None  # FID: fewer images than this per side make it unreliable
    per_method: dict | None = None  # FID: method -> {fid, n_real, n_fake, reliable}
    extra: dict = field(default_factory=dict)  # provenance of the weights files, FID resolution, ...

    _TYPES: ClassVar = {"available": (bool,), "reason": (str,), "message": (str,), "calibrated": (bool,),
                        "label": (str,), "net": (str,), "version": (str,), "trunk": (str,), "protocol": (str,),
                        "min_reliable": (int,), "per_method": (dict,)}

    @property
    def is_calibrated(self) -> bool:
        """Not known to be a stand-in (older files do not say: they were calibrated)."""
        return self.calibrated is not False

    @property
    def why_unavailable(self) -> str:
        return self.message or self.reason or ""


@dataclass
class ScoreSummary(_FileRecord):
    """The scorer's ``metrics.json``: how the scores in metrics.csv were made (see the module docstring)."""

    scored_at: str | None = None
    run: str | None = None
    n_samples: int | None = None
    n_scorable: int | None = None
    excluded: list = field(default_factory=list)  # {id, label, reason} of images left out of the scoring
    resolution: list = field(default_factory=list)
    methods: dict = field(default_factory=dict)  # method -> {n_samples_per_image, n_images_scored, n_missing, ...}
    lpips: MetricInfo = field(default_factory=MetricInfo)
    fid: MetricInfo = field(default_factory=MetricInfo)
    device: str | None = None
    batch_size: int | None = None
    seconds: float | None = None
    n_reused: int | None = None  # images whose rows came unchanged from the scoring before (their files are the same)
    versions: dict = field(default_factory=dict)
    conventions: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)

    _TYPES: ClassVar = {"scored_at": (str,), "run": (str,), "n_samples": (int,), "n_scorable": (int,),
                        "excluded": (list,), "resolution": (list,), "methods": (dict,), "lpips": (dict,),
                        "fid": (dict,), "device": (str,), "batch_size": (int,), "seconds": (float,), "n_reused": (int,),
                        "versions": (dict,), "conventions": (dict,)}
    REQUIRED: ClassVar = ("methods", "lpips", "fid")
    FILE: ClassVar = "metrics.json"
    SCHEMA_VERSION: ClassVar = SCORE_SCHEMA_VERSION
    FIX: ClassVar = _METRICS_JSON_FIX

    @classmethod
    def from_dict(cls, data: Any, where: str = "") -> ScoreSummary:
        summary = super().from_dict(data, where)
        for name in ("lpips", "fid"):
            setattr(summary, name, MetricInfo.from_dict(data.get(name) or {}, f"{where}{name}."))
        return summary

    def to_dict(self) -> dict:
        return {**super().to_dict(), "lpips": self.lpips.to_dict(), "fid": self.fid.to_dict()}
