"""The families colorbench compares — the question it answers is asked per family (DESIGN.md: "each family should be
represented by its strongest open model, and the report answers per family as well as per method").

Torch-free data: methods declare one of :data:`FAMILIES` as their ``family`` class attribute, run.json records it
per method, ``colorbench import --family`` gives one to outside outputs, and the report's family answer and figure
colours read it. :data:`FAMILY_COLORS` is the one palette of families (figures, the family table).

Example::

    >>> check_family("cnn", who="cnn-original")
    'cnn'
    >>> check_family("CNN", who="x")
    Traceback (most recent call last):
    ...
    ValueError: x: family 'CNN' is not one of floor, cnn, transformer, diffusion
"""

from __future__ import annotations

#: the baseline every colorizer must beat (the gray input), then the three families under comparison
FAMILIES: tuple[str, ...] = ("floor", "cnn", "transformer", "diffusion")
#: families whose answer the report gives (the floor is the reference, not a contender)
CONTENDERS: tuple[str, ...] = FAMILIES[1:]
#: names for sentences and tables
FAMILY_LABELS = {"floor": "floor", "cnn": "CNN", "transformer": "transformer", "diffusion": "diffusion"}
#: one colour per family (colour-blind-safe Okabe–Ito hues; the floor neutral gray), for every figure
FAMILY_COLORS = {"floor": "#8C8C8C", "cnn": "#0072B2", "transformer": "#E69F00", "diffusion": "#009E73"}
#: what an imported method or an old run.json without a family is: shown as such, never guessed
UNKNOWN = "unknown"
UNKNOWN_COLOR = "#CC79A7"


def check_family(family: str, *, who: str) -> str:
    """``family`` when it is one of :data:`FAMILIES`; otherwise a ValueError naming ``who`` and the choices."""
    if family not in FAMILIES:
        raise ValueError(f"{who}: family {family!r} is not one of {', '.join(FAMILIES)}")
    return family


def family_color(family: str | None) -> str:
    return FAMILY_COLORS.get(family or UNKNOWN, UNKNOWN_COLOR)
