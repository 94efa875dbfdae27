"""Setting up a notebook session: :func:`setup` (Colab, Google Drive and the caches on it, the working folder, the
GPU check, the smoke banner, the smoke/real guard of the run folder).

Usage (a sketch, not run by the doctests: it changes the working folder and caches)::

    from colorbench.notebook.environment import setup
    env = setup(run="demo", smoke=True)      # prints where weights/data/results go, warns on a CPU runtime
"""

from __future__ import annotations

import html
import importlib.util
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from colorbench import paths
from colorbench.notebook.render import SMOKE_STAMP, banner, display_or_print, smoke_banner
from colorbench.records import RunRecord
from colorbench.runfolder import RunFolder

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
    """The runner's smoke/real guard, before anything runs: a smoke run must not reuse a real run's images, nor a
    real run a smoke run's."""
    from colorbench.resume import check_smoke_kind

    folder = RunFolder(run_path)
    recorded = (folder.run_record() or RunRecord()).smoke if folder.run_json.exists() else None
    check_smoke_kind(folder, recorded, smoke, run_setting="RUN")


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

    Usage (a sketch, not run by the doctests: it changes the working folder and caches)::

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
        display_or_print(env)
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

