"""What is on this machine, without any network access: which file of an artefact is present and passes its check,
its state for ``colorbench weights list`` and the methods table, and where it came from (for reports)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from colorbench.weights.checks import check_content
from colorbench.weights.errors import WeightsUnavailable
from colorbench.weights.registry import SOURCE_URL, WeightSpec, local_path, source_files, source_of, spec_of


@dataclass(frozen=True)
class ArtefactState:
    """``label`` is short (a table column); ``detail`` says why or from where; ``text`` is both, as one line."""

    present: bool
    label: str
    detail: str = ""
    joiner: str = ": "

    @property
    def text(self) -> str:
        return f"{self.label}{self.joiner}{self.detail}" if self.detail else self.label


def hf_snapshot(spec: WeightSpec) -> Path | None:
    """The complete snapshot folder of an ``hf`` artefact in huggingface_hub's cache, or None (no network)."""
    try:
        from huggingface_hub import snapshot_download
    except ImportError:
        return None
    try:
        folder = Path(snapshot_download(spec.hf_repo, revision=spec.hf_revision,
                                        allow_patterns=list(spec.hf_allow_patterns or []) or None,
                                        local_files_only=True))
    except Exception:
        return None
    return folder if snapshot_complete(folder, spec.hf_allow_patterns) else None


def snapshot_complete(folder: Path, patterns: tuple[str, ...] | None) -> bool:
    """An interrupted download leaves a snapshot folder with some files missing: each pattern must match a file."""
    import fnmatch

    files = [p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file() or p.is_symlink()]
    if not files:
        return False
    return all(any(fnmatch.fnmatch(f, pattern) for f in files) for pattern in (patterns or ()))


def checked_file(spec_or_name: WeightSpec | str) -> tuple[str, Path] | None:
    """(source, file) of the first present file that passes its content check; None when no file is present.
    When files are present but none passes, the first one's :class:`WeightsUnavailable` (with the fix) is raised:
    a damaged file is never used, and never silently ignored either."""
    spec = spec_of(spec_or_name)
    failure = None
    for kind, candidate in source_files(spec):
        if candidate.is_file():
            try:
                check_content(spec, candidate)
                return kind, candidate
            except WeightsUnavailable as exc:
                failure = failure or exc
    if failure is not None:
        raise failure
    return None


def artefact_state(spec_or_name: WeightSpec | str) -> ArtefactState:
    """The artefact's state, without any network access. A file that fails its content check is not present."""
    spec = spec_of(spec_or_name)
    if spec.source == "hf":
        found = hf_snapshot(spec)
        if found is None:
            return ArtefactState(False, "not in the Hugging Face cache")
        return ArtefactState(True, "in Hugging Face cache", str(found))
    path = local_path(spec)
    if spec.unpack:
        present = path.is_dir() and any(path.iterdir())
        return ArtefactState(present, "unpacked" if present else "missing")
    try:
        found = checked_file(spec)
    except WeightsUnavailable as exc:
        return ArtefactState(False, "FAILS ITS CHECK", exc.reason)
    if found is None:
        return ArtefactState(False, "missing")
    kind, _path = found
    return ArtefactState(True, "present", "" if kind == SOURCE_URL else f"from {source_of(spec, kind).where}", ", ")


def status(spec_or_name: WeightSpec | str) -> tuple[bool, str]:
    """(present, human-readable state) without any network access (:func:`artefact_state` as a pair)."""
    state = artefact_state(spec_or_name)
    return state.present, state.text


def provenance(spec_or_name: WeightSpec | str) -> dict:
    """Where the artefact's present file came from and its sha256 (for metrics.json and reports); no network."""
    spec = spec_of(spec_or_name)
    found = checked_file(spec)
    if found is None:
        return {"file": str(local_path(spec)), "sha256": None, "source": None, "from": None}
    kind, path = found
    src = source_of(spec, kind)
    return {"file": str(path), "sha256": check_content(spec, path), "source": kind,
            "from": spec.url if kind == SOURCE_URL else f"{src.where}, {src.dist} sha256 {src.dist_sha256}, "
                                                        f"member sha256 {src.member_sha256}"}
