"""The CNN architecture, the original checkpoint's exact reproduction, and any-size batched inference."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import torch
from conftest import fixture_path

from colorbench import weights
from colorbench.color import rgb_to_lab, to_gray
from colorbench.methods.cnn.inference import TorchAbPredictor, colorize_grays, gray_to_L, pad_to_multiple
from colorbench.methods.cnn.model import IMPROVED, ORIGINAL, ColorizationNet, state_dict_size
from colorbench.methods.registry import get_method

CHECKPOINT = "model-epoch-186-losses-0.124.pth"


@pytest.fixture
def original_weights():
    """Provide the checkpoint the way an offline user does: the file at its registry path under COLORBENCH_MODELS."""
    source = fixture_path("original-cnn", CHECKPOINT)
    target = weights.local_path("cnn-original-epoch186")
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    return target


@pytest.fixture
def reference():
    return np.load(fixture_path("original-cnn", "reference_epoch186.npz"))


def test_architecture_matches_the_checkpoint_keys_shapes_and_size():
    state = torch.load(fixture_path("original-cnn", CHECKPOINT), map_location="cpu", weights_only=True)
    ours = ColorizationNet(ORIGINAL).state_dict()
    assert list(ours) == list(state)
    assert {k: tuple(v.shape) for k, v in ours.items()} == {k: tuple(v.shape) for k, v in state.items()}
    assert state_dict_size(ColorizationNet(ORIGINAL)) == 963_504  # the figure the original project quotes
    # The improved member differs only in conv1 (1 input channel instead of 3).
    assert state_dict_size(ColorizationNet(IMPROVED)) == 963_504 - 2 * 64 * 7 * 7


def test_cnn_original_reproduces_the_reference_outputs(original_weights, reference):
    method = get_method("cnn-original")
    assert method.weights() == ["cnn-original-epoch186"]
    method.load("cpu")
    assert not method.model.training
    ab = method.predict_ab(reference["L"][:, None].astype(np.float32))
    assert ab.shape == reference["ab"].shape
    np.testing.assert_allclose(ab, reference["ab"], rtol=0, atol=1e-3)
    # one image at a time gives the same answer: eval-mode BatchNorm does not couple images in a batch
    single = method.predict_ab(reference["L"][1:2, None].astype(np.float32))
    np.testing.assert_allclose(single[0], reference["ab"][1], rtol=0, atol=1e-3)


def test_cnn_original_colorize_from_gray(original_weights, reference):
    method = get_method("cnn-original", batch_size=3)
    method.load("cpu")
    grays = [to_gray(rgb) for rgb in reference["rgb"]]
    out = method.colorize(grays, seed=0)
    assert len(out) == 4 and all(o.shape == (224, 224, 3) and o.dtype == np.uint8 for o in out)
    # the output keeps the gray input's lightness (up to gamut clipping and rounding)
    for g, o in zip(grays, out):
        assert np.median(np.abs(rgb_to_lab(o)[..., 0] - gray_to_L(g))) < 0.5
    # and is coloured, with the ab the network predicts for that L
    ab = method.predict_ab(np.stack([gray_to_L(g) for g in grays])[:, None])
    lab = rgb_to_lab(out[0])
    in_gamut = np.abs(lab[..., 0] - gray_to_L(grays[0])) < 0.3
    assert in_gamut.mean() > 0.5
    # (uint8 RGB quantisation moves ab by up to a few units in dark pixels; the typical pixel is close)
    assert np.median(np.abs(lab[..., 1][in_gamut] - ab[0, 0][in_gamut])) < 0.5
    assert np.median(np.abs(lab[..., 2][in_gamut] - ab[0, 1][in_gamut])) < 0.5
    assert np.abs(rgb_to_lab(out[0])[..., 1:]).mean() > 2.0


def test_bn_train_mode_is_an_explicit_option_with_batch_statistics(original_weights, reference):
    L = reference["L"][:, None].astype(np.float32)
    eval_mode = get_method("cnn-original")
    eval_mode.load("cpu")
    train_mode = get_method("cnn-original", bn_mode="train")
    train_mode.load("cpu")
    assert train_mode.config()["bn_mode"] == "train" and eval_mode.config()["bn_mode"] == "eval"
    batch, alone = train_mode.predict_ab(L), train_mode.predict_ab(L[:1])
    assert np.abs(batch - eval_mode.predict_ab(L)).max() > 1.0  # batch statistics change the output...
    assert np.abs(batch[0] - alone[0]).max() > 1e-2  # ...and couple the images of a batch
    before = {k: v.clone() for k, v in train_mode.model.state_dict().items()}
    train_mode.predict_ab(L)
    for k, v in train_mode.model.state_dict().items():  # running statistics are left untouched
        assert torch.equal(v, before[k]), k
    with pytest.raises(ValueError, match="bn_mode"):
        get_method("cnn-original", bn_mode="batch")


def test_missing_original_weights_raise_weights_unavailable():
    method = get_method("cnn-original")
    with pytest.raises(weights.WeightsUnavailable, match="cnn-original-epoch186"):
        method.load("cpu")


@pytest.mark.parametrize("name", ["cnn-original", "cnn-lpips", "cnn-mse"])
def test_smoke_builds_a_random_network_without_files(name):
    method = get_method(name, smoke=True)
    assert method.weights() == []
    method.load("cpu")
    assert method.config()["smoke"] is True and "smoke" in method.description
    out = method.colorize([np.full((40, 48), 128, np.uint8)], seed=0)
    assert out[0].shape == (40, 48, 3)


def test_pad_to_multiple_replicates_edges():
    L = np.arange(6 * 10, dtype=np.float32).reshape(1, 1, 6, 10)
    padded = pad_to_multiple(L)
    assert padded.shape == (1, 1, 8, 16)
    np.testing.assert_array_equal(padded[..., :6, :10], L)
    np.testing.assert_array_equal(padded[..., 7, :10], L[..., 5, :])
    np.testing.assert_array_equal(padded[..., :6, 15], L[..., :, 9])
    assert pad_to_multiple(np.zeros((2, 1, 16, 24), np.float32)).shape == (2, 1, 16, 24)


def test_any_size_batched_inference_crops_back_and_matches_single_image_calls():
    torch.manual_seed(0)
    predictor = TorchAbPredictor(ColorizationNet(IMPROVED), device="cpu")
    rng = np.random.default_rng(0)
    grays = [rng.integers(0, 256, size=s, dtype=np.uint8) for s in [(37, 50), (64, 64), (37, 50), (9, 130)]]
    batched = colorize_grays(predictor, grays, batch_size=2)
    assert [o.shape for o in batched] == [(37, 50, 3), (64, 64, 3), (37, 50, 3), (9, 130, 3)]
    for g, o in zip(grays, batched):
        np.testing.assert_array_equal(o, colorize_grays(predictor, [g], batch_size=1)[0])
    # what the network saw for a non-multiple size is the edge-padded image, cropped back afterwards
    L = gray_to_L(grays[0])[None, None]
    ab = predictor(pad_to_multiple(L))[:, :, :37, :50]
    lab = np.concatenate([L[0, 0][..., None], ab[0].transpose(1, 2, 0)], axis=-1)
    from colorbench.color import lab_to_rgb_uint8

    np.testing.assert_array_equal(batched[0], lab_to_rgb_uint8(lab))


def test_precision_rules():
    from colorbench.methods.cnn.inference import resolve_precision

    assert resolve_precision("auto", "cpu") == "fp32"
    assert resolve_precision("bf16", "cpu") == "bf16"
    with pytest.raises(ValueError, match="CUDA"):
        resolve_precision("fp16", "cpu")
    with pytest.raises(ValueError):
        get_method("cnn-original", precision="int8")


def test_bf16_autocast_stays_close_to_fp32():
    torch.manual_seed(0)
    model = ColorizationNet(IMPROVED)
    L = np.random.default_rng(1).uniform(0, 100, (2, 1, 32, 32)).astype(np.float32)
    fp32 = TorchAbPredictor(model, precision="fp32")(L)
    bf16 = TorchAbPredictor(model, precision="bf16")(L)
    assert bf16.dtype == np.float32
    assert np.abs(bf16 - fp32).max() < 0.05 * np.abs(fp32).max() + 0.5


def test_architecture_read_back_from_a_checkpoint_dict_and_unknown_modes_refused():
    """Trained checkpoints store the architecture as a dict (model.json, best.pt): it must come back as it was."""
    from colorbench.methods.cnn.model import CnnArchitecture

    assert CnnArchitecture.from_dict(IMPROVED.to_dict()) == IMPROVED
    assert CnnArchitecture.from_dict(ORIGINAL.to_dict()) == ORIGINAL
    for mode in ("rgb", "L1", "LAB3"):
        with pytest.raises(ValueError, match="input_mode must be 'lab3' or 'l1'"):
            CnnArchitecture.from_dict({"input_mode": mode, "ab_scale": 1.0})


def test_gray_to_L_is_colorbench_lab_of_the_gray_image():
    from colorbench.color import gray_to_rgb

    gray = np.arange(256, dtype=np.uint8).reshape(16, 16)
    expected = rgb_to_lab(gray_to_rgb(gray))[..., 0]
    L = gray_to_L(gray)
    assert L.dtype == np.float32
    np.testing.assert_array_equal(L, expected.astype(np.float32))


def test_pad_to_multiple_takes_a_single_plane_too():
    padded = pad_to_multiple(np.arange(6 * 10, dtype=np.float32).reshape(6, 10))
    assert padded.shape == (8, 16) and padded[7, 15] == 59.0


def test_images_are_batched_by_size_and_batch_size_and_each_computed_once():
    """The batches decide speed, and with bn_mode='train' (batch statistics) the colours: same-size images go
    together, at most ``batch_size`` at a time, each image once."""
    torch.manual_seed(0)
    net = TorchAbPredictor(ColorizationNet(IMPROVED), device="cpu")
    calls = []

    def recording(L):
        calls.append(L.shape)
        return net(L)

    grays = [np.full(s, 100, np.uint8) for s in [(16, 16)] * 5 + [(8, 24)] * 2]
    colorize_grays(recording, grays, batch_size=2)
    assert calls == [(2, 1, 16, 16), (2, 1, 16, 16), (1, 1, 16, 16), (2, 1, 8, 24)]
    method = get_method("cnn-original", smoke=True, batch_size=3)
    method.load("cpu")
    calls.clear()
    network = method.predictor
    method.predictor = lambda L: (calls.append(L.shape), network(L))[1]
    method.colorize(grays[:5], seed=0)
    assert [c[0] for c in calls] == [3, 2]


def test_config_and_stage_seconds_record_what_ran(original_weights):
    """run.json records the method's config, timings.csv its stage seconds: both must say what actually ran."""
    import time

    smoke = get_method("cnn-original", smoke=True, batch_size=4)
    smoke.load("cpu")
    assert smoke.config() == {"batch_size": 4, "precision": "auto", "backend": "torch", "bn_mode": "eval",
                              "precision_resolved": "fp32", "smoke": True, "weights": None}
    start = time.perf_counter()
    smoke.colorize([np.full((16, 16), 90, np.uint8)], seed=0)
    wall = time.perf_counter() - start
    assert set(smoke.stage_seconds) == {"network"} and 0 < smoke.stage_seconds["network"] <= wall
    real = get_method("cnn-original")
    assert real.config() == {"batch_size": 16, "precision": "auto", "backend": "torch", "bn_mode": "eval",
                             "weights": "cnn-original-epoch186"}  # not loaded yet: no resolved precision
    real.load("cpu")
    assert real.config()["precision_resolved"] == "fp32" and "smoke" not in real.config()
    bf16 = get_method("cnn-original", smoke=True, precision="bf16")  # the asked precision reaches the predictor
    bf16.load("cpu")
    assert bf16.predictor.precision == "bf16" and bf16.config()["precision_resolved"] == "bf16"


def test_bf16_precision_runs_the_network_in_bfloat16_not_float16():
    """precision='bf16' on the CPU gives exactly the network's output under bfloat16 autocast (float16 autocast also
    runs on a CPU, and gives other colours: a request must not silently get the other half-precision type)."""
    torch.manual_seed(0)
    model = ColorizationNet(IMPROVED).eval()
    L = np.random.default_rng(2).uniform(0, 100, (1, 1, 32, 32)).astype(np.float32)
    with torch.inference_mode():
        by_type = {}
        for dtype in (torch.bfloat16, torch.float16):
            with torch.autocast(device_type="cpu", dtype=dtype):
                by_type[dtype] = model(torch.from_numpy(L)).float().numpy()
    assert np.abs(by_type[torch.bfloat16] - by_type[torch.float16]).max() > 1e-3  # the test tells the two apart
    np.testing.assert_array_equal(TorchAbPredictor(model, precision="bf16")(L), by_type[torch.bfloat16])
    # L in float64 (e.g. from skimage's rgb2lab) is taken as float32, not refused by the float32 network
    fp32 = TorchAbPredictor(model, precision="fp32")
    np.testing.assert_array_equal(fp32(L.astype(np.float64)), fp32(L))


def test_auto_precision_on_cuda_is_bf16_where_native_else_fp16(monkeypatch):
    """No GPU here: only the choice is checked (cuda_has_native_bf16 faked), for the device string it is given."""
    from colorbench.methods.cnn import inference

    asked = []
    for native, expected in [(True, "bf16"), (False, "fp16")]:
        monkeypatch.setattr(inference, "cuda_has_native_bf16", lambda device, native=native: (asked.append(device),
                                                                                             native)[1])
        assert inference.resolve_precision("auto", "cuda:1") == expected
    assert asked == ["cuda:1", "cuda:1"]
    assert inference.resolve_precision("fp16", "cuda") == "fp16"  # allowed on CUDA, refused on CPU (above)
    assert inference.resolve_precision("auto", "cpu") == "fp32"


def test_improved_trunk_sees_a_gray_like_the_imagenet_trunk_sees_it_in_rgb():
    """cnn-lpips / cnn-mse: the 1-channel conv1 (its RGB filters summed by load_imagenet_trunk) on L gives what
    torchvision's ImageNet ResNet-18 gives on the same gray replicated to RGB: same stride, padding, kernel, so an
    ImageNet-initialised (and a trained) trunk computes the features it was trained for."""
    from torchvision.models import resnet18

    from colorbench.methods.cnn.model import load_imagenet_trunk

    torch.manual_seed(0)
    imagenet = resnet18(weights=None).eval()
    net = ColorizationNet(IMPROVED).eval()
    load_imagenet_trunk(net, imagenet.state_dict())
    x = torch.randn(2, 1, 40, 56)
    with torch.no_grad():
        ours = net.midlevel_resnet(x)
        theirs = torch.nn.Sequential(*list(imagenet.children())[:6])(x.expand(-1, 3, -1, -1))
    assert ours.shape == theirs.shape == (2, 128, 5, 7)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=0, atol=1e-4)


def test_improved_member_normalises_L_like_an_imagenet_gray_and_scales_ab_by_100():
    """cnn-lpips / cnn-mse (IMPROVED): the trunk sees L/100 normalised with ImageNet's gray statistics (what its
    ImageNet initialisation expects) and the network's ab is the last layer's output x 100: a trained checkpoint's
    colours depend on both. (ORIGINAL's (L, 0, 0) input and unit scale are checked by the reference outputs.)"""
    torch.manual_seed(0)
    net = ColorizationNet(IMPROVED).eval()
    L = torch.tensor([0.0, 44.9, 67.5, 100.0]).view(1, 1, 2, 2)  # 44.9: the gray mean; 67.5: mean + one std
    np.testing.assert_allclose(net.network_input(L).flatten().numpy(), [-0.449 / 0.226, 0.0, 1.0, 0.551 / 0.226],
                               atol=1e-5)
    L = torch.from_numpy(np.random.default_rng(0).uniform(0, 100, (1, 1, 16, 16)).astype(np.float32))
    with torch.no_grad():
        last_layer = net.upsample(net.midlevel_resnet(net.network_input(L)))
        np.testing.assert_allclose(net(L).numpy(), 100 * last_layer.numpy(), rtol=1e-5, atol=1e-6)


def test_an_options_object_is_honoured_like_keywords():
    from colorbench.methods.cnn.common import CnnOptions
    from colorbench.methods.cnn.original import CnnOriginal

    method = CnnOriginal(CnnOptions(batch_size=3, bn_mode="train", smoke=True))
    assert (method.config()["batch_size"], method.config()["bn_mode"], method.config()["smoke"]) == (3, "train", True)



def test_unloaded_method_asks_for_load():
    method = get_method("cnn-original", smoke=True)
    method.load("cpu")
    method.unload()
    assert method.model is None
    with pytest.raises(RuntimeError, match="call load"):
        method.colorize([np.full((16, 16), 90, np.uint8)], seed=0)


def test_native_bf16_means_an_ampere_or_newer_cuda_device(monkeypatch):
    """precision='auto' picks bf16 only where it is native (compute capability >= 8): on a T4 (7.5) emulated bf16 is
    much slower than fp16. torch.cuda is faked: no GPU here."""
    from colorbench.methods.cnn.inference import cuda_has_native_bf16

    asked = []
    for available, capability, native in [(True, (8, 0), True), (True, (9, 0), True), (True, (7, 5), False),
                                          (True, (8, 9), True), (False, (8, 0), False)]:
        monkeypatch.setattr(torch.cuda, "is_available", lambda available=available: available)
        monkeypatch.setattr(torch.cuda, "get_device_capability",
                            lambda device=None, capability=capability: (asked.append(device), capability)[1])
        assert cuda_has_native_bf16() is native, (available, capability)
    assert set(asked) == {"cuda"}
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    cuda_has_native_bf16("cuda:1")
    assert asked[-1] == "cuda:1"


def test_colorizing_before_load_or_after_unload_says_to_call_load():
    """A clear message, not a TypeError from calling a placeholder, before load() and after unload()."""
    method = get_method("cnn-original", smoke=True)
    gray = np.full((16, 16), 90, np.uint8)
    for _ in range(2):
        with pytest.raises(RuntimeError, match=r"cnn-original: call load\(device\) first"):
            method.colorize([gray], seed=0)
        with pytest.raises(RuntimeError, match=r"call load\(device\) first"):
            method.predict_ab(np.zeros((1, 1, 16, 16), np.float32))
        method.load("cpu")
        assert method.colorize([gray], seed=0)[0].shape == (16, 16, 3)
        method.unload()
