"""``colorbench train cnn …``: train (or resume) the LPIPS CNN or the MSE baseline. Thin over
:func:`colorbench.train.train_cnn`; every flag is a :class:`colorbench.train.TrainConfig` field."""

from __future__ import annotations

import argparse


def register(subparsers) -> None:
    train = subparsers.add_parser("train", help="train a model (the CNN)")
    models = train.add_subparsers(dest="model", metavar="MODEL", required=True)
    p = models.add_parser(
        "cnn",
        help="train the CNN with an LPIPS loss (cnn-lpips) or MSE on ab (cnn-mse)",
        description=(
            "Train the ResNet-18-trunk CNN. Checkpoints go to models/cnn/<out>/ (best.pt, last.pt, model.json, "
            "history.csv, loss_curve.png); load them with the cnn-lpips / cnn-mse methods. A killed run continues "
            "with the same command plus --resume."
        ),
    )
    p.add_argument("--data", required=True,
                   help="training images: 'sports' (the Kaggle download), a Kaggle layout folder, a folder with "
                        "train/ (and valid/), or any folder of images")
    p.add_argument("--valid", default=None,
                   help="validation images (a folder, or a dataset's valid split); default: DATA's valid split")
    p.add_argument("--out", default=None, help="model name under models/cnn/ or a folder (default: the loss name)")
    p.add_argument("--loss", choices=["lpips", "mse"], default="lpips",
                   help="lpips: the LPIPS-trained CNN (cnn-lpips); mse: MSE on ab, the ablation baseline (cnn-mse) "
                        "(default: lpips)")
    p.add_argument("--lpips-net", choices=["vgg", "alex"], default="vgg", help="LPIPS trunk for loss and validation "
                   "(default: vgg)")
    p.add_argument("--l1-weight", type=float, default=0.0, help="λ: add λ·mean|Δab|/100 to the LPIPS loss")
    p.add_argument("--epochs", type=int, default=12, help="training epochs (default: 12)")
    p.add_argument("--batch-size", type=int, default=32, help="images per batch (default: 32)")
    p.add_argument("--lr", type=float, default=1e-3, help="learning rate (default: 1e-3)")
    p.add_argument("--crop-size", type=int, default=224, help="training crop side in pixels (default: 224)")
    p.add_argument("--pretrained-trunk", action="store_true",
                   help="initialise the trunk from torchvision's ImageNet ResNet-18")
    p.add_argument("--no-augment", action="store_true",
                   help="resize + center crop instead of random-resized-crop + flip")
    p.add_argument("--limit", type=int, default=None, help="use only the first N training images")
    p.add_argument("--valid-limit", type=int, default=None, help="use only the first N validation images")
    p.add_argument("--workers", type=int, default=None, help="data-loading processes (default: 2 on CUDA, 0 on CPU)")
    p.add_argument("--resume", action="store_true", help="continue from models/cnn/<out>/last.pt")
    p.add_argument("--seed", type=int, default=0,
                   help="seed of initialisation, shuffling and augmentation (default: 0)")
    p.add_argument("--device", default="auto", help="auto (CUDA if available, the default), cpu, cuda, cuda:1, ...")
    p.add_argument("--amp", choices=["auto", "off", "bf16", "fp16"], default="auto",
                   help="CUDA autocast precision (default: auto = bf16 where supported, else fp16; off on CPU)")
    p.add_argument("--deterministic", action="store_true", help="deterministic cuDNN kernels on CUDA (slower)")
    p.add_argument("--uncalibrated-lpips", action="store_true",
                   help="LPIPS with a RANDOM trunk (no ImageNet download): for offline smoke runs only, "
                        "results meaningless")
    p.set_defaults(func=_train_cnn, interrupt_hint="finished epochs are kept — rerun the same command with --resume "
                                                  "to continue from the last one")


def config_from_args(args: argparse.Namespace):
    from colorbench.train import TrainConfig

    return TrainConfig(
        data=args.data, valid=args.valid, out=args.out, loss=args.loss, lpips_net=args.lpips_net,
        lpips_calibrated=not args.uncalibrated_lpips, l1_weight=args.l1_weight, pretrained_trunk=args.pretrained_trunk,
        epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, crop_size=args.crop_size,
        augment=not args.no_augment, limit=args.limit, valid_limit=args.valid_limit, seed=args.seed,
        device=args.device, amp=args.amp, workers=args.workers, deterministic=args.deterministic,
    )


def _train_cnn(args: argparse.Namespace) -> int:
    from colorbench.cli import ColorbenchError
    from colorbench.train import train_cnn

    config = config_from_args(args)
    try:
        result = train_cnn(config, resume=args.resume)
    except FileExistsError as exc:
        raise ColorbenchError(str(exc)) from None
    best = result.history.loc[result.history[["valid_lpips"]].notna().all(axis=1)] if len(result.history) else None
    print(f"trained {config.loss} CNN: {len(result.history)} epochs in {result.out_dir}")
    print(f"best checkpoint: {result.best_checkpoint}   log: {result.history_csv}")
    if best is not None and len(best):
        row = best.loc[best["valid_lpips"].idxmin()]
        print(f"best epoch {int(row['epoch'])}: valid LPIPS {row['valid_lpips']:.4f}, PSNR {row['valid_psnr']:.2f} dB")
    print(f"use it: colorbench run --methods cnn-{config.loss}  (option checkpoint={config.out_name})")
    return 0
