"""``benchmarks/gpu_check.py --dry-run``: every section of the GPU check runs on the CPU at tiny sizes and writes the
JSON the GPU run writes, so the script cannot rot between the rare runs on a lent GPU."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from conftest import PROJECT_ROOT, load_script, skip_without

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def dry_run(tmp_path_factory):
    skip_without("diffusion")  # SD1.5 + ControlNet is one of the check's sections (`make gpu-check` installs it)
    out = tmp_path_factory.mktemp("gpu-check") / "check.json"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "COLORBENCH_MODELS": str(out.parent / "models")}
    proc = subprocess.run([sys.executable, "benchmarks/gpu_check.py", "--dry-run", "--out", str(out)], cwd=PROJECT_ROOT,
                          env=env, check=False, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return json.loads(out.read_text())


def test_every_section_ran_without_error(dry_run):
    assert dry_run["dry_run"] is True and "DRY RUN" in dry_run["note"]
    assert list(dry_run["sections"]) == ["cuda_tests", "coltran", "agreement", "diffusion", "scoring", "cnn",
                                        "ddcolor", "zhang"]
    for name, section in dry_run["sections"].items():
        assert "error" not in section, (name, section.get("traceback"))
        assert not [run for run in section.get("runs", []) if "error" in run], (name, section["runs"])
        assert section["section_seconds"] >= 0
    assert {"device", "cpu", "cpu_count"} <= set(dry_run["machine"])
    assert {"torch", "diffusers", "transformers", "python"} <= set(dry_run["versions"])
    assert len(dry_run["load_average_at_start"]) == 3 and len(dry_run["load_average_at_end"]) == 3


def test_sections_hold_the_figures_the_gpu_run_reports(dry_run):
    s = dry_run["sections"]
    assert "tests/test_zhang_method.py" in s["cuda_tests"]["files"] and s["cuda_tests"]["ran"] is False
    [coltran] = s["coltran"]["runs"]
    assert coltran["batch"] == 2 and coltran["colorizer_seconds_per_row"] > 0
    assert coltran["color_upsampler_images_per_s"] > 0 and coltran["spatial_upsampler_images_per_s"] > 0
    for stage in ("color_upsampler", "spatial_upsampler"):  # the CPU dry run compares bfloat16 with float32
        bf16 = s["agreement"][stage]["bf16"]
        assert bf16["positions"] > 0 and 0 < bf16["max_abs_logit_diff"] < bf16["reference_logit_std"]
    assert s["agreement"]["colorizer"]["bf16"]["greedy_positions"] == 2 * 64 * 64
    diffusion, brightness = s["diffusion"]["runs"]
    assert diffusion["images_per_s"] > 0 and diffusion["denoise_it_per_s"] > 0 and "tiny" in diffusion["what"]
    assert (diffusion["method"], brightness["method"]) == ("controlnet-canny", "controlnet-brightness")
    assert brightness["images_per_s"] > 0 and "control" in brightness["stage_seconds_last_call"]
    assert s["scoring"]["pairs"] == 6 and s["scoring"]["total_s"] > 0 and s["scoring"]["pairs_per_s"] > 0
    assert {"lpips_alex_all_metrics_s", "lpips_vgg_all_metrics_s"} <= set(s["scoring"])
    assert s["cnn"]["runs"][0]["images_per_s"] > 0 and s["cnn"]["runs"][0]["backend"] == "torch-fp32"
    assert s["zhang"]["runs"][0]["images_per_s"] > 0
    [ddcolor] = s["ddcolor"]["runs"]
    assert ddcolor["images_per_s"] > 0 and ddcolor["model"] == "smoke" and "smoke" in s["ddcolor"]["weights"]


def test_without_cuda_the_real_check_says_what_to_do():
    proc = subprocess.run([sys.executable, "benchmarks/gpu_check.py", "--sections", "cnn"], cwd=PROJECT_ROOT,
                          check=False, capture_output=True, text=True, timeout=300)
    if "no CUDA device here" not in proc.stderr:
        pytest.skip("a CUDA device is present")
    assert proc.returncode == 2 and "--dry-run" in proc.stderr


def test_agreement_counts_flips_and_the_margin_they_happened_at():
    """The precision check's arithmetic on logits whose answer is known by hand."""
    import torch

    module = load_script("benchmarks/precision_agreement.py")
    ref = torch.tensor([[1.0, 0.9, 0.0], [2.0, 0.0, 0.0], [0.0, 3.0, 1.0]])
    other = torch.tensor([[0.9, 1.0, 0.0], [2.0, 0.0, 0.5], [0.0, 3.0, 1.0]], dtype=torch.bfloat16)
    out = module.compare_logits(ref, other)
    assert out["positions"] == 3 and out["argmax_differs"] == 1
    assert out["max_reference_margin_where_argmax_differs"] == pytest.approx(0.1, abs=1e-6)
    assert out["max_abs_logit_diff"] == pytest.approx(0.5, abs=1e-6)
    assert out["mean_abs_logit_diff"] == pytest.approx((0.1 + 0.1 + 0.5) / 9, abs=1e-3)
    assert module.compare_logits(ref, ref)["max_reference_margin_where_argmax_differs"] is None


def test_a_section_whose_runs_failed_is_reported_as_failed_not_done():
    """A diffusion section whose every run failed (say, diffusers missing) once printed "done" and exited 0."""
    module = load_script("benchmarks/gpu_check.py")
    failed = {"runs": [{"images_per_s": 3.4}, {"error": "ImportError: No module named 'diffusers'"}]}
    assert module.failures(failed) == ["ImportError: No module named 'diffusers'"]
    assert module.outcome(failed) == "ERROR in 1 of 2 runs: ImportError: No module named 'diffusers'"
    assert module.outcome({"error": "boom"}) == "ERROR boom" and module.failures({"error": "boom"}) == ["boom"]
    assert module.outcome({"runs": [{"skipped": "section time budget spent"}, {}]}).startswith("done (1 of 2 runs skip")
    assert module.failures({"pairs": 6}) == [] and module.outcome({"pairs": 6}) == "done"
