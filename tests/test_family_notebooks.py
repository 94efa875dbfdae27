"""What notebooks 02 and 03 call to name their family's methods and to show the diffusion conditioning: an unknown
method is listed as such and left out of the run, and notebook 03's pictures become a banner with the install
command, not an error, when the diffusion extra is missing."""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_the_family_table_lists_unknown_methods_and_the_run_list_leaves_them_out(capsys):
    from colorbench.notebook.family import family_table, known_methods

    table = family_table(["controlnet-brightness", "no-such-method", "gray"]).set_index("method")
    assert list(table.index) == ["controlnet-brightness", "no-such-method", "gray"]
    assert table.loc["no-such-method", "why not"].startswith("unknown method: this colorbench has no 'no-such-method'")
    assert not table.loc["no-such-method", "ready"]
    assert table.loc["controlnet-brightness", "family"] == "diffusion"
    assert table.loc["gray", "ready"] and table.loc["gray", "why not"] == ""
    assert known_methods(["gray", "no-such-method", "gray", "controlnet-canny"]) == ["gray", "controlnet-canny"]
    assert "unknown method" in capsys.readouterr().out  # said, not silently dropped
    assert known_methods("gray,controlnet-canny", show=False) == ["gray", "controlnet-canny"]  # as --params gives it
    assert "gray" in known_methods("auto", show=False) and len(family_table("auto")) == len(known_methods("auto"))


def test_without_the_diffusion_extra_notebook_03_shows_the_install_not_an_error(monkeypatch):
    from colorbench import extras
    from colorbench.notebook.diffusion import conditioning_grid, preset_grid

    monkeypatch.setattr(extras, "missing_modules", lambda extra: ["diffusers"] if extra == "diffusion" else [])
    gray = [np.full((32, 32), 90, np.uint8)]
    shown = conditioning_grid(gray, row_names=["a"], methods=["controlnet-canny", "controlnet-brightness"])
    assert "colorbench-banner" in shown.html and "pip install -e '.[diffusion]'" in shown.text
    shown = preset_grid(gray, labels=[None], row_names=["a"], methods=["controlnet-brightness"], presets=["label"])
    assert "diffusers not installed" in shown.text


def test_the_conditioning_grid_shows_what_each_controlnet_is_given():
    from conftest import skip_without

    from colorbench.notebook.diffusion import conditioning_grid

    skip_without("diffusion")  # without it the grid is the install banner (the test above)

    yy, xx = np.mgrid[0:40, 0:60]
    gray = np.where((yy - 20) ** 2 + (xx - 30) ** 2 < 100, 200, 50).astype(np.uint8)
    grid = conditioning_grid([gray], row_names=["disc"], smoke=True,
                             methods=["controlnet-canny", "controlnet-canny-img2img", "controlnet-brightness"],
                             method_options={"diffusion": {"resolution": 128}})
    assert grid.text == ("ControlNet conditioning, on the model's canvas: gray input, controlnet-canny sees, "
                         "controlnet-brightness sees x 1 rows")


def test_the_preset_grid_runs_each_method_under_each_preset():
    from conftest import skip_without

    from colorbench.notebook.diffusion import preset_grid

    skip_without("diffusion")

    grid = preset_grid([np.full((40, 60), 120, np.uint8)], labels=["rowing"], row_names=["a"], smoke=True,
                       methods=["controlnet-brightness"], presets=["original", "label"],
                       method_options={"diffusion": {"steps": 1}}, device="cpu")
    assert "controlnet-brightness · original, controlnet-brightness · label x 1 rows" in grid.text
    assert "SMOKE" in grid.text.upper()
