"""``colorbench train cnn …``: train (or resume) the LPIPS CNN or the MSE baseline. Thin over
:func:`colorbench.train.train_cnn`; every flag is a :class:`colorbench.train.TrainConfig` field."""

from __future__ import annotations

import argparse

from colorbench.cli.common import add_option, command, group
from colorbench.train.config import AMP_MODES, LOSSES, LPIPS_NETS, TrainConfig


def register(subparsers) -> None:
    models = group(subparsers, "train", help="train a model (the CNN)", metavar="MODEL")
    p = command(
        models, "cnn", _train_cnn,
        help="train the CNN with an LPIPS loss (cnn-lpips) or MSE on ab (cnn-mse)",
        description=(
            "Train the ResNet-18-trunk CNN. Checkpoints go to models/cnn/<out>/ (best.pt, last.pt, model.json, "
            "history.csv, loss_curve.png); load them with the cnn-lpips / cnn-mse methods. A killed run continues "
            "with the same command plus --resume."
        ),
        interrupt_hint="finished epochs are kept — rerun the same command with --resume to continue from the last one",
    )

    def option(flag: str, help: str, field: str | None = None, **kwargs) -> None:
        add_option(p, flag, TrainConfig, field, help=help, **kwargs)

    p.add_argument("--data", required=True,
                   help="training images: 'sports' (the Kaggle download), a Kaggle layout folder, a folder with "
                        "train/ (and valid/), or any folder of images")
    option("--valid", "validation images (a folder, or a dataset's valid split); default: DATA's valid split",
           show=False)
    option("--out", "model name under models/cnn/ or a folder (default: the loss name)", show=False)
    option("--loss", "lpips: the LPIPS-trained CNN (cnn-lpips); mse: MSE on ab, the ablation baseline (cnn-mse)",
           choices=LOSSES)
    option("--lpips-net", "LPIPS trunk for loss and validation", choices=LPIPS_NETS)
    option("--l1-weight", "λ: add λ·mean|Δab|/100 to the LPIPS loss", type=float)
    option("--epochs", "training epochs", type=int)
    option("--batch-size", "images per batch", type=int)
    option("--lr", "learning rate", type=float)
    option("--crop-size", "training crop side in pixels", type=int)
    p.add_argument("--pretrained-trunk", action="store_true",
                   help="initialise the trunk from torchvision's ImageNet ResNet-18")
    p.add_argument("--no-augment", action="store_true",
                   help="resize + center crop instead of random-resized-crop + flip")
    option("--limit", "use only the first N training images", type=int, show=False)
    option("--valid-limit", "use only the first N validation images", type=int, show=False)
    option("--workers", "data-loading processes (default: 2 on CUDA, 0 on CPU)", type=int, show=False)
    p.add_argument("--resume", action="store_true", help="continue from models/cnn/<out>/last.pt")
    option("--seed", "seed of initialisation, shuffling and augmentation", type=int)
    option("--device", "auto (CUDA if available), cpu, cuda, cuda:1, ...")
    option("--amp", "CUDA autocast precision: auto = bf16 where supported, else fp16; off on CPU",
           choices=AMP_MODES)
    p.add_argument("--deterministic", action="store_true", help="deterministic cuDNN kernels on CUDA (slower)")
    p.add_argument("--uncalibrated-lpips", action="store_true",
                   help="LPIPS with a RANDOM trunk (no ImageNet download): for offline smoke runs only, "
                        "results meaningless")


def config_from_args(args: argparse.Namespace):
    return TrainConfig(
        data=args.data, valid=args.valid, out=args.out, loss=args.loss, lpips_net=args.lpips_net,
        lpips_calibrated=not args.uncalibrated_lpips, l1_weight=args.l1_weight, pretrained_trunk=args.pretrained_trunk,
        epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, crop_size=args.crop_size,
        augment=not args.no_augment, limit=args.limit, valid_limit=args.valid_limit, seed=args.seed,
        device=args.device, amp=args.amp, workers=args.workers, deterministic=args.deterministic,
    )


def _train_cnn(args: argparse.Namespace) -> int:
    from colorbench.cli import ColorbenchError
    from colorbench.messages import plural
    from colorbench.train import train_cnn

    config = config_from_args(args)
    try:
        result = train_cnn(config, resume=args.resume)
    except FileExistsError as exc:
        raise ColorbenchError(str(exc)) from None
    best = result.history.loc[result.history[["valid_lpips"]].notna().all(axis=1)] if len(result.history) else None
    print(f"trained {config.loss} CNN: {plural(len(result.history), 'epoch')} in {result.out_dir}")
    print(f"best checkpoint: {result.best_checkpoint}   log: {result.history_csv}")
    if best is not None and len(best):
        row = best.loc[best["valid_lpips"].idxmin()]
        print(f"best epoch {int(row['epoch'])}: valid LPIPS {row['valid_lpips']:.4f}, PSNR {row['valid_psnr']:.2f} dB")
    print(f"use it: colorbench run --methods cnn-{config.loss}  (option checkpoint={config.out_name})")
    return 0
