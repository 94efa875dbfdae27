"""Typed method options (issue 13, point 2): each method's ``Options`` dataclass is what ``--option``, a config file's
``method_options`` and the notebooks' ``METHOD_OPTIONS`` are checked and converted against; its speed-only fields
stay out of a run's resume identity; a method that only changes defaults declares an options subclass, nothing else.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import pytest

from colorbench.cli import main
from colorbench.config import RunConfig
from colorbench.methods import get_method, method_class
from colorbench.methods.options import OptionError, option_defaults, speed_only_names
from colorbench.methods.zhang.method import ECCV16Method, ECCV16Options, SIGGRAPH17Method, ZhangOptions
from colorbench.run import check_method_options, made_with, run


# ------------------------------------------------------------------------------------------ validation
def test_an_unknown_key_names_the_method_and_key_and_lists_every_key_with_type_and_default(tmp_path):
    cfg = RunConfig(run="o", methods=["gray"], limit=1, results_dir=str(tmp_path),
                    method_options={"eccv16": {"temprature": 0.1}})
    with pytest.raises(OptionError) as caught:
        run(cfg, progress=False)
    message = str(caught.value)
    assert message.startswith("--option eccv16.temprature: eccv16 has no option 'temprature'")
    for listed in ("batch_size: int = 16 (speed only)", "decode: 'annealed' | 'mean' = 'annealed'",
                   "input_size: int = 256", "smoke: bool = False", "temperature: float = 0.38"):
        assert listed in message
    assert not (tmp_path / "o").exists()  # refused before any work


@pytest.mark.parametrize("argv, says", [
    (["--option", "eccv16.temperature=warm"], "--option eccv16.temperature: eccv16: option temperature must be "
                                               "float, got 'warm'"),
    (["--option", "coltran.official=maybe"], "coltran: option official must be bool, got 'maybe'"),
    (["--option", "siggraph17.decode=mean"], "siggraph17: option decode must be 'regression' | 'annealed', "
                                              "got 'mean'"),
    (["--option", "diffusion.steps=many"], "--option diffusion.steps: controlnet-canny: option steps must be int"),
])
def test_a_wrong_type_from_the_command_line_is_a_one_line_error_listing_the_keys(argv, says, capsys, tmp_path,
                                                                                  monkeypatch):
    monkeypatch.setenv("COLORBENCH_RESULTS", str(tmp_path))
    target = argv[1].partition(".")[0]  # the option's method must be in --methods (else that is the error)
    methods = f"gray,{'controlnet-canny' if target == 'diffusion' else target}"
    assert main(["run", "--methods", methods, "--limit", "1", *argv]) == 2
    err = capsys.readouterr().err
    assert says in err and "its options: " in err and " = " in err  # every key, with type and default
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("option, says", [
    ("eccv16.temperature=0.1", "--option eccv16.temperature=0.1: eccv16 is not in --methods (gray): add it or drop "
                               "the option"),
    ("diffusion.steps=3", "--option diffusion.steps=3: none of the diffusion methods (controlnet-canny, "
                          "controlnet-canny-img2img, controlnet-brightness) is in --methods (gray): add one or drop "
                          "the option"),
    ("eccv61.temperature=0.1", "--option eccv61.temperature: no method 'eccv61' (did you mean 'eccv16'?); "
                               "known methods: gray, "),
])
def test_an_option_for_a_method_the_run_will_not_run_is_refused_not_ignored(option, says, capsys, tmp_path,
                                                                            monkeypatch):
    """It was silently ignored: the user believed the run used it. An unknown name stays the registry's error."""
    monkeypatch.setenv("COLORBENCH_RESULTS", str(tmp_path))
    assert main(["run", "--methods", "gray", "--limit", "1", "--option", option]) == 2
    assert says in capsys.readouterr().err
    assert not list(tmp_path.iterdir())  # refused before any work


def test_an_option_for_a_selected_method_or_group_member_is_accepted():
    import argparse

    from colorbench.cli.run import add_run_arguments, config_from_args

    parser = argparse.ArgumentParser()
    add_run_arguments(parser)
    args = parser.parse_args(["--methods", "gray,eccv16,controlnet-canny", "--option", "eccv16.temperature=0.1",
                              "--option", "diffusion.steps=3"])
    assert config_from_args(args).method_options == {"eccv16": {"temperature": "0.1"}, "diffusion": {"steps": "3"}}


def test_a_config_file_and_notebook_parameters_are_checked_against_the_same_types(tmp_path):
    config = tmp_path / "run.yaml"
    config.write_text("methods: [gray]\nmethod_options:\n  coltran:\n    batch_size: 2.5\n")
    with pytest.raises(OptionError, match="coltran: option batch_size must be int, got 2.5"):
        check_method_options(RunConfig.from_yaml(config).method_options)
    config.write_text("method_options:\n  coltran:\n    official: 1\n")  # YAML 1 is an int, not a bool
    with pytest.raises(OptionError, match="option official must be bool, got 1"):
        check_method_options(RunConfig.from_yaml(config).method_options)
    # the notebooks pass METHOD_OPTIONS both to the runner (above) and straight to get_method
    with pytest.raises(OptionError, match="coltran has no option 'mdoe'; its options: batch_size, compile"):
        get_method("coltran", smoke=True, **{"mdoe": "argmax"})


def test_command_line_strings_are_converted_by_the_option_types(tmp_path):
    import argparse

    from colorbench.cli.run import add_run_arguments, config_from_args

    parser = argparse.ArgumentParser()
    add_run_arguments(parser)
    args = parser.parse_args(["--option", "coltran.official=false", "--option", "coltran.upsampler_batch=none",
                              "--option", "coltran.batch_size=4", "--option", "coltran.temperature=1",
                              "--option", "eccv16.decode=mean", "--option", "diffusion.prompt=1950",
                              "--option", "coltran.cpu_threads={colorizer: 2}"])
    typed = check_method_options(config_from_args(args).method_options)
    assert typed["coltran"] == {"official": False, "upsampler_batch": None, "batch_size": 4, "temperature": 1.0,
                                "cpu_threads": {"colorizer": 2}}
    assert type(typed["coltran"]["temperature"]) is float and typed["eccv16"] == {"decode": "mean"}
    assert typed["diffusion"] == {"prompt": "1950"}  # a str option stays the text typed, not YAML's number
    # what the runner records in run.json is the typed value, however it was spelled
    summary = run(RunConfig(run="t", methods=["gray"], limit=1, results_dir=str(tmp_path),
                            method_options={"eccv16": {"temperature": "0.1"}}), progress=False)
    import json

    assert json.loads((summary.path / "run.json").read_text())["config"]["method_options"] == {
        "eccv16": {"temperature": 0.1}}


# ------------------------------------------------------------------------------------------ resume identity
@pytest.mark.parametrize("name", ["coltran", "eccv16", "siggraph17", "cnn-original", "cnn-lpips",
                                  "controlnet-canny", "controlnet-canny-img2img"])
def test_speed_only_options_leave_the_resume_identity_alone_and_the_others_change_it(name):
    options_cls = method_class(name).Options
    speed = speed_only_names(options_cls)
    fields = {f.name: f for f in dataclasses.fields(options_cls)}
    # a non-default value for each option that resumed before the options were typed (the runner's old list):
    # each must still be speed-only where the method has it (e.g. rerunning with a smaller batch after running
    # out of memory), and nothing else is (dtype, tf32, precision change the numbers)
    other = {"batch_size": 3, "upsampler_batch": 2, "compile": True, "cuda_graph": False, "cpu_offload": True,
             "cpu_threads": 2, "vae_slicing": False, "channels_last": True, "download": False}
    assert speed == set(other) & set(fields)
    plain = made_with(name, RunConfig())
    for key in speed:
        assert other[key] != fields[key].default
        assert made_with(name, RunConfig(method_options={name: {key: other[key]}})) == plain, key
    # an option that changes the images is part of it (and the error-prone default-vs-not rule holds)
    changing = {"coltran": ("tf32", False), "eccv16": ("temperature", 0.1), "siggraph17": ("decode", "annealed"),
                "cnn-original": ("precision", "fp32"), "cnn-lpips": ("checkpoint", "mine"),
                "controlnet-canny": ("dtype", "float32"), "controlnet-canny-img2img": ("strength", 0.5)}[name]
    key, value = changing
    assert key not in speed
    assert made_with(name, RunConfig(method_options={name: {key: value}}))["options"] == {key: value}
    default = option_defaults(options_cls)[key]
    assert made_with(name, RunConfig(method_options={name: {key: default}})) == plain


# ------------------------------------------------------------------------------------------ defaults-only subclasses
def test_the_zhang_methods_differ_only_in_their_options_defaults():
    eccv, sig = ECCV16Method.Options, SIGGRAPH17Method.Options
    assert issubclass(eccv, ZhangOptions) and issubclass(sig, ZhangOptions)
    assert [f.name for f in dataclasses.fields(eccv)] == [f.name for f in dataclasses.fields(sig)]
    differ = {k for k, v in option_defaults(eccv).items() if option_defaults(sig)[k] != v}
    assert differ == {"decode"}
    for cls in (ECCV16Method, SIGGRAPH17Method):  # no constructor of their own: the base's reads the options
        assert "__init__" not in cls.__dict__
    assert get_method("eccv16").options.decode == "annealed" and get_method("siggraph17").options.decode == "regression"


@dataclass(frozen=True, kw_only=True)
class ColdEccv16Options(ECCV16Options):
    temperature: float = 0.05


class ColdEccv16(ECCV16Method):
    """What adding a variant takes: a name, and an options subclass with other defaults."""

    name = "eccv16-cold"
    Options = ColdEccv16Options


def test_a_variant_that_only_changes_defaults_runs_with_them(add_method, tmp_path, monkeypatch):
    add_method("eccv16-cold", f"{__name__}:ColdEccv16")
    method = get_method("eccv16-cold", smoke=True)
    assert (method.options.temperature, method.options.decode, method.options.input_size) == (0.05, "annealed", 256)
    assert get_method("eccv16-cold", temperature="0.2").options.temperature == 0.2
    # the runner sees its defaults: the default spelled out is no change, another value is
    assert made_with("eccv16-cold", RunConfig(method_options={"eccv16-cold": {"temperature": 0.05}}))["options"] == {}
    assert made_with("eccv16-cold", RunConfig(method_options={"eccv16-cold": {"temperature": 0.38}}))["options"] == {
        "temperature": 0.38}


def test_options_are_frozen_and_given_as_an_instance_or_keywords():
    options = ECCV16Options(temperature=0.2)
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.temperature = 0.5  # type: ignore[misc]
    assert ECCV16Method(options).options is options and ECCV16Method(temperature=0.2).options == options
    with pytest.raises(TypeError, match="not both"):
        ECCV16Method(options, temperature=0.3)
    with pytest.raises(OptionError, match="options must be a SIGGRAPH17Options"):
        SIGGRAPH17Method(options)


def test_coltran_dtype_choices_are_what_its_pipeline_takes():
    """The option's ``Literal`` and the pipeline's table are two lists (the pipeline's maps to torch dtypes): if they
    drift, a valid dtype is refused, or a bad one passes the check and fails only when ColTran loads."""
    import typing

    from colorbench.methods.coltran.pipeline import DTYPES
    from colorbench.methods.options import option_types

    assert set(typing.get_args(option_types(method_class("coltran").Options)["dtype"])) == set(DTYPES)
