"""``benchmarks/brightness_defaults.py --dry-run``: the sweep that would choose controlnet-brightness's defaults runs
end to end on the tiny pipeline (so it cannot rot before a GPU session runs it for real), and its bookkeeping holds:
every setting really reaches the pipeline, the default is compared with itself as no difference, the best is the
lowest LPIPS."""

from __future__ import annotations

import json

import pytest
from conftest import load_script

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("one_torch_thread")]


def test_the_dry_run_sweeps_the_grid_and_compares_each_setting_with_the_default(tmp_path):
    out = tmp_path / "sweep.json"
    load_script("benchmarks/brightness_defaults.py").main(["--dry-run", "--steps", "1", "--out", str(out)])
    result = json.loads(out.read_text())
    assert result["dry_run"] and "DRY RUN" in result["what"] and result["config"]["smoke"] is True
    assert result["current_default"] == {"controlnet_scale": 0.9, "guidance_scale": 7.5, "control_guidance_end": 1.0}
    settings = result["settings"]
    grid = {(s["controlnet_scale"], s["guidance_scale"]) for s in settings}
    assert len(settings) == 4 and len(grid) == 4 and (0.9, 7.5) in grid
    assert len(result["images"]) == 2 and all(len(s["lpips_per_image"]) == 2 for s in settings)
    # the settings reach the pipeline: the same images and seeds give other outputs under another setting
    assert len({tuple(s["lpips_per_image"]) for s in settings}) > 1
    default = next(s for s in settings if (s["controlnet_scale"], s["guidance_scale"]) == (0.9, 7.5))
    assert default["lpips_minus_default"] == {"mean": 0.0, "ci95": [0.0, 0.0], "p_wilcoxon": 1.0}
    best = min(settings, key=lambda s: s["lpips"]["mean"])
    assert result["best_by_lpips"]["lpips"] == best["lpips"]
    assert all(s["colourfulness"]["mean"] >= 0 and s["delta_e2000"]["mean"] > 0 for s in settings)
