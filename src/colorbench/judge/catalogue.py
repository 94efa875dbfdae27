"""What of a run folder can be judged: its methods, each method's samples per image, the images every method
produced, and which of them have a true-colour image (read through :class:`colorbench.runfolder.RunFolder`).

Usage (a sketch, not run by the doctests: it needs a run folder)::

    from colorbench.judge.catalogue import Catalogue
    cat = Catalogue.from_run("results/demo")
    cat.methods, len(cat.pair_images), cat.samples["coltran"]["air-hockey-1"]   # -> [...], 12, [0, 1, 2]
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from colorbench.runfolder import RunFolder, resolve_run


class NothingToJudge(ValueError):
    """The run cannot be judged as it is; the message says why and what to do."""


@dataclass
class Catalogue:
    run: RunFolder
    methods: list[str]
    samples: dict[str, dict[str, list[int]]]  # method -> image id -> sample indices present
    pair_images: list[str]  # images with a gray input and an output of every method (never one with a gap)
    truth_images: list[str] = field(default_factory=list)  # pair_images that have a true-colour image
    skipped_images: dict[str, str] = field(default_factory=dict)  # image id -> why it is never shown

    @classmethod
    def from_run(cls, run_name_or_path, *, mode: str = "pair") -> "Catalogue":
        run = RunFolder(resolve_run(run_name_or_path))
        images_dir = run.path / "images"
        methods = run.methods() if images_dir.is_dir() else []
        if not methods:
            raise NothingToJudge(f"{run.path} has no method outputs (no {images_dir}/<method>/ folders): run the "
                                 f"methods first (`colorbench run --run {run.path.name}`)")
        samples: dict[str, dict[str, list[int]]] = {}
        for method in methods:
            found: dict[str, list[int]] = {}
            for path in sorted((images_dir / method).glob("*.png")):
                parsed = RunFolder.parse_output_name(path.name)
                if parsed:
                    found.setdefault(parsed[0], []).append(parsed[1])
            samples[method] = {i: sorted(ks) for i, ks in found.items()}
        ids = sorted(set().union(*(set(s) for s in samples.values())))
        pair_images, skipped = [], {}
        for image_id in ids:
            absent = [m for m in methods if image_id not in samples[m]]
            if absent:
                skipped[image_id] = f"no output of {', '.join(absent)}"
            elif not run.gray_path(image_id).exists():
                skipped[image_id] = "no gray input"
            else:
                pair_images.append(image_id)
        truth_images = [i for i in pair_images if run.truth_path(i).exists()]
        cat = cls(run, methods, samples, pair_images, truth_images, skipped)
        cat.check(mode)
        return cat

    def check(self, mode: str) -> None:
        if mode == "pair" and len(self.methods) < 2:
            raise NothingToJudge(f"{self.run.path} has one method only ({self.methods[0]}): nothing to compare — "
                                 "add another method to the run, or use --mode real-or-fake")
        if not self.pair_images:
            example = next(iter(self.skipped_images.items()), "")
            raise NothingToJudge(f"{self.run.path}: no image has an output of every method "
                                 f"({len(self.skipped_images)} skipped, e.g. {example})")
        if mode == "real-or-fake" and not self.truth_images:
            raise NothingToJudge(f"{self.run.path} has no true-colour images (inputs/truth/): real-or-fake mode needs "
                                 "them to mix in; use the pair mode")

    def image_path(self, method: str, image_id: str, k: int) -> Path:
        from colorbench.judge.store import TRUTH

        return self.run.truth_path(image_id) if method == TRUTH else self.run.output_path(method, image_id, k)
