"""Resume safety: a run folder's images are reused only when they were made the way this command would make them.

Resume reuses every image that exists, so the runner refuses, before any work, a smoke run in a real run's folder
(and the other way round), another dataset, and a method whose images were made with other options, another seed
(stochastic methods) or another gamut. :func:`made_with` is what run.json records per method for that check (and
``colorbench merge`` compares).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

from colorbench.config import RunConfig
from colorbench.methods import method_class
from colorbench.methods.options import option_defaults, speed_only_names
from colorbench.methods.registry import typed_options
from colorbench.records import RunRecord
from colorbench.runfolder import RunFolder


def made_with(name: str, cfg: RunConfig, options: dict | None = None) -> dict:
    """What a method's images depend on besides the input: its options (except those its options dataclass marks
    speed-only, and those given at their default) and, if it is stochastic, the run seed. ``options``: the method's,
    as :func:`colorbench.run.options_for` gives them (asked here when not given)."""
    options_cls = method_class(name).Options  # ImportError: check_resume leaves a method that cannot run alone
    defaults, speed = option_defaults(options_cls), speed_only_names(options_cls)
    given = typed_options(name, cfg.method_options) if options is None else options
    options = {k: v for k, v in given.items()
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
                 dataset_root: Path, options: dict[str, dict] | None = None) -> None:
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
            now = made_with(name, cfg, None if options is None else options[name])
        except ImportError:
            continue  # cannot run here at all: it will be skipped with the reason, its images left alone
        if made == now:
            continue
        changed = "; ".join(f"{key} {made.get(key)!r} -> {now.get(key)!r}" for key in sorted({*made, *now})
                            if made.get(key) != now.get(key))
        raise ValueError(f"{images} was made with other settings ({changed}); resuming would label those images "
                         f"with this command's settings: choose another --run name, or delete {images} and "
                         f"{folder.raw_path(name, 'x').parent} to redo {name}")
