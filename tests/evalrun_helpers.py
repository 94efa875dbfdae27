"""Build small run folders with the real layout (runfolder.py) from real fixture photos, for scoring/report tests.

The "methods" are simple image transforms with a known quality order, L-merged onto the gray input the way the
runner does it:

* ``chroma-blur``   — the true colours, blurred (close to the truth: best)
* ``hue-shift``     — the true colours with the ab plane rotated by 30° (wrong hues)
* ``gray``          — no colour at all (the floor)
* ``hue-sampler``   — stochastic: K samples, sample k rotates hue by HUE_SAMPLER_ANGLES[k]
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from colorbench import atomic
from colorbench.color import gray_to_rgb, lab_to_rgb_uint8, merge_luminance, rgb_to_lab, to_gray
from colorbench.data.images import load_image
from colorbench.runfolder import FAILURE_COLUMNS, SAMPLE_COLUMNS, TIMING_COLUMNS, RunFolder

HUE_SAMPLER_ANGLES = (10.0, 45.0, 90.0)
GRAY_SOURCE = ("ski jumping", "2.jpg")  # a real mode-L JPEG of the fixture: no colour ground truth


def rotate_hue(rgb: np.ndarray, degrees: float) -> np.ndarray:
    lab = rgb_to_lab(rgb)
    t = np.deg2rad(degrees)
    a, b = lab[..., 1], lab[..., 2]
    lab[..., 1], lab[..., 2] = a * np.cos(t) - b * np.sin(t), a * np.sin(t) + b * np.cos(t)
    return lab_to_rgb_uint8(lab)


def blur_chroma(rgb: np.ndarray) -> np.ndarray:
    from PIL import Image, ImageFilter

    return np.asarray(Image.fromarray(rgb).filter(ImageFilter.GaussianBlur(3)))


TRANSFORMS = {
    "chroma-blur": blur_chroma,
    "hue-shift": lambda rgb: rotate_hue(rgb, 30.0),
    "gray": lambda rgb: gray_to_rgb(to_gray(rgb)),
}


def pick_fixture_images(sports_dir: Path, n: int) -> list[tuple[str, Path]]:
    """``n`` colour photos from distinct classes (label, path), deterministic."""
    classes = sorted(p for p in (sports_dir / "test").iterdir() if p.is_dir())
    step = max(1, len(classes) // n)
    picks = []
    for folder in classes[::step][:n]:
        picks.append((folder.name, sorted(folder.glob("*.jpg"))[0]))
    return picks


def make_run(
    root: Path,
    sports_dir: Path,
    *,
    n_images: int = 6,
    methods: tuple[str, ...] = ("chroma-blur", "hue-shift", "gray"),
    stochastic_k: int = 0,
    missing: dict[str, list[int]] | None = None,
    include_gray_source: bool = True,
    images_per_class: int = 1,
) -> RunFolder:
    """Write a run folder under ``root``; ``missing[method]`` lists image indices whose output is left out."""
    run = RunFolder(root)
    missing = missing or {}
    classes = sorted(p for p in (sports_dir / "test").iterdir() if p.is_dir())
    step = max(1, len(classes) // max(1, n_images // images_per_class))
    picks: list[tuple[str, Path]] = []
    for folder in classes[::step]:
        for path in sorted(folder.glob("*.jpg"))[:images_per_class]:
            if (folder.name, path.name) != GRAY_SOURCE:
                picks.append((folder.name, path))
        if len(picks) >= n_images:
            break
    picks = picks[:n_images]
    if include_gray_source:
        picks.append((GRAY_SOURCE[0], sports_dir / "test" / GRAY_SOURCE[0] / GRAY_SOURCE[1]))
    class_ids = {c.name: i for i, c in enumerate(classes)}
    all_methods = list(methods) + (["hue-sampler"] if stochastic_k else [])
    samples, failures, timings = [], [], []
    for index, (label, path) in enumerate(picks):
        loaded = load_image(path)
        sample_id = f"{label.replace(' ', '-')}-{path.stem}"
        gray = to_gray(loaded.rgb)
        atomic.write_png(run.gray_path(sample_id), gray)
        if loaded.has_color:
            atomic.write_png(run.truth_path(sample_id), loaded.rgb)
        samples.append({"id": sample_id, "label": label, "class_id": class_ids[label], "split": "test",
                        "source": str(path), "width": loaded.rgb.shape[1], "height": loaded.rgb.shape[0],
                        "has_color": loaded.has_color})
        for method in all_methods:
            if index in missing.get(method, []):
                failures.append({"method": method, "id": sample_id, "k": 0, "error": "RuntimeError: simulated failure"})
                continue
            if method == "hue-sampler":
                for k in range(stochastic_k):
                    out = merge_luminance(gray, rotate_hue(loaded.rgb, HUE_SAMPLER_ANGLES[k % len(HUE_SAMPLER_ANGLES)]))
                    atomic.write_png(run.output_path(method, sample_id, k), out)
            else:
                atomic.write_png(run.output_path(method, sample_id),
                                 merge_luminance(gray, TRANSFORMS[method](loaded.rgb)))
    for i, method in enumerate(all_methods):
        timings.append({"method": method, "batch": 0, "k": 0, "n_images": len(picks), "preprocess_s": 0.01 * len(picks),
                        "inference_s": 0.1 * (i + 1) * len(picks), "postprocess_s": 0.02 * len(picks), "device": "cpu",
                        "peak_memory_mb": 100.0 * (i + 1),
                        "stages": json.dumps({"transform": 0.1 * (i + 1) * len(picks)})})
    atomic.write_csv(run.samples_csv, samples, SAMPLE_COLUMNS)
    atomic.write_csv(run.failures_csv, failures, FAILURE_COLUMNS)
    atomic.write_csv(run.timings_csv, timings, TIMING_COLUMNS)
    atomic.write_json(run.run_json, {
        "name": root.name, "dataset": "sports (fixture)", "split": "test", "seed": 0, "methods": all_methods,
        "device": "cpu", "versions": {"colorbench": "test"},
                                     "samples_per_image": {"hue-sampler": stochastic_k} if stochastic_k else {},
    })
    return run
