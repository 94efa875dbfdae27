"""Installed size of colorbench with each Makefile extras set, from an environment that has everything installed.

For each set (the old `make` default, `make demo`, `make test`, `.ci/run`'s `all`) it walks the dependency closure
of ``colorbench[EXTRAS]`` through the installed distributions' metadata and adds up the file sizes their RECORDs
list. No installing: it measures what a fresh venv of that set would hold (without pip itself and without packages
another set might have pulled in), on this platform. Writes ``benchmarks/out/install_size.json``.

    /work/main/.venv/bin/python benchmarks/install_size.py
"""

from __future__ import annotations

import platform
import re
import sys
from importlib import metadata
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from install_time import install_sets  # noqa: E402  (the sets' one definition: the Makefile, and the old default)

_SETS = install_sets()
SETS = {
    "before (make demo / make test until issue 15)": _SETS["old"],
    "make demo": _SETS["demo"],
    "make test": _SETS["test"],
    ".ci/run (all)": "all",
}


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _project_requires() -> list[str]:
    """colorbench's requirements from pyproject.toml, as Requires-Dist lines: the installed metadata of an editable
    install is as old as its last `pip install` and may lack an extra added since (it lacked `judge`)."""
    import tomllib

    project = tomllib.loads((Path(__file__).resolve().parent.parent / "pyproject.toml").read_text())["project"]
    lines = list(project["dependencies"])
    for extra, reqs in project["optional-dependencies"].items():
        for req in reqs:
            req, _, marker = req.partition(";")
            lines.append(f"{req.strip()}; ({marker.strip()}) and extra == '{extra}'" if marker
                         else f"{req.strip()}; extra == '{extra}'")
    return lines


class _Project:
    requires = _project_requires()


def _dist(name: str):
    if _norm(name) == "colorbench":
        return _Project
    try:
        return metadata.distribution(name)
    except metadata.PackageNotFoundError:
        return None


def _requirements(dist, extras: set[str]) -> list[tuple[str, set[str]]]:
    from packaging.requirements import Requirement

    out = []
    for text in dist.requires or []:
        req = Requirement(text)
        env_ok = req.marker is None or any(req.marker.evaluate({"extra": e}) for e in (extras or {""}))
        if req.marker is not None and "extra" not in str(req.marker):
            env_ok = req.marker.evaluate({"extra": ""})
        if env_ok:
            out.append((req.name, set(req.extras)))
    return out


def closure(root: str, extras: set[str]) -> set[str]:
    seen: set[str] = set()
    todo = [(root, extras)]
    expanded: set[tuple[str, frozenset]] = set()
    while todo:
        name, ex = todo.pop()
        key = (_norm(name), frozenset(ex))
        if key in expanded:
            continue
        expanded.add(key)
        dist = _dist(name)
        if dist is None:
            continue
        seen.add(_norm(name))
        for req, req_extras in _requirements(dist, ex):
            if _norm(req) == _norm(root):  # colorbench[all] -> colorbench[kaggle,...]
                todo.append((root, req_extras))
            else:
                todo.append((req, req_extras))
    return seen


def installed_bytes(name: str) -> int:
    dist = _dist(name)
    total = 0
    for f in dist.files or []:
        path = Path(dist.locate_file(f))
        if path.is_file():
            total += path.stat().st_size
    return total


def main() -> None:
    result = {"python": sys.version.split()[0], "platform": platform.platform(), "method": __doc__.split("\n\n")[1],
              "sets": {}}
    for label, extras in SETS.items():
        names = closure("colorbench", set(extras.split(",")))
        names.discard("colorbench")
        sizes = {n: installed_bytes(n) for n in names}
        top = sorted(sizes.items(), key=lambda kv: -kv[1])[:8]
        result["sets"][label] = {"extras": extras, "packages": len(names), "mib": round(sum(sizes.values()) / 2**20),
                                 "largest_mib": {n: round(b / 2**20) for n, b in top}}
        print(f"{label:48s} {extras:60s} {len(names):4d} packages {sum(sizes.values()) / 2**30:6.2f} GiB")
    out = Path(__file__).resolve().parent / "out" / "install_size.json"
    out.parent.mkdir(exist_ok=True)
    from _machine import write_json  # records the machine; benchmarks/ is first on sys.path

    write_json(out, result)
    print(f"-> {out}")


if __name__ == "__main__":
    main()
