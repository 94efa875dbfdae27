"""Run the notebook suite with papermill into ``results/<run>/notebooks/`` and export each notebook to HTML.

The notebooks run in order in a kernel of *this* Python (a temporary kernelspec, so the suite never picks up another
environment's ``python3`` kernel) with this checkout's ``src/`` importable. A failing notebook does not hide the
others: notebooks that do not depend on it still run; its dependants are skipped, and the summary names the
notebook, the cell and the error. Failed notebooks are still exported, so the HTML shows where it broke.

Usage (a sketch, not run by the doctests: it needs papermill and executes notebooks)::

    from colorbench.notebooks_run import run_suite
    result = run_suite(run="nb-smoke", smoke=True, only=["00"])
    assert result.ok, result.describe()
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Sequence

from colorbench import atomic, paths
from colorbench.extras import import_extra
from colorbench.messages import plural

# The suite, in order, and what each notebook needs to have succeeded first (by number).
SUITE: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("00_setup_and_data", ()),
    ("01_cnn", ("00",)),
    ("02_coltran", ("00",)),
    ("03_controlnet", ("00",)),
    ("04_evaluate", ("00",)),
    ("05_report", ("04",)),
    ("06_eye_test", ("04",)),
)

# What --smoke means: tiny untrained models on two bundled samples — minutes on a CPU, no network.
# FID (an Inception pass per image) and a full bootstrap are the slow parts on a CPU: smoke skips / shrinks them;
# CNN training runs one epoch on four images (a random LPIPS trunk: no download).
# ColTran's smoke colorizer still takes 4096 sequential sampling steps per image: its stage view gets one image.
SMOKE_PARAMETERS: dict[str, Any] = {"SMOKE": True, "DATASET": "samples", "N_PER_CLASS": None, "LIMIT": 2,
                                    "BATCH_SIZE": 4, "FID": False, "BOOTSTRAP": 200, "TRAIN": True, "EPOCHS": 1,
                                    "TRAIN_LIMIT": 4, "STAGE_IMAGES": 1}
KERNEL_NAME = "colorbench-python"
DEFAULT_RUN = "notebook-run"  # one run folder shared by every notebook of the suite
DEFAULT_SMOKE_RUN = "notebook-smoke"  # its smoke twin: smoke and real images never share a folder


@dataclass
class NotebookResult:
    name: str
    status: str  # "ok" | "failed" | "skipped"
    seconds: float = 0.0
    ipynb: Path | None = None
    html: Path | None = None
    error: str = ""

    def line(self) -> str:
        head = f"{self.name:20s} {self.status.upper():7s}"
        if self.status == "ok":
            return f"{head} {self.seconds:6.1f} s  {self.html or self.ipynb}"
        if self.status == "failed":
            first, *rest = self.error.splitlines() or [""]
            detail = "".join(f"\n{'':29s}{line}" for line in rest)
            return f"{head} {self.seconds:6.1f} s  {first}{detail}\n{'':29s}see {self.html or self.ipynb}"
        return f"{head}          {self.error}"


@dataclass
class SuiteResult:
    run: str
    output_dir: Path
    notebooks: list[NotebookResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(r.status == "ok" for r in self.notebooks)

    def describe(self) -> str:
        return "\n".join([f"notebooks of run {self.run} in {self.output_dir}:", *(r.line() for r in self.notebooks)])


# ------------------------------------------------------------------------------------------------- discovery
def notebooks_dir() -> Path:
    """``<checkout>/notebooks``; a clear error outside a checkout."""
    folder = paths.REPO_DIR / "notebooks"
    if not folder.is_dir():
        raise FileNotFoundError(f"notebooks not found at {folder}: the suite runs from a colorbench checkout "
                                f"(git clone {'https://github.com/colorbench/colorbench'} && pip install -e '.[all]')")
    return folder


def number(name: str) -> str:
    return name.split("_", 1)[0]


def select(only: Sequence[str] | None) -> list[str]:
    """Suite names for ``only`` (numbers like ``"04"`` or full names), in suite order."""
    names = [n for n, _ in SUITE]
    if not only:
        return names
    wanted = {w.strip() for w in only if w.strip()}
    unknown = sorted(w for w in wanted if w not in names and w not in {number(n) for n in names})
    if unknown:
        which = "notebook" if len(unknown) == 1 else "notebooks"
        raise ValueError(f"unknown {which} {unknown}; the suite: {', '.join(names)}")
    return [n for n in names if n in wanted or number(n) in wanted]


def _quiet_papermill() -> None:
    """papermill logs every input/output path at INFO; our own lines say what runs. Its warnings still show."""
    import logging

    logging.getLogger("papermill").setLevel(logging.WARNING)


def declared_parameters(path: Path) -> dict[str, Any]:
    """The names and defaults of a notebook's ``parameters`` cell (as papermill sees them)."""
    papermill = import_extra("papermill", "notebooks", "reading the notebooks' parameters")
    _quiet_papermill()

    found = papermill.inspect_notebook(str(path))
    return {name: info.get("default") for name, info in found.items()}


def parse_params(items: Sequence[str]) -> dict[str, Any]:
    """``KEY=VALUE`` strings -> dict; values are YAML (``LIMIT=4``, ``SMOKE=true``, ``METHODS=[gray, eccv16]``).
    ``NN.KEY=VALUE`` applies to notebook NN only (e.g. ``01.METHODS=cnn-lpips``)."""
    import yaml

    params: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ValueError(f"--params {item!r}: expected KEY=VALUE, e.g. LIMIT=4 or 01.METHODS=cnn-lpips")
        params[key] = yaml.safe_load(value) if value.strip() else None
    return params


def parameters_for(name: str, declared: Mapping[str, Any], params: Mapping[str, Any]) -> dict[str, Any]:
    """The subset of ``params`` notebook ``name`` declares; scoped keys (``01.KEY``) override global ones."""
    chosen = {k: v for k, v in params.items() if "." not in k and k in declared}
    for key, value in params.items():
        scope, dot, bare = key.partition(".")
        if dot and scope in (name, number(name)):
            if bare not in declared:
                raise ValueError(f"{name} has no parameter {bare!r}; its parameters: {', '.join(declared)}")
            chosen[bare] = value
    return chosen


def check_params(params: Mapping[str, Any], declared: Mapping[str, Mapping[str, Any]]) -> None:
    """Every unscoped key must be declared by at least one selected notebook (catches typos like LIMT=4)."""
    known = sorted({k for d in declared.values() for k in d})
    for key in params:
        scope, dot, bare = key.partition(".")
        if dot:
            targets = [n for n in declared if scope in (n, number(n))]
            if not targets:
                raise ValueError(f"--params {key}: no selected notebook {scope!r}; selected: {', '.join(declared)}")
            if bare not in declared[targets[0]]:
                raise ValueError(f"--params {key}: {targets[0]} has no parameter {bare!r}; its parameters: "
                                 f"{', '.join(declared[targets[0]])}")
        elif key not in known:
            raise ValueError(f"unknown notebook parameter {key!r}; parameters: {', '.join(known)}")


# ------------------------------------------------------------------------------------------------- kernel
@contextlib.contextmanager
def python_kernel() -> Iterator[str]:
    """A kernelspec for ``sys.executable`` in a temporary Jupyter path, this checkout's ``src/`` importable."""
    def prepended(path: str, key: str) -> str:
        return os.pathsep.join(p for p in (path, os.environ.get(key)) if p)

    with tempfile.TemporaryDirectory(prefix="colorbench-kernel-") as tmp:
        spec_dir = Path(tmp) / "kernels" / KERNEL_NAME
        spec_dir.mkdir(parents=True)
        # A stray "[IPKernelApp] ERROR | KeyboardInterrupt caught in kernel." after a notebook finished is not an
        # interrupted cell: jupyter_client's shutdown_kernel sends every kernel a SIGINT before its shutdown request
        # (jupyter_client 8, manager.py `_async_shutdown_kernel`), and ipykernel logs it when the signal lands while
        # it is still handling a message — timing-dependent, so it shows after slow-to-stop notebooks such as 03.
        spec = {"argv": [sys.executable, "-m", "colorbench.notebook_kernel", "-f", "{connection_file}"],
                "display_name": f"colorbench ({sys.executable})", "language": "python"}
        (spec_dir / "kernel.json").write_text(json.dumps(spec), encoding="utf-8")
        values = {"JUPYTER_PATH": prepended(tmp, "JUPYTER_PATH")}
        from colorbench.notebook import find_checkout

        if find_checkout() is not None:
            values["PYTHONPATH"] = prepended(str(paths.PACKAGE_DIR.parent), "PYTHONPATH")
        with _env(**values):
            yield KERNEL_NAME


@contextlib.contextmanager
def _env(**values: str) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


# ------------------------------------------------------------------------------------------------- export
def _see_base_python_jupyter_data() -> None:
    """In a venv made with --system-site-packages, nbconvert may come from the base Python while Jupyter only looks
    for its templates under the venv's share/jupyter ("No template sub-directory with name 'lab'"): add the base's."""
    base = Path(sys.base_prefix) / "share" / "jupyter"
    if sys.prefix == sys.base_prefix or not base.is_dir():
        return
    current = [p for p in os.environ.get("JUPYTER_PATH", "").split(os.pathsep) if p]
    if str(base) not in current:
        os.environ["JUPYTER_PATH"] = os.pathsep.join([*current, str(base)])


class _NoAltTextNotice:
    """nbconvert fills in a description for plot outputs (which have no alt text) and says so on the terminal: a
    stray "Alternative text is missing on 1 image(s)." under `colorbench notebooks run`, with nothing to do about it
    (colorbench's own images carry alt text)."""

    @staticmethod
    def filter(record) -> bool:
        return not str(record.msg).startswith("Alternative text is missing")


def export_html(ipynb: Path, html_path: Path | None = None) -> Path:
    """Export an executed notebook to standalone HTML next to it (nbconvert, lab template)."""
    import nbformat
    from nbconvert import HTMLExporter

    _see_base_python_jupyter_data()
    html_path = html_path or ipynb.with_suffix(".html")
    nb = nbformat.read(str(ipynb), as_version=4)
    exporter = HTMLExporter(template_name="lab")
    exporter.log.addFilter(_NoAltTextNotice())
    body, _ = exporter.from_notebook_node(nb)
    atomic.write_text(html_path, body)
    return html_path


def _execution_error(exc: BaseException, max_lines: int = 25) -> str:
    """The cell and the whole error message: our errors carry the fix on the lines after the first."""
    ename, evalue = getattr(exc, "ename", None), getattr(exc, "evalue", None)
    if ename is not None:
        cell = getattr(exc, "exec_count", None)
        lines = str(evalue or "").strip().splitlines() or [""]
        extra = len(lines) - max_lines
        more = [f"  … {plural(extra, 'more line')} in the saved notebook"] if extra > 0 else []
        return "\n".join([f"cell [{cell}]: {ename}: {lines[0]}", *lines[1:max_lines], *more])
    return f"{type(exc).__name__}: {exc}"


# ------------------------------------------------------------------------------------------------- the suite
def default_run_name(smoke: bool) -> str:
    """The run folder the suite uses when none is named."""
    return DEFAULT_SMOKE_RUN if smoke else DEFAULT_RUN


def run_suite(
    *,
    run: str | None = None,
    smoke: bool = False,
    params: Mapping[str, Any] | None = None,
    only: Sequence[str] | None = None,
    fail_fast: bool = False,
    html: bool = True,
    source_dir: Path | None = None,
    log: Callable[[str], None] = print,
    progress: bool = False,
) -> SuiteResult:
    """Execute the suite (or ``only`` some notebooks) into ``results/<run>/notebooks/``.

    ``smoke`` applies :data:`SMOKE_PARAMETERS` (explicit ``params`` win). ``run`` defaults to ``notebook-run``
    (``notebook-smoke`` with ``smoke``): one run folder shared by every notebook. With ``fail_fast`` the first
    failure stops the suite; otherwise only the notebooks that depend on a failed one are skipped.
    """
    from colorbench.config import RunConfig

    papermill = import_extra("papermill", "notebooks", "running the notebooks")

    _quiet_papermill()
    source_dir = Path(source_dir) if source_dir else notebooks_dir()
    names = select(only)
    user_params = dict(params or {})
    if "RUN" in user_params and run is None:
        run = str(user_params.pop("RUN"))
    run = run or default_run_name(smoke)
    base = dict(SMOKE_PARAMETERS) if smoke else {}
    base.update(user_params)
    base["RUN"] = run
    if smoke:
        base["SMOKE"] = True

    sources = {}
    for name in names:
        path = source_dir / f"{name}.ipynb"
        if not path.is_file():
            raise FileNotFoundError(f"notebook {path} not found")
        sources[name] = path
    declared = {name: declared_parameters(path) for name, path in sources.items()}
    check_params(user_params, declared)

    out_dir = RunConfig(run=run).run_path().resolve() / "notebooks"
    out_dir.mkdir(parents=True, exist_ok=True)
    result = SuiteResult(run, out_dir)
    failed: set[str] = set()
    not_run: set[str] = set()  # skipped because a notebook they need failed or did not run either
    needs = dict(SUITE)
    # Unattended: no progress bars in the saved output (ours, and huggingface_hub/diffusers/transformers' own).
    quiet = {"COLORBENCH_NOTEBOOK_DIR": str(out_dir), "COLORBENCH_UNATTENDED": "1", "HF_HUB_DISABLE_PROGRESS_BARS": "1"}
    with python_kernel() as kernel, _env(**quiet):
        for name in names:
            blocked = [n for n in needs[name] if n in failed | not_run]
            if fail_fast and failed:
                blocked = sorted(failed)
            if blocked:
                not_run.add(number(name))
                why = [f"{n} failed" if n in failed else f"{n} did not run" for n in blocked]
                res = NotebookResult(name, "skipped", error="skipped: " + ", ".join(why))
                result.notebooks.append(res)
                log(res.line())
                continue
            output = out_dir / f"{name}.ipynb"
            nb_params = parameters_for(name, declared[name], base)
            log(f"{name:20s} running ({', '.join(f'{k}={v!r}' for k, v in nb_params.items())})")
            t0 = time.perf_counter()
            res = NotebookResult(name, "ok", ipynb=output)
            try:
                papermill.execute_notebook(str(sources[name]), str(output), parameters=nb_params, kernel_name=kernel,
                                           cwd=str(source_dir), progress_bar=progress, log_output=False)
            except Exception as exc:  # noqa: BLE001 — papermill's cell error, a kernel death, a timeout: all reported
                res.status, res.error = "failed", _execution_error(exc)
                failed.add(number(name))
            res.seconds = time.perf_counter() - t0
            if html and output.is_file():
                try:
                    res.html = export_html(output)
                except Exception as exc:  # noqa: BLE001 — a broken export is reported, the suite goes on
                    res.status = "failed"
                    res.error = (res.error + "; " if res.error else "") + f"HTML export failed: {exc}"
                    failed.add(number(name))
            result.notebooks.append(res)
            log(res.line())
    return result


# ------------------------------------------------------------------------------------------------- hygiene
def strip_outputs(nb) -> bool:
    """Remove outputs, execution counts and execution metadata from a notebook node; True if anything changed.
    Committed notebooks carry none, so diffs stay reviewable."""
    changed = False
    for cell in nb.cells:
        if cell.get("cell_type") == "code" and (cell.get("outputs") or cell.get("execution_count") is not None):
            cell["outputs"], cell["execution_count"] = [], None
            changed = True
        for key in ("execution", "papermill", "collapsed", "scrolled"):
            if key in cell.get("metadata", {}):
                del cell["metadata"][key]
                changed = True
    for key in ("papermill", "widgets"):
        if key in nb.metadata:
            del nb.metadata[key]
            changed = True
    return changed


def has_outputs(nb) -> list[int]:
    """Indices of code cells that carry outputs or execution counts."""
    return [i for i, c in enumerate(nb.cells)
            if c.get("cell_type") == "code" and (c.get("outputs") or c.get("execution_count") is not None)]
