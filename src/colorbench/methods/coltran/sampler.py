"""ColTran's colorizer sampler: the official algorithm (reference, slow) and a key/value-cached equivalent (fast).

The official ``ColTranCore.autoregressive_sample`` generates the 64x64 coarse image in raster order. For every pixel
it re-runs the inner decoder on the whole row, and after every row it re-runs the outer decoder on the whole canvas
(rows not generated yet are zeros, which the masks hide). :func:`sample_colorizer` with ``cached=False`` does exactly
that (:func:`_sample_naive`); with ``cached=True`` (default) it computes the same numbers incrementally
(:class:`_CachedSampler`):

* the outer decoder advances one row at a time: its row attention only sees the new row, and its masked column
  attention keeps per-layer key/value caches of the rows done so far;
* the inner decoder advances one pixel at a time with per-layer key/value caches of the row so far; everything that
  depends only on the row (conditioning projections of ``concat(z, upper)``, conditional-MLP scale/shift,
  conditional-LN scale/shift) is computed once per row.

The masked attention over a fixed-length cache uses the official ``-1e6`` mask for positions not reached yet, so
every step has the same shapes (CUDA-graph friendly) and the masked terms are exactly zero, as in the official code.

``official=True`` reproduces the official sampler's train/sample quirk: the inner decoder's conditional layer norms
see only the current row of ``z`` (README section 5.2). ``official=False`` gives them the full ``z``, as in training
(the teacher-forcing-consistent variant).

Sampling: ``mode="argmax"`` (greedy) or ``"sample"`` (categorical over ``softmax(logits / temperature)``), drawn by
inverse CDF from one uniform per pixel taken from each image's own generator, so an image's sample depends only on its
seed, never on the batch it is in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Sequence, get_args

import torch

from colorbench.methods.coltran.layers import AxialAttention
from colorbench.methods.coltran.models import Colorizer, Float16Overflow

Mode = Literal["sample", "argmax"]
MODES: tuple[str, ...] = get_args(Mode)


def per_image_uniforms(seeds: Sequence[int], num_pixels: int) -> torch.Tensor:
    """One float64 uniform per pixel and image, from a generator seeded by each image's own seed: (B, num_pixels)."""
    out = torch.empty(len(seeds), num_pixels, dtype=torch.float64)
    for i, seed in enumerate(seeds):
        gen = torch.Generator().manual_seed(int(seed) % (2**63))
        out[i] = torch.rand(num_pixels, generator=gen, dtype=torch.float64)
    return out


def choose(logits: torch.Tensor, mode: str, temperature: float, uniforms: torch.Tensor | None) -> torch.Tensor:
    """Pick one bin per row of ``logits`` (B, K): argmax, or inverse-CDF sampling with ``uniforms`` (B,)."""
    if mode == "argmax":
        return logits.argmax(-1)
    probs = torch.softmax(logits.double() / temperature, dim=-1)
    cdf = probs.cumsum(-1)
    target = uniforms.to(cdf.dtype)[:, None] * cdf[:, -1:]
    return (cdf <= target).sum(-1).clamp_(max=logits.shape[-1] - 1)


@dataclass
class ColorizerSample:
    """The colorizer's output for a batch."""

    bins: torch.Tensor  # (B, 64, 64) int64 coarse bins (0..511)
    logits: torch.Tensor | None = None  # (B, 64, 64, 512) float32, the sampler's per-pixel logits (if requested)
    parallel_bins: torch.Tensor | None = None  # (B, 64, 64) argmax of the parallel head


@torch.no_grad()
def sample_colorizer(model: Colorizer, gray_64: torch.Tensor, *, mode: str = "sample", temperature: float = 1.0,
                     official: bool = True, seeds: Sequence[int] | None = None, uniforms: torch.Tensor | None = None,
                     cached: bool = True, force_bins: torch.Tensor | None = None, return_logits: bool = False,
                     cuda_graph: bool = False, max_rows: int | None = None) -> ColorizerSample:
    """Generate coarse 64x64 colours for a batch of 64 px grays ``(B, 64, 64)`` (ints 0..255).

    ``seeds`` (one per image) or ``uniforms`` (B, 4096) drive ``mode="sample"``. ``force_bins`` replays given bins
    instead of sampling (the official sampler's computation along a fixed path: the fixtures'
    ``sampling_path_logits``). ``cuda_graph`` captures the per-pixel step in a CUDA graph (CUDA only).

    Example (tiny random model)::

        >>> from colorbench.methods.coltran.config import smoke_config
        >>> from colorbench.methods.coltran.models import build_model
        >>> model = build_model(smoke_config("colorizer"), init="random")
        >>> out = sample_colorizer(model, torch.zeros(2, 64, 64, dtype=torch.long), mode="argmax")
        >>> tuple(out.bins.shape)
        (2, 64, 64)
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if mode == "sample" and not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    device = next(model.parameters()).device
    gray_64 = gray_64.to(device).long()
    B, H, W = gray_64.shape
    if mode == "sample" and force_bins is None:
        if uniforms is None:
            if seeds is None:
                raise ValueError("mode='sample' needs seeds (one per image) or uniforms")
            uniforms = per_image_uniforms(seeds, H * W)
        uniforms = uniforms.to(device)
    z = model.encode(gray_64)
    parallel = model.parallel_logits(z).argmax(-1) if model.cfg.parallel_head else None
    run = _sample_cached if cached else _sample_naive
    bins, logits = run(model, z, mode=mode, temperature=temperature, official=official, uniforms=uniforms,
                       force_bins=None if force_bins is None else force_bins.to(device).long(),
                       return_logits=return_logits, cuda_graph=cuda_graph, max_rows=max_rows or H)
    return ColorizerSample(bins=bins, logits=logits, parallel_bins=parallel)


# ------------------------------------------------------------------------------------------------ official (naive)
def _sample_naive(model: Colorizer, z: torch.Tensor, *, mode, temperature, official, uniforms, force_bins,
                  return_logits, cuda_graph, max_rows) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The official algorithm, step for step: whole row per pixel, whole canvas per row."""
    B, H, W, _ = z.shape
    D = model.cfg.hidden_size
    embed = model.pixel_embed_layer.kernel
    canvas = z.new_zeros(B, H, W, D)
    upper = z.new_zeros(B, H, W, D)
    bins = torch.zeros(B, H, W, dtype=torch.long, device=z.device)
    all_logits = z.new_zeros(B, H, W, 512, dtype=torch.float32) if return_logits else None
    for r in range(max_rows):
        row_cache = z.new_zeros(B, 1, W, D)
        z_row, upper_row = z[:, r:r + 1], upper[:, r:r + 1]
        cln_ctx = z_row if official else z  # the official sampler's CLNs see one row of z (README 5.2)
        for c in range(W):
            act = model.inner_decoder(row_cache, upper_row, z_row, row=r, cln_ctx=cln_ctx)
            logits = model.logits_from_activations(act[:, 0, c]).float()
            if force_bins is not None:
                pick = force_bins[:, r, c]
            else:
                pick = choose(logits, mode, temperature, None if uniforms is None else uniforms[:, r * W + c])
            bins[:, r, c] = pick
            if all_logits is not None:
                all_logits[:, r, c] = logits
            e = embed[pick]
            row_cache[:, 0, c] = e
            canvas[:, r, c] = e
        upper = model.outer_decoder(canvas, z)
    return bins, all_logits


# ------------------------------------------------------------------------------------------------ cached
def _masked_attention(q: torch.Tensor, k_cache: torch.Tensor, v_cache: torch.Tensor,
                      bias: torch.Tensor) -> torch.Tensor:
    """q (..., h, d) already scaled; caches (..., h, L, d); bias broadcastable to (..., h, L) -> (..., h, d)."""
    logits = torch.einsum("...hd,...hld->...hl", q, k_cache) + bias
    return torch.einsum("...hl,...hld->...hd", torch.softmax(logits.float(), dim=-1).to(v_cache.dtype), v_cache)


class _CachedSampler:
    """Static buffers + per-row preparation + the per-pixel step (same shapes at every step)."""

    def __init__(self, model: Colorizer, z: torch.Tensor, official: bool):
        self.model, self.z, self.official = model, z, official
        B, H, W, _ = z.shape
        self.B, self.H, self.W = B, H, W
        dec = model.cfg.decoder
        D, heads = dec.hidden_size, dec.num_heads
        self.D, self.heads, self.hd = D, heads, D // heads
        dt, dev = z.dtype, z.device
        od, idec = model.outer_decoder, model.inner_decoder
        # outer decoder: conditional-LN params from the full z are constant for the whole image
        self.outer_cln = [norm.cond_params(z) for norm in od.layer_norms]
        self.outer_pos = od.pos_embed.table()  # (H, W, D)
        n_outer = len(od.residual_layers) // 4
        self.col_k = [z.new_zeros(B, W, heads, H, self.hd) for _ in range(n_outer)]
        self.col_v = [z.new_zeros(B, W, heads, H, self.hd) for _ in range(n_outer)]
        self.col_bias = [od.residual_layers[4 * i + 2].relative_attention.matrix(masked=True).to(dt)
                         for i in range(n_outer)]
        # inner decoder
        self.inner_pos = idec.pos_embed.table()
        self.inner_full_cln = None if official else [norm.cond_params(z) for norm in idec.layer_norms]
        n_inner = len(idec.residual_layers) // 2
        self.n_inner = n_inner
        self.row_bias = [idec.residual_layers[2 * i].relative_attention.matrix(masked=True).to(dt)
                         for i in range(n_inner)]
        # q, k and v of the per-pixel step in one matmul (D, 3 * heads * head_dim)
        self.qkv_weight = [idec.residual_layers[2 * i].fused_qkv_matrix() for i in range(n_inner)]
        # static per-pixel buffers (row-constant parts are refilled in place by prepare_row)
        self.x = z.new_zeros(B, D)  # embedding of the previous pixel (zero at column 0)
        self.col = torch.zeros((), dtype=torch.long, device=dev)
        self.base = z.new_zeros(B, W, D)  # pos[r] + z[r] + upper[r]
        self.att_cond = [[z.new_zeros(B, W, heads, self.hd) for _ in range(6)] for _ in range(n_inner)]
        self.aff = [z.new_zeros(B, W, 2 * D) for _ in range(n_inner)]
        self.cln = [[z.new_zeros(B, D), z.new_zeros(B, D)] for _ in range(2 * n_inner)]
        self.k = [z.new_zeros(B, heads, W, self.hd) for _ in range(n_inner)]
        self.v = [z.new_zeros(B, heads, W, self.hd) for _ in range(n_inner)]
        self.logits = torch.zeros(B, 512, dtype=torch.float32, device=dev)

    # -- outer decoder, one row
    def outer_row(self, r: int, emb_row: torch.Tensor) -> torch.Tensor:
        """Feed canvas row ``r`` (B, W, D) through the outer decoder; returns its output = upper context of row r+1."""
        od = self.model.outer_decoder
        z_row = self.z[:, r]
        x = emb_row + self.outer_pos[r] + z_row
        for i in range(len(od.residual_layers) // 4):
            row_att, ff_row, col_att, ff_col = od.residual_layers[4 * i: 4 * i + 4]
            x = self._outer_norm(4 * i, x + row_att(x[:, None], z_row[:, None])[:, 0])
            x = self._outer_norm(4 * i + 1, x + self._affine(ff_row(x), od.cmlp_layers[2 * i], z_row))
            q, k, v = col_att.qkv(x, col_att.cond_params(z_row))  # (B, W, h, d)
            self.col_k[i][:, :, :, r] = k
            self.col_v[i][:, :, :, r] = v
            o = _masked_attention(q * col_att.head_dim**-0.5, self.col_k[i], self.col_v[i], self.col_bias[i][:, r])
            x = self._outer_norm(4 * i + 2, x + col_att.project_out(o))
            x = self._outer_norm(4 * i + 3, x + self._affine(ff_col(x), od.cmlp_layers[2 * i + 1], z_row))
        return x

    def _outer_norm(self, j: int, x: torch.Tensor) -> torch.Tensor:
        scale, shift = self.outer_cln[j]
        return self.model.outer_decoder.layer_norms[j].layer_norm(x) * scale[:, 0] + shift[:, 0]

    @staticmethod
    def _affine(out: torch.Tensor, dense, ctx: torch.Tensor) -> torch.Tensor:
        shift, scale = dense(ctx).chunk(2, dim=-1)
        return out * scale + shift

    # -- inner decoder: per-row preparation
    def prepare_row(self, r: int, upper_row: torch.Tensor) -> None:
        idec = self.model.inner_decoder
        z_row = self.z[:, r]
        self.base.copy_(self.inner_pos[r] + z_row + upper_row)
        all_ctx = torch.cat([z_row, upper_row], dim=-1)
        for i in range(self.n_inner):
            att = idec.residual_layers[2 * i]
            for buf, val in zip(self.att_cond[i], att.cond_params(all_ctx)):
                buf.copy_(val)
            self.aff[i].copy_(idec.cmlp_layers[i](all_ctx))
        for j, norm in enumerate(idec.layer_norms):
            scale, shift = (self.inner_full_cln[j] if self.inner_full_cln is not None
                            else norm.cond_params(z_row[:, None]))  # official: one row of z (the quirk)
            self.cln[j][0].copy_(scale[:, 0, 0])
            self.cln[j][1].copy_(shift[:, 0, 0])
        self.x.zero_()
        self.col.zero_()

    # -- the per-pixel step: static shapes, in-place writes only
    def step(self) -> torch.Tensor:
        idec = self.model.inner_decoder
        c = self.col
        x = self.x + self.base.index_select(1, c.view(1))[:, 0]
        for i in range(self.n_inner):
            att: AxialAttention = idec.residual_layers[2 * i]
            ff = idec.residual_layers[2 * i + 1]
            qs, qb, ks, kb, vs, vb = (t.index_select(1, c.view(1))[:, 0] for t in self.att_cond[i])
            q, k, v = (att._split_heads(t) for t in (x @ self.qkv_weight[i]).chunk(3, dim=-1))
            q, k, v = q * qs + qb, k * ks + kb, v * vs + vb
            self.k[i].index_copy_(2, c.view(1), k[:, :, None])
            self.v[i].index_copy_(2, c.view(1), v[:, :, None])
            bias = self.row_bias[i].index_select(1, c.view(1))[:, 0]  # (h, W): rel bias + mask beyond c
            o = _masked_attention(q * att.head_dim**-0.5, self.k[i], self.v[i], bias)
            x = self._inner_norm(2 * i, x + att.project_out(o))
            shift, scale = self.aff[i].index_select(1, c.view(1))[:, 0].chunk(2, dim=-1)
            x = self._inner_norm(2 * i + 1, x + ff(x) * scale + shift)
        logits = self.model.logits_from_activations(x).float()
        self.logits.copy_(logits)
        return self.logits

    def _inner_norm(self, j: int, x: torch.Tensor) -> torch.Tensor:
        scale, shift = self.cln[j]
        return self.model.inner_decoder.layer_norms[j].layer_norm(x) * scale + shift

    def advance(self, pick: torch.Tensor) -> torch.Tensor:
        """Feed the chosen bins (B,) as the next pixel's input; returns their embeddings (B, D)."""
        e = self.model.pixel_embed_layer.kernel[pick].to(self.x.dtype)
        self.x.copy_(e)
        self.col.add_(1)
        return e


class _GraphedStep:
    """The per-pixel step captured once in a CUDA graph and replayed (removes per-kernel launch overhead)."""

    def __init__(self, sampler: _CachedSampler):
        self.sampler = sampler
        stream = torch.cuda.Stream()
        stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(stream):  # warm up outside the graph (allocations, cuBLAS handles)
            for _ in range(2):
                sampler.step()
        torch.cuda.current_stream().wait_stream(stream)
        self.graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self.graph):
            self.out = sampler.step()

    def __call__(self) -> torch.Tensor:
        self.graph.replay()
        return self.out


def _sample_cached(model: Colorizer, z: torch.Tensor, *, mode, temperature, official, uniforms, force_bins,
                   return_logits, cuda_graph, max_rows) -> tuple[torch.Tensor, torch.Tensor | None]:
    B, H, W, _ = z.shape
    s = _CachedSampler(model, z, official)
    bins = torch.zeros(B, H, W, dtype=torch.long, device=z.device)
    all_logits = torch.zeros(B, H, W, 512, dtype=torch.float32, device=z.device) if return_logits else None
    step = s.step
    if cuda_graph:
        if z.device.type != "cuda":
            raise ValueError("cuda_graph=True needs a CUDA device")
        s.prepare_row(0, z.new_zeros(B, W, s.D))
        step = _GraphedStep(s)
    upper_row = z.new_zeros(B, W, s.D)
    emb_row = z.new_zeros(B, W, s.D)
    overflow = Float16Overflow(z.dtype, z.device, "colorizer")
    for r in range(max_rows):
        s.prepare_row(r, upper_row)
        for c in range(W):
            logits = step()
            overflow.see(logits)
            if force_bins is not None:
                pick = force_bins[:, r, c]
            else:
                pick = choose(logits, mode, temperature, None if uniforms is None else uniforms[:, r * W + c])
            bins[:, r, c] = pick
            if all_logits is not None:
                all_logits[:, r, c] = logits
            emb_row[:, c] = s.advance(pick)
        upper_row = s.outer_row(r, emb_row)
    overflow.raise_if_any()
    return bins, all_logits
