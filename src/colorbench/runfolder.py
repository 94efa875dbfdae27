"""The layout of a run folder ``results/<run>/`` — one definition used by every stage (run, score, report).

```
run.json                  config, versions, git sha, device, seeds, timestamps (colorbench.records.RunRecord)
samples.csv               the samples of the run (SAMPLE_COLUMNS)
inputs/gray/<id>.png      the gray input each method saw (uint8 HxW)
inputs/truth/<id>.png     the colour ground truth as loaded (EXIF-rotated RGB); absent for gray-only sources
images/<method>/<id>.png  L-merged output at the input's size (sample k>0 of a stochastic method: <id>__k<k>.png)
raw/<method>/<id>.png     the method's native output, when it differs from the L-merged one
timings.csv               TIMING_COLUMNS, one row per (method, batch, k)
.ranks/<name>.rank<r>.csv  a sharded run's per-rank timings/failures, merged into timings.csv/failures.csv by rank 0
skipped.csv               images that could not be used (SKIPPED_COLUMNS)
failures.csv              (method, image) pairs where the method raised (FAILURE_COLUMNS)
metrics.csv, metrics.json written by `colorbench score` (per-image metrics; how they were made: records.ScoreSummary)
tables/ figures/ report.html verdict.md   written by `colorbench report`
```
"""

from __future__ import annotations

import contextlib
import csv
import os
import re
import tempfile
from pathlib import Path

from colorbench.records import RunRecord, ScoreSummary

SAMPLE_COLUMNS = ["id", "label", "class_id", "split", "source", "width", "height", "has_color"]
TIMING_COLUMNS = [
    "method", "batch", "k", "n_images", "preprocess_s", "inference_s", "postprocess_s",
    "device", "peak_memory_mb", "stages", "rank",
]
SKIPPED_COLUMNS = ["id", "source", "reason"]
FAILURE_COLUMNS = ["method", "id", "k", "error"]


class RunFolder:
    #: an output's file name, ``<id>.png`` or ``<id>__k<k>.png``: :meth:`output_name` builds it,
    #: :meth:`parse_output_name` reads it back (the runner, the importer, the scorer and the judge go through these)
    OUTPUT_NAME = re.compile(r"^(?P<id>.+?)(?:__k(?P<k>\d+))?\.png$")

    def __init__(self, path: str | os.PathLike):
        # absolute, against the working folder of the moment: a relative path handed on (to the judging server,
        # whose file responses resolve relative names against the package's own folder; to a subprocess; to a
        # notebook that later changes folder) must still name the same run
        self.path = Path(path).expanduser().absolute()

    @staticmethod
    def output_stem(sample_id: str, k: int = 0) -> str:
        """Sample ``k`` of image ``sample_id`` without the extension: ``<id>``, or ``<id>__k<k>`` for k > 0."""
        return sample_id if k == 0 else f"{sample_id}__k{k}"

    @classmethod
    def output_name(cls, sample_id: str, k: int = 0) -> str:
        return f"{cls.output_stem(sample_id, k)}.png"

    @classmethod
    def parse_output_name(cls, name: str) -> tuple[str, int] | None:
        """``(sample id, k)`` of an output file name, or None for a file that is not one."""
        match = cls.OUTPUT_NAME.match(name)
        return (match["id"], int(match["k"] or 0)) if match else None

    # files
    @property
    def run_json(self) -> Path:
        return self.path / "run.json"

    @property
    def samples_csv(self) -> Path:
        return self.path / "samples.csv"

    @property
    def timings_csv(self) -> Path:
        return self.path / "timings.csv"

    @property
    def skipped_csv(self) -> Path:
        return self.path / "skipped.csv"

    @property
    def failures_csv(self) -> Path:
        return self.path / "failures.csv"

    @property
    def metrics_csv(self) -> Path:
        return self.path / "metrics.csv"

    @property
    def metrics_json(self) -> Path:
        return self.path / "metrics.json"

    @property
    def tables_dir(self) -> Path:
        return self.path / "tables"

    @property
    def figures_dir(self) -> Path:
        return self.path / "figures"

    @property
    def report_html(self) -> Path:
        return self.path / "report.html"

    @property
    def verdict_md(self) -> Path:
        """The report's verdict paragraph, for the CLI and notebooks to print without re-computing the report."""
        return self.path / "verdict.md"

    def rank_csv(self, csv_path: Path, rank: int) -> Path:
        """Where rank ``rank`` of a sharded run keeps its rows of ``csv_path`` (timings, failures) until rank 0
        collects them: one writer per file, so ranks never rewrite each other's rows."""
        return self.path / ".ranks" / f"{csv_path.stem}.rank{rank}.csv"

    def collect_rank_csvs(self, csv_path: Path, columns: list[str]) -> int:
        """Append every rank's rows of ``csv_path`` to it and delete the rank files (rank 0 only, when no rank is
        writing: at the end of a sharded method, or when a run starts). Returns how many rows moved."""
        from colorbench import atomic

        parts = sorted((self.path / ".ranks").glob(f"{csv_path.stem}.rank*.csv"))
        rows = [row for part in parts for row in read_csv(part)]
        if rows:
            atomic.append_csv_rows(csv_path, rows, columns)
        for part in parts:  # after the append: a crash in between repeats rows, it never loses them
            part.unlink()
        with contextlib.suppress(OSError):  # still holds another file's rank rows: kept
            (self.path / ".ranks").rmdir()
        return len(rows)

    # per-image paths
    def gray_path(self, sample_id: str) -> Path:
        return self.path / "inputs" / "gray" / f"{sample_id}.png"

    def truth_path(self, sample_id: str) -> Path:
        return self.path / "inputs" / "truth" / f"{sample_id}.png"

    def output_path(self, method: str, sample_id: str, k: int = 0) -> Path:
        return self.path / "images" / method / self.output_name(sample_id, k)

    def raw_path(self, method: str, sample_id: str, k: int = 0) -> Path:
        return self.path / "raw" / method / self.output_name(sample_id, k)

    # reading
    def run_record(self) -> RunRecord | None:
        """``run.json`` as a :class:`~colorbench.records.RunRecord`, or None when the folder has none yet.
        A damaged or newer file raises :class:`~colorbench.records.RecordError` naming it and the fix."""
        return RunRecord.read(self.run_json) if self.run_json.exists() else None

    def read_run_json(self) -> dict:
        """``run.json`` as a plain dict, checked by the same reader (for tools and tests that want the JSON)."""
        return RunRecord.read(self.run_json).to_dict()

    def score_summary(self) -> ScoreSummary | None:
        """The scorer's ``metrics.json`` as a :class:`~colorbench.records.ScoreSummary`, or None when the run was
        not scored (or scored before metrics.json existed)."""
        return ScoreSummary.read(self.metrics_json) if self.metrics_json.exists() else None

    def read_samples(self) -> list[dict[str, str]]:
        return read_csv(self.samples_csv)

    def methods(self) -> list[str]:
        """Methods with an images/ folder, in the order run.json lists them (then alphabetical)."""
        found = sorted(p.name for p in (self.path / "images").glob("*") if p.is_dir())
        order = (self.run_record() or RunRecord()).methods
        return [m for m in order if m in found] + [m for m in found if m not in order]

    def unscored_outputs(self) -> dict[str, int]:
        """Outputs per method that ``metrics.csv`` does not cover: written after it, or of a sample of the run that it
        has no row for (images added to the run after scoring — a copy keeping an older file time included). A report
        from that metrics.csv would quietly leave them out. Empty when not scored yet, or when the scores are up to
        date. The one place that decides whether a run's scores are stale."""
        if not self.metrics_csv.exists():
            return {}
        from colorbench.atomic import TMP_PREFIX

        scored_at = self.metrics_csv.stat().st_mtime_ns
        covered = {(r["method"], r["id"], int(r.get("k") or 0)) for r in read_csv(self.metrics_csv)}
        excluded = {e.get("id") for e in (self.score_summary() or ScoreSummary()).excluded}  # no truth: no rows
        in_run = {r["id"] for r in self.read_samples()}  # outputs of samples a later, smaller run dropped: not stale
        unscored = {}
        for method in self.methods():
            count = 0
            with os.scandir(self.path / "images" / method) as entries:
                for entry in entries:
                    parsed = None if entry.name.startswith(TMP_PREFIX) else self.parse_output_name(entry.name)
                    if parsed is None:
                        continue
                    uncovered = (method, *parsed) not in covered and parsed[0] in in_run and parsed[0] not in excluded
                    if uncovered or entry.stat().st_mtime_ns > scored_at:
                        count += 1
            if count:
                unscored[method] = count
        return unscored

    def methods_newer_than_metrics(self) -> list[str]:
        """Methods with outputs ``metrics.csv`` does not cover (:meth:`unscored_outputs`), in the run's order."""
        return list(self.unscored_outputs())

    def scores_stale(self) -> bool:
        """Whether ``colorbench score`` must run before a report shows every output: never scored, or outputs that
        the scores do not cover (:meth:`unscored_outputs`)."""
        return not self.metrics_csv.exists() or bool(self.unscored_outputs())

    def command_name(self) -> str:
        """How a command line names this run: its name when it lies under ``$COLORBENCH_RESULTS`` (what
        :func:`resolve_run` finds), else its path — for the fixes messages print (``colorbench score NAME``)."""
        import shlex

        with contextlib.suppress(FileNotFoundError):
            if resolve_run(self.path.name, names_in_working_folder=False) == self.path:
                return self.path.name
        return shlex.quote(str(self.path))


def resolve_run(name_or_path: str | os.PathLike, *, names_in_working_folder: bool = True) -> Path:
    """A run folder from a path, or from a run name under ``$COLORBENCH_RESULTS`` (default ``results/``), as an
    absolute path resolved against the current working folder (the one resolver every command uses).

    A plain name that is not a run may still be a folder in the working directory, as any path argument of a
    command is; ``names_in_working_folder=False`` turns that off (notebooks: ``setup()`` moves into the checkout,
    whose ``notebooks/`` and ``data/`` must never pass for runs)."""
    from colorbench.paths import results_dir

    path = Path(name_or_path).expanduser().absolute()
    named = (results_dir() / str(name_or_path)).absolute()
    if _is_run_name(name_or_path) and named.is_dir():  # a run name wins over a same-named folder in the working dir
        return named
    plain_name = _is_run_name(name_or_path)
    if path.is_dir() and (names_in_working_folder or not plain_name):
        return path
    both = (names_in_working_folder or not plain_name) and path != named  # an absolute path is both
    looked = f"{path} and {named}" if both else str(named)
    raise FileNotFoundError(f"no run folder {str(name_or_path)!r} (looked at {looked}); {_runs_there(results_dir())}"
                            f"; create it with `colorbench run --run NAME`")


def _runs_there(results: Path) -> str:
    """What a missing run's error adds: the runs that are there, and where names are looked up. A user who made
    ``quick`` in the checkout and typed ``colorbench score quick`` in another folder was told only to create it."""
    from colorbench.paths import RESULTS_ENV

    try:
        runs = sorted(p.name for p in results.iterdir() if RunFolder(p).run_json.is_file())
    except OSError:  # absent or unreadable: the error being raised matters more than this list
        runs = []
    shown = ", ".join(runs[:10]) + (", …" if len(runs) > 10 else "")
    there = f"runs in {results}: {shown}" if runs else f"no runs in {results}"
    return (f"{there} (a run name is looked up in ${RESULTS_ENV}, else in results/ of the current folder: run the "
            "command in the folder the run was made in, or give the run folder's path)")


def new_run_path(name_or_path: str | os.PathLike) -> Path:
    """Where a run folder that does not exist yet goes (``colorbench merge OUT``): a run name under
    ``$COLORBENCH_RESULTS`` (default ``results/``), anything else taken as a path."""
    from colorbench.paths import results_dir

    path = results_dir() / str(name_or_path) if _is_run_name(name_or_path) else Path(name_or_path).expanduser()
    return path.absolute()


def _is_run_name(name_or_path: str | os.PathLike) -> bool:
    """A bare name (``demo``), not a path (``./demo``, ``~/runs/demo``, ``runs/demo``)."""
    return len(Path(str(name_or_path)).parts) == 1 and not str(name_or_path).startswith((".", "~"))


class RunFolderNotWritable(PermissionError):
    """The run folder cannot be created or written; raised before any work so that nothing computed is lost."""


def ensure_writable(path: str | os.PathLike) -> Path:
    """Create ``path`` if needed and prove a file can be written in it (a read-only disk, a file in the way, no
    permission), so a stage fails at once with the fix instead of after its work, at its first write."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".tmp-write-check.", dir=path)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise RunFolderNotWritable(
            f"cannot write to {path} ({exc.strerror or exc}): make it writable, or put runs elsewhere with "
            f"COLORBENCH_RESULTS=/a/writable/folder (a run folder given as a path must be writable too)") from None
    return path


def read_csv(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        return []
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))
