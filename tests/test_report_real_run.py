"""End to end on a real run: `colorbench.run` on fixture photos -> score -> report."""

from __future__ import annotations

import numpy as np

from colorbench.config import RunConfig
from colorbench.methods.base import Method
from colorbench.metrics import load_metrics, score_run
from colorbench.report import ReportOptions, build_report, load_tables
from colorbench.run import run


class SepiaSampler(Method):
    """Test method: a sepia tint whose strength depends on the per-image seed (stochastic, K samples)."""

    name = "sepia"
    stochastic = True

    def load(self, device):
        self.device = device

    def colorize(self, grays, *, seed, item_seeds=None, labels=None):
        out = []
        for gray, s in zip(grays, item_seeds):
            strength = 0.1 + (s % 7) / 30
            tint = np.array([1.0 + strength, 1.0, 1.0 - strength])
            out.append(np.clip(gray[..., None] * tint, 0, 255).astype(np.uint8))
        return out


def test_score_and_report_a_real_run(add_method, tmp_path, sports_dir, monkeypatch):
    add_method("sepia", f"{__name__}:SepiaSampler")
    data = tmp_path / "data"
    for label in ("ski jumping", "archery"):  # ski jumping/2.jpg is a real gray-only JPEG
        (data / label).mkdir(parents=True)
        for name in ("1.jpg", "2.jpg"):
            (data / label / name).symlink_to(sports_dir / "test" / label / name)
    cfg = RunConfig(run="real", dataset=str(data), split=None, methods=["gray", "sepia"], device="cpu",
                    samples_per_image=2, batch_size=2, results_dir=str(tmp_path / "results"))
    summary = run(cfg, progress=False)
    result = score_run(summary.path, lpips_trunk="uncalibrated", fid=False, progress=False)
    assert result.summary["n_scorable"] == 3 and len(result.summary["excluded"]) == 1
    frame = load_metrics(summary.path)
    assert set(frame["method"]) == {"gray", "sepia"}
    assert (frame[frame["method"] == "sepia"]["k"].max()) == 1
    assert (frame["status"] == "ok").all()
    path = build_report(summary.path, ReportOptions(n_boot=200, grid_images=3, grid_extremes=1))
    page = path.read_text()
    assert "ski jumping" in page or "ski-jumping" in page
    assert "real" in page and "Samples per image" in page
    tables = load_tables(summary.path)
    headline = tables["headline"].set_index("method")
    assert headline.loc["gray", "colorfulness_mean"] < headline.loc["sepia", "colorfulness_mean"]
    # the runner counts every sample as an output: the cost table's seconds are per colorization, and it says so
    cost = tables["cost"].set_index("method")
    assert cost.loc["gray", "n_images"] == 4 and cost.loc["sepia", "n_images"] == 4 * 2
    assert "every one of its K samples is an output" in (summary.path / "tables" / "cost.md").read_text()
