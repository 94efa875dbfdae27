"""Styled tables for the notebooks: numbers rounded, best values marked, captions stamped in smoke runs."""

from __future__ import annotations

from typing import Iterable

from colorbench.notebook.render import stamp


def styled(
    df,
    *,
    caption: str | None = None,
    smoke: bool = False,
    precision: int = 4,
    lower_is_better: Iterable[str] = (),
    higher_is_better: Iterable[str] = (),
):
    """A pandas Styler for a DataFrame (or a list of row dicts): numbers at ``precision``, best value per named
    column in bold green, caption stamped in smoke runs. Columns named but absent are ignored (tables differ by what
    a run produced)."""
    import pandas as pd

    if not isinstance(df, pd.DataFrame):  # a list of row dicts, as several package helpers return
        df = pd.DataFrame(list(df))
    styler = df.style.format(precision=precision, na_rep="—")
    if isinstance(df.index, pd.RangeIndex):  # a row counter says nothing
        styler = styler.hide(axis="index")
    best = "font-weight:bold;color:#0a7d32"
    low = [c for c in lower_is_better if c in df.columns]
    high = [c for c in higher_is_better if c in df.columns]
    if low:
        styler = styler.highlight_min(subset=low, props=best)
    if high:
        styler = styler.highlight_max(subset=high, props=best)
    if caption or smoke:
        styler = styler.set_caption(stamp(caption or "", smoke))
        styler = styler.set_table_styles([{"selector": "caption",
                                           "props": "caption-side:top;font-weight:600;text-align:left"}],
                                         overwrite=False)
    return styler
