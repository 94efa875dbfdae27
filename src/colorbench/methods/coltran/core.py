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
        x = self.pos_embed(x)
        for layer, norm in zip(self.residual_layers, self.layer_norms):
            out = layer(x)
            out += x  # the sublayer's fresh output takes the residual in place: one activation-sized tensor less
            x = norm(out)
        return x


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
