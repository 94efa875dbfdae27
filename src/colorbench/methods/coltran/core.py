"""ColTran's stacks: the factorised (row/column) attention encoder, the grayscale encoder, and the outer and inner
decoders (official ``coltran/models/{layers,core}.py``), with the official attribute paths.

The decoders' ``forward`` is the teacher-forcing pass. The sampler (:mod:`.sampler`) reuses their layers step by
step; ``InnerDecoder.forward(..., row=r, cln_ctx=...)`` is the official per-row sampling call.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from colorbench.methods.coltran.config import DecoderConfig, StackConfig
from colorbench.methods.coltran.layers import (
    AxialAttention,
    ConditionalLayerNorm,
    Dense,
    FeedForward,
    LayerNorm,
    PositionEmbed,
    affine,
)


class FactorizedAttention(nn.Module):
    """pos embed, then [row attention, FF, column attention, FF] x L, each ``x = LN(x + sublayer(x))``."""

    def __init__(self, cfg: StackConfig, height: int, width: int):
        super().__init__()
        D = cfg.hidden_size
        self.pos_embed = PositionEmbed(height, width, D)
        layers: list[nn.Module] = []
        for _ in range(cfg.num_layers):
            layers += [AxialAttention(D, cfg.num_heads, height, width, "row"), FeedForward(D, cfg.ff_size),
                       AxialAttention(D, cfg.num_heads, height, width, "col"), FeedForward(D, cfg.ff_size)]
        self.residual_layers = nn.ModuleList(layers)
        self.layer_norms = nn.ModuleList([LayerNorm(D) for _ in layers])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._residual_stack(self.pos_embed(x))

    def forward_lookups(self, parts: list[tuple[torch.Tensor, torch.Tensor]]) -> torch.Tensor:
        """:meth:`forward` of ``x = sum(table[index] for table, index in parts)``, e.g. an embedding plus another.

        Each table is ``(n, D)``, each index an integer tensor ending in ``(H, W)``; the indices broadcast against
        each other and the result is ``(-1, H, W, D)`` (leading axes flattened). Why: the first row attention's
        q/k/v projection is linear, so for such an input it is a sum of row lookups in the projected tables
        ``table @ Wqkv`` plus the projected position embeddings (factorised, so ``H + W`` rows): that skips the
        stack's first ``(items*H*W, D) x (D, 3D)`` product, ~6% of the colour upsampler's multiply-adds and ~8% of
        the spatial one's (same sums, other rounding order).
        """
        fused = self.residual_layers[0].fused_qkv_matrix()
        pos = self.pos_embed
        x = _sum_of_lookups(parts, pos.table())
        pos_qkv = pos.position_embedding_0 @ fused + pos.position_embedding_1 @ fused  # (H, W, 3D)
        qkv = _sum_of_lookups([(table @ fused, index) for table, index in parts], pos_qkv)
        return self._residual_stack(x, first_qkv=qkv)

    def _residual_stack(self, x: torch.Tensor, first_qkv: torch.Tensor | None = None) -> torch.Tensor:
        for i, (layer, norm) in enumerate(zip(self.residual_layers, self.layer_norms)):
            out = layer(x, projected=first_qkv) if i == 0 and first_qkv is not None else layer(x)
            out += x  # the sublayer's fresh output takes the residual in place: one activation-sized tensor less
            x = norm(out)
        return x


def _sum_of_lookups(parts: list[tuple[torch.Tensor, torch.Tensor]], base: torch.Tensor) -> torch.Tensor:
    """``base + sum(table[index])`` as one new ``(-1, H, W, n)`` tensor; ``base`` is ``(H, W, n)`` and the indices
    broadcast (e.g. one gray image's index against the three channels' indices of the same image)."""
    shape = torch.broadcast_shapes(*(index.shape for _, index in parts))
    out = base.expand(*shape, base.shape[-1]).clone(memory_format=torch.contiguous_format)
    for table, index in parts:
        out += F.embedding(index, table)  # in place, broadcast over the axes this index lacks
    return out.view(-1, *out.shape[-3:])


class GrayScaleEncoder(nn.Module):
    """``one_hot(gray, 256)`` -> Dense (with bias) -> :class:`FactorizedAttention`; gives ``z`` (B, H, W, D)."""

    def __init__(self, cfg: StackConfig, height: int, width: int):
        super().__init__()
        self.embedding = Dense(256, cfg.hidden_size)
        self.encoder = FactorizedAttention(cfg, height, width)

    def forward(self, gray: torch.Tensor) -> torch.Tensor:
        return self.encoder(self.embedding.embed(gray.long()))


def shift_down(x: torch.Tensor) -> torch.Tensor:
    """Pad one zero row at the top, drop the last row (``Shift(dimension=0)``)."""
    return F.pad(x, (0, 0, 0, 0, 1, 0))[:, :-1]


def shift_right(x: torch.Tensor) -> torch.Tensor:
    """Pad one zero column at the left, drop the last column (``Shift(dimension=1)``)."""
    return F.pad(x, (0, 0, 1, 0))[:, :, :-1]


class OuterDecoder(nn.Module):
    """Context from all previous rows: per layer unmasked row attention, FF, masked column attention, FF (all
    conditioned on ``z``), each followed by residual + conditional LN on ``z``; then shift down."""

    def __init__(self, cfg: DecoderConfig, cond_size: int, height: int, width: int):
        super().__init__()
        D = cfg.hidden_size
        self.pos_embed = PositionEmbed(height, width, D)
        layers: list[nn.Module] = []
        cmlp: list[nn.Module] = []
        for _ in range(cfg.num_outer_layers):
            layers += [AxialAttention(D, cfg.num_heads, height, width, "row", cond_size=cond_size),
                       FeedForward(D, cfg.ff_size),
                       AxialAttention(D, cfg.num_heads, height, width, "col", masked=True, cond_size=cond_size),
                       FeedForward(D, cfg.ff_size)]
            cmlp += [Dense(cond_size, 2 * D), Dense(cond_size, 2 * D)]  # affine_r_i, affine_c_i
        self.residual_layers = nn.ModuleList(layers)
        self.layer_norms = nn.ModuleList([ConditionalLayerNorm(D, cond_size, height, width) for _ in layers])
        self.cmlp_layers = nn.ModuleList(cmlp)

    def forward(self, h_dec: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        x = self.pos_embed(h_dec) + z
        ff_index = 0
        for layer, norm in zip(self.residual_layers, self.layer_norms):
            if isinstance(layer, AxialAttention):
                out = layer(x, z)
            else:
                out = affine(layer(x), self.cmlp_layers[ff_index], z)
                ff_index += 1
            x = norm(x + out, z)
        return shift_down(x)


class InnerDecoder(nn.Module):
    """Within-row decoder: per layer masked row attention and FF, both conditioned on ``concat(z, upper)``, each
    followed by residual + conditional LN on ``z``."""

    def __init__(self, cfg: DecoderConfig, z_size: int, height: int, width: int):
        super().__init__()
        D = cfg.hidden_size
        cond_size = z_size + D
        self.pos_embed = PositionEmbed(height, width, D)
        layers: list[nn.Module] = []
        for _ in range(cfg.num_inner_layers):
            layers += [AxialAttention(D, cfg.num_heads, height, width, "row", masked=True, cond_size=cond_size),
                       FeedForward(D, cfg.ff_size)]
        self.residual_layers = nn.ModuleList(layers)
        self.layer_norms = nn.ModuleList([ConditionalLayerNorm(D, z_size, height, width) for _ in layers])
        self.cmlp_layers = nn.ModuleList([Dense(cond_size, 2 * D) for _ in range(cfg.num_inner_layers)])

    def forward(self, h_dec: torch.Tensor, upper: torch.Tensor, z: torch.Tensor, row: int | None = None,
                cln_ctx: torch.Tensor | None = None) -> torch.Tensor:
        """Teacher forcing: ``h_dec, upper, z`` are full canvases. Official sampling call: one row each
        (``(B, 1, W, D)``) with ``row`` its index; the conditional LNs then see only that row of ``z``
        (``cln_ctx`` overrides what they see, e.g. the full ``z`` for the teacher-forcing-consistent sampler)."""
        x = shift_right(h_dec)
        if row is None:
            x = self.pos_embed(x)
        else:
            x = x + self.pos_embed.table()[row: row + 1]
        x = x + z + upper
        all_ctx = torch.cat([z, upper], dim=-1)
        cln_ctx = z if cln_ctx is None else cln_ctx
        ff_index = 0
        for layer, norm in zip(self.residual_layers, self.layer_norms):
            if isinstance(layer, AxialAttention):
                out = layer(x, all_ctx)
            else:
                out = affine(layer(x), self.cmlp_layers[ff_index], all_ctx)
                ff_index += 1
            x = norm(x + out, cln_ctx)
        return x
