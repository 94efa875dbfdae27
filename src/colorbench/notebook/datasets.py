"""Datasets in the notebooks: open one (downloading the Kaggle sports data when asked), count it, and word the
package's messages in the notebook's terms (the parameters cell, not command-line flags)."""

from __future__ import annotations

from colorbench.notebook.render import banner
from colorbench.notebook.render import display_or_print as _show


def ensure_dataset(dataset: str = "samples"):
    """Open a dataset; ``"sports"`` is downloaded first when absent (Kaggle credentials needed; a verified copy is
    never downloaded again). ``"auto"``: sports when it is here or credentials can fetch it, else the bundled samples
    with a visible note saying how to get the sports data. Errors name the notebook's ``DATASET`` setting. Returns
    the DatasetIndex."""
    from colorbench.data.kaggle import KaggleDownloadError, download
    from colorbench.data.specs import choose_auto_dataset, open_dataset

    if dataset == "auto":
        dataset, why = choose_auto_dataset()
        _show(banner(f'DATASET = "auto" chose "{dataset}": {why}', kind="warning" if dataset == "samples" else "info"))
    if dataset == "sports":
        try:
            return download()
        except KaggleDownloadError as exc:
            raise KaggleDownloadError(notebook_wording(str(exc))) from None
    return open_dataset(dataset)


def notebook_wording(message: str) -> str:
    """A CLI error message with its fix in the notebook's terms (the parameters cell, not command-line flags)."""
    return (message.replace("(--dataset samples)", '(DATASET = "samples" or "auto" in the parameters cell)')
            .replace("(--dataset PATH)", '(DATASET = "/path/to/folder")').replace("--dataset", "DATASET ="))


def dataset_table(dataset: str = "samples", *, split: str | None = None):
    """Images and classes per split of a dataset, plus how many listed files are missing (a partial download)."""
    import pandas as pd

    from colorbench.data.specs import open_dataset

    index = open_dataset(dataset)
    missing = index.missing_by_split()
    splits = sorted({s.split or "-" for s in index.samples} | set(missing))
    if split is not None:
        splits = [s for s in splits if s == split]
    rows = []
    for name in splits:
        chosen = [s for s in index.samples if (s.split or "-") == name]
        rows.append({"split": name, "images": len(chosen), "classes": len({s.label for s in chosen}),
                     "missing files": missing.get(name, 0)})
    return pd.DataFrame(rows, columns=["split", "images", "classes", "missing files"])
