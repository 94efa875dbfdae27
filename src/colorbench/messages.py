"""Short forms of long messages, for lists and summaries (the full text, with its fix, is printed or kept once)."""

from __future__ import annotations


def one_line(reason: str, limit: int = 160) -> str:
    """The first sentence of a (possibly long, multi-line) skip or failure reason."""
    first = (str(reason).strip().splitlines() or [""])[0]
    # "weights 'x' are not available: downloading it failed (...). Put the file at ..." -> up to the first ". "
    cut = first.find(". ")
    first = first[:cut + 1] if cut > 0 else first
    return first if len(first) <= limit else first[:limit - 1].rstrip() + "…"
