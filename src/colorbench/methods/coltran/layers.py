"""ColTran's building blocks in PyTorch, with the official parameter layout.

Every parameter keeps the shape of its TensorFlow variable (a Dense kernel is ``(in, out)``, an attention
projection ``(D, heads, head_dim)``) and every module sits at the attribute path the official Keras model uses
(``residual_layers.3.layers.1.kernel`` is ``residual_layers[3].layers[1].kernel``), so converting a checkpoint is a
renaming that :mod:`.naming` derives and checks, with no reshaping to get wrong.

Maths (fixtures README section 5.1): Keras LayerNormalization with epsilon 1e-3; attention with conditional
scale/shift (scale first) on q, k, v, then ``q * head_dim**-0.5``, a relative bias ``rel[h, L-1 + k - q]`` and a
``-1e6`` future mask; conditional layer norm from a learnable spatial average of the context; conditional MLP
``FF(x) * scale + shift`` (shift first).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from colorbench.methods.coltran.cpu_blas import linear, matmul

LN_EPS = 1e-3  # Keras LayerNormalization default
MASK_VALUE = -1e6  # the official future mask adds -1e6 (not -inf)


class Dense(nn.Module):
    """Keras Dense: ``x @ kernel (+ bias)``, kernel ``(in, out)``."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True):
        super().__init__()
        self.kernel = nn.Parameter(torch.empty(in_features, out_features))
        self.bias = nn.Parameter(torch.empty(out_features)) if bias else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return linear(x, self.kernel, self.bias)

    def embed(self, index: torch.Tensor) -> torch.Tensor:
        """``one_hot(index) @ kernel (+ bias)`` as a row lookup (exact: one-hot products add only zeros)."""
        out = F.embedding(index, self.kernel)
        return out + self.bias if self.bias is not None else out


class LayerNorm(nn.Module):
    """Keras LayerNormalization over the last axis (gamma, beta; eps 1e-3)."""

    def __init__(self, size: int):
        super().__init__()
        self.gamma = nn.Parameter(torch.ones(size))
        self.beta = nn.Parameter(torch.zeros(size))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.layer_norm(x, (x.shape[-1],), self.gamma, self.beta, LN_EPS)


class PositionEmbed(nn.Module):
    """Factorised position embeddings: ``position_embedding_0`` (H, 1, D) + ``position_embedding_1`` (W, D)."""

    def __init__(self, height: int, width: int, size: int):
        super().__init__()
        self.position_embedding_0 = nn.Parameter(torch.zeros(height, 1, size))
        self.position_embedding_1 = nn.Parameter(torch.zeros(width, size))

    def table(self) -> torch.Tensor:
        return self.position_embedding_0 + self.position_embedding_1  # (H, W, D)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.position_embedding_0 + self.position_embedding_1


class FeedForward(nn.Module):
    """``tf.keras.Sequential([Dense(ff, relu), Dense(D)])``; its layers are ``layers[0]`` and ``layers[1]``."""

    def __init__(self, size: int, ff_size: int):
        super().__init__()
        self.layers = nn.ModuleList([Dense(size, ff_size), Dense(ff_size, size)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        first = self.layers[0]
        # bias and relu in place on the matmul's output: addmm would first copy the broadcast bias into a fresh
        # ff-sized tensor and relu would allocate another (same sums: x @ W + b, then max(., 0))
        hidden = matmul(x, first.kernel).add_(first.bias).relu_()
        return self.layers[1](hidden)


class DenseND(nn.Module):
    """Bias-free projection with a multi-axis kernel, e.g. ``(D, heads, head_dim)`` or ``(heads, head_dim, D)``."""

    def __init__(self, *shape: int, contract_axes: int = 1):
        super().__init__()
        self.kernel = nn.Parameter(torch.empty(*shape))
        self.contract_axes = contract_axes

    def matrix(self) -> torch.Tensor:
        """The kernel as a 2-D ``(in, out)`` matrix."""
        k = self.kernel
        n_in = 1
        for s in k.shape[: self.contract_axes]:
            n_in *= s
        return k.reshape(n_in, -1)


class RelativeBias(nn.Module):
    """Holds ``relative_attention_bias_{axis}`` of shape ``(heads, 2L)``; ``bias[h, q, k] = rel[h, L-1 + k - q]``."""

    def __init__(self, heads: int, length: int, axis: int):
        super().__init__()
        self.axis = axis
        self.length = length
        self.register_parameter(f"relative_attention_bias_{axis}", nn.Parameter(torch.zeros(heads, 2 * length)))

    @property
    def weight(self) -> torch.Tensor:
        return getattr(self, f"relative_attention_bias_{self.axis}")

    def matrix(self, masked: bool) -> torch.Tensor:
        """``(heads, L, L)`` bias (+ the -1e6 future mask)."""
        L = self.length
        pos = torch.arange(L, device=self.weight.device)
        index = (L - 1) + pos[None, :] - pos[:, None]
        bias = self.weight[:, index]
        if masked:
            future = pos[None, :] > pos[:, None]
            bias = bias + torch.where(future, MASK_VALUE, 0.0).to(bias.dtype)
        return bias


class AxialAttention(nn.Module):
    """``SelfAttentionND`` restricted to one image axis: rows (``nd_block_size=[1, W]``) or columns (``[H, 1]``).

    ``cond_size`` > 0 adds conditional scale/shift projections ``project_cond_{q,k,v}`` from a context tensor.
    """

    def __init__(self, size: int, heads: int, height: int, width: int, axis: str, masked: bool = False,
                 cond_size: int = 0):
        super().__init__()
        if axis not in ("row", "col"):
            raise ValueError(axis)
        self.axis, self.masked, self.heads = axis, masked, heads
        self.head_dim = size // heads
        self.length = width if axis == "row" else height
        self.project_q = DenseND(size, heads, self.head_dim)
        self.project_k = DenseND(size, heads, self.head_dim)
        self.project_v = DenseND(size, heads, self.head_dim)
        self.project_final = DenseND(heads, self.head_dim, size, contract_axes=2)
        # row attention varies along axis 1 (W) of the block [1, W]; column attention along axis 0
        self.relative_attention = RelativeBias(heads, self.length, axis=1 if axis == "row" else 0)
        self.conditional = cond_size > 0
        if self.conditional:
            self.project_cond_k = DenseND(cond_size, heads, 2 * self.head_dim)
            self.project_cond_q = DenseND(cond_size, heads, 2 * self.head_dim)
            self.project_cond_v = DenseND(cond_size, heads, 2 * self.head_dim)

    # -- pieces shared by the full pass and the cached decoding step
    def _split_heads(self, x: torch.Tensor) -> torch.Tensor:
        return x.reshape(*x.shape[:-1], self.heads, self.head_dim)

    def cond_params(self, ctx: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Per-position (scale, shift) for q, k, v: each ``(..., heads, head_dim)``."""
        out = []
        for proj in (self.project_cond_q, self.project_cond_k, self.project_cond_v):
            c = matmul(ctx, proj.matrix()).reshape(*ctx.shape[:-1], self.heads, 2 * self.head_dim)
            out.extend(c.split(self.head_dim, dim=-1))
        return tuple(out)

    def fused_qkv_matrix(self) -> torch.Tensor:
        """The q, k and v projections side by side, ``(D, 3 * D)``: ``x @ fused`` is ``[x @ Wq, x @ Wk, x @ Wv]``."""
        return torch.cat([self.project_q.matrix(), self.project_k.matrix(), self.project_v.matrix()], dim=1)

    def qkv(self, x: torch.Tensor, cond: tuple[torch.Tensor, ...] | None,
            projected: torch.Tensor | None = None) -> tuple[torch.Tensor, ...]:
        """Projected (and conditioned) q, k, v: ``(..., heads, head_dim)`` each; q not yet scaled.

        ``projected``: ``x @ fused_qkv_matrix()`` when the caller has it already (see
        ``FactorizedAttention.forward_lookups``)."""
        # one matmul for the three projections: reads x once instead of three times (same dot products)
        if projected is None:
            projected = matmul(x, self.fused_qkv_matrix())
        q, k, v = (self._split_heads(t) for t in projected.chunk(3, dim=-1))
        if cond is not None:
            qs, qb, ks, kb, vs, vb = cond
            q, k, v = q * qs + qb, k * ks + kb, v * vs + vb
        return q, k, v

    def project_out(self, o: torch.Tensor) -> torch.Tensor:
        return matmul(o.reshape(*o.shape[:-2], -1), self.project_final.matrix())

    def forward(self, x: torch.Tensor, ctx: torch.Tensor | None = None,
                projected: torch.Tensor | None = None) -> torch.Tensor:
        """x ``(B, H, W, D)``; ctx ``(B, H, W, C)`` (or broadcastable) when conditional; ``projected`` as in
        :meth:`qkv`.

        Why this layout: the projections always run on the image's own (B, H, W, D) memory order, so each is one
        plain matrix product (a transposed input made torch broadcast the weight into a batched product, 1.3x slower
        on CPU) and the residual sum adds contiguous tensors; only the attention reads q, k, v through strided views
        (rows: a view of the batch; columns: one view per image) and the column output is re-laid out once.
        """
        cond = self.cond_params(ctx) if self.conditional else None
        q, k, v = self.qkv(x, cond, projected)  # (B, H, W, heads, head_dim)
        B, H, W = q.shape[:3]
        # an expanded (stride-0) view of the bias: lets SDPA pick its fused kernel (6x faster on CPU than a
        # broadcast (heads, L, L) mask), at no memory cost
        bias = self.relative_attention.matrix(self.masked).to(q.dtype)
        scale = self.head_dim**-0.5
        if self.axis == "row":
            q, k, v = (t.reshape(B * H, W, self.heads, self.head_dim).transpose(1, 2) for t in (q, k, v))
            o = F.scaled_dot_product_attention(q, k, v, attn_mask=bias.expand(B * H, -1, -1, -1), scale=scale)
            o = o.transpose(1, 2).reshape(B, H, W, self.heads, self.head_dim)
        else:
            o = torch.empty_like(q)
            for b in range(B):  # per image: (W, heads, H, head_dim) views need no copy (a batch-wide one would)
                qb, kb, vb = (t[b].permute(1, 2, 0, 3) for t in (q, k, v))
                ob = F.scaled_dot_product_attention(qb, kb, vb, attn_mask=bias.expand(W, -1, -1, -1), scale=scale)
                o[b] = ob.permute(2, 0, 1, 3)
        return self.project_out(o)


class ConditionalLayerNorm(nn.Module):
    """LN (fixed gamma/beta) whose scale and shift come from the spatially averaged context (``sequence='sc'``)."""

    def __init__(self, size: int, cond_size: int, height: int, width: int):
        super().__init__()
        self.spatial_average = nn.Parameter(torch.ones(1, height, width, 1))
        self.channel_dense = Dense(cond_size, 2 * size)
        self.layer_norm = LayerNorm(size)  # non-trainable in the official model: gamma 1, beta 0

    def cond_params(self, ctx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(scale, shift), each ``(B, 1, 1, D)``, from ctx ``(B, h, W, C)``.

        ``reduce_mean(spatial_average * ctx, axes=(1, 2))`` with TF broadcasting: for a full canvas (h = H) this is
        the weighted spatial mean; for one row (h = 1, what the official sampler passes) the (H, W) weights
        broadcast against that row, i.e. ``mean_{h,w} s[h, w] * ctx[row, w]``.
        """
        s = self.spatial_average[0, :, :, 0].to(ctx.dtype)  # (H, W)
        H, W = s.shape
        if ctx.shape[1] == 1:
            pooled = torch.einsum("w,bwc->bc", s.sum(0), ctx[:, 0]) / (H * W)
        else:
            pooled = torch.einsum("hw,bhwc->bc", s, ctx) / (H * W)
        scale, shift = self.channel_dense(pooled).chunk(2, dim=-1)
        return scale[:, None, None], shift[:, None, None]

    def normalize(self, x: torch.Tensor, params: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        scale, shift = params
        return self.layer_norm(x) * scale + shift

    def forward(self, x: torch.Tensor, ctx: torch.Tensor) -> torch.Tensor:
        return self.normalize(x, self.cond_params(ctx))


def affine(out: torch.Tensor, dense: Dense, ctx: torch.Tensor) -> torch.Tensor:
    """Conditional MLP ``cond_mlp='affine'``: ``shift, scale = split(Dense(ctx))`` (shift first);
    ``out*scale + shift``."""
    shift, scale = dense(ctx).chunk(2, dim=-1)
    return out * scale + shift
