"""Training the CNN: it learns (overfits one real batch), resumes exactly after a kill, and its checkpoints load
as the cnn-lpips / cnn-mse methods. LPIPS here is UNCALIBRATED (random AlexNet trunk, no download): fine for
checking that optimisation works, meaningless as a quality figure."""

from __future__ import annotations

import argparse
import json

import numpy as np
import pytest
import torch

from colorbench.data.index import index_folder
from colorbench.methods.cnn.checkpoint import CheckpointNotFound
from colorbench.methods.registry import get_method
from colorbench.train import TrainConfig, TrainingStopped, load_history, plot_history, train_cnn
from colorbench.train.data import ColorizationDataset, random_resized_crop, training_splits
from colorbench.train.trainer import Trainer

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def fixture_photo_paths(sports_dir):
    return [s.path for s in index_folder(sports_dir / "test").samples]


def tiny_config(sports_dir, **overrides) -> TrainConfig:
    test = str(sports_dir / "test")
    base = dict(data=test, valid=test, limit=8, valid_limit=4, crop_size=32, batch_size=4, epochs=2, lr=3e-3,
                warmup_steps=1, lpips_net="alex", lpips_calibrated=False, seed=7, device="cpu")
    base.update(overrides)
    return TrainConfig(**base)


def test_overfits_one_real_batch(sports_dir):
    paths = fixture_photo_paths(sports_dir)[::97][:4]
    dataset = ColorizationDataset(paths, crop_size=32, augment=False)
    batch = {k: torch.stack([dataset[i][k] for i in range(len(paths))]) for k in ("L", "rgb", "valid")}
    assert batch["valid"].tolist() == [1.0] * 4
    trainer = Trainer(tiny_config(sports_dir, lr=3e-3), progress=False)
    losses = [trainer.train_step(batch) for _ in range(30)]
    assert all(np.isfinite(losses))
    assert min(losses[-5:]) < losses[0] / 5, losses  # a large factor in a few dozen steps


def test_mse_loss_overfits_too(sports_dir):
    paths = fixture_photo_paths(sports_dir)[::97][:4]
    dataset = ColorizationDataset(paths, crop_size=32, augment=False)
    batch = {k: torch.stack([dataset[i][k] for i in range(len(paths))]) for k in ("L", "rgb", "valid")}
    trainer = Trainer(tiny_config(sports_dir, loss="mse"), progress=False)
    losses = [trainer.train_step(batch) for _ in range(30)]
    assert min(losses[-5:]) < losses[0] / 5, losses


def _assert_same_state(a: dict, b: dict):
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k


def test_resume_after_a_kill_gives_the_same_state_as_an_uninterrupted_run(sports_dir, tmp_path):
    whole = train_cnn(tiny_config(sports_dir, out=str(tmp_path / "whole")), progress=False)

    def kill_after_first_epoch(epoch, row):
        if epoch == 1:
            raise TrainingStopped("simulated kill")

    cfg = tiny_config(sports_dir, out=str(tmp_path / "killed"))
    with pytest.raises(TrainingStopped):
        train_cnn(cfg, progress=False, on_epoch_end=kill_after_first_epoch)
    assert json.loads((tmp_path / "killed" / "model.json").read_text())["epochs_done"] == 1
    with pytest.raises(FileExistsError, match="--resume"):  # never silently overwrite a run
        train_cnn(cfg, progress=False)
    resumed = train_cnn(cfg, resume=True, progress=False)

    last_a = torch.load(whole.last_checkpoint, weights_only=True)
    last_b = torch.load(resumed.last_checkpoint, weights_only=True)
    _assert_same_state(last_a["state_dict"], last_b["state_dict"])
    assert last_a["epoch"] == last_b["epoch"] == 2 and last_a["global_step"] == last_b["global_step"] == 4
    for (ka, va), (kb, vb) in zip(last_a["optimizer"]["state"].items(), last_b["optimizer"]["state"].items()):
        _assert_same_state(va, vb)
    assert last_a["scheduler"]["last_epoch"] == last_b["scheduler"]["last_epoch"]
    metrics = ["epoch", "train_loss", "valid_lpips", "valid_psnr", "valid_loss", "lr"]
    assert whole.history[metrics].equals(resumed.history[metrics])
    best_a = torch.load(whole.best_checkpoint, weights_only=True)
    best_b = torch.load(resumed.best_checkpoint, weights_only=True)
    assert best_a["epoch"] == best_b["epoch"]
    _assert_same_state(best_a["state_dict"], best_b["state_dict"])

    # the run's outputs: log, figure, sidecar
    assert (tmp_path / "killed" / "loss_curve.png").stat().st_size > 1000
    history = load_history(tmp_path / "killed")
    assert list(history["epoch"]) == [1, 2] and history["valid_psnr"].notna().all()
    sidecar = json.loads((tmp_path / "killed" / "model.json").read_text())
    assert sidecar["epochs_done"] == 2 and sidecar["loss"] == "lpips" and "UNCALIBRATED" in sidecar["loss_detail"]
    assert sidecar["architecture"]["input_mode"] == "l1" and sidecar["colorbench_version"]
    assert sidecar["data"]["train_images"] == 8 and sidecar["best"]["metric"] == "valid_lpips"
    fig = plot_history([whole.history, history], labels=["whole", "resumed"])
    assert len(fig.axes) == 3

    # the best checkpoint is what cnn-lpips loads; it refuses to pose as the MSE baseline
    method = get_method("cnn-lpips", checkpoint=str(tmp_path / "killed"))
    method.load("cpu")
    _assert_same_state(method.model.state_dict(), best_b["state_dict"])
    assert method.config()["epoch"] == best_b["epoch"]
    gray = np.random.default_rng(0).integers(0, 256, (30, 45), dtype=np.uint8)
    assert method.colorize([gray], seed=0)[0].shape == (30, 45, 3)
    with pytest.raises(ValueError, match="cnn-lpips"):
        get_method("cnn-mse", checkpoint=str(resumed.best_checkpoint)).load("cpu")


def test_trained_methods_say_how_to_train_when_no_checkpoint_exists():
    from colorbench.weights import WeightsUnavailable

    assert issubclass(CheckpointNotFound, WeightsUnavailable)  # the runner skips the method, the run goes on
    with pytest.raises(CheckpointNotFound, match="colorbench train cnn --loss mse"):
        get_method("cnn-mse").load("cpu")
    with pytest.raises(CheckpointNotFound, match="colorbench train cnn --loss lpips"):
        get_method("cnn-lpips", checkpoint="nope").load("cpu")


def test_augmentation_is_deterministic_per_seed_epoch_and_index(sports_dir):
    paths = fixture_photo_paths(sports_dir)[:3]
    ds = ColorizationDataset(paths, crop_size=40, augment=True, seed=1)
    ds.set_epoch(3)
    a = ds[2]
    b = ColorizationDataset(paths, crop_size=40, augment=True, seed=1)
    b.set_epoch(3)
    assert torch.equal(a["rgb"], b[2]["rgb"]) and torch.equal(a["L"], b[2]["L"])
    b.set_epoch(4)
    assert not torch.equal(a["rgb"], b[2]["rgb"])
    assert a["rgb"].shape == (3, 40, 40) and a["L"].shape == (1, 40, 40)
    crop = random_resized_crop(np.zeros((50, 300, 3), np.uint8), 24, np.random.default_rng(0), 0.35)
    assert crop.shape == (24, 24, 3)


def test_grayscale_sources_are_masked_out_of_the_loss(sports_dir):
    gray_source = sports_dir / "test" / "ski jumping" / "2.jpg"  # a mode-L JPEG: no colour ground truth
    ds = ColorizationDataset([gray_source], crop_size=32, augment=False)
    assert float(ds[0]["valid"]) == 0.0


def test_training_splits_come_from_the_dataset_index(sports_dir, tmp_path):
    from PIL import Image

    for split, n in (("train", 3), ("valid", 2)):
        (tmp_path / split / "cats").mkdir(parents=True)
        for i in range(n):
            Image.new("RGB", (16, 16), (i * 40, 90, 30)).save(tmp_path / split / "cats" / f"{i}.png")
    splits = training_splits(tmp_path)
    assert [p.parent.parent.name for p in splits["train"]] == ["train"] * 3
    assert [p.parent.parent.name for p in splits["valid"]] == ["valid"] * 2
    plain = training_splits(sports_dir / "test")  # a plain folder: everything trains, no validation
    assert len(plain["train"]) == 500 and plain["valid"] == [] and plain["valid_source"] is None
    with pytest.raises(FileNotFoundError, match="no validation images"):
        training_splits(tmp_path, valid=sports_dir)  # the fixture's Kaggle layout has no valid/ files


def test_cli_flags_map_onto_the_config(tmp_path):
    from colorbench.cli.train import config_from_args, register

    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["train", "cnn", "--data", str(tmp_path), "--loss", "mse", "--lpips-net", "alex",
                              "--l1-weight", "0.5", "--epochs", "3", "--batch-size", "8", "--lr", "0.01",
                              "--pretrained-trunk", "--out", "ablation", "--resume", "--seed", "5",
                              "--device", "cpu", "--amp", "off", "--uncalibrated-lpips"])
    cfg = config_from_args(args)
    assert ((cfg.loss, cfg.lpips_net, cfg.l1_weight, cfg.epochs, cfg.batch_size, cfg.lr)
            == ("mse", "alex", 0.5, 3, 8, 0.01))
    assert cfg.pretrained_trunk and not cfg.lpips_calibrated and cfg.out_name == "ablation" and args.resume
    assert (cfg.seed, cfg.device, cfg.amp) == (5, "cpu", "off")
    assert cfg.out_dir().name == "ablation" and cfg.out_dir().parent.name == "cnn"
    with pytest.raises(ValueError, match="loss"):
        TrainConfig(loss="l2")


def test_cli_trains_and_prints_where_the_model_is(sports_dir, tmp_path, capsys):
    from colorbench.cli import ColorbenchError
    from colorbench.cli.train import register

    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command"))
    argv = ["train", "cnn", "--data", str(sports_dir / "test"), "--valid", str(sports_dir / "test"), "--limit", "4",
            "--valid-limit", "2", "--crop-size", "32", "--batch-size", "4", "--epochs", "1", "--lpips-net", "alex",
            "--uncalibrated-lpips", "--device", "cpu", "--out", str(tmp_path / "cli-run")]
    args = parser.parse_args(argv)
    assert args.func(args) == 0
    printed = capsys.readouterr().out
    assert "best checkpoint" in printed and "valid LPIPS" in printed
    assert (tmp_path / "cli-run" / "best.pt").is_file() and (tmp_path / "cli-run" / "history.csv").is_file()
    again = parser.parse_args(argv)
    with pytest.raises(ColorbenchError, match="--resume"):
        again.func(again)


def test_pretrained_trunk_comes_from_torchvisions_cache(sports_dir, monkeypatch):
    import dataclasses
    import hashlib
    import io

    from torchvision.models import resnet18

    from colorbench import weights

    with pytest.raises(weights.WeightsUnavailable, match="torchvision-resnet18"):
        Trainer(tiny_config(sports_dir, pretrained_trunk=True), progress=False)
    torch.manual_seed(3)  # a stand-in for the ImageNet file in torchvision's cache, under a name carrying its own
    imagenet = resnet18(weights=None).state_dict()  # sha256 prefix (the real name's prefix would refuse it)
    buffer = io.BytesIO()
    torch.save(imagenet, buffer)
    spec = dataclasses.replace(weights.get_spec("torchvision-resnet18"),
                               relpath=f"resnet18-standin-{hashlib.sha256(buffer.getvalue()).hexdigest()[:8]}.pth")
    monkeypatch.setitem(weights.REGISTRY, spec.name, spec)
    path = weights.local_path(spec)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buffer.getvalue())
    trunk = Trainer(tiny_config(sports_dir, pretrained_trunk=True), progress=False).model.midlevel_resnet
    # 1-channel input: conv1's RGB filters summed (a gray image replicated to RGB gives the same response)
    assert torch.allclose(trunk[0].weight, imagenet["conv1.weight"].sum(1, keepdim=True))
    assert torch.equal(trunk[1].running_var, imagenet["bn1.running_var"])
    assert torch.equal(trunk[5][1].conv2.weight, imagenet["layer2.1.conv2.weight"])


def test_calibrated_lpips_needs_the_imagenet_trunk_and_says_so(sports_dir):
    from colorbench import weights
    from colorbench.metrics.lpips_metric import LPIPS

    with pytest.raises(weights.WeightsUnavailable, match="torchvision-alexnet"):
        Trainer(tiny_config(sports_dir, lpips_calibrated=True, lpips_net="alex"), progress=False)
    lp = Trainer(tiny_config(sports_dir), progress=False).lpips  # the tests' uncalibrated trunk
    assert isinstance(lp, LPIPS) and not lp.calibrated and "UNCALIBRATED" in lp.label
    x = torch.rand(2, 3, 32, 32, requires_grad=True)
    assert torch.allclose(lp(x, x), torch.zeros(2), atol=1e-6)
    d = lp(x, x.flip(-1))
    assert (d > 0).all()
    d.sum().backward()  # usable as a loss: gradients reach the prediction
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_notebook_helpers_show_l_merged_outputs(sports_dir):
    import matplotlib

    matplotlib.use("Agg")
    from colorbench.color import rgb_to_lab, to_gray
    from colorbench.methods.cnn.notebook import colorize_examples, show_examples

    paths = fixture_photo_paths(sports_dir)[:2]
    panels = colorize_examples([get_method("cnn-lpips", smoke=True)], paths, device="cpu")
    assert list(panels) == ["truth", "gray", "cnn-lpips"]
    for truth, out in zip(panels["truth"], panels["cnn-lpips"]):
        assert out.shape == truth.shape
        gray_L = rgb_to_lab(np.repeat(to_gray(truth)[..., None], 3, 2))[..., 0]
        assert np.median(np.abs(rgb_to_lab(out)[..., 0] - gray_L)) < 0.5
    fig = show_examples(panels)
    assert len(fig.axes) == 6


def test_a_wrong_data_folder_is_reported_before_any_weights_are_needed(tmp_path):
    """The default config needs the ImageNet VGG trunk for LPIPS (absent offline): the missing folder must be the
    error, not the weights."""
    with pytest.raises(Exception, match="nonexistent"):
        train_cnn(TrainConfig(data=str(tmp_path / "nonexistent"), out=str(tmp_path / "out")), progress=False)


def test_notebook_training_step_can_run_again(sports_dir, tmp_path):
    """Notebook 01 with TRAIN = True, *Run all* a second time: the finished training is reused, not refused
    ("already holds a training run; pass --resume", a CLI flag a notebook user cannot pass); more epochs resume it;
    other settings are refused, naming them, never trained on top of a run made otherwise."""
    from colorbench.train import train_or_resume

    said = []
    config = tiny_config(sports_dir, out=str(tmp_path / "nb"), epochs=1)
    first = train_or_resume(config, progress=False, log=said.append)
    assert said == [] and list(first.history["epoch"]) == [1]
    best = first.best_checkpoint.read_bytes()

    again = train_or_resume(config, progress=False, log=said.append)
    assert again.history["train_loss"].tolist() == first.history["train_loss"].tolist()
    assert again.best_checkpoint.read_bytes() == best  # nothing trained
    assert "finished" in said[-1] and str(tmp_path / "nb") in said[-1]

    faster = tiny_config(sports_dir, out=str(tmp_path / "nb"), epochs=2, workers=0)  # a speed setting may change
    assert list(train_or_resume(faster, progress=False, log=said.append).history["epoch"]) == [1, 2]
    assert "resuming after epoch 1 of 2" in said[-1]

    with pytest.raises(FileExistsError, match=r"lr 0\.003 there, 0\.01 now.*delete that folder"):
        train_or_resume(tiny_config(sports_dir, out=str(tmp_path / "nb"), epochs=2, lr=1e-2), progress=False)
    with pytest.raises(FileExistsError, match="epochs: 2 done there, 1 asked for now"):
        train_or_resume(config, progress=False)
