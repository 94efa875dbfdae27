"""The methods table of the notebooks: the rows ``colorbench methods`` prints
(:func:`colorbench.methods.listing.method_rows`), as a DataFrame."""

from __future__ import annotations


def methods_table():
    """Every registered method: kind, the weights it needs, whether it can run here and why not (the same answer
    as ``colorbench methods``: :func:`colorbench.methods.readiness`), description."""
    import pandas as pd

    from colorbench.methods.listing import method_rows

    rows = [{"method": row.name, "kind": row.kind,
             "weights": ", ".join(row.weights) or ("none" if row.importable else row.why_not),
             "ready": row.why_not is None, "why not": row.why_not or "", "description": row.description}
            for row in method_rows()]
    return pd.DataFrame(rows, columns=["method", "kind", "weights", "ready", "why not", "description"])
