"""``colorbench coltran …``: convert Google's released ColTran checkpoints once, and try the three stages."""

from __future__ import annotations

import argparse
from pathlib import Path

from colorbench.cli.common import ColorbenchError, command, group


def register(subparsers: argparse._SubParsersAction) -> None:
    sub = group(subparsers, "coltran", help="ColTran: convert the released TF checkpoints, run the stages")
    conv = command(
        sub, "convert", _convert, needs=("convert", ("tensorflow",)),  # said before the release is downloaded
        help="convert the released TF checkpoints to safetensors (needs TensorFlow once)",
        description="Read colorizer/, color_upsampler/ and spatial_upsampler/ of the unpacked release with "
                    "tf.train.load_checkpoint, take the EMA weights the official inference uses, map every variable "
                    "by the official naming rule (failing on anything missing, unused or misshaped) and write "
                    "{colorizer,color_upsampler,spatial_upsampler}.safetensors + .json. Afterwards no TensorFlow is "
                    "needed. Without --release the registry's coltran-release is used (downloaded if missing).",
    )
    conv.add_argument("--release", type=Path, help="unpacked release folder (default: "
                                                   "$COLORBENCH_MODELS/coltran/release)")
    conv.add_argument("--out", type=Path, help="output folder (default: $COLORBENCH_MODELS/coltran)")
    info = command(sub, "info", _info, help="where the converted models are and their configs")
    info.add_argument("--dir", type=Path, help="converted folder (default: $COLORBENCH_MODELS/coltran)")


def _convert(args) -> int:
    from colorbench import weights
    from colorbench.methods.coltran.convert import ConversionError, convert_release
    from colorbench.methods.coltran.method import converted_dir
    from colorbench.methods.coltran.naming import CheckpointMismatch

    release = args.release or weights.ensure("coltran-release")
    out = args.out or converted_dir()
    if not Path(release).is_dir():
        raise ColorbenchError(f"{release} is not a folder (expected the unpacked coltran.zip)")
    try:
        written = convert_release(release, out)
    except ImportError as exc:
        raise ColorbenchError(str(exc)) from None
    except (ConversionError, CheckpointMismatch) as exc:
        raise ColorbenchError(f"conversion refused: {exc}") from None
    for path in written:
        print(f"wrote {path} (+ {path.with_suffix('.json').name})")
    return 0


def _info(args) -> int:
    import json

    from colorbench.methods.coltran.convert import converted_paths
    from colorbench.methods.coltran.method import KINDS, convert_command, converted_dir

    folder = args.dir or converted_dir()
    for kind in KINDS:
        weights_path, meta_path = converted_paths(folder, kind)
        if not weights_path.is_file():
            print(f"{kind}: missing ({weights_path}); run `{convert_command(folder)}`")
            continue
        meta = json.loads(meta_path.read_text())
        print(f"{kind}: {weights_path} ({weights_path.stat().st_size / 1e6:.1f} MB), from "
              f"{meta['provenance']['checkpoint']}")
    return 0
