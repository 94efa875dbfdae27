"""CNN speed: inference images/s (PyTorch vs onnxruntime on CPU; PyTorch fp32/bf16/fp16 on a GPU when present)
and the cost of one training step (measured on this machine, plus a FLOP count for estimating other GPUs).

Speed does not depend on the weights, so the networks here are randomly initialised (same architecture and
size as the original checkpoint). Writes benchmarks/out/cnn.json and prints a summary.

    PYTHONPATH=src python benchmarks/cnn.py                 # full
    PYTHONPATH=src python benchmarks/cnn.py --quick         # fewer repeats
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from colorbench.methods.cnn.inference import TorchAbPredictor
from colorbench.methods.cnn.model import ORIGINAL, ColorizationNet
from colorbench.methods.cnn.onnx_export import OnnxAbPredictor, export_onnx

OUT = Path(__file__).resolve().parent / "out" / "cnn.json"
# Assumed *effective* fp16 throughput of a Colab T4 for conv nets of this kind (peak tensor-core fp16 is 65 TFLOP/s;
# convnet training typically reaches 20-30 % of it). Used only for the labelled estimate below.
T4_EFFECTIVE_TFLOPS = 15.0
TRAIN_IMAGES = 13_492


def _time(fn, repeats: int, warmup: int = 2) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def bench_inference(device: str, sizes, batches, repeats: int, threads: int | None = None,
                    onnx: bool = True) -> list[dict]:
    torch.manual_seed(0)
    model = ColorizationNet(ORIGINAL).eval()
    rows = []
    onnx_predictor = None
    if device == "cpu" and onnx:
        path = Path(tempfile.mkdtemp()) / "cnn.onnx"
        export_onnx(model, path)
        onnx_predictor = OnnxAbPredictor(path, threads=threads)
    precisions = ["fp32"] if device == "cpu" else ["fp32", "bf16", "fp16"]
    for size in sizes:
        for batch in batches:
            L = np.random.default_rng(0).uniform(0, 100, (batch, 1, size, size)).astype(np.float32)
            backends = [(f"torch-{p}", TorchAbPredictor(model, device=device, precision=p)) for p in precisions]
            if onnx_predictor is not None:
                backends.append(("onnxruntime", onnx_predictor))
            for name, predictor in backends:
                def call():
                    predictor(L)
                    if device.startswith("cuda"):
                        torch.cuda.synchronize()
                seconds = _time(call, repeats)
                rows.append({"device": device, "backend": name, "size": size, "batch": batch,
                             "seconds_per_batch": seconds, "images_per_s": batch / seconds})
                print(f"  {device:5s} {name:13s} {size:4d}px batch {batch:2d}: {batch / seconds:8.1f} images/s")
    return rows


def bench_training(device: str, crop: int, batch: int, repeats: int) -> dict:
    from colorbench.train import TrainConfig
    from colorbench.train.trainer import Trainer

    # UNCALIBRATED LPIPS (random VGG trunk): identical compute to the calibrated one, no download needed.
    cfg = TrainConfig(data="unused", crop_size=crop, batch_size=batch, lpips_net="vgg", lpips_calibrated=False,
                      device=device, amp="auto")
    trainer = Trainer(cfg, progress=False)
    g = torch.Generator().manual_seed(0)
    rgb = torch.rand(batch, 3, crop, crop, generator=g)
    from colorbench.color import rgb_to_lab_torch

    batch_dict = {"rgb": rgb, "L": rgb_to_lab_torch(rgb)[:, :1], "valid": torch.ones(batch)}

    def step():
        trainer.train_step(batch_dict)
        if device.startswith("cuda"):
            torch.cuda.synchronize()

    seconds = _time(step, repeats, warmup=1)
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        trainer.train_step(batch_dict)
    flops_per_image = counter.get_total_flops() / batch
    est_t4_s = TRAIN_IMAGES * flops_per_image / (T4_EFFECTIVE_TFLOPS * 1e12)
    row = {"device": device, "loss": "lpips-vgg", "crop": crop, "batch": batch, "seconds_per_step": seconds,
           "train_images_per_s": batch / seconds, "flops_per_train_image": flops_per_image,
           "measured_epoch_minutes_here": TRAIN_IMAGES / (batch / seconds) / 60,
           "ESTIMATE_t4_epoch_minutes": est_t4_s / 60,
           "estimate_assumption": f"T4 at {T4_EFFECTIVE_TFLOPS} effective fp16 TFLOP/s (an assumption, not measured)"}
    print(f"  train step {device} {crop}px batch {batch}: {seconds:.2f} s/step = {batch / seconds:.2f} images/s; "
          f"{flops_per_image / 1e9:.1f} GFLOP/image; epoch of {TRAIN_IMAGES} images here: "
          f"{row['measured_epoch_minutes_here']:.0f} min; ESTIMATED T4 epoch: "
          f"{row['ESTIMATE_t4_epoch_minutes']:.1f} min")
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", default=str(OUT))
    parser.add_argument("--threads", type=int, default=None, help="CPU threads for PyTorch and onnxruntime")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    repeats = 3 if args.quick else 7
    result = {
        "benchmark": "cnn", "time_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"platform": platform.platform(), "processor": platform.processor(), "cpus": os.cpu_count(),
                    "torch_threads": torch.get_num_threads(), "load_average": os.getloadavg(),
                    "torch": torch.__version__, "python": sys.version.split()[0],
                    "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None},
        "note": "random-initialised networks (speed does not depend on weights); medians of repeats",
    }
    print("inference (CPU):")
    result["inference"] = bench_inference("cpu", sizes=[224, 512], batches=[1, 8], repeats=repeats,
                                          threads=args.threads)
    if torch.cuda.is_available():
        print("inference (GPU):")
        result["inference"] += bench_inference("cuda", sizes=[224, 512], batches=[1, 32], repeats=repeats * 3)
    print("training step:")
    result["training"] = [bench_training("cpu", crop=224, batch=8, repeats=2 if args.quick else 3)]
    if torch.cuda.is_available():
        result["training"].append(bench_training("cuda", crop=224, batch=32, repeats=10))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    from _machine import write_json  # records the machine; benchmarks/ is first on sys.path

    write_json(Path(args.out), result)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
