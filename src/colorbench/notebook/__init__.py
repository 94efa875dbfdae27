"""What the notebooks call: :func:`setup` (Colab, Google Drive, working folder, GPU check, smoke banner) and display
helpers (image grids from a run folder, styled tables, links, the report's own tables). Notebooks hold no logic;
everything they show comes from here or from the package's own functions, so a test can reach it, and nothing here
computes what the report computes another way: grids use the report's row model, the run's cost is the report's
cost table, the run folder is found by the package's one resolver.

* :mod:`~colorbench.notebook.environment` — :func:`setup` and what it does (Drive, caches, GPU, smoke/real guard);
* :mod:`~colorbench.notebook.runs` — a run folder: its inputs, methods' status and cost, scoring status;
* :mod:`~colorbench.notebook.grids` — image grids (a run's, arrays in memory, a dataset's subset);
* :mod:`~colorbench.notebook.tables` — styled tables; :mod:`~colorbench.notebook.methods` — the methods table;
* :mod:`~colorbench.notebook.datasets` — opening (downloading) and counting datasets, messages in notebook terms;
* :mod:`~colorbench.notebook.report_views` — links to the report and its pieces;
* :mod:`~colorbench.notebook.render` — :class:`Html`, banners, the smoke stamp.

What ``setup`` looks up at call time (``in_colab``, ``mount_drive``, ``DRIVE_MOUNTPOINT``) is not re-exported here:
set or patch it on :mod:`colorbench.notebook.environment`, where ``setup`` reads it.

Usage (a sketch, not run by the doctests: it changes the working folder and caches)::

    import colorbench.notebook as nb
    env = nb.setup(run="demo", smoke=True)      # prints where weights/data/results go, warns on a CPU runtime
    nb.image_grid("demo", limit=4)              # gray input | truth | one column per method
"""

from colorbench.notebook.datasets import dataset_table, ensure_dataset, notebook_wording
from colorbench.notebook.environment import (
    CPU_WARNING,
    DRIVE_FOLDER,
    DRIVE_LAYOUT,
    UNATTENDED_ENV,
    NotebookEnv,
    check_gpu,
    find_checkout,
    point_caches_at,
    setup,
)
from colorbench.notebook.grids import array_grid, dataset_grid, grid_html, grid_rows, image_grid
from colorbench.notebook.methods import methods_table
from colorbench.notebook.render import SMOKE_STAMP, Html, banner, smoke_banner, stamp
from colorbench.notebook.report_views import (
    embed_report,
    figures_html,
    paired_statistics,
    relative_link,
    report_link,
    report_table,
    verdict,
)
from colorbench.notebook.runs import (
    RunInputs,
    is_smoke,
    metric_status,
    run_folder,
    run_inputs,
    run_table,
    show_run,
    stage_table,
    timings_table,
)
from colorbench.notebook.tables import styled

__all__ = [
    "CPU_WARNING", "DRIVE_FOLDER", "DRIVE_LAYOUT", "SMOKE_STAMP", "UNATTENDED_ENV", "Html", "NotebookEnv",
    "RunInputs", "array_grid", "banner", "check_gpu", "dataset_grid", "dataset_table", "embed_report",
    "ensure_dataset", "figures_html", "find_checkout", "grid_html", "grid_rows", "image_grid", "is_smoke",
    "methods_table", "metric_status", "notebook_wording", "paired_statistics", "point_caches_at", "relative_link",
    "report_link", "report_table", "run_folder", "run_inputs", "run_table", "setup", "show_run", "smoke_banner",
    "stage_table", "stamp", "styled", "timings_table", "verdict",
]
