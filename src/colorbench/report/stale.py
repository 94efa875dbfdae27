"""What a report says when its run holds outputs the scores leave out (a run grown after ``colorbench score``).

Its own module: the report's builder (the terminal warning) and its HTML (the banner) both say it, and the HTML
module must not import the builder, which imports it.
"""

from __future__ import annotations

from colorbench.messages import plural
from colorbench.runfolder import RunFolder


def unscored_text(run: RunFolder, unscored: dict[str, int]) -> str:
    """What the terminal, the notebook and the report say when the scores leave outputs out ("" when they do not):
    a run grown after ``colorbench score`` otherwise gave a report of the old images that looked complete."""
    if not unscored:
        return ""
    counts = ", ".join(f"{m}: {n}" for m, n in unscored.items())
    return (f"{plural(sum(unscored.values()), 'output')} of run {run.path.name} not scored yet ({counts}; written "
            f"after {run.metrics_csv.name} or missing from it): this report leaves them out. Run "
            f"`colorbench score {run.command_name()}` to bring the scores up to date, then report again "
            f"(notebooks: run 04_evaluate, then 05_report).")
