"""The three ColTran models in PyTorch: :class:`Colorizer` (``ColTranCore``), :class:`ColorUpsampler`,
:class:`SpatialUpsampler`, with the official attribute paths (so state-dict keys read like the official model's
attributes, e.g. ``outer_decoder.layer_norms.3.channel_dense.kernel``).

Example (tiny random model)::

    >>> import torch
    >>> from colorbench.methods.coltran.config import smoke_config
    >>> model = build_model(smoke_config("color_upsampler"), init="random")
    >>> logits = model.logits(torch.zeros(1, 64, 64, 3, dtype=torch.long), torch.zeros(1, 64, 64, dtype=torch.long))
    >>> tuple(logits.shape)
    (1, 64, 64, 3, 256)
"""

from __future__ import annotations

import math
from contextlib import nullcontext

import torch
from torch import nn

from colorbench.methods.coltran.config import ColorizerConfig, ModelConfig, UpsamplerConfig
from colorbench.methods.coltran.core import FactorizedAttention, GrayScaleEncoder, InnerDecoder, OuterDecoder
from colorbench.methods.coltran.heap import reused_heap
from colorbench.methods.coltran.layers import Dense, LayerNorm

NUM_COARSE_BINS = 512


class Float16Overflow:
    """Whether any float16 logits were inf/NaN, gathered on the device and read once at the end (no sync per step).

    float16 stops at ±65504, and an activation beyond it turns the logits into inf/NaN, whose argmax is silently 0: a
    wrong colour, not an error. The released weights' range was never checked in float16 (benchmarks/README.md), so the
    runs that use it check every logit they choose from; bfloat16 and float32 have float32's range and skip it."""

    def __init__(self, dtype: torch.dtype, device: torch.device, stage: str):
        self.stage = stage
        self.finite = torch.ones((), dtype=torch.bool, device=device) if dtype == torch.float16 else None

    def see(self, logits: torch.Tensor) -> None:
        if self.finite is not None:
            self.finite &= torch.isfinite(logits).all()

    def raise_if_any(self) -> None:
        if self.finite is not None and not bool(self.finite):
            raise FloatingPointError(
                f"ColTran's {self.stage} overflowed float16 (a value beyond ±65504 became inf/NaN), so its colours "
                "would be wrong: run it with dtype='bfloat16' (as fast on a GPU, float32's range) or 'float32'")


class Colorizer(nn.Module):
    """Autoregressive axial transformer over 64x64 coarse colours (512 bins), conditioned on the 64 px gray."""

    def __init__(self, cfg: ColorizerConfig):
        super().__init__()
        self.cfg = cfg
        H, W = cfg.resolution
        D = cfg.hidden_size
        z_size = cfg.encoder.hidden_size
        self.encoder = GrayScaleEncoder(cfg.encoder, H, W)
        if cfg.parallel_head:
            self.parallel_dense = Dense(z_size, NUM_COARSE_BINS, bias=False)
        self.pixel_embed_layer = Dense(NUM_COARSE_BINS, D, bias=False)
        self.outer_decoder = OuterDecoder(cfg.decoder, z_size, H, W)
        self.inner_decoder = InnerDecoder(cfg.decoder, z_size, H, W)
        self.final_dense = Dense(D, NUM_COARSE_BINS)
        self.final_norm = LayerNorm(D)

    def encode(self, gray_64: torch.Tensor) -> torch.Tensor:
        """Gray (B, 64, 64) ints -> z (B, 64, 64, D)."""
        return self.encoder(gray_64)

    def parallel_logits(self, z: torch.Tensor) -> torch.Tensor:
        """The auxiliary parallel head: (B, 64, 64, 512)."""
        if not self.cfg.parallel_head:
            raise ValueError("this colorizer config (stage='decoder') has no parallel head")
        return self.parallel_dense(z)

    def logits_from_activations(self, h: torch.Tensor) -> torch.Tensor:
        return self.final_dense(self.final_norm(h))

    def teacher_forcing(self, gray_64: torch.Tensor, bins: torch.Tensor) -> dict[str, torch.Tensor]:
        """The official ``model(rgb_64)`` pass: every activation and the logits (B, 64, 64, 512)."""
        z = self.encode(gray_64)
        h_dec = self.pixel_embed_layer.embed(bins.long())
        upper = self.outer_decoder(h_dec, z)
        inner = self.inner_decoder(h_dec, upper, z)
        out = {"encoder_out": z, "pixel_embed": h_dec, "outer_decoder_out": upper, "inner_decoder_out": inner,
               "logits": self.logits_from_activations(inner)}
        if self.cfg.parallel_head:
            out["encoder_logits"] = self.parallel_logits(z)
        return out


class _Upsampler(nn.Module):
    """Shared body: per channel ``one_hot(value + offset*c)`` embedding ++ gray embedding -> input Dense ->
    factorised attention encoder -> Dense(256). Channels share weights and run as one batch."""

    symbols_per_channel: int

    def __init__(self, cfg: UpsamplerConfig, embedding_name: str):
        super().__init__()
        self.cfg = cfg
        D, R = cfg.hidden_size, cfg.resolution
        self._embedding_name = embedding_name
        setattr(self, embedding_name, Dense(3 * self.symbols_per_channel, D, bias=False))
        self.gray_embedding = Dense(256, D, bias=False)
        self.input_dense = Dense(2 * D, D)
        self.encoder = FactorizedAttention(cfg.encoder, R, R)
        self.final_dense = Dense(D, 256)

    def encode(self, values: torch.Tensor, gray: torch.Tensor,
               channel_index: torch.Tensor | None = None) -> torch.Tensor:
        """values (B, R, R, C) ints, gray (B, R, R) ints -> encoder activations (C*B, R, R, D), channel-major.

        ``channel_index`` (B,) gives each image's channel when C == 1 (the official training-style slice call, and
        how :meth:`predict` runs any mix of images and channels as one chunk).
        """
        B, R, _, C = values.shape
        if channel_index is not None:
            offsets = (channel_index.long() * self.symbols_per_channel).view(B, 1, 1, 1)
        else:
            offsets = torch.arange(C, device=values.device).view(1, 1, 1, C) * self.symbols_per_channel
        symbols = (values.long() + offsets).permute(3, 0, 1, 2)  # (C, B, R, R): the channel-major batch
        # input_dense(concat(one_hot-embeddings)) folded into two table lookups: concat(e_c, e_g) @ W + b is
        # e_c @ W_top + e_g @ W_bottom + b, and a one-hot embedding times a matrix is a row of (table @ matrix); this
        # skips the (R*R, 2D) x (2D, D) matmul and the concatenated copy per item (same sums, other rounding order).
        # The encoder takes the two lookups as they are (the gray one broadcast over the channels) and folds them
        # into its first projection too
        D = self.cfg.hidden_size
        w = self.input_dense.kernel
        channel_table = getattr(self, self._embedding_name).kernel @ w[:D]
        gray_table = self.gray_embedding.kernel @ w[D:] + self.input_dense.bias
        return self.encoder.forward_lookups([(channel_table, symbols), (gray_table, gray.long())])

    def logits(self, values: torch.Tensor, gray: torch.Tensor,
               channel_index: torch.Tensor | None = None) -> torch.Tensor:
        """values (B, R, R, C) ints (3-bit for colour, 8-bit for spatial), gray (B, R, R) ints -> (B, R, R, C, 256)."""
        B, R, _, C = values.shape
        logits = self.final_dense(self.encode(values, gray, channel_index))  # (C*B, R, R, 256)
        return logits.reshape(C, B, R, R, 256).permute(1, 2, 3, 0, 4)

    def bytes_per_item(self, dtype: torch.dtype | None = None) -> int:
        """Estimated peak memory of one image-channel (:func:`.memory.bytes_per_item`)."""
        from colorbench.methods.coltran.memory import bytes_per_item

        dtype = dtype or self.final_dense.kernel.dtype
        return bytes_per_item(self.cfg.resolution, self.cfg.hidden_size, self.cfg.encoder.ff_size, dtype)

    @torch.no_grad()
    def predict(self, values: torch.Tensor, gray: torch.Tensor, items_per_chunk: int | None = None,
                row_chunk: int = 32) -> torch.Tensor:
        """Argmax colours (B, R, R, C) uint8.

        The B*C image-channels run ``items_per_chunk`` at a time (default: all at once), each as a one-channel item
        with its channel index, so memory is bounded by the chunk whatever the image count; the 256-way head runs on
        ``row_chunk`` rows at a time (the spatial upsampler's logits are 200 MB per image in float32).
        """
        B, R, _, C = values.shape
        n = B * C
        step = n if items_per_chunk is None else max(1, int(items_per_chunk))
        item_values = values.permute(3, 0, 1, 2).reshape(n, R, R, 1)  # channel-major, as encode orders them
        item_gray = gray.repeat(C, 1, 1)
        item_channel = torch.arange(C, device=values.device).repeat_interleave(B)
        out = torch.empty(n, R, R, dtype=torch.uint8, device=values.device)
        overflow = Float16Overflow(self.final_dense.kernel.dtype, values.device, self.cfg.kind.replace("_", " "))
        # on a CPU the activations reuse heap memory instead of page-faulting fresh blocks in at every layer
        with reused_heap() if values.device.type == "cpu" else nullcontext():
            for lo in range(0, n, step):
                h = self.encode(item_values[lo:lo + step], item_gray[lo:lo + step], item_channel[lo:lo + step])
                for start in range(0, R, row_chunk):
                    logits = self.final_dense(h[:, start:start + row_chunk])
                    overflow.see(logits)
                    out[lo:lo + step, start:start + row_chunk] = logits.argmax(-1).to(torch.uint8)
                del h
        overflow.raise_if_any()
        return out.reshape(C, B, R, R).permute(1, 2, 3, 0)


class ColorUpsampler(_Upsampler):
    """3-bit coarse colours + 64 px gray -> 8-bit colour logits at 64x64."""

    symbols_per_channel = 8

    def __init__(self, cfg: UpsamplerConfig):
        super().__init__(cfg, "bit_embedding")


class SpatialUpsampler(_Upsampler):
    """Blurry 256 px colour (64 px replicated) + 256 px gray -> sharp 256x256 colour logits."""

    symbols_per_channel = 256

    def __init__(self, cfg: UpsamplerConfig):
        super().__init__(cfg, "channel_embedding")


def build_model(cfg: ModelConfig, init: str | None = None, seed: int = 0) -> nn.Module:
    """Instantiate the model for ``cfg``; ``init="random"`` fills it with a small random init (smoke runs/tests)."""
    if isinstance(cfg, ColorizerConfig):
        model: nn.Module = Colorizer(cfg)
    elif cfg.kind == "color_upsampler":
        model = ColorUpsampler(cfg)
    elif cfg.kind == "spatial_upsampler":
        model = SpatialUpsampler(cfg)
    else:
        raise ValueError(f"unknown config {cfg!r}")
    if init == "random":
        random_init_(model, seed)
    elif init is not None:
        raise ValueError(f"init must be None or 'random', got {init!r}")
    return model.eval()


@torch.no_grad()
def random_init_(model: nn.Module, seed: int = 0) -> None:
    """Glorot-like uniform kernels, small random biases/position embeddings/relative biases, LN gamma near 1.

    Random (not the official zero/one init) on purpose, so that tests exercise every parameter.
    """
    gen = torch.Generator().manual_seed(seed)
    for name, p in model.named_parameters():
        leaf = name.rsplit(".", 1)[-1]
        if leaf == "kernel":
            fan_in = math.prod(p.shape[: 2 if name.endswith("project_final.kernel") else 1])
            fan_out = p.numel() // fan_in
            limit = math.sqrt(6.0 / (fan_in + fan_out))
            p.copy_((torch.rand(p.shape, generator=gen) * 2 - 1) * limit)
        elif leaf in ("gamma", "spatial_average"):
            p.copy_(1 + 0.1 * torch.randn(p.shape, generator=gen))
        else:
            p.copy_(0.1 * torch.randn(p.shape, generator=gen))
    # the conditional LNs' inner LayerNormalization is frozen at gamma 1, beta 0 in the official model
    for module in model.modules():
        if module.__class__.__name__ == "ConditionalLayerNorm":
            module.layer_norm.gamma.fill_(1.0)
            module.layer_norm.beta.fill_(0.0)
