"""What a new user found in the report: a smoke run's tables, figures and verdict must each say "smoke" on their
own (the verdict first, and concluding nothing), and each method that did not run is explained once, with its fix
in sight rather than folded away."""

from __future__ import annotations

import html
import json
import re

import numpy as np
import pandas as pd
import pytest
from conftest import fixture_path
from evalrun_helpers import make_run
from judge_helpers import write_synthetic_metrics
from PIL import Image

from colorbench.report import ReportOptions, build_report
from colorbench.report.smoke import SMOKE_COLOR, SMOKE_HEADING

OPTIONS = ReportOptions(n_boot=50, grid_images=2, grid_extremes=1)
FAMILIES = {"chroma-blur": "cnn", "hue-shift": "transformer", "gray": "floor"}


def _reported(root, *, smoke: bool, not_run: dict | None = None):
    """A small run of real photos with synthetic scores; ``not_run``: method -> (status, reason) in run.json."""
    run = make_run(root, fixture_path("sports"), n_images=4, include_gray_source=False)
    record = json.loads(run.run_json.read_text())
    record["smoke"] = smoke
    record["method_status"] = {m: {"status": "done", "family": f} for m, f in FAMILIES.items()}
    for method, (status, reason) in (not_run or {}).items():
        record["methods"].append(method)
        record["method_status"][method] = {"status": status, "reason": reason}
    run.run_json.write_text(json.dumps(record))
    write_synthetic_metrics(run)
    return build_report(root, OPTIONS, return_content=True)


@pytest.fixture(scope="module")
def smoke_report(tmp_path_factory):
    return _reported(tmp_path_factory.mktemp("smoke") / "smoke-run", smoke=True)


def _verdict_html(page: str) -> str:
    return re.search(r'<div class="verdict" id="verdict"><b>Verdict.</b> (.*?)</div>', page).group(1)


def test_a_smoke_verdict_opens_with_smoke_and_names_no_winner(smoke_report):
    path, content = smoke_report
    text = (path.parent / "verdict.md").read_text()
    assert text.startswith("Smoke run (") and "random weights" in text.split(". ")[0]
    # the conclusions a real run's verdict draws: none of them, anywhere in the paragraph
    for conclusion in ("Family answer", "beats", "best mean", "Ranking", "colourfulness", "favour", "agree"):
        assert conclusion not in text, (conclusion, text)
    assert "chroma-blur, hue-shift, gray" in text  # what ran, in the run's order: not ranked
    # "the same command without --smoke" alone was refused: this folder holds a smoke run
    assert "without --smoke and with another --run name" in text
    assert _verdict_html(path.read_text()).startswith("Smoke run (")
    family = re.search(r'<p id="family-answer">(.*?)</p>', path.read_text()).group(1)
    assert family.startswith("Smoke run (") and "no family answer" in family


def test_every_table_of_a_smoke_run_says_so_in_each_of_its_forms(smoke_report):
    path, content = smoke_report
    tables = path.parent / "tables"
    assert {"headline", "pairwise", "family_best", "cost", "missing"} <= set(content.tables)
    for name in content.tables:
        csv = pd.read_csv(tables / f"{name}.csv")
        assert "smoke" in csv.columns and (csv["smoke"] == SMOKE_HEADING).all(), name
        assert (tables / f"{name}.md").read_text().startswith(f"### {SMOKE_HEADING} — "), name
        assert f'<span class="smoke">{html.escape(SMOKE_HEADING)}</span>' in (tables / f"{name}.html").read_text()
    page = path.read_text()
    captions = re.findall(r"<caption>(.*?)</caption>", page)
    assert captions and all(c.startswith(f'<span class="smoke">{html.escape(SMOKE_HEADING)}</span>') for c in captions)


def test_every_figure_of_a_smoke_run_carries_the_stamp_drawn_in_and_in_its_caption(smoke_report):
    path, content = smoke_report
    red = np.array([int(SMOKE_COLOR[i:i + 2], 16) for i in (1, 3, 5)])
    assert {"metric_bars", "grid_random", "per_class_heatmap"} <= set(content.figures)
    for name, fig in content.figures.items():
        assert fig.get_suptitle().startswith(SMOKE_HEADING), name
        # drawn into the saved file (a chart's PNG, a photo grid's JPEG), at the top: the stamp's red text
        (saved,) = [p for p in (path.parent / "figures").glob(f"{name}.*") if p.suffix in (".png", ".jpg")]
        pixels = np.asarray(Image.open(saved).convert("RGB")).astype(int)
        top = pixels[: max(40, pixels.shape[0] // 8)]
        stamp_x = np.nonzero(np.abs(top - red).sum(axis=2) < 60)[1]
        assert len(stamp_x) > 30, name
        if name.startswith("grid_"):  # at the left: the report shows a wide grid in a box that scrolls sideways
            assert stamp_x.max() < pixels.shape[1] / 2, name
    captions = re.findall(r"<figcaption>(.*?)</figcaption>", path.read_text())
    assert len(captions) == len(content.figures)
    assert all(c.startswith(html.escape(SMOKE_HEADING)) for c in captions)


def test_a_notebook_shows_a_smoke_reports_figure_with_the_stamp_once(smoke_report):
    import colorbench.notebook as nb

    _, content = smoke_report
    shown = nb.figures_html(content.figures, content.figure_captions, smoke=True, names=["metric_bars"])
    assert repr(shown).count(SMOKE_HEADING) == 1 and shown._repr_html_().count(SMOKE_HEADING) == 1


def test_a_real_run_carries_no_smoke_stamp(tmp_path):
    path, content = _reported(tmp_path / "real", smoke=False)
    page = path.read_text()
    assert SMOKE_HEADING not in page and "Smoke run" not in page
    assert "smoke" not in pd.read_csv(path.parent / "tables" / "headline.csv").columns
    assert not content.figures["metric_bars"].get_suptitle().startswith(SMOKE_HEADING)
    assert (path.parent / "verdict.md").read_text().startswith("Family answer (")


OFFLINE = ("downloading it failed ([Errno -2] Name or service not known; no network access?). Put the file at "
           "/root/.cache/torch/hub/checkpoints/{file} (download it from https://example.org/{file}); with network "
           "access, `colorbench weights fetch {name}` does it.")
SLOW = "too slow on a CPU for the automatic selection; name it in --methods to run it anyway, or use a GPU"
NOT_RUN = {
    "eccv16": ("skipped", "weights 'eccv16' are not available: " + OFFLINE.format(file="e.pth", name="eccv16")),
    "siggraph17": ("skipped", "weights 'siggraph17' are not available: "
                   + OFFLINE.format(file="s.pth", name="siggraph17")),
    "coltran": ("skipped", SLOW),
    "controlnet-canny": ("skipped", SLOW),
    "ddcolor": ("failed", "failed to load: RuntimeError: bad checkpoint. Delete it and fetch it again with "
                          "`colorbench weights fetch ddcolor-modelscope`"),
}


def test_each_method_that_did_not_run_is_explained_once_with_its_fix_in_sight(tmp_path):
    path, content = _reported(tmp_path / "offline", smoke=False, not_run=NOT_RUN)
    page = path.read_text()
    # each reason once on the whole page (eccv16 and siggraph17 have one each; the two slow ones share one line)
    assert page.count("downloading it failed") == 2
    assert page.count("too slow on a CPU") == 1 and page.count("bad checkpoint") == 1
    assert "<details" not in page.split('id="did-not-run"')[1].split("</dd>")[0]  # nothing folded away
    where = page.index('id="did-not-run"')
    assert page.index('id="protocol"') < where < page.index('id="headline"')  # near the top, in the protocol
    # the fixes, in sight: each method's command, and one command for every missing download
    fixes = re.findall(r'<span class="fix"><b>Fix:</b> (.*?)</span>', page)
    assert len(fixes) == 3 and "<code>colorbench weights fetch eccv16</code> does it" in fixes[0]
    assert "<code>colorbench weights fetch siggraph17</code>" in fixes[1]
    assert fixes[2] == "Delete it and fetch it again with <code>colorbench weights fetch ddcolor-modelscope</code>"
    assert "<code>colorbench weights fetch eccv16 siggraph17</code>" in page
    assert "<b>coltran</b>, <b>controlnet-canny</b> — skipped: too slow on a CPU" in page
    # the verdict names them and links to that one place, without the reasons
    verdict = _verdict_html(page)
    assert "eccv16, siggraph17, coltran and controlnet-canny were skipped and ddcolor failed" in verdict
    assert '<a href="#did-not-run">&quot;Did not run&quot;</a>' in verdict
    assert "downloading" not in verdict and "too slow" not in verdict
    coverage = page[page.index('id="coverage"'):]
    assert "eccv16" not in coverage and "too slow" not in coverage
