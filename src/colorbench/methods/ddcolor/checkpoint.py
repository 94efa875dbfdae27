"""DDColor's released weights: where they come from, and loading them strictly.

Two kinds of source, one loader:

* the Hugging Face repos ``piddnad/<variant>`` (the authors' ``PyTorchModelHubMixin`` upload: ``config.json`` and
  ``model.safetensors``), declared in :mod:`colorbench.weights.registry` as ``ddcolor-<variant>`` and fetched with
  huggingface_hub into its cache (``$HF_HOME``);
* a local path given as ``--option ddcolor.checkpoint=PATH``: the authors' ``.pth`` files (``{'params': state_dict}``,
  from ``huggingface.co/piddnad/DDColor-models``; a bare state dict is accepted too, as the authors' loader does),
  a ``.safetensors`` file, or a folder holding one (a saved hub repo).

The encoder size (ConvNeXt-T or -L) is read from the tensors' shapes, and every key must match the network's
exactly: the authors load with ``strict=False``, which turns a checkpoint of another model into a silently random
network. Every way this can fail is a :class:`DDColorWeightsError` (a ``WeightsUnavailable``: the runner reports the
method SKIPPED with the message, and the other methods run) naming the file and the fix.
"""

from __future__ import annotations

from pathlib import Path

import torch

from colorbench import weights
from colorbench.methods.ddcolor.model import ENCODERS, DDColorNet, encoder_of_state_dict
from colorbench.weights import UnreadableCheckpoint, WeightSpec, WeightsUnavailable

VARIANTS = ("paper_tiny", "paper", "modelscope", "artistic")
#: the encoder each released variant uses (MODEL_ZOO.md)
VARIANT_ENCODER = {"paper_tiny": "convnext-t", "paper": "convnext-l", "modelscope": "convnext-l",
                   "artistic": "convnext-l"}
#: what a hub snapshot folder holds the weights in, in the order they are looked for
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
RELEASE_FILES = "https://huggingface.co/piddnad/DDColor-models"


def weights_name(variant: str) -> str:
    """The weights-registry name of a variant (``modelscope`` -> ``ddcolor-modelscope``)."""
    if variant not in VARIANTS:
        raise ValueError(f"ddcolor: variant must be one of {', '.join(VARIANTS)}, got {variant!r}")
    return f"ddcolor-{variant.replace('_', '-')}"


class DDColorWeightsError(WeightsUnavailable):
    """DDColor's weights could not be had or are not a DDColor checkpoint; the message names the file and the fix."""

    def __init__(self, path: str | Path, message: str):  # noqa: D107 — own message, not WeightsUnavailable's
        RuntimeError.__init__(self, message)
        self.spec = WeightSpec(name=f"local:{path}", relpath=str(path))
        self.reason = message


def _option_fix(variant: str | None = None) -> str:
    release = f"ddcolor_{variant}.pth" if variant else "ddcolor_<variant>.pth"
    return (f"pass the authors' release file with --option ddcolor.checkpoint=PATH (e.g. {release} from "
            f"{RELEASE_FILES})")


# ------------------------------------------------------------------------------------------------- finding the file
def hub_weights_file(variant: str, *, download: bool = True) -> Path:
    """The weights file of ``variant``'s Hugging Face snapshot (fetched unless present or offline)."""
    name = weights_name(variant)
    spec = weights.get_spec(name)
    try:
        folder = weights.ensure(spec, download=download)
    except WeightsUnavailable as exc:
        partial = _partial_snapshot(spec)
        if partial is not None:
            raise DDColorWeightsError(partial, f"ddcolor: the Hugging Face snapshot {partial} of {spec.hf_repo} has "
                                               f"no {' or '.join(WEIGHT_FILES)} (an interrupted download?): delete "
                                               f"the folder and fetch again (`colorbench weights fetch {name}`), or "
                                               f"{_option_fix(variant)}") from None
        raise DDColorWeightsError(spec.hf_repo, f"ddcolor: weights {name!r} are not available: {exc.reason}. "
                                                f"Fetch them where there is network access (`colorbench weights fetch "
                                                f"{name}`, or `huggingface-cli download {spec.hf_repo}`) and copy the "
                                                f"Hugging Face cache, or point HF_HOME at a cache that has them; or "
                                                f"{_option_fix(variant)}, or a saved copy of the repo's folder."
                                  ) from None
    return weights_file_in(folder, variant)


def _partial_snapshot(spec: WeightSpec) -> Path | None:
    """A cached snapshot of the repo that lacks the declared files (no network)."""
    try:
        from huggingface_hub import snapshot_download

        folder = Path(snapshot_download(spec.hf_repo, revision=spec.hf_revision, local_files_only=True))
    except Exception:  # noqa: BLE001 — nothing cached (or no huggingface_hub): no partial snapshot either
        return None
    return folder if folder.is_dir() else None


def weights_file_in(folder: Path, variant: str | None = None) -> Path:
    """``model.safetensors`` (or ``pytorch_model.bin``) in a saved hub repo folder."""
    for name in WEIGHT_FILES:
        if (folder / name).is_file():
            return folder / name
    present = sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []
    raise DDColorWeightsError(folder, f"ddcolor: {folder} holds no weights ({' or '.join(WEIGHT_FILES)}; it has "
                                      f"{', '.join(present) or 'nothing'}): fetch the repo again, or "
                                      f"{_option_fix(variant)}")


def local_weights_file(path: str | Path) -> Path:
    """The file behind ``--option ddcolor.checkpoint=PATH`` (a folder: its weights file)."""
    path = Path(path).expanduser()
    if path.is_dir():
        return weights_file_in(path)
    if not path.is_file():
        raise DDColorWeightsError(path, f"ddcolor: checkpoint {path} does not exist; {_option_fix()} — an existing "
                                        "file or saved hub folder — or leave checkpoint unset to use the Hugging Face "
                                        "repo of --option ddcolor.variant")
    return path


# ------------------------------------------------------------------------------------------------- reading it
def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """The tensors of a checkpoint file: ``{'params': state_dict}`` (the authors' ``.pth``) or a bare state dict."""
    try:
        content = weights.load_weights_file(path)
    except UnreadableCheckpoint as exc:
        raise DDColorWeightsError(path, f"ddcolor: {exc}") from None
    if isinstance(content, dict) and isinstance(content.get("params"), dict):
        content = content["params"]
    if not isinstance(content, dict) or not all(isinstance(v, torch.Tensor) for v in content.values()):
        raise DDColorWeightsError(path, f"ddcolor: {path} is not a state dict (expected {{'params': state_dict}} or "
                                        f"a dict of tensors, found {type(content).__name__}); {_option_fix()}")
    return content


def build_from_state_dict(state: dict[str, torch.Tensor], source: str | Path, *,
                          expect_encoder: str | None = None) -> DDColorNet:
    """A DDColor network sized by ``state``'s shapes, with ``state`` loaded strictly (every key, every shape)."""
    encoder = encoder_of_state_dict(state)
    if encoder is None:
        stem = state.get("encoder.arch.downsample_layers.0.0.weight")
        found = f"stem {tuple(stem.shape)}" if stem is not None else "no encoder.arch.downsample_layers.0.0.weight"
        raise DDColorWeightsError(source, f"ddcolor: {source} is not a DDColor checkpoint with a known encoder "
                                          f"({found}; DDColor-T has a 96-channel stem and 9 blocks in stage 3, "
                                          f"DDColor-L 192 and 27); {_option_fix()}")
    if expect_encoder is not None and encoder != expect_encoder:
        raise DDColorWeightsError(source, f"ddcolor: {source} holds a {encoder} model but its variant needs "
                                          f"{expect_encoder}; fetch the variant's own weights again")
    net = DDColorNet(ENCODERS[encoder])
    load_strictly(net, state, source)
    return net.eval()


def load_strictly(net: torch.nn.Module, state: dict[str, torch.Tensor], source: str | Path) -> None:
    """``net.load_state_dict(state, strict=True)``, with an error that names the keys and the fix instead of
    torch's."""
    expected = net.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    wrong = [f"{k} {tuple(state[k].shape)} (expected {tuple(v.shape)})" for k, v in expected.items()
             if k in state and tuple(state[k].shape) != tuple(v.shape)]
    if missing or unexpected or wrong:
        parts = [f"{len(items)} {what}: {', '.join(items[:4])}{' ...' if len(items) > 4 else ''}"
                 for what, items in (("missing keys", missing), ("unexpected keys", unexpected),
                                     ("wrong shapes", wrong)) if items]
        raise DDColorWeightsError(source, f"ddcolor: {source} does not fit DDColor ({net.encoder_size.name}) — "
                                          f"{'; '.join(parts)}. It is another model or a modified DDColor; "
                                          f"{_option_fix()}, or a DDColor-T/L file from it")
    net.load_state_dict(state, strict=True)


def load_network(*, variant: str, checkpoint: str | Path | None, download: bool = True) -> tuple[DDColorNet, Path]:
    """The network with its released weights: ``checkpoint`` when given, else ``variant``'s hub repo."""
    if checkpoint is not None:
        path = local_weights_file(checkpoint)
        return build_from_state_dict(read_state_dict(path), path), path
    path = hub_weights_file(variant, download=download)
    return build_from_state_dict(read_state_dict(path), path, expect_encoder=VARIANT_ENCODER[variant]), path
