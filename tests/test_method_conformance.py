"""Every registered method holds to the method contract (:mod:`colorbench.methods.base`), in smoke form.

Parametrised over the registry as it stands when the tests are collected, so a new method (a built-in line in
``_REGISTRY`` or a package's ``colorbench.methods`` entry point) is held to the same checks without a line here.
Smoke form: ``smoke=True`` (tiny untrained models, no weights files), so the checks are about the contract, not the
colours. A method whose optional extra is not installed is skipped with the command that installs it.

``python tools/conformance_table.py`` prints the method x check table from these tests' results.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass

import numpy as np
import pytest

from colorbench.color import merge_luminance
from colorbench.extras import explain_import_error
from colorbench.methods.base import Method
from colorbench.methods.registry import get_method, method_class, method_names

pytestmark = pytest.mark.usefixtures("one_torch_thread")

NAMES = method_names()
#: a non-square gradient (structure along x) and a square flat image: two sizes in one batch
GRAYS = [np.tile(np.linspace(0, 255, 64).astype(np.uint8), (40, 1)), np.full((48, 48), 100, np.uint8)]
SEEDS, OTHER_SEEDS, LABELS = [11, 12], [13, 14], ["archery", None]


@dataclass
class SmokeRun:
    """One method's smoke outputs, made once for the module (ColTran's tiny sampler takes seconds a call)."""

    method: Method
    first: list  # colorize(GRAYS, SEEDS) after load
    again: list  # the same call after unload() and a fresh load()
    other_seeds: list | None  # stochastic methods: the same images with OTHER_SEEDS


def _class_or_skip(name: str) -> type[Method]:
    try:
        return method_class(name)
    except ImportError as exc:
        pytest.skip(f"{name}: {explain_import_error(exc)}")


@pytest.fixture(scope="module")
def smoke_runs():
    made: dict[str, SmokeRun] = {}

    def run(name: str) -> SmokeRun:
        if name not in made:
            cls = _class_or_skip(name)
            method = get_method(name, smoke=True)
            try:
                method.load("cpu")
            except ImportError as exc:  # explained by Method: names the extra and its install command
                pytest.skip(f"{name}: {exc}")
            first = method.colorize(GRAYS, seed=0, item_seeds=SEEDS, labels=LABELS)
            method.unload()
            method.load("cpu")
            again = method.colorize(GRAYS, seed=0, item_seeds=SEEDS, labels=LABELS)
            other = (method.colorize(GRAYS, seed=0, item_seeds=OTHER_SEEDS, labels=LABELS) if cls.stochastic
                     else None)
            method.unload()
            made[name] = SmokeRun(method, first, again, other)
        return made[name]

    return run


@pytest.mark.parametrize("name", NAMES)
def test_one_name_the_registrys(name):
    assert _class_or_skip(name).name == name


@pytest.mark.parametrize("name", NAMES)
def test_output_shape_and_dtype(name, smoke_runs):
    outputs = smoke_runs(name).first
    assert isinstance(outputs, list) and len(outputs) == len(GRAYS)
    for out in outputs:
        assert isinstance(out, np.ndarray) and out.dtype == np.uint8 and out.ndim == 3 and out.shape[2] == 3, \
            f"{name} returned {type(out).__name__} {getattr(out, 'dtype', '')} {getattr(out, 'shape', '')}"
        assert min(out.shape[:2]) >= 8, f"{name} returned a {out.shape} image"


@pytest.mark.parametrize("name", NAMES)
def test_output_aligned_with_the_input(name, smoke_runs):
    """The runner stretches the output over the input (the L-merge): the output must show the whole input at its
    aspect ratio, or say it is the whole input squeezed (``output_spans_input``)."""
    run = smoke_runs(name)
    for gray, out in zip(GRAYS, run.first):
        if not run.method.output_spans_input:
            (h, w), (oh, ow) = gray.shape, out.shape[:2]
            assert abs((w / h) / (ow / oh) - 1) <= 0.02, f"{name}: {ow}x{oh} output for a {w}x{h} input"
        merged = merge_luminance(gray, out)
        assert merged.shape == (*gray.shape, 3) and merged.dtype == np.uint8


@pytest.mark.parametrize("name", NAMES)
def test_same_seeds_same_images_after_unload_and_load(name, smoke_runs):
    run = smoke_runs(name)
    for a, b in zip(run.first, run.again):
        np.testing.assert_array_equal(a, b, err_msg=f"{name}: same seeds, other images")


@pytest.mark.parametrize("name", NAMES)
def test_a_stochastic_method_follows_its_item_seeds(name, smoke_runs):
    if not _class_or_skip(name).stochastic:
        pytest.skip(f"{name} is deterministic")
    run = smoke_runs(name)
    assert any(not np.array_equal(a, b) for a, b in zip(run.first, run.other_seeds)), \
        f"{name} is declared stochastic but gave the same images for other item seeds"


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("kwargs, what", [({"item_seeds": [1]}, "1 item_seeds"),
                                          ({"item_seeds": [1, 2, 3]}, "3 item_seeds"),
                                          ({"labels": ["golf"]}, "1 labels")])
def test_item_seeds_and_labels_need_one_per_image(name, kwargs, what):
    _class_or_skip(name)
    method = get_method(name, smoke=True)  # not loaded: the check comes before any work
    with pytest.raises(ValueError, match=f"{name}: 2 images but {what}; give one per image"):
        method.colorize(GRAYS, seed=0, **kwargs)


@pytest.mark.parametrize("name", NAMES)
def test_config_round_trip(name, smoke_runs):
    """The options rebuild the same method (as an instance or as keywords), and ``config()`` survives run.json."""
    cls = _class_or_skip(name)
    method = get_method(name, smoke=True)
    values = {f.name: getattr(method.options, f.name) for f in dataclasses.fields(method.options)}
    again = get_method(name, **values)
    assert again.options == method.options and cls(method.options).options == method.options
    assert again.config() == method.config()
    loaded = smoke_runs(name).method.config()  # after load and colorize: what run.json records
    assert json.loads(json.dumps(loaded)) == loaded, f"{name}.config() does not survive JSON: {loaded}"


@pytest.mark.parametrize("name", NAMES)
def test_weights_declared_agree_with_used_by(name):
    """What the method says it needs (``weights()``, default options) and what the weights registry says uses it
    (``WeightSpec.used_by``) are the same set: `colorbench weights list` and `colorbench methods` must agree."""
    from colorbench.weights import REGISTRY

    cls = _class_or_skip(name)
    needs = set(get_method(name).weights())
    for option, values in _choices(cls.Options).items():  # weights chosen by an option (ddcolor's variant)
        for value in values:
            needs |= set(get_method(name, **{option: value}).weights())
    unknown = needs - set(REGISTRY)
    assert not unknown, f"{name}.weights() names artefacts the weights registry lacks: {sorted(unknown)}"
    declared = {spec.name for spec in REGISTRY.values() if name in spec.used_by}
    assert needs == declared, (f"{name}.weights() = {sorted(needs)} (over its options' choices) but the weights "
                               f"registry says it is used by {sorted(declared)}: correct weights() or "
                               "WeightSpec.used_by")
    assert not get_method(name, smoke=True).weights(), f"{name}: a smoke run needs no weights files"


def _choices(options_cls) -> dict[str, tuple]:
    """The options whose type is a ``Literal`` (a closed set of choices, e.g. a model variant) and their values."""
    import typing

    from colorbench.methods.options import option_types

    return {key: typing.get_args(kind) for key, kind in option_types(options_cls).items()
            if typing.get_origin(kind) is typing.Literal}
