"""ColTran model configurations: the released full-size ones, the official test configs, and readers for the
``config.yaml`` the official training loop writes next to every checkpoint.

Only the hyper-parameters that change shapes or maths are kept. The released configs use one fixed set of
conditioning options (affine conditional MLP, 'sc' conditional layer norm with a learnable spatial average,
conditional q/k/v attention with scale, identity activations, skip connections); :func:`colorizer_from_dict`
refuses anything else with a clear error instead of computing something different.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Mapping

# The decoder options the port implements (configs/colorizer.py and test_configs/colorizer.py both use these).
SUPPORTED_DECODER_OPTIONS: dict[str, Any] = {
    "cond_mlp": "affine", "cond_mlp_act": "identity",
    "cond_ln": True, "cond_ln_act": "identity", "cond_ln_seq": "sc", "cond_ln_sp_ave": "learnable",
    "cond_att_q": True, "cond_att_k": True, "cond_att_v": True, "cond_att_scale": True, "cond_att_act": "identity",
    "skip": True,
}


@dataclass(frozen=True)
class StackConfig:
    """One attention stack: the grayscale encoder / upsampler encoder (``num_layers`` row+column blocks)."""

    hidden_size: int
    ff_size: int
    num_heads: int
    num_layers: int


@dataclass(frozen=True)
class DecoderConfig:
    hidden_size: int
    ff_size: int
    num_heads: int
    num_outer_layers: int
    num_inner_layers: int


@dataclass(frozen=True)
class ColorizerConfig:
    """``ColTranCore``: grayscale encoder + outer/inner decoder over 64x64 coarse (3-bit) colours."""

    encoder: StackConfig
    decoder: DecoderConfig
    hidden_size: int
    resolution: tuple[int, int] = (64, 64)
    parallel_head: bool = True  # stage 'encoder_decoder' has the auxiliary parallel_logits head
    kind: str = field(default="colorizer", init=False)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class UpsamplerConfig:
    """``ColorUpsampler`` (64x64, 3-bit -> 8-bit) or ``SpatialUpsampler`` (256x256)."""

    kind: str  # "color_upsampler" | "spatial_upsampler"
    encoder: StackConfig
    resolution: int  # side the model runs at: 64 (colour) or 256 (spatial); fixed by the position embeddings

    @property
    def hidden_size(self) -> int:
        return self.encoder.hidden_size

    def to_dict(self) -> dict:
        return asdict(self)


ModelConfig = ColorizerConfig | UpsamplerConfig
MODEL_KINDS = ("colorizer", "color_upsampler", "spatial_upsampler")


def _check_decoder_options(dec: Mapping[str, Any]) -> None:
    for key, expected in SUPPORTED_DECODER_OPTIONS.items():
        if key in dec and dec[key] != expected:
            raise NotImplementedError(
                f"ColTran decoder option {key}={dec[key]!r} is not implemented (the released configs use "
                f"{expected!r}); the port would compute something else, so it refuses")
    # initialisers (cond_*_init) and dropout do not matter at inference


def colorizer_from_dict(model: Mapping[str, Any]) -> ColorizerConfig:
    """From the ``model`` section of an official config (``config.yaml`` / ``configs/colorizer.py``)."""
    enc, dec = model["encoder"], model["decoder"]
    _check_decoder_options(dec)
    stage = model.get("stage", "decoder")
    if stage not in ("decoder", "encoder_decoder"):
        raise ValueError(f"unknown ColTran stage {stage!r}")
    return ColorizerConfig(
        encoder=StackConfig(enc["hidden_size"], enc["ff_size"], enc["num_heads"], enc["num_encoder_layers"]),
        decoder=DecoderConfig(dec["hidden_size"], dec["ff_size"], dec["num_heads"], dec["num_outer_layers"],
                              dec["num_inner_layers"]),
        hidden_size=model.get("hidden_size", dec["hidden_size"]),
        resolution=tuple(model.get("resolution", (64, 64))),
        parallel_head="encoder" in stage,
    )


def upsampler_from_dict(model: Mapping[str, Any], kind: str) -> UpsamplerConfig:
    hidden = model.get("hidden_size", 512)
    return UpsamplerConfig(
        kind=kind,
        encoder=StackConfig(hidden, model["ff_size"], model["num_heads"], model["num_encoder_layers"]),
        # the spatial upsampler's config says 64 but it is built (and only runs) at 256x256
        resolution=256 if kind == "spatial_upsampler" else 64,
    )


def config_from_dict(kind: str, model: Mapping[str, Any]) -> ModelConfig:
    if kind == "colorizer":
        return colorizer_from_dict(model)
    if kind in ("color_upsampler", "spatial_upsampler"):
        return upsampler_from_dict(model, kind)
    raise ValueError(f"unknown ColTran model kind {kind!r}; expected one of {MODEL_KINDS}")


def config_to_dict(cfg: ModelConfig) -> dict:
    return cfg.to_dict()


def config_from_saved(d: Mapping[str, Any]) -> ModelConfig:
    """Inverse of :func:`config_to_dict` (the JSON written next to converted safetensors)."""
    kind = d["kind"]
    if kind == "colorizer":
        return ColorizerConfig(encoder=StackConfig(**d["encoder"]), decoder=DecoderConfig(**d["decoder"]),
                               hidden_size=d["hidden_size"], resolution=tuple(d["resolution"]),
                               parallel_head=d["parallel_head"])
    return UpsamplerConfig(kind=kind, encoder=StackConfig(**d["encoder"]), resolution=d["resolution"])


def read_checkpoint_config(ckpt_dir: str | Path, kind: str) -> ModelConfig:
    """Read ``config.yaml`` written by the official ``run.train`` next to a checkpoint."""
    import yaml

    path = Path(ckpt_dir) / "config.yaml"
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: a ColTran checkpoint folder has config.yaml next to model-N.*")
    data = yaml.safe_load(path.read_text())
    return config_from_dict(kind, data["model"])


# ------------------------------------------------------------------------------------------------ known configs
def full_config(kind: str) -> ModelConfig:
    """The released models' configs (``coltran/configs/*.py``)."""
    if kind == "colorizer":
        return ColorizerConfig(encoder=StackConfig(512, 512, 4, 4), decoder=DecoderConfig(512, 512, 4, 2, 2),
                               hidden_size=512)
    if kind == "color_upsampler":
        return UpsamplerConfig(kind, StackConfig(512, 512, 4, 4), 64)
    if kind == "spatial_upsampler":
        return UpsamplerConfig(kind, StackConfig(512, 512, 4, 3), 256)
    raise ValueError(f"unknown ColTran model kind {kind!r}")


def smoke_config(kind: str) -> ModelConfig:
    """A tiny config for smoke runs and tests (random weights: outputs are meaningless)."""
    if kind == "colorizer":
        return ColorizerConfig(encoder=StackConfig(16, 16, 2, 1), decoder=DecoderConfig(16, 16, 2, 1, 1),
                               hidden_size=16)
    if kind == "color_upsampler":
        return UpsamplerConfig(kind, StackConfig(16, 16, 2, 1), 64)
    if kind == "spatial_upsampler":
        return UpsamplerConfig(kind, StackConfig(16, 16, 2, 1), 256)
    raise ValueError(f"unknown ColTran model kind {kind!r}")
