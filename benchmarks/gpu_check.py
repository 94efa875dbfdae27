"""The GPU check in one command: every GPU-relevant figure colorbench has targets for, in one JSON per run.

On a CUDA machine (``make gpu-check`` or ``PYTHONPATH=src python benchmarks/gpu_check.py``), in this order, each
section within its own time budget so the whole check stays under ~10 minutes on one H100 (its sections took ~6
minutes together there on 2026-11-26, ``benchmarks/out/gpu_check-cuda-2026112*.json``). It needs diffusers,
transformers, controlnet_aux, lpips and torch-fidelity importable; nothing is downloaded.

1. ``cuda_tests`` — the CUDA-only tests (test files with a CUDA skip condition; ``-k cuda``), run with pytest.
2. ``coltran`` — the three stages at full size with random weights (speed does not depend on the values): batch
   1…128 with TF32 + CUDA graphs, then at batch 64 exact fp32, bf16, fp16, CUDA graphs off, ``torch.compile`` on;
   images/s per stage, the whole pipeline's images/s and each stage's peak memory.
3. ``agreement`` — how far TF32, bf16, fp16, CUDA graphs and compile move ColTran's logits and argmax colours from
   exact float32, per stage (``benchmarks/precision_agreement.py``).
4. ``diffusion`` — SD 1.5 + Canny ControlNet at full size with random weights built from the real configs
   (``benchmarks/configs/sd15/*.json``, no download), 512², 20 UniPC steps, batch 1/4/8, fp16, PyTorch SDPA
   attention (diffusers' default on torch 2), ``torch.compile`` off and on: images/s, it/s, peak memory; and
   ``controlnet-brightness`` (same ControlNet shapes, no Canny step) at batch 8.
5. ``scoring`` — 500 images × 3 methods = 1500 pairs: LPIPS (AlexNet and VGG trunks, seeded random: the same
   computation as LPIPS), PSNR, SSIM, CIEDE2000, colourfulness and FID features (stand-in Inception) on the GPU.
6. ``cnn``, ``ddcolor`` and ``zhang`` — the CNN (fp32/bf16/fp16), DDColor-T and -L at 512 (random full-size
   weights through the method's loader; fp32 exact, fp16 and bf16 autocast; batch 1/8/32; plus how far fp16/bf16
   move ab from fp32) and the two Zhang baselines, images/s.

``--dry-run`` runs every section on the CPU at tiny sizes (tiny ColTran, SD and DDColor, 4 images to score, no
pytest run) in well under a minute: CI runs it (tests/test_gpu_check.py) so the script cannot rot unnoticed. Its
figures are plumbing checks, not speeds.

A section that fails records its error and the check goes on; the JSON is rewritten after every section, so an
interrupted run keeps what it measured. Output: ``benchmarks/out/gpu_check-<device>-<UTC time>.json`` (``--out``).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import traceback
from datetime import datetime, timezone
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = ROOT / "benchmarks"
SD15_CONFIGS = BENCHMARKS / "configs" / "sd15"
sys.path[:0] = [str(ROOT / "src"), str(BENCHMARKS), str(ROOT / "tests")]

SECTIONS = ("cuda_tests", "coltran", "agreement", "diffusion", "scoring", "cnn", "ddcolor", "zhang")


def versions() -> dict:
    import importlib.metadata as md

    out = {"python": sys.version.split()[0], "torch": torch.__version__, "cuda": torch.version.cuda,
           "cudnn": torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None}
    for name in ("diffusers", "transformers", "numpy"):
        try:
            out[name] = md.version(name)
        except md.PackageNotFoundError:
            out[name] = None
    return out


def machine(device: str) -> dict:
    """The device (``_machine.device_info``) and the core count; ``write_json`` adds the rest of the machine."""
    from _machine import device_info

    return {**device_info(device), "cpu_count": os.cpu_count()}


class Budget:
    """Wall-clock budget of one section: configurations past it are recorded as skipped, not run."""

    def __init__(self, seconds: float):
        self.end = time.perf_counter() + seconds

    def left(self) -> float:
        return self.end - time.perf_counter()


# ------------------------------------------------------------------------------------------------ sections
def cuda_tests(dry: bool, device: str, work: Path, budget: Budget) -> dict:
    """Test files with a CUDA skip condition, run under pytest on the GPU (listed only in a dry run)."""
    pattern = re.compile(r"skipif\(\s*not torch\.cuda\.is_available\(\)")
    files = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "tests").glob("test_*.py")
                   if pattern.search(p.read_text()))
    out: dict = {"files": files}
    if dry or not device.startswith("cuda"):
        out["ran"] = False
        out["why_not"] = "dry run: listed only (the CPU suite runs them and they skip there)"
        return out
    junit = work / "cuda-tests.xml"
    # only the CUDA tests themselves ("-k cuda"): the rest of those files is the CPU suite's job, and eats the budget
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-k", "cuda", f"--junitxml={junit}", *files]
    proc = subprocess.run(cmd, cwd=ROOT, check=False, capture_output=True, text=True, timeout=max(30, budget.left()))
    import xml.etree.ElementTree as ET

    suite = ET.parse(junit).getroot()
    suite = suite if suite.tag == "testsuite" else suite.find("testsuite")
    out.update(ran=True, returncode=proc.returncode, **{k: int(suite.get(k, 0)) for k in ("tests", "failures", "errors",
                                                                                           "skipped")},
               tail=proc.stdout[-2000:])
    return out


def coltran_plan(dry: bool) -> list[dict]:
    if dry:
        return [dict(size="tiny", batch=2, precision="fp32", cuda_graph=False, compile=False, rows=1)]
    plan = [dict(size="full", batch=b, precision="tf32", cuda_graph=True, compile=False) for b in (1, 8, 32, 64, 128)]
    plan += [dict(size="full", batch=64, precision=p, cuda_graph=True, compile=False) for p in ("fp32", "bf16", "fp16")]
    plan += [dict(size="full", batch=64, precision="tf32", cuda_graph=False, compile=False),
             dict(size="full", batch=64, precision="tf32", cuda_graph=True, compile=True)]
    return plan


def coltran(dry: bool, device: str, work: Path, budget: Budget) -> dict:
    from coltran import bench_stages, make_pipeline

    from colorbench.methods.coltran.pipeline import tf32_products

    runs = []
    for cfg in coltran_plan(dry):
        if budget.left() <= 0:
            runs.append({**cfg, "skipped": "section time budget spent"})
            continue
        dtype = {"bf16": "bfloat16", "fp16": "float16"}.get(cfg["precision"], "float32")
        try:
            with tf32_products(cfg["precision"] == "tf32"):
                pipe = make_pipeline(cfg["size"], device, dtype, cfg["cuda_graph"], cfg["compile"])
                runs.append({**cfg, **bench_stages(pipe, cfg["batch"], device, cfg.get("rows"))})
        except torch.cuda.OutOfMemoryError as exc:
            runs.append({**cfg, "error": f"out of memory: {str(exc).splitlines()[0]}"})
        finally:
            pipe = None
            if device.startswith("cuda"):
                torch.cuda.empty_cache()
        print(json.dumps(runs[-1]), flush=True)
    return {"weights": "random (speed does not depend on the values)", "runs": runs}


def agreement(dry: bool, device: str, work: Path, budget: Budget) -> dict:
    """ColTran's TF32/bf16/fp16, CUDA graphs and compile against exact float32 (benchmarks/precision_agreement.py)."""
    from precision_agreement import run

    return run(device, dry)


def save_random_sd15(folder: Path) -> tuple[Path, Path]:
    """SD 1.5 + Canny ControlNet with random weights from the real configs, saved in the hub layout (fp16)."""
    from diffusers import AutoencoderKL, ControlNetModel, PNDMScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    from colorbench.methods.diffusion.tiny import build_tiny_tokenizer

    def config(name: str) -> dict:
        data = json.loads((SD15_CONFIGS / f"{name}.json").read_text())
        return {k: v for k, v in data.items() if not k.startswith("_")}  # "_class_name", "_source": notes

    torch.manual_seed(0)
    # from_config, not Class(**config): it drops keys a diffusers version no longer takes (PNDM's clip_sample in 0.42)
    parts = dict(unet=UNet2DConditionModel.from_config(config("unet")), vae=AutoencoderKL.from_config(config("vae")),
                 text_encoder=CLIPTextModel(CLIPTextConfig(**config("text_encoder"))))
    parts = {k: m.half() for k, m in parts.items()}
    # the tokenizer's vocabulary only decides which ids the prompt becomes, not the cost: a small offline one
    base = StableDiffusionPipeline(**parts, tokenizer=build_tiny_tokenizer(),
                                   scheduler=PNDMScheduler.from_config(config("scheduler")), safety_checker=None,
                                   feature_extractor=None, requires_safety_checker=False)
    base_dir, controlnet_dir = folder / "sd15-random", folder / "controlnet-canny-random"
    base.save_pretrained(base_dir)
    ControlNetModel.from_config(config("controlnet")).half().save_pretrained(controlnet_dir)
    return base_dir, controlnet_dir


def diffusion(dry: bool, device: str, work: Path, budget: Budget) -> dict:
    import diffusion as bench

    common = ["--device", device, "--scheduler", "unipc"]
    # controlnet-brightness: a standard SD 1.5 ControlNet (ioclab trained it with diffusers' ControlNet script; its
    # config.json was not reachable when this was written, so the shared config stands in) without the Canny step:
    # one run at batch 8 shows what it costs next to controlnet-canny
    brightness = ["--method", "controlnet-brightness"]
    if dry:
        smoke = common + ["--smoke", "--steps", "2", "--batch-size", "1", "--images", "1"]
        plan = [smoke, smoke + brightness]
        what = "tiny untrained pipeline (plumbing only)"
    else:
        base, controlnet = save_random_sd15(work)
        full = common + ["--base-model", str(base), "--controlnet-model", str(controlnet), "--resolution", "512",
                         "--steps", "20", "--dtype", "float16"]
        plan = [full + ["--batch-size", str(b), "--images", str(2 * b)] for b in (1, 4, 8)]
        plan.append(full + ["--batch-size", "8", "--images", "16", "--compile"])
        plan.append(full + ["--batch-size", "8", "--images", "16"] + brightness)
        what = "SD 1.5 + ControlNet shapes (benchmarks/configs/sd15), RANDOM weights: speed only"
    runs = []
    for i, argv in enumerate(plan):
        if budget.left() <= 0:
            runs.append({"argv": argv, "skipped": "section time budget spent"})
            continue
        try:  # one failing configuration (a compile error, say) must not lose the others' figures
            result = bench.main(argv + ["--out", str(work / f"diffusion-{i}.json")])
        except Exception as exc:  # noqa: BLE001
            runs.append({"argv": argv, "error": f"{type(exc).__name__}: {exc}",
                         "traceback": traceback.format_exc()[-2000:]})
            continue
        result["what"] = what
        result["compile"] = "--compile" in argv
        result["attention"] = "diffusers' default AttnProcessor2_0 (torch scaled_dot_product_attention)"
        runs.append(result)
    return {"runs": runs}


def scoring(dry: bool, device: str, work: Path, budget: Budget) -> dict:
    from scoring import METHODS, build_run

    from colorbench.metrics import score_run
    from colorbench.metrics.fid import uncalibrated_inception_weights

    n = 2 if dry else 500
    run = work / "scoring-run"
    build_run(run, None, n)
    # a dry run leaves FID out: its 2048x2048 eigen-decomposition alone takes ~30 s on two busy cores
    fid_weights = None if dry else uncalibrated_inception_weights(work / "inception-standin.pth")
    out = {"pairs": n * len(METHODS), "images": "synthetic 224x224",
           "note": "LPIPS trunks and Inception are seeded random stand-ins: the computation of the real metrics, "
                   "not their values"}
    total = 0.0
    for net, fid in (("alex", not dry), ("vgg", False)):
        if not dry:  # warm-up: cuDNN autotune, file cache
            score_run(run, lpips_net=net, lpips_trunk="uncalibrated", device=device, batch_size=32, fid=fid,
                      fid_weights=fid_weights, progress=False, write=False)
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        score_run(run, lpips_net=net, lpips_trunk="uncalibrated", device=device, batch_size=32, fid=fid,
                  fid_weights=fid_weights, progress=False, write=False)
        secs = time.perf_counter() - t0
        total += secs
        out[f"lpips_{net}_all_metrics{'_fid' if fid else ''}_s"] = round(secs, 3)
    out["total_s"] = round(total, 3)
    out["pairs_per_s"] = round(out["pairs"] / total, 1)
    return out


def cnn(dry: bool, device: str, work: Path, budget: Budget) -> dict:
    from cnn import bench_inference

    sizes, batches, repeats = ([64], [1], 1) if dry else ([224], [1, 32, 128], 5)
    return {"weights": "random", "runs": bench_inference(device, sizes, batches, repeats, onnx=not dry)}


def ddcolor(dry: bool, device: str, work: Path, budget: Budget) -> dict:
    """DDColor-T/L images/s per precision and batch, and the largest ab change of fp16/bf16 against exact fp32."""
    import numpy as np
    from ddcolor import ENCODERS, measure, random_release

    from colorbench.methods.ddcolor.pipeline import bgr_of_gray, network_inputs
    from colorbench.methods.registry import get_method

    rng = np.random.default_rng(0)
    grays = [rng.integers(0, 256, (224, 224), dtype=np.uint8) for _ in range(32)]
    if dry:  # the tiny smoke model at 256 (a random full-size L takes minutes per image on a CPU)
        plan, batches, precisions, size = [("smoke", None)], [1], ["fp32"], 256
    else:
        plan, batches, precisions, size = [(k, random_release(v, work)) for k, v in ENCODERS.items()], [1, 8, 32], \
            ["fp32", "fp16", "bf16"], 512
    runs, agreement = [], {}
    for model, checkpoint in plan:
        reference = None
        for precision in precisions:
            if budget.left() <= 0:
                runs.append({"model": model, "precision": precision, "skipped": "time budget spent"})
                continue
            options = {"smoke": True} if checkpoint is None else {"checkpoint": str(checkpoint)}
            method = get_method("ddcolor", input_size=size, precision=precision, batch_size=max(batches), **options)
            try:
                method.load(device)
                for batch in batches:
                    runs.append({"model": model, "precision": precision, "batch": batch, "input_size": size,
                                 **measure(method, grays[:batch], 1 if dry else 3)})
                _, x = network_inputs([bgr_of_gray(g) for g in grays[:4]], size)
                ab = method.predict_ab(x).cpu()
                if precision == "fp32":
                    reference = ab
                elif reference is not None:
                    agreement[f"{model}/{precision}"] = {"max_abs_ab_diff": float((ab - reference).abs().max()),
                                                         "ab_std_fp32": float(reference.std())}
            except Exception as exc:  # noqa: BLE001 - one failing configuration must not lose the others
                runs.append({"model": model, "precision": precision, "error": f"{type(exc).__name__}: {exc}"})
            finally:
                method.unload()
    return {"weights": "smoke (tiny random)" if dry else "random full size", "runs": runs,
            "precision_vs_fp32": agreement}


def zhang(dry: bool, device: str, work: Path, budget: Budget) -> dict:
    import numpy as np
    from zhang import CONFIGS, install_random_release, measure

    from colorbench.methods.registry import get_method

    install_random_release(work / "zhang-cache")  # sets TORCH_HOME/offline for this process: run last
    batches, repeats, size = ([1], 1, 64) if dry else ([1, 32, 128], 3, 224)
    rng = np.random.default_rng(0)
    runs = []
    for label, name, options in CONFIGS[:1] if dry else CONFIGS:
        method = get_method(name, batch_size=max(batches), **options)
        method.load(device)
        for batch in batches:
            grays = [rng.integers(0, 256, (size, size), dtype=np.uint8) for _ in range(batch)]
            runs.append({"config": label, "batch": batch, **measure(method, grays, repeats)})
        method.unload()
    return {"weights": "random", "runs": runs}


BUDGETS_S = {"cuda_tests": 90, "coltran": 200, "agreement": 120, "diffusion": 180, "scoring": 60, "cnn": 30,
             "ddcolor": 90, "zhang": 30}


def failures(section: dict) -> list[str]:
    """The section's own error and each failed configuration's, so a section whose runs all failed is not "done"."""
    errors = [section["error"]] if "error" in section else []
    return errors + [run["error"] for run in section.get("runs", []) if isinstance(run, dict) and "error" in run]


def outcome(section: dict) -> str:
    errors = failures(section)
    runs = section.get("runs", [])
    skipped = sum(1 for run in runs if isinstance(run, dict) and "skipped" in run)
    if "error" in section:
        return f"ERROR {section['error']}"
    text = f"ERROR in {len(errors)} of {len(runs)} runs: {errors[0]}" if errors else "done"
    return text + (f" ({skipped} of {len(runs)} runs skipped: time budget spent)" if skipped else "")


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dry-run", action="store_true", help="CPU, tiny sizes: checks the script itself")
    parser.add_argument("--device", default=None, help="default: cuda (cpu with --dry-run)")
    parser.add_argument("--sections", nargs="+", choices=SECTIONS, default=list(SECTIONS))
    parser.add_argument("--out", type=Path, default=None, help="JSON path (default benchmarks/out/gpu_check-...)")
    args = parser.parse_args(argv)
    device = args.device or ("cpu" if args.dry_run else "cuda")
    if args.dry_run:
        torch.set_num_threads(1)  # tiny models: thread hand-offs cost more than they save, most of all on a busy CPU
    if device.startswith("cuda") and not torch.cuda.is_available():
        parser.error("no CUDA device here: run on a GPU machine, or pass --dry-run to check the script on the CPU")
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    out_path = args.out or BENCHMARKS / "out" / f"gpu_check-{'dry-run' if args.dry_run else device}-{stamp}.json"
    report: dict = {"dry_run": args.dry_run, "started_utc": stamp, "machine": machine(device), "versions": versions(),
                    "load_average_at_start": os.getloadavg(), "sections": {}}
    if args.dry_run:
        report["note"] = "DRY RUN: tiny models on the CPU; the figures check the plumbing and measure nothing"

    def save() -> None:
        out_path.parent.mkdir(parents=True, exist_ok=True)
        from _machine import write_json  # records the machine; benchmarks/ is first on sys.path

        write_json(out_path, report)

    functions = {"cuda_tests": cuda_tests, "coltran": coltran, "agreement": agreement, "diffusion": diffusion,
                 "scoring": scoring, "cnn": cnn, "ddcolor": ddcolor, "zhang": zhang}
    with tempfile.TemporaryDirectory(prefix="gpu-check-") as tmp:
        for name in args.sections:  # in SECTIONS order as given; zhang changes TORCH_HOME, so it belongs last
            t0 = time.perf_counter()
            try:
                result = functions[name](args.dry_run, device, Path(tmp), Budget(BUDGETS_S[name]))
            except Exception as exc:  # noqa: BLE001 - one failing section must not lose the others' figures
                result = {"error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()[-3000:]}
            result["section_seconds"] = round(time.perf_counter() - t0, 2)
            report["sections"][name] = result
            print(f"[gpu_check] {name}: {outcome(result)} in {result['section_seconds']} s", flush=True)
            save()
    report["load_average_at_end"] = os.getloadavg()
    save()
    print(f"[gpu_check] wrote {out_path}")
    return report


if __name__ == "__main__":
    sys.exit(1 if any(failures(s) for s in main()["sections"].values()) else 0)
