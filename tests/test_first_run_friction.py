"""First-run friction found by trying colorbench as a newcomer (issue 30, point 5): each fix, checked as typed."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from colorbench import weights
from colorbench.cli import main


def test_weights_list_gives_the_size_of_a_present_file_the_registry_has_no_size_for(capsys):
    spec = weights.REGISTRY["eccv16"]
    assert spec.size is None  # the case: the registry knows no size, the file is here
    path = weights.local_path("eccv16")
    path.parent.mkdir(parents=True)
    path.write_bytes(b"x" * 3000)
    assert main(["weights", "list"]) == 0
    row = next(line for line in capsys.readouterr().out.splitlines() if " eccv16 " in line)
    assert "2.9 KiB" in row and "size unknown" not in row


def _summary(tmp_path, reasons: dict[str, str]):
    methods = [SimpleNamespace(name=name, status="skipped", reason=reason) for name, reason in reasons.items()]
    return SimpleNamespace(path=tmp_path, samples=8, skipped_images=0, methods=methods)


def test_an_offline_run_says_in_the_terminal_what_to_type_to_get_the_weights(tmp_path, capsys):
    """The terminal said only "downloading it failed"; the fix was inside a collapsed box of the report."""
    from colorbench.cli.run import _print_summary

    offline = "weights {!r} are not available: downloading it failed (no network access?). Put the file at /x."
    _print_summary(_summary(tmp_path, {"eccv16": offline.format("eccv16"), "siggraph17": offline.format("siggraph17"),
                                       "coltran": "needs the optional convert extra"}), brief=True)
    out = capsys.readouterr().out
    assert "`colorbench weights fetch eccv16 siggraph17` where there is network access" in out
    assert "`colorbench weights list` says where each file goes" in out


def test_no_fetch_hint_when_no_weights_are_missing(tmp_path, capsys):
    from colorbench.cli.run import _print_summary

    _print_summary(_summary(tmp_path, {"coltran": "needs the optional convert extra"}), brief=True)
    assert "weights fetch" not in capsys.readouterr().out


def test_run_without_a_run_name_writes_a_folder_named_after_the_dataset_not_the_demos(capsys):
    """`colorbench run` without --run wrote into results/demo, the demo's own folder."""
    from colorbench.paths import results_dir

    assert main(["run", "--methods", "gray", "--limit", "1"]) == 0
    out = capsys.readouterr().out
    assert "no --run given: writing results/samples/" in out
    assert (results_dir() / "samples" / "run.json").is_file() and not (results_dir() / "demo").exists()


@pytest.mark.browser
def test_the_best_value_is_highlighted_on_even_rows_too(tmp_path):
    """`tr:nth-child(even) td` (the zebra stripes) outranked `td.best`: the highlight vanished on every second row."""
    import subprocess

    from conftest import chromium_or_skip

    from colorbench.report.tables import TABLE_CSS

    browser = chromium_or_skip()
    page = tmp_path / "t.html"
    page.write_text(f"<style>{TABLE_CSS}</style><table class='cb'><tr><th>m</th></tr><tr><td class='best' id='odd'>1"
                    "</td></tr><tr><td class='best' id='even'>2</td></tr></table><pre id='out'></pre><script>"
                    "document.getElementById('out').textContent = ['odd', 'even'].map(i => i + '=' + "
                    "getComputedStyle(document.getElementById(i)).backgroundColor).join(';')</script>")
    dom = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                          f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", page.as_uri()],
                         capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert "odd=rgb(227, 244, 230);even=rgb(227, 244, 230)" in dom.stdout


def test_exporting_a_notebook_with_a_plot_prints_no_alt_text_notice(tmp_path, capfd, caplog):
    """nbconvert's "Alternative text is missing on 1 image(s)." was a stray line under `notebooks run`."""
    import base64

    import nbformat

    from colorbench.notebooks_run import export_html

    png = base64.b64encode(bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000" "1f15c489"
                                         "0000000d49444154789c63000100000500010d0a2db40000000049454e44ae426082"))
    cell = nbformat.v4.new_code_cell("plot()", outputs=[nbformat.v4.new_output(
        "display_data", data={"image/png": png.decode()})])
    path = tmp_path / "plot.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[cell]), path)
    html = export_html(path).read_text()
    assert "No description has been provided for this image" in html  # the case: nbconvert filled one in
    out = capfd.readouterr()
    assert "Alternative text" not in out.out + out.err + caplog.text
