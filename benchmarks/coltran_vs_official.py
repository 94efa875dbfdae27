"""colorbench's ColTran stages side by side with Google's official TensorFlow code, same CPU, same weights.

Needs a local copy of the official ``coltran/`` folder (google-research/google-research; public repositories carry
it unchanged) — never committed here. Point at the folder that *contains* ``coltran/``::

    pip install tf_keras ml_collections        # beside tensorflow(-cpu) 2.x; not a colorbench dependency
    COLTRAN_OFFICIAL=/tmp/official PYTHONPATH=src python benchmarks/coltran_vs_official.py --stages color_upsampler

Without it the script says so and exits 0 (nothing to compare). Each stage (the colorizer's greedy sampling, or an
upsampler's argmax) is built the official way (``custom_colorize.build_model``: one call on zeros) with its full
config (or ``--config test|mh``, the shared fixtures' tiny configs) and random initial weights; the same
weights are copied into colorbench's model through the converter's name mapping, so the two must also give the same
argmax (the JSON records how many values differ). Each side runs ``--repeats`` times after one warm-up; the JSON has
wall and process-CPU seconds, min and median, their ratios (official ÷ colorbench, > 1 = colorbench faster), the
thread count both used and the load average (the machine may be shared: read the ratios with it).
Writes ``benchmarks/out/coltran_vs_official.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

# isort: off
import colorbench  # noqa: F401  (first: its OpenBLAS thread setting must precede numpy's load, as in a user's run)
import numpy as np
# isort: on
from peak import PollingPeak, rss_bytes

OUT = Path(__file__).resolve().parent / "out" / "coltran_vs_official.json"
FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "coltran"  # ../shared beside the checkout
STAGES = ("colorizer", "color_upsampler", "spatial_upsampler")
# The official spatial upsampler's peak memory per image (it runs the channels one after another): 2.30-2.31 GiB
# measured for one image (first_call_peak_extra_rss_bytes, with 1 and with all 3 encoder layers alike: the
# 256-way logits and one layer's activations). Batch 8 needs more than that times 8: its first call (1 encoder layer)
# was killed by the kernel's OOM killer at 23.7 GB resident on this 24 GiB machine (2026-11-26), so 3 GiB per image
OFFICIAL_SPATIAL_GIB_PER_IMAGE = 3.0


def PeakRSS() -> PollingPeak:
    """Peak resident memory above the level at entry, sampled every 20 ms (``peak.PollingPeak``): what one call adds
    on top of what the process already held (models, inputs), comparable for both libraries (TensorFlow's and torch's
    CPU allocators both return to the OS-visible RSS)."""
    return PollingPeak(rss_bytes, 0.02)


def summary(wall: list[float], cpu: list[float], extra: list[int], faults: list[int]) -> dict:
    return {"wall_s": wall, "cpu_s": cpu, "wall_min": min(wall), "wall_median": statistics.median(wall),
            "cpu_min": min(cpu), "cpu_median": statistics.median(cpu), "peak_extra_rss_bytes": max(extra),
            "minor_page_faults": faults}


def minor_faults() -> int:
    """Minor page faults of this process so far: fresh memory pages, whose kernel time counts as CPU time."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def timed_pair(fns: dict, repeats: int, warmup: int) -> tuple[dict, dict]:
    """Run the sides alternately (a, b, a, b, ...) so a change in the shared machine's load hits both alike."""
    outs, times = {}, {name: ([], [], [], []) for name in fns}
    first_call_extra = {}
    for _ in range(warmup):
        for name, fn in fns.items():
            with PeakRSS() as mem:
                outs[name] = fn()
            first_call_extra.setdefault(name, mem.extra_bytes)
    for _ in range(repeats):
        for name, fn in fns.items():
            with PeakRSS() as mem:
                w, c, f = time.perf_counter(), time.process_time(), minor_faults()
                outs[name] = fn()
                wall, cpu = time.perf_counter() - w, time.process_time() - c
                times[name][3].append(minor_faults() - f)
            times[name][0].append(wall)
            times[name][1].append(cpu)
            times[name][2].append(mem.extra_bytes)
            first_call_extra.setdefault(name, mem.extra_bytes)
            print(f"  {name}: wall {wall:.1f} s, cpu {cpu:.1f} s, +{mem.extra_bytes / 2**30:.2f} GiB, "
                  f"load {os.getloadavg()[0]:.1f}", flush=True)
    # TensorFlow's allocator keeps what its first call took, so later calls add ~0: the first call is the fair peak
    return outs, {name: {**summary(*t), "first_call_peak_extra_rss_bytes": first_call_extra[name]}
                  for name, t in times.items()}


def official_config(kind: str, config: str = "full"):
    """``coltran/configs/<kind>.py``'s get_config(), loaded by path as the official runner does (no package); for
    ``config`` "test"/"mh", the tiny config the shared ColTran fixtures were made with (their manifest's copy)."""
    import importlib.util

    import coltran

    if config != "full":
        import ml_collections

        manifest = FIXTURES / f"manifest_{config}_{kind}.json"
        if not manifest.is_file():
            raise SystemExit(f"{manifest} is missing: the tiny configs come from ../shared/fixtures/coltran")
        return ml_collections.ConfigDict(json.loads(manifest.read_text())["config"])

    path = Path(next(iter(coltran.__path__))) / "configs" / f"{kind}.py"
    spec = importlib.util.spec_from_file_location(f"official_{kind}_config", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.get_config()


def run_stage(kind: str, batch: int, repeats: int, threads: int, warmup: int, layers: int | None = None,
              config_name: str = "full") -> dict:
    import tensorflow as tf
    import torch
    from coltran.models import colorizer as official_colorizer
    from coltran.models import upsampler as official

    from colorbench.methods.coltran.config import config_from_dict, full_config
    from colorbench.methods.coltran.models import build_model
    from colorbench.methods.coltran.naming import load_tf_named
    from colorbench.methods.coltran.preprocess import bins_to_rgb
    from colorbench.methods.coltran.sampler import sample_colorizer

    side = 256 if kind == "spatial_upsampler" else 64
    config = official_config(kind, config_name)
    cfg = full_config(kind) if config_name == "full" else config_from_dict(kind, config.model.to_dict())
    if layers is not None and kind != "colorizer":  # fewer encoder layers on both sides: the same work each
        config.model.num_encoder_layers = layers
        cfg = replace(cfg, encoder=replace(cfg.encoder, num_layers=layers))
    # a second model in one process would get Keras's uniquified layer names (color_upsampler_1/...), which the
    # converter's name mapping rejects: start each stage from a fresh Keras session
    tf.keras.backend.clear_session()
    tf.random.set_seed(0)
    zero = tf.zeros((1, side, side, 3), dtype=tf.int32)
    if kind == "colorizer":
        tf_model = official_colorizer.ColTranCore(config.model)
        tf_model(zero, training=False)  # builds it, as custom_colorize does
    else:
        tf_model = (official.ColorUpsampler if kind == "color_upsampler" else official.SpatialUpsampler)(config.model)
        tf_model(inputs=zero, inputs_slice=zero[..., :1], training=False)
    ours = build_model(cfg)
    load_tf_named(ours, {v.name: v.numpy() for v in tf_model.variables}, source="official model")

    rng = np.random.default_rng(0)
    values = rng.integers(0, 8 if kind == "color_upsampler" else 256, (batch, side, side, 3)).astype(np.int32)
    gray = rng.integers(0, 256, (batch, side, side)).astype(np.int32)
    if kind == "colorizer":  # greedy sampling on both sides, compared as the coarse RGB the official code returns
        sides = {"official": lambda: tf_model.sample(tf.constant(gray[..., None]), mode="argmax")["auto_argmax"]
                 .numpy(),
                 "colorbench": lambda: bins_to_rgb(
                     sample_colorizer(ours, torch.as_tensor(gray), mode="argmax").bins.numpy())}
    else:
        key = "bit_up_argmax" if kind == "color_upsampler" else "high_res_argmax"
        sides = {"official": lambda: tf_model.sample(tf.constant(gray[..., None]), tf.constant(values),
                                                     mode="argmax")[key].numpy(),
                 "colorbench": lambda: ours.predict(torch.as_tensor(values), torch.as_tensor(gray)).numpy()}
    load_before = os.getloadavg()
    with torch.no_grad():
        outs, t = timed_pair(sides, repeats, warmup)
    theirs, mine = outs["official"], outs["colorbench"]
    t_official, t_ours = t["official"], t["colorbench"]
    return {"stage": kind, "config": config_name, "batch": batch, "threads": threads, "repeats": repeats,
            "warmup": warmup, "encoder_layers": cfg.encoder.num_layers,
            "full_encoder_layers": (full_config(kind) if config_name == "full" else cfg).encoder.num_layers,
            "official": t_official, "colorbench": t_ours,
            "ratio_wall_median": t_official["wall_median"] / t_ours["wall_median"],
            "ratio_cpu_median": t_official["cpu_median"] / t_ours["cpu_median"],
            "ratio_cpu_min": t_official["cpu_min"] / t_ours["cpu_min"],
            "argmax_values_differing": int((np.asarray(theirs) != mine).sum()), "argmax_values": int(mine.size),
            "load_average_before": load_before, "load_average_after": os.getloadavg()}


def run_matmul(repeats: int, threads: int) -> dict:
    """The upsamplers' dominant operation alone: a (3*64*64, 512) x (512, 1536) float32 product (the colour
    upsampler's fused q/k/v projection for one image), in TensorFlow and as colorbench's layers do it
    (``cpu_blas.matmul``: OpenBLAS or torch, whichever this CPU gets), alternating: the ratio a stage made of such
    products approaches."""
    import tensorflow as tf
    import torch

    from colorbench.methods.coltran import cpu_blas

    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((3 * 64 * 64, 512), np.float32), rng.standard_normal((512, 1536), np.float32)
    ta, tb, pa, pb = tf.constant(a), tf.constant(b), torch.from_numpy(a), torch.from_numpy(b)
    calls = 10  # one timed call is 10 products (~50 ms each): long enough to time
    load_before = os.getloadavg()
    _, t = timed_pair({"official": lambda: [tf.matmul(ta, tb).numpy() for _ in range(calls)],
                       "colorbench": lambda: [cpu_blas.matmul(pa, pb).numpy() for _ in range(calls)]}, repeats, 1)
    multiply_adds = calls * a.shape[0] * a.shape[1] * b.shape[1]
    library = "numpy (OpenBLAS)" if cpu_blas.uses_openblas() else "torch"
    return {"stage": "matmul",
            "what": f"{calls} x tf.matmul vs cpu_blas.matmul ({library}), (12288, 512) x (512, 1536) float32",
            "threads": threads, "repeats": repeats, "official": t["official"], "colorbench": t["colorbench"],
            "gflop_per_cpu_second": {side: 2 * multiply_adds / t[side]["cpu_median"] / 1e9 for side in t},
            "ratio_wall_median": t["official"]["wall_median"] / t["colorbench"]["wall_median"],
            "ratio_cpu_median": t["official"]["cpu_median"] / t["colorbench"]["cpu_median"],
            "load_average_before": load_before, "load_average_after": os.getloadavg()}


def git_commit() -> str | None:
    """The checked-out colorbench commit (with ``+dirty`` for uncommitted changes): which code the figures are of."""
    import subprocess

    root = Path(__file__).resolve().parent.parent
    try:
        sha = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--", "src"], capture_output=True,
                               text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return sha + ("+dirty" if dirty else "")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--official", type=Path, default=os.environ.get("COLTRAN_OFFICIAL"),
                    help="folder containing the official coltran/ (default: $COLTRAN_OFFICIAL)")
    ap.add_argument("--stages", nargs="+", default=["color_upsampler", "spatial_upsampler"],
                    choices=[*STAGES, "matmul"],
                    help="'colorizer': greedy sampling of the 64x64 coarse colours; 'matmul': the dominant product "
                         "alone, TensorFlow vs torch (no official code needed)")
    ap.add_argument("--config", choices=["full", "test", "mh"], default="full",
                    help="'full': the released models' configs; 'test'/'mh': the tiny configs of the shared ColTran "
                         "fixtures (../shared/fixtures/coltran/manifest_*.json)")
    ap.add_argument("--batches", type=int, nargs="+", default=[1])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--layers", type=int, default=None,
                    help="encoder layers on both sides (default: the full config's); the layers are identical in "
                         "work, so fewer of them give the per-layer speed in less time on a busy machine")
    ap.add_argument("--warmup", type=int, default=1, help="untimed calls per side before the timed ones")
    ap.add_argument("--append", action="store_true", help="add the runs to an existing --out JSON")
    ap.add_argument("--threads", type=int, default=2, help="intra-op threads for both TensorFlow and torch")
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--max-official-gib", type=float, default=6.0,
                    help="skip (and record as not run) an official spatial-upsampler batch whose estimated peak "
                         f"memory ({OFFICIAL_SPATIAL_GIB_PER_IMAGE} GiB per image) exceeds this")
    args = ap.parse_args()
    if not args.official or not (Path(args.official) / "coltran" / "models" / "upsampler.py").is_file():
        print(f"skipped: no official ColTran code (got {args.official!r}); pass --official DIR or set COLTRAN_OFFICIAL "
              "to a folder containing coltran/ (google-research/google-research's coltran folder)")
        return 0
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")  # the official code is Keras 2 (tf_keras) code
    # the official folder has no __init__.py (a namespace package), which benchmarks/coltran.py would shadow
    sys.path[:] = [str(Path(args.official).resolve())] + [p for p in sys.path
                                                          if Path(p or ".").resolve() != Path(__file__).parent]
    import tensorflow as tf
    import torch

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    torch.set_num_threads(args.threads)
    report = {"what": "official TF ColTran vs colorbench, argmax upsamplers, same random weights, CPU",
              "tensorflow": tf.__version__, "torch": torch.__version__, "cpu_count": os.cpu_count(),
              "load_average_at_start": os.getloadavg(), "colorbench_commit": git_commit(), "runs": []}
    if args.append and args.out.is_file():
        earlier = json.loads(args.out.read_text())
        report["runs"] = earlier["runs"]
        for run in report["runs"]:  # each run keeps the commit it measured; the top-level one is this process's
            run.setdefault("colorbench_commit", earlier.get("colorbench_commit"))
    for stage in args.stages:
        if stage == "matmul":
            report["runs"].append({**run_matmul(args.repeats, args.threads),
                                   "colorbench_commit": report["colorbench_commit"]})
            print(json.dumps({k: v for k, v in report["runs"][-1].items() if k not in ("official", "colorbench")}),
                  flush=True)
            from _machine import write_json  # records the machine; benchmarks/ is first on sys.path

            write_json(args.out, report)
            continue
        for batch in args.batches:
            need = OFFICIAL_SPATIAL_GIB_PER_IMAGE * batch
            if stage == "spatial_upsampler" and args.config == "full" and need > args.max_official_gib:
                report["runs"].append({
                    "stage": stage, "config": args.config, "batch": batch, "threads": args.threads, "not_run":
                        f"the official code would need ~{need:.0f} GiB ({OFFICIAL_SPATIAL_GIB_PER_IMAGE} GiB per "
                        f"image), over --max-official-gib {args.max_official_gib:g} on this shared machine"})
                print(json.dumps(report["runs"][-1]), flush=True)
                continue
            report["runs"].append({**run_stage(stage, batch, args.repeats, args.threads, args.warmup, args.layers,
                                               args.config), "colorbench_commit": report["colorbench_commit"]})
            print(json.dumps({k: v for k, v in report["runs"][-1].items() if k not in ("official", "colorbench")}),
                  flush=True)
            args.out.parent.mkdir(parents=True, exist_ok=True)
            from _machine import write_json  # records the machine; benchmarks/ is first on sys.path

            write_json(args.out, report)
    report["load_average_at_end"] = os.getloadavg()
    from _machine import write_json  # records the machine; benchmarks/ is first on sys.path

    write_json(args.out, report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
