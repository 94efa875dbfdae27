"""Convert Google's released ColTran TensorFlow checkpoints to safetensors, once; load them without TensorFlow.

Reading (:func:`read_official_checkpoint`, the only place TensorFlow is imported) follows the format in the fixtures
README, section 3: the root object has one child per model variable, keyed by the escaped variable name; trainable
variables have an ``ExponentialMovingAverage`` shadow, which is what the official inference code uses; the
non-trainable ones (the conditional LNs' frozen gamma/beta) keep their raw value; optimizer slots and hyper-parameters
are ignored. Every key of the checkpoint is classified, and anything unexpected stops the conversion.

Mapping (:func:`colorbench.methods.coltran.naming.map_to_torch`): the naming rule lists every variable the official
model has for the checkpoint's config; nothing missing, nothing unused, every shape equal — or a
:class:`~colorbench.methods.coltran.naming.CheckpointMismatch` that lists the differences.

Usage (a sketch, not run by the doctests: it needs TensorFlow: ``pip install 'colorbench[convert]'``)::

    from colorbench.methods.coltran.convert import convert_release
    convert_release("models/coltran/release", "models/coltran")   # writes colorizer.safetensors, ... + .json
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from colorbench.extras import install_command
from colorbench.methods.coltran import config as cfgmod
from colorbench.methods.coltran.naming import map_to_torch, official_variables

ATTR_SUFFIX = "/.ATTRIBUTES/VARIABLE_VALUE"
SLOT_MARK = "/.OPTIMIZER_SLOT/optimizer/"
EMA_SUFFIX = "/ExponentialMovingAverage:0"
OPTIMIZER_HYPER = {"iter", "decay", "learning_rate", "momentum", "rho", "beta_1", "beta_2", "epsilon"}
FORMAT_VERSION = 1

TF_MISSING = ("reading the released ColTran TF checkpoints needs TensorFlow (once): {install} from the colorbench "
              "checkout — or put already converted {{colorizer,color_upsampler,spatial_upsampler}}.safetensors + "
              ".json into $COLORBENCH_MODELS/coltran/")


class ConversionError(ValueError):
    """The checkpoint folder is not what the official training loop writes."""


@dataclass
class OfficialCheckpoint:
    prefix: str
    effective: dict[str, np.ndarray]  # TF variable name -> inference value (EMA for trainable)
    trainable: set[str]
    optimizer_iterations: int | None
    ignored: dict[str, int] = field(default_factory=dict)  # kind -> count of keys deliberately not used


def unescape_object_name(escaped: str) -> str:
    """Checkpoint key component -> TF name: ``..`` -> ``.``, ``.S`` -> ``/`` (inverse of TF's escaping)."""
    def repl(m: re.Match) -> str:
        return "." if m.group(0) == ".." else "/"

    return re.sub(r"\.\.|\.S", repl, escaped)


def import_tensorflow():
    """Import TensorFlow safely next to PyTorch: the one place the project imports it.

    Importing torchvision *after* TensorFlow segfaults the process (seen with tensorflow-cpu 2.21 and torchvision
    0.29: their bundled native libraries clash), which would kill a notebook or a run that converts ColTran and then
    uses a torchvision-based method or LPIPS. Importing torchvision first avoids it.
    """
    try:
        import torchvision  # noqa: F401  (order matters, see above)
    except ImportError:
        pass
    try:
        import tensorflow as tf
    except ImportError:
        raise ImportError(TF_MISSING.format(install=install_command("convert", python=sys.executable))) from None
    return tf


def find_checkpoint_prefix(ckpt_dir: Path) -> str:
    """The newest ``model-N`` in a folder: the ``checkpoint`` file's choice when it resolves, else the highest N."""
    tf = import_tensorflow()

    latest = tf.train.latest_checkpoint(str(ckpt_dir))
    if latest and Path(latest + ".index").exists():
        return latest
    indices = sorted(ckpt_dir.glob("*.index"),
                     key=lambda p: [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", p.stem)])
    if not indices:
        raise ConversionError(f"no TensorFlow checkpoint (*.index) in {ckpt_dir}")
    return str(indices[-1].with_suffix(""))


@dataclass
class KeyLayout:
    """A checkpoint's keys sorted by role (TF variable name -> checkpoint key)."""

    raw: dict[str, str]
    ema: dict[str, str]
    slots: dict[str, str]
    hyper: set[str]
    ignored: dict[str, int]


def classify_keys(keys, source: str = "checkpoint") -> KeyLayout:
    """Sort every checkpoint key into model variable / EMA shadow / optimizer slot / bookkeeping, or fail.

    Pure (no TensorFlow), so the rule can be checked on the full-size manifests' key lists too.
    """
    raw: dict[str, str] = {}
    ema: dict[str, str] = {}
    slots: dict[str, str] = {}
    hyper: set[str] = set()
    bookkeeping = 0
    unexpected = []
    for key in keys:
        if key == "_CHECKPOINTABLE_OBJECT_GRAPH" or key == "save_counter" + ATTR_SUFFIX:
            bookkeeping += 1
        elif (key.startswith("optimizer/") and key.endswith(ATTR_SUFFIX)
              and key[len("optimizer/"):-len(ATTR_SUFFIX)] in OPTIMIZER_HYPER):
            hyper.add(key)
        elif SLOT_MARK in key:
            owner, slot = key.split(SLOT_MARK, 1)
            if slot != "rms" + ATTR_SUFFIX:  # the official RMSprop (centered=False, momentum 0) has only 'rms'
                unexpected.append(key)
            slots[unescape_object_name(owner)] = key
        elif key.endswith(ATTR_SUFFIX):
            name = unescape_object_name(key[: -len(ATTR_SUFFIX)])
            if name.endswith(EMA_SUFFIX):
                ema[name[: -len(EMA_SUFFIX)] + ":0"] = key
            elif name.endswith(":0"):
                raw[name] = key
            else:
                unexpected.append(key)
        else:
            unexpected.append(key)
    orphans = sorted(set(ema) - set(raw)) + sorted(set(slots) - set(raw))
    slot_without_ema = sorted(set(slots) - set(ema))
    if unexpected or orphans or slot_without_ema:
        raise ConversionError(
            f"{source}: not the official ColTran checkpoint layout — unexpected keys {unexpected[:5]}, "
            f"EMA/slots without a variable {orphans[:5]}, optimizer slots of non-EMA variables {slot_without_ema[:5]}")
    ignored = {"bookkeeping": bookkeeping, "optimizer_hyper": len(hyper), "raw_values_of_trainable": len(ema),
               "optimizer_slots": len(slots)}
    return KeyLayout(raw, ema, slots, hyper, ignored)


def read_official_checkpoint(ckpt_dir: str | Path) -> OfficialCheckpoint:
    """Read an official ColTran checkpoint folder into its effective inference weights (TF names)."""
    tf = import_tensorflow()
    ckpt_dir = Path(ckpt_dir)
    prefix = find_checkpoint_prefix(ckpt_dir)
    reader = tf.train.load_checkpoint(prefix)
    layout = classify_keys(reader.get_variable_to_shape_map(), source=prefix)
    iterations = None
    if "optimizer/iter" + ATTR_SUFFIX in layout.hyper:
        iterations = int(reader.get_tensor("optimizer/iter" + ATTR_SUFFIX))
    raw, ema = layout.raw, layout.ema
    ignored = dict(layout.ignored)
    effective = {}
    for name, key in raw.items():
        source = ema.get(name, key)
        effective[name] = np.asarray(reader.get_tensor(source))
    return OfficialCheckpoint(prefix, effective, set(ema), iterations, ignored)


def checkpoint_to_state_dict(ckpt_dir: str | Path, kind: str):
    """(config, torch state dict, checkpoint info) for one official model folder; strict both ways."""
    ckpt_dir = Path(ckpt_dir)
    ckpt = read_official_checkpoint(ckpt_dir)
    try:
        cfg = cfgmod.read_checkpoint_config(ckpt_dir, kind)
    except FileNotFoundError:
        cfg = cfgmod.full_config(kind)  # the release may ship without config.yaml: the shapes below verify it
    rule_trainable = {v.name for v in official_variables(cfg) if v.trainable}
    if rule_trainable != ckpt.trainable:
        diff = sorted(rule_trainable ^ ckpt.trainable)
        raise ConversionError(f"{ckpt.prefix}: EMA shadows do not cover exactly the trainable variables: {diff[:8]}")
    state = map_to_torch(ckpt.effective, cfg, source=ckpt.prefix)
    return cfg, state, ckpt


def find_model_dir(release: Path, kind: str) -> Path:
    """The folder of ``kind`` inside an unpacked release (``coltran/colorizer`` or ``colorizer``, any depth <= 3)."""
    for depth_glob in (kind, f"*/{kind}", f"*/*/{kind}"):
        for candidate in sorted(release.glob(depth_glob)):
            if candidate.is_dir() and any(candidate.glob("*.index")):
                return candidate
    raise FileNotFoundError(f"no {kind}/ checkpoint folder (with model-N.index) under {release}")


def save_converted(out_dir: str | Path, kind: str, cfg, state: dict, provenance: dict) -> Path:
    """Write ``{kind}.safetensors`` and ``{kind}.json`` (config + provenance), atomically."""
    from safetensors.torch import save_file

    from colorbench.atomic import atomic_path, write_json

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{kind}.safetensors"
    with atomic_path(target) as tmp:
        save_file({k: v.contiguous() for k, v in state.items()}, str(tmp), metadata={"format": "colorbench-coltran"})
    write_json(out_dir / f"{kind}.json", {"format_version": FORMAT_VERSION, "kind": kind,
                                         "config": cfgmod.config_to_dict(cfg), "provenance": provenance})
    return target


def convert_model_dir(ckpt_dir: str | Path, kind: str, out_dir: str | Path) -> Path:
    cfg, state, ckpt = checkpoint_to_state_dict(ckpt_dir, kind)
    provenance = {"checkpoint": str(ckpt.prefix), "optimizer_iterations": ckpt.optimizer_iterations,
                  "weights": "EMA shadows (trainable), raw (non-trainable)", "num_tensors": len(state),
                  "ignored_keys": ckpt.ignored}
    return save_converted(out_dir, kind, cfg, state, provenance)


def convert_release(release_dir: str | Path, out_dir: str | Path, kinds=cfgmod.MODEL_KINDS) -> list[Path]:
    """Convert all three models of an unpacked release folder into ``out_dir``."""
    release_dir = Path(release_dir)
    return [convert_model_dir(find_model_dir(release_dir, kind), kind, out_dir) for kind in kinds]


def converted_paths(out_dir: str | Path, kind: str) -> tuple[Path, Path]:
    out_dir = Path(out_dir)
    return out_dir / f"{kind}.safetensors", out_dir / f"{kind}.json"


def load_converted(out_dir: str | Path, kind: str, device: str = "cpu"):
    """Build the model from ``{kind}.json`` and load ``{kind}.safetensors`` (strict). No TensorFlow."""
    from safetensors.torch import load_file

    from colorbench.methods.coltran.models import build_model

    weights, meta_path = converted_paths(out_dir, kind)
    meta = json.loads(meta_path.read_text())
    if meta.get("format_version") != FORMAT_VERSION or meta.get("kind") != kind:
        raise ValueError(f"{meta_path} is not a colorbench ColTran {kind} conversion "
                         f"(format {FORMAT_VERSION}); reconvert")
    cfg = cfgmod.config_from_saved(meta["config"])
    model = build_model(cfg)
    model.load_state_dict(load_file(str(weights), device="cpu"), strict=True)
    return model.to(device)
