"""`make colab-check`: the notebooks' Colab path on a copy of Colab's own Python stack (not in CI: it installs GBs).

1. A Python 3.13 venv gets Colab's published GPU package set (``tools/colab/pip-freeze.gpu.<date>.txt``, a copy of
   googlecolab/backend-info's ``pip-freeze.gpu.txt``), each at Colab's version, without dependency resolution (that
   is the set Colab has). Lines Colab installs from its own URLs (``pkg @ https://...``) cannot be had here: listed.
2. Each notebook runs in it as Colab runs it — its setup cell unchanged but for the clone folder (``/content`` ->
   a temporary one, which is also the kernel's working folder, as in Colab), REPO pointing at this checkout, SMOKE on,
   a stand-in ``google.colab`` (``drive.mount``, ``userdata.get``) — so each installs its extra exactly as its setup
   cell does. Between notebooks colorbench is uninstalled and the clone removed (a fresh runtime per notebook; the
   extras installed before stay, which Colab would not keep).
3. After each notebook, every package of Colab's list is compared with what is installed: any change fails it.
4. Notebook 01 first runs with an install that fails (an unreachable package index), then again: the rerun must pass.

Writes one row per notebook (packages changed, pass/fail, wall time, saved size) to benchmarks/out/colab_check.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FREEZE = sorted((ROOT / "tools" / "colab").glob("pip-freeze.gpu.*.txt"))[-1]
OUT = ROOT / "benchmarks" / "out" / "colab_check.json"
MAX_SAVED_BYTES = 2 * 2**20
#: written by the stand-in drive.mount into the "Drive" it makes, so a later check may empty it (and only that one)
STAND_IN_MARK = ".made-by-colab-check"
DRIVE = Path("/content/drive")
STAND_IN = {  # google.colab as the notebooks use it; google/ stays a namespace package (protobuf lives there too)
    "google/colab/__init__.py": "",
    # imported by packages of Colab's list once google.colab is there (ipyleaflet, reached from diffusers' imports)
    "google/colab/output.py": ("def enable_custom_widget_manager(*args, **kwargs):\n    pass\n\n"
                               "def register_callback(*args, **kwargs):\n    pass\n"),
    "google/colab/drive.py": ("import os\n\ndef mount(path, **kwargs):\n    os.makedirs(path, exist_ok=True)\n"
                              f"    open(os.path.join(path, {STAND_IN_MARK!r}), 'w').close()\n"),
    "google/colab/userdata.py": ("import os\n\nclass SecretNotFoundError(Exception):\n    pass\n\n"
                                 "def get(key):\n    if key not in os.environ:\n"
                                 "        raise SecretNotFoundError(key)\n    return os.environ[key]\n"),
}


def colab_pins(path: Path = FREEZE) -> tuple[dict[str, str], list[str]]:
    """(name -> version as Colab has it, lines that are not name==version: installed from Colab's own URLs)."""
    pins, other = {}, []
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, version = line.partition("==")
        if sep:
            pins[_norm(name)] = version
        else:
            other.append(line)
    return pins, other


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def installed(python: Path) -> dict[str, str]:
    out = subprocess.run([str(python), "-m", "pip", "list", "--format=json"], capture_output=True, text=True,
                         check=True).stdout
    return {_norm(p["name"]): p["version"] for p in json.loads(out)}


def changed(pins: dict[str, str], now: dict[str, str], baseline: dict[str, str]) -> list[str]:
    """Colab's packages whose installed version differs from the stack as built (baseline), as 'name a -> b'."""
    return [f"{name} {baseline[name]} -> {now.get(name, 'removed')}" for name in sorted(pins)
            if name in baseline and now.get(name) != baseline[name]]


def find_python313() -> str:
    for candidate in [shutil.which("python3.13"), *sorted(Path.home().glob(".pyenv/versions/3.13*/bin/python3.13"))]:
        if candidate and subprocess.run([str(candidate), "-c", "import sys; assert sys.version_info[:2] == (3, 13)"],
                                        capture_output=True).returncode == 0:
            return str(candidate)
    raise SystemExit("colab-check needs Python 3.13 (Colab's): install it (e.g. `pyenv install 3.13`) or pass "
                     "--python /path/to/python3.13")


def build_stack(venv: Path, python: str, pins: dict[str, str]) -> dict:
    """Colab's packages at Colab's versions, without resolution; what pip cannot install here is listed. Built once
    per package list (about 50 minutes from PyPI): a venv whose stamp names the same list is used as it is."""
    stamp = venv / ".colab-stack.json"
    if stamp.is_file():
        built = json.loads(stamp.read_text())
        if built.get("colab_list") == FREEZE.name and built.get("pins") == len(pins):
            return {"not_installable_here": built["not_installable_here"]}
    if not (venv / "bin" / "python").exists():
        subprocess.run([python, "-m", "venv", str(venv)], check=True)
    py = venv / "bin" / "python"
    wanted = [f"{name}=={version.split('+')[0]}" for name, version in pins.items()]  # +cu128: PyPI's default build
    reqs = venv / "colab-requirements.txt"
    reqs.write_text("\n".join(wanted) + "\n")
    failed = []
    if subprocess.run([str(py), "-m", "pip", "install", "--quiet", "--no-deps", "-r", str(reqs)]).returncode != 0:
        # in chunks, then one at a time inside a failing chunk, to name what cannot be had here (no wheel for this
        # Python, a build needing system libraries, e.g. cyipopt's ipopt): one by one from the start took hours
        for start in range(0, len(wanted), 40):
            chunk = wanted[start:start + 40]
            if subprocess.run([str(py), "-m", "pip", "install", "--quiet", "--no-deps", *chunk],
                              capture_output=True).returncode == 0:
                continue
            for req in chunk:
                if subprocess.run([str(py), "-m", "pip", "install", "--quiet", "--no-deps", req],
                                  capture_output=True).returncode != 0:
                    failed.append(req)
    stamp.write_text(json.dumps({"colab_list": FREEZE.name, "pins": len(pins), "not_installable_here": failed}))
    return {"not_installable_here": failed}


# PyPI's torch 2.11.0 is the CUDA 13 build, whose metadata requires cuda-toolkit 13.0.2 and nvidia-*-cu13; Colab's
# torch 2.11.0+cu128 comes from PyTorch's own index (unreachable here) and runs on the CUDA 12 packages Colab's list
# pins (cuda-toolkit 12.8.1, nvidia-*-cu12). Left as is, every constrained install in the stand-in is refused for a
# conflict Colab does not have ("torch 2.11.0 depends on cuda-toolkit==13.0.2; constraint cuda-toolkit==12.8.1").
CUDA13_REQUIREMENT = re.compile(r"^Requires-Dist: (cuda-toolkit|cuda-bindings|nvidia-[a-z-]+-cu13)\b.*$\n?", re.M)


def as_colab_cuda12_build(venv: Path) -> list[str]:
    """Drop the CUDA 13 requirements from the stand-in torch's metadata (what Colab's cu128 build does not declare);
    returns the lines dropped (recorded in the table), none when already done."""
    dropped = []
    for metadata in (venv / "lib").glob("python3.*/site-packages/torch-*.dist-info/METADATA"):
        text = metadata.read_text()
        dropped += [m.group(0).strip() for m in CUDA13_REQUIREMENT.finditer(text)]
        metadata.write_text(CUDA13_REQUIREMENT.sub("", text))
    return dropped


# ... and without its CUDA 13 libraries torch does not import at all ("libcufft.so.12: cannot open shared object
# file"): the stand-in gets them under their own names (cuda-toolkit 13.0.2's [cublas,cudart,...] extras, then the
# -cu13 ones), none of which is on Colab's list, so no package Colab pins changes. Colab's own torch finds its CUDA 12
# libraries among the nvidia-*-cu12 packages the list pins.
CUDA13_LIBRARIES = ["nvidia-cublas==13.1.0.3.*", "nvidia-cuda-runtime==13.0.96.*", "nvidia-cufft==12.0.0.61.*",
                    "nvidia-cufile==1.15.1.6.*", "nvidia-cuda-cupti==13.0.85.*", "nvidia-curand==10.4.0.35.*",
                    "nvidia-cusolver==12.0.4.66.*", "nvidia-cusparse==12.6.3.3.*", "nvidia-nvjitlink==13.0.88.*",
                    "nvidia-cuda-nvrtc==13.0.88.*", "nvidia-nvtx==13.0.85.*", "nvidia-cudnn-cu13==9.19.0.56",
                    "nvidia-cusparselt-cu13==0.8.0", "nvidia-nccl-cu13==2.28.9", "nvidia-nvshmem-cu13==3.4.5"]


def torch_imports(venv: Path) -> bool:
    return subprocess.run([str(venv / "bin" / "python"), "-c", "import torch"], capture_output=True).returncode == 0


def give_torch_its_libraries(venv: Path) -> list[str]:
    """Install the stand-in torch's CUDA 13 libraries when it cannot import without them; returns what was added."""
    if torch_imports(venv):
        return []
    subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--no-deps", *CUDA13_LIBRARIES],
                   check=True)
    if not torch_imports(venv):
        raise SystemExit("colab-check: the stand-in torch still does not import after adding its CUDA 13 libraries")
    return CUDA13_LIBRARIES


def _notebook_for_colab(stem: str, content: Path, repo: str) -> Path:
    import nbformat

    book = nbformat.read(ROOT / "notebooks" / f"{stem}.ipynb", as_version=4)
    setup = book.cells[2]
    setup.source = setup.source.replace("/content/colorbench", str(content / "colorbench"))
    overrides = nbformat.v4.new_code_cell(f"SMOKE = True\nDEVICE = 'cpu'\nREPO = {repo!r}\nLIMIT = 4")
    book.cells.insert(2, overrides)  # after the parameters cell, as papermill's injected parameters go
    path = content / f"{stem}.ipynb"
    nbformat.write(book, path)
    return path


def run_notebook(stem: str, py: Path, content: Path, stand_in: Path, env_extra: dict | None = None) -> dict:
    """Execute one notebook in a kernel of the Colab venv; returns pass/fail, wall time, saved size."""
    path = _notebook_for_colab(stem, content, repo=f"file://{ROOT}")
    env = {**os.environ, "PYTHONPATH": str(stand_in), **(env_extra or {})}
    env.pop("VIRTUAL_ENV", None)
    started = time.perf_counter()
    done = subprocess.run([str(py), "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute", "--inplace",
                           "--ExecutePreprocessor.timeout=1800", "--ExecutePreprocessor.kernel_name=python3",
                           str(path)], cwd=content, env=env, capture_output=True, text=True)
    return {"notebook": stem, "passed": done.returncode == 0, "wall_s": round(time.perf_counter() - started, 1),
            "saved_bytes": path.stat().st_size, "error": None if done.returncode == 0 else done.stderr[-2000:]}


def fresh_runtime(py: Path, content: Path) -> None:
    subprocess.run([str(py), "-m", "pip", "uninstall", "--quiet", "-y", "colorbench"], capture_output=True)
    shutil.rmtree(content / "colorbench", ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--python", help="a Python 3.13 (default: python3.13 on PATH or pyenv's)")
    parser.add_argument("--venv", type=Path, default=ROOT / ".colab-venv", help="where the Colab stack is built")
    parser.add_argument("--only", action="append", help="notebook stems to run (default: all)")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    pins, from_urls = colab_pins()
    python = args.python or find_python313()
    stack = build_stack(args.venv, python, pins)
    # what makes the stand-in differ from Colab, said in every table (done once per venv, so listed as the rule)
    stack["stand_in_torch"] = {"metadata_requirements_dropped_now": as_colab_cuda12_build(args.venv),
                               "rule": CUDA13_REQUIREMENT.pattern,
                               "libraries_added_now": give_torch_its_libraries(args.venv),
                               "libraries": CUDA13_LIBRARIES}
    py = args.venv / "bin" / "python"
    baseline = installed(py)
    stand_in = Path(tempfile.mkdtemp(prefix="colab-stand-in-"))
    for rel, text in STAND_IN.items():
        (stand_in / rel).parent.mkdir(parents=True, exist_ok=True)
        (stand_in / rel).write_text(text)
    content = Path(tempfile.mkdtemp(prefix="content-"))
    if (DRIVE / STAND_IN_MARK).is_file():  # a fresh Colab account's Drive: an earlier check's runs are not in it
        shutil.rmtree(DRIVE)
    stems = args.only or sorted(p.stem for p in (ROOT / "notebooks").glob("0*.ipynb"))
    rows = []
    for stem in stems:
        fresh_runtime(py, content)
        if stem.startswith("01"):  # an install that fails first (no package index), then "Run all" again
            # no index at all: this machine's pip configuration adds local wheel folders, which would let it succeed
            failed = run_notebook(stem, py, content, stand_in, {"PIP_INDEX_URL": "http://127.0.0.1:9/simple",
                                                                "PIP_CONFIG_FILE": os.devnull, "PIP_NO_CACHE_DIR": "1",
                                                                "PIP_RETRIES": "0", "PIP_TIMEOUT": "2"})
            failed_row = {**failed, "notebook": f"{stem} (install fails: expected to fail)",
                          "packages_changed": changed(pins, installed(py), baseline)}
            failed_row["ok"] = not failed["passed"] and not failed_row["packages_changed"]
            rows.append(failed_row)
            print(f"{failed_row['notebook']}: {'pass' if failed_row['ok'] else 'FAIL'}  {failed['wall_s']} s",
                  flush=True)
        row = run_notebook(stem, py, content, stand_in)
        if stem.startswith("01"):
            row["notebook"] = f"{stem} (rerun after the failed install)"
        row["packages_changed"] = changed(pins, installed(py), baseline)
        row["ok"] = row["passed"] and not row["packages_changed"] and row["saved_bytes"] <= MAX_SAVED_BYTES
        rows.append(row)
        print(f"{row['notebook']}: {'pass' if row['ok'] else 'FAIL'}  {row['wall_s']} s  "
              f"{row['saved_bytes'] / 2**20:.2f} MB  changed: {row['packages_changed'] or 'none'}", flush=True)
    result = {"colab_list": FREEZE.name, "python": subprocess.run([str(py), "-V"], capture_output=True,
                                                                   text=True).stdout.strip(),
              "machine": {"platform": platform.platform(), "cpu_count": os.cpu_count()},
              "colab_lines_from_own_urls_not_installed": from_urls, **stack, "notebooks": rows}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {args.out}")
    return 0 if all(r.get("ok", True) for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
