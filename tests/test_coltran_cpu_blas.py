"""ColTran's CPU products through numpy's OpenBLAS (methods/coltran/cpu_blas.py): same numbers as torch's product up
to float32 rounding, only where they may (CPU, float32, large, no autograd), one thread knob for both libraries, and a
clear error for a wrong setting."""

from __future__ import annotations

import json
import os

import pytest
import torch
import torch.nn.functional as F

from colorbench.methods.coltran import cpu_blas
from colorbench.methods.coltran.config import smoke_config
from colorbench.methods.coltran.models import build_model

needs_openblas = pytest.mark.skipif(not cpu_blas._openblas_libs(), reason="numpy's BLAS is not OpenBLAS here")


@pytest.fixture
def force(monkeypatch):
    def choose(value: str) -> None:
        monkeypatch.setenv(cpu_blas.ENV, value)
    return choose


def _calls(monkeypatch) -> list:
    """Record every product that goes through OpenBLAS."""
    calls, real = [], cpu_blas._openblas_matmul

    def spy(x, w):
        calls.append(tuple(x.shape))
        return real(x, w)
    monkeypatch.setattr(cpu_blas, "_openblas_matmul", spy)
    return calls


@needs_openblas
def test_openblas_product_equals_torchs_for_image_shaped_inputs_and_a_transposed_kernel(force, monkeypatch):
    force("openblas")
    calls = _calls(monkeypatch)
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(2, 16, 24, 32, generator=gen)  # (B, H, W, K): 768 rows
    w = torch.randn(48, 32, generator=gen).t()  # a (K, N) view of an (N, K) kernel, as Dense's kernel.t() was
    bias = torch.randn(48, generator=gen)
    with torch.no_grad():
        got, got_linear = cpu_blas.matmul(x, w), cpu_blas.linear(x, w, bias)
    assert calls == [(2, 16, 24, 32)] * 2
    torch.testing.assert_close(got, x @ w, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(got_linear, F.linear(x, w.t(), bias), rtol=1e-5, atol=1e-5)
    assert got.shape == (2, 16, 24, 48)


@needs_openblas
def test_torch_keeps_small_products_autograd_other_dtypes_and_the_torch_setting(force, monkeypatch):
    force("openblas")
    calls = _calls(monkeypatch)
    big, w = torch.randn(cpu_blas.MIN_ROWS, 8), torch.randn(8, 4)
    with torch.no_grad():
        cpu_blas.matmul(big[:-1], w)  # one row short
        cpu_blas.matmul(big.double(), w.double())
        cpu_blas.matmul(big.bfloat16(), w.bfloat16())
    grad_w = w.clone().requires_grad_()
    out = cpu_blas.linear(big, grad_w, None)
    out.sum().backward()  # autograd must keep working: torch's path
    assert grad_w.grad is not None
    assert calls == []
    force("torch")
    with torch.no_grad():
        cpu_blas.matmul(big, w)
    assert calls == []
    force("openblas")
    with torch.no_grad():
        cpu_blas.matmul(big, w)
    assert calls == [(cpu_blas.MIN_ROWS, 8)]


@needs_openblas
def test_openblas_threads_follow_torchs_thread_count(force):
    """Every OpenBLAS loaded, scipy's copy included (imported here so there are two where scipy has its own)."""
    import scipy.linalg  # noqa: F401

    force("openblas")
    cpu_blas._openblas_libs.cache_clear()
    before = torch.get_num_threads()
    x, w = torch.randn(cpu_blas.MIN_ROWS, 8), torch.randn(8, 4)
    try:
        many = min(2, os.cpu_count() or 1)
        # down and up again: a pool left where it was (or set to OpenBLAS's default) must not pass by coincidence
        for threads in (many, 1, many):
            torch.set_num_threads(threads)
            with torch.no_grad():
                cpu_blas.matmul(x, w)
            assert [blas.get_num_threads() for blas in cpu_blas._openblas_libs()] == \
                [threads] * len(cpu_blas._openblas_libs())
    finally:
        torch.set_num_threads(before)


class _Timings(list):
    """The timings ``auto`` took; ``medians`` is what the next one returns."""
    medians: dict


@pytest.fixture
def measured(monkeypatch, tmp_path):
    """``auto``'s timing replaced by given medians (no real timing: the decision logic is what is tested), the
    cache file in a temp folder, this process's memory of answers empty; returns the list of timings taken."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(cpu_blas, "_choices", {})
    taken, medians = _Timings(), {"torch": 1.0, "openblas": 1.0}

    def fake_measure(repeats: int = 5) -> dict:
        taken.append(dict(medians))
        return dict(medians)
    monkeypatch.setattr(cpu_blas, "measure", fake_measure)
    taken.medians = medians
    return taken


def test_auto_uses_the_library_measured_faster_and_a_wrong_setting_is_named(force, monkeypatch, measured):
    """``auto`` follows the measurement, whatever the vendor (a Zen 4 EPYC with AVX-512 gains nothing from
    OpenBLAS; issue 27); the settings still override it, and a wrong one is named."""
    force("auto")
    monkeypatch.setattr(cpu_blas, "_openblas_libs", lambda: (object(),))
    monkeypatch.setattr(cpu_blas, "_cpu_vendor", lambda: "AuthenticAMD")
    measured.medians.update(torch=1.5, openblas=1.0)
    assert cpu_blas.uses_openblas()
    monkeypatch.setattr(cpu_blas, "_choices", {})
    cpu_blas.cache_file().unlink()
    measured.medians.update(torch=1.0, openblas=1.0)  # an AMD CPU where the two are equal: torch's path
    assert not cpu_blas.uses_openblas()
    force("openblas")
    assert cpu_blas.uses_openblas()
    monkeypatch.setattr(cpu_blas, "_openblas_libs", lambda: ())
    with pytest.raises(RuntimeError, match="not OpenBLAS"):
        cpu_blas.uses_openblas()
    force("auto")
    assert not cpu_blas.uses_openblas()
    force("mkl")
    with pytest.raises(ValueError, match=r"COLORBENCH_CPU_BLAS='mkl'.*auto, torch, openblas"):
        cpu_blas.uses_openblas()
    for empty in ("", "  "):  # set but empty (e.g. COLORBENCH_CPU_BLAS= in a shell line) means the default
        force(empty)
        assert cpu_blas.choice() == "auto"
    assert len(measured) == 2  # the overrides measured nothing


def test_decision_needs_openblas_to_win_by_the_margin():
    assert cpu_blas.decide(torch_seconds=1.0, openblas_seconds=0.5) == "openblas"
    assert cpu_blas.decide(torch_seconds=1.0, openblas_seconds=1.0) == "torch"
    assert cpu_blas.decide(torch_seconds=1.0, openblas_seconds=1.0 / (cpu_blas.MARGIN * 0.99)) == "torch"
    assert cpu_blas.decide(torch_seconds=1.0, openblas_seconds=1.0 / (cpu_blas.MARGIN * 1.01)) == "openblas"
    assert cpu_blas.decide(torch_seconds=0.5, openblas_seconds=1.0) == "torch"


def test_the_measurement_is_taken_once_and_kept_per_machine_and_library(monkeypatch, measured):
    """First use measures and writes the cache file; this process, and a new one (memory cleared), read the answer
    without measuring; another key (CPU, library versions, threads) measures again; a damaged file is rewritten."""
    monkeypatch.setattr(cpu_blas, "_openblas_libs", lambda: (object(),))
    measured.medians.update(torch=2.0, openblas=1.0)
    assert cpu_blas.measured_choice() == "openblas" and len(measured) == 1
    assert cpu_blas.measured_choice() == "openblas" and len(measured) == 1  # this process remembers
    monkeypatch.setattr(cpu_blas, "_choices", {})  # a new process: the file answers
    measured.medians.update(torch=1.0, openblas=2.0)
    assert cpu_blas.measured_choice() == "openblas" and len(measured) == 1
    kept = json.loads(cpu_blas.cache_file().read_text())
    assert kept[cpu_blas.cache_key()]["choice"] == "openblas"
    assert kept[cpu_blas.cache_key()]["median_seconds"] == {"torch": 2.0, "openblas": 1.0}
    monkeypatch.setattr(cpu_blas, "cache_key", lambda: "another CPU | 2 threads | 0123")
    assert cpu_blas.measured_choice() == "torch" and len(measured) == 2  # measured for the new key
    assert set(json.loads(cpu_blas.cache_file().read_text())) == {"another CPU | 2 threads | 0123",
                                                                   next(iter(kept))}  # both kept
    monkeypatch.setattr(cpu_blas, "_choices", {})
    cpu_blas.cache_file().write_text("{ not json")
    assert cpu_blas.measured_choice() == "torch" and len(measured) == 3
    assert json.loads(cpu_blas.cache_file().read_text())["another CPU | 2 threads | 0123"]["choice"] == "torch"


def test_the_cache_key_changes_with_the_thread_count_and_the_cache_follows_xdg(monkeypatch, tmp_path):
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = cpu_blas.cache_key()
        torch.set_num_threads(2)
        assert cpu_blas.cache_key() != one and cpu_blas.cache_key() == cpu_blas.cache_key()
    finally:
        torch.set_num_threads(before)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cpu_blas.cache_file() == tmp_path / "colorbench" / "cpu_blas.json"


@needs_openblas
@pytest.mark.parametrize("kind", ["colorizer", "color_upsampler", "spatial_upsampler"])
def test_logits_agree_between_the_two_libraries(force, monkeypatch, kind):
    """The layers route every large product (q/k/v, conditioning, output projection, MLP, final dense) through
    cpu_blas: the logits must match torch's within float32 rounding, and OpenBLAS must have done products."""
    model = build_model(smoke_config(kind), init="random", seed=3)
    gen = torch.Generator().manual_seed(0)
    if kind == "colorizer":
        gray = torch.randint(0, 256, (2, 64, 64), generator=gen)
        bins = torch.randint(0, 512, (2, 64, 64), generator=gen)
        run = lambda: model.teacher_forcing(gray, bins)["logits"]  # noqa: E731
    else:
        side = model.cfg.resolution
        values = torch.randint(0, model.symbols_per_channel, (1, side, side, 3), generator=gen)
        gray = torch.randint(0, 256, (1, side, side), generator=gen)
        run = lambda: model.logits(values, gray)  # noqa: E731
    logits = {}
    for setting in ("torch", "openblas"):
        force(setting)
        calls = _calls(monkeypatch)
        with torch.no_grad():
            logits[setting] = run()
        assert bool(calls) == (setting == "openblas")
    torch.testing.assert_close(logits["openblas"], logits["torch"], rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("preset", [None, "9"])
def test_importing_colorbench_makes_idle_openblas_threads_sleep_unless_the_user_chose(preset):
    """OPENBLAS_THREAD_TIMEOUT is read once, when numpy loads OpenBLAS: colorbench sets it on import (first), and a
    value the user set is kept."""
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_THREAD_TIMEOUT"}
    if preset:
        env["OPENBLAS_THREAD_TIMEOUT"] = preset
    code = "import colorbench, os; print(os.environ['OPENBLAS_THREAD_TIMEOUT'])"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert out.strip() == (preset or "4")
