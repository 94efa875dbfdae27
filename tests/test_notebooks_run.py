"""The notebook suite executed for real (slow): every notebook runs in smoke mode with papermill in a kernel of this
Python and must finish without a cell error; the exported HTML of each notebook and the run's report render in
headless Chromium (screenshot not blank). Plus how the runner reports a failing notebook and skips its dependants."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import nbformat
import numpy as np
import pytest
from conftest import chromium_or_skip, isolate_env

import colorbench.notebook as nb
from colorbench import notebooks_run
from colorbench.runfolder import RunFolder

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def smoke_suite(tmp_path_factory):
    """The whole suite, once, in smoke mode (bundled samples, tiny untrained models, no network)."""
    root = tmp_path_factory.mktemp("suite")
    with pytest.MonkeyPatch.context() as mp:
        isolate_env(mp, root)  # conftest's autouse isolation comes after a module fixture
        result = notebooks_run.run_suite(run="suite-smoke", smoke=True, log=lambda line: None)
    return result, root / "results" / "suite-smoke"


def _outputs(book) -> list[dict]:
    return [o for c in book.cells if c.cell_type == "code" for o in c.get("outputs", [])]


def _text(output) -> str:
    if output.get("output_type") == "stream":
        return output.get("text", "")
    data = output.get("data", {})
    return "\n".join(str(data.get(k, "")) for k in ("text/plain", "text/html"))


def test_every_notebook_runs_in_smoke_mode_without_a_cell_error(smoke_suite):
    result, run_path = smoke_suite
    assert result.ok, result.describe()
    assert [r.name for r in result.notebooks] == [n for n, _ in notebooks_run.SUITE]
    for res in result.notebooks:
        assert res.ipynb == run_path / "notebooks" / f"{res.name}.ipynb"
        book = nbformat.read(str(res.ipynb), as_version=4)
        errors = [o for o in _outputs(book) if o.get("output_type") == "error"]
        assert errors == [], f"{res.name}: {errors}"
        injected = [c for c in book.cells if "injected-parameters" in c.metadata.get("tags", [])]
        assert len(injected) == 1 and "SMOKE = True" in injected[0].source and '"suite-smoke"' in injected[0].source
        # stamped: the setup cell's banner says the numbers are meaningless
        assert any(nb.SMOKE_STAMP in _text(o) for o in _outputs(book)), f"{res.name} is not stamped as smoke"


def _notebook_methods() -> list[str]:
    """Every method named in a notebook's METHODS default (the ones the suite runs)."""
    import ast

    names: list[str] = []
    for path in sorted(notebooks_run.notebooks_dir().glob("*.ipynb")):
        default = ast.literal_eval(notebooks_run.declared_parameters(path)["METHODS"])
        names += [m for m in ([default] if isinstance(default, str) else default) if m != "auto"]
    return list(dict.fromkeys(names))


def test_the_notebooks_share_one_run_folder_and_every_method_runs_in_smoke(smoke_suite):
    _, run_path = smoke_suite
    folder = RunFolder(run_path)
    record = folder.read_run_json()
    assert record["smoke"] is True
    from colorbench.extras import missing_modules
    from colorbench.methods import method_names
    from colorbench.methods.registry import method_class

    expected = _notebook_methods()  # every method, including those that forward smoke through **options
    assert set(expected) <= set(method_names())  # a notebook naming a method colorbench lacks is a typo
    assert {"gray", "cnn-lpips", "cnn-mse", "ddcolor", "controlnet-canny-img2img"} <= set(expected)
    # on the lean install (README's `make test`) a method whose optional extra is absent is skipped with its
    # install command; every other method runs
    absent = {m for m in expected if method_class(m).requires_extra and missing_modules(method_class(m).requires_extra)}
    for method in absent:
        assert record["method_status"][method]["status"] == "skipped", method
        assert "pip install" in record["method_status"][method]["reason"], method
    expected = [m for m in expected if m not in absent]
    status = {m: record["method_status"].get(m, {}).get("status") for m in expected}
    assert status == dict.fromkeys(expected, "done"), record["method_status"]
    assert set(expected) <= set(folder.methods())
    for method in expected:  # smoke methods say so in the config the run recorded
        config = record["method_status"][method]["config"]
        assert method == "gray" or config.get("smoke") is True, (method, config)


# ------------------------------------------------------------------------------------------------- browser
def screenshot(html: Path, png: Path, profile: Path) -> np.ndarray:
    browser = chromium_or_skip()
    cmd = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           f"--user-data-dir={profile}", f"--screenshot={png}", "--window-size=1200,2000", html.resolve().as_uri()]
    subprocess.run(cmd, capture_output=True, timeout=120, check=False)
    assert png.is_file(), f"chromium wrote no screenshot of {html}"
    from PIL import Image

    return np.asarray(Image.open(png).convert("L"), dtype=np.float64)


def _assert_not_blank(pixels: np.ndarray, what: str) -> None:
    inked = (pixels < 200).mean()  # share of clearly non-background pixels
    assert pixels.std() > 10 and inked > 0.01, f"{what} renders blank (std {pixels.std():.1f}, inked {inked:.3f})"


@pytest.mark.browser
def test_exported_html_of_every_notebook_renders(smoke_suite, tmp_path):
    result, _ = smoke_suite
    for res in result.notebooks:
        assert res.html is not None and res.html.is_file(), res.name
        pixels = screenshot(res.html, tmp_path / f"{res.name}.png", tmp_path / "profile")
        _assert_not_blank(pixels, res.html.name)


@pytest.mark.browser
def test_the_report_the_suite_wrote_renders_and_is_linked_from_05(smoke_suite, tmp_path):
    _, run_path = smoke_suite
    report = run_path / "report.html"
    assert report.is_file()
    _assert_not_blank(screenshot(report, tmp_path / "report.png", tmp_path / "profile"), "report.html")
    exported = (run_path / "notebooks" / "05_report.html").read_text(encoding="utf-8")
    # the link works from the exported notebook's folder (nbconvert rewrites the quotes)
    assert re.search(r"""<a href=["']\.\./report\.html["']""", exported)


# ------------------------------------------------------------------------------------------------- failures
def _tiny_notebook(body: str):
    book = nbformat.v4.new_notebook()
    book.cells = [nbformat.v4.new_code_cell('RUN = "x"\nSMOKE = False', metadata={"tags": ["parameters"]}),
                  nbformat.v4.new_code_cell(body)]
    book.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return book


def _write_suite(folder: Path, bodies: dict[str, str]) -> None:
    folder.mkdir()
    for name, _ in notebooks_run.SUITE:
        nbformat.write(_tiny_notebook(bodies.get(name, "print('fine')")), str(folder / f"{name}.ipynb"))


def test_a_failing_notebook_is_named_its_dependants_skipped_the_others_run(tmp_path):
    source = tmp_path / "src"
    _write_suite(source, {"01_cnn": "raise RuntimeError('boom in the cnn')",
                          "04_evaluate": "import sys\nsys.exit(3)"})
    lines: list[str] = []
    result = notebooks_run.run_suite(run="failing", source_dir=source, log=lines.append)
    status = {r.name: r.status for r in result.notebooks}
    assert status == {"00_setup_and_data": "ok", "01_cnn": "failed", "02_coltran": "ok", "03_controlnet": "ok",
                      "04_evaluate": "failed", "05_report": "skipped", "06_eye_test": "skipped"}
    failed = {r.name: r for r in result.notebooks}
    assert "RuntimeError: boom in the cnn" in failed["01_cnn"].error and "cell [" in failed["01_cnn"].error
    assert failed["05_report"].error == "skipped: 04 failed"
    assert not result.ok and "01_cnn" in result.describe() and "FAILED" in result.describe()
    # the failed notebook is still saved and exported, showing where it broke
    assert "boom in the cnn" in failed["01_cnn"].html.read_text(encoding="utf-8")
    assert any("01_cnn" in line and "FAILED" in line for line in lines)


def test_a_skipped_notebook_is_named_as_not_run_and_the_whole_fix_is_printed(tmp_path):
    source = tmp_path / "src"
    _write_suite(source, {"00_setup_and_data": "raise RuntimeError('no credentials.\\nFix: set DATASET = \"samples\" "
                                               "in the parameters cell')"})
    lines: list[str] = []
    result = notebooks_run.run_suite(run="skips", source_dir=source, only=["00", "04", "05"], html=False,
                                     log=lines.append)
    by_name = {r.name: r for r in result.notebooks}
    assert by_name["04_evaluate"].error == "skipped: 00 failed"
    assert by_name["05_report"].error == "skipped: 04 did not run"  # not "04 failed": 04 never ran
    printed = "\n".join(lines)
    assert 'Fix: set DATASET = "samples" in the parameters cell' in printed  # the fix, not just the first line


def test_fail_fast_stops_at_the_first_failure(tmp_path):
    source = tmp_path / "src"
    _write_suite(source, {"00_setup_and_data": "raise ValueError('no data')"})
    result = notebooks_run.run_suite(run="fast", source_dir=source, only=["00", "02"], fail_fast=True, html=False,
                                     log=lambda line: None)
    assert [(r.name, r.status) for r in result.notebooks] == [("00_setup_and_data", "failed"),
                                                                ("02_coltran", "skipped")]
    assert result.notebooks[0].html is None and "ValueError: no data" in result.notebooks[0].error


def test_parameters_reach_the_kernel_and_the_output_folder_is_the_run_folder(tmp_path):
    source = tmp_path / "src"
    _write_suite(source, {"00_setup_and_data": "import os\nassert RUN == 'param-run' and SMOKE is True\n"
                                               "assert os.environ['COLORBENCH_UNATTENDED'] == '1'\n"
                                               "print(os.environ['COLORBENCH_NOTEBOOK_DIR'])"})
    result = notebooks_run.run_suite(source_dir=source, only=["00"], smoke=False, html=False,
                                     params={"RUN": "param-run", "SMOKE": True}, log=lambda line: None)
    assert result.ok, result.describe()
    out = Path(os.environ["COLORBENCH_RESULTS"]) / "param-run" / "notebooks"
    assert result.output_dir == out.resolve()
    book = nbformat.read(str(out / "00_setup_and_data.ipynb"), as_version=4)
    assert str(out.resolve()) in _text(book.cells[-1].outputs[0])


def test_the_kernel_keeps_its_log_but_not_the_tcp_eavesdropping_warning(tmp_path, capfd):
    """ipykernel warns "Kernel is running over TCP without encryption" under every notebook, though the kernel is
    on 127.0.0.1 with signed messages: the suite's kernel drops that one line and nothing else it logs."""
    source = tmp_path / "src"
    _write_suite(source, {"00_setup_and_data": "import logging\n"
                                               "logging.getLogger('IPKernelApp').warning('a kernel warning kept')"})
    result = notebooks_run.run_suite(source_dir=source, only=["00"], html=False, log=lambda line: None)
    assert result.ok, result.describe()
    err = capfd.readouterr().err
    assert "a kernel warning kept" in err  # the kernel's log still reaches the terminal
    assert "running over TCP" not in err


def test_an_interrupted_suite_prints_no_zmq_traceback_from_its_kernel(tmp_path, capfd):
    """Ctrl-C reaches the kernel too; its reply to the interrupted cell then fails on closed sockets, and ipykernel
    logged 20 lines of "ZMQError: Socket operation on non-socket" above the suite's one-line "interrupted" message.
    That error alone is dropped: any other error the kernel logs, another ZMQError included, still shows."""
    source = tmp_path / "src"
    cell = ("import errno, logging, zmq\n"
            "log = logging.getLogger('IPKernelApp')\n"
            "for code, text in ((errno.ENOTSOCK, 'sockets closed'), (errno.EAGAIN, 'another zmq error kept')):\n"
            "    try:\n"
            "        raise zmq.error.ZMQError(code)\n"
            "    except zmq.error.ZMQError:\n"
            "        log.error(text, exc_info=True)")
    _write_suite(source, {"00_setup_and_data": cell})
    result = notebooks_run.run_suite(source_dir=source, only=["00"], html=False, log=lambda line: None)
    assert result.ok, result.describe()
    err = capfd.readouterr().err
    assert "another zmq error kept" in err and "Resource temporarily unavailable" in err
    assert "sockets closed" not in err and "Socket operation on non-socket" not in err
