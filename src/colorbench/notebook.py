"""What the notebooks call: :func:`setup` (Colab, Google Drive, working folder, GPU check, smoke banner) and display
helpers (image grids from a run folder, styled tables, links). Notebooks hold no logic; everything they show comes
from here or from the package's own functions, so a test can reach it.

Every display helper returns an object that Jupyter renders (``_repr_html_``) and that prints as readable text in a
console, so the same calls work in Colab, JupyterLab, papermill runs and the exported HTML. Whatever comes from a
smoke run is stamped "smoke: untrained models, numbers meaningless".

Example::

    import colorbench.notebook as nb
    env = nb.setup(run="demo", smoke=True)      # prints where weights/data/results go, warns on a CPU runtime
    nb.image_grid("demo", limit=4)              # gray input | truth | one column per method
"""

from __future__ import annotations

import base64
import html
import importlib.util
import io
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from colorbench import paths
from colorbench.methods.base import SMOKE_LABEL
from colorbench.records import MethodStatus, RunRecord, ScoreSummary
from colorbench.runfolder import RunFolder, read_csv

SMOKE_STAMP = SMOKE_LABEL  # one stamp for notebooks, methods and the report
DRIVE_MOUNTPOINT = Path("/content/drive")
DRIVE_FOLDER = "MyDrive/colorbench"  # under the mountpoint: models/ data/ results/ torch/ huggingface/

# Which cache each environment variable controls, and its folder under the Drive root.
DRIVE_LAYOUT = {
    paths.MODELS_ENV: "models",
    paths.DATA_ENV: "data",
    paths.RESULTS_ENV: "results",
    "TORCH_HOME": "torch",  # torchvision/LPIPS backbones, Zhang et al.'s checkpoints
    "HF_HOME": "huggingface",  # Stable Diffusion, ControlNet
}

UNATTENDED_ENV = "COLORBENCH_UNATTENDED"  # set to 1 by `colorbench notebooks run`: no progress bars in the output

CPU_WARNING = (
    "No GPU visible: this runtime is CPU-only. The CNN runs fine on a CPU, but ColTran and Stable Diffusion take "
    "minutes per image. In Colab: Runtime > Change runtime type > Hardware accelerator: GPU (T4 is enough) > Save, "
    "then Runtime > Run all again."
)


# ------------------------------------------------------------------------------------------------- rendering
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


def _show(obj: Any) -> None:
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


# ------------------------------------------------------------------------------------------------- setup
@dataclass
class NotebookEnv:
    """What :func:`setup` found and decided; printed as a short table."""

    run: str
    run_path: Path
    smoke: bool
    device: str  # resolved: "cpu", "cuda", ...
    gpu: str | None
    in_colab: bool
    repo_dir: Path | None
    drive_root: Path | None
    locations: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    progress: bool = True  # progress bars; off when `colorbench notebooks run` executes the notebook unattended

    def rows(self) -> list[tuple[str, str]]:
        from colorbench import __version__
        from colorbench.provenance import git_sha

        rows = [
            ("colorbench", f"{__version__} ({git_sha() or 'not a git checkout'})"),
            ("python", sys.version.split()[0]),
            ("runtime", "Google Colab" if self.in_colab else "local"),
            ("device", f"{self.device}" + (f" ({self.gpu})" if self.gpu else "")),
            ("smoke", f"YES — {SMOKE_STAMP}" if self.smoke else "no"),
            ("working folder", os.getcwd()),
            ("run folder", str(self.run_path)),
            ("Google Drive", str(self.drive_root) if self.drive_root else
             ("not mounted (USE_DRIVE = False)" if self.in_colab else "not used (Colab only)")),
        ]
        rows += [(name, value) for name, value in self.locations.items()]
        return rows

    def _repr_html_(self) -> str:
        body = "".join(f"<tr><th style='text-align:left'>{html.escape(k)}</th><td style='text-align:left'>"
                       f"{html.escape(v)}</td></tr>" for k, v in self.rows())
        extra = "".join(banner(w)._repr_html_() for w in self.warnings)
        if self.smoke:
            extra = smoke_banner()._repr_html_() + extra
        return f"{extra}<table class='colorbench-env'>{body}</table>"

    def __repr__(self) -> str:
        lines = [f"{k:>16}: {v}" for k, v in self.rows()]
        if self.smoke:
            lines.insert(0, repr(smoke_banner()))
        lines += [repr(banner(w)) for w in self.warnings]
        return "\n".join(lines)


def in_colab() -> bool:
    """True inside a Google Colab runtime."""
    return "google.colab" in sys.modules or importlib.util.find_spec("google.colab") is not None


def find_checkout() -> Path | None:
    """The repository checkout colorbench runs from (editable install or ``src/`` on the path), if any."""
    repo = paths.REPO_DIR
    if (repo / "pyproject.toml").is_file() and (repo / "src" / "colorbench").is_dir():
        return repo
    return None


def mount_drive(mountpoint: Path = DRIVE_MOUNTPOINT) -> None:
    """Mount Google Drive in Colab (asks for permission once per runtime)."""
    from google.colab import drive  # type: ignore[import-not-found]

    drive.mount(str(mountpoint))


def point_caches_at(root: str | os.PathLike) -> dict[str, str]:
    """Set COLORBENCH_MODELS/DATA/RESULTS, TORCH_HOME and HF_HOME to folders under ``root`` (created).

    Call before anything imports huggingface_hub: it reads HF_HOME once, at import.
    """
    root = Path(root)
    locations = {}
    for var, sub in DRIVE_LAYOUT.items():
        folder = root / sub
        folder.mkdir(parents=True, exist_ok=True)
        os.environ[var] = str(folder)
        locations[var] = str(folder)
    return locations


def _absolutize_env() -> None:
    """Relative cache paths in the environment would change meaning after chdir: pin them to the current folder."""
    for var in DRIVE_LAYOUT:
        value = os.environ.get(var)
        if value and not Path(value).expanduser().is_absolute():
            os.environ[var] = str(Path(value).expanduser().resolve())


def check_gpu(device: str = "auto") -> tuple[str, str | None, str | None]:
    """Resolve ``device``; return (device, GPU name or None, warning or None). An explicit ``cuda`` without a GPU
    raises with the fix."""
    import torch

    from colorbench.provenance import resolve_device

    resolved = resolve_device(device)  # raises a clear ValueError for cuda without a GPU
    if resolved.startswith("cuda"):
        return resolved, torch.cuda.get_device_name(torch.device(resolved).index or 0), None
    return resolved, None, (CPU_WARNING if device == "auto" else None)


def check_run_folder(run_path: Path, smoke: bool) -> None:
    """Refuse to mix a smoke run and a real run in one folder: the runner would reuse the other kind's images."""
    folder = RunFolder(run_path)
    if not folder.run_json.exists():
        return
    recorded = folder.run_record().smoke
    if recorded != bool(smoke):
        kind = "a SMOKE run (untrained models)" if recorded else "a real run"
        raise ValueError(f"run folder {run_path} holds {kind} but SMOKE = {bool(smoke)}: the two must not share a "
                         f"folder. Choose another RUN name, or delete {run_path} to start over.")


def setup(
    *,
    run: str,
    smoke: bool = False,
    use_drive: bool = False,
    device: str = "auto",
    drive_folder: str = DRIVE_FOLDER,
    chdir: bool = True,
    show: bool = True,
) -> NotebookEnv:
    """Prepare a notebook session; call once, right after the parameters cell.

    * In Colab with ``use_drive``: mounts Google Drive and points COLORBENCH_MODELS/DATA/RESULTS, TORCH_HOME and
      HF_HOME at ``MyDrive/colorbench/...`` so weights, data and results survive the session and every notebook
      sees the same run folder. Outside Colab ``use_drive`` is ignored (with a note).
    * Changes the working folder to the repository checkout, so ``models/ data/ results/`` mean the same from
      ``notebooks/`` as from the command line (relative paths in those variables are pinned first).
    * Checks the device: a clear warning on a CPU runtime; an error if ``device`` asks for a GPU that is absent.
    * Refuses a run folder that holds the other kind of run (smoke vs real).
    * With ``smoke``: a loud banner — smoke numbers are meaningless.

    Example::

        env = setup(run="demo", smoke=True, show=False)
        assert env.smoke and env.run_path.name == "demo"
    """
    from colorbench.config import RunConfig

    warnings: list[str] = []
    colab = in_colab()
    drive_root = None
    locations: dict[str, str] = {}
    if use_drive and colab:
        mount_drive(DRIVE_MOUNTPOINT)
        drive_root = DRIVE_MOUNTPOINT / drive_folder
        locations = point_caches_at(drive_root)
    _quiet_text_progress_warning()
    _absolutize_env()
    repo = find_checkout()
    if chdir and repo is not None:
        os.chdir(repo)
    for var in DRIVE_LAYOUT:
        locations.setdefault(var, os.environ.get(var) or f"(default) {_default_location(var)}")
    resolved, gpu, gpu_warning = check_gpu(device)
    if gpu_warning and not smoke:
        warnings.append(gpu_warning)
    run_path = RunConfig(run=run).run_path().resolve()
    check_run_folder(run_path, smoke)
    env = NotebookEnv(run=run, run_path=run_path, smoke=bool(smoke), device=resolved, gpu=gpu, in_colab=colab,
                      repo_dir=repo, drive_root=drive_root, locations=locations, warnings=warnings,
                      progress=os.environ.get(UNATTENDED_ENV) != "1")
    if show:
        _show(env)
    return env


def _quiet_text_progress_warning() -> None:
    """Without ipywidgets tqdm.auto falls back to text bars (fine) but warns on every import; say it once here."""
    import warnings

    try:
        from tqdm import TqdmWarning
    except ImportError:
        return
    warnings.filterwarnings("ignore", message="IProgress not found", category=TqdmWarning)


def _default_location(var: str) -> str:
    return {
        paths.MODELS_ENV: str(paths.models_dir().resolve()),
        paths.DATA_ENV: str(paths.data_dir().resolve()),
        paths.RESULTS_ENV: str(paths.results_dir().resolve()),
        "TORCH_HOME": "~/.cache/torch",
        "HF_HOME": "~/.cache/huggingface",
    }[var]


# ------------------------------------------------------------------------------------------------- run folders
def run_folder(run: str | os.PathLike | RunFolder) -> RunFolder:
    """A run name (always under ``$COLORBENCH_RESULTS``/results), a path (absolute, or with a folder in it), or a
    RunFolder -> RunFolder; a clear error if it does not exist.

    A bare name is never looked up in the working folder: ``setup`` moves into the checkout, where a run called
    ``notebooks`` or ``data`` would otherwise resolve to the repository's own folders.
    """
    if isinstance(run, RunFolder):
        folder = run
    else:
        path = Path(run).expanduser()
        folder = RunFolder(path if (path.is_absolute() or len(path.parts) > 1) else paths.results_dir() / path)
    if not folder.path.is_dir():
        raise FileNotFoundError(
            f"run folder {folder.path} not found: run 00_setup_and_data (and the method notebooks) with the same RUN "
            f"first. In Colab, set USE_DRIVE = True so every notebook sees the same results folder.")
    return folder


@dataclass
class RunInputs:
    """The first images of a run as the methods saw them: ids, class labels and uint8 gray arrays."""

    ids: list[str]
    labels: list[str | None]
    grays: list[Any]


def run_inputs(run: str | os.PathLike | RunFolder, *, limit: int | None = 3) -> RunInputs:
    """The gray inputs a run wrote (``inputs/gray``), in samples.csv order, for trying a method by hand.

    Example::

        inputs = run_inputs("demo", limit=2)
        method.colorize(inputs.grays, seed=0, labels=inputs.labels)
    """
    from colorbench.run import read_gray

    folder = run_folder(run)
    samples = folder.read_samples()[:limit]
    return RunInputs([s["id"] for s in samples], [s.get("label") or None for s in samples],
                     [read_gray(folder, s["id"]) for s in samples])


def is_smoke(run: str | os.PathLike | RunFolder) -> bool:
    folder = run_folder(run)
    return (folder.run_record() or RunRecord()).smoke


def stamp(caption: str, smoke: bool) -> str:
    return f"{caption} — {SMOKE_STAMP.upper()}" if smoke else caption


# ------------------------------------------------------------------------------------------------- images
def _thumbnail_uri(image, height: int) -> str:
    """uint8 RGB (or HxW gray) array -> a data: URI of a JPEG thumbnail ``height`` pixels tall."""
    from PIL import Image

    pil = Image.fromarray(image)
    width = max(1, round(pil.width * height / pil.height))
    pil = pil.resize((width, height), Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    pil.convert("RGB").save(buf, format="JPEG", quality=88)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


@dataclass
class GridCell:
    column: str
    path: Path | None  # None: no image (method skipped or failed on this image, or gray-only source)


@dataclass
class GridRow:
    sample_id: str
    label: str
    cells: list[GridCell]


def grid_rows(
    run: str | os.PathLike | RunFolder,
    *,
    methods: Sequence[str] | None = None,
    ids: Sequence[str] | None = None,
    limit: int | None = 6,
    include_inputs: bool = True,
) -> list[GridRow]:
    """The rows of an image grid: one per sample (in samples.csv order), columns gray input | truth | methods.

    ``methods`` defaults to (and ``"auto"`` means) every method with images in the run. A method the run recorded
    (e.g. skipped for missing weights) but that has no images gets a column of "—"; a name the run never saw is an
    error naming the ones it did. Only sample k=0 of a stochastic method is shown.
    """
    folder = run_folder(run)
    present = folder.methods()
    if methods is None or methods == "auto" or list(methods) == ["auto"]:
        methods = present
    else:
        methods = list(methods)
        recorded = set(_method_status(folder))
        unknown = [m for m in methods if m not in present and m not in recorded]
        if unknown:
            raise ValueError(f"{unknown} never ran in {folder.path}; methods with images: {present or 'none'}")
    samples = folder.read_samples()
    if ids is not None:
        wanted = set(ids)
        samples = [s for s in samples if s["id"] in wanted]
    if limit is not None:
        samples = samples[:limit]
    rows = []
    for s in samples:
        cells = []
        if include_inputs:
            cells.append(GridCell("input (gray)", _existing(folder.gray_path(s["id"]))))
            cells.append(GridCell("truth", _existing(folder.truth_path(s["id"]))))
        cells += [GridCell(m, _existing(folder.output_path(m, s["id"]))) for m in methods]
        rows.append(GridRow(s["id"], s.get("label", ""), cells))
    return rows


def _method_status(folder: RunFolder) -> dict[str, MethodStatus]:
    return (folder.run_record() or RunRecord()).method_status


def _existing(path: Path) -> Path | None:
    return path if path.is_file() else None


def _grid_html(columns: list[str], rows: list[tuple[str, list[str | None]]], caption: str, height: int,
               notes: list[list[str]] | None = None) -> str:
    """An HTML table of thumbnails; ``notes[r][c]`` is a small caption under cell (r, c) (e.g. its LPIPS)."""
    head = "".join(f"<th style='text-align:center'>{html.escape(c)}</th>" for c in ["image", *columns])
    body = []
    for r, (name, uris) in enumerate(rows):
        tds = [f"<td style='text-align:left;vertical-align:middle;max-width:12em'>{html.escape(name)}</td>"]
        for c, uri in enumerate(uris):
            note = notes[r][c] if notes else ""
            below = f"<div style='font-size:0.85em;text-align:center'>{html.escape(note)}</div>" if note else ""
            if uri is None:
                tds.append(f"<td style='text-align:center;color:#999;min-width:{height}px'>—{below}</td>")
            else:
                tds.append(f"<td style='padding:2px'><img src='{uri}' style='height:{height}px;width:auto' "
                           f"alt=''/>{below}</td>")
        body.append("<tr>" + "".join(tds) + "</tr>")
    return (f"<table class='colorbench-grid' style='border-collapse:collapse'><caption style='caption-side:top;"
            f"font-weight:600;text-align:left'>{html.escape(caption)}</caption><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table>")


def image_grid(
    run: str | os.PathLike | RunFolder,
    *,
    methods: Sequence[str] | None = None,
    ids: Sequence[str] | None = None,
    limit: int | None = 6,
    height: int = 128,
    captions: Mapping[tuple[str, str], str] | None = None,
) -> Html:
    """Gray input | truth | each method, one row per image, from a run folder ("—": no image, see failures.csv
    or run.json for why). ``captions[(sample_id, method)]`` is written under that image (e.g. its LPIPS; the
    format of :func:`colorbench.report.grids.metric_captions`).
    Stamped when the run is a smoke run.

    Example::

        image_grid("demo", methods=["gray"], limit=3)
    """
    from colorbench.data.images import load_image

    folder = run_folder(run)
    rows = grid_rows(folder, methods=methods, ids=ids, limit=limit)
    smoke = is_smoke(folder)
    status = _method_status(folder)
    columns = [c.column + (" (skipped)" if c.column in status and status[c.column].status == "skipped" else "")
               for c in rows[0].cells] if rows else []
    rendered, text = [], []
    for row in rows:
        uris = [None if c.path is None else _thumbnail_uri(load_image(c.path).rgb, height) for c in row.cells]
        name = f"{row.label} ({row.sample_id})" if row.label else row.sample_id
        rendered.append((name, uris))
        text.append(f"  {name}: " + ", ".join(f"{c.column}={'ok' if c.path else '—'}" for c in row.cells))
    caption = stamp(f"{folder.path.name}: {len(rows)} image(s)", smoke)
    notes = [[(captions or {}).get((row.sample_id, c.column), "") for c in row.cells] for row in rows]
    return Html(_grid_html(columns, rendered, caption, height, notes if captions else None),
                "\n".join([caption, *text]))


def array_grid(
    columns: Mapping[str, Sequence[Any]],
    *,
    row_names: Sequence[str] | None = None,
    caption: str = "",
    smoke: bool = False,
    height: int = 128,
) -> Html:
    """Images held in memory, one column per key (uint8 RGB ``HxWx3`` or gray ``HxW``; ``None`` shows "—"),
    e.g. edge maps next to their inputs, or one method's outputs under several prompt presets.

    Example::

        array_grid({"gray": grays, "edges": edges}, row_names=ids, caption="Canny edges")
    """
    import numpy as np

    names = list(columns)
    n_rows = max((len(v) for v in columns.values()), default=0)
    if any(len(v) != n_rows for v in columns.values()):
        raise ValueError(f"every column needs {n_rows} images; got {[len(v) for v in columns.values()]} for {names}")
    row_names = list(row_names) if row_names is not None else [str(i) for i in range(n_rows)]
    if len(row_names) != n_rows:
        raise ValueError(f"{len(row_names)} row names for {n_rows} rows")
    rendered = []
    for r in range(n_rows):
        uris = []
        for name in names:
            image = columns[name][r]
            if image is None:
                uris.append(None)
                continue
            image = np.asarray(image)
            if image.dtype != np.uint8 or image.ndim not in (2, 3):
                raise ValueError(f"column {name!r}, row {r}: expected a uint8 HxW or HxWx3 image, got "
                                 f"{image.dtype} {image.shape}")
            uris.append(_thumbnail_uri(image, height))
        rendered.append((row_names[r], uris))
    caption = stamp(caption or f"{n_rows} image(s)", smoke)
    return Html(_grid_html(names, rendered, caption, height), f"{caption}: {', '.join(names)} x {n_rows} rows")


def dataset_grid(
    dataset: str = "samples",
    *,
    split: str | None = "test",
    n_per_class: int | None = None,
    limit: int | None = None,
    seed: int = 0,
    show: int = 6,
    height: int = 128,
) -> Html:
    """The images a run with these settings would use (the same subset the runner draws), the first ``show`` of
    them: colour original and the gray input methods see."""
    from colorbench.color import to_gray
    from colorbench.data.images import ImageLoadError, load_image
    from colorbench.data.index import open_dataset

    subset = open_dataset(dataset).subset(split=split, n_per_class=n_per_class, limit=limit, seed=seed)
    rendered, text = [], []
    for sample in subset.samples[:show]:
        name = f"{sample.label} ({sample.id})" if sample.label else sample.id
        try:
            rgb = load_image(sample.path).rgb
        except ImageLoadError as exc:
            rendered.append((name, [None, None]))
            text.append(f"  {name}: unreadable ({exc.reason})")
            continue
        rendered.append((name, [_thumbnail_uri(rgb, height), _thumbnail_uri(to_gray(rgb), height)]))
        text.append(f"  {name}: {rgb.shape[1]}x{rgb.shape[0]}")
    caption = f"dataset {subset.name}: {len(subset)} image(s) selected, showing {min(show, len(subset))}"
    return Html(_grid_html(["colour (truth)", "gray (what methods see)"], rendered, caption, height),
                "\n".join([caption, *text]))


# ------------------------------------------------------------------------------------------------- tables
def styled(
    df,
    *,
    caption: str | None = None,
    smoke: bool = False,
    precision: int = 4,
    lower_is_better: Iterable[str] = (),
    higher_is_better: Iterable[str] = (),
):
    """A pandas Styler for a DataFrame (or a list of row dicts): numbers at ``precision``, best value per named
    column in bold green, caption stamped in smoke runs. Columns named but absent are ignored (tables differ by what
    a run produced)."""
    import pandas as pd

    if not isinstance(df, pd.DataFrame):  # a list of row dicts, as several package helpers return
        df = pd.DataFrame(list(df))
    styler = df.style.format(precision=precision, na_rep="—")
    if isinstance(df.index, pd.RangeIndex):  # a row counter says nothing
        styler = styler.hide(axis="index")
    best = "font-weight:bold;color:#0a7d32"
    low = [c for c in lower_is_better if c in df.columns]
    high = [c for c in higher_is_better if c in df.columns]
    if low:
        styler = styler.highlight_min(subset=low, props=best)
    if high:
        styler = styler.highlight_max(subset=high, props=best)
    if caption or smoke:
        styler = styler.set_caption(stamp(caption or "", smoke))
        styler = styler.set_table_styles([{"selector": "caption",
                                           "props": "caption-side:top;font-weight:600;text-align:left"}],
                                         overwrite=False)
    return styler


def ensure_dataset(dataset: str = "samples"):
    """Open a dataset; ``"sports"`` is downloaded first when absent (Kaggle credentials needed; a verified copy is
    never downloaded again). ``"auto"``: sports when it is here or credentials can fetch it, else the bundled samples
    with a visible note saying how to get the sports data. Errors name the notebook's ``DATASET`` setting. Returns
    the DatasetIndex."""
    from colorbench.data.index import open_dataset
    from colorbench.data.kaggle import KaggleDownloadError, choose_auto_dataset, download

    if dataset == "auto":
        dataset, why = choose_auto_dataset()
        _show(banner(f'DATASET = "auto" chose "{dataset}": {why}', kind="warning" if dataset == "samples" else "info"))
    if dataset == "sports":
        try:
            return download()
        except KaggleDownloadError as exc:
            raise KaggleDownloadError(notebook_wording(str(exc))) from None
    return open_dataset(dataset)


def notebook_wording(message: str) -> str:
    """A CLI error message with its fix in the notebook's terms (the parameters cell, not command-line flags)."""
    return (message.replace("(--dataset samples)", '(DATASET = "samples" or "auto" in the parameters cell)')
            .replace("(--dataset PATH)", '(DATASET = "/path/to/folder")').replace("--dataset", "DATASET ="))


def dataset_table(dataset: str = "samples", *, split: str | None = None):
    """Images and classes per split of a dataset, plus how many listed files are missing (a partial download)."""
    import pandas as pd

    from colorbench.data.index import open_dataset

    index = open_dataset(dataset)
    missing = index.missing_by_split()
    splits = sorted({s.split or "-" for s in index.samples} | set(missing))
    if split is not None:
        splits = [s for s in splits if s == split]
    rows = []
    for name in splits:
        chosen = [s for s in index.samples if (s.split or "-") == name]
        rows.append({"split": name, "images": len(chosen), "classes": len({s.label for s in chosen}),
                     "missing files": missing.get(name, 0)})
    return pd.DataFrame(rows, columns=["split", "images", "classes", "missing files"])


def methods_table():
    """Every registered method: kind, the weights it needs, whether it can run here and why not (the same answer
    as ``colorbench methods``: :func:`colorbench.methods.readiness`), description."""
    import pandas as pd

    from colorbench.methods import method_class, method_names, readiness

    rows = []
    for name in method_names():
        try:
            cls = method_class(name)
        except ImportError as exc:
            rows.append({"method": name, "kind": "—", "weights": f"cannot import: {exc}", "ready": False,
                         "why not": f"cannot import: {exc}", "description": ""})
            continue
        try:
            needs = cls().weights()
        except Exception:  # noqa: BLE001 — a constructor that needs arguments: weights unknown until configured
            needs = []
        why_not = readiness(name)
        rows.append({"method": name, "kind": "stochastic" if cls.stochastic else "deterministic",
                     "weights": ", ".join(needs) or "none", "ready": why_not is None, "why not": why_not or "",
                     "description": cls.description})
    return pd.DataFrame(rows, columns=["method", "kind", "weights", "ready", "why not", "description"])


def run_table(run: str | os.PathLike | RunFolder):
    """Per method of a run: status (done / partial / skipped), images written and reused, failures, the reason."""
    import pandas as pd

    folder = run_folder(run)
    record = folder.run_record() or RunRecord()
    rows = []
    for name, st in record.method_status.items():
        rows.append({"method": name, "status": st.status or "", "written": st.written or 0,
                     "reused": st.reused or 0, "failed": st.failed or 0, "reason": st.reason or ""})
    return pd.DataFrame(rows, columns=["method", "status", "written", "reused", "failed", "reason"])


def timings_table(run: str | os.PathLike | RunFolder, methods: Sequence[str] | None = None):
    """Per method: images, total inference seconds, seconds per image, peak memory (from timings.csv)."""
    import pandas as pd

    folder = run_folder(run)
    rows = read_csv(folder.timings_csv)
    if methods is not None:
        rows = [r for r in rows if r["method"] in set(methods)]
    columns = ["method", "device", "images", "inference_s", "s_per_image", "peak_memory_mb"]
    if not rows:
        return pd.DataFrame(columns=columns)
    df = pd.DataFrame(rows)
    for c in ("n_images", "inference_s", "preprocess_s", "postprocess_s", "peak_memory_mb"):
        df[c] = pd.to_numeric(df[c], errors="coerce")
    out = df.groupby("method", sort=False).agg(device=("device", "last"), images=("n_images", "sum"),
                                                inference_s=("inference_s", "sum"),
                                                peak_memory_mb=("peak_memory_mb", "max")).reset_index()
    out["s_per_image"] = out["inference_s"] / out["images"].where(out["images"] > 0)
    return out[columns]


def stage_table(run: str | os.PathLike | RunFolder, methods: Sequence[str] | None = None):
    """Seconds per image in each stage a method reports (timings.csv ``stages``, e.g. ColTran's colorizer and
    upsamplers, a diffusion pipeline's edges and denoising); one row per method, one column per stage."""
    import pandas as pd

    folder = run_folder(run)
    totals: dict[str, dict[str, float]] = {}
    images: dict[str, int] = {}
    for row in read_csv(folder.timings_csv):
        if methods is not None and row["method"] not in set(methods):
            continue
        stages = json.loads(row.get("stages") or "{}")
        bucket = totals.setdefault(row["method"], {})
        for stage, seconds in stages.items():
            bucket[stage] = bucket.get(stage, 0.0) + float(seconds)
        images[row["method"]] = images.get(row["method"], 0) + int(row["n_images"] or 0)
    rows = [{"method": m, **{k: v / images[m] for k, v in st.items()}} for m, st in totals.items()
            if st and images.get(m)]
    return pd.DataFrame(rows).fillna(0.0) if rows else pd.DataFrame(columns=["method"])


def show_run(run: str | os.PathLike | RunFolder, methods: Sequence[str] | None = None) -> None:
    """Display a run's method status and timings (stamped in smoke runs); failures listed when there are any."""
    import pandas as pd

    folder = run_folder(run)
    smoke = is_smoke(folder)
    if smoke:
        _show(smoke_banner())
    status = run_table(folder)
    if methods is not None:
        status = status[status["method"].isin(list(methods))]
    _show(styled(status, caption=f"{folder.path.name}: methods", smoke=smoke))
    _show(styled(timings_table(folder, methods), caption="timings (inference only; CPU memory is process RSS)",
                 smoke=smoke, precision=3))
    stages = stage_table(folder, methods)
    if len(stages):
        _show(styled(stages, caption="seconds per image, by stage (as each method reports them)", smoke=smoke,
                     precision=3))
    failures = read_csv(folder.failures_csv)
    if methods is not None:
        failures = [f for f in failures if f["method"] in set(methods)]
    if failures:
        _show(styled(pd.DataFrame(failures), caption=f"{len(failures)} failed image(s)", smoke=smoke))


# ------------------------------------------------------------------------------------------------- links
def relative_link(target: Path, *, label: str) -> Html:
    """A link to ``target`` relative to where this notebook's output lives.

    `colorbench notebooks run` sets COLORBENCH_NOTEBOOK_DIR to the folder of the executed notebooks (so the link
    works in the exported HTML); interactively the notebook sits in ``<checkout>/notebooks``.
    """
    base = os.environ.get("COLORBENCH_NOTEBOOK_DIR")
    if base is None:
        repo = find_checkout()
        base = str(repo / "notebooks") if repo else os.getcwd()
    href = Path(os.path.relpath(Path(target).resolve(), Path(base).resolve())).as_posix()
    note = ""
    if in_colab():
        note = (" (in Colab: open the Files panel on the left, find the file, right-click > Download; "
                "with USE_DRIVE it is also in your Google Drive)")
    return Html(f"<p><a href='{html.escape(href)}' target='_blank'>{html.escape(label)}</a> "
                f"<code>{html.escape(str(target))}</code>{html.escape(note)}</p>",
                f"{label}: {target}{note}")



def report_link(run: str | os.PathLike | RunFolder) -> Html:
    """A link to the run's ``report.html`` (relative, so it works in the exported notebooks too)."""
    folder = run_folder(run)
    if not folder.report_html.is_file():
        raise FileNotFoundError(f"{folder.report_html} not found: build it first (colorbench report "
                                f"{folder.path.name})")
    return relative_link(folder.report_html, label=f"Open the report of {folder.path.name}")


def embed_report(run: str | os.PathLike | RunFolder, *, height: int = 900) -> Html:
    """The self-contained report.html shown inline in a sandboxed frame (its styles stay inside it); works in Colab,
    JupyterLab and the exported HTML alike."""
    folder = run_folder(run)
    page = folder.report_html.read_text(encoding="utf-8")
    frame = (f"<iframe srcdoc=\"{html.escape(page, quote=True)}\" sandbox style=\"width:100%;height:{height}px;"
             f"border:1px solid #ccc\" title=\"colorbench report\"></iframe>")
    return Html(frame, f"report {folder.report_html} ({len(page) // 1024} KiB)")


# ------------------------------------------------------------------------------------------------- scoring/report
def smoke_scoring(smoke: bool, *, fid: bool = True, cache: str | os.PathLike | None = None) -> dict[str, Any]:
    """Options for :func:`colorbench.metrics.score_run` in a smoke run: a seeded random LPIPS trunk and (with
    ``fid``) stand-in Inception weights, so the LPIPS and FID code paths run offline. The scorer then labels them
    "not LPIPS" / "not FID". Empty (the real metrics) when ``smoke`` is False.

    Example::

        score_run(run_path, fid=False, **smoke_scoring(True, fid=False))
    """
    if not smoke:
        return {}
    if not fid:
        return {"lpips_trunk": "uncalibrated"}
    import tempfile

    from colorbench.metrics.fid import uncalibrated_inception_weights

    folder = Path(cache) if cache else Path(tempfile.gettempdir()) / "colorbench-smoke"
    folder.mkdir(parents=True, exist_ok=True)
    weights = folder / "inception-uncalibrated.pt"
    if not weights.is_file():  # written aside and renamed: a concurrent smoke run never reads half a file
        partial = folder / f".inception-{os.getpid()}.pt"
        uncalibrated_inception_weights(partial)
        os.replace(partial, weights)
    return {"lpips_trunk": "uncalibrated", "fid_weights": weights}


def metric_status(summary: ScoreSummary | Mapping[str, Any]):
    """From a scoring summary (metrics.json): whether LPIPS and FID were computed, calibrated, and why not."""
    import pandas as pd

    summary = ScoreSummary.coerce(summary)
    rows = []
    for name in ("lpips", "fid"):
        info = getattr(summary, name)
        available = bool(info.available)
        calibrated = info.is_calibrated if available else None
        if not available:
            detail = info.why_unavailable or "not computed"
        elif not calibrated:
            detail = "stand-in weights (smoke): these numbers are NOT " + name.upper()
        else:
            detail = ", ".join(f"{k}={getattr(info, k)}" for k in ("net", "version", "trunk", "protocol")
                               if getattr(info, k))
        rows.append({"metric": name.upper(), "computed": available, "real weights": calibrated, "detail": detail})
    return pd.DataFrame(rows, columns=["metric", "computed", "real weights", "detail"])


def report_table(table, *, smoke: bool = False) -> Html:
    """A :class:`colorbench.report.tables.Table` as the report shows it (best values highlighted, notes below),
    stamped in smoke runs."""
    from colorbench.report.tables import TABLE_CSS, to_html, to_markdown

    stamp_html = (f"<p style='color:#a11;font-weight:700;margin:4px 0'>SMOKE — {html.escape(SMOKE_STAMP)}</p>"
                  if smoke else "")
    return Html(f"<style>{TABLE_CSS}</style>{stamp_html}{to_html(table)}",
                (f"[SMOKE — {SMOKE_STAMP}]\n" if smoke else "") + to_markdown(table))


def verdict(run: str | os.PathLike | RunFolder, *, smoke: bool = False) -> Html:
    """The report's verdict paragraph (``verdict.md``, written by the report) as the report shows it."""
    from colorbench.report.html import PAGE_CSS, _with_code

    folder = run_folder(run)
    if not folder.verdict_md.is_file():
        raise FileNotFoundError(f"{folder.verdict_md} not found: build the report first "
                                f"(colorbench report {folder.path.name})")
    text = folder.verdict_md.read_text(encoding="utf-8").strip()
    stamp_html = (f"<p style='color:#a11;font-weight:700;margin:4px 0'>SMOKE — {html.escape(SMOKE_STAMP)}</p>"
                  if smoke else "")
    return Html(f"<style>{PAGE_CSS}</style>{stamp_html}<div class='verdict'><b>Verdict.</b> {_with_code(text)}</div>",
                (f"[SMOKE — {SMOKE_STAMP}]\n" if smoke else "") + "Verdict: " + text)


def paired_statistics(content, *, smoke: bool = False) -> Html:
    """The report's paired-statistics section (the tables, or the one sentence that replaces them with one method
    or too few images) for ``build_report(..., return_content=True)``'s content."""
    from colorbench.report.html import _statistics
    from colorbench.report.tables import TABLE_CSS, to_markdown

    stamp_html = (f"<p style='color:#a11;font-weight:700;margin:4px 0'>SMOKE — {html.escape(SMOKE_STAMP)}</p>"
                  if smoke else "")
    shown = content.verdict.comparable and not content.verdict.too_few_images
    text = to_markdown(content.tables["pairwise"]) if shown else content.verdict.text
    return Html(f"<style>{TABLE_CSS}</style>{stamp_html}{_statistics(content, content.tables)}",
                (f"[SMOKE — {SMOKE_STAMP}]\n" if smoke else "") + text)


def figures_html(figures: Mapping[str, Any], captions: Mapping[str, str] | None = None, *, smoke: bool = False,
                 names: Sequence[str] | None = None, include_grids: bool = False) -> Html:
    """Matplotlib figures (e.g. ``build_report(..., return_content=True)[1].figures``) as embedded PNGs with their
    captions; independent of the notebook's matplotlib backend. The report's photo grids (``grid_*``, megabytes of
    PNG) are left out unless ``include_grids``: the report itself shows them."""
    parts, text = [], []
    chosen = list(names) if names is not None else [n for n in figures if include_grids or not n.startswith("grid_")]
    for name in chosen:
        fig = figures[name]
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=110)
        uri = "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")
        caption = stamp((captions or {}).get(name, name), smoke)
        parts.append(f"<figure style='margin:12px 0'><img src='{uri}' style='max-width:100%' "
                     f"alt='{html.escape(name)}'/>"
                     f"<figcaption style='font-size:0.9em'>{html.escape(caption)}</figcaption></figure>")
        text.append(f"[figure {name}] {caption}")
    return Html("".join(parts), "\n".join(text))
