"""What a dataset name means: ``"samples"``, ``"sports"``, ``"auto"`` or a path, opened as a :class:`DatasetIndex`.

Its own module because ``"auto"`` asks the Kaggle side (are credentials here?) while the Kaggle side builds on the
indexes: keeping the choice here lets :mod:`.index` and :mod:`.kaggle` import in one direction only.

Example::

    >>> index = open_dataset("samples")                      # or "sports", "auto", or a path
    >>> subset = index.subset(split="test", n_per_class=2, seed=0)
    >>> len(subset.samples)                                  # the 8 bundled photos
    8
"""

from __future__ import annotations

import os
from pathlib import Path

from colorbench.data import kaggle
from colorbench.data.index import KAGGLE_CSV, DatasetIndex, index_folder, index_kaggle, index_samples, sports_dir


def choose_auto_dataset() -> tuple[str, str]:
    """What ``dataset="auto"`` means here: ``("sports", why)`` when the sports data is already in place or Kaggle
    credentials are there to download it, else ``("samples", note)`` with a note saying how to get the sports data."""
    root = sports_dir()
    if (root / KAGGLE_CSV).is_file():
        return "sports", f"the sports dataset is already in {root}"
    if kaggle.credentials_available():
        return "sports", "Kaggle credentials found: the sports dataset is downloaded once"
    return "samples", ("No Kaggle credentials and no sports data here, so this run uses the bundled samples (a few "
                       "images, for trying things out). For the real benchmark, add Kaggle credentials (docs/data.md, "
                       "'Kaggle credentials': in Colab the key icon, secrets KAGGLE_USERNAME and KAGGLE_KEY) and run "
                       f"again, or put the dataset in {root}.")


def open_dataset(spec: str | os.PathLike) -> DatasetIndex:
    """``"samples"`` (bundled), ``"sports"`` (the Kaggle download in ``data/sports``), ``"auto"`` (sports when it is
    there or credentials can fetch it, else samples), or a path (Kaggle layout if it has ``sports.csv``, else a
    folder of images)."""
    if str(spec) == "auto":
        spec = choose_auto_dataset()[0]
    if str(spec) == "samples":
        return index_samples()
    if str(spec) == "sports":
        root = sports_dir()
        if not (root / KAGGLE_CSV).is_file():
            raise FileNotFoundError(f"the sports dataset is not in {root}: run `colorbench data download` first "
                                    f"(or set COLORBENCH_DATA to the folder that holds sports/)")
        return index_kaggle(root)
    path = Path(spec).expanduser()
    if (path / KAGGLE_CSV).is_file():
        return index_kaggle(path, name=path.name)
    if not path.exists():
        raise FileNotFoundError(f"dataset {str(spec)!r} not found: use 'samples', 'sports' or a folder of images")
    return index_folder(path)
