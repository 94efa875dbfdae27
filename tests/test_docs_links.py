"""Every relative link and image in README.md, docs/ and the READMEs details moved to (benchmarks/, results/) points
at something that exists: a file or folder of the checkout, and, for a link into a Markdown file with ``#anchor``, a
heading of that file (GitHub's anchor rules)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import PROJECT_ROOT

# [text](target) and ![alt](target); the text may wrap over lines; an optional "title" after the target
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)", re.S)
HTML_SRC = re.compile(r"<(?:img|a)\b[^>]*\b(?:src|href)=\"([^\"]+)\"", re.I)
FENCE = re.compile(r"^(```|~~~).*?^\1", re.S | re.M)
EXTERNAL = ("http://", "https://", "mailto:")


def markdown_files() -> list[Path]:
    return [PROJECT_ROOT / "README.md", *sorted((PROJECT_ROOT / "docs").rglob("*.md")),
            PROJECT_ROOT / "benchmarks" / "README.md", PROJECT_ROOT / "results" / "README.md"]


def links(text: str) -> list[str]:
    """Link and image targets outside code blocks and code spans (a command's `[x](y)` is not a link)."""
    prose = FENCE.sub("", text)
    prose = re.sub(r"^(?: {4}|\t).*$", "", prose, flags=re.M)  # indented code blocks
    prose = re.sub(r"`[^`\n]*`", "", prose)
    return LINK.findall(prose) + HTML_SRC.findall(prose)


def github_anchor(heading: str) -> str:
    """The id GitHub gives a heading: lower case, punctuation other than '-' and '_' dropped, spaces to '-'."""
    text = re.sub(r"`([^`]*)`", r"\1", heading.strip()).lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(markdown: Path) -> set[str]:
    prose = FENCE.sub("", markdown.read_text(encoding="utf-8"))
    return {github_anchor(m) for m in re.findall(r"^#{1,6}\s+(.+?)\s*#*\s*$", prose, flags=re.M)}


def broken_links(path: Path) -> list[str]:
    problems = []
    for target in links(path.read_text(encoding="utf-8")):
        if target.startswith(EXTERNAL):
            continue
        file_part, _, anchor = target.partition("#")
        resolved = (path.parent / file_part).resolve() if file_part else path
        if not resolved.exists():
            problems.append(f"{path.relative_to(PROJECT_ROOT)}: {target} — {resolved} does not exist")
        elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
            problems.append(f"{path.relative_to(PROJECT_ROOT)}: {target} — {resolved.name} has no heading "
                            f"#{anchor}")
    return problems


@pytest.mark.parametrize("path", markdown_files(), ids=lambda p: str(p.relative_to(PROJECT_ROOT)))
def test_every_relative_link_and_image_exists(path):
    assert links(path.read_text(encoding="utf-8")) or path != PROJECT_ROOT / "README.md", "README has no links at all?"
    assert broken_links(path) == []


def test_readme_shows_the_picture():
    images = [t for t in links((PROJECT_ROOT / "README.md").read_text(encoding="utf-8"))
              if t.lower().endswith((".jpg", ".jpeg", ".png", ".webp", ".svg"))]
    assert images and all((PROJECT_ROOT / t).is_file() for t in images)
    assert sum((PROJECT_ROOT / t).stat().st_size for t in images) < 1_000_000  # the committed pictures stay small


def test_the_checker_finds_a_broken_link_an_image_and_an_anchor(tmp_path, monkeypatch):
    """The checker itself: a missing file, a missing image and a missing heading are each reported; code is not."""
    import test_docs_links as checker

    monkeypatch.setattr(checker, "PROJECT_ROOT", tmp_path)
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.md").write_text("# Real heading\n")
    page = tmp_path / "README.md"
    page.write_text("[ok](docs/a.md#real-heading) [gone](docs/b.md) ![pic\nwrapped](img/x.png)\n"
                    "[bad anchor](docs/a.md#nope) `[code](not/a/link)`\n\n```bash\n[x](also/not)\n```\n"
                    "[web](https://example.com/x)\n")
    problems = checker.broken_links(page)
    assert len(problems) == 3, problems
    assert any("docs/b.md" in p for p in problems) and any("img/x.png" in p for p in problems)
    assert any("#nope" in p for p in problems)
