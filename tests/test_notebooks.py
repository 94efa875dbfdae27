"""The notebook suite's files and helpers (fast): committed notebooks equal the generator's output and carry no
outputs; each has the badge, a papermill-parsable parameters cell and the setup cell; colorbench.notebook's setup
(Colab/Drive/chdir/GPU/smoke guard) and display helpers; the suite runner's parameter handling; the CLI."""

from __future__ import annotations

import ast
import json
import os
import re
import sys
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest
from conftest import PROJECT_ROOT, load_script

import colorbench.notebook as nb
from colorbench import notebooks_run
from colorbench.cli import main as cli_main
from colorbench.config import RunConfig
from colorbench.metrics.scorer import smoke_scoring
from colorbench.notebook import environment as nb_environment
from colorbench.notebook import grids as nb_grids
from colorbench.run import run

NOTEBOOKS_DIR = PROJECT_ROOT / "notebooks"
SHARED_PARAMETERS = ["RUN", "DATASET", "SPLIT", "N_PER_CLASS", "LIMIT", "METHODS", "DEVICE", "BATCH_SIZE", "SEED",
                     "SMOKE", "USE_DRIVE"]


def _generator():
    return load_script("notebooks/build_notebooks.py")


def _notebooks() -> list[Path]:
    return sorted(NOTEBOOKS_DIR.glob("*.ipynb"))


def _read(path: Path):
    return nbformat.read(str(path), as_version=4)


# ------------------------------------------------------------------------------------------------- the files
def test_suite_lists_exactly_the_committed_notebooks():
    assert [p.stem for p in _notebooks()] == [name for name, _ in notebooks_run.SUITE]


def test_committed_notebooks_equal_the_generator_output():
    gen = _generator()
    assert sorted(gen.NOTEBOOKS) == [p.stem for p in _notebooks()]
    for path in _notebooks():
        assert path.read_text(encoding="utf-8") == gen.render(path.stem), (
            f"{path.name} differs from notebooks/build_notebooks.py: run `python notebooks/build_notebooks.py`")
    assert gen.main(["--check"]) == 0


def test_committed_notebooks_carry_no_outputs():
    for path in _notebooks():
        book = _read(path)
        assert notebooks_run.has_outputs(book) == [], f"{path.name} has outputs: `colorbench notebooks strip`"
        assert "papermill" not in book.metadata and "widgets" not in book.metadata


@pytest.mark.parametrize("path", _notebooks(), ids=lambda p: p.stem)
def test_notebook_opens_with_badge_parameters_and_setup(path):
    book = _read(path)
    nbformat.validate(book)
    intro, params, setup = book.cells[:3]
    url = f"https://colab.research.google.com/github/colorbench/colorbench/blob/main/notebooks/{path.name}"
    assert intro.cell_type == "markdown" and url in intro.source and "colab-badge.svg" in intro.source
    assert params.cell_type == "code" and params.metadata.get("tags") == ["parameters"]
    assert [c for c in book.cells if "parameters" in c.metadata.get("tags", [])] == [params]
    # papermill must understand every assignment, or `--params` silently cannot set it
    assigned = [n.targets[0].id for n in ast.parse(params.source).body if isinstance(n, ast.Assign)]
    declared = notebooks_run.declared_parameters(path)
    assert list(declared) == assigned
    assert set(SHARED_PARAMETERS) <= set(declared)
    defaults = {k: ast.literal_eval(v) for k, v in declared.items()}
    assert defaults["SMOKE"] is False and defaults["USE_DRIVE"] is True
    RunConfig(run=defaults["RUN"], methods=defaults["METHODS"])  # the defaults are a valid run config
    assert (setup.cell_type == "code"
            and "nb.setup(run=RUN, smoke=SMOKE, use_drive=USE_DRIVE, device=DEVICE)" in setup.source)
    assert "pip install" in setup.source and "[all]" not in setup.source.split("pip\", \"install")[-1]
    assert book.metadata.kernelspec.name == "python3"


@pytest.mark.parametrize("path", _notebooks(), ids=lambda p: p.stem)
def test_notebooks_hold_no_logic(path):
    """Past the setup cell, code cells call colorbench and display: no definitions, loops or foreign imports."""
    for cell in _read(path).cells[3:]:
        if cell.cell_type != "code":
            continue
        tree = ast.parse(cell.source)
        for node in ast.walk(tree):
            assert not isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.For, ast.While, ast.Lambda)), (
                f"{path.name}: logic in a notebook cell belongs in colorbench:\n{cell.source}")
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                module = node.module if isinstance(node, ast.ImportFrom) else node.names[0].name
                assert module.split(".")[0] == "colorbench", f"{path.name} imports {module}"


def test_all_runs_share_one_folder_and_every_notebook_uses_the_same_defaults():
    defaults = [notebooks_run.declared_parameters(p) for p in _notebooks()]
    for key in set(SHARED_PARAMETERS) - {"METHODS"}:
        assert len({d[key] for d in defaults}) == 1, f"notebooks disagree on the default of {key}"


# ------------------------------------------------------------------------------------------------- strip
def test_strip_outputs_removes_outputs_counts_and_papermill_metadata(tmp_path):
    book = _read(_notebooks()[0])
    code = next(c for c in book.cells if c.cell_type == "code")
    code.outputs = [nbformat.v4.new_output("stream", name="stdout", text="hello\n")]
    code.execution_count = 3
    code.metadata["papermill"] = {"duration": 1.0}
    book.metadata["papermill"] = {"parameters": {}}
    assert notebooks_run.has_outputs(book) == [book.cells.index(code)]
    path = tmp_path / "dirty.ipynb"
    nbformat.write(book, str(path))
    assert cli_main(["notebooks", "strip", "--check", str(path)]) == 1
    assert cli_main(["notebooks", "strip", str(path)]) == 0
    clean = _read(path)
    assert notebooks_run.has_outputs(clean) == [] and "papermill" not in clean.metadata
    assert cli_main(["notebooks", "strip", "--check", str(path)]) == 0
    assert clean.cells[1].metadata["tags"] == ["parameters"]  # tags survive


# ------------------------------------------------------------------------------------------------- parameters
def test_parse_params_reads_yaml_values():
    got = notebooks_run.parse_params(["LIMIT=4", "SMOKE=true", "METHODS=[gray, eccv16]", "01.METHODS=cnn-lpips",
                                      "N_PER_CLASS=", "RUN=x"])
    assert got == {"LIMIT": 4, "SMOKE": True, "METHODS": ["gray", "eccv16"], "01.METHODS": "cnn-lpips",
                   "N_PER_CLASS": None, "RUN": "x"}
    with pytest.raises(ValueError, match="KEY=VALUE"):
        notebooks_run.parse_params(["LIMIT4"])


def test_parameters_for_scopes_and_filters():
    declared = {"RUN": "'a'", "LIMIT": "None", "METHODS": "[]"}
    params = {"RUN": "r", "LIMIT": 2, "EPOCHS": 3, "01.METHODS": ["cnn-lpips"], "02.METHODS": ["coltran"]}
    assert notebooks_run.parameters_for("01_cnn", declared, params) == {"RUN": "r", "LIMIT": 2,
                                                                         "METHODS": ["cnn-lpips"]}
    assert notebooks_run.parameters_for("00_setup_and_data", declared, params) == {"RUN": "r", "LIMIT": 2}
    with pytest.raises(ValueError, match="has no parameter 'NOPE'"):
        notebooks_run.parameters_for("01_cnn", declared, {"01.NOPE": 1})


def test_check_params_catches_typos_and_unknown_scopes():
    declared = {"00_setup_and_data": {"LIMIT": "None"}, "04_evaluate": {"LIMIT": "None"}}
    notebooks_run.check_params({"LIMIT": 3, "04.LIMIT": 2}, declared)
    with pytest.raises(ValueError, match="unknown notebook parameter 'LIMT'"):
        notebooks_run.check_params({"LIMT": 3}, declared)
    with pytest.raises(ValueError, match="no selected notebook '02'"):
        notebooks_run.check_params({"02.LIMIT": 3}, declared)
    with pytest.raises(ValueError, match="04_evaluate has no parameter 'EPOCHS'"):
        notebooks_run.check_params({"04.EPOCHS": 3}, declared)


def test_select_by_number_or_name_in_suite_order():
    assert notebooks_run.select(["04", "00_setup_and_data"]) == ["00_setup_and_data", "04_evaluate"]
    assert notebooks_run.select(None) == [n for n, _ in notebooks_run.SUITE]
    with pytest.raises(ValueError, match="unknown notebook"):
        notebooks_run.select(["07"])


def test_cli_rejects_a_misspelt_parameter_before_running_anything(capsys):
    assert cli_main(["notebooks", "run", "--smoke", "--only", "00", "--params", "LIMT=3"]) == 2
    assert "unknown notebook parameter 'LIMT'" in capsys.readouterr().err


def test_cli_lists_the_suite_and_parameters(capsys):
    assert cli_main(["notebooks", "list"]) == 0
    out = capsys.readouterr().out
    for name, _ in notebooks_run.SUITE:
        assert name in out
    assert "SMOKE = False" in out


def test_python_kernel_points_at_this_interpreter_and_restores_the_environment(monkeypatch):
    from jupyter_client.kernelspec import KernelSpecManager

    monkeypatch.delenv("JUPYTER_PATH", raising=False)
    monkeypatch.setenv("PYTHONPATH", "/elsewhere")
    with notebooks_run.python_kernel() as name:
        spec = KernelSpecManager().get_kernel_spec(name)
        assert spec.argv[0] == sys.executable
        assert os.environ["PYTHONPATH"].split(os.pathsep) == [str(PROJECT_ROOT / "src"), "/elsewhere"]
    assert "JUPYTER_PATH" not in os.environ and os.environ["PYTHONPATH"] == "/elsewhere"


# ------------------------------------------------------------------------------------------------- setup()
@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    """setup() sets environment variables and changes the working folder: restore both after the test."""
    for var in nb.DRIVE_LAYOUT:
        (monkeypatch.setenv(var, os.environ.get(var, "")) if os.environ.get(var)
         else monkeypatch.delenv(var, raising=False))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_setup_in_colab_mounts_drive_and_points_every_cache_there(clean_env, monkeypatch, tmp_path):
    mounted = []
    monkeypatch.setattr(nb_environment, "in_colab", lambda: True)
    monkeypatch.setattr(nb_environment, "mount_drive", lambda mountpoint: mounted.append(mountpoint))
    monkeypatch.setattr(nb_environment, "DRIVE_MOUNTPOINT", tmp_path / "drive")
    env = nb.setup(run="nb-test", use_drive=True, device="cpu", show=False)
    root = tmp_path / "drive" / "MyDrive" / "colorbench"
    assert mounted == [tmp_path / "drive"] and env.drive_root == root and env.in_colab
    assert {var: os.environ[var] for var in nb.DRIVE_LAYOUT} == {
        "COLORBENCH_MODELS": str(root / "models"), "COLORBENCH_DATA": str(root / "data"),
        "COLORBENCH_RESULTS": str(root / "results"), "TORCH_HOME": str(root / "torch"),
        "HF_HOME": str(root / "huggingface")}
    assert all(Path(os.environ[var]).is_dir() for var in nb.DRIVE_LAYOUT)
    assert env.run_path == root / "results" / "nb-test"
    assert Path.cwd() == PROJECT_ROOT  # relative models/ data/ results/ mean the checkout's


def test_setup_outside_colab_never_mounts_and_pins_relative_paths_before_chdir(clean_env, monkeypatch, tmp_path):
    monkeypatch.setattr(nb_environment, "in_colab", lambda: False)
    monkeypatch.setattr(nb_environment, "mount_drive", lambda mountpoint: pytest.fail("mounted Drive outside Colab"))
    monkeypatch.setenv("COLORBENCH_RESULTS", "my-results")
    env = nb.setup(run="nb-test", use_drive=True, device="cpu", show=False)
    assert env.drive_root is None and not env.in_colab
    assert os.environ["COLORBENCH_RESULTS"] == str(tmp_path / "my-results")
    assert env.run_path == tmp_path / "my-results" / "nb-test"
    assert "not used (Colab only)" in repr(env)
    assert env.progress  # interactive: progress bars
    monkeypatch.setenv(nb.UNATTENDED_ENV, "1")  # what `colorbench notebooks run` sets
    assert not nb.setup(run="nb-test", device="cpu", show=False).progress


def test_setup_warns_on_a_cpu_runtime_but_not_in_smoke_runs(clean_env, monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    env = nb.setup(run="nb-test", device="auto", show=False)
    assert env.device == "cpu" and env.warnings == [nb.CPU_WARNING]
    assert "Change runtime type" in env._repr_html_()
    smoke = nb.setup(run="nb-test-smoke", smoke=True, device="auto", show=False)
    assert smoke.warnings == [] and nb.SMOKE_STAMP in smoke._repr_html_() and nb.SMOKE_STAMP in repr(smoke)
    with pytest.raises(ValueError, match="no CUDA GPU"):
        nb.setup(run="nb-test", device="cuda", show=False)


def _gray_run(name: str, *, smoke: bool, limit: int = 3) -> Path:
    summary = run(RunConfig(run=name, dataset="samples", limit=limit, methods=["gray"], device="cpu", smoke=smoke),
                  progress=False)
    return summary.path


def test_setup_refuses_to_mix_smoke_and_real_runs_in_one_folder(clean_env):
    _gray_run("mixed", smoke=True, limit=1)
    with pytest.raises(ValueError, match="holds a SMOKE run"):
        nb.setup(run="mixed", smoke=False, device="cpu", show=False)
    nb.setup(run="mixed", smoke=True, device="cpu", show=False)


# ------------------------------------------------------------------------------------------------- display
def test_image_grid_rows_columns_missing_cells_and_smoke_stamp(tmp_path):
    path = _gray_run("grid", smoke=True)
    ids = [s["id"] for s in nb.run_folder("grid").read_samples()]
    (path / "images" / "gray" / f"{ids[1]}.png").unlink()  # as if the method failed on that image
    rows = nb.grid_rows("grid", limit=None)
    assert [r.sample_id for r in rows] == ids
    assert [c.column for c in rows[0].cells] == ["input (gray)", "truth", "gray"]
    assert rows[1].cells[2].path is None and rows[0].cells[2].path == path / "images" / "gray" / f"{ids[0]}.png"
    grid = nb.image_grid("grid", limit=2)
    html = grid._repr_html_()
    assert html.count("<img ") == 5 and html.count("<tr>") == 3  # header + 2 rows; one missing cell
    assert nb.SMOKE_STAMP.upper() in html and nb.SMOKE_STAMP.upper() in repr(grid)
    assert "gray=—" in repr(grid)
    noted = nb.image_grid("grid", limit=1, captions={(ids[0], "gray"): "LPIPS 0.123", ("other", "gray"): "x"})
    assert noted._repr_html_().count("LPIPS 0.123") == 1 and ">x<" not in noted._repr_html_()
    with pytest.raises(ValueError, match="\\['coltran'\\] never ran"):
        nb.grid_rows("grid", methods=["coltran"])
    with pytest.raises(FileNotFoundError, match="USE_DRIVE"):
        nb.image_grid("no-such-run")


def test_image_grid_shows_a_skipped_method_as_an_empty_column(tmp_path):
    from colorbench import atomic

    path = _gray_run("skipped", smoke=False, limit=2)
    record = json.loads((path / "run.json").read_text())
    record["method_status"]["coltran"] = {"status": "skipped", "reason": "weights missing"}
    atomic.write_json(path / "run.json", record)
    rows = nb.grid_rows("skipped", methods=["gray", "coltran"])
    assert [c.path is None for c in rows[0].cells] == [False, False, False, True]
    html = nb.image_grid("skipped", methods=["gray", "coltran"])._repr_html_()
    assert "coltran (skipped)" in html and html.count("<img ") == 6


def test_image_grid_of_a_real_run_is_not_stamped():
    _gray_run("real", smoke=False, limit=1)
    assert "SMOKE" not in nb.image_grid("real")._repr_html_()


def test_thumbnails_keep_the_aspect_ratio():
    import base64
    import io

    from PIL import Image

    uri = nb_grids._thumbnail_uri(np.zeros((50, 200, 3), np.uint8), 40)
    img = Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1])))
    assert img.size == (160, 40)


def test_grid_photos_keep_their_shape_in_a_page_that_caps_image_width():
    """JupyterLab's stylesheet gives every output image ``max-width: 100%``: a grid's photo with a fixed height must
    opt out, or a squeezed column shows it narrowed but as tall (a landscape photo drawn as a portrait)."""
    wide = np.zeros((30, 90, 3), np.uint8)
    grid = nb.array_grid({f"method {i}": [wide] for i in range(13)}, caption="thirteen columns")
    styles = re.findall(r"<img [^>]*style='([^']*)'", grid._repr_html_())
    assert len(styles) == 13
    for style in styles:
        declared = dict(d.split(":", 1) for d in style.split(";") if d)
        assert declared["height"].endswith("px") and declared["width"] == "auto"
        assert declared.get("max-width") == "none", style
    assert grid._repr_html_().startswith("<div style='overflow-x:auto'>")  # so a wide grid scrolls instead


def test_dataset_grid_shows_the_subset_the_runner_draws():
    grid = nb.dataset_grid("samples", limit=4, seed=0, show=3)
    from colorbench.data.specs import open_dataset

    expected = open_dataset("samples").subset(split="test", limit=4, seed=0).samples[:3]
    text = repr(grid)
    assert "4 images selected, showing 3" in text
    assert all(s.id in text for s in expected) and grid._repr_html_().count("<img ") == 6


def test_timings_table_sums_timings_csv():
    path = _gray_run("timed", smoke=False, limit=3)
    raw = pd.read_csv(path / "timings.csv")
    table = nb.timings_table("timed")
    row = table.set_index("method").loc["gray"]
    assert row["images"] == raw["n_images"].sum() == 3
    assert row["inference_s"] == pytest.approx(raw["inference_s"].sum())
    assert row["s_per_image"] == pytest.approx(raw["inference_s"].sum() / 3)


def test_run_table_reports_status_per_method():
    _gray_run("status", smoke=False, limit=2)
    table = nb.run_table("status")
    assert table.to_dict("records") == [{"method": "gray", "status": "done", "written": 2, "reused": 0, "failed": 0,
                                         "reason": ""}]


def test_styled_highlights_the_best_value_and_stamps_smoke():
    df = pd.DataFrame({"method": ["a", "b"], "lpips": [0.3, 0.2], "psnr": [20.0, 25.0]})
    html = nb.styled(df, caption="scores", smoke=True, lower_is_better=["lpips", "absent"],
                     higher_is_better=["psnr"]).to_html()
    assert nb.SMOKE_STAMP.upper() in html and "scores" in html
    # exactly b's lpips (row 1, column 1: lowest) and b's psnr (row 1, column 2: highest) are marked best
    import re

    rule = re.search(r"\n([^{}]*)\{\s*font-weight: bold;\s*color: #0a7d32;", html)
    assert rule, html
    assert sorted(sel.strip().split("_", 2)[-1] for sel in rule.group(1).split(",")) == ["row1_col1", "row1_col2"]


def test_methods_table_lists_every_registered_method():
    from colorbench.methods import method_names

    table = nb.methods_table()
    assert list(table["method"]) == method_names()
    gray = table.set_index("method").loc["gray"]
    assert gray["ready"] and gray["weights"] == "none"


def test_relative_link_from_the_executed_notebooks_folder(monkeypatch, tmp_path):
    target = tmp_path / "run" / "report.html"
    monkeypatch.setenv("COLORBENCH_NOTEBOOK_DIR", str(tmp_path / "run" / "notebooks"))
    link = nb.relative_link(target, label="the report")
    assert "href='../report.html'" in link._repr_html_()
    monkeypatch.delenv("COLORBENCH_NOTEBOOK_DIR")
    link = nb.relative_link(target, label="the report")
    expected = os.path.relpath(target, PROJECT_ROOT / "notebooks")
    assert f"href='{expected}'" in link._repr_html_()


def test_stage_table_gives_seconds_per_image_by_stage():
    from colorbench import atomic
    from colorbench.runfolder import TIMING_COLUMNS

    path = _gray_run("stages", smoke=False, limit=2)
    rows = [{"method": "coltran", "batch": b, "k": "0", "n_images": 2, "preprocess_s": 0, "inference_s": 9,
             "postprocess_s": 0, "device": "cpu", "peak_memory_mb": 1,
             "stages": json.dumps({"colorizer": 6.0 + b, "spatial_upsampler": 3.0})} for b in range(2)]
    atomic.append_csv_rows(path / "timings.csv", rows, TIMING_COLUMNS)
    table = nb.stage_table("stages").set_index("method")
    assert list(table.index) == ["coltran"]  # gray reports no stages
    assert table.loc["coltran", "colorizer"] == pytest.approx((6 + 7) / 4)
    assert table.loc["coltran", "spatial_upsampler"] == pytest.approx(6 / 4)

    # a method with other stages: each row's cells for stages it does not have are empty, not 0 s
    atomic.append_csv_rows(path / "timings.csv", [{**rows[0], "method": "ddcolor", "stages": json.dumps(
        {"network": 2.0})}], TIMING_COLUMNS)
    both = nb.stage_table("stages").set_index("method")
    assert both.loc["ddcolor", "network"] == pytest.approx(1.0) and both.loc["coltran", "colorizer"] > 0
    assert pd.isna(both.loc["coltran", "network"]) and pd.isna(both.loc["ddcolor", "colorizer"])
    shown = nb.styled(nb.stage_table("stages"), precision=3).to_html()
    assert shown.count(">—<") == 3 and ">0.000<" not in shown  # ddcolor: colorizer, spatial_upsampler; coltran: network


def test_report_link_and_inline_report(monkeypatch):
    path = _gray_run("reported", smoke=False, limit=1)
    with pytest.raises(FileNotFoundError, match="colorbench report reported"):
        nb.report_link("reported")
    (path / "report.html").write_text("<html><body><h1>Report \"quoted\" & more</h1></body></html>", encoding="utf-8")
    monkeypatch.setenv("COLORBENCH_NOTEBOOK_DIR", str(path / "notebooks"))
    assert "href='../report.html'" in nb.report_link("reported")._repr_html_()
    frame = nb.embed_report("reported")._repr_html_()
    assert frame.startswith("<iframe srcdoc=\"") and "&quot;quoted&quot; &amp; more" in frame
    assert frame.count('"') == 6  # srcdoc, style, title: the page's own quotes are escaped


def test_a_report_too_big_to_save_in_the_notebook_is_linked_not_embedded(monkeypatch):
    """Notebook 05 embedded a real run's 11 MB report and was saved at 11 MB, slow to open in Colab."""
    path = _gray_run("big-report", smoke=False, limit=1)
    (path / "report.html").write_text("<html>" + "x" * 2_000_000 + "</html>", encoding="utf-8")
    monkeypatch.setenv("COLORBENCH_NOTEBOOK_DIR", str(path / "notebooks"))
    shown = nb.embed_report("big-report")._repr_html_()
    assert len(shown) < 2000 and "srcdoc" not in shown
    assert "report.html is 1.9 MB: not embedded" in shown and "href='../report.html'" in shown


@pytest.mark.slow
def test_setup_cell_installs_from_github_in_a_simulated_colab(tmp_path):
    """The first code that runs in Colab: clone (once), pip install -e with this notebook's extras, import from the
    clone, mount Drive, chdir into the clone. git, pip and google.colab are stand-ins that record their calls."""
    import subprocess
    import textwrap

    fakes, clone, log = tmp_path / "fakes", tmp_path / "content" / "colorbench", tmp_path / "calls.log"
    (fakes / "bin").mkdir(parents=True)
    (fakes / "bin" / "git").write_text(textwrap.dedent(f"""\
        #!/bin/sh
        echo "git $*" >> {log}
        mkdir -p "$5" && cp -r {PROJECT_ROOT}/src {PROJECT_ROOT}/pyproject.toml {PROJECT_ROOT}/notebooks "$5"/
        """))
    (fakes / "bin" / "git").chmod(0o755)
    (fakes / "pip").mkdir()
    (fakes / "pip" / "__init__.py").write_text("")
    fail_once = tmp_path / "pip-fails-once"  # the first install fails (network, quota): a rerun must recover
    fail_once.touch()
    (fakes / "pip" / "__main__.py").write_text(
        f"import os, sys\nopen({str(log)!r}, 'a').write('pip ' + ' '.join(sys.argv[1:]) + '\\n')\n"
        f"if os.path.exists({str(fail_once)!r}):\n    os.remove({str(fail_once)!r})\n    sys.exit(1)\n")
    (fakes / "google" / "colab").mkdir(parents=True)  # google/ stays a namespace package (protobuf lives there too)
    (fakes / "google" / "colab" / "__init__.py").write_text("")
    (fakes / "google" / "colab" / "drive.py").write_text(
        f"import os\ndef mount(path):\n    os.makedirs(path, exist_ok=True)\n    open({str(log)!r}, 'a').write('mount "
        "' + path + '\\n')\n")

    shadowed = tmp_path / "shadowed"
    (shadowed / "numpy-0.0.1.dist-info").mkdir(parents=True)
    (shadowed / "numpy-0.0.1.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\nName: numpy\nVersion: 0.0.1\n")

    book = _read(NOTEBOOKS_DIR / "00_setup_and_data.ipynb")
    setup = book.cells[2].source.replace("/content/colorbench", str(clone))
    head, call = setup.split("env = nb.setup(")
    # a fresh Colab runtime has no colorbench: hide one installed here (e.g. the CI venv's editable install)
    hide_installed = ("import os as _os, sys as _sys\n"
                      "_sys.path[:] = [p for p in _sys.path if not _os.path.isfile(_os.path.join(p or '.', "
                      "'colorbench', '__init__.py'))]\n"  # a package; the clone folder in cwd stays, as in Colab
                      "_sys.meta_path[:] = [f for f in _sys.meta_path if 'editable' not in type(f).__module__]\n"
                      # a second, shadowed copy of numpy's metadata later on sys.path, as Colab has for some packages
                      # in /usr/lib/python3/dist-packages: pinning both versions made pip's constraints impossible
                      f"_sys.path.append({str(shadowed)!r})")
    script = "\n".join([
        hide_installed,
        book.cells[1].source, 'RUN = "colab-sim"\nSMOKE = True\nDEVICE = "cpu"', head,
        f"nb.environment.DRIVE_MOUNTPOINT = __import__('pathlib').Path({str(tmp_path / 'drive')!r})",
        "nb.setup(" + call,
        "import colorbench, json, os",
        "print(json.dumps({'module': colorbench.__file__, 'cwd': os.getcwd(), 'results': "
        "os.environ['COLORBENCH_RESULTS']}))",
    ])
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "COLORBENCH_RESULTS")}
    env.update(PYTHONPATH=str(fakes), PATH=f"{fakes / 'bin'}{os.pathsep}{os.environ['PATH']}")
    # cwd /content, as in Colab: there the clone folder is found as a namespace package `colorbench` after a failed
    # install, and the setup cell skipped the install for good (ModuleNotFoundError: colorbench.notebook)
    clone.parent.mkdir(parents=True)
    for attempt in range(3):  # a failed install, then two "Run all" in the same runtime: no second clone
        out = subprocess.run([sys.executable, "-c", script], cwd=clone.parent, env=env, capture_output=True,
                             text=True, timeout=300, check=False)
        if attempt == 0:
            assert out.returncode != 0 and "CalledProcessError" in out.stderr, out.stderr[-3000:]
            continue
        assert out.returncode == 0, out.stderr[-3000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["module"] == str(clone / "src" / "colorbench" / "__init__.py")
    assert got["cwd"] == str(clone)
    assert got["results"] == str(tmp_path / "drive" / "MyDrive" / "colorbench" / "results")
    calls = log.read_text().splitlines()
    assert calls.count(f"git clone --depth 1 https://github.com/colorbench/colorbench {clone}") == 1
    installs = [c for c in calls if c.startswith("pip install")]
    assert len(installs) == 3 and all(re.fullmatch(rf"pip install --quiet -c (\S+) -e {re.escape(str(clone))}"
                                                   r"\[kaggle\]", c) for c in installs), installs
    # every package already there is pinned to its version, so the install cannot change Colab's own packages
    kept = [Path(re.fullmatch(r"pip install --quiet -c (\S+) .*", c)[1]) for c in installs]
    assert len(set(kept)) == 3  # each install its own file: a notebook running beside it cannot swap the pins
    keep = kept[-1].read_text().splitlines()
    assert not any(line.startswith("colorbench==") for line in keep)
    assert [line for line in keep if line.lower().startswith("numpy==")] == [f"numpy=={np.__version__}"]
    assert calls.count(f"mount {tmp_path / 'drive'}") == 2


def test_array_grid_shows_in_memory_images_and_checks_shapes():
    gray = np.zeros((20, 30), np.uint8)
    rgb = np.zeros((20, 30, 3), np.uint8)
    grid = nb.array_grid({"gray": [gray, gray], "edges": [rgb, None]}, row_names=["a", "b"], caption="edges",
                         smoke=True)
    html = grid._repr_html_()
    assert html.count("<img ") == 3 and ">—<" in html and nb.SMOKE_STAMP.upper() in html
    with pytest.raises(ValueError, match="every column needs 2 images"):
        nb.array_grid({"a": [gray, gray], "b": [gray]})
    with pytest.raises(ValueError, match="expected a uint8"):
        nb.array_grid({"a": [gray.astype(np.float32)]})


# ------------------------------------------------------------------------------------------------- scoring/report
def test_metric_status_says_what_was_computed_and_why_not():
    table = nb.metric_status({
        "lpips": {"available": True, "calibrated": True, "net": "alex", "version": "0.1", "trunk": "imagenet"},
        "fid": {"available": False, "reason": "missing", "message": "weights 'fid-inception-v3' are not available"},
    }).set_index("metric")
    assert table.loc["LPIPS", "computed"] and table.loc["LPIPS", "real weights"]
    assert "net=alex" in table.loc["LPIPS", "detail"]
    assert not table.loc["FID", "computed"] and "fid-inception-v3" in table.loc["FID", "detail"]
    smoke = nb.metric_status({"lpips": {"available": True, "calibrated": False}, "fid": {}}).set_index("metric")
    assert smoke.loc["LPIPS", "computed"] and smoke.loc["LPIPS", "real weights"] is False
    assert "NOT LPIPS" in smoke.loc["LPIPS", "detail"] and smoke.loc["FID", "detail"] == "not computed"


def test_smoke_scoring_options_and_cached_stand_in_weights(tmp_path):
    """The real stand-in builder (no mock): its file loads into the FID extractor, is built once and reused."""
    import torch

    from colorbench.weights import load_torch_file

    assert smoke_scoring(False) == {}
    assert smoke_scoring(True, fid=False) == {"lpips_trunk": "uncalibrated"}
    first = smoke_scoring(True, cache=tmp_path)
    weights = tmp_path / "inception-uncalibrated-he.pt"
    assert first == {"lpips_trunk": "uncalibrated", "fid_weights": weights}
    state = load_torch_file(weights)
    assert any(k.endswith("Conv2d_1a_3x3.conv.weight") for k in state) and len(state) > 300
    assert all(torch.isfinite(t.float()).all() for t in state.values())
    built = weights.stat().st_mtime_ns
    assert smoke_scoring(True, cache=tmp_path) == first
    assert weights.stat().st_mtime_ns == built  # reused, not rebuilt
    assert [p.name for p in tmp_path.iterdir()] == ["inception-uncalibrated-he.pt"]  # nothing half-written left


def test_report_table_and_figures_render_with_stamps():
    from matplotlib.figure import Figure

    from colorbench.report.tables import Table

    numbers = pd.DataFrame({"method": ["a", "b"], "lpips": [0.3, 0.2]})
    table = Table("headline", "Headline", numbers, numbers.astype(str), ["a note"], {"lpips": {1}})
    shown = nb.report_table(table, smoke=True)
    assert 'class="best"' in shown._repr_html_() and "a note" in shown._repr_html_()
    assert nb.SMOKE_STAMP in shown._repr_html_() and nb.SMOKE_STAMP in repr(shown)
    assert nb.SMOKE_STAMP not in nb.report_table(table)._repr_html_()
    fig = Figure(figsize=(2, 2))
    fig.subplots().plot([0, 1], [1, 0])
    html = nb.figures_html({"bars": fig, "grid_random": fig}, {"bars": "Mean per method"}, smoke=True)._repr_html_()
    assert html.count("<img src='data:image/png;base64,") == 1  # the photo grid is left to the report
    assert f"Mean per method — {nb.SMOKE_STAMP.upper()}" in html
    assert nb.figures_html({"bars": fig, "grid_random": fig}, include_grids=True)._repr_html_().count("<img ") == 2


def test_run_inputs_are_the_grays_the_run_wrote():
    from colorbench.color import to_gray
    from colorbench.data.images import load_image

    _gray_run("inputs", smoke=False, limit=3)
    samples = nb.run_folder("inputs").read_samples()
    inputs = nb.run_inputs("inputs", limit=2)
    assert inputs.ids == [s["id"] for s in samples[:2]] and inputs.labels == [s["label"] for s in samples[:2]]
    for gray, sample in zip(inputs.grays, samples):
        assert gray.dtype == np.uint8 and gray.ndim == 2
        np.testing.assert_array_equal(gray, to_gray(load_image(sample["source"]).rgb))


def test_styled_accepts_row_dicts():
    html = nb.styled([{"preset": "label", "uses_label": "True"}], caption="presets").to_html()
    assert "label" in html and "presets" in html


def test_a_run_name_is_never_taken_from_the_working_folder(monkeypatch):
    """setup() moves into the checkout, which has notebooks/ and data/ folders: run names must not resolve there."""
    path = _gray_run("notebooks", smoke=False, limit=1)
    monkeypatch.chdir(PROJECT_ROOT)
    assert (PROJECT_ROOT / "notebooks").is_dir()
    assert nb.run_folder("notebooks").path == path
    assert nb.run_folder(str(path)).path == path  # a path is a path
    with pytest.raises(FileNotFoundError, match="USE_DRIVE"):
        nb.run_folder("data")
