"""The runner: dataset subset -> gray inputs -> each method in batches -> L-merged images, timings, run.json.

Resumable by construction: every output is written atomically under its final name only once complete, and a
rerun skips outputs that exist. One bad image is listed in ``skipped.csv``; one failing image is listed in
``failures.csv``; neither stops the run.

Example (the bundled samples, the gray floor, a throw-away results folder)::

    >>> import tempfile
    >>> from colorbench.config import RunConfig
    >>> summary = run(RunConfig(run="demo", methods=["gray"], limit=2, results_dir=tempfile.mkdtemp()),
    ...               progress=False)
    >>> [(m.name, str(m.status), m.written) for m in summary.methods]
    [('gray', 'done', 2)]
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import json
import logging
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from colorbench import atomic
from colorbench.color import merge_luminance, to_gray
from colorbench.config import AUTO_METHODS, RunConfig
from colorbench.data.images import ImageLoadError, load_image, read_gray
from colorbench.data.index import DatasetIndex, Sample
from colorbench.data.specs import open_dataset
from colorbench.distributed import Shard
from colorbench.distributed import describe as describe_launch
from colorbench.extras import explain_import_error
from colorbench.locks import run_folder_lock
from colorbench.messages import did_you_mean, one_line, plural
from colorbench.methods import get_method, item_seed, method_class, method_names
from colorbench.methods.base import Method
from colorbench.methods.options import option_defaults
from colorbench.methods.registry import check_method_options, method_family, typed_options
from colorbench.peak_memory import peak_memory_mb, reset_peak, sync
from colorbench.provenance import device_description, git_sha, now_iso, package_versions, resolve_device
from colorbench.records import MethodState, MethodStatus, RunRecord
from colorbench.resume import check_resume, made_with
from colorbench.runfolder import (
    FAILURE_COLUMNS,
    SAMPLE_COLUMNS,
    SKIPPED_COLUMNS,
    TIMING_COLUMNS,
    RunFolder,
    ensure_writable,
    read_csv,
)
from colorbench.weights import WeightsUnavailable

log = logging.getLogger("colorbench.run")


@dataclass
class MethodOutcome(MethodStatus):
    """What this call did with one method: its run.json entry (a :class:`MethodStatus`, whose ``status`` is a
    :class:`MethodState`: done, partial, skipped or failed) and its name. Counts are 0, not "not recorded", when it
    did not run: this call knows them."""

    name: str = ""
    reason: str | None = ""
    written: int | None = 0
    reused: int | None = 0
    failed: int | None = 0
    samples_per_image: int | None = 0  # outputs expected per image (K for stochastic methods, else 1; 0 if not run)
    config: dict | None = field(default_factory=dict)

    def entry(self) -> MethodStatus:
        """The run.json entry: the same fields, less the name (which is its key there)."""
        return MethodStatus(**{f.name: getattr(self, f.name) for f in dataclasses.fields(MethodStatus)})


@dataclass
class RunSummary:
    path: Path
    samples: int
    skipped_images: int
    methods: list[MethodOutcome]


#: images per ``colorize`` call for a method without a ``batch_size`` option, when ``--batch-size`` is not given
DEFAULT_BATCH_SIZE = 8


@dataclass
class RunContext:
    """What every step of one run shares, settled once in :func:`run` before any work: the config (its
    ``method_options`` typed), the folder, the device, this process's shard, and each method's options, checked
    and typed once (command-line strings converted; a group's ``diffusion.*`` resolved)."""

    cfg: RunConfig
    folder: RunFolder
    device: str
    shard: Shard
    options: dict[str, dict]  # method -> the options it runs with
    progress: bool = True

    def batch_size(self, name: str) -> int:
        """See :func:`colorize_batch_size`."""
        return colorize_batch_size(name, self.cfg, self.options.get(name, {}))


# ------------------------------------------------------------------------------------------------- inputs
@dataclass(frozen=True)
class PreparedSample:
    sample: Sample
    width: int
    height: int
    has_color: bool


def prepare_inputs(index: DatasetIndex, folder: RunFolder, *, progress: bool = True,
                   max_pixels: int | None = None) -> tuple[list[PreparedSample], list[dict]]:
    """Load every sample once through the one loader; write ``inputs/gray`` and ``inputs/truth``."""
    from tqdm.auto import tqdm

    prepared = []
    # files the dataset lists (or links) but that are not there to read: skipped like an unreadable image
    skipped = [{"id": p.id, "source": p.path, "reason": p.reason} for p in index.problems]
    for sample in tqdm(index.samples, desc="prepare inputs", unit="img", disable=not progress):
        try:
            loaded = load_image(sample.path, max_pixels=max_pixels)
        except ImageLoadError as exc:
            skipped.append({"id": sample.id, "source": str(sample.path), "reason": exc.reason})
            log.warning("skipping %s", exc)
            continue
        if not folder.gray_path(sample.id).exists():
            atomic.write_png(folder.gray_path(sample.id), to_gray(loaded.rgb))
        if loaded.has_color and not folder.truth_path(sample.id).exists():
            atomic.write_png(folder.truth_path(sample.id), loaded.rgb)
        h, w = loaded.rgb.shape[:2]
        prepared.append(PreparedSample(sample, w, h, loaded.has_color))
    rows = [
        {"id": p.sample.id, "label": p.sample.label or "",
         "class_id": "" if p.sample.class_id is None else p.sample.class_id,
         "split": p.sample.split or "", "source": str(p.sample.path), "width": p.width, "height": p.height,
         "has_color": int(p.has_color)}
        for p in prepared
    ]
    atomic.write_csv(folder.samples_csv, rows, SAMPLE_COLUMNS)
    atomic.write_csv(folder.skipped_csv, skipped, SKIPPED_COLUMNS)
    return prepared, skipped


class NoUsableImages(ValueError):
    """Every image of the run's subset was unusable: nothing to colorize (a ValueError: the CLI prints it as one
    line and exits non-zero)."""


def nothing_usable_message(dataset: str, root: Path, skipped: list[dict], skipped_csv: Path) -> str:
    """Why a run had nothing to work on: the folder, the first image's reason, where the others' are, the fix."""
    first = skipped[0] if skipped else None
    example = f" ({'e.g. ' * (len(skipped) > 1)}{first['source']}: {first['reason']})" if first else ""
    which = "the one image" if len(skipped) == 1 else f"none of the {plural(len(skipped), 'image')}"
    verb = "could not be read" if len(skipped) == 1 else "could be read"
    return (f"{which} of dataset {dataset!r} in {Path(root).resolve()} {verb}{example}; "
            f"each is listed with its reason in {skipped_csv}. Replace or fix the files, or point --dataset at a "
            "folder of readable photos (JPEG, PNG, …)")


# ------------------------------------------------------------------------------------------------- methods
def resolve_methods(requested: Sequence[str]) -> list[str]:
    if list(requested) in ([], [AUTO_METHODS]):
        return method_names()
    known = set(method_names())
    unknown = [m for m in requested if m not in known]
    if unknown:
        guesses = "".join(did_you_mean(m, known) for m in unknown)
        raise ValueError(f"unknown {'method' if len(unknown) == 1 else 'methods'} {', '.join(map(repr, unknown))}"
                         f"{guesses}; known methods: {', '.join(method_names())}")
    return list(dict.fromkeys(requested))


def options_for(name: str, cfg: RunConfig) -> dict:
    """The options method ``name`` runs with, typed (see :func:`colorbench.methods.registry.typed_options`). The
    runner asks once per method (:attr:`RunContext.options`)."""
    return typed_options(name, cfg.method_options)


def colorize_batch_size(name: str, cfg: RunConfig, options: dict) -> int:
    """Images per ``colorize`` call of method ``name``: ``--batch-size`` (``RunConfig.batch_size``) when given;
    otherwise the method's own ``batch_size`` option (the batch its model runs at once, set to its measured-best on a
    GPU), or :data:`DEFAULT_BATCH_SIZE` for a method without one.

    The two meanings: the run's batch is the unit of work (a ``timings.csv`` row, a retry one image at a time when a
    batch fails, a share of a sharded run); a method's ``batch_size`` is how many images its model holds at once
    (the memory knob). A method runs a call of N images in chunks of its own batch size, so a ``--batch-size``
    smaller than the method's caps it."""
    if cfg.batch_size is not None:
        return cfg.batch_size
    own = options.get("batch_size", option_defaults(method_class(name).Options).get("batch_size"))
    return own if isinstance(own, int) and not isinstance(own, bool) and own >= 1 else DEFAULT_BATCH_SIZE


def too_slow_here(names: Sequence[str], *, auto: bool, device: str, smoke: bool) -> set[str]:
    """Methods the automatic selection leaves out: the heavy ones (ColTran, diffusion) on a CPU. Not in smoke runs:
    their tiny models take seconds, and a smoke run is there to run every code path (as the notebook smoke run does)."""
    return {name for name in names if auto and device == "cpu" and not smoke and _heavy_on_cpu(name)}


def _heavy_on_cpu(name: str) -> bool:
    try:
        return bool(method_class(name).heavy_on_cpu)
    except ImportError:
        return False  # its optional dependency is missing: the run reports it as skipped with the reason


def check_constructible(names: Sequence[str], cfg: RunConfig, options: dict[str, dict] | None = None) -> None:
    """Construct each method once before any work: constructors check option values and load nothing, so a bad
    value fails now rather than when that method's turn comes (a missing optional dependency is left for the run
    to report as a skip). ``options``: each method's, as :func:`options_for` gives them (asked here when not given)."""
    for name in names:
        try:
            instantiate(name, options[name] if options is not None else options_for(name, cfg), cfg.smoke)
        except ImportError:
            continue
        except (TypeError, ValueError) as exc:
            message = str(exc)
            raise ValueError(message if message.startswith(name) else f"{name}: {message}") from None


def instantiate(name: str, options: dict, smoke: bool) -> Method:
    options = dict(options)
    if smoke:  # every method's options have ``smoke`` (MethodOptions)
        options.setdefault("smoke", True)
    return get_method(name, **options)


def _batches(items: list, size: int) -> list[list]:
    return [items[i : i + size] for i in range(0, len(items), size)]


Item = tuple[PreparedSample, int]  # one output to make: (sample, k)


def run_method(method: Method, todo: list[Item], ctx: RunContext, batch_size: int, *,
               on_batch: Callable[[int], None] | None = None) -> tuple[int, list[dict], list[dict]]:
    """Colorize ``todo`` (sample, k) pairs in batches of ``batch_size``. Returns (written, timing rows, failure rows).

    In a sharded run, this process's timings and failures go to its own files (:meth:`RunFolder.rank_csv`), which
    rank 0 collects."""
    folder, rank = ctx.folder, ctx.shard.rank if ctx.shard.sharded else None
    written, timing_rows, failures = 0, [], []
    timings_csv = folder.timings_csv if rank is None else folder.rank_csv(folder.timings_csv, rank)
    failures_csv = folder.failures_csv if rank is None else folder.rank_csv(folder.failures_csv, rank)
    batch_index = len([r for path in {folder.timings_csv, timings_csv} for r in read_csv(path)
                       if r["method"] == method.name])
    for batch in _batches(todo, batch_size):
        t0 = time.perf_counter()
        grays = [read_gray(folder.gray_path(p.sample.id)) for p, _ in batch]
        reset_peak(ctx.device)
        t1 = time.perf_counter()
        results = _colorize_batch(method, batch, grays, ctx.cfg.seed, failures)
        sync(ctx.device)
        t2 = time.perf_counter()
        n_ok = _write_batch(method, results, ctx, failures, left=len(todo) - written)
        written += n_ok
        row = _timing_row(method, batch, batch_index, n_ok, (t0, t1, t2, time.perf_counter()), ctx.device, rank)
        atomic.append_csv_rows(timings_csv, [row], TIMING_COLUMNS)
        timing_rows.append(row)
        batch_index += 1
        if on_batch:
            on_batch(len(batch))
    if failures:
        atomic.append_csv_rows(failures_csv, failures, FAILURE_COLUMNS)
    return written, timing_rows, failures


def _colorize_batch(method: Method, batch: list[Item], grays: list[np.ndarray], run_seed: int,
                    failures: list[dict]) -> list[tuple[Item, np.ndarray, np.ndarray]]:
    """(item, gray, output) for each image of ``batch`` the method colorized; a failing batch is retried one image
    at a time, so one bad image costs only itself (its failure row is added to ``failures``)."""
    seeds = [item_seed(run_seed, p.sample.id, k) for p, k in batch]
    labels = [p.sample.label for p, _ in batch]
    method.stage_seconds = {}
    try:
        outputs = method.colorize(grays, seed=run_seed, item_seeds=seeds, labels=labels)
        if len(outputs) != len(grays):
            raise RuntimeError(f"{method.name} returned {plural(len(outputs), 'image')} for "
                               f"{plural(len(grays), 'input')}")
        return list(zip(batch, grays, outputs))
    except Exception as exc:
        if len(batch) == 1:
            failures.append(_failure(method.name, batch[0], exc))
            return []
        log.warning("%s: batch failed (%s); retrying its images one at a time", method.name, exc)
    results = []
    for item, gray, seed, label in zip(batch, grays, seeds, labels):
        try:
            [out] = method.colorize([gray], seed=run_seed, item_seeds=[seed], labels=[label])
            results.append((item, gray, out))
        except Exception as exc_one:  # noqa: PERF203 - per-image isolation is the point
            failures.append(_failure(method.name, item, exc_one))
    return results


def _write_batch(method: Method, results: list[tuple[Item, np.ndarray, np.ndarray]], ctx: RunContext,
                 failures: list[dict], *, left: int) -> int:
    """Write each output through :func:`write_output`; returns how many were written. ``left``: images this method
    still had to write before the batch (for the disk-full message)."""
    n_ok = 0
    for (prepared, k), gray, raw in results:
        try:
            write_output(ctx.folder, method.name, prepared.sample.id, k, gray, np.asarray(raw), gamut=ctx.cfg.gamut,
                         spans_input=method.output_spans_input)
        except atomic.DiskFull as exc:  # say how much the rest of this method needs, roughly
            still = left - n_ok
            if exc.needed:
                about = atomic.format_size(exc.needed * still)
                raise atomic.DiskFull(exc.folder, exc.needed, remaining=f"; {method.name} still has "
                                      f"{plural(still, 'image')} to write, about {about} (twice that where raw/ "
                                      "keeps a copy)") from None
            raise
        except OSError:
            raise  # the disk, not the image: every further write would fail too
        except Exception as exc:  # one unusable output must not cost the batch's other images or the run
            failures.append(_failure(method.name, (prepared, k), exc))
            continue
        n_ok += 1
    return n_ok


def _timing_row(method: Method, batch: list[Item], index: int, n_ok: int, times: tuple[float, float, float, float],
                device: str, rank: int | None) -> dict:
    """One ``timings.csv`` row (TIMING_COLUMNS): read inputs t0-t1, colorize t1-t2, write t2-t3."""
    t0, t1, t2, t3 = times
    return {
        "method": method.name, "batch": index, "k": ";".join(sorted({str(k) for _, k in batch})),
        "n_images": n_ok, "preprocess_s": round(t1 - t0, 6), "inference_s": round(t2 - t1, 6),
        "postprocess_s": round(t3 - t2, 6), "device": device, "peak_memory_mb": round(peak_memory_mb(device), 1),
        "stages": json.dumps({k: round(v, 6) for k, v in method.stage_seconds.items()}), "rank": rank or 0,
    }


def write_output(folder: RunFolder, method: str, sample_id: str, k: int, gray: np.ndarray, raw: np.ndarray,
                 *, l_merge: bool = True, gamut: str = "clip", spans_input: bool = False) -> None:
    """The protocol every output goes through, colorbench's own or imported: the prediction's ab resized to the
    input and L-merged onto it (``images/``; ``gamut`` says what happens to colours outside sRGB), the native output
    kept in ``raw/`` when it differs. ``spans_input``: the output is the whole input squeezed to another aspect
    (the resize undoes it; no misalignment warning). ``l_merge=False`` (imports only) keeps the output as it is; it
    must then be at the input's size."""
    if l_merge:
        merged = merge_luminance(gray, raw, gamut=gamut)  # validates the output: uint8 HxWx3
        _check_aspect(method, gray, raw, spans_input=spans_input)
    else:
        if raw.dtype != np.uint8 or raw.ndim != 3 or raw.shape[2] != 3 or raw.shape[:2] != gray.shape:
            raise ValueError(f"without L-merging an output must be uint8 RGB at the input's size "
                             f"{gray.shape[1]}x{gray.shape[0]}, got {raw.shape[1]}x{raw.shape[0]}")
        merged = raw
    if raw.shape != merged.shape or not np.array_equal(raw, merged):
        atomic.write_png(folder.raw_path(method, sample_id, k), raw)
    atomic.write_png(folder.output_path(method, sample_id, k), merged)


_ASPECT_WARNED: set[str] = set()


def _check_aspect(method: str, gray: np.ndarray, raw: np.ndarray, *, spans_input: bool = False) -> None:
    """L-merging stretches the prediction over the input: a different aspect ratio means misaligned colours, unless
    the method says its output is the whole input squeezed (``Method.output_spans_input``), which the stretch undoes."""
    (h, w), (rh, rw) = gray.shape[:2], raw.shape[:2]
    if spans_input:
        return
    if abs((w / h) / (rw / rh) - 1) > 0.02 and method not in _ASPECT_WARNED:
        _ASPECT_WARNED.add(method)
        log.warning("%s returned %dx%d for a %dx%d input: the aspect ratio differs, so L-merging misaligns colours; "
                    "a method should return its output aligned with the whole input", method, rw, rh, w, h)


def _failure(method: str, item: tuple[PreparedSample, int], exc: BaseException) -> dict:
    prepared, k = item
    log.warning("%s failed on %s: %s", method, prepared.sample.id, exc)
    log.debug("".join(traceback.format_exception(exc)))
    return {"method": method, "id": prepared.sample.id, "k": k, "error": f"{type(exc).__name__}: {exc}"[:500]}


# ------------------------------------------------------------------------------------------------- the run
def run(cfg: RunConfig, *, progress: bool = True, shard: Shard | None = None) -> RunSummary:
    """Run every requested method on the configured dataset subset; see the module docstring.

    Under ``torchrun``/``accelerate launch``/Slurm (``RANK``/``WORLD_SIZE`` set) every process runs this with the
    same config: each colorizes its share of the images into the same folder, rank 0 alone writes run.json and
    collects the per-rank timings. An image's seed depends only on the run seed and its id, so the images equal a
    single-process run's."""
    shard = Shard.from_env() if shard is None else shard
    # Every check that can fail does so before anything is written (a typo must not cost an hour of work).
    device = resolve_device(shard.device(cfg.device))
    names = resolve_methods(cfg.methods)
    # typed once (command-line strings converted by the options' types): run.json records what the methods got,
    # and every later step reads each method's options from the context
    cfg = dataclasses.replace(cfg, method_options=check_method_options(cfg.method_options))
    options = {name: options_for(name, cfg) for name in names}
    auto = list(cfg.methods) in ([], [AUTO_METHODS])
    skip_on_cpu = too_slow_here(names, auto=auto, device=device, smoke=cfg.smoke)
    check_constructible([name for name in names if name not in skip_on_cpu], cfg, options)
    index = open_dataset(cfg.dataset)
    subset = index.subset(split=cfg.split, n_per_class=cfg.n_per_class, limit=cfg.limit, seed=cfg.seed)
    if not subset.samples:
        raise ValueError(f"dataset {cfg.dataset!r} gave no samples with split={cfg.split!r}, "
                         f"n_per_class={cfg.n_per_class}, limit={cfg.limit}")
    folder = RunFolder(cfg.run_path())
    ensure_writable(folder.path)
    ctx = RunContext(cfg, folder, device, shard, options, progress)
    with run_folder_lock(folder.path, command=f"colorbench run --run {cfg.run}"):  # one writer per folder
        return _run_locked(ctx, subset, names, skip_on_cpu)


def _run_locked(ctx: RunContext, subset: DatasetIndex, names: list[str], skip_on_cpu: set[str]) -> RunSummary:
    folder, shard = ctx.folder, ctx.shard
    previous = folder.run_record()
    check_resume(folder, previous, ctx.cfg, names, subset.root, ctx.options)
    shard.init()  # after the checks: every rank refuses the same way, alone
    devices = shard.gather(device_description(ctx.device))
    ctx.progress = ctx.progress and shard.is_main
    record = _start_record(ctx, subset, names, previous, devices) if shard.is_main else RunRecord()
    try:
        prepared, skipped = (prepare_inputs(subset, folder, progress=ctx.progress, max_pixels=ctx.cfg.max_pixels)
                             if shard.is_main else (None, None))
        prepared, skipped = shard.broadcast((prepared, skipped))  # the others wait until the inputs exist
        if not prepared:  # one bad image never stops a run, but a run with nothing to colorize is not a success
            raise NoUsableImages(nothing_usable_message(ctx.cfg.dataset, subset.root, skipped, folder.skipped_csv))
        outcomes = []
        for name in names:
            if name in skip_on_cpu:
                outcome = MethodOutcome(name=name, status=MethodState.SKIPPED, reason="too slow on a CPU for the "
                                        "automatic selection; name it in --methods to run it anyway, or use a GPU")
            else:
                outcome = _run_one(name, ctx, prepared)
            per_rank = shard.gather(outcome)  # rank 0 waits here until every rank has finished this method
            if shard.is_main:
                outcome = combine_outcomes(per_rank)
                _record_outcome(ctx, record, outcome)
            outcomes.append(outcome)
    except BaseException as exc:  # run.json must not claim "running" for a run that stopped
        if shard.is_main:
            record.status = "interrupted" if isinstance(exc, KeyboardInterrupt) else f"failed: {type(exc).__name__}"
            record.updated = now_iso()
            with contextlib.suppress(Exception):
                record.write(folder.run_json)
        raise
    if shard.is_main:
        record.status = "finished"
        record.finished = now_iso()
        record.write(folder.run_json)
    shard.barrier()  # no rank leaves (and tears the process group down) before run.json says finished
    shard.close()
    return RunSummary(folder.path, len(prepared), len(skipped), outcomes)


def _start_record(ctx: RunContext, subset: DatasetIndex, names: list[str], previous: RunRecord | None,
                  devices: list) -> RunRecord:
    """Rank 0's run.json for this call, written at once (status "running"), after clearing the earlier call's
    leftovers while no rank writes: half-written files and a killed sharded run's per-rank rows."""
    cfg, folder = ctx.cfg, ctx.folder
    atomic.remove_stale_temps(folder.path)
    folder.collect_rank_csvs(folder.timings_csv, TIMING_COLUMNS)
    folder.collect_rank_csvs(folder.failures_csv, FAILURE_COLUMNS)
    before = previous or RunRecord()
    record = RunRecord(
        run=cfg.run,
        status="running",
        config=cfg.to_dict(),
        dataset={"name": subset.name, "root": str(Path(subset.root).resolve()), "split": cfg.split,
                 "n": len(subset), "classes": len(subset.labels()), "has_splits": bool(subset.splits())},
        methods=list(dict.fromkeys([*before.methods, *names])),  # every method the folder has run
        method_status=before.method_status,
        seed=cfg.seed,
        smoke=cfg.smoke,
        versions=package_versions(),
        git_sha=git_sha(),
        device=devices[0],
        launch={**describe_launch(ctx.shard), "devices": devices},
        started=before.started or now_iso(),
        resumed=previous is not None,
        updated=now_iso(),
    )
    record.write(folder.run_json)
    return record


def _record_outcome(ctx: RunContext, record: RunRecord, outcome: MethodOutcome) -> None:
    """Rank 0 writes one method's outcome (every rank's, combined) into run.json."""
    folder, name = ctx.folder, outcome.name
    if ctx.shard.sharded:
        folder.collect_rank_csvs(folder.timings_csv, TIMING_COLUMNS)
        folder.collect_rank_csvs(folder.failures_csv, FAILURE_COLUMNS)
    entry = outcome.entry()
    before = record.status_of(name)
    if outcome.status in (MethodState.SKIPPED, MethodState.FAILED) and before.ran:
        # images from an earlier call are still here and still scored: run.json keeps saying how they were made,
        # and notes why this call could not add to them
        entry = dataclasses.replace(before, last_attempt=f"{outcome.status}: {outcome.reason}")
    elif entry.ran:
        entry.made_with = made_with(name, ctx.cfg, ctx.options[name])
        if entry.config is None:  # not loaded: every image was there already
            entry.config = before.config
    entry.family = method_family(name)
    record.method_status[name] = entry
    record.updated = now_iso()
    record.write(folder.run_json)


def combine_outcomes(per_rank: list[MethodOutcome]) -> MethodOutcome:
    """One method's outcome over every rank of a sharded run (a single process: its own outcome)."""
    first = per_rank[0]
    if len(per_rank) == 1:
        return first
    ran = [o for o in per_rank if o.ran]
    if not ran:  # no rank could run it (same missing weights everywhere): rank 0's reason says why
        return first
    lost = [f"rank {r}: {o.status}: {o.reason}" for r, o in enumerate(per_rank) if not o.ran]
    if lost:  # the others' images are there; this rank's share is not: the same command again fills it in
        log.warning("%s: not every rank could run it, its share of the images is missing (rerun the same command to "
                    "fill it in): %s", first.name, "; ".join(lost))
    failed = sum(o.failed for o in per_rank)
    reasons = ([f"{plural(failed, 'image')} failed (see failures.csv)"] if failed else []) + lost
    return MethodOutcome(name=first.name, status=MethodState.PARTIAL if reasons else MethodState.DONE,
                         reason="; ".join(reasons), written=sum(o.written for o in per_rank), reused=ran[0].reused,
                         failed=failed, samples_per_image=ran[0].samples_per_image,
                         config=next((o.config for o in ran if o.config is not None), None))  # None: none loaded it


def _run_one(name: str, ctx: RunContext, prepared: list[PreparedSample]) -> MethodOutcome:
    from tqdm.auto import tqdm

    try:
        k_count = ctx.cfg.samples_per_image if method_class(name).stochastic else 1
    except ImportError as exc:  # an optional extra is not installed: say which, and the command that installs it
        reason = explain_import_error(exc)
        log.warning("%s: skipped — %s", name, one_line(reason))
        return MethodOutcome(name=name, status=MethodState.SKIPPED, reason=reason)
    todo, reused = _left_to_do(name, ctx.folder, prepared, k_count)
    ctx.shard.barrier()  # every rank has listed what is left before any writes a new image: they split one list
    # whole batches are dealt out, so every image is colorized in the batch a single process would put it in
    # (a model's numbers can depend on the batch it runs in: same batches, same bytes)
    batch_size = ctx.batch_size(name)
    todo = [item for batch in ctx.shard.take(_batches(todo, batch_size)) for item in batch]
    if not todo and reused:  # its images are all here (a rerun of the demo or a notebook): no model to load
        return MethodOutcome(name=name, status=MethodState.DONE, reused=reused, samples_per_image=k_count,
                             config=None)  # not loaded: run.json keeps the config of the call that made them
    method = _loaded(name, ctx)
    if isinstance(method, MethodOutcome):
        return method
    with tqdm(total=len(todo), desc=name, unit="img", disable=not ctx.progress or not todo) as bar:
        written, _, failures = run_method(method, todo, ctx, batch_size, on_batch=bar.update)
    config = method.config()
    method.unload()
    del method
    gc.collect()
    if ctx.device.startswith("cuda"):
        import torch

        torch.cuda.empty_cache()
    return MethodOutcome(name=name, status=MethodState.PARTIAL if failures else MethodState.DONE, written=written,
                         reused=reused, failed=len(failures), samples_per_image=k_count, config=config,
                         reason=f"{plural(len(failures), 'image')} failed (see failures.csv)" if failures else "")


def _left_to_do(name: str, folder: RunFolder, prepared: list[PreparedSample], k_count: int
                ) -> tuple[list[Item], int]:
    """The (sample, k) outputs of method ``name`` not in the folder yet, and how many are (resume reuses them)."""
    todo, reused = [], 0
    for k in range(k_count):
        for p in prepared:
            if folder.output_path(name, p.sample.id, k).exists():
                reused += 1
            else:
                todo.append((p, k))
    return todo, reused


def _loaded(name: str, ctx: RunContext) -> Method | MethodOutcome:
    """Method ``name`` built with its options and loaded on the device; or, when it cannot be, its outcome: skipped
    (missing weights or optional extra, with the fix) or failed (e.g. a corrupt checkpoint, out of memory)."""
    try:
        method = instantiate(name, ctx.options[name], ctx.cfg.smoke)
        method.load(ctx.device)
        return method
    except (WeightsUnavailable, ImportError) as exc:
        # the short reason now; the run summary repeats the full message with the fix once, at the end
        reason = explain_import_error(exc) if isinstance(exc, ImportError) else str(exc)
        reason = reason.removeprefix(f"{name}: ")  # printed as "NAME: SKIPPED — reason": the name once
        short = (getattr(exc, "reason", None) or reason).removeprefix(f"{name}: ")
        log.warning("%s: skipped — %s", name, one_line(short))
        return MethodOutcome(name=name, status=MethodState.SKIPPED, reason=reason)
    except Exception as exc:  # the other methods still run
        log.warning("%s: failed to load — %s: %s", name, type(exc).__name__, exc)
        log.debug("".join(traceback.format_exception(exc)))
        first_line = (str(exc).strip().splitlines() or [""])[0]
        return MethodOutcome(name=name, status=MethodState.FAILED,
                             reason=f"failed to load: {type(exc).__name__}: {first_line}"[:500])
