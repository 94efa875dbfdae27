"""The run configuration: one dataclass with defaults, loadable from YAML, overridable by CLI flags and
papermill parameters.

Example (``RunConfig.from_yaml("my_run.yaml")`` reads the same fields from YAML)::

    >>> cfg = RunConfig(run="mine").override(batch_size=16, seed=None)   # None: an unset CLI flag, ignored
    >>> cfg.run, cfg.batch_size, cfg.seed
    ('mine', 16, 0)
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

AUTO_METHODS = "auto"  # every registered method whose weights can be had
SMOKE_RUN = "demo-smoke"  # the run name a smoke run gets when none is given: never the real runs' folder


_SCIENTIFIC = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+")


def _scientific_to_float(value: Any) -> Any:
    return float(value) if isinstance(value, str) and _SCIENTIFIC.fullmatch(value.strip()) else value


@dataclass
class RunConfig:
    run: str = "demo"  # run folder name under results/
    dataset: str = "samples"  # "samples" (bundled), "sports" (Kaggle download) or a folder path
    split: str | None = "test"  # ignored for datasets without splits (the bundled samples)
    n_per_class: int | None = None  # stratified: this many images per class
    limit: int | None = None  # cap on the number of images (balanced across classes)
    methods: list[str] = field(default_factory=lambda: [AUTO_METHODS])
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    # images per colorize call (a timings.csv row, a retry unit, a shard's share); None: each method's own
    # batch_size option, its measured-best batch on a GPU (see colorbench.run.colorize_batch_size)
    batch_size: int | None = None
    seed: int = 0
    samples_per_image: int = 1  # K outputs per image for stochastic methods (best-of-K / mean-of-K scoring)
    method_options: dict[str, dict[str, Any]] = field(default_factory=dict)  # e.g. {"coltran": {"mode": "argmax"}}
    smoke: bool = False  # tiny untrained models: exercises every code path, numbers meaningless
    # L-merge of out-of-sRGB colours: "clip" (the literature's way; moves L) or "chroma" (keeps L and hue, gives up
    # chroma); see colorbench.color.merge_luminance for the measured difference
    gamut: str = "clip"
    results_dir: str | None = None  # default: $COLORBENCH_RESULTS or results/
    max_pixels: int | None = None  # largest input accepted; default: Pillow's decompression-bomb guard (~89 MP)

    def __post_init__(self) -> None:
        if not isinstance(self.method_options or {}, dict) or not all(
                isinstance(o or {}, dict) for o in (self.method_options or {}).values()):
            raise ValueError(f"method_options must map method names to {{option: value}}, e.g. "
                             f"{{'eccv16': {{'temperature': 0.1}}}}; got {self.method_options!r}")
        # YAML 1.1 (PyYAML) reads 1e-3 as a string; a method would reject it with a cryptic type error
        self.method_options = {m: {k: _scientific_to_float(v) for k, v in (opts or {}).items()}
                               for m, opts in (self.method_options or {}).items()}
        if isinstance(self.methods, str):
            self.methods = [m.strip() for m in self.methods.split(",") if m.strip()]
        from colorbench.color import GAMUT_MODES

        if self.gamut not in GAMUT_MODES:
            raise ValueError(f"gamut must be one of {', '.join(GAMUT_MODES)}, got {self.gamut!r}")
        if self.batch_size is not None and self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {self.batch_size}")
        if self.samples_per_image < 1:
            raise ValueError(f"samples_per_image must be >= 1, got {self.samples_per_image}")
        for name in ("n_per_class", "limit"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"{name} must be >= 1 (or unset), got {value}")
        if not self.run or "/" in self.run or self.run.startswith("."):
            raise ValueError(f"run name {self.run!r} must be a plain folder name (it goes under results/); to put "
                             f"run folders elsewhere set COLORBENCH_RESULTS (or results_dir in a --config file)")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "RunConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown config keys {unknown}; known keys: {sorted(known)}")
        return cls(**data)

    @classmethod
    def from_yaml(cls, path: str | Path) -> "RunConfig":
        import yaml

        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"config file {path} not found (give --config a YAML file of RunConfig keys)")
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            where = getattr(exc, "problem_mark", None)
            line = f" at line {where.line + 1}" if where is not None else ""
            raise ValueError(f"{path}: not valid YAML{line} ({getattr(exc, 'problem', None) or exc}); "
                             f"fix the file (keys: {', '.join(f.name for f in dataclasses.fields(cls))})") from None
        if not isinstance(data, dict):
            raise ValueError(f"{path}: expected a mapping of config keys, got {type(data).__name__}")
        return cls.from_dict(data)

    def override(self, **changes: Any) -> "RunConfig":
        """A copy with the given fields replaced; ``None`` values are ignored (unset CLI flags)."""
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def run_path(self) -> Path:
        from colorbench.paths import results_dir

        return (Path(self.results_dir) if self.results_dir else results_dir()) / self.run
