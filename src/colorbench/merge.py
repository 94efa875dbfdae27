"""``colorbench merge OUT RUN_A RUN_B …``: one run folder from run folders made on different machines (ColTran on
one GPU box, diffusion on another), so they are scored and reported as one comparison.

Merging refuses what would not be one comparison: inputs that differ (the same sample ids with the same gray
inputs and truths, compared by content hash), one method made with other settings in two runs (its
``made_with``: options and, for stochastic methods, the seed; or another imported folder), smoke and real runs
mixed. A method made in several runs with the same settings is the union of its images (an image both have must
be the same bytes). ``run.json`` of OUT records where every method came from (``merged_from``: path, machine,
device, versions and the whole run.json of origin; ``method_status.<m>.origin``).

Usage (a sketch, not run by the doctests: it needs two run folders)::

    from colorbench.merge import merge_runs
    merge_runs("results/all", ["results/coltran-box", "results/diffusion-box"])
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

from colorbench import atomic
from colorbench.locks import locks_run_folder
from colorbench.messages import plural
from colorbench.provenance import now_iso
from colorbench.records import MethodState, MethodStatus, RunRecord
from colorbench.runfolder import (
    FAILURE_COLUMNS,
    SAMPLE_COLUMNS,
    SKIPPED_COLUMNS,
    TIMING_COLUMNS,
    RunFolder,
    ensure_writable,
    read_csv,
)


class MergeRefused(ValueError):
    """The runs cannot be one comparison; the message says which runs differ, how, and what to do."""


def inputs_fingerprint(run: RunFolder) -> dict[str, tuple]:
    """sample id -> (label, split, gray input hash, truth hash or None): what every method of the run saw and was
    scored against."""
    out = {}
    for row in run.read_samples():
        truth = run.truth_path(row["id"])
        gray = run.gray_path(row["id"])
        out[row["id"]] = (row.get("label", ""), row.get("split", ""),
                          atomic.sha256_file(gray) if gray.exists() else None,
                          atomic.sha256_file(truth) if truth.exists() else None)
    return out


def _settings(status: MethodStatus) -> dict:
    """What a method's images depend on, as run.json recorded it (an imported method: its files' hashes)."""
    if status.imported:
        return {"imported": [f["files_sha256"] for f in status.imported.get("from", [])],
                "l_merged": status.imported.get("l_merged", True)}
    return status.made_with or {}


def _check_same_inputs(runs: list[RunFolder]) -> None:
    first = inputs_fingerprint(runs[0])
    for run in runs[1:]:
        other = inputs_fingerprint(run)
        only_first, only_other = sorted(set(first) - set(other)), sorted(set(other) - set(first))
        changed = sorted(i for i in set(first) & set(other) if first[i] != other[i])
        if only_first or only_other or changed:
            parts = []
            if only_first:
                parts.append(f"{plural(len(only_first), 'image')} only in {runs[0].path} (e.g. {only_first[0]})")
            if only_other:
                parts.append(f"{plural(len(only_other), 'image')} only in {run.path} (e.g. {only_other[0]})")
            if changed:
                parts.append(f"{plural(len(changed), 'image')} whose gray input, truth, label or split differ "
                             f"(e.g. {changed[0]})")
            raise MergeRefused(f"{run.path} and {runs[0].path} were not run on the same inputs: {'; '.join(parts)}. "
                               f"Runs merge only when made with the same --dataset, --split, --n-per-class/--limit "
                               f"and --seed; rerun one of them on the other's selection")


@locks_run_folder("colorbench merge")
def merge_runs(out: str | Path, sources: Sequence[str | Path]) -> Path:
    """Merge ``sources`` into the new run folder ``out``; see the module docstring. Returns ``out``."""
    out_folder = RunFolder(out)
    runs, records = _checked_sources(out_folder, sources)
    origin = _method_origins(runs, records)
    ensure_writable(out_folder.path)
    first = runs[0]
    for sample_id in inputs_fingerprint(first):
        for path in (first.gray_path(sample_id), first.truth_path(sample_id)):
            if path.exists():
                atomic.write_bytes(out_folder.path / path.relative_to(first.path), path.read_bytes())
    atomic.write_csv(out_folder.samples_csv, first.read_samples(), SAMPLE_COLUMNS)
    atomic.write_csv(out_folder.skipped_csv, read_csv(first.skipped_csv), SKIPPED_COLUMNS)

    timings, failures, method_status = [], [], {}
    for method, indices in origin.items():
        method_status[method] = _copy_method(out_folder, method, [runs[i] for i in indices],
                                             records[indices[0]].status_of(method), timings, failures)
    atomic.write_csv(out_folder.timings_csv, timings, TIMING_COLUMNS)
    atomic.write_csv(out_folder.failures_csv, failures, FAILURE_COLUMNS)

    base = records[0]
    record = RunRecord(
        run=out_folder.path.name,
        status="finished",
        config={**base.config, "methods": list(origin)},
        dataset=base.dataset,
        methods=list(origin),
        method_status=method_status,
        seed=base.seed,
        smoke=base.smoke,
        versions=base.versions,
        device=base.device,
        merged_from=[{"path": str(run.path.resolve()), "run": r.run, "methods": origin_methods,
                      "machine": r.device.get("platform") if isinstance(r.device, dict) else None,
                      "device": r.device, "launch": r.launch, "versions": r.versions, "git_sha": r.git_sha,
                      "run_json": r.to_dict()}
                     for run, r, origin_methods in ((run, r, [m for m, ix in origin.items() if i in ix])
                                                    for i, (run, r) in enumerate(zip(runs, records)))],
        started=now_iso(),
        finished=now_iso(),
        resumed=False,
    )
    record.write(out_folder.run_json)
    return out_folder.path


def _checked_sources(out_folder: RunFolder, sources: Sequence[str | Path]) -> tuple[list[RunFolder], list[RunRecord]]:
    """The source run folders and their run.json, refused before anything is written when they cannot be one
    comparison: fewer than two, not run folders, OUT among them or already a run, smoke and real runs mixed, other
    inputs."""
    if len(sources) < 2:
        raise MergeRefused("give at least two run folders to merge")
    runs = [RunFolder(s) for s in sources]
    for run in runs:
        if not run.run_json.exists() or not run.samples_csv.exists():
            raise MergeRefused(f"{run.path} is not a run folder (no run.json/samples.csv)")
        if run.path.resolve() == out_folder.path.resolve():
            raise MergeRefused(f"{run.path} is both a source and OUT: merge into a new folder")
    if out_folder.run_json.exists() or any(out_folder.path.glob("images/*/*.png")):
        raise MergeRefused(f"{out_folder.path} already holds a run: merge into a new folder (or delete it first)")
    records = [RunRecord.read(run.run_json) for run in runs]
    if len({r.smoke for r in records}) > 1:
        kinds = ", ".join(f"{run.path} ({'smoke' if r.smoke else 'real'})" for run, r in zip(runs, records))
        raise MergeRefused(f"smoke runs (tiny untrained models) and real runs cannot be one comparison: {kinds}")
    _check_same_inputs(runs)
    return runs, records


def _method_origins(runs: list[RunFolder], records: list[RunRecord]) -> dict[str, list[int]]:
    """Every method, with the indices of the runs that made it; refused where two made it with other settings."""
    origin: dict[str, list[int]] = {}
    for i, (run, record) in enumerate(zip(runs, records)):
        for method in run.methods():
            status = record.status_of(method)
            for j in origin.get(method, []):
                before = records[j].status_of(method)
                if _settings(before) != _settings(status):
                    raise MergeRefused(
                        f"{method} was made with other settings in {runs[j].path} ({_settings(before)}) than in "
                        f"{run.path} ({_settings(status)}): one comparison needs one setting per method; leave one "
                        f"of them out, or rerun it with the other's settings")
            origin.setdefault(method, []).append(i)
    return origin


def _copy_method(out_folder: RunFolder, method: str, sources: list[RunFolder], status: MethodStatus,
                 timings: list[dict], failures: list[dict]) -> MethodStatus:
    """Copy ``method``'s images (and raw outputs) from every run in ``sources`` that made it into ``out_folder``;
    add its timing rows and the failures no run made up for; return its run.json entry (``status``: the first
    source's)."""
    conflicts = 0
    for run in sources:
        for kind in ("images", "raw"):
            for path in sorted((run.path / kind / method).glob("*.png")):
                if path.name.startswith(atomic.TMP_PREFIX):
                    continue
                target = out_folder.path / kind / method / path.name
                if target.exists():
                    conflicts += target.read_bytes() != path.read_bytes()
                    continue
                atomic.write_bytes(target, path.read_bytes())
        timings += [r for r in read_csv(run.timings_csv) if r["method"] == method]
    for run in sources:  # failures only where no run made the image
        failures += [r for r in read_csv(run.failures_csv) if r["method"] == method
                     and not out_folder.output_path(method, r["id"], int(r.get("k") or 0)).exists()]
    if conflicts:
        sources_text = ", ".join(str(run.path) for run in sources)
        raise MergeRefused(f"{method}: {plural(conflicts, 'image')} differ{'s' if conflicts == 1 else ''} between "
                           f"{sources_text} "
                           f"although made with the same settings (a nondeterministic method?): merge only one "
                           f"of these runs' {method}")
    entry = dataclasses.replace(status, written=len(list((out_folder.path / "images" / method).glob("*.png"))),
                                reused=0, origin=[str(run.path.resolve()) for run in sources])
    if len(sources) > 1:  # what is still missing after the union
        left = sum(f["method"] == method for f in failures)
        entry = dataclasses.replace(entry, status=MethodState.PARTIAL if left else MethodState.DONE, failed=left,
                                    reason=f"{plural(left, 'image')} failed (see failures.csv)" if left else "")
    return entry


def method_origins(run_path: str | Path) -> object:
    """Where each method's images came from, as a table (pandas DataFrame): made by this run, merged in from
    another run folder (with its machine and device), or imported from another tool's folder (with the note)."""
    import pandas as pd

    record = RunRecord.read(RunFolder(run_path).run_json)
    machines = {m["path"]: m for m in record.merged_from or []}
    rows = []
    for method in record.methods:
        status = record.status_of(method)
        imported = status.imported
        if imported:
            source = ", ".join(f["folder"] for f in imported.get("from", []))
            rows.append({"method": method, "origin": "imported", "from": source,
                         "details": imported.get("note", "") + ("" if imported.get("l_merged", True)
                                                                else " (not L-merged)")})
        elif status.origin:
            details = "; ".join(_machine(machines.get(path) or {}) for path in status.origin)
            rows.append({"method": method, "origin": "merged", "from": ", ".join(status.origin), "details": details})
        else:
            rows.append({"method": method, "origin": "this run", "from": "", "details": status.status or ""})
    return pd.DataFrame(rows, columns=["method", "origin", "from", "details"])


def _machine(origin: dict) -> str:
    device = origin.get("device") or {}
    return f"{origin.get('machine') or '?'}, {device.get('gpu') or device.get('device', '?')}"
