"""The notebooks show what the report computes: one grid row model drawn by both renderers (the report's matplotlib
figure, the notebook's HTML table), the run's cost from the report's aggregation, the run folder from the one
resolver, the smoke/real guard from the runner."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import PROJECT_ROOT

import colorbench.notebook as nb
from colorbench import atomic
from colorbench.config import RunConfig
from colorbench.notebook import runs as nb_runs
from colorbench.report import grids
from colorbench.report.aggregate import cost_table
from colorbench.run import run
from colorbench.runfolder import TIMING_COLUMNS, RunFolder, read_csv, resolve_run


def _gray_run(name: str, *, smoke: bool = False, limit: int = 3) -> RunFolder:
    cfg = RunConfig(run=name, dataset="samples", limit=limit, methods=["gray"], device="cpu", smoke=smoke)
    return RunFolder(run(cfg, progress=False).path)


def test_the_report_figure_and_the_notebook_table_draw_the_same_cells():
    folder = _gray_run("shared-grid")
    ids = [s["id"] for s in folder.read_samples()]
    folder.output_path("gray", ids[1]).unlink()  # as if the method failed on that image
    captions = {(ids[0], "gray"): "lpips 0.123"}
    rows = grids.grid_rows(folder, ids[::-1], ["gray"], captions=captions)
    assert [r.sample_id for r in rows] == ids[::-1]  # the caller's order (best first, worst first ...)
    assert [c.column for c in rows[0].cells] == ["input (gray)", "truth", "gray"]
    assert [c.present for r in rows for c in r.cells].count(False) == 1

    figure = grids.image_grid(folder.path, ids[::-1], ["gray"], captions=captions)
    (ax,) = figure.axes  # one mosaic, its labels as text on it
    texts = ax.texts
    assert [t.get_text() for t in texts[:3]] == ["input (gray)", "truth", "gray"]
    at = {t.get_text(): t.get_position() for t in texts}
    assert [t.get_text() for t in texts].count("missing") == 1 and "lpips 0.123" in at
    # the missing cell is ids[1]'s gray output: in the gray column, on ids[1]'s row, grey in the mosaic
    assert at["missing"] == (at["gray"][0], at[ids[1]][1])
    mosaic = ax.images[0].get_array()
    assert tuple(mosaic[int(at["missing"][1]), int(at["missing"][0])]) == grids.MISSING_FILL
    # the caption sits under ids[0]'s gray output: the last row, below its middle, in the gray column
    assert at["lpips 0.123"][0] == at["gray"][0] and at["lpips 0.123"][1] > at[ids[0]][1] > at[ids[1]][1]
    # and the photos are there: ids[0]'s truth file, fitted to a cell, is pasted whole in its truth cell (centred,
    # so its corner is within a pixel of the cell's centre less half its size)
    thumb = grids._fitted(grids.read_png_rgb(folder.truth_path(ids[0])), grids.cell_pixels(grids.CELL_INCHES))
    h, w = thumb.shape[:2]
    x, y = int(at["truth"][0]) - w // 2, int(at[ids[0]][1]) - h // 2
    assert any(np.array_equal(mosaic[y + dy:y + dy + h, x + dx:x + dx + w], thumb)
               for dy in (-1, 0, 1) for dx in (-1, 0, 1))

    html = nb.grid_html(rows, caption="c", height=32)
    assert html.count("<img ") == 8 and html.count(">—<") == 1 and html.count("lpips 0.123") == 1
    # the notebook's run grid is the same model, in samples.csv order
    notebook_rows = nb.grid_rows("shared-grid", limit=None, captions=captions)
    assert [(r.sample_id, [(c.column, c.path, c.caption) for c in r.cells]) for r in notebook_rows] == [
        (r.sample_id, [(c.column, c.path, c.caption) for c in r.cells]) for r in rows[::-1]]


def test_the_run_summary_shows_the_report_cost_table(monkeypatch):
    folder = _gray_run("shared-cost", limit=2)
    stages = [{"method": "coltran", "batch": b, "k": "0", "n_images": 2, "preprocess_s": 1, "inference_s": 9,
               "postprocess_s": 0, "device": "cpu", "peak_memory_mb": 1,
               "stages": json.dumps({"colorizer": 6.0 + b, "spatial_upsampler": 3.0})} for b in range(2)]
    atomic.append_csv_rows(folder.timings_csv, stages, TIMING_COLUMNS)
    cost = cost_table(read_csv(folder.timings_csv)).set_index("method")
    assert cost.loc["coltran", "s_per_image"] == pytest.approx(20 / 4)  # preprocess + inference + postprocess
    assert cost.loc["coltran", "stages_s_per_image"] == "colorizer: 3.25; spatial_upsampler: 1.5"
    timings = nb.timings_table("shared-cost").set_index("method")
    for method in ("gray", "coltran"):
        assert timings.loc[method, "images"] == cost.loc[method, "n_images"]
        assert timings.loc[method, "s_per_image"] == pytest.approx(cost.loc[method, "inference_s_per_image"])
    per_stage = nb.stage_table("shared-cost").set_index("method")
    assert per_stage.loc["coltran", "colorizer"] == pytest.approx(3.25)
    shown = []
    monkeypatch.setattr(nb_runs, "_show", shown.append)
    nb.show_run("shared-cost")
    cost_shown = shown[1].to_html()
    assert "as the report computes it" in cost_shown and "stages_s_per_image" in cost_shown
    assert "colorizer: 3.25" in cost_shown and ">5.000<" in cost_shown  # coltran's seconds per image


def test_a_notebook_finds_runs_with_the_one_resolver_but_never_in_the_working_folder(tmp_path, monkeypatch):
    folder = _gray_run("shared-resolver", limit=1)
    assert nb.run_folder("shared-resolver").path == resolve_run("shared-resolver") == folder.path
    assert nb.run_folder(folder).path == folder.path
    monkeypatch.chdir(PROJECT_ROOT)
    assert resolve_run("data").resolve() == PROJECT_ROOT / "data"  # a command's argument may be a folder here
    with pytest.raises(FileNotFoundError, match="no run folder 'data'.*USE_DRIVE"):
        nb.run_folder("data")  # a notebook's RUN never is


def test_setup_and_the_runner_refuse_a_mixed_folder_with_one_guard(tmp_path, monkeypatch):
    _gray_run("shared-mixed", smoke=True, limit=1)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError) as from_setup:
        nb.setup(run="shared-mixed", smoke=False, device="cpu", chdir=False, show=False)
    with pytest.raises(ValueError) as from_runner:
        _gray_run("shared-mixed", smoke=False, limit=1)
    said = "holds a SMOKE run (tiny untrained models); this real run must not reuse its images: choose another"
    assert said in str(from_setup.value) and said in str(from_runner.value)
    assert "another RUN name" in str(from_setup.value) and "another --run name" in str(from_runner.value)


def test_a_remade_output_is_drawn_anew_not_from_the_thumbnail_cache():
    """The grids cache each file's thumbnail (a report draws every output in a dozen grids); an output remade in
    place (a rerun with --overwrite, a merged shard) must be drawn as it is now."""
    folder = _gray_run("shared-grid-remade", limit=1)
    (sample_id,) = [s["id"] for s in folder.read_samples()]

    def drawn_output():
        figure = grids.image_grid(folder.path, [sample_id], ["gray"])
        return figure.axes[0].images[0].get_array()

    before = drawn_output()
    output = folder.output_path("gray", sample_id)
    pixels = grids.read_png_rgb(output)
    atomic.write_png(output, 255 - pixels)
    after = drawn_output()
    assert not np.array_equal(before, after)
    assert np.array_equal(after, grids.image_grid(folder.path, [sample_id], ["gray"]).axes[0].images[0].get_array())


def test_a_notebook_embeds_a_photo_grid_as_the_report_does():
    """A photo grid shown in a notebook is the report's JPEG, a chart its PNG (a grid's PNG is ~10x larger)."""
    from matplotlib.figure import Figure

    from colorbench.report.figures import figure_bytes

    folder = _gray_run("shared-grid-embedded", limit=2)
    grid = grids.image_grid(folder.path, [s["id"] for s in folder.read_samples()], ["gray"])
    chart = Figure()
    chart.subplots().plot([0, 1])
    shown = nb.figures_html({"grid_random": grid, "bars": chart}, include_grids=True)._repr_html_()
    assert shown.count("data:image/jpeg;base64,") == 1 and shown.count("data:image/png;base64,") == 1
    assert shown.index("data:image/jpeg") < shown.index("data:image/png")  # in the order given
    assert figure_bytes(grid)[:3] == b"\xff\xd8\xff" and figure_bytes(chart)[:8] == b"\x89PNG\r\n\x1a\n"


def test_notebook_04_shows_the_report_headline_table(monkeypatch):
    """04's "Quality per method" is the report's headline table, notes included: it once left out the truths'
    colourfulness, so its note read "Truth colourfulness (mean over all scored images): —" where the report gave
    54.8, and ΔCF had no reference to read it against."""
    import nbformat

    from colorbench.metrics import score_run, smoke_scoring
    from colorbench.report.build import ReportOptions, build_content

    folder = _gray_run("shared-headline", smoke=True, limit=2)
    scores = score_run(folder.path, device="cpu", fid=False, progress=False, **smoke_scoring(True, fid=False))
    notebook = nbformat.read(str(PROJECT_ROOT / "notebooks" / "04_evaluate.ipynb"), as_version=4)
    (cell,) = [c.source for c in notebook.cells if c.cell_type == "code" and "headline_table(" in c.source]
    shown = []
    monkeypatch.setattr(nb, "report_table", lambda table, smoke=False: shown.append(table))
    exec(cell, {"nb": nb, "scores": scores, "SEED": 0, "SMOKE": True})  # the cell as Run all runs it

    report = build_content(folder.path, ReportOptions(seed=0)).tables["headline"]
    # notes[0] says whether best values are highlighted, which the report leaves out with one method
    assert shown[0].notes[1:] == report.notes[1:] and "colourfulness (mean over all scored images): —" not in str(
        report.notes)
    assert shown[0].display.equals(report.display)
