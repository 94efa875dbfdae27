"""``colorbench data download | info``: thin over :mod:`colorbench.data`."""

from __future__ import annotations

import argparse
from pathlib import Path

from colorbench.cli.common import ColorbenchError, add_option, command, group
from colorbench.config import RunConfig


def register(subparsers: argparse._SubParsersAction) -> None:
    sub = group(subparsers, "data", help="download and inspect datasets")
    dl = command(sub, "download", _data_download,
                 help="download Kaggle's sports dataset into data/sports (needs Kaggle credentials)",
                 description="Fetch gpiosenka/sports-classification with the official kaggle client, unzip and verify "
                             "it (every csv row has its file, every image decodes). A complete download is not "
                             "repeated.")
    dl.add_argument("--root", type=Path, help="target folder (default: $COLORBENCH_DATA/sports or data/sports)")
    dl.add_argument("--force", action="store_true", help="download again even if a verified copy exists")
    info = command(sub, "info", _data_info, help="counts per split and class, and problems found")
    add_option(info, "--dataset", RunConfig, help="samples | sports | PATH")  # the dataset `run` would use
    info.add_argument("--split", default=None, help="only this split")
    info.add_argument("--per-class", action="store_true", help="print every class's count")
    info.add_argument("--no-check", action="store_true",
                      help="do not decode every image (by default the unreadable ones, which `run` would skip, "
                           "are listed)")


def _data_download(args) -> int:
    from colorbench.data.index import describe_classes
    from colorbench.data.kaggle import KaggleDownloadError, download
    from colorbench.messages import plural

    try:
        index = download(args.root, force=args.force)
    except KaggleDownloadError as exc:
        raise ColorbenchError(str(exc)) from None
    print(f"sports dataset ready in {index.root}: {plural(len(index), 'image')}, "
          f"{describe_classes(len(index.labels()))}")
    return 0


def _data_info(args) -> int:
    from collections import Counter

    from colorbench.data.index import describe_classes
    from colorbench.data.specs import open_dataset
    from colorbench.messages import plural

    index = open_dataset(args.dataset)
    if args.split:
        index = index.subset(split=args.split)
    print(f"dataset {index.name}: {plural(len(index), 'image')} in {index.root}")
    per_split = Counter(s.split for s in index.samples)
    for split, n in sorted(per_split.items(), key=lambda kv: kv[0] or ""):
        classes = len({s.label for s in index.samples if s.split == split and s.label is not None})
        where = f"split {split:6s}" if split else "no splits   "  # the same words as the report's protocol
        print(f"  {where} {plural(n, 'image'):>13}, {describe_classes(classes)}")  # counts right-aligned
    if args.per_class:
        for (split, label), n in sorted(index.counts().items(), key=lambda kv: (kv[0][0] or "", kv[0][1] or "")):
            print(f"  {split or '-':6s} {label or '-':30s} {n}")
    if index.problems:
        missing = index.missing_by_split()
        print(f"problems: {len(index.problems)}")
        for split, n in sorted(missing.items()):
            print(f"  {plural(n, 'file')} listed in the csv {'is' if n == 1 else 'are'} missing under {split}/")
        for p in [p for p in index.problems if not p.reason.endswith("missing")][:20]:
            print(f"  {p.path}: {p.reason}")
    if not args.no_check:
        unreadable = index.unreadable(progress=len(index) > 200)
        if unreadable:
            print(f"unreadable images: {len(unreadable)} (`colorbench run` skips them and lists them in skipped.csv)")
            for path, reason in unreadable[:20]:
                print(f"  {path}: {reason}")
            if len(unreadable) > 20:
                print(f"  … and {len(unreadable) - 20} more")
    return 0
