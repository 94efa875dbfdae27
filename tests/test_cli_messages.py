"""What the command line prints reads as English: counts go through :func:`colorbench.messages.plural` ("1 image",
"2 images"), never a bare ``{n} images`` or "image(s)"."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from colorbench.messages import plural

SRC = Path(__file__).resolve().parents[1] / "src" / "colorbench"
#: what the commands print: the CLI, the runner, the eye test, weights, merge and import
PRINTED = [*sorted((SRC / "cli").glob("*.py")), SRC / "run.py", *sorted((SRC / "judge").glob("*.py")),
           *sorted((SRC / "weights").glob("*.py")), SRC / "merge.py", SRC / "external.py", SRC / "data" / "index.py",
           *sorted((SRC / "report").rglob("*.py")), *sorted((SRC / "notebook").glob("*.py")), SRC / "notebooks_run.py"]
NOUNS = ("images", "methods", "answers", "photos", "files", "outputs", "runs", "judges", "items", "epochs", "classes",
         "judgements", "tables", "samples", "resamples")
# "{n} images" but not "the {method} methods" (an option group's name, no count)
BARE_COUNT = re.compile(r"\{(?!method\})[^{}]*\} (?:" + "|".join(NOUNS) + r")\b")
# "image(s) " but not a call such as "Path(s).expanduser()" or "set(s) for s in ..."
OR_PLURAL = re.compile(r"[a-z]\(s\)(?! for )(?=[\s,;:'\"])")


def test_plural():
    assert [plural(n, "image") for n in (0, 1, 2)] == ["0 images", "1 image", "2 images"]
    assert plural(1, "class", "classes") == "1 class" and plural(3, "class", "classes") == "3 classes"


@pytest.mark.parametrize("path", PRINTED, ids=lambda p: str(p.relative_to(SRC)))
def test_no_bare_plural_after_a_count(path):
    offending = [f"{path.name}:{i}: {line.strip()}" for i, line in enumerate(path.read_text().splitlines(), 1)
                 if BARE_COUNT.search(line) or OR_PLURAL.search(line)]
    assert not offending, "say counts with colorbench.messages.plural:\n" + "\n".join(offending)


def test_a_mistyped_method_name_gets_the_closest_known_one(tmp_path, capsys):
    from colorbench.cli import main

    assert main(["run", "--methods", "gray,cnn-orignal", "--run", "typo", "--limit", "1"]) == 2
    assert "unknown method 'cnn-orignal' (did you mean 'cnn-original'?)" in capsys.readouterr().err


def test_a_mistyped_flag_names_its_command_and_the_closest_flag(capsys):
    """argparse reported a subcommand's unknown flag as the top-level parser's: `colorbench: error: unrecognized
    arguments: --limt 2`, under `colorbench`'s usage, with no hint (seen on a new user's typo)."""
    from colorbench.cli import main

    cases = ((["run", "--limt", "2", "--methods", "gray"], "colorbench run", "did you mean --limit?"),
             (["score", "x", "--no-fdi"], "colorbench score", "did you mean --no-fid?"),
             (["data", "info", "--spilt", "test"], "colorbench data info", "did you mean --split?"),
             (["run", "stray"], "colorbench run", "see `colorbench run --help`"))
    for argv, command, hint in cases:
        with pytest.raises(SystemExit) as stop:
            main(argv)
        assert stop.value.code == 2  # before any work: the run folder is not created
        err = capsys.readouterr().err
        assert err.startswith(f"usage: {command} ") and f"{command}: error: unrecognized arguments:" in err
        assert hint in err


def test_a_warning_during_a_progress_bar_gets_a_line_of_its_own():
    """An unreadable image is logged while the `prepare inputs` bar is drawn: through a plain StreamHandler the
    warning was glued to the bar (`... [00:00<?, ?img/s]skipping …/notes.jpg: …`, seen on a new user's terminal)."""
    import io
    import logging

    from tqdm import tqdm

    from colorbench.cli import AboveProgressBars

    stream = io.StringIO()
    handler = AboveProgressBars(stream)
    handler.setFormatter(logging.Formatter("%(message)s"))
    bar = tqdm(total=5, desc="prepare inputs", unit="img", file=stream)
    bar.update(1)
    handler.emit(logging.LogRecord("colorbench.run", logging.WARNING, __file__, 1, "skipping notes.jpg", None, None))
    bar.close()
    text = stream.getvalue()
    assert "]skipping" not in text and "\rskipping notes.jpg\n" in text  # the bar's line cleared first
