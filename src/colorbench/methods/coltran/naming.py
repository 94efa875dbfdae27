"""The rule that names every variable of an official ColTran model, for any config.

The official checkpoints key each variable by its Keras name (fixtures README, section 3). Those names come from
Keras 2's per-process auto-numbering (``dense``, ``dense_1``, ...; one counter per layer class, first one
unnumbered) in the order the official code *constructs* layers, inside name scopes of the layers whose ``build``
created them — except layers built inside a ``tf.keras.Sequential`` (every FF block), whose variables carry no scope.
Layers given an explicit name (``auto_logits``, ``q``, ``unmask_row_att_0``, ...) take no number.

:func:`official_variables` replays that construction order for a config and returns, per variable, its TF name,
its attribute path in the official model (= the PyTorch module path here, with ``[i]`` written ``.i``), its shape and
whether it is trainable. It is checked against every manifest in the fixtures (the two tiny configs and the three
full-size ones): same names, same paths, same shapes, nothing missing, nothing extra.

Construction order (official ``build`` methods, triggered by the first call):

* ``ColTranCore.build``: ``gray_scale_encoder``, [``parallel_logits``], pixel embedding ``dense``,
  ``outer_decoder``, ``inner_decoder``, ``auto_logits``, final ``layer_normalization``; then the first call builds
  the encoder (``dense`` embedding, ``factorized_attention``: ``position_embed``, 4L ``layer_normalization``,
  per layer ``self_attention_nd`` + Sequential(``dense``, ``dense``) twice), the outer decoder (``position_embed``,
  4L ``conditional_layer_norm``, per layer two attentions and two Sequentials of two ``dense``; the conditional
  norms create their ``dense`` during the decoder's call, i.e. after all the FF denses), then the inner decoder in
  the same way.
* ``ColorUpsampler`` / ``SpatialUpsampler.build``: embedding ``dense``, gray ``dense``, input ``dense``,
  ``factorized_attention``, final ``dense``; then the encoder as above.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from colorbench.methods.coltran.config import ColorizerConfig, ModelConfig, StackConfig, UpsamplerConfig

MODEL_SCOPES = {"colorizer": "col_tran_core", "color_upsampler": "color_upsampler",
                "spatial_upsampler": "spatial_upsampler"}


@dataclass(frozen=True)
class OfficialVariable:
    name: str  # TF variable name, e.g. "dense_9/bias:0"
    path: str  # official attribute path, e.g. "encoder.encoder.residual_layers[7].layers[1].bias"
    shape: tuple[int, ...]
    trainable: bool = True

    @property
    def torch_key(self) -> str:
        """The PyTorch state-dict key of this variable in :mod:`.models`."""
        return self.path.replace("[", ".").replace("]", "")


class _KerasNames:
    """Keras 2 ``backend.unique_object_name``: one counter per base name; first use unnumbered."""

    def __init__(self) -> None:
        self._seen: Counter[str] = Counter()

    def __call__(self, base: str) -> str:
        n = self._seen[base]
        self._seen[base] += 1
        return base if n == 0 else f"{base}_{n}"


class _Builder:
    def __init__(self) -> None:
        self.names = _KerasNames()
        self.out: list[OfficialVariable] = []

    def var(self, name: str, path: str, shape: tuple[int, ...], trainable: bool = True) -> None:
        self.out.append(OfficialVariable(name + ":0", path, tuple(int(s) for s in shape), trainable))

    def dense(self, scope: str, layer: str, path: str, n_in: int, n_out: int, bias: bool = True) -> None:
        prefix = f"{scope}/{layer}" if scope else layer
        self.var(f"{prefix}/kernel", f"{path}.kernel", (n_in, n_out))
        if bias:
            self.var(f"{prefix}/bias", f"{path}.bias", (n_out,))

    def attention(self, scope: str, path: str, D: int, heads: int, length: int, axis: int, cond_size: int = 0) -> None:
        hd = D // heads
        for short, attr in (("q", "project_q"), ("k", "project_k"), ("v", "project_v")):
            self.var(f"{scope}/{short}/kernel", f"{path}.{attr}.kernel", (D, heads, hd))
        self.var(f"{scope}/output/kernel", f"{path}.project_final.kernel", (heads, hd, D))
        self.var(f"{scope}/relative_attention_bias_{axis}",
                 f"{path}.relative_attention.relative_attention_bias_{axis}", (heads, 2 * length))
        self.names("relative_attention_bias_nd")  # the bias layer takes a number (its weights use the att scope)
        if cond_size:
            for short in ("cond_k", "cond_q", "cond_v"):  # build order: k, q, v
                self.var(f"{scope}/{short}/kernel", f"{path}.project_{short}.kernel", (cond_size, heads, 2 * hd))

    def ff_denses(self) -> tuple[str, str]:
        """A Sequential's two Dense layers: numbered when the Sequential is constructed."""
        return self.names("dense"), self.names("dense")

    def factorized_attention(self, scope: str, name: str, path: str, cfg: StackConfig, H: int, W: int) -> None:
        """A FactorizedAttention constructed as ``name``; its own layers are numbered when it is built."""
        D = cfg.hidden_size
        fa = f"{scope}/{name}"
        # FactorizedAttention.build
        pos = self.names("position_embed")
        norms = [self.names("layer_normalization") for _ in range(4 * cfg.num_layers)]
        blocks = []
        for _ in range(cfg.num_layers):
            row = self.names("self_attention_nd")
            ff_row = self.ff_denses()
            self.names("sequential")
            col = self.names("self_attention_nd")
            ff_col = self.ff_denses()
            self.names("sequential")
            blocks.append((row, ff_row, col, ff_col))
        # variables, in the order the first call creates them
        self.var(f"{fa}/{pos}/position_embedding_0", f"{path}.pos_embed.position_embedding_0", (H, 1, D))
        self.var(f"{fa}/{pos}/position_embedding_1", f"{path}.pos_embed.position_embedding_1", (W, D))
        for i, (row, ff_row, col, ff_col) in enumerate(blocks):
            self.attention(f"{fa}/{row}", f"{path}.residual_layers[{4 * i}]", D, cfg.num_heads, W, axis=1)
            self._ff(ff_row, f"{path}.residual_layers[{4 * i + 1}]", D, cfg.ff_size)
            self.attention(f"{fa}/{col}", f"{path}.residual_layers[{4 * i + 2}]", D, cfg.num_heads, H, axis=0)
            self._ff(ff_col, f"{path}.residual_layers[{4 * i + 3}]", D, cfg.ff_size)
        for j, norm in enumerate(norms):
            self.var(f"{fa}/{norm}/gamma", f"{path}.layer_norms[{j}].gamma", (D,))
            self.var(f"{fa}/{norm}/beta", f"{path}.layer_norms[{j}].beta", (D,))

    def _ff(self, denses: tuple[str, str], path: str, D: int, ff: int) -> None:
        self.dense("", denses[0], f"{path}.layers[0]", D, ff)  # no scope: built inside a Sequential
        self.dense("", denses[1], f"{path}.layers[1]", ff, D)

    def conditional_norms(self, scope: str, path: str, names: list[str], D: int, cond_size: int, H: int,
                          W: int) -> list[tuple[str, int]]:
        """Each CLN builds (spatial_average, its channel Dense, the frozen 'normalize' LN) on its first call.

        Returns (name, index) of each, for :meth:`frozen_norms`: the frozen LN variables come later in the
        model's variable list (they are non-trainable), though their names are fixed here."""
        frozen = []
        for j, cln in enumerate(names):
            dense = self.names("dense")
            self.var(f"{scope}/{cln}/spatial_average", f"{path}.layer_norms[{j}].spatial_average", (1, H, W, 1))
            self.dense(f"{scope}/{cln}", dense, f"{path}.layer_norms[{j}].channel_dense", cond_size, 2 * D)
            frozen.append((cln, j))
        return frozen

    def frozen_norms(self, scope: str, path: str, frozen: list[tuple[str, int]], D: int) -> None:
        for cln, j in frozen:
            self.var(f"{scope}/{cln}/normalize/gamma", f"{path}.layer_norms[{j}].layer_norm.gamma", (D,), False)
            self.var(f"{scope}/{cln}/normalize/beta", f"{path}.layer_norms[{j}].layer_norm.beta", (D,), False)


def _colorizer(cfg: ColorizerConfig) -> list[OfficialVariable]:
    b = _Builder()
    root = b.names("col_tran_core")
    H, W = cfg.resolution
    dec = cfg.decoder
    D, Z = dec.hidden_size, cfg.encoder.hidden_size
    # ColTranCore.build
    enc = b.names("gray_scale_encoder")
    pixel_embed = b.names("dense")
    outer = b.names("outer_decoder")
    inner = b.names("inner_decoder")
    final_norm = b.names("layer_normalization")
    # encoder: GrayScaleEncoder.build, then its FactorizedAttention
    emb = b.names("dense")
    fa = b.names("factorized_attention")
    b.dense(f"{root}/{enc}", emb, "encoder.embedding", 256, cfg.encoder.hidden_size)
    b.factorized_attention(f"{root}/{enc}", fa, "encoder.encoder", cfg.encoder, H, W)
    if cfg.parallel_head:
        b.dense(root, "parallel_logits", "parallel_dense", Z, 512, bias=False)
    b.dense(root, pixel_embed, "pixel_embed_layer", 512, D, bias=False)

    # outer decoder: OuterDecoder.build
    o_scope = f"{root}/{outer}"
    pos = b.names("position_embed")
    clns = [b.names("conditional_layer_norm") for _ in range(4 * dec.num_outer_layers)]
    ffs = []
    for _ in range(dec.num_outer_layers):
        ffs.append((b.ff_denses(), b.ff_denses()))
    b.names("shift")
    b.var(f"{o_scope}/{pos}/position_embedding_0", "outer_decoder.pos_embed.position_embedding_0", (H, 1, D))
    b.var(f"{o_scope}/{pos}/position_embedding_1", "outer_decoder.pos_embed.position_embedding_1", (W, D))
    for i, (ff_row, ff_col) in enumerate(ffs):
        b.attention(f"{o_scope}/unmask_row_att_{i}", f"outer_decoder.residual_layers[{4 * i}]",
                    D, dec.num_heads, W, 1, Z)
        b._ff(ff_row, f"outer_decoder.residual_layers[{4 * i + 1}]", D, dec.ff_size)
        b.attention(f"{o_scope}/mask_col_att_{i}", f"outer_decoder.residual_layers[{4 * i + 2}]",
                    D, dec.num_heads, H, 0, Z)
        b._ff(ff_col, f"outer_decoder.residual_layers[{4 * i + 3}]", D, dec.ff_size)
    frozen = b.conditional_norms(o_scope, "outer_decoder", clns, D, Z, H, W)
    for i in range(dec.num_outer_layers):
        b.dense(o_scope, f"affine_r_{i}", f"outer_decoder.cmlp_layers[{2 * i}]", Z, 2 * D)
        b.dense(o_scope, f"affine_c_{i}", f"outer_decoder.cmlp_layers[{2 * i + 1}]", Z, 2 * D)
    b.frozen_norms(o_scope, "outer_decoder", frozen, D)

    # inner decoder: InnerDecoder.build
    i_scope = f"{root}/{inner}"
    pos = b.names("position_embed")
    b.names("shift")
    clns = [b.names("conditional_layer_norm") for _ in range(2 * dec.num_inner_layers)]
    ffs = [b.ff_denses() for _ in range(dec.num_inner_layers)]
    b.var(f"{i_scope}/{pos}/position_embedding_0", "inner_decoder.pos_embed.position_embedding_0", (H, 1, D))
    b.var(f"{i_scope}/{pos}/position_embedding_1", "inner_decoder.pos_embed.position_embedding_1", (W, D))
    for i, ff in enumerate(ffs):
        b.attention(f"{i_scope}/mask_row_att_{i}", f"inner_decoder.residual_layers[{2 * i}]",
                    D, dec.num_heads, W, 1, Z + D)
        b._ff(ff, f"inner_decoder.residual_layers[{2 * i + 1}]", D, dec.ff_size)
    frozen = b.conditional_norms(i_scope, "inner_decoder", clns, D, Z, H, W)
    for i in range(dec.num_inner_layers):
        b.dense(i_scope, f"affine_c_{i}", f"inner_decoder.cmlp_layers[{i}]", Z + D, 2 * D)
    b.frozen_norms(i_scope, "inner_decoder", frozen, D)

    b.dense(root, "auto_logits", "final_dense", D, 512)
    b.var(f"{root}/{final_norm}/gamma", "final_norm.gamma", (D,))
    b.var(f"{root}/{final_norm}/beta", "final_norm.beta", (D,))
    return b.out


def _upsampler(cfg: UpsamplerConfig) -> list[OfficialVariable]:
    b = _Builder()
    root = b.names(cfg.kind)
    D, R = cfg.hidden_size, cfg.resolution
    symbols, emb_attr = (8, "bit_embedding") if cfg.kind == "color_upsampler" else (256, "channel_embedding")
    # UpsamplerBase.build: three Dense, the FactorizedAttention, the final Dense; the attention's own layers are
    # numbered later, when the first call builds it
    embed, gray, inp = (b.names("dense") for _ in range(3))
    fa = b.names("factorized_attention")
    final = b.names("dense")
    b.dense(root, embed, emb_attr, 3 * symbols, D, bias=False)
    b.dense(root, gray, "gray_embedding", 256, D, bias=False)
    b.dense(root, inp, "input_dense", 2 * D, D)
    b.factorized_attention(root, fa, "encoder", cfg.encoder, R, R)
    b.dense(root, final, "final_dense", D, 256)
    return b.out


def official_variables(cfg: ModelConfig) -> list[OfficialVariable]:
    """Every model variable of the official model built from ``cfg``, with its TF name and attribute path."""
    if isinstance(cfg, ColorizerConfig):
        return _colorizer(cfg)
    return _upsampler(cfg)


class CheckpointMismatch(ValueError):
    """The tensors do not fit the model the rule describes (missing, unused or wrongly shaped).
    Never loaded partially."""


def map_to_torch(tensors: dict, cfg: ModelConfig, source: str = "checkpoint") -> dict:
    """TF-named tensors (``{"dense_9/bias:0": array, ...}``) -> PyTorch state dict of the model for ``cfg``.

    Fails loudly, listing every missing, unused and wrongly shaped tensor, instead of loading part of the model
    (the official ``restore().expect_partial()`` silently ignores such mismatches).
    """
    check_shapes({n: tuple(t.shape) for n, t in tensors.items()}, cfg, source)
    import torch

    return {v.torch_key: torch.as_tensor(np.asarray(tensors[v.name])).clone() for v in official_variables(cfg)}


def check_shapes(shapes: dict[str, tuple[int, ...]], cfg: ModelConfig, source: str = "checkpoint") -> None:
    """Raise :class:`CheckpointMismatch` unless ``shapes`` has exactly the rule's variables with the rule's shapes."""
    expected = official_variables(cfg)
    by_name = {v.name: v for v in expected}
    missing = [n for n in by_name if n not in shapes]
    unused = [n for n in shapes if n not in by_name]
    wrong = [f"{n}: {tuple(shapes[n])} != {by_name[n].shape}" for n in by_name
             if n in shapes and tuple(shapes[n]) != by_name[n].shape]
    if missing or unused or wrong:
        def show(items: list[str]) -> str:
            return ", ".join(items[:8]) + (f" (+{len(items) - 8} more)" if len(items) > 8 else "") if items else "none"
        raise CheckpointMismatch(
            f"{source} does not match the {getattr(cfg, 'kind', 'colorizer')} config {cfg}: "
            f"{len(missing)} missing [{show(missing)}]; {len(unused)} unused [{show(unused)}]; "
            f"{len(wrong)} wrongly shaped [{show(wrong)}]")


def load_tf_named(model, tensors: dict, source: str = "checkpoint") -> None:
    """Load TF-named tensors into ``model`` (strict both ways)."""
    state = map_to_torch(tensors, model.cfg, source)
    model.load_state_dict(state, strict=True)
