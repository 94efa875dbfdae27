"""Report sections as data: an id, a title, a ``build`` step and a ``render`` step, registered in one list.

The report's page is the sections in ``order``: its core ones (:data:`colorbench.report.html.CORE_SECTIONS`), each
module of this package (found by listing the package: adding a section = one module here that calls
:func:`register_section`), and sections other packages declare in the ``colorbench.report_sections`` entry-point
group. The eye test is one of those: ``colorbench.judge`` sits above the report (it uses the report's tables), so it
registers its section through its entry point and the report never imports it — no import from a lower layer to a
higher one, no cycle. (An editable install records entry points when it is installed: ``make setup`` reinstalls
when pyproject.toml changes.)

``build(content, options)`` runs inside :func:`colorbench.report.build_content`: it computes what the section
shows and puts it into the content — tables into ``content.tables`` and figures into ``content.figures`` (written
to ``tables/`` and ``figures/`` and embedded like the report's own), anything else into
``content.section_data[id]``. ``render(content, page)`` returns the section's HTML (``page.figure(name)`` embeds a
figure the way the report does); None leaves the section, and its link, out.

Usage (a sketch, not run by the doctests: registering adds a section to every later report)::

    from colorbench.messages import plural
    from colorbench.report.sections import Section, register_section

    def _render(content, page):
        return f"<p>{plural(len(content.verdict.ran), 'method')} ran.</p>"

    SECTION = register_section(Section("count", "How many ran", render=_render, order=85))
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
from dataclasses import dataclass
from typing import Callable

ENTRY_POINT_GROUP = "colorbench.report_sections"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Section:
    id: str  # the HTML anchor (``<section id=...>``, ``#id`` in the navigation)
    title: str
    render: Callable[..., str | None]  # (content, page) -> HTML; None leaves the section out
    build: Callable[..., None] | None = None  # (content, options): adds tables, figures, section_data
    order: int = 50  # position on the page: core sections are 10 (protocol) … 80 (coverage)


_REGISTERED: dict[str, Section] = {}


def register_section(section: Section) -> Section:
    """Add ``section`` to the report (a section with the same id is replaced: re-importing a module is harmless)."""
    _REGISTERED[section.id] = section
    return section


def report_sections(core: tuple[Section, ...] = ()) -> list[Section]:
    """Every section of the report in page order: ``core``, this package's modules, the entry-point group's."""
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")
    _load_entry_points()
    found = {s.id: s for s in core}
    clash = set(found) & set(_REGISTERED)
    if clash:
        raise ValueError(f"report sections {sorted(clash)} are registered twice (core and a module): "
                         "give the module's section another id")
    return sorted([*found.values(), *_REGISTERED.values()], key=lambda s: s.order)


def _load_entry_points() -> None:
    from importlib.metadata import entry_points

    for point in entry_points(group=ENTRY_POINT_GROUP):
        try:
            section = point.load()
        except Exception as exc:  # noqa: BLE001 — a broken plug-in must not cost the whole report
            log.warning("report section %r (entry point %s) could not be loaded: %s", point.name, point.value, exc)
            continue
        if not isinstance(section, Section):
            log.warning("entry point %s = %s is not a colorbench.report.sections.Section: left out", point.name,
                        point.value)
            continue
        register_section(section)
