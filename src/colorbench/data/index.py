"""Dataset indexes: one :class:`DatasetIndex` type built from the Kaggle layout, any folder of images, or the
bundled samples; deterministic stratified subsets.

A dataset *name* ("samples", "sports", "auto", a path) is opened by :func:`colorbench.data.specs.open_dataset`.
"""

from __future__ import annotations

import csv
import hashlib
import os
import random
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace
from pathlib import Path

from colorbench.data.images import is_image_file
from colorbench.messages import plural
from colorbench.paths import data_dir, samples_dir

KAGGLE_CSV = "sports.csv"
KAGGLE_SPLITS = ("train", "valid", "test")


@dataclass(frozen=True)
class Sample:
    id: str  # file-system safe and unique within the index, stable across runs
    label: str | None
    class_id: int | None
    split: str | None
    path: Path


@dataclass(frozen=True)
class Problem:
    path: str
    reason: str
    split: str | None = None  # the split the file was listed in (Kaggle layout) or found under, when known
    id: str = ""  # the sample id the file would have had


class SampleIdCollision(ValueError):
    """Two files map to one sample id (and so to one output file); raised before any work, naming both."""


@dataclass
class DatasetIndex:
    name: str
    root: Path
    samples: list[Sample]
    problems: list[Problem] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.samples)

    def splits(self) -> list[str]:
        return sorted({s.split for s in self.samples if s.split is not None})

    def labels(self) -> list[str]:
        return sorted({s.label for s in self.samples if s.label is not None})

    def unreadable(self, *, progress: bool = False) -> list[tuple[Path, str]]:
        """Images that are listed and present but that the one loader rejects — those ``run`` skips. Decodes
        every present file (seconds for a few hundred images)."""
        from tqdm.auto import tqdm

        from colorbench.data.images import ImageLoadError, load_image

        bad = []
        for sample in tqdm(self.samples, desc="checking images", unit="img", disable=not progress):
            if not sample.path.is_file():
                continue  # a missing file is already one of the index's problems
            try:
                load_image(sample.path)
            except ImageLoadError as exc:
                bad.append((sample.path, exc.reason))
        return bad

    def missing_by_split(self) -> dict[str, int]:
        """Files the dataset's csv lists but that are absent, per top-level folder (split)."""
        counts: Counter[str] = Counter()
        for p in self.problems:
            if p.reason.endswith("missing"):
                rel = Path(p.path).relative_to(self.root) if Path(p.path).is_relative_to(self.root) else Path(p.path)
                counts[rel.parts[0]] += 1
        return dict(counts)

    def counts(self) -> dict[tuple[str | None, str | None], int]:
        """Number of samples per (split, label)."""
        return dict(Counter((s.split, s.label) for s in self.samples))

    def subset(
        self,
        *,
        split: str | None = None,
        n_per_class: int | None = None,
        limit: int | None = None,
        seed: int = 0,
    ) -> "DatasetIndex":
        """A deterministic, stratified subset.

        ``split`` keeps one split (an index without splits ignores it only when ``split`` is None or the index
        has no split information at all). ``n_per_class`` draws that many per label with a seeded shuffle;
        ``limit`` then caps the total, taking classes round-robin so the cap stays balanced.
        """
        samples = self.samples
        if split is not None:
            if any(s.split is not None for s in samples):
                samples = [s for s in samples if s.split == split]
                if not samples:
                    missing = self.missing_by_split().get(split)
                    why = (f": the csv lists {plural(missing, f'{split} image')} but none is under {self.root / split} "
                           f"(an incomplete copy? `colorbench data download --force` fetches it again)"
                           if missing else "")
                    raise ValueError(f"dataset {self.name!r} has no samples in split {split!r}{why}; "
                                     f"splits present: {self.splits()}")
        by_label: dict[str | None, list[Sample]] = defaultdict(list)
        for s in sorted(samples, key=lambda s: s.id):
            by_label[s.label].append(s)
        rng = random.Random(seed)
        groups = []
        for label in sorted(by_label, key=lambda x: (x is None, x or "")):
            group = list(by_label[label])
            rng.shuffle(group)
            groups.append(group[:n_per_class] if n_per_class else group)
        chosen: list[Sample] = []
        for rank in range(max((len(g) for g in groups), default=0)):  # round-robin across classes
            chosen.extend(g[rank] for g in groups if rank < len(g))
        if limit is not None:
            chosen = chosen[:limit]
        chosen.sort(key=lambda s: (s.split or "", s.label or "", s.id))
        # the files of this split that could not be listed as samples stay reported (a run lists them as skipped)
        problems = [p for p in self.problems if split is None or p.split in (None, split)]
        return replace(self, samples=chosen, problems=problems)


# ------------------------------------------------------------------------------------------------- sample ids
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def sample_id_from_relpath(relpath: str | os.PathLike) -> str:
    """``test/air hockey/1.jpg`` -> ``test_air-hockey_1``: readable, file-system safe, stable."""
    parts = Path(relpath).with_suffix("").parts
    return "_".join(_UNSAFE.sub("-", p).strip("-") or "x" for p in parts)


def _unique_ids(relpaths: list[str], where: str | os.PathLike = "") -> list[str]:
    """One id per file, unique by construction and stable across runs (resume finds outputs by id).

    An id that several files share (``a b.jpg`` and ``a-b.png`` both give ``a-b``) gets ``~`` and a hash of the file's
    own relative path. ``~`` is outside the alphabet of :func:`sample_id_from_relpath`, so a suffixed id can never equal
    another file's plain id (a counter suffix like ``-1`` could: ``a-b-1.jpg``). Ids are compared case-insensitively
    because on macOS and Windows ``A.png`` and ``a.png`` are one output file. Two rows naming the same file (a csv
    listing it twice) cannot be told apart: :class:`SampleIdCollision` names them.
    """
    ids = [sample_id_from_relpath(r) for r in relpaths]
    shared = {key for key, n in Counter(i.lower() for i in ids).items() if n > 1}
    out = [f"{i}~{_path_hash(r)}" if i.lower() in shared else i for i, r in zip(ids, relpaths)]
    for key, n in Counter(i.lower() for i in out).items():
        if n > 1:
            names = [str(r) for i, r in zip(out, relpaths) if i.lower() == key]
            raise SampleIdCollision(
                f"{where}: {' and '.join(repr(n) for n in names)} map to the same sample id {key!r}, so their "
                "outputs would overwrite each other: remove the duplicate (or rename one file) and rerun")
    return out


def _path_hash(relpath: str | os.PathLike) -> str:
    return hashlib.sha256(Path(relpath).as_posix().encode("utf-8")).hexdigest()[:8]


# ------------------------------------------------------------------------------------------------- builders
def index_kaggle(root: str | os.PathLike, name: str = "sports") -> DatasetIndex:
    """Index the Kaggle "100 Sports Image Classification" layout: ``sports.csv`` + ``train/ valid/ test/``.

    Rows whose file is absent are reported as problems (a partial copy is still usable), not fatal.
    """
    root = Path(root)
    csv_path = root / KAGGLE_CSV
    if not csv_path.is_file():
        raise FileNotFoundError(f"{csv_path} not found: not a Kaggle sports dataset folder (expected {KAGGLE_CSV} "
                                "next to train/ valid/ test/); run `colorbench data download` or pass a "
                                "folder of images")
    with open(csv_path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    required = {"class id", "filepaths", "labels", "data set"}
    if not rows or not required <= set(rows[0]):
        raise ValueError(f"{csv_path}: expected columns {sorted(required)}, found "
                         f"{sorted(rows[0]) if rows else 'none'}")
    samples, problems = [], []
    ids = _unique_ids([r["filepaths"] for r in rows], where=csv_path)
    for row, sample_id in zip(rows, ids):
        path = root / row["filepaths"]
        split = row["data set"].strip()
        if not is_image_file(path):
            problems.append(Problem(str(path), "listed in sports.csv but not an image file; ignored", split, sample_id))
            continue
        if not path.is_file():
            problems.append(Problem(str(path), f"listed in sports.csv but {_why_not_a_file(path)}", split, sample_id))
            continue
        samples.append(Sample(sample_id, row["labels"].strip(), int(row["class id"]), split, path))
    return DatasetIndex(name, root, samples, problems)


def index_folder(root: str | os.PathLike, name: str | None = None) -> DatasetIndex:
    """Index any folder of images, recursively. Label = the immediate sub-folder's name (None at the top level).

    If the first-level folders are ``train``/``valid``/``test``, they are taken as splits and the label is the
    folder below them.
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"{root} is not a folder of images")
    candidates = sorted(p for p in root.rglob("*") if is_image_file(p) and not p.name.startswith("."))
    files = [p for p in candidates if p.is_file()]
    broken = [p for p in candidates if not p.is_file() and p.is_symlink()]  # loops and dangling links
    if not files:
        links = f"; {len(broken)} broken links, e.g. {broken[0]}: {_why_not_a_file(broken[0])}" if broken else ""
        raise ValueError(f"{root} contains no images "
                         f"({', '.join(sorted({'.jpg', '.png', '.bmp', '.tif', '.webp'}))} ...){links}")
    rels = [p.relative_to(root) for p in files]
    has_splits = all(len(r.parts) >= 2 and r.parts[0] in KAGGLE_SPLITS for r in rels)
    labels = []
    for r in rels:
        parts = r.parts[1:] if has_splits else r.parts
        labels.append(parts[-2] if len(parts) >= 2 else None)
    class_ids = {label: i for i, label in enumerate(sorted({name for name in labels if name is not None}))}
    samples = [
        Sample(sid, label, class_ids.get(label), r.parts[0] if has_splits else None, p)
        for sid, label, r, p in zip(_unique_ids([str(r) for r in rels], where=root), labels, rels, files)
    ]
    # a broken link's id only names it in skipped.csv: it must not change the ids of the files that can be read
    problems = [Problem(str(p), _why_not_a_file(p), _split_of(p.relative_to(root)) if has_splits else None,
                        sample_id_from_relpath(p.relative_to(root))) for p in broken]
    return DatasetIndex(name or root.name, root, samples, problems)


def _why_not_a_file(path: Path) -> str:
    """Why a listed or linked image cannot be read as a file, in words that say what to fix."""
    if path.is_symlink():
        try:
            path.resolve(strict=True)
        except FileNotFoundError:
            return f"a dangling symbolic link (to {os.readlink(path)}, which does not exist); fix or remove the link"
        except (RuntimeError, OSError):  # Python < 3.13 raises RuntimeError for a loop, later versions OSError
            return "a symbolic link loop; fix or remove the link"
        return "a symbolic link to something that is not a file"
    if path.exists():
        return "not a regular file (a folder?)"
    return "missing"


def _split_of(relpath: Path) -> str | None:
    return relpath.parts[0] if len(relpath.parts) >= 2 and relpath.parts[0] in KAGGLE_SPLITS else None


def index_samples() -> DatasetIndex:
    """The small bundled default: real colour photos shipped in ``data/samples/`` (provenance in its README)."""
    root = samples_dir()
    if not root.is_dir():
        raise FileNotFoundError(f"bundled samples not found at {root}; are you running from a colorbench checkout?")
    return index_folder(root, name="samples")


def sports_dir() -> Path:
    return data_dir() / "sports"


def describe_classes(n: int) -> str:
    """"1 class", "5 classes", or "no classes" (images straight in the folder): the one wording of `data info` and
    the report."""
    return "no classes (images directly in the folder)" if n == 0 else plural(n, "class", "classes")
