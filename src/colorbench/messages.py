"""Short forms of long messages, for lists and summaries (the full text, with its fix, is printed or kept once)."""

from __future__ import annotations


def plural(n: int, word: str, many: str | None = None) -> str:
    """``n`` and ``word``, in the plural unless n is 1 (``many`` where adding "s" is wrong): the one wording of
    counts in messages.

    >>> plural(1, "image"), plural(3, "image"), plural(0, "method"), plural(2, "class", "classes")
    ('1 image', '3 images', '0 methods', '2 classes')
    """
    return f"{n} {word if n == 1 else many or word + 's'}"


def did_you_mean(name: str, choices) -> str:
    """" (did you mean 'x'?)" for the closest of ``choices`` to a mistyped ``name``, or "" when none is close.

    >>> did_you_mean("cnn-orignal", ["gray", "cnn-original", "eccv16"])
    " (did you mean 'cnn-original'?)"
    >>> did_you_mean("zzz", ["gray"])
    ''
    """
    import difflib

    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.75)
    return f" (did you mean {close[0]!r}?)" if close else ""


def aligned(rows: list[tuple[str, ...]], indent: str = "") -> list[str]:
    """``rows`` as lines whose columns are as wide as their widest cell, so a long name never pushes the columns
    after it out of line. A row's last cell is not padded (it may be long: a path, a reason), and a short row's last
    cell may span the columns it lacks. Two spaces part the columns: with one, a cell of several words ran into the
    next ("not in the Hugging Face cache size unknown").

    >>> aligned([("NAME", "STATE", "WHERE"), ("a-long-name", "ok", "/x"), ("b", "missing", "/y")])
    ['NAME         STATE    WHERE', 'a-long-name  ok       /x', 'b            missing  /y']
    """
    n_columns = max(len(row) for row in rows)
    widths = [max((len(row[i]) for row in rows if i < len(row) - 1), default=0) for i in range(n_columns - 1)]
    return [indent + "  ".join([*(cell.ljust(width) for cell, width in zip(row[:-1], widths)), row[-1]]).rstrip()
            for row in rows]


def one_line(reason: str, limit: int = 160) -> str:
    """The first sentence of a (possibly long, multi-line) skip or failure reason."""
    first = (str(reason).strip().splitlines() or [""])[0]
    # "weights 'x' are not available: downloading it failed (...). Put the file at ..." -> up to the first ". "
    cut = first.find(". ")
    first = first[:cut + 1] if cut > 0 else first
    return first if len(first) <= limit else first[:limit - 1].rstrip() + "…"


def weights_fetch_hint(reasons: list[str]) -> str | None:
    """What to type when weights could not be downloaded (offline, say): the one ``colorbench weights fetch`` command
    for all of them, and where to look when there is no network. None when no reason is about missing weights."""
    import re

    names = list(dict.fromkeys(m.group(1) for r in reasons for m in re.finditer(r"weights '([^']+)' are not available",
                                                                                  str(r))))
    if not names:
        return None
    return (f"to get the weights: `colorbench weights fetch {' '.join(names)}` where there is network access; "
            "offline, `colorbench weights list` says where each file goes (copy it there)")
