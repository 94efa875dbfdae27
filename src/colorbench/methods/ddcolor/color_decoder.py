"""DDColor's colour decoder (``MultiScaleColorDecoder``): 100 learned colour queries refined by a 9-layer
transformer decoder over the pixel decoder's three coarsest levels, then turned into per-pixel colour features.

As the authors run it (post-norm, dropout 0, Mask2Former-style):

* level ``l`` (1/16, 1/8, 1/4, used round-robin: layer ``i`` reads level ``i % 3``) is projected to 256 channels
  by a 1x1 conv, gets ``level_embed[l]`` added, and is flattened row-major; its keys also get a sine position
  embedding (:func:`sine_position_embedding`), its values do not;
* each layer is **cross-attention first**, then self-attention, then a ReLU FFN, each followed by its LayerNorm;
  the queries' position embedding ``query_embed`` is added to queries (and to self-attention keys), never to values;
* ``decoder_norm`` -> 3-layer MLP gives a 256-d colour embedding per query; its dot product with the full-size
  pixel features (out3) gives 100 channels per pixel.

Attention is ``nn.MultiheadAttention`` (8 heads; ``in_proj_weight`` holds Wq, Wk, Wv): the parameter names load
the released weights as they are.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

HIDDEN = 256
HEADS = 8
FFN = 2048
LN_EPS = 1e-5  # nn.LayerNorm's default, the authors'


def sine_position_embedding(height: int, width: int, *, channels: int = HIDDEN, device=None) -> torch.Tensor:
    """DETR's normalised sine embedding, ``channels x H x W`` float32: channels ``[0, C/2)`` encode the row, the
    rest the column; position ``(r + 1) / (H + 1e-6) * 2 pi``; pairs ``(sin, cos)`` at ``10000 ** (2 floor(j/2) /
    (C/2))``."""
    feats = channels // 2
    eps, scale = 1e-6, 2 * math.pi
    y = torch.arange(1, height + 1, dtype=torch.float32, device=device)
    x = torch.arange(1, width + 1, dtype=torch.float32, device=device)
    y = y / (height + eps) * scale
    x = x / (width + eps) * scale
    dim_t = torch.arange(feats, dtype=torch.float32, device=device)
    dim_t = 10000 ** (2 * torch.div(dim_t, 2, rounding_mode="floor") / feats)

    def encode(pos: torch.Tensor) -> torch.Tensor:  # (n,) -> (n, feats): sin on even channels, cos on odd
        angles = pos[:, None] / dim_t
        return torch.stack((angles[:, 0::2].sin(), angles[:, 1::2].cos()), dim=2).flatten(1)

    pos_y = encode(y)[:, None, :].expand(height, width, feats)
    pos_x = encode(x)[None, :, :].expand(height, width, feats)
    return torch.cat((pos_y, pos_x), dim=2).permute(2, 0, 1).contiguous()


class CrossAttentionLayer(nn.Module):
    def __init__(self, hidden: int = HIDDEN, heads: int = HEADS):
        super().__init__()
        self.multihead_attn = nn.MultiheadAttention(hidden, heads, batch_first=True)
        self.norm = nn.LayerNorm(hidden, eps=LN_EPS)

    def forward(self, tgt, memory, pos, query_pos):
        out = self.multihead_attn(tgt + query_pos, memory + pos, memory, need_weights=False)[0]
        return self.norm(tgt + out)


class SelfAttentionLayer(nn.Module):
    def __init__(self, hidden: int = HIDDEN, heads: int = HEADS):
        super().__init__()
        self.self_attn = nn.MultiheadAttention(hidden, heads, batch_first=True)
        self.norm = nn.LayerNorm(hidden, eps=LN_EPS)

    def forward(self, tgt, query_pos):
        q = tgt + query_pos
        return self.norm(tgt + self.self_attn(q, q, tgt, need_weights=False)[0])


class FFNLayer(nn.Module):
    def __init__(self, hidden: int = HIDDEN, ffn: int = FFN):
        super().__init__()
        self.linear1 = nn.Linear(hidden, ffn)
        self.linear2 = nn.Linear(ffn, hidden)
        self.norm = nn.LayerNorm(hidden, eps=LN_EPS)

    def forward(self, tgt):
        return self.norm(tgt + self.linear2(F.relu(self.linear1(tgt))))


class MLP(nn.Module):
    """Linear layers with ReLU between them (not after the last)."""

    def __init__(self, dim: int, num_layers: int):
        super().__init__()
        self.layers = nn.ModuleList(nn.Linear(dim, dim) for _ in range(num_layers))

    def forward(self, x):
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i < len(self.layers) - 1:
                x = F.relu(x)
        return x


class MultiScaleColorDecoder(nn.Module):
    """``forward(levels, pixel_features)``: ``levels`` = [out0, out1, out2], ``pixel_features`` = out3
    (``N x 256 x H x W``) -> ``N x num_queries x H x W``. See the module docstring."""

    def __init__(self, in_channels=(512, 512, 256), num_queries: int = 100, num_layers: int = 9, *,
                 hidden: int = HIDDEN, heads: int = HEADS, ffn: int = FFN):
        super().__init__()
        if in_channels[-1] != hidden:  # the colour embedding is dotted with the full-size pixel features
            raise ValueError(f"the pixel features' channels ({in_channels[-1]}) must equal hidden ({hidden})")
        self.num_layers, self.hidden = num_layers, hidden
        self.transformer_self_attention_layers = nn.ModuleList(
            SelfAttentionLayer(hidden, heads) for _ in range(num_layers))
        self.transformer_cross_attention_layers = nn.ModuleList(
            CrossAttentionLayer(hidden, heads) for _ in range(num_layers))
        self.transformer_ffn_layers = nn.ModuleList(FFNLayer(hidden, ffn) for _ in range(num_layers))
        self.decoder_norm = nn.LayerNorm(hidden, eps=LN_EPS)
        self.query_feat = nn.Embedding(num_queries, hidden)  # the colour queries' starting content
        self.query_embed = nn.Embedding(num_queries, hidden)  # and their position embedding
        self.level_embed = nn.Embedding(len(in_channels), hidden)
        self.input_proj = nn.ModuleList(nn.Conv2d(c, hidden, kernel_size=1) for c in in_channels)
        self.color_embed = MLP(hidden, 3)

    def forward(self, levels: list[torch.Tensor], pixel_features: torch.Tensor) -> torch.Tensor:
        batch = pixel_features.shape[0]
        src, pos = [], []
        for i, level in enumerate(levels):
            height, width = level.shape[-2:]
            embedding = sine_position_embedding(height, width, channels=self.hidden, device=level.device)
            pos.append(embedding.flatten(1).t()[None].to(level.dtype))  # 1 x HW x C
            projected = self.input_proj[i](level) + self.level_embed.weight[i][None, :, None, None]
            src.append(projected.flatten(2).transpose(1, 2))  # N x HW x C
        query_pos = self.query_embed.weight[None].expand(batch, -1, -1)
        tgt = self.query_feat.weight[None].expand(batch, -1, -1)
        for i in range(self.num_layers):
            level = i % len(levels)
            tgt = self.transformer_cross_attention_layers[i](tgt, src[level], pos[level], query_pos)
            tgt = self.transformer_self_attention_layers[i](tgt, query_pos)
            tgt = self.transformer_ffn_layers[i](tgt)
        color_embed = self.color_embed(self.decoder_norm(tgt))
        return torch.einsum("bqc,bchw->bqhw", color_embed, pixel_features)
