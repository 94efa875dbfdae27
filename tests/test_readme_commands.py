"""README as an executable specification: every command in README's ```bash blocks is run as typed.

The test copies the checkout's tracked files into a fresh folder (a clean clone, with no .venv, caches or results)
and runs each command there with bash, literally — relative run names and all — first from the checkout's root, then
the ``colorbench`` commands again from another folder. The ``colorbench`` on PATH is the venv running the tests; the
copy's ``src/`` comes first on the import path, so the copy's code is what runs. Offline, empty caches.

A line whose trailing comment says ``needs: network``, ``needs: credentials`` or ``needs: gpu`` is not run (the
agreed README convention); a command that needs one of those and is not marked fails here, as it would for a reader.
Where later commands need what a marked one makes, the test puts the same bytes there from ../shared/fixtures:
``data download`` -> the real Kaggle test split, ``weights fetch cnn-original-epoch186`` -> the real checkpoint.

Two commands are run differently, and the test says so: ``make test`` is this suite (running it here would recurse),
so the test checks ``make -n test`` runs the linter and pytest and that ``.ci/run`` runs the line verbatim;
``make demo`` runs with a ``.venv`` already set up (a venv whose site-packages are the test venv's), so make skips
pip and runs the demo itself; the mutation tool's full pass (an hour on 2 cores) runs with ``--list`` appended:
its arguments are parsed and its modules and tests listed, no mutant is run.
Run with ``-s`` to see the list: each command, where, and how it ended.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import PROJECT_ROOT, fixtures_dir

MARKS = ("network", "credentials", "gpu")
COMMAND_TIMEOUT_S = 900


@dataclass(frozen=True)
class Command:
    line: str  # as typed, trailing comment included
    marks: tuple[str, ...]  # the needs: of its trailing comment

    @property
    def command(self) -> str:
        return _strip_comment(self.line)


def _strip_comment(line: str) -> str:
    """The line without its trailing ``# ...`` comment (a ``#`` outside quotes, after whitespace)."""
    quote = None
    for i, ch in enumerate(line):
        if quote:
            quote = None if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i].rstrip()
    return line.rstrip()


def readme_commands(text: str) -> list[Command]:
    """Every command line of the ```bash blocks, continuation lines joined, comment-only lines left out."""
    commands, block, pending = [], False, ""
    for raw in text.splitlines():
        stripped = raw.strip()
        if stripped.startswith("```"):
            block = stripped == "```bash" if not block else False
            continue
        if not block or not stripped or stripped.startswith("#"):
            continue
        if stripped.endswith("\\") and "#" not in stripped:
            pending += stripped[:-1] + " "
            continue
        line = pending + stripped
        pending = ""
        comment = line[len(_strip_comment(line)):]
        needs = re.search(r"needs:\s*([\w ,]+)", comment)
        marks = tuple(m for m in MARKS if needs and m in needs.group(1))
        commands.append(Command(line=line, marks=marks))
    return commands


def test_parser_reads_marks_and_comments():
    text = ("```bash\nmake demo    # sets up\ncolorbench data download   # needs: credentials, network\n"
            "# just a note\necho '#not a comment' # needs: gpu\n```\n```\nnot bash\n```\n")
    cmds = readme_commands(text)
    assert [c.command for c in cmds] == ["make demo", "colorbench data download", "echo '#not a comment'"]
    assert [c.marks for c in cmds] == [(), ("network", "credentials"), ("gpu",)]


def _fresh_copy(dest: Path) -> Path:
    """The tracked files of the checkout as they are on disk: what a clone of this working tree holds."""
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=PROJECT_ROOT, capture_output=True, check=True).stdout
    for rel in filter(None, listed.decode().split("\0")):
        src = PROJECT_ROOT / rel
        if src.is_file():  # a file deleted in the working tree is not in the clone either
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)
    return dest


def _environment(tmp: Path, copy: Path) -> dict:
    """A newcomer's shell: no COLORBENCH_* overrides, empty caches, offline; the test venv's bin first on PATH."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COLORBENCH_", "PYTEST_", "KAGGLE_"))}
    env.update(PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
               PYTHONPATH=str(copy / "src"), HOME=str(tmp / "home"), TORCH_HOME=str(tmp / "home/.cache/torch"),
               HF_HOME=str(tmp / "home/.cache/huggingface"), HF_HUB_OFFLINE="1", COLORBENCH_OFFLINE="1",
               MPLBACKEND="Agg")
    (tmp / "home").mkdir(exist_ok=True)
    return env


def _venv_already_set_up(copy: Path) -> None:
    """``.venv`` as ``make setup`` leaves it, without pip: a bare venv that sees the test venv's packages and the
    copy's src/, its ``colorbench`` script, and make's stamps (newer than pyproject.toml, so make installs nothing)."""
    venv = copy / ".venv"
    # --system-site-packages, as `make setup` makes it (the test venv itself may be one: its numpy may be the system's)
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", "--system-site-packages", str(venv)], check=True)
    site = next(venv.glob("lib/python*/site-packages"))
    (site / "colorbench-test.pth").write_text(f"{copy / 'src'}\n{sysconfig.get_paths()['purelib']}\n")
    script = venv / "bin" / "colorbench"
    script.write_text(f"#!{venv / 'bin' / 'python'}\nimport sys\nfrom colorbench.cli import main\nsys.exit(main())\n")
    script.chmod(0o755)
    makefile = (copy / "Makefile").read_text()
    for var in ("DEMO_EXTRAS", "TEST_EXTRAS"):
        extras = re.search(rf"^{var} \?= (\S+)", makefile, re.M).group(1)
        (venv / f".installed-{extras.replace(',', '-')}").touch()


def _supply_what_marked_commands_make(cmd: Command, cwd: Path) -> str:
    """After a marked download, put its result where the download puts it (the same bytes, from the fixtures)."""
    words = cmd.command.split()
    fixtures = fixtures_dir()
    if words[:3] == ["colorbench", "data", "download"] and (fixtures / "sports").is_dir():
        (cwd / "data").mkdir(exist_ok=True)
        if not (cwd / "data" / "sports").exists():
            (cwd / "data" / "sports").symlink_to(fixtures / "sports")
        return "; fixture's sports split put in data/sports"
    if words[:3] == ["colorbench", "weights", "fetch"] and "cnn-original-epoch186" in words:
        checkpoint = fixtures / "original-cnn" / "model-epoch-186-losses-0.124.pth"
        if checkpoint.is_file():
            target = cwd / "models" / "cnn-original" / checkpoint.name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(checkpoint, target)
            return "; fixture's checkpoint put in models/"
    return ""


def _run(cmd: Command, cwd: Path, env: dict, copy: Path) -> tuple[str, str | None]:
    """(how it ended, failure text or None)."""
    if cmd.marks:
        return "marked (needs: " + ", ".join(cmd.marks) + ")" + _supply_what_marked_commands_make(cmd, cwd), None
    if cmd.command == "make test":
        dry = subprocess.run(["make", "-n", "test"], cwd=copy, env=env, capture_output=True, text=True)
        ci = (copy / ".ci" / "run").read_text().splitlines()
        problems = []
        if dry.returncode != 0 or "ruff check" not in dry.stdout or "pytest" not in dry.stdout:
            problems.append(f"`make -n test` did not plan ruff + pytest (exit {dry.returncode}):\n{dry.stdout}"
                            f"{dry.stderr}")
        if "make test" not in [line.strip() for line in ci]:
            problems.append(".ci/run does not run `make test` as README prints it")
        return "checked with make -n (it is this suite; .ci/run runs it)", "\n".join(problems) or None
    command, how = cmd.command, ""
    if command.split()[:2] == ["make", "demo"]:
        _venv_already_set_up(copy)
        how = " (.venv already set up)"
    if "tools/mutation.py" in command and "--phase full" in command:
        command, how = command + " --list", " (with --list: the full pass takes an hour)"
    try:
        done = subprocess.run(["bash", "-c", command], cwd=cwd, env=env, capture_output=True, text=True,
                              timeout=COMMAND_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return f"timed out after {COMMAND_TIMEOUT_S} s", f"`{cmd.command}` ran over {COMMAND_TIMEOUT_S} s"
    ended = f"exit {done.returncode}{how}"
    if done.returncode != 0:
        return ended, (f"`{command}` (in {cwd}) exited {done.returncode}: mark it in README if it needs the "
                       f"network, credentials or a GPU, else fix it.\n--- stdout\n{done.stdout[-3000:]}\n--- stderr\n"
                       f"{done.stderr[-3000:]}")
    return ended, None


def test_ci_runs_readmes_test_command_verbatim():
    """CI was green only with `make test EXTRAS=all`, a command no newcomer types; README's own must run there."""
    readme = readme_commands((PROJECT_ROOT / "README.md").read_text())
    test_commands = [c.command for c in readme if c.command.startswith("make test")]
    assert test_commands, "README shows no `make test` command"
    ci_lines = [line.strip() for line in (PROJECT_ROOT / ".ci" / "run").read_text().splitlines()]
    for command in test_commands:
        assert command in ci_lines, f".ci/run does not run README's test command {command!r} as printed"


@pytest.mark.slow
def test_every_readme_command_runs_or_is_marked(tmp_path):
    copy = _fresh_copy(tmp_path / "checkout")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = _environment(tmp_path, copy)
    commands = readme_commands((copy / "README.md").read_text())
    assert commands, "README.md has no ```bash block: nothing a reader can type is checked"
    ended, failures = [], []
    for where, cwd, chosen in (("root", copy, commands),
                               ("elsewhere", elsewhere, [c for c in commands if c.command.startswith("colorbench")])):
        for cmd in chosen:
            how, failure = _run(cmd, cwd, env, copy)
            ended.append(f"[{where}] {cmd.command}  ->  {how}")
            if failure:
                failures.append(f"[{where}] {failure}")
    print("\nREADME commands:\n" + "\n".join(ended))
    assert not failures, "\n\n".join(failures)
