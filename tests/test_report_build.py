"""Report from a small real run: tables (CSV/MD/HTML), figures (PNG/SVG), one self-contained report.html that
renders in headless Chromium."""

from __future__ import annotations

import base64
import io
import re
import subprocess

import numpy as np
import pandas as pd
import pytest
from conftest import chromium_or_skip, fixture_path
from evalrun_helpers import make_run

from colorbench.metrics import score_run
from colorbench.report import ReportOptions, build_report, load_tables

TABLES = ("headline", "pairwise", "win_rate", "per_class", "best_worst_classes", "cost", "missing", "excluded")


@pytest.fixture(scope="module")
def reported(tmp_path_factory):
    root = tmp_path_factory.mktemp("run") / "report-run"
    make_run(root, fixture_path("sports"), n_images=6, images_per_class=2, stochastic_k=2, missing={"hue-shift": [0]})
    score_run(root, lpips_trunk="uncalibrated", fid=False, progress=False)
    path, content = build_report(root, ReportOptions(n_boot=300, grid_images=4, grid_extremes=2), return_content=True)
    return root, path, content


def test_tables_written_in_three_formats(reported):
    root, _, _ = reported
    for name in TABLES:
        for ext in ("csv", "md", "html"):
            assert (root / "tables" / f"{name}.{ext}").stat().st_size > 0, (name, ext)
    tables = load_tables(root)
    headline = tables["headline"]
    assert headline["method"].tolist() == ["chroma-blur", "hue-shift", "gray", "hue-sampler"]
    assert headline.set_index("method").loc["hue-shift", "n_missing"] == 1
    assert headline.set_index("method").loc["hue-sampler", "samples_per_image"] == 2
    # the CSV holds the numbers behind the formatted tables
    scores = pd.read_csv(root / "metrics.csv")
    blur = scores[(scores["method"] == "chroma-blur")]["psnr"].mean()
    assert headline.set_index("method").loc["chroma-blur", "psnr_mean"] == pytest.approx(blur)
    md = (root / "tables" / "headline.md").read_text()
    assert md.count("\n| ") == 5 and "not LPIPS" in md  # header + 4 methods; the uncalibrated trunk is called out


def test_per_class_and_pairs(reported):
    root, _, content = reported
    per_class = load_tables(root)["per_class"]
    assert len(per_class) == 3 and (per_class["n_images"] == 2).all()
    pairs = content.tables["pairwise"].numbers
    assert len(pairs) == 6 * len(content.metrics)  # 4 methods -> 6 pairs per metric
    blur_vs_gray = pairs[(pairs["metric"] == "delta_e2000") & (pairs["method_a"] == "chroma-blur")
                         & (pairs["method_b"] == "gray")]
    assert blur_vs_gray["mean_diff"].iloc[0] < 0 and blur_vs_gray["n"].iloc[0] == 6
    assert (pairs["p_holm"] >= pairs["p_wilcoxon"]).all()


def test_figures_written_as_png_and_svg_photo_grids_as_jpeg(reported):
    root, _, content = reported
    from PIL import Image

    grids = {name for name in content.figures if name.startswith("grid_")}
    assert {"grid_random", *(f"grid_best_worst_{m}" for m in ("chroma-blur", "gray"))} <= grids
    assert {"metric_bars", "distribution_lpips", "per_class_heatmap", "quality_vs_time"} <= set(content.figures)
    for name in content.figures:
        kinds = {p.suffix for p in (root / "figures").glob(f"{name}.*")}
        assert kinds == ({".jpg"} if name in grids else {".png", ".svg"}), (name, kinds)
        with Image.open(root / "figures" / f"{name}{'.jpg' if name in grids else '.png'}") as img:
            assert img.size[0] > 200 and img.size[1] > 150
            assert img.format == ("JPEG" if name in grids else "PNG")
        if name not in grids:
            assert (root / "figures" / f"{name}.svg").read_text().lstrip().startswith("<?xml")


def test_a_grid_left_as_png_by_an_older_report_is_replaced_not_kept_beside(reported, tmp_path):
    """figures/ never holds two pictures under one name: a rebuilt report removes an older colorbench's grid PNG and
    SVG when it writes the JPEG (and a chart's stray JPEG when it writes PNG and SVG)."""
    import shutil

    root, _, _ = reported
    copy = tmp_path / "older"
    shutil.copytree(root, copy)
    figures = copy / "figures"
    for stale in ("grid_random.png", "grid_random.svg", "metric_bars.jpg"):
        (figures / stale).write_bytes(b"from an older report")
    build_report(copy, ReportOptions(n_boot=50, grid_images=4, grid_extremes=2))
    assert not any((figures / stale).exists() for stale in ("grid_random.png", "grid_random.svg", "metric_bars.jpg"))
    assert (figures / "grid_random.jpg").stat().st_size > 1000 and (figures / "metric_bars.png").is_file()


def test_a_figure_the_new_report_does_not_draw_is_removed_but_never_a_users_file(reported, tmp_path):
    """A method no longer scored: its best/worst grid from the earlier report stayed in figures/ beside the new
    figures, a picture of outputs the report no longer shows. The next report removes what an earlier report wrote
    and it does not write again; a file put there by hand stays."""
    import shutil

    root, _, _ = reported
    copy = tmp_path / "rescored"
    shutil.copytree(root, copy)
    figures = copy / "figures"
    build_report(copy, ReportOptions(n_boot=50, grid_images=4, grid_extremes=2))
    assert (figures / "grid_best_worst_gray.jpg").is_file()
    (figures / "my-notes.png").write_bytes(b"the user's own")
    scores = pd.read_csv(copy / "metrics.csv")
    scores[scores["method"] != "gray"].to_csv(copy / "metrics.csv", index=False)  # as if gray were scored no more
    _, content = build_report(copy, ReportOptions(n_boot=50, grid_images=4, grid_extremes=2), return_content=True)
    assert "grid_best_worst_gray" not in content.figures and not (figures / "grid_best_worst_gray.jpg").exists()
    assert (figures / "grid_best_worst_chroma-blur.jpg").is_file() and (figures / "my-notes.png").is_file()
    drawn = {p.stem for p in figures.iterdir() if p.name not in ("my-notes.png", ".report-figures.json")}
    assert drawn == set(content.figures)


def test_report_is_self_contained(reported):
    _, path, _ = reported
    page = path.read_text()
    assert page.index('id="verdict"') < page.index('id="protocol"') < page.index('id="table-headline"')
    # 6 images, 6 pairs per metric: no Wilcoxon test can reach Holm p < 0.05, said once instead of 24 empty rows
    assert page.index('id="table-headline"') < page.index('id="pairwise-too-small"') < page.index('id="table-win_rate"')
    assert "no significant difference" not in page and "no paired test can reach significance" in page
    assert (path.parent / "verdict.md").read_text().strip() in html_unescape(page)
    assert not re.search(r'(src|href)="(?!data:|#)', page), "report must not reference external files"
    assert "<script" not in page
    images = re.findall(r'src="data:image/(png|jpeg);base64,([^"]+)"', page)
    assert len(images) >= 8
    from PIL import Image

    for _, data in images:
        Image.open(io.BytesIO(base64.b64decode(data))).verify()
    for needle in ("sports (fixture)", "224x224", "excluded (1 no colour ground truth)", "Holm", "not LPIPS",
                   "FID", "unavailable", "Missing outputs: hue-shift: 1 image (see",
                   "out-of-sRGB colours: clip (RGB clipped"):  # which gamut mode the L-merge used
        assert needle in page, needle


def test_photo_grids_are_shown_at_their_own_size_charts_fit_the_page(reported):
    """A dozen methods make a photo grid ~2600 px wide: shrunk to the page its captions were ~5 px tall. It is shown
    at its own size in a box that scrolls sideways; a chart still fits the page."""
    root, path, content = reported
    page = path.read_text()
    for name in content.figures:
        figure = page[page.index(f'<figure id="figure-{name}">'):]
        figure = figure[:figure.index("</figure>")]
        if name.startswith("grid_"):
            assert figure.split("data:")[0].endswith('<div class="scroll"><img class="photos" alt="' +
                                                     figure.split('alt="')[1].split('"')[0] + '" src="'), name
            assert "data:image/jpeg;base64," in figure
        else:
            assert 'class="photos"' not in figure and "data:image/png;base64," in figure, name
    assert "figure img.photos{max-width:none}" in page and ".scroll{overflow-x:auto}" in page


def test_lpips_unavailable_shows_the_fix_in_the_report(tmp_path, sports_dir):
    root = tmp_path / "run"
    make_run(root, sports_dir, n_images=3, methods=("chroma-blur", "gray"), include_gray_source=False)
    score_run(root, fid=False, progress=False)  # no trunk in the test cache
    page = build_report(root, ReportOptions(n_boot=100, grid_images=2, grid_extremes=1)).read_text()
    assert "LPIPS is unavailable" in page and "torchvision-alexnet" in page and "alexnet-owt-7be5be79.pth" in page
    headline = load_tables(root)["headline"]
    assert headline["lpips_mean"].isna().all() and headline["delta_e2000_mean"].notna().all()
    assert "ΔE2000" in (root / "tables" / "win_rate.md").read_text()  # falls back to ΔE as the headline metric


def html_unescape(page: str) -> str:
    import html

    return html.unescape(re.sub(r"</?(code|b)>", "`", page)).replace("``", "`")


def test_one_method_and_a_skipped_one(tmp_path, sports_dir):
    """One method: no empty paired tables and no "best" highlight, but how to add a method; the protocol lists the
    methods that made images, and the skipped ones apart, each reason once with its fix in sight (not collapsed)."""
    import json

    root = tmp_path / "solo"
    make_run(root, sports_dir, n_images=4, methods=("gray",), include_gray_source=False)
    info = json.loads((root / "run.json").read_text())
    info["methods"] = ["gray", "coltran"]
    info["method_status"] = {"gray": {"status": "done"}, "coltran": {
        "status": "skipped", "reason": "weights 'coltran-release' are not available: offline. Put the file at /m/x "
                                      "(download it from https://example/coltran.zip)"}}
    (root / "run.json").write_text(json.dumps(info))
    score_run(root, lpips_trunk="uncalibrated", fid=False, progress=False)
    page = build_report(root, ReportOptions(n_boot=50, grid_images=2, grid_extremes=1)).read_text()
    assert 'id="no-comparison"' in page and 'id="table-pairwise"' not in page and 'id="table-win_rate"' not in page
    assert "Only gray produced images, so there is nothing to compare" in page
    assert 'class="best"' not in page and "best value per column highlighted" not in page
    protocol = page[page.index('id="protocol"'):page.index('id="headline"')]
    assert "<dt>Methods</dt><dd>gray</dd>" in protocol
    assert ("<li><b>coltran</b> — skipped: weights &#x27;coltran-release&#x27; are not available: offline.<br>"
            '<span class="fix"><b>Fix:</b> Put the file at /m/x (download it from https://example/coltran.zip)'
            "</span></li>" in protocol)
    assert "<details" not in protocol and page.count("example/coltran.zip") == 1
    coverage = page[page.index('id="coverage"'):]
    assert "Methods that did not run" not in coverage and "coltran" not in coverage  # said once, in the protocol
    # nothing missing, nothing excluded: said in words, not as header-only tables
    assert "<b>Missing outputs (counted, excluded from that method&#x27;s means)</b>: none.</p>" in coverage
    assert "<b>Samples excluded from scoring</b>: none.</p>" in coverage and "<th>reason</th>" not in coverage
    # the paired-statistics section says there is nothing to compare, without repeating why the others did not run
    statistics = page[page.index('id="statistics"'):page.index('id="distributions"')]
    assert "nothing to compare" in statistics and "coltran" not in statistics


@pytest.mark.browser
def test_report_renders_in_headless_chromium(reported, tmp_path):
    browser = chromium_or_skip()
    _, path, content = reported
    flags = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run(flags + ["--dump-dom", path.as_uri()], capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    html = dom.stdout
    for name in TABLES:
        assert f'id="table-{name}"' in html or name == "pairwise" and 'id="pairwise-too-small"' in html, name
    for name in content.figures:
        assert f'id="figure-{name}"' in html, name
    assert html.count("<img") == len(content.figures)
    assert "chroma-blur" in html and "hue-sampler" in html
    shot = tmp_path / "shot.png"
    run = subprocess.run(flags + ["--window-size=1200,2400", f"--screenshot={shot}", path.as_uri()],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and shot.exists(), run.stderr[-2000:]
    from PIL import Image

    pixels = np.asarray(Image.open(shot).convert("RGB"))
    assert pixels.std() > 20  # text, tables and figures, not a blank page
    # the figures are drawn: the metric bars use the family palette's colour of these stand-in methods (no family)
    from colorbench.methods.families import family_color

    rgb = [int(family_color(None)[i:i + 2], 16) for i in (1, 3, 5)]
    assert (np.abs(pixels.astype(int) - rgb).sum(axis=2) < 30).sum() > 500


def test_best_worst_rows_say_which_they_are_even_where_they_overlap(reported, tmp_path):
    """With few images a method's best and worst overlap (6 images, 4 of each): each row says its rank at the left,
    and an image that is both is shown once with both."""
    import shutil

    from colorbench.report import build_content, grids
    from colorbench.report.aggregate import per_image

    root, _, _ = reported
    copy = tmp_path / "overlap"
    shutil.copytree(root, copy)
    content = build_content(copy, ReportOptions(n_boot=50, grid_images=2, grid_extremes=4))
    from colorbench.metrics.table import load_metrics

    best, worst = grids.best_worst(per_image(load_metrics(copy)), "gray", "lpips", 4)
    both = set(best) & set(worst)
    assert both  # 6 images, 4 best and 4 worst
    texts = content.figures["grid_best_worst_gray"].axes[0].texts
    labels = [t.get_text() for t in texts if t.get_rotation() == 90]  # the rows' labels, at the left
    assert [label.split("\n")[1] for label in labels] == best + [w for w in worst if w not in best]
    for label in labels:
        note, sample_id = label.split("\n")
        expected = ([f"best {best.index(sample_id) + 1}"] if sample_id in best else []) + (
            [f"worst {worst.index(sample_id) + 1}"] if sample_id in worst else [])
        assert note == ", ".join(expected), label
