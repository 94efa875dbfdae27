"""Outputs made by other tools (DDColor, DeOldify, a model of your own): ``colorbench import RUN --method NAME
--from FOLDER`` adds them to a run as an *imported* method, through the same protocol as colorbench's own methods
(the prediction's ab resized to the input and L-merged onto it, the native file kept in ``raw/``).

Files are matched to the run's images by sample id (``--match id``: ``<id>.<ext>``, the names colorbench gives
its own outputs) or by the original file's name (``--match filename``: ``<stem of samples.csv source>.<ext>``).
Every file is accounted for: matched, ambiguous (two files for one image, or one name for two images), unmatched
(with the closest sample name, for a misnamed file), unreadable (with the loader's reason); images without a
file are missing (a ``failures.csv`` row, so the score says why). Several ``--from`` folders give K samples per
image (folder i is sample k=i), for stochastic methods.

Usage (a sketch, not run by the doctests: it needs a run folder and another tool's outputs)::

    from colorbench.external import import_outputs
    report = import_outputs("results/demo", "ddcolor", ["~/ddcolor_out"], note="DDColor tiny, official repo")
    print(report.text())
"""

from __future__ import annotations

import difflib
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from colorbench import atomic
from colorbench.data.images import ImageLoadError, is_image_file, load_image, read_gray
from colorbench.locks import locks_run_folder
from colorbench.messages import plural
from colorbench.methods.families import check_family
from colorbench.provenance import now_iso
from colorbench.records import MethodState, MethodStatus, RunRecord
from colorbench.runfolder import FAILURE_COLUMNS, RunFolder, ensure_writable

log = logging.getLogger(__name__)
MATCH_MODES = ("id", "filename")
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")


class ImportRefused(ValueError):
    """The import cannot go ahead as asked; the message names the problem and the fix."""


@dataclass
class ImportReport:
    method: str
    written: int = 0
    missing: list[str] = field(default_factory=list)  # sample ids (with __k<k> for k > 0) without a file
    unmatched: list[str] = field(default_factory=list)  # "file (did you mean X?)"
    ambiguous: list[str] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)  # "file: reason"
    not_images: list[str] = field(default_factory=list)  # files that are not images by their extension
    other_aspect: int = 0  # outputs whose aspect ratio differs from the input's (colours stretched over it)

    def text(self) -> str:
        lines = [f"imported {plural(self.written, 'output')} as {self.method}"]
        for (one, many, why), items in ((("missing", "missing", "no file for these images"), self.missing),
                                        (("unmatched file", None, "match no image of the run"), self.unmatched),
                                        (("ambiguous", "ambiguous", ""), self.ambiguous),
                                        (("unreadable file", None, "left out"), self.unreadable),
                                        (("not image file", None, "ignored"), self.not_images)):
            if items:
                lines.append(f"  {plural(len(items), one, many)}{f' ({why})' if why else ''}:")
                lines += [f"    {item}" for item in items[:20]]
                lines += [f"    … {len(items) - 20} more"] if len(items) > 20 else []
        if self.other_aspect:
            one = self.other_aspect == 1
            lines.append(f"  {plural(self.other_aspect, 'output')} {'has' if one else 'have'} another aspect ratio "
                         f"than {'its' if one else 'their'} input: the colours "
                         "were stretched over it (give outputs aligned with the whole input)")
        return "\n".join(lines)


def _keys(samples: list[dict], match: str) -> dict[str, list[str]]:
    """Name a file must have (without extension) -> the sample ids it would match."""
    keys: dict[str, list[str]] = {}
    for row in samples:
        key = row["id"] if match == "id" else Path(row.get("source") or row["id"]).stem
        keys.setdefault(key, []).append(row["id"])
    return keys


def match_files(folder: Path, samples: list[dict], match: str, report: ImportReport) -> dict[str, Path]:
    """sample id -> its file in ``folder`` (searched recursively); every other file goes into ``report``."""
    keys = _keys(samples, match)
    by_key: dict[str, list[Path]] = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".")):
        if not is_image_file(path):
            report.not_images.append(str(path))
            continue
        by_key.setdefault(path.stem, []).append(path)
    matched: dict[str, Path] = {}
    for key, paths in by_key.items():
        ids = keys.get(key)
        if not ids:
            close = difflib.get_close_matches(key, list(keys), n=1, cutoff=0.6)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            report.unmatched += [f"{p}{hint}" for p in paths]
        elif len(paths) > 1:
            report.ambiguous.append(f"{', '.join(map(str, paths))}: several files for image {ids[0]!r}; keep one")
        elif len(ids) > 1:
            report.ambiguous.append(f"{paths[0]}: {key!r} names {plural(len(ids), 'image')} of the run "
                                    f"({', '.join(ids[:3])}"
                                    f"{', …' if len(ids) > 3 else ''}); use --match id (file names = sample ids)")
        else:
            matched[ids[0]] = paths[0]
    return matched


@locks_run_folder("colorbench import")
def import_outputs(run_path, method: str, sources: Sequence[str | Path], *, match: str = "id", note: str = "",
                   l_merge: bool = True, family: str | None = None) -> ImportReport:
    """Add the images in ``sources`` (one folder per sample k) to the run as method ``method``; see the module
    docstring. ``l_merge=False`` keeps the files as they are (they must be at the input's size): for oracles and
    checks, not for comparing colorizers (their luminance then differs from the others'). ``family``: one of
    :data:`colorbench.methods.families.FAMILIES`, recorded in run.json for the report's family answer; None
    leaves the method out of that answer as family "unknown" (the report says so)."""
    from colorbench.methods import method_names
    from colorbench.run import write_output

    folder = RunFolder(run_path)
    if match not in MATCH_MODES:
        raise ImportRefused(f"--match {match!r}: choose id (files named <sample id>.<ext>) or filename "
                            f"(files named like the original images)")
    if family is not None:
        try:
            check_family(family, who=f"--family for imported method {method!r}")
        except ValueError as exc:
            raise ImportRefused(str(exc)) from None
    if not _SAFE_NAME.match(method):
        raise ImportRefused(f"--method {method!r}: a method name is a plain folder name (letters, digits, . _ + -)")
    if method in method_names():
        raise ImportRefused(f"--method {method!r} is one of colorbench's own methods; give the imported outputs "
                            f"their own name (e.g. {method}-external)")
    if not folder.samples_csv.exists() or not folder.run_json.exists():
        raise ImportRefused(f"{folder.path} is not a run folder (no samples.csv/run.json): make one first with "
                            f"`colorbench run --run NAME --methods gray` on the same images")
    if any(folder.output_path(method, "x").parent.glob("*.png")):
        raise ImportRefused(f"{folder.output_path(method, 'x').parent} already holds outputs of {method}: import "
                            f"under another --method name, or delete that folder and "
                            f"{folder.raw_path(method, 'x').parent} to import again")
    paths = [Path(s).expanduser() for s in sources]
    for path in paths:
        if not path.is_dir():
            raise ImportRefused(f"--from {path}: no such folder")
    ensure_writable(folder.path)
    samples = folder.read_samples()
    record = RunRecord.read(folder.run_json)  # before any work (the run-folder lock holds it current till the end)
    # the run's own choice for colours outside sRGB, so imported outputs are L-merged as its methods' were
    gamut = record.config.get("gamut") or "clip"
    report = ImportReport(method)
    provenance = []
    failures = []
    for k, source in enumerate(paths):
        matched = match_files(source, samples, match, report)
        hashes = {}
        for row in samples:
            sample_id = row["id"]
            label = RunFolder.output_stem(sample_id, k)
            path = matched.get(sample_id)
            if path is None:
                report.missing.append(label)
                failures.append({"method": method, "id": sample_id, "k": k,
                                 "error": f"imported: no file for this image in {source}"})
                continue
            try:
                rgb = load_image(path, fix="export it again from the tool that made it").rgb
                gray = read_gray(folder.gray_path(sample_id))
                h, w = gray.shape
                if abs((rgb.shape[1] / rgb.shape[0]) / (w / h) - 1) > 0.02:
                    report.other_aspect += 1
                write_output(folder, method, sample_id, k, gray, rgb, l_merge=l_merge, gamut=gamut)
            except (ImageLoadError, ValueError) as exc:
                report.unreadable.append(f"{path}: {getattr(exc, 'reason', exc)}")
                failures.append({"method": method, "id": sample_id, "k": k, "error": f"imported: {exc}"[:500]})
                continue
            hashes[label] = atomic.sha256_file(path)
            report.written += 1
        provenance.append({"folder": str(source.resolve()), "files_sha256": hashes})
    if failures:
        atomic.append_csv_rows(folder.failures_csv, failures, FAILURE_COLUMNS)
    problems = len(report.missing) + len(report.unreadable)
    if method not in record.methods:
        record.methods.append(method)
    record.method_status[method] = MethodStatus(
        status=MethodState.PARTIAL if problems else MethodState.DONE,
        reason=f"{plural(problems, 'output')} missing or unreadable (see failures.csv)" if problems else "",
        written=report.written, reused=0, failed=problems, samples_per_image=len(paths), family=family,
        imported={"from": provenance, "match": match, "note": note, "l_merged": l_merge, "at": now_iso(),
                  "unmatched": report.unmatched, "ambiguous": report.ambiguous, "not_images": report.not_images},
    )
    record.write(folder.run_json)
    return report

