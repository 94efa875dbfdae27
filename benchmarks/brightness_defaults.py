"""Measure ``controlnet-brightness``'s defaults: LPIPS of the L-merged output vs the true colours, per setting.

The model card of ``ioclab/control_v1p_sd15_brightness`` gives no conditioning scale, guidance or steps; its
authors' card for the sibling illumination ControlNet recommends a weight of 0.4–0.9 and an exit timing of 0.4–0.9.
This script measures instead of guessing: on N sports photos (class-balanced, the run's own subset rule), every
(``controlnet_scale`` × ``guidance_scale`` [× ``control_guidance_end``]) setting colorizes every photo with the
same per-image seeds (so settings are compared on paired images), the raw output is L-merged onto the input as in a
run, and scored against the true colours: LPIPS (AlexNet, the report's headline), CIEDE2000 and colourfulness (a
setting that wins LPIPS by staying gray shows up there). Per setting: the mean with a 95% bootstrap CI; for each
setting, the paired difference in LPIPS to the current default (bootstrap CI and Wilcoxon p, the report's
procedure). The pipeline is loaded once; only the pipeline-call arguments change between settings.

On a GPU with the real weights (SD 1.5 and the brightness ControlNet in the Hugging Face cache, the sports test
split in ``data/sports``; 24 photos × 24 settings × 20 steps is about 10 minutes on one H100)::

    PYTHONPATH=src python benchmarks/brightness_defaults.py --device cuda --images 24

``--dry-run`` runs the whole measurement on the tiny untrained pipeline, the bundled sample photos (or
``--dataset``), a 2 × 2 grid, 2 steps and an uncalibrated LPIPS trunk, on the CPU in about a minute: a plumbing
check whose numbers mean nothing (the JSON says so). Writes ``benchmarks/out/brightness_defaults.json`` (or
``--out``; the dry run ``brightness_defaults-dry-run.json``).
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent / "src"), str(HERE)]

METHOD = "controlnet-brightness"
SCALES = (0.4, 0.6, 0.8, 0.9, 1.0, 1.2)  # the card's 0.4–0.9, and beyond it both ways the measurement may favour
GUIDANCES = (3.0, 5.0, 7.5, 10.0)


def load_photos(dataset: str, split: str | None, n: int, seed: int):
    """(ids, labels, true RGB, gray inputs) of ``n`` class-balanced photos with colour truth."""
    from colorbench.color import to_gray
    from colorbench.data.images import ImageLoadError, load_image
    from colorbench.data.specs import open_dataset

    index = open_dataset(dataset)
    subset = index.subset(split=split if index.splits() else None, n_per_class=1, seed=seed).samples
    ids, labels, truths = [], [], []
    for sample in subset:
        try:
            loaded = load_image(sample.path)
        except ImageLoadError:
            continue
        if not loaded.has_color:  # e.g. the sports test split's grayscale JPEG: no colour truth to score against
            continue
        ids.append(sample.id)
        labels.append(sample.label)
        truths.append(loaded.rgb)
        if len(ids) == n:
            break
    if not ids:
        raise SystemExit(f"no colour photos found in dataset {dataset!r} (split {split})")
    return ids, labels, truths, [to_gray(rgb) for rgb in truths]


def score(lpips, merged: list[np.ndarray], truths: list[np.ndarray], device: str) -> dict[str, np.ndarray]:
    """Per image: LPIPS, mean CIEDE2000, colourfulness of the output (images of any size, one at a time)."""
    import torch

    from colorbench.metrics.colour import colorfulness, mean_delta_e2000

    out: dict[str, list[float]] = {"lpips": [], "delta_e2000": [], "colourfulness": []}
    with torch.inference_mode():
        for pred, truth in zip(merged, truths):
            p255 = torch.from_numpy(np.array(pred)).permute(2, 0, 1)[None].to(torch.float64)
            t255 = torch.from_numpy(np.array(truth)).permute(2, 0, 1)[None].to(torch.float64)
            lp = lpips((p255 / 255).float().to(device), (t255 / 255).float().to(device))
            out["lpips"].append(float(lp.reshape(-1)[0]))
            out["delta_e2000"].append(float(mean_delta_e2000(p255, t255)[0]))
            out["colourfulness"].append(float(colorfulness(p255)[0]))
    return {k: np.asarray(v) for k, v in out.items()}


def summarise(values: np.ndarray, n_boot: int, seed: int) -> dict:
    from colorbench.report.stats import bootstrap_ci

    mean, lo, hi = bootstrap_ci(values, n_boot=n_boot, seed=seed)
    return {"mean": round(mean, 5), "ci95": [round(lo, 5), round(hi, 5)] if np.isfinite(lo) else None}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dry-run", action="store_true", help="tiny untrained pipeline, CPU, a 2×2 grid: plumbing")
    parser.add_argument("--device", default=None, help="cuda, cuda:1, cpu (default: cuda if available)")
    parser.add_argument("--dataset", default=None, help="sports (default), samples, or a folder")
    parser.add_argument("--split", default="test")
    parser.add_argument("--images", type=int, default=24, help="photos (one per class, class-balanced)")
    parser.add_argument("--scales", type=float, nargs="+", default=list(SCALES), help="controlnet_scale values")
    parser.add_argument("--guidances", type=float, nargs="+", default=list(GUIDANCES), help="guidance_scale values")
    parser.add_argument("--control-ends", type=float, nargs="+", default=[1.0],
                        help="control_guidance_end values (the card's 'exit timing'; default: 1.0 only)")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--preset", default=None, help="prompt preset (default: the method's)")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n-boot", type=int, default=2000)
    parser.add_argument("--base-model", default=None, help="hub id or folder (default SD 1.5)")
    parser.add_argument("--controlnet-model", default=None, help="hub id or folder (default the brightness ControlNet)")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)

    import torch

    from colorbench.color import merge_luminance
    from colorbench.methods.base import item_seed
    from colorbench.methods.diffusion.brightness import BrightnessOptions
    from colorbench.methods.registry import get_method
    from colorbench.metrics.lpips_metric import LPIPS
    from colorbench.report.stats import paired_test

    dry = args.dry_run
    device = args.device or ("cpu" if dry or not torch.cuda.is_available() else "cuda")
    defaults = BrightnessOptions()
    default_key = (defaults.controlnet_scale, defaults.guidance_scale, defaults.control_guidance_end)
    if dry:  # the default and one other value of each: every code path, the paired comparison included
        args.images, args.steps, args.n_boot = min(args.images, 2), min(args.steps, 2), min(args.n_boot, 200)
        args.scales = [defaults.controlnet_scale, next(v for v in args.scales if v != defaults.controlnet_scale)]
        args.guidances = [defaults.guidance_scale, next(v for v in args.guidances if v != defaults.guidance_scale)]
        args.control_ends = [defaults.control_guidance_end]
    dataset = args.dataset or ("samples" if dry else "sports")
    out_path = args.out or HERE / "out" / f"brightness_defaults{'-dry-run' if dry else ''}.json"

    ids, labels, truths, grays = load_photos(dataset, args.split, args.images, args.seed)
    options = dict(steps=args.steps, batch_size=args.batch_size, smoke=dry)
    for key in ("base_model", "controlnet_model", "preset"):
        if getattr(args, key) is not None:
            options[key] = getattr(args, key)
    method = get_method(METHOD, **options)
    start = time.perf_counter()
    method.load(device)
    load_s = time.perf_counter() - start
    lpips = LPIPS(net="alex", trunk="uncalibrated" if dry else "imagenet", device=device)
    seeds = [item_seed(args.seed, sample_id) for sample_id in ids]

    settings = []
    per_image: dict[tuple, np.ndarray] = {}
    for scale, guidance, end in itertools.product(args.scales, args.guidances, args.control_ends):
        method.controlnet_scale, method.guidance_scale, method.control_guidance_end = scale, guidance, end
        start = time.perf_counter()
        raws = method.colorize(grays, seed=args.seed, item_seeds=seeds, labels=labels)
        generate_s = time.perf_counter() - start
        merged = [merge_luminance(g, r) for g, r in zip(grays, raws)]
        scores = score(lpips, merged, truths, device)
        per_image[(scale, guidance, end)] = scores["lpips"]
        settings.append({"controlnet_scale": scale, "guidance_scale": guidance, "control_guidance_end": end,
                         **{name: summarise(v, args.n_boot, args.seed) for name, v in scores.items()},
                         "lpips_per_image": [round(float(v), 5) for v in scores["lpips"]],
                         "generate_s": round(generate_s, 2)})
        print(f"scale {scale:<4} guidance {guidance:<4} end {end:<4}: LPIPS {settings[-1]['lpips']['mean']:.4f} "
              f"ΔE {settings[-1]['delta_e2000']['mean']:.2f} colourfulness {settings[-1]['colourfulness']['mean']:.1f}"
              f" ({generate_s:.1f} s)", flush=True)

    best = min(settings, key=lambda s: s["lpips"]["mean"])
    if default_key in per_image:  # each setting against the current default, on the same images and seeds
        for s in settings:
            key = (s["controlnet_scale"], s["guidance_scale"], s["control_guidance_end"])
            test = paired_test(per_image[key], per_image[default_key], n_boot=args.n_boot, seed=args.seed)
            s["lpips_minus_default"] = {"mean": round(test.mean_diff, 5),
                                        "ci95": [round(test.ci_low, 5), round(test.ci_high, 5)],
                                        "p_wilcoxon": round(test.p_wilcoxon, 5) if np.isfinite(test.p_wilcoxon)
                                        else None}
    truth_cf = score(lpips, truths, truths, device)["colourfulness"]
    from diffusion import machine_info

    result = {
        "what": ("DRY RUN: tiny untrained pipeline and an uncalibrated LPIPS trunk - plumbing only, the numbers mean "
                 "nothing" if dry else "controlnet-brightness defaults sweep, real weights"),
        "dry_run": dry,
        "when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": machine_info(device),
        "dataset": dataset, "split": args.split, "images": ids,
        "steps": args.steps, "seed": args.seed, "load_s": round(load_s, 2),
        "config": method.config(),
        "current_default": dict(zip(("controlnet_scale", "guidance_scale", "control_guidance_end"), default_key)),
        "truth_colourfulness": summarise(truth_cf, args.n_boot, args.seed),
        "best_by_lpips": {k: best[k] for k in ("controlnet_scale", "guidance_scale", "control_guidance_end", "lpips")},
        "settings": settings,
    }
    from _machine import write_json  # adds the machine: CPU, cores, BLAS, torch's build

    write_json(out_path, result)
    print(f"{result['what']}\nbest by LPIPS: scale {best['controlnet_scale']}, guidance {best['guidance_scale']}, "
          f"end {best['control_guidance_end']} (LPIPS {best['lpips']['mean']:.4f}); default {default_key}\n"
          f"-> {out_path}")
    return result


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
