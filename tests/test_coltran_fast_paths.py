"""The speed rewrites of ColTran's layers (issue 17) compute what the code before them computed.

The reference below is the pre-change code, kept verbatim: column attention on a transposed copy, feed-forward as
addmm + relu, residual ``norm(x + layer(x))``, the upsampler input as embedding + repeated gray embedding. The
models run once with it patched in and once as they are, on small configs with random weights and batch 2 (so the
per-image column loop and the channel-major batch are exercised); logits must agree to float rounding and the argmax
maps must be equal except where the top two logits are a near-tie.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os

import pytest
import torch
import torch.nn.functional as F

from colorbench.methods.coltran import core, heap, layers, models
from colorbench.methods.coltran.config import smoke_config
from colorbench.methods.coltran.models import build_model

NEAR_TIE = 1e-4


def reference_attention_forward(self, x, ctx=None):
    if self.axis == "col":
        x = x.transpose(1, 2)
        ctx = ctx.transpose(1, 2) if ctx is not None else None
    cond = self.cond_params(ctx) if self.conditional else None
    q, k, v = self.qkv(x, cond)
    B, R, L = q.shape[:3]
    q, k, v = (t.reshape(B * R, L, self.heads, self.head_dim).transpose(1, 2) for t in (q, k, v))
    bias = self.relative_attention.matrix(self.masked).to(q.dtype).expand(B * R, -1, -1, -1)
    o = F.scaled_dot_product_attention(q, k, v, attn_mask=bias, scale=self.head_dim**-0.5)
    o = o.transpose(1, 2).reshape(B, R, L, self.heads, self.head_dim)
    out = self.project_out(o)
    return out.transpose(1, 2) if self.axis == "col" else out


def reference_feed_forward(self, x):
    return self.layers[1](F.relu(self.layers[0](x)))


def reference_factorized_forward(self, x):
    x = self.pos_embed(x)
    for layer, norm in zip(self.residual_layers, self.layer_norms):
        x = norm(x + layer(x))
    return x


def reference_encode(self, values, gray, channel_index=None):
    B, R, _, C = values.shape
    if channel_index is not None:
        offsets = (channel_index.long() * self.symbols_per_channel).view(B, 1, 1, 1)
    else:
        offsets = torch.arange(C, device=values.device).view(1, 1, 1, C) * self.symbols_per_channel
    symbols = (values.long() + offsets).permute(3, 0, 1, 2).reshape(C * B, R, R)
    D = self.cfg.hidden_size
    w = self.input_dense.kernel
    channel_table = getattr(self, self._embedding_name).kernel @ w[:D]
    gray_table = self.gray_embedding.kernel @ w[D:] + self.input_dense.bias
    x = F.embedding(symbols, channel_table) + F.embedding(gray.long(), gray_table).repeat(C, 1, 1, 1)
    return self.encoder(x)


@pytest.fixture
def reference_code(monkeypatch):
    """Patch the pre-change code in (call the returned function inside the test to do so)."""
    def patch():
        monkeypatch.setattr(layers.AxialAttention, "forward", reference_attention_forward)
        monkeypatch.setattr(layers.FeedForward, "forward", reference_feed_forward)
        monkeypatch.setattr(core.FactorizedAttention, "forward", reference_factorized_forward)
        monkeypatch.setattr(models._Upsampler, "encode", reference_encode)
    return patch


def assert_same_logits_and_argmax(new: torch.Tensor, ref: torch.Tensor) -> None:
    torch.testing.assert_close(new, ref, rtol=1e-5, atol=1e-5)
    top2 = ref.topk(2, dim=-1).values
    decided = (top2[..., 0] - top2[..., 1]) > NEAR_TIE
    assert decided.float().mean() > 0.99  # the check below must cover nearly every value
    assert torch.equal(new.argmax(-1)[decided], ref.argmax(-1)[decided])


@pytest.mark.parametrize("kind", ["color_upsampler", "spatial_upsampler"])
def test_upsampler_logits_and_argmax_equal_the_pre_change_code(kind, reference_code):
    # both at 64x64: the spatial upsampler's 256 sides cost 16x the time and take no other code path (the layers
    # see a side length, and the kind decides the symbols and embeddings, not the side)
    model = build_model(dataclasses.replace(smoke_config(kind), resolution=64), init="random", seed=3)
    R = model.cfg.resolution
    gen = torch.Generator().manual_seed(0)
    values = torch.randint(0, model.symbols_per_channel, (2, R, R, 3), generator=gen)
    gray = torch.randint(0, 256, (2, R, R), generator=gen)
    with torch.no_grad():
        new_logits = model.logits(values, gray)
        new_argmax = model.predict(values, gray, items_per_chunk=4)
        reference_code()
        ref_logits = model.logits(values, gray)
        ref_argmax = model.predict(values, gray, items_per_chunk=4)
    assert_same_logits_and_argmax(new_logits, ref_logits)
    top2 = ref_logits.topk(2, dim=-1).values
    decided = (top2[..., 0] - top2[..., 1]) > NEAR_TIE
    assert torch.equal(new_argmax[decided], ref_argmax[decided])


def test_colorizer_teacher_forcing_equals_the_pre_change_code(reference_code):
    """The decoders use the same layers with conditioning and the masked column attention."""
    model = build_model(smoke_config("colorizer"), init="random", seed=5)
    gen = torch.Generator().manual_seed(1)
    gray = torch.randint(0, 256, (2, 64, 64), generator=gen)
    bins = torch.randint(0, 512, (2, 64, 64), generator=gen)
    with torch.no_grad():
        new = model.teacher_forcing(gray, bins)
        reference_code()
        ref = model.teacher_forcing(gray, bins)
    for name in ("encoder_out", "outer_decoder_out", "inner_decoder_out"):
        torch.testing.assert_close(new[name], ref[name], rtol=1e-5, atol=1e-5, msg=name)
    assert_same_logits_and_argmax(new["logits"], ref["logits"])


def _rss_bytes() -> int:
    with open("/proc/self/statm", encoding="ascii") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _mmapped_by_a_new_block(numel: int, touch: bool = True) -> int:
    before = heap.mallinfo2().hblkhd
    block = torch.ones(numel) if touch else torch.empty(numel)
    grown = heap.mallinfo2().hblkhd - before
    del block
    return grown


@pytest.mark.skipif(heap._glibc() is None or not hasattr(heap._glibc(), "mallinfo2"),
                    reason="reused_heap is a no-op without glibc (mallinfo2 needs glibc >= 2.33)")
def test_reused_heap_keeps_large_blocks_in_the_heap_inside_and_gives_the_memory_back_after():
    """The check below, in a fresh process: it needs a heap with little free memory in it, and a test process that
    ran the model tests before it (in any order: xdist gives each worker a different set) held 640 MB free."""
    import subprocess
    import sys
    from pathlib import Path

    here = Path(__file__).resolve().parent
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(here.parent / "src"), str(here),
                                                        os.environ.get("PYTHONPATH", "")])}
    code = "import test_coltran_fast_paths as t; t.check_reused_heap_keeps_large_blocks_and_gives_memory_back()"
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


def check_reused_heap_keeps_large_blocks_and_gives_memory_back():
    """The upsamplers' predict runs inside reused_heap (models.py): a 64 MiB block (over glibc's 32 MiB mmap cap)
    must come from the heap inside (where a freed block is reused by the next layer instead of being unmapped and
    page-faulted in anew; the page faults saved are measured by benchmarks/coltran_vs_official.py), from mmap again
    after (glibc's large-block behaviour back for the rest of the process), and the freed heap memory must go back
    to the OS on exit, so the setting holds nothing afterwards."""
    numel = 16 << 20  # 64 MiB of float32
    rss_before = _rss_bytes()
    with heap.reused_heap():
        inside = _mmapped_by_a_new_block(numel)
    assert _rss_bytes() - rss_before < 16 << 20  # the freed 64 MiB went back to the OS on exit
    assert inside == 0
    # A block no free heap chunk can hold: a smaller one may be served from a free chunk the heap kept (malloc_trim
    # returns the pages of a chunk below the heap top but keeps the chunk), whatever the threshold. Left untouched
    # (empty), so its size costs no memory; it stays far below the in-call threshold, so a threshold left at the
    # in-call value would serve it from the heap and fail here.
    after_bytes = heap.mallinfo2().fordblks + numel * 4
    assert after_bytes < heap.IN_CALL_MMAP_THRESHOLD // 2, "the heap holds too much free memory for this test"
    after = _mmapped_by_a_new_block(-(-after_bytes // 4), touch=False)
    assert after >= after_bytes


@pytest.mark.skipif(heap.live_bytes() is None, reason="live_bytes needs glibc >= 2.33 (mallinfo2)")
def test_live_bytes_count_a_block_while_it_lives_with_and_without_the_reused_heap():
    """coltran_memory.py measures the upsamplers' activations as the peak of live_bytes: a freed block the reused heap
    keeps must not count, a live one must, wherever glibc put it (heap inside, mmap outside)."""
    numel = 16 << 20  # 64 MiB of float32
    for context in (heap.reused_heap, contextlib.nullcontext):
        with context():
            before = heap.live_bytes()
            block = torch.ones(numel)
            grown = heap.live_bytes() - before
            del block
            after = heap.live_bytes() - before
        assert numel * 4 <= grown < numel * 4 + (1 << 20), context
        assert abs(after) < 1 << 20, context
