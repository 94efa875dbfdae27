"""The runner: dataset subset -> gray inputs -> each method in batches -> L-merged images, timings, run.json.

Resumable by construction: every output is written atomically under its final name only once complete, and a
rerun skips outputs that exist. One bad image is listed in ``skipped.csv``; one failing image is listed in
``failures.csv``; neither stops the run.

Example::

    from colorbench.config import RunConfig
    from colorbench.run import run
    summary = run(RunConfig(run="demo", methods=["gray"]))
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import json
import logging
import resource
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from colorbench import atomic
from colorbench.color import merge_luminance, to_gray
from colorbench.config import AUTO_METHODS, RunConfig
from colorbench.data.images import ImageLoadError, load_image, read_png_rgb
from colorbench.data.index import DatasetIndex, Sample
from colorbench.data.specs import open_dataset
from colorbench.distributed import Shard
from colorbench.distributed import describe as describe_launch
from colorbench.extras import explain_import_error
from colorbench.locks import run_folder_lock
from colorbench.messages import one_line
from colorbench.methods import get_method, item_seed, method_class, method_names
from colorbench.methods.base import Method
from colorbench.methods.options import option_defaults, speed_only_names
from colorbench.methods.registry import check_method_options, method_family, typed_options
from colorbench.provenance import device_description, git_sha, now_iso, package_versions, resolve_device
from colorbench.records import MethodStatus, RunRecord
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
class MethodOutcome:
    name: str
    status: str  # "done", "skipped" (cannot run here, with reason), "partial" (some images failed)
    reason: str = ""
    written: int = 0
    reused: int = 0
    failed: int = 0
    samples_per_image: int = 0  # outputs expected per image (K for stochastic methods, else 1; 0 if not run)
    config: dict = field(default_factory=dict)


@dataclass
class RunSummary:
    path: Path
    samples: int
    skipped_images: int
    methods: list[MethodOutcome]


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


def read_gray(folder: RunFolder, sample_id: str) -> np.ndarray:
    """The gray input exactly as the run wrote it (a PNG round trip is lossless)."""
    return read_png_rgb(folder.gray_path(sample_id))[..., 0].copy()


# ------------------------------------------------------------------------------------------------- methods
def resolve_methods(requested: Sequence[str]) -> list[str]:
    if list(requested) in ([], [AUTO_METHODS]):
        return method_names()
    known = set(method_names())
    unknown = [m for m in requested if m not in known]
    if unknown:
        raise ValueError(f"unknown method(s) {unknown}; known methods: {', '.join(method_names())}")
    return list(dict.fromkeys(requested))


def options_for(name: str, cfg: RunConfig) -> dict:
    """The options method ``name`` runs with, typed (see :func:`colorbench.methods.registry.typed_options`)."""
    return typed_options(name, cfg.method_options)


def too_slow_here(names: Sequence[str], *, auto: bool, device: str, smoke: bool) -> set[str]:
    """Methods the automatic selection leaves out: the heavy ones (ColTran, diffusion) on a CPU. Not in smoke runs:
    their tiny models take seconds, and a smoke run is there to run every code path (as the notebook smoke run does)."""
    return {name for name in names if auto and device == "cpu" and not smoke and _heavy_on_cpu(name)}


def _heavy_on_cpu(name: str) -> bool:
    try:
        return bool(method_class(name).heavy_on_cpu)
    except ImportError:
        return False  # its optional dependency is missing: the run reports it as skipped with the reason


def check_constructible(names: Sequence[str], cfg: RunConfig) -> None:
    """Construct each method once before any work: constructors check option values and load nothing, so a bad
    value fails now rather than when that method's turn comes (a missing optional dependency is left for the run
    to report as a skip)."""
    for name in names:
        try:
            instantiate(name, options_for(name, cfg), cfg.smoke)
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


def _peak_memory_mb(device: str) -> float:
    """Peak memory since the last :func:`_reset_peak`: CUDA allocator peak, or on a CPU the process's peak resident
    set (Linux: VmHWM, which :func:`_reset_peak` resets, so each batch reports its own peak; elsewhere the peak
    since the process started)."""
    if device.startswith("cuda"):
        import torch

        return torch.cuda.max_memory_allocated(torch.device(device)) / 2**20
    hwm = _linux_vm_hwm_kib()
    if hwm is not None:
        return hwm / 2**10
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # macOS reports bytes, Linux KiB
    return peak / (2**20 if sys.platform == "darwin" else 2**10)


def _linux_vm_hwm_kib() -> int | None:
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def _reset_peak(device: str) -> None:
    if device.startswith("cuda"):
        import torch

        torch.cuda.reset_peak_memory_stats(torch.device(device))
        return
    try:  # Linux: "5" resets the peak resident set size (VmHWM) to the current one (proc(5), clear_refs)
        with open("/proc/self/clear_refs", "w", encoding="ascii") as clear_refs:
            clear_refs.write("5")
    except OSError:
        pass  # not Linux, or not allowed: the peak then covers the whole process so far


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        import torch

        torch.cuda.synchronize(torch.device(device))


def _batches(items: list, size: int) -> list[list]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def run_method(
    method: Method,
    todo: list[tuple[PreparedSample, int]],
    folder: RunFolder,
    cfg: RunConfig,
    device: str,
    *,
    on_batch: Callable[[int], None] | None = None,
    rank: int | None = None,
) -> tuple[int, list[dict], list[dict]]:
    """Colorize ``todo`` (sample, k) pairs in batches. Returns (written, timing rows, failure rows).

    ``rank``: in a sharded run, this process's rank; its timings and failures then go to its own files
    (:meth:`RunFolder.rank_csv`), which rank 0 merges."""
    written, timing_rows, failures = 0, [], []
    timings_csv = folder.timings_csv if rank is None else folder.rank_csv(folder.timings_csv, rank)
    failures_csv = folder.failures_csv if rank is None else folder.rank_csv(folder.failures_csv, rank)
    batch_index = len([r for path in {folder.timings_csv, timings_csv} for r in read_csv(path)
                       if r["method"] == method.name])
    for batch in _batches(todo, cfg.batch_size):
        t0 = time.perf_counter()
        grays = [read_gray(folder, p.sample.id) for p, _ in batch]
        seeds = [item_seed(cfg.seed, p.sample.id, k) for p, k in batch]
        labels = [p.sample.label for p, _ in batch]
        _reset_peak(device)
        t1 = time.perf_counter()
        method.stage_seconds = {}
        try:
            outputs = method.colorize(grays, seed=cfg.seed, item_seeds=seeds, labels=labels)
            if len(outputs) != len(grays):
                raise RuntimeError(f"{method.name} returned {len(outputs)} images for {len(grays)} inputs")
            results = list(zip(batch, grays, outputs))
        except Exception as exc:
            if len(batch) == 1:
                results = []
                failures.append(_failure(method.name, batch[0], exc))
            else:  # find the culprit: one image at a time, the others still get done
                log.warning("%s: batch failed (%s); retrying its images one at a time", method.name, exc)
                results = []
                for item, gray, seed, label in zip(batch, grays, seeds, labels):
                    try:
                        [out] = method.colorize([gray], seed=cfg.seed, item_seeds=[seed], labels=[label])
                        results.append((item, gray, out))
                    except Exception as exc_one:  # noqa: PERF203 - per-image isolation is the point
                        failures.append(_failure(method.name, item, exc_one))
        _sync(device)
        t2 = time.perf_counter()
        n_ok = 0
        for (prepared, k), gray, raw in results:
            try:
                write_output(folder, method.name, prepared.sample.id, k, gray, np.asarray(raw), gamut=cfg.gamut,
                             spans_input=method.output_spans_input)
            except atomic.DiskFull as exc:  # say how much the rest of this method needs, roughly
                left = len(todo) - written
                if exc.needed:
                    about = atomic.format_size(exc.needed * left)
                    raise atomic.DiskFull(exc.folder, exc.needed, remaining=f"; {method.name} still has {left} images "
                                          f"to write, about {about} (twice that where raw/ keeps a copy)") from None
                raise
            except OSError:
                raise  # the disk, not the image: every further write would fail too
            except Exception as exc:  # one unusable output must not cost the batch's other images or the run
                failures.append(_failure(method.name, (prepared, k), exc))
                continue
            written += 1
            n_ok += 1
        t3 = time.perf_counter()
        row = {
            "method": method.name, "batch": batch_index, "k": ";".join(sorted({str(k) for _, k in batch})),
            "n_images": n_ok, "preprocess_s": round(t1 - t0, 6), "inference_s": round(t2 - t1, 6),
            "postprocess_s": round(t3 - t2, 6), "device": device, "peak_memory_mb": round(_peak_memory_mb(device), 1),
            "stages": json.dumps({k: round(v, 6) for k, v in method.stage_seconds.items()}), "rank": rank or 0,
        }
        atomic.append_csv_rows(timings_csv, [row], TIMING_COLUMNS)
        timing_rows.append(row)
        batch_index += 1
        if on_batch:
            on_batch(len(batch))
    if failures:
        atomic.append_csv_rows(failures_csv, failures, FAILURE_COLUMNS)
    return written, timing_rows, failures


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


# ------------------------------------------------------------------------------------------------- resume
def made_with(name: str, cfg: RunConfig) -> dict:
    """What a method's images depend on besides the input: its options (except those its options dataclass marks
    speed-only, and those given at their default) and, if it is stochastic, the run seed."""
    options_cls = method_class(name).Options  # ImportError: check_resume leaves a method that cannot run alone
    defaults, speed = option_defaults(options_cls), speed_only_names(options_cls)
    options = {k: v for k, v in options_for(name, cfg).items()
               if k not in speed and not (k in defaults and defaults[k] == v)}  # default = not given
    made: dict = {"options": json.loads(json.dumps(options, default=str))}
    if cfg.gamut != RunConfig.gamut:  # recorded only when not the default, so older run folders still resume
        made["gamut"] = cfg.gamut
    if method_class(name).stochastic:
        made["seed"] = cfg.seed
    return made


def check_smoke_kind(folder: RunFolder, recorded_smoke: bool | None, smoke: bool, *, run_setting: str = "--run"
                     ) -> None:
    """Refuse a smoke run in a folder that holds a real run's images, and the other way round: resume reuses every
    image that exists, so untrained outputs would be scored as the real method. ``recorded_smoke``: run.json's
    ``smoke`` (None: no run.json yet). The one smoke/real guard: the runner calls it on resume, a notebook's
    ``setup()`` before anything runs (``run_setting``: how the user names the run there, for the fix)."""
    has_images = any((folder.path / "images").glob("*/*.png"))
    if recorded_smoke is not None and has_images and bool(recorded_smoke) != bool(smoke):
        kind = "a SMOKE run (tiny untrained models)" if recorded_smoke else "a real (non-smoke) run"
        this = "smoke run" if smoke else "real run"
        raise ValueError(f"run folder {folder.path} holds {kind}; this {this} must not reuse its images: choose "
                         f"another {run_setting} name, or delete {folder.path} to start over")


def check_resume(folder: RunFolder, previous: RunRecord | None, cfg: RunConfig, names: Sequence[str],
                 dataset_root: Path) -> None:
    """Refuse to resume into a folder whose images were made differently: resume reuses every image that exists,
    so a smoke run's untrained outputs would be scored as the real method, and images made with other options or
    another seed would be labelled with this command's settings."""
    start_over = f"choose another --run name, or delete {folder.path} to start over"
    check_smoke_kind(folder, previous.smoke if previous else None, cfg.smoke)
    before = previous.dataset_root if previous else None
    if (before and any((folder.path / "inputs").glob("*/*.png"))
            and Path(before).resolve() != Path(dataset_root).resolve()):
        raise ValueError(f"run folder {folder.path} holds a run of the dataset in {before}, "
                         f"not {dataset_root}: {start_over}")
    for name in names:
        made = previous.status_of(name).made_with if previous else None
        images = folder.output_path(name, "x").parent
        if made is None or not any(images.glob("*.png")):
            continue
        try:
            now = made_with(name, cfg)
        except ImportError:
            continue  # cannot run here at all: it will be skipped with the reason, its images left alone
        if made == now:
            continue
        changed = "; ".join(f"{key} {made.get(key)!r} -> {now.get(key)!r}" for key in sorted({*made, *now})
                            if made.get(key) != now.get(key))
        raise ValueError(f"{images} was made with other settings ({changed}); resuming would label those images "
                         f"with this command's settings: choose another --run name, or delete {images} and "
                         f"{folder.raw_path(name, 'x').parent} to redo {name}")


# ------------------------------------------------------------------------------------------------- the run
def run(cfg: RunConfig, *, progress: bool = True, shard: Shard | None = None) -> RunSummary:
    """Run every requested method on the configured dataset subset; see the module docstring.

    Under ``torchrun``/``accelerate launch``/Slurm (``RANK``/``WORLD_SIZE`` set) every process runs this with the
    same config: each colorizes its share of the images into the same folder, rank 0 alone writes run.json and
    merges the per-rank timings. An image's seed depends only on the run seed and its id, so the images equal a
    single-process run's."""
    from tqdm.auto import tqdm

    shard = Shard.from_env() if shard is None else shard
    # Every check that can fail does so before anything is written (a typo must not cost an hour of work).
    device = resolve_device(shard.device(cfg.device))
    names = resolve_methods(cfg.methods)
    # typed once (command-line strings converted by the options' types): run.json records what the methods got
    cfg = dataclasses.replace(cfg, method_options=check_method_options(cfg.method_options))
    auto = list(cfg.methods) in ([], [AUTO_METHODS])
    skip_on_cpu = too_slow_here(names, auto=auto, device=device, smoke=cfg.smoke)
    check_constructible([name for name in names if name not in skip_on_cpu], cfg)
    index = open_dataset(cfg.dataset)
    subset = index.subset(split=cfg.split, n_per_class=cfg.n_per_class, limit=cfg.limit, seed=cfg.seed)
    if not subset.samples:
        raise ValueError(f"dataset {cfg.dataset!r} gave no samples with split={cfg.split!r}, "
                         f"n_per_class={cfg.n_per_class}, limit={cfg.limit}")
    folder = RunFolder(cfg.run_path())
    ensure_writable(folder.path)
    with run_folder_lock(folder.path, command=f"colorbench run --run {cfg.run}"):  # one writer per folder
        return _run_locked(cfg, folder, subset, names, skip_on_cpu, device, progress=progress, tqdm=tqdm, shard=shard)


def _run_locked(cfg, folder, subset, names, skip_on_cpu, device, *, progress, tqdm, shard: Shard) -> RunSummary:
    previous = folder.run_record()
    check_resume(folder, previous, cfg, names, subset.root)
    shard.init()  # after the checks: every rank refuses the same way, alone
    devices = shard.gather(device_description(device))
    progress = progress and shard.is_main

    record = RunRecord()
    if shard.is_main:
        # the earlier call's leftovers, while no rank writes: half-written files and a killed sharded run's rows
        atomic.remove_stale_temps(folder.path)
        folder.merge_rank_csvs(folder.timings_csv, TIMING_COLUMNS)
        folder.merge_rank_csvs(folder.failures_csv, FAILURE_COLUMNS)
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
            launch={**describe_launch(shard), "devices": devices},
            started=before.started or now_iso(),
            resumed=previous is not None,
            updated=now_iso(),
        )
        record.write(folder.run_json)

    try:
        prepared, skipped = (prepare_inputs(subset, folder, progress=progress, max_pixels=cfg.max_pixels)
                             if shard.is_main else (None, None))
        prepared, skipped = shard.broadcast((prepared, skipped))  # the others wait until the inputs exist
        outcomes = []
        for name in names:
            if name in skip_on_cpu:
                outcome = MethodOutcome(name, "skipped", reason="too slow on a CPU for the automatic selection; "
                                        "name it in --methods to run it anyway, or use a GPU")
            else:
                outcome = _run_one(name, cfg, prepared, folder, device, progress=progress, tqdm=tqdm, shard=shard)
            per_rank = shard.gather(outcome)  # rank 0 waits here until every rank has finished this method
            if not shard.is_main:
                outcomes.append(outcome)
                continue
            outcome = combine_outcomes(per_rank)
            outcomes.append(outcome)
            if shard.sharded:
                folder.merge_rank_csvs(folder.timings_csv, TIMING_COLUMNS)
                folder.merge_rank_csvs(folder.failures_csv, FAILURE_COLUMNS)
            entry = MethodStatus(status=outcome.status, reason=outcome.reason, written=outcome.written,
                                 reused=outcome.reused, failed=outcome.failed,
                                 samples_per_image=outcome.samples_per_image, config=outcome.config)
            before = record.status_of(name)
            if outcome.status in ("skipped", "failed") and before.ran:
                # images from an earlier call are still here and still scored: run.json keeps saying how they
                # were made, and notes why this call could not add to them
                entry = dataclasses.replace(before, last_attempt=f"{outcome.status}: {outcome.reason}")
            elif entry.ran:
                entry.made_with = made_with(name, cfg)
            entry.family = method_family(name)
            record.method_status[name] = entry
            record.updated = now_iso()
            record.write(folder.run_json)
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


def combine_outcomes(per_rank: list[MethodOutcome]) -> MethodOutcome:
    """One method's outcome over every rank of a sharded run (a single process: its own outcome)."""
    first = per_rank[0]
    if len(per_rank) == 1:
        return first
    ran = [o for o in per_rank if o.status in ("done", "partial")]
    if not ran:  # no rank could run it (same missing weights everywhere): rank 0's reason says why
        return first
    lost = [f"rank {r}: {o.status}: {o.reason}" for r, o in enumerate(per_rank) if o.status not in ("done", "partial")]
    if lost:  # the others' images are there; this rank's share is not: the same command again fills it in
        log.warning("%s: not every rank could run it, its share of the images is missing (rerun the same command to "
                    "fill it in): %s", first.name, "; ".join(lost))
    failed = sum(o.failed for o in per_rank)
    reasons = ([f"{failed} images failed (see failures.csv)"] if failed else []) + lost
    return MethodOutcome(first.name, "partial" if reasons else "done", reason="; ".join(reasons),
                         written=sum(o.written for o in per_rank), reused=ran[0].reused, failed=failed,
                         samples_per_image=ran[0].samples_per_image, config=ran[0].config)


def _run_one(name, cfg, prepared, folder, device, *, progress, tqdm, shard: Shard | None = None) -> MethodOutcome:
    shard = shard or Shard()
    options = options_for(name, cfg)
    try:
        k_count = cfg.samples_per_image if method_class(name).stochastic else 1
    except ImportError as exc:  # an optional extra is not installed: say which, and the command that installs it
        reason = explain_import_error(exc)
        log.warning("%s: skipped — %s", name, one_line(reason))
        return MethodOutcome(name, "skipped", reason=reason)
    todo, reused = [], 0
    for k in range(k_count):
        for p in prepared:
            if folder.output_path(name, p.sample.id, k).exists():
                reused += 1
            else:
                todo.append((p, k))
    shard.barrier()  # every rank has listed what is left before any writes a new image: they split one list
    # whole batches are dealt out, so every image is colorized in the batch a single process would put it in
    # (a model's numbers can depend on the batch it runs in: same batches, same bytes)
    todo = [item for batch in shard.take(_batches(todo, cfg.batch_size)) for item in batch]
    try:
        method = instantiate(name, options, cfg.smoke)
        method.load(device)
    except (WeightsUnavailable, ImportError) as exc:
        # the short reason now; the run summary repeats the full message with the fix once, at the end
        reason = explain_import_error(exc) if isinstance(exc, ImportError) else str(exc)
        log.warning("%s: skipped — %s", name, one_line(getattr(exc, "reason", None) or reason))
        return MethodOutcome(name, "skipped", reason=reason)
    except Exception as exc:  # e.g. a corrupt checkpoint or out of memory: the other methods still run
        log.warning("%s: failed to load — %s: %s", name, type(exc).__name__, exc)
        log.debug("".join(traceback.format_exception(exc)))
        first_line = (str(exc).strip().splitlines() or [""])[0]
        return MethodOutcome(name, "failed", reason=f"failed to load: {type(exc).__name__}: {first_line}"[:500])
    with tqdm(total=len(todo), desc=name, unit="img", disable=not progress or not todo) as bar:
        written, _, failures = run_method(method, todo, folder, cfg, device, on_batch=bar.update,
                                          rank=shard.rank if shard.sharded else None)
    config = method.config()
    method.unload()
    del method
    gc.collect()
    if device.startswith("cuda"):
        import torch

        torch.cuda.empty_cache()
    status = "partial" if failures else "done"
    return MethodOutcome(name, status, written=written, reused=reused, failed=len(failures),
                         samples_per_image=k_count, config=config,
                         reason=f"{len(failures)} images failed (see failures.csv)" if failures else "")
