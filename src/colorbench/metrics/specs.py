"""The metrics colorbench reports, as one list of specifications: the one place a metric is declared.

Torch-free (it is data): the scorer, ``metrics.csv``'s columns, the report's aggregates, tables, figures and
verdict, and the eye test's metric agreement all read :data:`METRIC_SPECS`, so a metric's name, label, unit,
decimals and direction are written once. torchmetrics keeps ``higher_is_better`` on the metric for the same reason.

Adding a metric = one :class:`MetricSpec` here plus its function: a per-image metric (``kind="image"``) is
computed by the function of the same name in :data:`colorbench.metrics.scorer.METRIC_FUNCTIONS` (a test holds the two
lists to each other); the report then shows its mean with a CI, its paired tests (``compared=True``), its bars.

``aggregate`` says how per-output values become the report's number:

* ``"mean"`` — mean over a stochastic method's K samples per image (mean-of-K), then over images with a
  percentile-bootstrap CI;
* ``"best_of_k"`` — the minimum over the K samples per image (an oracle pick), then the mean over images;
* ``"gap_of_means"`` — |mean over images of the outputs' value − mean of the truths'| (ΔCF);
* ``"set"`` — one value per method over the whole set of images (FID), not a mean of per-image values.

``gather`` says what ranks of a ``torchrun`` scoring send to rank 0: ``"rows"`` (per-image values, concatenated)
or ``"features"`` (Inception features, from which rank 0 computes the set metric once).

Example::

    >>> from colorbench.metrics.specs import SPECS
    >>> SPECS["psnr"].heading, SPECS["psnr"].decimals, SPECS["psnr"].lower_is_better
    ('PSNR (dB) ↑', 2, False)
    >>> [s.name for s in METRIC_SPECS if s.compared]
    ['lpips', 'psnr', 'ssim', 'delta_e2000']
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class MetricSpec:
    name: str  # the key everywhere: metrics.csv column, table columns (``<name>_mean``), figure names
    label: str  # plain name for sentences ("LPIPS"); :attr:`heading` adds the unit and the arrow for tables
    decimals: int  # shown in tables and the verdict (CSVs keep full precision)
    lower_is_better: bool | None  # None: no better direction (colourfulness: closeness to the truth's is ΔCF)
    unit: str = ""
    kind: Literal["image", "derived", "set"] = "image"  # image: a column of metrics.csv, scored per output image
    aggregate: Literal["mean", "best_of_k", "gap_of_means", "set"] = "mean"
    gather: Literal["rows", "features"] = "rows"
    compared: bool = False  # a quality metric: paired tests, win rates, the verdict's agreement
    reported: bool = True  # a column of the headline table (colorfulness_truth is only a reference in its notes)

    @property
    def heading(self) -> str:
        """The table/axis label: name, unit and direction, e.g. "PSNR (dB) ↑"."""
        unit = f" ({self.unit})" if self.unit else ""
        arrow = {True: " ↓", False: " ↑", None: ""}[self.lower_is_better]
        return f"{self.label}{unit}{arrow}"


METRIC_SPECS: tuple[MetricSpec, ...] = (
    MetricSpec("lpips", "LPIPS", 4, True, compared=True),
    MetricSpec("psnr", "PSNR", 2, False, unit="dB", compared=True),
    MetricSpec("ssim", "SSIM", 4, False, compared=True),
    MetricSpec("delta_e2000", "ΔE2000", 2, True, compared=True),
    MetricSpec("colorfulness", "Colourfulness", 1, None),
    MetricSpec("colorfulness_truth", "Truth colourfulness", 1, None, reported=False),
    MetricSpec("delta_cf", "ΔCF", 2, True, kind="derived", aggregate="gap_of_means"),
    MetricSpec("fid", "FID", 2, True, kind="set", aggregate="set", gather="features"),
    MetricSpec("lpips_best_of_k", "best-of-K LPIPS", 4, True, kind="derived", aggregate="best_of_k"),
)
#: by name
SPECS: dict[str, MetricSpec] = {s.name: s for s in METRIC_SPECS}
#: the per-image columns of metrics.csv, in order
IMAGE_METRICS: tuple[str, ...] = tuple(s.name for s in METRIC_SPECS if s.kind == "image")
#: quality metrics compared pair by pair (paired tests, win rates), headline first
COMPARED_METRICS: tuple[str, ...] = tuple(s.name for s in METRIC_SPECS if s.compared)
#: per-image metrics with a mean and CI per method (the headline table's columns)
SUMMARISED_METRICS: tuple[str, ...] = tuple(s.name for s in METRIC_SPECS if s.kind == "image" and s.reported)
#: metric -> True when lower is better (None: no direction)
LOWER_IS_BETTER: dict[str, bool | None] = {s.name: s.lower_is_better for s in METRIC_SPECS}


def spec(name: str) -> MetricSpec:
    """The spec of metric ``name``; an unknown name is an error listing the known ones."""
    try:
        return SPECS[name]
    except KeyError:
        raise KeyError(f"unknown metric {name!r}; colorbench.metrics.specs declares: {', '.join(SPECS)}") from None


def heading(name: str) -> str:
    """Table label of ``name`` (the name itself for a column that is not a metric)."""
    return SPECS[name].heading if name in SPECS else name


def decimals(name: str, default: int = 3) -> int:
    return SPECS[name].decimals if name in SPECS else default


def label(name: str) -> str:
    """Plain name for sentences (the name itself for a column that is not a metric)."""
    return SPECS[name].label if name in SPECS else name
