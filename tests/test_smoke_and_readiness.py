"""Smoke runs and readiness: cnn-lpips / cnn-mse use the checkpoints they are given, also in smoke runs (notebook
01 trains smoke checkpoints and runs with them); smoke runs include the heavy methods on a CPU; every view of
readiness gives one answer."""

from __future__ import annotations

import json

import pytest
import torch

from colorbench.config import RunConfig
from colorbench.methods import readiness
from colorbench.methods.cnn.checkpoint import model_payload, save_payload
from colorbench.methods.cnn.model import IMPROVED, ColorizationNet
from colorbench.run import run
from colorbench.runfolder import RunFolder


def _checkpoint(path, loss: str, seed: int):
    torch.manual_seed(seed)
    save_payload(path, model_payload(ColorizationNet(IMPROVED).eval(), loss=loss, epoch=1, metrics={}))
    return path


@pytest.mark.usefixtures("one_torch_thread")
def test_a_smoke_run_uses_the_checkpoints_it_is_given_and_records_them(tmp_path):
    lpips_ckpt = _checkpoint(tmp_path / "smoke-lpips.pt", "lpips", seed=1)
    mse_ckpt = _checkpoint(tmp_path / "smoke-mse.pt", "mse", seed=2)
    cfg = RunConfig(run="smoke-ckpt", methods=["cnn-lpips", "cnn-mse"], limit=2, smoke=True, device="cpu",
                    method_options={"cnn-lpips": {"checkpoint": str(lpips_ckpt)},
                                    "cnn-mse": {"checkpoint": str(mse_ckpt)}})
    summary = run(cfg, progress=False)
    assert [m.status for m in summary.methods] == ["done", "done"]
    folder = RunFolder(summary.path)
    ids = [p.stem for p in sorted((folder.path / "images" / "cnn-lpips").glob("*.png"))]
    assert ids
    for sample_id in ids:
        a = (folder.path / "images" / "cnn-lpips" / f"{sample_id}.png").read_bytes()
        b = (folder.path / "images" / "cnn-mse" / f"{sample_id}.png").read_bytes()
        assert a != b, f"{sample_id}: cnn-lpips and cnn-mse made the same image from different checkpoints"
    status = json.loads(folder.run_json.read_text())["method_status"]
    assert status["cnn-lpips"]["config"]["checkpoint"] == str(lpips_ckpt)
    assert status["cnn-mse"]["config"]["checkpoint_path"].endswith("smoke-mse.pt")


def test_one_readiness_answer_in_the_cli_and_the_notebook(capsys):
    import colorbench.notebook as nb
    from colorbench.cli import main

    why = readiness("cnn-lpips")  # no checkpoint in the test's empty models folder
    assert why and "needs a trained model" in why
    table = nb.methods_table().set_index("method")
    assert not table.loc["cnn-lpips", "ready"] and table.loc["cnn-lpips", "why not"] == why
    assert table.loc["gray", "ready"] and readiness("gray") is None
    main(["methods"])
    out = capsys.readouterr().out
    line = next(row for row in out.splitlines() if row.strip().startswith("cnn-lpips"))
    assert why in line


def test_smoke_runs_the_heavy_methods_on_a_cpu_like_the_notebook_smoke_run():
    from colorbench.run import too_slow_here

    heavy = ["coltran", "controlnet-canny", "controlnet-canny-img2img"]
    assert too_slow_here(["gray", *heavy], auto=True, device="cpu", smoke=False) == set(heavy)
    assert too_slow_here(["gray", *heavy], auto=True, device="cpu", smoke=True) == set()
    assert too_slow_here(heavy, auto=False, device="cpu", smoke=False) == set()  # named: run anyway


def test_notebook_01_runs_with_the_checkpoints_it_trained_unless_one_was_chosen(tmp_path):
    from types import SimpleNamespace

    from colorbench.methods.cnn.notebook import use_trained_checkpoints

    trained = {"cnn-lpips": SimpleNamespace(best_checkpoint=tmp_path / "smoke-lpips" / "best.pt"),
               "cnn-mse": SimpleNamespace(best_checkpoint=tmp_path / "smoke-mse" / "best.pt")}
    options = use_trained_checkpoints({"cnn-mse": {"checkpoint": "mine"}, "eccv16": {"temperature": 0.1}}, trained)
    assert options == {"cnn-lpips": {"checkpoint": str(tmp_path / "smoke-lpips" / "best.pt")},
                       "cnn-mse": {"checkpoint": "mine"}, "eccv16": {"temperature": 0.1}}
