"""A tiny, randomly initialised SD-1.5-shaped pipeline for smoke runs, tests and notebooks — untrained.

It has every part the real one has (CLIP tokenizer and text encoder, UNet, Canny ControlNet, VAE with the same
8× latent downscale, UniPC scheduler) at a few channels each, so every code path runs in seconds on a CPU. Its
output is noise-coloured: numbers from it are meaningless. The tokenizer is built offline from a generated
byte-level vocabulary (every byte as a character token, no merges), so no hub download is needed.

:func:`save_tiny_weights` writes it in the hub's layout (a Stable Diffusion folder and a ControlNet folder) with
``save_pretrained``, so it loads through exactly the code the real hub ids go through.

Example::

    >>> import tempfile
    >>> base, controlnet = save_tiny_weights(tempfile.mkdtemp())
    >>> sorted(p.name for p in base.iterdir())[:3]
    ['model_index.json', 'scheduler', 'text_encoder']
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

TEXT_DIM = 32  # cross-attention width shared by the text encoder, UNet and ControlNet
MAX_TOKENS = 77  # CLIP's context length, as in SD 1.5


def _byte_characters() -> list[str]:
    """The 256 printable characters byte-level BPE (GPT-2, CLIP) uses to stand for the 256 byte values."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    extra = [b for b in range(256) if b not in printable]
    return [chr(c) for c in printable] + [chr(256 + i) for i in range(len(extra))]


def build_tiny_tokenizer():
    """A CLIPTokenizer over a 514-token vocabulary (each byte, each byte ending a word, start/end), offline."""
    from transformers import CLIPTokenizer

    chars = _byte_characters()
    tokens = chars + [c + "</w>" for c in chars] + ["<|startoftext|>", "<|endoftext|>"]
    with tempfile.TemporaryDirectory() as folder:
        Path(folder, "vocab.json").write_text(json.dumps({t: i for i, t in enumerate(tokens)}), encoding="utf-8")
        Path(folder, "merges.txt").write_text("#version: 0.2\n", encoding="utf-8")
        return CLIPTokenizer.from_pretrained(folder, model_max_length=MAX_TOKENS)


def build_tiny_components(seed: int = 0) -> dict:
    """Randomly initialised SD-1.5-shaped components (deterministic for a given ``seed``)."""
    import torch
    from diffusers import AutoencoderKL, ControlNetModel, UNet2DConditionModel, UniPCMultistepScheduler
    from transformers import CLIPTextConfig, CLIPTextModel

    tokenizer = build_tiny_tokenizer()
    torch.manual_seed(seed)
    text_encoder = CLIPTextModel(CLIPTextConfig(
        vocab_size=len(tokenizer), hidden_size=TEXT_DIM, intermediate_size=37, num_attention_heads=4,
        num_hidden_layers=2, max_position_embeddings=MAX_TOKENS, projection_dim=TEXT_DIM,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
    ))
    blocks = dict(block_out_channels=(8, 16), layers_per_block=1, in_channels=4, cross_attention_dim=TEXT_DIM,
                  down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"), norm_num_groups=4, attention_head_dim=2)
    unet = UNet2DConditionModel(**blocks, out_channels=4, sample_size=8,
                                up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"))
    # Four embedding stages downscale the control image 8×, matching the VAE's latent grid, as in the real model.
    controlnet = ControlNetModel(**blocks, conditioning_embedding_out_channels=(4, 8, 8, 16))
    _wake_zero_convolutions(controlnet)
    vae = AutoencoderKL(block_out_channels=(4, 4, 8, 8), in_channels=3, out_channels=3, latent_channels=4,
                        down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4,
                        norm_num_groups=2, layers_per_block=1, sample_size=64)
    # SD 1.5's noise schedule.
    scheduler = UniPCMultistepScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                                        num_train_timesteps=1000, steps_offset=1)
    return dict(tokenizer=tokenizer, text_encoder=text_encoder, unet=unet, controlnet=controlnet, vae=vae,
                scheduler=scheduler)


def _wake_zero_convolutions(controlnet) -> None:
    """A fresh ControlNet's output convolutions are zero (so training starts from the unchanged base model), and at
    PyTorch's default initialisation its 8-layer control-image encoder shrinks the signal ~10⁴-fold: the tiny model's
    output would not depend on its control image, and no test could see what the ControlNet is given. A trained
    ControlNet's does; these layers get variance-keeping random weights so the tiny one's does too."""
    import torch

    embedding = controlnet.controlnet_cond_embedding
    with torch.no_grad():
        for conv in [embedding.conv_in, *embedding.blocks, embedding.conv_out, *controlnet.controlnet_down_blocks,
                     controlnet.controlnet_mid_block]:
            torch.nn.init.kaiming_normal_(conv.weight, nonlinearity="relu")
            conv.bias.zero_()


def save_tiny_weights(folder: str | Path, seed: int = 0) -> tuple[Path, Path]:
    """Save the tiny model as ``folder/stable-diffusion`` and ``folder/controlnet-canny`` (hub layout).

    Returns the two folders; pass them as ``base_model`` / ``controlnet_model`` to the methods.
    """
    from diffusers import StableDiffusionPipeline

    folder = Path(folder)
    parts = build_tiny_components(seed)
    controlnet = parts.pop("controlnet")
    base = StableDiffusionPipeline(**parts, safety_checker=None, feature_extractor=None,
                                   requires_safety_checker=False)
    base_dir, controlnet_dir = folder / "stable-diffusion", folder / "controlnet-canny"
    with _every_rank_saves():
        base.save_pretrained(base_dir)
        controlnet.save_pretrained(controlnet_dir)
    return base_dir, controlnet_dir


def _every_rank_saves():
    """transformers >= 5 writes a model's weights on rank 0 only once torch.distributed is initialised (a sharded
    run), leaving the other ranks' folders without the text encoder; these tiny weights live in each process's own
    temporary folder, so every rank must write its own copy."""
    import contextlib
    from unittest import mock

    try:
        from transformers.distributed import mixin
    except ImportError:  # older transformers save on every rank
        return contextlib.nullcontext()
    if not hasattr(mixin, "_is_torch_distributed_initialized"):
        return contextlib.nullcontext()
    return mock.patch.object(mixin, "_is_torch_distributed_initialized", lambda: False)
