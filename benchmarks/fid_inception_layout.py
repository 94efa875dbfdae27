"""The FID Inception's forward pass in torch's default (NCHW) layout and channels-last, per image, by batch size.

``metrics/fid.py`` runs the network channels-last (oneDNN's and cuDNN's preferred convolution layout); this script
times both layouts on the same uint8 224×224 inputs with the same seeded stand-in weights (the real file's network
and compute; the values are not FIDs), best of ``--repeats``, and records how far the two layouts' features are
apart (the same sums: float32 rounding).

    PYTHONPATH=src python benchmarks/fid_inception_layout.py     # writes benchmarks/out/fid_inception_layout.json
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
from _machine import write_json  # noqa: E402  (benchmarks/ is the script's folder: first on sys.path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=32)
    parser.add_argument("--batch-sizes", default="1,8,32")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out" / "fid_inception_layout.json")
    args = parser.parse_args(argv)

    import torch

    from colorbench.metrics.fid import InceptionFeatures, uncalibrated_inception_weights

    with tempfile.TemporaryDirectory() as tmp:
        net = InceptionFeatures(uncalibrated_inception_weights(Path(tmp) / "inception.pt"), device=args.device)
    x = torch.randint(0, 256, (args.images, 3, 224, 224), dtype=torch.uint8,
                      generator=torch.Generator().manual_seed(0)).to(args.device)
    sizes = [int(b) for b in args.batch_sizes.split(",")]
    layouts = {"nchw": torch.contiguous_format, "channels_last": torch.channels_last}
    seconds_per_image: dict[str, dict[int, float]] = {name: {} for name in layouts}
    features = {}
    net(x[:2])  # warm-up (oneDNN primitive creation)
    for bs in sizes:
        for name, fmt in layouts.items():  # alternating, so a change of load hits both alike
            net.net.to(memory_format=fmt)
            best = float("inf")
            for _ in range(args.repeats):
                start = time.perf_counter()
                out = torch.cat([net(x[i:i + bs]) for i in range(0, args.images, bs)])
                if args.device.startswith("cuda"):
                    torch.cuda.synchronize()
                best = min(best, time.perf_counter() - start)
            seconds_per_image[name][bs] = round(best / args.images, 4)
            features[name] = out
            print(f"batch {bs:3d}  {name:13s} {best / args.images:.3f} s/image", flush=True)
    diff = (features["channels_last"] - features["nchw"]).norm() / features["nchw"].norm()
    write_json(args.out, {
        "what": "FID Inception forward pass (torch-fidelity's inception-v3-compat, stand-in weights), uint8 224x224 "
                "in, pool3 out; seconds per image, best of repeats, by batch size and memory layout",
        "device": args.device, "images": args.images, "repeats": args.repeats,
        "threads": torch.get_num_threads(), "seconds_per_image": seconds_per_image,
        "speedup_channels_last": {bs: round(seconds_per_image["nchw"][bs] / seconds_per_image["channels_last"][bs], 3)
                                  for bs in sizes},
        "features_relative_difference": float(diff),
    })
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
