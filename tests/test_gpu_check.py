"""``benchmarks/gpu_check.py --dry-run``: every section of the GPU check runs on the CPU at tiny sizes and writes the
JSON the GPU run writes, so the script cannot rot between the rare runs on a lent GPU."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from conftest import PROJECT_ROOT

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def dry_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("gpu-check") / "check.json"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "COLORBENCH_MODELS": str(out.parent / "models")}
    proc = subprocess.run([sys.executable, "benchmarks/gpu_check.py", "--dry-run", "--out", str(out)], cwd=PROJECT_ROOT,
                          env=env, check=False, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return json.loads(out.read_text())


def test_every_section_ran_without_error(dry_run):
    assert dry_run["dry_run"] is True and "DRY RUN" in dry_run["note"]
    assert list(dry_run["sections"]) == ["cuda_tests", "coltran", "diffusion", "scoring", "cnn", "zhang"]
    for name, section in dry_run["sections"].items():
        assert "error" not in section, (name, section.get("traceback"))
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
    [diffusion] = s["diffusion"]["runs"]
    assert diffusion["images_per_s"] > 0 and diffusion["denoise_it_per_s"] > 0 and "tiny" in diffusion["what"]
    assert s["scoring"]["pairs"] == 6 and s["scoring"]["total_s"] > 0 and s["scoring"]["pairs_per_s"] > 0
    assert {"lpips_alex_all_metrics_s", "lpips_vgg_all_metrics_s"} <= set(s["scoring"])
    assert s["cnn"]["runs"][0]["images_per_s"] > 0 and s["cnn"]["runs"][0]["backend"] == "torch-fp32"
    assert s["zhang"]["runs"][0]["images_per_s"] > 0


def test_without_cuda_the_real_check_says_what_to_do():
    proc = subprocess.run([sys.executable, "benchmarks/gpu_check.py", "--sections", "cnn"], cwd=PROJECT_ROOT,
                          check=False, capture_output=True, text=True, timeout=300)
    if "no CUDA device here" not in proc.stderr:
        pytest.skip("a CUDA device is present")
    assert proc.returncode == 2 and "--dry-run" in proc.stderr
