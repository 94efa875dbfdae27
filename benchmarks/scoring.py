"""Time scoring N images × 3 methods: colorbench's batched scorer vs a one-image-at-a-time loop.

The loop is what the original project's notebook (lpips-eval.ipynb) does — open both files with PIL, convert to a
tensor, call LPIPS on one pair with autograd on — extended with the other per-image metrics computed the usual way
(scikit-image PSNR / SSIM / rgb2lab + deltaE_ciede2000, numpy colourfulness). Both sides score the same files and
the same metrics; the script also reports the largest per-image disagreement between them (CIEDE2000 differs by
~1e-5: the scorer computes it in float32).

It also times the batched LPIPS part alone (decoding + AlexNet on every truth once and every output once): no
batched scorer can beat that on the same machine, so ``loop_s / lpips_only_batched_s`` bounds the speed-up even if
every other metric cost nothing. On a 2-core CPU, where AlexNet at batch 1 already keeps both cores busy, that
bound is about 4x.

LPIPS uses the AlexNet trunk *uncalibrated* (seeded random weights) on both sides, because torchvision's ImageNet
weights cannot be downloaded on the machine this was written on: the amount of computation is identical to the
real metric, the values are not LPIPS. With the real trunk cached, pass ``--real-lpips``.

Images: the 500 real Kaggle test photos of the shared fixtures when present (``--images DIR``), else synthetic.

    PYTHONPATH=src python benchmarks/scoring.py --n 500        # writes benchmarks/out/scoring.json

``--fid`` measures instead what FID adds to a scoring (issue 27): ``score_run`` of the same folder without FID and
with it, alternately, ``--repeats`` times each, plus the seconds inside the Inception forward passes and inside
``frechet_distance`` (the trace term). The Inception is a seeded stand-in (same network, same compute as the real
weights; the values are not FIDs). The script imports the ``src/`` beside it, so a copy of it in an older checkout
times that checkout's code (how the "before" figures were made):

    PYTHONPATH=src python benchmarks/scoring.py --fid --n 500 --out benchmarks/out/scoring_fid_500.json
    PYTHONPATH=src python benchmarks/scoring.py --fid --images data/samples --n 8   # the 8 demo photos
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tests"))
from _machine import write_json  # noqa: E402  (benchmarks/ is the script's folder: first on sys.path)

METHODS = ("chroma-blur", "hue-shift", "gray")


def build_run(folder: Path, image_dir: Path | None, n: int, seed: int = 0) -> int:
    """A run folder with ``n`` truths and 3 L-merged "methods" (tests/evalrun_helpers.py transforms)."""
    from evalrun_helpers import TRANSFORMS

    from colorbench import atomic
    from colorbench.color import merge_luminance, to_gray
    from colorbench.data.images import load_image
    from colorbench.runfolder import SAMPLE_COLUMNS, RunFolder

    run = RunFolder(folder)
    request = {"n": n, "images": str(image_dir) if image_dir else "synthetic", "seed": seed}
    if (run.samples_csv.exists() and run.run_json.exists()
            and json.loads(run.run_json.read_text()).get("built_for") == request):
        return len(run.read_samples())  # reuse the folder an earlier invocation built for the same request
    if image_dir is not None:
        paths = sorted(image_dir.glob("*/*.jpg"))
        images = []
        for p in paths:
            loaded = load_image(p)
            if loaded.has_color:
                images.append((f"{p.parent.name.replace(' ', '-')}-{p.stem}", p.parent.name, loaded.rgb))
            if len(images) == n:
                break
    else:
        rng = np.random.default_rng(seed)
        images = []
        for i in range(n):  # smooth random colour fields, photo-sized
            base = rng.uniform(0, 255, (8, 8, 3))
            from PIL import Image

            rgb = np.asarray(Image.fromarray(base.astype(np.uint8)).resize((224, 224), Image.BICUBIC))
            images.append((f"synthetic-{i:04d}", "synthetic", rgb))
    rows = []
    for sample_id, label, rgb in images:
        gray = to_gray(rgb)
        atomic.write_png(run.gray_path(sample_id), gray)
        atomic.write_png(run.truth_path(sample_id), rgb)
        for method in METHODS:
            atomic.write_png(run.output_path(method, sample_id), merge_luminance(gray, TRANSFORMS[method](rgb)))
        rows.append({"id": sample_id, "label": label, "class_id": "", "split": "test", "source": "",
                     "width": rgb.shape[1],
                     "height": rgb.shape[0], "has_color": 1})
    atomic.write_csv(run.samples_csv, rows, SAMPLE_COLUMNS)
    atomic.write_json(run.run_json, {"run": folder.name, "methods": list(METHODS), "built_for": request})
    return len(rows)


def notebook_loop(folder: Path, metric) -> tuple[float, dict]:
    """One image at a time, like the original notebook, plus scikit-image metrics."""
    from PIL import Image
    from skimage.color import deltaE_ciede2000, rgb2lab
    from skimage.metrics import peak_signal_noise_ratio, structural_similarity
    from torchvision.transforms.functional import to_tensor

    from colorbench.runfolder import RunFolder

    run = RunFolder(folder)
    ids = [r["id"] for r in run.read_samples()]
    values = {}
    start = time.perf_counter()
    for method in METHODS:
        for sample_id in ids:
            truth = np.asarray(Image.open(run.truth_path(sample_id)).convert("RGB"))
            pred = np.asarray(Image.open(run.output_path(method, sample_id)).convert("RGB"))
            t, p = to_tensor(truth)[None], to_tensor(pred)[None]
            lp = metric.model(p * 2 - 1, t * 2 - 1).item()  # autograd on, as in the notebook
            ps = peak_signal_noise_ratio(truth, pred)
            ss = structural_similarity(truth, pred, channel_axis=2)
            de = deltaE_ciede2000(rgb2lab(truth), rgb2lab(pred)).mean()
            r, g, b = (pred[..., i].astype(np.float64) for i in range(3))
            rg, yb = r - g, 0.5 * (r + g) - b
            cf = np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean())
            values[(method, sample_id)] = (lp, ps, ss, de, cf)
    return time.perf_counter() - start, values


def lpips_only_batched(folder: Path, metric, batch_size: int) -> float:
    """Seconds for just the batched LPIPS part of the scorer (decode + AlexNet on truths once, outputs once).

    This is the floor of any batched scorer on this machine: ``loop_s / lpips_floor_s`` bounds the speed-up even
    if every other metric cost nothing.
    """
    from colorbench.data.images import read_png_rgb
    from colorbench.metrics.scorer import BatchScorer
    from colorbench.runfolder import RunFolder

    run = RunFolder(folder)
    ids = [r["id"] for r in run.read_samples()]
    scorer = BatchScorer(lpips=metric, device="cpu")
    start = time.perf_counter()
    with torch.no_grad():
        for s in range(0, len(ids), batch_size):
            chunk = ids[s:s + batch_size]
            truth = scorer._lpips_features(scorer.to_tensor([read_png_rgb(run.truth_path(i)) for i in chunk]))
            for method in METHODS:
                pred = scorer._lpips_features(
                    scorer.to_tensor([read_png_rgb(run.output_path(method, i)) for i in chunk]))
                metric.distance_from_features(pred, truth)
    return time.perf_counter() - start


def fid_cost(folder: Path, batch_size: int, repeats: int) -> dict:
    """Wall seconds of ``score_run`` without and with FID on ``folder`` (alternating), and where FID's share went."""
    import colorbench.metrics.fid as fid
    from colorbench.metrics import score_run

    weights = folder.parent / "inception-standin.pt"
    if not weights.is_file():
        fid.uncalibrated_inception_weights(weights)
    spent = {"inception_forward_s": 0.0, "frechet_distance_s": 0.0}

    def timed(name, fn):
        def wrapper(*args, **kwargs):
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                spent[name] += time.perf_counter() - start
        return wrapper

    # the scorer imports both from the module when it runs: wrapping the module's names times every call
    fid.frechet_distance = timed("frechet_distance_s", fid.frechet_distance)
    fid.InceptionFeatures.forward = timed("inception_forward_s", fid.InceptionFeatures.forward)
    runs: dict[str, list] = {"without_fid": [], "with_fid": []}
    values = {}
    for _ in range(repeats):
        for label, options in (("without_fid", {"fid": False}), ("with_fid", {"fid": True, "fid_weights": weights})):
            for key in spent:
                spent[key] = 0.0
            start = time.perf_counter()
            result = score_run(folder, lpips_trunk="uncalibrated", device="cpu", batch_size=batch_size,
                               progress=False, write=False, **options)
            runs[label].append({"wall_s": round(time.perf_counter() - start, 2),
                                **({k: round(v, 3) for k, v in spent.items()} if options["fid"] else {}),
                                "load_average_at_end": os.getloadavg()[0]})
            if options["fid"]:
                values = {m: info["fid"] for m, info in result.summary["fid"]["per_method"].items()}
    best = {label: min(r["wall_s"] for r in rs) for label, rs in runs.items()}
    return {"runs": runs, "best_wall_s": best, "with_over_without": round(best["with_fid"] / best["without_fid"], 3),
            "stand_in_fid_values": values}


def main_fid(args) -> None:
    image_dir = args.images if args.images.is_dir() else None
    work = args.work if args.work != DEFAULT_WORK else DEFAULT_WORK.with_name(f"scoring-fid-run-{args.n}")
    n = build_run(work, image_dir, args.n)
    import colorbench

    report = {"what": f"colorbench score of {n} images x {len(METHODS)} methods, without and with FID, CPU",
              "images": str(image_dir) if image_dir else "synthetic 224x224",
              "code": {"checkout": str(ROOT), "git": _git_head()},
              "colorbench_src": str(Path(colorbench.__file__).parent),
              "lpips_trunk": "uncalibrated (same compute as LPIPS-alex)",
              "inception": "seeded stand-in (same network and compute as the FID Inception; values are not FIDs)",
              "n_images": n, "methods": list(METHODS), "batch_size": args.batch_size, "repeats": args.repeats,
              **fid_cost(work, args.batch_size, args.repeats),
              "note": "wall-clock on a shared machine; the load averages show how busy it was"}
    write_json(args.out, report)
    print(f"{n} images x {len(METHODS)} methods: without FID {report['best_wall_s']['without_fid']} s, with FID "
          f"{report['best_wall_s']['with_fid']} s -> {report['with_over_without']}x ({args.out})")


def _git_head() -> str | None:
    import subprocess

    proc = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    return proc.stdout.strip() or None


DEFAULT_WORK = ROOT / "benchmarks" / "out" / "scoring-run"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=500)
    parser.add_argument("--images", type=Path, default=ROOT.parent / "shared" / "fixtures" / "sports" / "test")
    parser.add_argument("--work", type=Path, default=DEFAULT_WORK)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--real-lpips", action="store_true", help="use the real ImageNet trunk (must be cached)")
    parser.add_argument("--out", type=Path, default=None,
                        help="default benchmarks/out/scoring.json (--fid: scoring_fid_<n>.json)")
    parser.add_argument("--fid", action="store_true", help="time scoring without and with FID instead (see above)")
    parser.add_argument("--repeats", type=int, default=1, help="--fid: scorings of each kind, alternating")
    args = parser.parse_args()
    if args.fid:
        args.out = args.out or ROOT / "benchmarks" / "out" / f"scoring_fid_{args.n}.json"
        return main_fid(args)
    args.out = args.out or ROOT / "benchmarks" / "out" / "scoring.json"

    from colorbench.metrics import score_run
    from colorbench.metrics.lpips_metric import get_lpips

    image_dir = args.images if args.images.is_dir() else None
    t0 = time.perf_counter()
    n = build_run(args.work, image_dir, args.n)
    build_s = time.perf_counter() - t0
    trunk = "imagenet" if args.real_lpips else "uncalibrated"
    metric = get_lpips("alex", trunk, "cpu")  # built once, outside both timings

    t0 = time.perf_counter()
    result = score_run(args.work, lpips_trunk=trunk, device="cpu", batch_size=args.batch_size,
                       fid=False, progress=False)
    batched_s = time.perf_counter() - t0

    loop_s, loop_values = notebook_loop(args.work, metric)
    floor_s = lpips_only_batched(args.work, metric, args.batch_size)

    frame = result.frame.set_index(["method", "id"])
    diffs = {name: 0.0 for name in ("lpips", "psnr", "ssim", "delta_e2000", "colorfulness")}
    for key, vals in loop_values.items():
        row = frame.loc[key]
        for name, v in zip(diffs, vals):
            diffs[name] = max(diffs[name], abs(float(row[name]) - float(v)))
    pairs = n * len(METHODS)
    report = {
        "what": f"score {n} images x {len(METHODS)} methods (LPIPS-alex, PSNR, SSIM, CIEDE2000, colourfulness), CPU",
        "images": "real Kaggle sports test photos (224x224)" if image_dir else "synthetic 224x224",
        "lpips_trunk": trunk + ("" if args.real_lpips else " (random seeded AlexNet: same compute as LPIPS, "
                                                           "values are not LPIPS)"),
        "n_images": n, "methods": list(METHODS), "pairs": pairs,
        "batched_s": round(batched_s, 2), "loop_s": round(loop_s, 2),
        "speedup": round(loop_s / batched_s, 2),
        "batched_pairs_per_s": round(pairs / batched_s, 1), "loop_pairs_per_s": round(pairs / loop_s, 1),
        "lpips_only_batched_s": round(floor_s, 2),
        "speedup_bound_if_other_metrics_were_free": round(loop_s / floor_s, 2),
        "batch_size": args.batch_size, "max_abs_difference_batched_vs_loop": diffs,
        "build_run_s": round(build_s, 1),
        "load_average_at_end": os.getloadavg(),
        "note": "wall-clock on a shared machine; the load average shows how busy it was",
    }
    write_json(args.out, report)
    print(f"{pairs} pairs: batched {batched_s:.1f} s, one-at-a-time loop {loop_s:.1f} s -> {loop_s / batched_s:.1f}x "
          f"(max |diff| {diffs}); batched LPIPS alone {floor_s:.1f} s (bound {loop_s / floor_s:.1f}x) -> {args.out}")


if __name__ == "__main__":
    main()
