"""What every notebook display is made of: :class:`Html` (HTML for Jupyter, text for a console), loud banners,
the smoke stamp, and :func:`display_or_print` (display in a notebook, print elsewhere)."""

from __future__ import annotations

import html
from typing import Any

from colorbench.methods.base import SMOKE_LABEL

SMOKE_STAMP = SMOKE_LABEL  # one stamp for notebooks, methods and the report


class Html:
    """A piece of HTML that Jupyter displays as HTML and a console prints as text."""

    def __init__(self, html_text: str, text: str):
        self.html = html_text
        self.text = text

    def _repr_html_(self) -> str:
        return self.html

    def __repr__(self) -> str:
        return self.text

    def __str__(self) -> str:
        return self.text


def banner(message: str, *, kind: str = "warning") -> Html:
    """A loud box (``kind``: warning | error | info) that survives export to HTML."""
    colours = {"warning": ("#fff3cd", "#8a6d00", "#e0a800"), "error": ("#f8d7da", "#721c24", "#dc3545"),
               "info": ("#e7f1ff", "#084298", "#6ea8fe")}
    bg, fg, border = colours.get(kind, colours["info"])
    box = (f'<div class="colorbench-banner colorbench-{kind}" style="background:{bg};color:{fg};'
           f'border:3px solid {border};border-radius:6px;padding:12px 16px;margin:8px 0;font-size:1.15em;'
           f'font-weight:600">{html.escape(message)}</div>')
    return Html(box, f"[{kind.upper()}] {message}")


def smoke_banner() -> Html:
    return banner(f"SMOKE RUN — {SMOKE_STAMP}. Tiny randomly initialised models and the bundled samples exercise "
                  "every code path; nothing here says anything about the methods.", kind="error")


def stamp(caption: str, smoke: bool) -> str:
    # a smoke report's own captions carry the stamp already (colorbench.report.smoke): once is enough
    return f"{caption} — {SMOKE_STAMP.upper()}" if smoke and SMOKE_STAMP.upper() not in caption else caption


def display_or_print(obj: Any) -> None:
    """Display in a notebook, print in a console."""
    try:
        from IPython import get_ipython
        from IPython.display import display

        if get_ipython() is not None:
            display(obj)
            return
    except ImportError:
        pass
    print(obj)
