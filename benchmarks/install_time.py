"""Install time and size of colorbench for each Makefile extras set, measured by installing each into a fresh venv.

For each set (the old `make` default before the lean install of issue 15, `make demo`'s, `make test`'s) it runs
`make setup VENV=<scratch venv> EXTRAS=<set>` in a clone of this repository's HEAD (so the recipe, pip flags and
constraints are exactly the Makefile's: `python3 -m venv --system-site-packages`, `pip install --upgrade pip`,
`pip install -c .ci/constraints.txt -e ".[EXTRAS]"`), and records the wall time, the CPU time of make and all its
children, the venv's size (`du`), the packages in it and the load average before and after. The sets run
interleaved (round 1: old, demo, test; round 2: ...) so that they share the machine's load conditions; each venv is
deleted right after it is measured.

Cache: `warm` uses a pip cache dir of its own (`--cache-dir`), filled beforehand by `--prime` (one untimed-for-
comparison install of the union of all sets into a throwaway venv); `cold` sets PIP_NO_CACHE_DIR=1, so every wheel
pip fetches over the network is fetched again (wheels pip finds on a local index or in `--find-links` folders are
read from disk either way; the JSON records pip's configuration so you can see which). On a shared machine the
times are upper bounds: the JSON records the load average before and after each install.

    python3 benchmarks/install_time.py --prime --cache warm --rounds 1     # ~10-30 min, ~8 GiB free disk needed
    python3 benchmarks/install_time.py --cache cold --sets demo            # one set, no cache

Writes ``benchmarks/out/install_time.json`` (after every install, so an interrupted run keeps what it measured).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "benchmarks" / "out" / "install_time.json"
# What `make` installed for both `make demo` and `make test` before the lean install (Makefile before commit 7665dbc);
# the recipe itself is unchanged, only the extras differ.
OLD_EXTRAS = "metrics,cnn,coltran,convert,diffusion,notebooks,kaggle,test"


def makefile_extras(name: str, makefile: Path = REPO / "Makefile") -> str:
    """The value of ``NAME ?= ...`` in the Makefile: the one definition of the demo and test extras."""
    match = re.search(rf"^{name}\s*\?=\s*(\S+)\s*$", makefile.read_text(), re.MULTILINE)
    if not match:
        raise SystemExit(f"{makefile}: no '{name} ?= ...' line; update benchmarks/install_time.py to the Makefile")
    return match.group(1)


def install_sets() -> dict[str, str]:
    return {"old": OLD_EXTRAS, "demo": makefile_extras("DEMO_EXTRAS"), "test": makefile_extras("TEST_EXTRAS")}


def machine() -> dict:
    cpu = platform.processor() or platform.machine()
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem = next((line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                if line.startswith("MemTotal:")), None)
    return {"cpu": cpu, "cores": os.cpu_count(), "mem_gib": round(int(mem) / 2**20, 1) if mem else None,
            "platform": platform.platform(), "python": platform.python_version(),
            "note": "shared by several developers' jobs: the times are upper bounds; see each install's load average"}


def pip_setup() -> dict:
    """Where pip gets wheels here (a local index or find-links folder makes those wheels disk reads, cache or not)."""
    config = subprocess.run([sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True).stdout
    keys = ("index-url", "extra-index-url", "find-links", "constraint", "no-cache-dir")
    lines = [line for line in config.splitlines() if any(k in line for k in keys)]
    env = {k: v for k, v in os.environ.items() if k.startswith("PIP_") and "CERT" not in k}
    return {"pip_config": lines, "pip_env": env, "pip": subprocess.run(
        [sys.executable, "-m", "pip", "--version"], capture_output=True, text=True).stdout.split(" from ")[0]}


def du_mib(path: Path, apparent: bool) -> float:
    cmd = ["du", "-s", "-B1"] + (["--apparent-size"] if apparent else []) + [str(path)]
    return round(int(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.split()[0]) / 2**20)


def count_packages(venv: Path) -> int:
    """Distributions installed into the venv itself (not those seen through --system-site-packages)."""
    site = next(venv.glob("lib/python*/site-packages"))
    return sum(1 for p in site.iterdir() if p.name.endswith(".dist-info"))


def wheel_sources(report_path: Path) -> dict:
    """From pip's installation report: how many of the installed items pip read from a local folder or index (file://,
    with their total size: what a machine without such a mirror downloads instead) and which it fetched over the
    network."""
    from urllib.parse import unquote, urlparse

    items = json.loads(report_path.read_text())["install"]
    local_bytes, local, network = 0, 0, []
    for item in items:
        url = item["download_info"]["url"]
        if url.startswith("file://"):
            path = Path(unquote(urlparse(url).path))
            if path.is_file():
                local += 1
                local_bytes += path.stat().st_size
        else:
            network.append(item["metadata"]["name"])
    return {"installed_by_pip": len(items), "from_local_files": local,
            "local_files_mib": round(local_bytes / 2**20), "fetched_over_network": sorted(network)}


def install_once(src: Path, venv: Path, extras: str, cache: str, cache_dir: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "EXTRAS")}
    # pip's --report, by environment so the Makefile's command stays as it is; the last pip call (the install) wins
    report_path = venv.parent / "pip-report.json"
    report_path.unlink(missing_ok=True)
    env["PIP_REPORT"] = str(report_path)
    if cache == "cold":
        env["PIP_NO_CACHE_DIR"] = "1"
        env.pop("PIP_CACHE_DIR", None)
    else:
        env["PIP_CACHE_DIR"] = str(cache_dir)
        env.pop("PIP_NO_CACHE_DIR", None)
    shutil.rmtree(venv, ignore_errors=True)
    cmd = ["make", "-C", str(src), "setup", f"VENV={venv}", f"EXTRAS={extras}"]
    load_before = os.getloadavg()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    load_after = os.getloadavg()
    record = {"extras": extras, "cache": cache, "started_utc": started, "exit_status": proc.returncode,
              "wall_s": round(wall, 1),
              "cpu_user_s": round(after.ru_utime - before.ru_utime, 1),
              "cpu_system_s": round(after.ru_stime - before.ru_stime, 1),
              "load_average_before": [round(x, 2) for x in load_before],
              "load_average_after": [round(x, 2) for x in load_after]}
    if proc.returncode != 0:
        record["error_tail"] = (proc.stdout + proc.stderr)[-2000:]
    elif venv.exists():
        record.update(venv_mib_apparent=du_mib(venv, apparent=True), venv_mib_on_disk=du_mib(venv, apparent=False),
                      packages_in_venv=count_packages(venv))
        if report_path.exists():
            record["wheels"] = wheel_sources(report_path)
    if cache == "warm":  # pip caches what it fetched over the network and wheels it built from sdists, nothing else
        record["cache_dir_mib_after"] = du_mib(cache_dir, apparent=True) if cache_dir.exists() else 0
    shutil.rmtree(venv, ignore_errors=True)
    return record


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sets", default="old,demo,test", help="comma-separated, from: old, demo, test")
    parser.add_argument("--cache", choices=["warm", "cold", "both"], default="warm")
    parser.add_argument("--rounds", type=int, default=1, help="how many times to install each set (interleaved)")
    parser.add_argument("--cache-dir", type=Path, default=Path(tempfile.gettempdir()) / "colorbench-pipcache",
                        help="pip cache for the warm installs (kept, so a later call is warm too; delete it after)")
    parser.add_argument("--prime", action="store_true", help="first fill --cache-dir by installing the union of the "
                                                             "sets once (recorded apart, not compared)")
    parser.add_argument("--scratch", type=Path, default=Path(tempfile.gettempdir()),
                        help="where the scratch venvs and the clone go (never the project's .venv)")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    sets = install_sets()
    chosen = [s.strip() for s in args.sets.split(",")]
    unknown = [s for s in chosen if s not in sets]
    if unknown:
        parser.error(f"--sets: unknown {unknown}; choose from {sorted(sets)}")
    caches = ["warm", "cold"] if args.cache == "both" else [args.cache]
    commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True).stdout
    report = {"what": __doc__.split("\n\n")[1].replace("\n", " "), "machine": machine(), **pip_setup(),
              "commit": commit.strip(), "sets": {s: sets[s] for s in chosen}, "cache_dir": str(args.cache_dir),
              "installs": []}

    def save() -> None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        from _machine import write_json  # records the machine; benchmarks/ is first on sys.path

        write_json(args.out, report)

    with tempfile.TemporaryDirectory(prefix="colorbench-install-", dir=args.scratch) as tmp:
        src = Path(tmp) / "src"
        # a clone of HEAD: `pip install -e` writes build metadata into the source tree, which must not be yours
        subprocess.run(["git", "clone", "--quiet", str(REPO), str(src)], check=True)
        venv = Path(tmp) / "venv"
        if args.prime:
            union = ",".join(sorted({e for s in chosen for e in sets[s].split(",")}))
            print(f"priming {args.cache_dir} with [{union}] ...", flush=True)
            report["prime"] = install_once(src, venv, union, "warm", args.cache_dir)
            save()
        if "warm" in caches:
            report["cache_dir_mib_before_warm_installs"] = du_mib(args.cache_dir, apparent=True) \
                if args.cache_dir.exists() else 0
        for cache in caches:
            for round_no in range(1, args.rounds + 1):
                for name in chosen:
                    print(f"{cache} round {round_no}: {name} [{sets[name]}] ...", flush=True)
                    record = install_once(src, venv, sets[name], cache, args.cache_dir)
                    report["installs"].append({"set": name, "round": round_no, **record})
                    save()
                    print(f"  {record['wall_s']} s wall, {record['cpu_user_s'] + record['cpu_system_s']:.0f} s CPU, "
                          f"{record.get('venv_mib_apparent', '?')} MiB, load {record['load_average_before'][0]} -> "
                          f"{record['load_average_after'][0]}, exit {record['exit_status']}", flush=True)
    print(f"-> {args.out}")
    return report


if __name__ == "__main__":
    main()
