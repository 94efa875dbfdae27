"""``ddcolor`` inside a real run: the smoke model through the runner, its outputs written and L-merged like every
method's, its config recorded with the smoke label."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("cv2")
from colorbench.color import rgb_to_lab  # noqa: E402
from colorbench.config import RunConfig  # noqa: E402
from colorbench.run import run  # noqa: E402

pytestmark = [pytest.mark.usefixtures("one_torch_thread"), pytest.mark.slow]  # ~70 s on a busy 2-core machine


def test_a_smoke_run_writes_ddcolor_images_with_the_inputs_lightness(tmp_path):
    cfg = RunConfig(run="dd-smoke", methods=["gray", "ddcolor"], smoke=True, limit=2,
                    results_dir=str(tmp_path / "results"), method_options={"ddcolor": {"input_size": 256}})
    summary = run(cfg, progress=False)
    outcome = {m.name: m for m in summary.methods}
    assert outcome["ddcolor"].status == "done" and outcome["ddcolor"].written == 2
    assert outcome["ddcolor"].config["smoke"] is True and outcome["ddcolor"].config["input_size"] == 256
    record = json.loads((summary.path / "run.json").read_text())
    assert record["method_status"]["ddcolor"]["status"] == "done"
    for path in sorted((summary.path / "images" / "ddcolor").glob("*.png")):
        out = np.asarray(Image.open(path).convert("RGB"))
        gray = np.asarray(Image.open(summary.path / "images" / "gray" / path.name).convert("RGB"))
        assert out.shape == gray.shape
        # the runner's L-merge keeps the input's lightness (up to 8-bit rounding and gamut clipping)
        diff = np.abs(rgb_to_lab(out)[..., 0] - rgb_to_lab(gray)[..., 0])
        assert np.median(diff) < 0.5
