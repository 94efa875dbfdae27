"""README's front page: the picture (``colorbench frontpage picture``) drawn from a tiny reported run, and the results
table (``colorbench frontpage table``) generated from a results folder — and README's table equals what the command
makes from the committed docs/results/ folder."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from conftest import PROJECT_ROOT, fixture_path
from evalrun_helpers import make_run

from colorbench.cli import main
from colorbench.metrics import score_run
from colorbench.report import ReportOptions, build_report
from colorbench.report.results_table import marked_tables, results_table, update_readme

METHODS = ("chroma-blur", "hue-shift", "gray")


@pytest.fixture(scope="module")
def reported(tmp_path_factory):
    root = tmp_path_factory.mktemp("run") / "front-run"
    make_run(root, fixture_path("sports"), n_images=5, methods=METHODS)
    score_run(root, lpips_trunk="uncalibrated", fid=False, progress=False)
    build_report(root, ReportOptions(n_boot=200, grid_images=2, grid_extremes=1))
    return root


def _cells(image: np.ndarray, n_rows: int, n_cols: int) -> np.ndarray:
    """Mean colour of the middle of every grid cell (rows x columns x RGB); the picture's layout is a regular grid
    between the title and the verdict, so the cell centres are found by splitting the photo area evenly."""
    gray = image.mean(axis=2)
    rows = np.where((gray < 245).mean(axis=1) > 0.5)[0]  # rows that are mostly photo, not white margin
    cols = np.where((gray < 245).mean(axis=0) > 0.3)[0]
    top, bottom, left, right = rows.min(), rows.max(), cols.min(), cols.max()
    h, w = (bottom - top) / n_rows, (right - left) / n_cols
    out = np.zeros((n_rows, n_cols, 3))
    for r in range(n_rows):
        for c in range(n_cols):
            y, x = int(top + (r + 0.5) * h), int(left + (c + 0.5) * w)
            out[r, c] = image[y - 5:y + 5, x - 5:x + 5].reshape(-1, 3).mean(axis=0)
    return out


def test_picture_shows_input_truth_and_every_method_with_the_verdict(reported, tmp_path, capsys):
    from PIL import Image

    assert main(["frontpage", "picture", str(reported), "--out", str(tmp_path / "img"), "--images", "3"]) == 0
    path = tmp_path / "img" / "front-page.jpg"
    assert f"wrote {path}" in capsys.readouterr().out
    assert path.stat().st_size < 300_000  # small enough to commit
    with Image.open(path) as img:
        assert img.format == "JPEG"
        picture = np.asarray(img.convert("RGB")).astype(float)
    columns = 2 + len(METHODS)  # gray input | truth | each method
    assert picture.shape[1] > picture.shape[0] * columns / 3 / 1.6  # wide: one column per method, 3 rows
    cells = _cells(picture, 3, columns)
    chroma = np.abs(cells - cells.mean(axis=2, keepdims=True)).max(axis=2)
    # the gray input and the gray floor's output have no colour; the truth and the two colourful methods have some
    assert (chroma[:, 0] < 6).all() and (chroma[:, columns - 1] < 6).all(), chroma
    assert (chroma[:, 1:columns - 1].max(axis=1) > 6).all(), chroma


def test_picture_draws_the_runs_own_methods_and_verdict(reported, monkeypatch, tmp_path):
    """Generic over the run: the columns are the run's methods in order, the verdict is the run's verdict.md."""
    from colorbench.report import front_page, grids

    seen = {}
    real = grids.figure_of_rows

    def spy(rows, *, columns, title="", cell=1.7):
        fig = real(rows, columns=columns, title=title, cell=cell)
        seen["columns"], seen["rows"], seen["fig"] = list(columns), rows, fig
        return fig

    monkeypatch.setattr(grids, "figure_of_rows", spy)
    front_page.front_page_picture(reported, tmp_path, n_images=2)
    assert seen["columns"] == [grids.INPUT_COLUMN, grids.TRUTH_COLUMN, *METHODS]
    assert len(seen["rows"]) == 2 and all(c.present for row in seen["rows"] for c in row.cells)
    verdict = (reported / "verdict.md").read_text().replace("`", "").split()
    label = seen["fig"]._supxlabel.get_text().split()
    assert label == verdict  # the whole verdict, only re-wrapped (without Markdown's code marks)


def test_picture_needs_a_reported_run(reported, tmp_path, capsys):
    bare = tmp_path / "bare"
    shutil.copytree(reported, bare)
    (bare / "verdict.md").unlink()
    assert main(["frontpage", "picture", str(bare), "--out", str(tmp_path / "img")]) == 2
    err = capsys.readouterr().err
    assert "verdict.md is absent" in err and f"colorbench report {bare}" in err


def _results_folder(reported, dest):
    """A results folder like docs/results/: the run's metrics.json and tables/headline.csv, and a second LPIPS pass
    (here the same numbers relabelled as another trunk) in a sub-folder."""
    (dest / "tables").mkdir(parents=True)
    shutil.copy(reported / "metrics.json", dest / "metrics.json")
    shutil.copy(reported / "tables" / "headline.csv", dest / "tables" / "headline.csv")
    vgg = dest / "lpips-vgg"
    (vgg / "tables").mkdir(parents=True)
    summary = json.loads((reported / "metrics.json").read_text())
    summary["lpips"]["net"] = "vgg"
    (vgg / "metrics.json").write_text(json.dumps(summary))
    headline = (reported / "tables" / "headline.csv").read_text()
    (vgg / "tables" / "headline.csv").write_text(headline)
    return dest


def test_results_table_has_every_method_metric_and_ci(reported, tmp_path):
    import pandas as pd

    folder = _results_folder(reported, tmp_path / "res")
    table = results_table(folder)
    lines = table.splitlines()
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    assert header[:2] == ["method", "photos"]
    assert header[2].startswith("LPIPS alex") and header[3].startswith("LPIPS vgg")
    assert "not LPIPS" in header[2]  # the tests' stand-in trunk is called out, never passed off as LPIPS
    assert header[4:] == ["PSNR (dB) ↑", "SSIM ↑", "ΔE2000 ↓", "Colourfulness", "ΔCF ↓"]
    assert len(lines) == 2 + len(METHODS) + 1  # header, rule, methods, the true colours
    headline = pd.read_csv(reported / "tables" / "headline.csv").set_index("method")
    row = dict(zip(header, (c.strip() for c in lines[2].strip("|").split("|"))))
    first = headline.index[0]
    assert row["method"] == f"`{first}`"
    r = headline.loc[first]
    assert row["PSNR (dB) ↑"] == f"{r.psnr_mean:.2f} [{r.psnr_lo:.2f}, {r.psnr_hi:.2f}]"
    assert row["photos"] == str(int(r.n_scored))
    truth = dict(zip(header, (c.strip() for c in lines[-1].strip("|").split("|"))))
    assert truth["method"] == "true colours" and truth["Colourfulness"] == f"{r.colorfulness_truth_mean:.1f}"


def test_results_table_refuses_passes_of_different_runs(reported, tmp_path):
    folder = _results_folder(reported, tmp_path / "res")
    other = folder / "lpips-vgg" / "tables" / "headline.csv"
    other.write_text(other.read_text().replace("hue-shift", "other-method"))
    with pytest.raises(ValueError, match="other methods or image counts"):
        results_table(folder)


def test_readme_block_is_regenerated_and_checked(reported, tmp_path, capsys):
    folder = _results_folder(reported, tmp_path / "res")
    readme = tmp_path / "README.md"
    readme.write_text("intro\n<!-- results-table: res -->\n| stale |\n<!-- /results-table -->\nafter\n")
    assert main(["frontpage", "table", "--readme", str(readme), "--check"]) == 1
    assert "out of date" in capsys.readouterr().out
    assert update_readme(readme) == ["res"]
    assert readme.read_text() == ("intro\n<!-- results-table: res -->\n" + results_table(folder)
                                  + "<!-- /results-table -->\nafter\n")
    assert main(["frontpage", "table", "--readme", str(readme), "--check"]) == 0


def test_readmes_results_table_is_generated_from_the_committed_run():
    readme = PROJECT_ROOT / "README.md"
    marked = marked_tables(readme)
    assert marked, "README must carry its results table between <!-- results-table: FOLDER --> markers"
    for folder, body in marked:
        assert body == results_table(PROJECT_ROOT / folder), (
            f"README's table of {folder} is not what the command makes: run `colorbench frontpage table --readme "
            "README.md`")
