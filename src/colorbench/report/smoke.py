"""A smoke run's label on every table and figure of its report.

A smoke run (``--smoke``: tiny untrained models) exercises every code path; its numbers say nothing about the
methods. The report's banner and the verdict's first sentence say so, but tables and figures travel alone — a
figure pasted into slides, ``tables/headline.md`` opened from the run folder — so each carries the label itself:
a table before its title (HTML, Markdown) and as a last column ``smoke`` of its CSV; a figure as the first line of
its title, in red (``figures/*.png``, ``*.svg``, a photo grid's ``*.jpg`` and the embedded copy alike), and in its
caption.

Usage (a sketch, not run by the doctests: it needs a report's content)::

    from colorbench.report.smoke import stamp_content
    stamp_content(content)      # build_content does this for a smoke run
"""

from __future__ import annotations

from matplotlib.figure import Figure

from colorbench.methods.base import SMOKE_LABEL
from colorbench.report.figures import title_placement

#: the one smoke label (methods, notebooks) as tables and figures head it: loud (the notebooks stamp it the same)
SMOKE_HEADING = SMOKE_LABEL.upper()
SMOKE_COLOR = "#b00020"


def stamp_figure(fig: Figure, stamp: str = SMOKE_HEADING) -> Figure:
    """Put ``stamp`` as the first line of the figure's title, in red. The title is the figure's own suptitle, so a
    constrained layout makes room for it and it stays inside the saved image whatever the saving options."""
    title = fig.get_suptitle()
    if stamp not in title:  # stamping twice (a section's figure built from a stamped one) adds nothing
        fig.suptitle(f"{stamp}\n{title}" if title else stamp, color=SMOKE_COLOR, fontweight="bold",
                     fontsize=10, **title_placement(fig))  # where the title was: suptitle would centre it again
    return fig


def stamp_content(content, stamp: str = SMOKE_HEADING) -> None:
    """Label every table, figure and figure caption of a report's content (its sections' included)."""
    for table in content.tables.values():
        table.smoke = stamp
    for name, fig in content.figures.items():
        stamp_figure(fig, stamp)
        caption = content.figure_captions.get(name, "")
        if not caption.startswith(stamp):
            content.figure_captions[name] = f"{stamp} — {caption}" if caption else stamp
