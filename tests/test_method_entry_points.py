"""A method shipped by another package: a throw-away installed distribution (a ``*.dist-info`` folder with an
``entry_points.txt`` and its module, on the path of a fresh Python) declares it in the ``colorbench.methods`` group,
and colorbench lists it, runs it by name and takes its option; a broken entry point is left out with a warning."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from colorbench.methods.base import Method
from colorbench.methods.registry import get_method, method_names, register_method, unregister_method

SRC = Path(__file__).resolve().parents[1] / "src"

PLUGIN = textwrap.dedent('''
    """A method from outside colorbench: it declares no name (the registry's, from the entry point, is the one)."""
    from dataclasses import dataclass

    import numpy as np

    from colorbench.methods import Method, MethodOptions


    @dataclass(frozen=True, kw_only=True)
    class SepiaOptions(MethodOptions):
        warmth: float = 0.8


    class Sepia(Method):
        description = "Sepia tone from a plug-in package."
        family = "floor"  # every method says which family it answers for (colorbench.methods.families)
        Options = SepiaOptions

        def load(self, device):
            self.device = device

        def colorize(self, grays, *, seed, item_seeds=None, labels=None):
            tint = np.array([1.0, self.options.warmth, 0.6])
            return [np.clip(g[..., None] * tint, 0, 255).astype(np.uint8) for g in grays]
''')

ENTRY_POINTS = textwrap.dedent("""
    [colorbench.methods]
    sepia-plugin = cb_sepia_plugin:Sepia
    gray = cb_sepia_plugin:Sepia
""")


@pytest.fixture
def plugin_site(tmp_path) -> Path:
    """What ``pip install cb-sepia-plugin`` would leave in site-packages: the module and its dist-info."""
    site = tmp_path / "site"
    (site / "cb_sepia_plugin").mkdir(parents=True)
    (site / "cb_sepia_plugin" / "__init__.py").write_text(PLUGIN)
    info = site / "cb_sepia_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: cb-sepia-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(ENTRY_POINTS)
    return site


def _colorbench(site: Path, *argv: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), str(site)]),
           "COLORBENCH_RESULTS": str(cwd / "results")}
    return subprocess.run([sys.executable, "-m", "colorbench", *argv], env=env, cwd=cwd, capture_output=True,
                          text=True, timeout=300)


def test_a_package_ships_a_method_through_the_entry_point_group(plugin_site, tmp_path):
    listed = _colorbench(plugin_site, "methods", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    line = next(line for line in listed.stdout.splitlines() if line.strip().startswith("sepia-plugin"))
    assert "deterministic" in line and "ready" in line and "Sepia tone from a plug-in package." in listed.stdout
    # the clash with a built-in name is refused, named with its package, and gray stays colorbench's own
    assert "ignoring the colorbench.methods entry point 'gray' of cb-sepia-plugin" in listed.stderr
    assert "No colour at all" in listed.stdout

    images = tmp_path / "photos" / "beach"
    images.mkdir(parents=True)
    Image.fromarray(np.full((24, 32, 3), 120, np.uint8)).save(images / "a.png")
    ran = _colorbench(plugin_site, "run", "--run", "plug", "--dataset", str(tmp_path / "photos"), "--methods",
                      "sepia-plugin", "--option", "sepia-plugin.warmth=0.5", "--device", "cpu", cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    folder = tmp_path / "results" / "plug"
    record = json.loads((folder / "run.json").read_text())
    status = record["method_status"]["sepia-plugin"]
    assert status["status"] == "done" and status["config"] == {"smoke": False, "warmth": 0.5}
    out = np.asarray(Image.open(folder / "images" / "sepia-plugin" / "beach_a.png"))
    assert out.shape == (24, 32, 3) and out[0, 0, 0] > out[0, 0, 2]  # warm: more red than blue


class Stand(Method):
    name = "stand-in"

    def load(self, device):
        pass

    def colorize(self, grays, *, seed, item_seeds=None, labels=None):
        return [np.repeat(g[..., None], 3, axis=2) for g in grays]


def test_register_method_is_the_same_registration_as_a_call():
    register_method("stand-in", Stand)
    try:
        assert "stand-in" in method_names() and get_method("stand-in").name == "stand-in"
        with pytest.raises(ValueError, match="method 'stand-in' is already registered"):
            register_method("stand-in", Stand)
        with pytest.raises(ValueError, match="method 'coltran' is already registered"):
            register_method("coltran", Stand)
    finally:
        unregister_method("stand-in")
    assert "stand-in" not in method_names()


def test_a_class_registered_under_another_name_than_its_own_is_refused():
    register_method("standin-renamed", Stand)
    try:
        with pytest.raises(TypeError, match="declares name 'stand-in' but is registered as 'standin-renamed'"):
            get_method("standin-renamed")
    finally:
        unregister_method("standin-renamed")


@pytest.mark.parametrize("name, target, error", [("has space", "m:C", "without spaces"),
                                                 ("ok-name", "no_colon", "must be 'module:Class'"),
                                                 ("ok-name", 42, "must be 'module:Class' or a Method subclass")])
def test_a_malformed_registration_is_refused(name, target, error):
    with pytest.raises((ValueError, TypeError), match=error):
        register_method(name, target)
