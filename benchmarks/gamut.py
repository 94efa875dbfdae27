"""L-merge and the sRGB gamut: how many merged pixels fall outside sRGB, and what each gamut mode then does to L.

The runner keeps the gray input's CIELAB L and takes a method's ab (``colorbench.color.merge_luminance``). That
combination is often no sRGB colour. ``gamut="clip"`` (the literature's way) clips RGB, which moves L;
``gamut="chroma"`` reduces chroma at constant L and hue instead. This script measures both on real photos:

* colour sources: ``cnn-original`` (the original project's trained checkpoint from the shared fixtures, a real
  colorizer's colours) and ``truth`` (each photo's own ab put on its gray's L: even the true colours leave the
  gamut, because the gray is BT.601 luma, not CIELAB L);
* images: the real Kaggle test photos of the shared fixtures (colour ones only; ``--limit`` for fewer);
* per source and mode: the share of merged pixels out of gamut, |final L - input L| (mean, 99th percentile, max,
  over all pixels and over the out-of-gamut ones), hue-angle change and chroma lost on the out-of-gamut pixels,
  and mean CIEDE2000 / colourfulness against the true photo.

    PYTHONPATH=src python benchmarks/gamut.py                  # writes benchmarks/out/gamut.json
    PYTHONPATH=src python benchmarks/gamut.py --limit 100      # one photo per class: faster
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tests"))

MODES = ("clip", "chroma")


def _hue_change_deg(lab_a: np.ndarray, lab_b: np.ndarray) -> np.ndarray:
    d = np.degrees(np.arctan2(lab_a[..., 2], lab_a[..., 1]) - np.arctan2(lab_b[..., 2], lab_b[..., 1]))
    return np.abs((d + 180.0) % 360.0 - 180.0)


def _percentiles(values: np.ndarray) -> dict:
    if values.size == 0:
        return {"n": 0}
    return {"n": int(values.size), "mean": round(float(values.mean()), 4),
            "p99": round(float(np.percentile(values, 99)), 4), "max": round(float(values.max()), 4)}


def _cnn_original_colours(grays: list[np.ndarray], checkpoint: Path) -> list[np.ndarray]:
    from colorbench.methods.cnn.checkpoint import load_original
    from colorbench.methods.cnn.original import CnnOriginal

    method = CnnOriginal(batch_size=16)
    method.build_model = lambda: load_original(checkpoint)  # the fixture file instead of the weights cache
    method.load("cpu")
    return method.colorize(grays, seed=0)


def measure(photos: list[np.ndarray], grays: list[np.ndarray], colours: list[np.ndarray]) -> dict:
    import torch

    from colorbench.color import gray_to_rgb, merge_luminance, out_of_gamut, resize_channels, rgb_to_lab
    from colorbench.metrics.colour import colorfulness, mean_delta_e2000

    result: dict = {}
    for mode in MODES:
        dl_all, dl_bad, hue_bad, chroma_lost, n_bad, n_all, de, cf = [], [], [], [], 0, 0, [], []
        t0 = time.perf_counter()
        for photo, gray, raw in zip(photos, grays, colours):
            L = rgb_to_lab(gray_to_rgb(gray))[..., :1]
            ab = resize_channels(rgb_to_lab(raw)[..., 1:], *gray.shape)
            wanted = np.concatenate([L, ab], axis=-1)  # what the merge asks for, before any gamut handling
            bad = out_of_gamut(wanted)
            merged = merge_luminance(gray, raw, gamut=mode)
            got = rgb_to_lab(merged)
            dl = np.abs(got[..., 0] - L[..., 0])
            dl_all.append(dl.ravel())
            dl_bad.append(dl[bad])
            chromatic = bad & (np.hypot(got[..., 1], got[..., 2]) > 5)  # hue is noise at near-zero chroma
            hue_bad.append(_hue_change_deg(got[chromatic], wanted[chromatic]))
            chroma_lost.append(np.hypot(*wanted[bad][:, 1:].T) - np.hypot(*got[bad][:, 1:].T))
            n_bad += int(bad.sum())
            n_all += bad.size
            pred = torch.from_numpy(merged).permute(2, 0, 1)[None].float()
            truth = torch.from_numpy(photo).permute(2, 0, 1)[None].float()
            de.append(float(mean_delta_e2000(pred, truth)[0]))
            cf.append(float(colorfulness(pred)[0]))
        result[mode] = {
            "out_of_gamut_fraction": round(n_bad / n_all, 5),
            "abs_delta_L_all_pixels": _percentiles(np.concatenate(dl_all)),
            "abs_delta_L_out_of_gamut_pixels": _percentiles(np.concatenate(dl_bad)),
            "hue_change_deg_out_of_gamut_pixels_chroma_gt_5": _percentiles(np.concatenate(hue_bad)),
            "chroma_lost_out_of_gamut_pixels": _percentiles(np.concatenate(chroma_lost)),
            "mean_delta_e2000_vs_truth": round(float(np.mean(de)), 4),
            "mean_colourfulness": round(float(np.mean(cf)), 4),
            "merge_seconds": round(time.perf_counter() - t0, 2),
        }
    return result


def main() -> None:
    from conftest import fixtures_dir

    from colorbench.color import to_gray
    from colorbench.data.images import load_image

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fixtures", type=Path, default=fixtures_dir(), help="the shared fixtures folder")
    parser.add_argument("--limit", type=int, default=None,
                        help="at most this many photos, spread evenly over the classes (default: all)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out" / "gamut.json")
    args = parser.parse_args()

    paths = sorted((args.fixtures / "sports" / "test").glob("*/*.jpg"))
    loaded = [load_image(p) for p in paths]
    photos = [im.rgb for im in loaded if im.has_color]
    if args.limit and args.limit < len(photos):  # spread over the classes (paths are sorted by class)
        photos = [photos[i] for i in np.linspace(0, len(photos) - 1, args.limit).round().astype(int)]
    grays = [to_gray(p) for p in photos]
    checkpoint = args.fixtures / "original-cnn" / "model-epoch-186-losses-0.124.pth"
    t0 = time.perf_counter()
    sources = {"cnn-original": _cnn_original_colours(grays, checkpoint), "truth": photos}
    cnn_seconds = time.perf_counter() - t0
    report = {
        "what": "L-merge gamut: out-of-sRGB share and L error per gamut mode (colorbench.color.merge_luminance)",
        "images": f"{len(photos)} colour photos of the real Kaggle sports test split ({args.fixtures / 'sports'})",
        "sources": {"cnn-original": f"the original project's trained CNN ({checkpoint.name}), eval-mode BatchNorm",
                    "truth": "each photo's own colours (its ab on its gray's L)"},
        "results": {name: measure(photos, grays, colours) for name, colours in sources.items()},
        "cnn_seconds": round(cnn_seconds, 1),
        "machine": {"platform": platform.platform(), "processor": platform.processor() or platform.machine(),
                    "cpus": os.cpu_count(), "load_average": [round(x, 2) for x in os.getloadavg()],
                    "python": platform.python_version(), "numpy": np.__version__},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    from _machine import write_json  # records the machine; benchmarks/ is first on sys.path

    write_json(args.out, report)
    print(json.dumps(report["results"], indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
