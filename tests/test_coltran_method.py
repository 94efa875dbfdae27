"""The ``coltran`` method end to end, and the three chained stages against the official pipeline fixture."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch
from conftest import PROJECT_ROOT, fixture_path

from colorbench.methods.coltran import config, models, naming
from colorbench.methods.coltran import preprocess as P
from colorbench.methods.coltran.pipeline import ColTranPipeline, place_on_input_canvas
from colorbench.methods.registry import get_method
from colorbench.weights import WeightsUnavailable

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def fixture_pipeline(variant: str) -> ColTranPipeline:
    loaded = []
    for kind in config.MODEL_KINDS:
        cfg = config.read_checkpoint_config(fixture_path("coltran", f"ckpt_{variant}_{kind}"), kind)
        model = models.build_model(cfg)
        naming.load_tf_named(model, dict(np.load(fixture_path("coltran", f"weights_{variant}_{kind}.npz"))))
        loaded.append(model)
    return ColTranPipeline(*loaded)


@pytest.mark.parametrize("variant", ["test", pytest.param("mh", marks=pytest.mark.slow)])
def test_chained_stages_reproduce_the_official_pipeline(variant):
    """custom_colorize.py --mode=recolorize, argmax everywhere, on a 300x240 photo."""
    ref = np.load(fixture_path("coltran", f"reference_{variant}_pipeline.npz"))
    inputs = P.rgb_inputs(ref["photo_rgb_uint8"])
    pipe = fixture_pipeline(variant)
    bins = pipe.colorize_coarse(inputs["gray_64"][None], mode="argmax")
    np.testing.assert_array_equal(P.bins_to_rgb(bins), ref["stage1_coarse_rgb_64"])
    np.testing.assert_array_equal(P.to_coarse_bits(P.bins_to_rgb(bins)), ref["stage2_bit_cond_3bit"])
    rgb64 = pipe.upsample_color(bins, inputs["gray_64"][None])
    np.testing.assert_array_equal(rgb64, ref["stage2_rgb_64"])
    np.testing.assert_array_equal(P.upsample_replicate(rgb64, batched=True), ref["stage3_low_res_up_256"])
    final = pipe.upsample_spatial(rgb64, inputs["gray_256"][None])
    # argmax near-ties (README section 7): allow a flip only where our top-2 logits are within 1e-4
    differ = final != ref["final_rgb_256"]
    if differ.any():
        with torch.no_grad():
            up = torch.as_tensor(P.upsample_replicate(rgb64, batched=True).astype(np.int64))
            logits = pipe.spatial_upsampler.logits(up, torch.as_tensor(inputs["gray_256"][None]))
        top2 = logits.topk(2, dim=-1).values
        gap = (top2[..., 0] - top2[..., 1]).numpy()
        assert (gap[differ] < 1e-4).all() and differ.sum() <= 3


@pytest.fixture(scope="module")
def official_float32_logits():
    """Each fixture model's float32 logits on the official inputs (colorizer teacher-forced along the official path)."""
    ref = np.load(fixture_path("coltran", "reference_test_pipeline.npz"))
    inputs = P.rgb_inputs(ref["photo_rgb_uint8"])
    bins = torch.as_tensor(P.labels_to_bins(P.to_coarse_bits(ref["stage1_coarse_rgb_64"])))
    up = P.upsample_replicate(ref["stage2_rgb_64"], batched=True).astype(np.int64)
    model_inputs = {
        "colorizer": (torch.as_tensor(inputs["gray_64"][None]), bins),
        "color_upsampler": (torch.as_tensor(P.bins_to_labels(bins.numpy())), torch.as_tensor(inputs["gray_64"][None])),
        "spatial_upsampler": (torch.as_tensor(up), torch.as_tensor(inputs["gray_256"][None])),
    }
    return model_inputs, _stage_logits(fixture_pipeline("test"), model_inputs)


# the colorizer's cached sampler steps pixel by pixel: its first rows are the same computation as all 64, at a
# quarter of the cost (rows past max_rows are never computed)
COLORIZER_ROWS = 16


def _stage_logits(pipe: ColTranPipeline, model_inputs: dict) -> dict[str, torch.Tensor]:
    from colorbench.methods.coltran.sampler import sample_colorizer

    gray, bins = model_inputs["colorizer"]
    with torch.no_grad():
        forced = sample_colorizer(pipe.colorizer, gray, mode="argmax", force_bins=bins, return_logits=True,
                                  max_rows=COLORIZER_ROWS)
        return {"colorizer": forced.logits[:, :COLORIZER_ROWS],
                "color_upsampler": pipe.color_upsampler.logits(*model_inputs["color_upsampler"]).float(),
                "spatial_upsampler": pipe.spatial_upsampler.logits(*model_inputs["spatial_upsampler"]).float()}


@pytest.mark.parametrize("dtype, tolerance", [(torch.bfloat16, 0.1), (torch.float16, 0.01)])
def test_half_precision_models_track_the_float32_logits(dtype, tolerance, official_float32_logits):
    """bf16/fp16 are CUDA options (the pipeline refuses them on a CPU, where they are slower), but the three models
    and the cached sampler must work in half precision: cast the fixture models by hand, run them on the CPU on
    the official inputs, and compare with float32. Measured: largest logit error 4.7% (bf16) and 0.6% (fp16) of the
    logits' spread. Argmaxes then flip only at near-ties; these tiny fixture upsamplers have many (half their
    pixels' top two logits lie within 0.05), so agreement of argmaxes is not the measure here."""
    model_inputs, reference = official_float32_logits
    pipe = fixture_pipeline("test")
    for model in (pipe.colorizer, pipe.color_upsampler, pipe.spatial_upsampler):
        model.to(dtype)
    half = _stage_logits(pipe, model_inputs)
    assert half["colorizer"].dtype == torch.float32  # sampling always draws from float32 logits
    for stage, logits in half.items():
        assert torch.isfinite(logits).all(), stage
        error = (logits - reference[stage]).abs().max() / reference[stage].std()
        assert error < tolerance, f"{stage}: largest logit error {error:.3f} of the spread"
    teacher_forced = half["colorizer"].argmax(-1) == model_inputs["colorizer"][1][:, :COLORIZER_ROWS]
    assert teacher_forced.float().mean() > 0.97  # measured 99.5% (bf16), 99.9% (fp16)


@pytest.fixture(scope="module")
def smoke_method():
    method = get_method("coltran", smoke=True, batch_size=4)
    method.load("cpu")
    return method


def test_smoke_method_end_to_end_any_size_and_seeded_samples(smoke_method):
    rng = np.random.default_rng(0)
    wide = rng.integers(0, 256, (90, 150), dtype=np.uint8)
    square = rng.integers(0, 256, (64, 64), dtype=np.uint8)
    out = smoke_method.colorize([wide, square, wide], seed=0, item_seeds=[1, 2, 3])
    assert [o.shape for o in out] == [(256, 427, 3), (256, 256, 3), (256, 427, 3)]
    assert all(o.dtype == np.uint8 for o in out)
    assert set(smoke_method.stage_seconds) >= {"preprocess", "colorizer", "color_upsampler", "spatial_upsampler"}
    assert not np.array_equal(out[0], out[2])  # K samples of one image differ by item seed
    alone = smoke_method.colorize([wide], seed=0, item_seeds=[1])
    np.testing.assert_array_equal(alone[0], out[0])  # ... and do not depend on the batch
    cfg = smoke_method.config()
    assert cfg["smoke"] is True and cfg["official"] is True and cfg["mode"] == "sample"
    assert "meaningless" in smoke_method.description


def test_output_is_aligned_with_the_input():
    gray = np.full((300, 240), 77, np.uint8)
    rgb = np.zeros((256, 256, 3), np.uint8)
    rgb[..., 0] = 200
    canvas = place_on_input_canvas(gray, rgb)
    assert canvas.shape == (320, 256, 3)  # 300x240 at the crop's scale (240 -> 256)
    top = (300 - 240) // 2 * 256 / 240
    np.testing.assert_array_equal(canvas[32:288], rgb)  # the centre crop
    assert top == 32
    assert (canvas[:32] == 77).all() and (canvas[288:] == 77).all()  # never seen by ColTran: gray
    assert place_on_input_canvas(np.zeros((50, 50), np.uint8), rgb) is rgb


def test_missing_weights_raise_weights_unavailable():
    method = get_method("coltran")
    assert method.weights() == ["coltran-release"]
    with pytest.raises(WeightsUnavailable, match="coltran-release"):
        method.load("cpu")


def test_the_skip_reason_names_the_convert_command_that_makes_the_missing_models(tmp_path, monkeypatch, capsys):
    """ColTran runs from converted models; the reason named only the release, never `colorbench coltran convert`."""
    from colorbench.cli import main
    from colorbench.methods.coltran.method import converted_dir

    with pytest.raises(WeightsUnavailable) as info:
        get_method("coltran").load("cpu")
    reason = str(info.value)
    models = "converted models (colorizer, color_upsampler, spatial_upsampler .safetensors + .json in "
    assert f"{models}{converted_dir()})" in reason
    # the default --release and --out: no flags needed
    assert "`colorbench coltran convert` makes once from the release" in reason
    assert "`colorbench coltran convert --release DIR` from a coltran.zip unpacked into DIR" in reason
    assert "pip install -e '.[convert]'" in reason and "colorbench weights fetch coltran-release" in reason
    # the flags named are the command's own
    with pytest.raises(SystemExit):
        main(["coltran", "convert", "--help"])
    usage = capsys.readouterr().out
    assert "--release RELEASE" in usage and "--out OUT" in usage


def test_release_without_tensorflow_says_how_to_install(monkeypatch, tmp_path):
    from colorbench.weights import local_path

    release = local_path("coltran-release")
    (release / "coltran" / "colorizer").mkdir(parents=True)
    (release / "coltran" / "colorizer" / "model-1.index").write_bytes(b"")
    monkeypatch.setitem(sys.modules, "tensorflow", None)  # import tensorflow -> ImportError
    install = r"pip install -e '\.\[convert\]' from the colorbench checkout"
    with pytest.raises(WeightsUnavailable, match=install) as info:
        get_method("coltran").load("cpu")
    assert "must be converted once (`colorbench coltran convert`)" in str(info.value)


def test_coltran_convert_without_tensorflow_says_so_before_fetching_the_release(monkeypatch, capsys):
    from colorbench import weights
    from colorbench.cli import main

    monkeypatch.setitem(sys.modules, "tensorflow", None)
    monkeypatch.setattr(weights, "ensure", lambda *a, **k: pytest.fail("the release was fetched before the check"))
    assert main(["coltran", "convert"]) == 2
    err = capsys.readouterr().err
    assert "`colorbench coltran convert` needs the optional convert extra (tensorflow is not installed)" in err
    assert "pip install -e '.[convert]'" in err and "make setup" not in err  # make setup leaves TensorFlow out


def test_converted_weights_load_without_tensorflow(tmp_path):
    """Converted safetensors are used directly, in a process where TensorFlow is never imported."""
    from colorbench.methods.coltran.convert import save_converted

    folder = tmp_path / "models" / "coltran"
    for i, kind in enumerate(config.MODEL_KINDS):
        model = models.build_model(config.smoke_config(kind), init="random", seed=i)
        save_converted(folder, kind, model.cfg, model.state_dict(), {"checkpoint": "test"})
    code = (
        "import sys, numpy as np, torch; torch.set_num_threads(1)\n"
        "from colorbench.methods.registry import get_method\n"
        "m = get_method('coltran', mode='argmax'); m.load('cpu')\n"
        "assert m.pipeline.colorizer.cfg.hidden_size == 16\n"
        "assert 'tensorflow' not in sys.modules\n"
        "print('ok')\n")
    env = {"COLORBENCH_MODELS": str(tmp_path / "models"), "COLORBENCH_OFFLINE": "1",
           "PYTHONPATH": str(PROJECT_ROOT / "src"),
           "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def test_cli_info_lists_missing_models(tmp_path, capsys):
    from colorbench.cli import main

    assert main(["coltran", "info", "--dir", str(tmp_path)]) == 0
    assert "colorizer: missing" in capsys.readouterr().out


def test_cuda_only_options_are_refused_on_cpu():
    with pytest.raises(ValueError, match="CUDA"):
        ColTranPipeline.smoke(dtype="bfloat16")
    with pytest.raises(ValueError, match="CUDA"):
        ColTranPipeline.smoke(cuda_graph=True)
    # the method itself only turns them on for CUDA devices
    method = get_method("coltran", smoke=True, dtype="bfloat16", cuda_graph=True, compile=True)
    method.load("cpu")
    assert method.pipeline.dtype == torch.float32 and not method.pipeline.cuda_graph


def test_tf32_is_on_only_inside_the_methods_own_calls():
    """TF32 flags are process-wide: ColTran turns them on for its CUDA calls and gives the previous state back, so
    the scorer and other methods stay exact (``load`` used to turn them on for good)."""
    flags = torch.backends.cuda.matmul, torch.backends.cudnn
    before = [f.allow_tf32 for f in flags]
    seen = []

    class FakePipeline:  # what colorize calls; records the flags it runs under
        def run(self, grays, **kwargs):
            seen.append([f.allow_tf32 for f in flags])
            return type("R", (), {"seconds": {}, "rgb_256": np.zeros((len(grays), 256, 256, 3), np.uint8)})()

    try:
        for f in flags:
            f.allow_tf32 = False
        method = get_method("coltran", smoke=True)
        method.load("cpu")
        assert [f.allow_tf32 for f in flags] == [False, False]  # load touches nothing
        method.pipeline, method.device = FakePipeline(), "cuda:0"
        method.colorize([np.zeros((256, 256), np.uint8)], seed=0)
        assert seen == [[True, True]] and [f.allow_tf32 for f in flags] == [False, False]
        method.tf32 = False
        method.colorize([np.zeros((256, 256), np.uint8)], seed=0)
        assert seen[-1] == [False, False]
    finally:
        for f, b in zip(flags, before):
            f.allow_tf32 = b


def test_cpu_threads_per_stage_apply_during_that_stage_only(monkeypatch):
    pipe = ColTranPipeline.smoke(cpu_threads={"colorizer": 1, "spatial_upsampler": 2})
    seen = {}
    for stage, attr in (("colorizer", "colorize_coarse"), ("color_upsampler", "upsample_color"),
                        ("spatial_upsampler", "upsample_spatial")):
        real = getattr(pipe, attr)

        def spy(*args, _stage=stage, _real=real, **kwargs):
            seen[_stage] = torch.get_num_threads()
            return _real(*args, **kwargs)

        monkeypatch.setattr(pipe, attr, spy)
    torch.set_num_threads(1)
    outer = 3 if torch.get_num_threads() == 1 else 1  # a value distinct from both stage settings where possible
    torch.set_num_threads(outer)
    outer = torch.get_num_threads()
    try:
        pipe.run([np.full((64, 64), 90, np.uint8)], mode="argmax")
        assert seen == {"colorizer": 1, "color_upsampler": outer, "spatial_upsampler": 2}
        assert torch.get_num_threads() == outer
    finally:
        torch.set_num_threads(1)
    with pytest.raises(ValueError, match="unknown stage"):
        ColTranPipeline.smoke(cpu_threads={"upsampler": 2})


def test_cpu_threads_default_is_the_measured_per_stage_choice():
    """Unset, the colorizer runs on one thread (benchmarks/coltran_threads.py) and the upsamplers keep torch's
    setting; ``{}`` leaves every stage to torch; CUDA ignores it."""
    from colorbench.methods.coltran.pipeline import DEFAULT_CPU_THREADS

    assert DEFAULT_CPU_THREADS == {"colorizer": 1}
    assert ColTranPipeline.smoke().cpu_threads == {"colorizer": 1}
    assert ColTranPipeline.smoke(cpu_threads={}).cpu_threads == {}
    assert ColTranPipeline.smoke(cpu_threads=2).cpu_threads == dict.fromkeys(
        ("colorizer", "color_upsampler", "spatial_upsampler"), 2)
