"""The runner: run folder contents, resume after a kill, bad images, failing methods, stochastic samples."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from colorbench.config import RunConfig
from colorbench.data.images import load_image
from colorbench.methods.base import Method
from colorbench.methods.options import MethodOptions, speed_only
from colorbench.run import run
from colorbench.runfolder import TIMING_COLUMNS, RunFolder, read_csv


@dataclass(frozen=True, kw_only=True)
class TintOptions(MethodOptions):
    fail_on: int | None = None  # the mean gray level of an image to fail on


class TintMethod(Method):
    """A deterministic test method with colour: tints by the seed, at half resolution (native != input)."""

    name = "tint"
    stochastic = True
    calls: list[int] = []
    Options = TintOptions

    def __init__(self, options=None, /, **values):
        super().__init__(options, **values)
        self.fail_on, self.smoke = self.options.fail_on, self.options.smoke

    def load(self, device):
        self.device = device

    def colorize(self, grays, *, seed, item_seeds=None, labels=None):
        TintMethod.calls.append(len(grays))
        out = []
        for gray, s in zip(grays, item_seeds):
            if self.fail_on is not None and int(gray.mean()) == int(self.fail_on):
                raise RuntimeError("synthetic failure")
            small = gray[::2, ::2].astype(np.float32)
            tint = np.array([1.0, 0.8 + (s % 5) / 25, 0.6], np.float32)
            out.append(np.clip(small[..., None] * tint, 0, 255).astype(np.uint8))
        self.stage_seconds = {"tinting": 0.001}
        return out

    def config(self):
        return {"fail_on": self.fail_on, "smoke": self.smoke}


@pytest.fixture
def tint_registered(add_method, monkeypatch):
    add_method("tint", f"{__name__}:TintMethod")
    TintMethod.calls = []


def _image_dir(tmp_path, n=5, bad=()):
    root = tmp_path / "imgs"
    rng = np.random.default_rng(0)
    for i in range(n):
        (root / f"class{i % 2}").mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 255, (30 + i, 40, 3),
                                     dtype=np.uint8)).save(root / f"class{i % 2}" / f"im{i}.png")
    for name, content in bad:
        (root / name).write_bytes(content)
    return root


def test_run_writes_the_documented_run_folder(tmp_path, tint_registered):
    data = _image_dir(tmp_path, bad=[("broken.jpg", b"\xff\xd8\xff garbage")])
    Image.fromarray(np.full((20, 20), 7, np.uint8)).save(data / "grayonly.png")
    cfg = RunConfig(run="r1", dataset=str(data), methods=["gray", "tint"], batch_size=2, seed=5,
                    samples_per_image=2, results_dir=str(tmp_path / "results"))
    summary = run(cfg, progress=False)
    folder = RunFolder(summary.path)
    samples = folder.read_samples()
    assert len(samples) == 6 and summary.skipped_images == 1
    skipped = read_csv(folder.skipped_csv)
    assert skipped[0]["id"] == "broken" and "not a recognised image" in skipped[0]["reason"]
    gray_only = next(s for s in samples if s["id"] == "grayonly")
    assert gray_only["has_color"] == "0" and not folder.truth_path("grayonly").exists()
    for s in samples:
        gray = load_image(folder.gray_path(s["id"])).rgb[..., 0]
        assert gray.shape == (int(s["height"]), int(s["width"]))
        # deterministic method: one sample; stochastic: K samples, k>0 named <id>__k<k>.png
        assert folder.output_path("gray", s["id"]).exists() and not folder.output_path("gray", s["id"], 1).exists()
        for k in (0, 1):
            merged = load_image(folder.output_path("tint", s["id"], k)).rgb
            assert merged.shape[:2] == gray.shape
            assert load_image(folder.raw_path("tint", s["id"], k)).rgb.shape[:2] == gray[::2, ::2].shape
    record = json.loads(folder.run_json.read_text())
    assert record["status"] == "finished" and record["methods"] == ["gray", "tint"]
    assert record["method_status"]["tint"]["written"] == 12 and record["config"]["seed"] == 5
    assert {"python", "numpy", "torch"} <= set(record["versions"]) and record["device"]["device"] == "cpu"
    timings = read_csv(folder.timings_csv)
    assert list(timings[0]) == TIMING_COLUMNS
    tint_rows = [r for r in timings if r["method"] == "tint"]
    assert sum(int(r["n_images"]) for r in tint_rows) == 12 and json.loads(tint_rows[0]["stages"]) == {"tinting": 0.001}
    assert all(float(r["inference_s"]) >= 0 and float(r["peak_memory_mb"]) > 0 for r in timings)


def test_per_image_seeds_do_not_depend_on_batching(tmp_path, tint_registered):
    data = _image_dir(tmp_path, n=5)
    outs = {}
    for bs in (1, 4):
        cfg = RunConfig(run=f"b{bs}", dataset=str(data), methods=["tint"], batch_size=bs, seed=1,
                        results_dir=str(tmp_path / "results"))
        folder = RunFolder(run(cfg, progress=False).path)
        outs[bs] = {p.name: p.read_bytes() for p in (folder.path / "images" / "tint").iterdir()}
    assert outs[1] == outs[4]


def test_failing_image_is_recorded_and_others_finish(tmp_path, tint_registered):
    data = tmp_path / "imgs"
    data.mkdir()
    for i, value in enumerate([10, 50, 90]):
        rgb = np.zeros((16, 16, 3), np.uint8)
        rgb[..., 0], rgb[..., 1] = value * 2, value // 2
        Image.fromarray(rgb).save(data / f"im{i}.png")
    from colorbench.color import to_gray

    bad_mean = int(to_gray(load_image(data / "im1.png").rgb).mean())
    cfg = RunConfig(run="f", dataset=str(data), methods=["tint"], batch_size=3, results_dir=str(tmp_path / "results"),
                    method_options={"tint": {"fail_on": bad_mean}})
    summary = run(cfg, progress=False)
    folder = RunFolder(summary.path)
    failures = read_csv(folder.failures_csv)
    assert [(f["method"], f["id"]) for f in failures] == [("tint", "im1")]
    assert "synthetic failure" in failures[0]["error"]
    assert folder.output_path("tint", "im0").exists() and folder.output_path("tint", "im2").exists()
    assert summary.methods[0].status == "partial" and summary.methods[0].failed == 1


def test_unavailable_weights_skip_the_method_with_reason(add_method, tmp_path, monkeypatch):
    from colorbench import weights

    class NeedsWeights(Method):
        name = "needs-weights"

        def load(self, device):
            weights.ensure("cnn-original-epoch186")

        def colorize(self, grays, *, seed, item_seeds=None, labels=None):
            raise AssertionError("must not run")

    add_method("needs-weights", f"{__name__}:NeedsWeights")
    globals()["NeedsWeights"] = NeedsWeights
    cfg = RunConfig(run="w", methods=["gray", "needs-weights"], results_dir=str(tmp_path / "results"))
    summary = run(cfg, progress=False)
    outcome = {m.name: m for m in summary.methods}
    assert outcome["gray"].status == "done"
    assert outcome["needs-weights"].status == "skipped" and "model-epoch-186" in outcome["needs-weights"].reason
    record = RunFolder(summary.path).read_run_json()
    assert record["method_status"]["needs-weights"]["status"] == "skipped"


def test_smoke_flag_reaches_methods_that_take_it(tmp_path, tint_registered):
    cfg = RunConfig(run="s", methods=["gray", "tint"], smoke=True, limit=2, results_dir=str(tmp_path / "results"))
    summary = run(cfg, progress=False)
    assert {m.name: m.config for m in summary.methods}["tint"]["smoke"] is True


SLOW_RUN = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    import numpy as np
    from colorbench.methods import registry
    from colorbench.methods.base import Method
    from colorbench.config import RunConfig
    from colorbench.run import run

    class Slow(Method):
        name = "slow"
        calls = 0
        def load(self, device): pass
        def colorize(self, grays, *, seed, item_seeds=None, labels=None):
            Slow.calls += 1
            delay = float(sys.argv[2])
            # with a delay: hang after 4 images and say so, so the kill always lands mid-run however loaded the
            # machine is (the test waits for the "hung" marker, not for a number of files within a time)
            if delay and Slow.calls > 4:
                Path(sys.argv[3], "hung").touch()
                time.sleep(3600)
            time.sleep(delay)
            return [np.repeat(g[:, :, None], 3, 2) // 2 + 60 for g in grays]

    registry.register_method("slow", Slow)
    run(RunConfig(run="killed", dataset=sys.argv[1], methods=["slow"], batch_size=1, results_dir=sys.argv[3]), progress=False)
""")  # noqa: E501 (the script's text is data: wrapping it would change the script the test runs)


def test_resume_after_a_killed_run_loses_nothing(tmp_path):
    data = _image_dir(tmp_path, n=8)
    script = tmp_path / "slow_run.py"
    script.write_text(SLOW_RUN)
    results = tmp_path / "results"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).resolve().parents[1] / "src"),
                                                        os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen([sys.executable, str(script), str(data), "0.4", str(results)], env=env)
    images = results / "killed" / "images" / "slow"
    for _ in range(6000):  # bounded wait for the marker; returns as soon as the method hangs
        if (results / "hung").exists() or proc.poll() is not None:
            break
        time.sleep(0.05)
    assert (results / "hung").exists(), "the slow run never reached its fifth image"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done_before = {p.name: p.stat().st_mtime_ns for p in images.glob("*.png")}
    assert len(done_before) == 4  # the four finished before the hang, written synchronously by the runner
    for p in images.glob("*.png"):  # everything under a final name is a complete image
        load_image(p)
    subprocess.run([sys.executable, str(script), str(data), "0", str(results)], env=env, check=True)
    after = {p.name: p.stat().st_mtime_ns for p in images.glob("*.png")}
    assert len(after) == 8
    assert all(after[name] == mtime for name, mtime in done_before.items())  # finished outputs were not redone
    assert not list((results / "killed").rglob(".tmp-*"))
    timings = read_csv(results / "killed" / "timings.csv")
    assert sum(int(r["n_images"]) for r in timings) >= 8
    assert RunFolder(results / "killed").read_run_json()["resumed"] is True


class HeavyMethod(TintMethod):
    name = "heavy"
    heavy_on_cpu = True


def test_auto_selection_skips_cpu_heavy_methods_but_explicit_names_run(tmp_path, add_method):
    add_method("heavy", f"{__name__}:HeavyMethod")  # auto takes every registered method: this one and the built-ins
    auto = run(RunConfig(run="a", limit=1, device="cpu", results_dir=str(tmp_path)), progress=False)
    outcome = {m.name: m for m in auto.methods}
    assert outcome["gray"].status == "done"
    assert outcome["heavy"].status == "skipped" and "too slow on a CPU" in outcome["heavy"].reason
    explicit = run(RunConfig(run="b", limit=1, device="cpu", methods=["heavy"],
                             results_dir=str(tmp_path)), progress=False)
    assert explicit.methods[0].status == "done"


@dataclass(frozen=True, kw_only=True)
class ForwardsSmokeOptions(TintOptions):
    extra: int = 0


class ForwardsSmoke(TintMethod):
    """Like cnn-lpips: its options subclass its base's, which has smoke."""

    name = "forwards-smoke"
    Options = ForwardsSmokeOptions


def test_smoke_reaches_methods_that_forward_it_through_options(add_method, tmp_path, monkeypatch):
    add_method("forwards-smoke", f"{__name__}:ForwardsSmoke")
    summary = run(RunConfig(run="fs", methods=["forwards-smoke"], smoke=True, limit=1, results_dir=str(tmp_path)),
                  progress=False)
    assert summary.methods[0].config["smoke"] is True


def test_run_files_are_readable_by_others_like_ordinary_files(tmp_path):
    summary = run(RunConfig(run="perm", methods=["gray"], limit=1, results_dir=str(tmp_path)), progress=False)
    expected = 0o666 & ~__import__("colorbench.atomic", fromlist=["_UMASK"])._UMASK
    assert (summary.path / "run.json").stat().st_mode & 0o777 == expected


@dataclass(frozen=True, kw_only=True)
class BatchedTintOptions(TintOptions):
    batch_size: int = speed_only(8)


class BatchedTint(TintMethod):
    name = "batched"
    Options = BatchedTintOptions


def test_resume_refuses_a_folder_whose_images_were_made_differently(add_method, tmp_path, tint_registered, monkeypatch):
    """Resume reuses every image that exists: it must not reuse smoke outputs in a real run, nor images made with
    other options, another seed (stochastic methods) or another dataset, under this command's settings."""
    data = _image_dir(tmp_path, n=4)
    base = dict(run="r", dataset=str(data), methods=["gray", "tint"], limit=2, seed=1,
                results_dir=str(tmp_path / "res"))
    smoke = run(RunConfig(**base, smoke=True), progress=False)
    images = {p: p.stat().st_mtime_ns for p in (smoke.path / "images").rglob("*.png")}
    with pytest.raises(ValueError, match="holds a SMOKE run.*another --run name"):
        run(RunConfig(**base), progress=False)
    assert {p: p.stat().st_mtime_ns for p in (smoke.path / "images").rglob("*.png")} == images  # nothing touched
    assert RunFolder(smoke.path).read_run_json()["smoke"] is True

    real = {**base, "run": "real"}
    run(RunConfig(**real), progress=False)
    run(RunConfig(**real, method_options={"tint": {"fail_on": None}}), progress=False)  # the default, spelled out
    with pytest.raises(ValueError, match=r"images/tint was made with other settings "
                                         r"\(options \{\} -> \{'fail_on': 3\}\)"):
        run(RunConfig(**real, method_options={"tint": {"fail_on": 3}}), progress=False)
    with pytest.raises(ValueError, match=r"tint was made with other settings \(seed 1 -> 2\)"):
        run(RunConfig(**{**real, "seed": 2}), progress=False)
    run(RunConfig(**{**real, "seed": 2, "methods": ["gray"]}), progress=False)  # deterministic: the seed is irrelevant
    add_method("batched", f"{__name__}:BatchedTint")
    batched = {**real, "methods": ["batched"]}
    run(RunConfig(**batched, method_options={"batched": {"batch_size": 4}}), progress=False)
    run(RunConfig(**batched, method_options={"batched": {"batch_size": 1}}), progress=False)  # speed only: resumes
    other = _image_dir(tmp_path / "other", n=4)
    with pytest.raises(ValueError, match="holds a run of the dataset in"):
        run(RunConfig(**{**real, "dataset": str(other)}), progress=False)
    grown = run(RunConfig(**{**real, "limit": 4}), progress=False)  # a bigger subset of the same data resumes
    assert {m.name: (m.written, m.reused) for m in grown.methods} == {"gray": (2, 2), "tint": (2, 2)}
    record = RunFolder(grown.path).read_run_json()
    assert (record["methods"] == ["gray", "tint", "batched"]
            and record["method_status"]["tint"]["made_with"] == {"options": {}, "seed": 1})


def test_method_options_are_checked_before_any_work(add_method, tmp_path, tint_registered, monkeypatch):
    cfg = dict(run="o", methods=["gray"], limit=1, results_dir=str(tmp_path / "res"))
    with pytest.raises(ValueError, match="tint has no option 'fail_onn'; its options: fail_on, smoke"):
        run(RunConfig(**cfg, method_options={"tint": {"fail_onn": 1}}), progress=False)
    with pytest.raises(ValueError, match="no method 'tnit'"):
        run(RunConfig(**cfg, method_options={"tnit": {"fail_on": 1}}), progress=False)
    assert not (tmp_path / "res" / "o").exists()
    # options an options subclass inherits from its base's are accepted
    add_method("forwards-smoke", f"{__name__}:ForwardsSmoke")
    run(RunConfig(**cfg, method_options={"forwards-smoke": {"extra": 1, "fail_on": 999}}), progress=False)


def test_unwritable_results_location_fails_before_any_work(tmp_path):
    from colorbench.runfolder import RunFolderNotWritable

    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")  # root ignores permission bits; a file in the way fails for everyone
    with pytest.raises(RunFolderNotWritable, match=f"cannot write to {blocker}/r .*COLORBENCH_RESULTS"):
        run(RunConfig(run="r", methods=["gray"], limit=1, results_dir=str(blocker)), progress=False)


class InterruptedMethod(TintMethod):
    name = "interrupted"
    armed = True

    def colorize(self, grays, *, seed, item_seeds=None, labels=None):
        if InterruptedMethod.armed and len(TintMethod.calls) == 1:  # the second batch: as if Ctrl-C arrived
            InterruptedMethod.armed = False
            raise KeyboardInterrupt
        return super().colorize(grays, seed=seed, item_seeds=item_seeds, labels=labels)


def test_interrupted_run_says_so_and_keeps_finished_images(add_method, tmp_path, tint_registered, monkeypatch):
    add_method("interrupted", f"{__name__}:InterruptedMethod")
    cfg = RunConfig(run="i", dataset=str(_image_dir(tmp_path, n=4)), methods=["interrupted"], batch_size=2,
                    results_dir=str(tmp_path / "res"))
    with pytest.raises(KeyboardInterrupt):
        run(cfg, progress=False)
    folder = RunFolder(tmp_path / "res" / "i")
    assert folder.read_run_json()["status"] == "interrupted"
    assert len(list((folder.path / "images" / "interrupted").glob("*.png"))) == 2
    summary = run(cfg, progress=False)
    assert (summary.methods[0].written, summary.methods[0].reused) == (2, 2)
    assert folder.read_run_json()["status"] == "finished"


class BadOutputMethod(TintMethod):
    """Returns an unusable image (float, 4 channels) for one input: a method bug that shows only after colorize."""

    name = "bad-output"

    def colorize(self, grays, *, seed, item_seeds=None, labels=None):
        out = super().colorize(grays, seed=seed, item_seeds=item_seeds, labels=labels)
        return [np.zeros(g.shape + (4,), np.float32) if g.shape[0] == 31 else o for g, o in zip(grays, out)]


def test_one_unusable_output_is_a_failure_not_the_end_of_the_run(add_method, tmp_path, tint_registered, monkeypatch):
    add_method("bad-output", f"{__name__}:BadOutputMethod")
    cfg = RunConfig(run="b", dataset=str(_image_dir(tmp_path, n=4)), methods=["bad-output", "gray"], batch_size=4,
                    results_dir=str(tmp_path / "res"))
    summary = run(cfg, progress=False)  # image im1 is 31 pixels high
    outcome = {m.name: m for m in summary.methods}
    assert ((outcome["bad-output"].status, outcome["bad-output"].written, outcome["bad-output"].failed)
            == ("partial", 3, 1))
    assert outcome["gray"].status == "done" and outcome["gray"].written == 4  # the next method still ran
    failures = read_csv(RunFolder(summary.path).failures_csv)
    assert [(f["method"], f["id"]) for f in failures] == [("bad-output", "class1_im1")]
    assert "uint8 HxWx3" in failures[0]["error"]
    timings = [r for r in read_csv(RunFolder(summary.path).timings_csv) if r["method"] == "bad-output"]
    assert [int(r["n_images"]) for r in timings] == [3]


class BrokenLoadMethod(TintMethod):
    """Fails to load for a reason other than missing weights, e.g. a corrupt checkpoint of the user's."""

    name = "broken-load"

    def load(self, device):
        raise RuntimeError("checkpoint models/x.pt is corrupt\nmore detail")


@dataclass(frozen=True, kw_only=True)
class StrictOptions(TintOptions):
    level: int = 1


class StrictOptionMethod(TintMethod):
    name = "strict-option"
    Options = StrictOptions

    def __init__(self, options=None, /, **values):
        super().__init__(options, **values)
        if self.options.level not in (1, 2):
            raise ValueError(f"level must be 1 or 2, got {self.options.level}")


def test_a_method_that_cannot_load_fails_alone_and_bad_option_values_fail_first(add_method, tmp_path, tint_registered,
                                                                                  monkeypatch, capsys):
    from colorbench.cli import main

    add_method("broken-load", f"{__name__}:BrokenLoadMethod")
    add_method("strict-option", f"{__name__}:StrictOptionMethod")
    monkeypatch.setenv("COLORBENCH_RESULTS", str(tmp_path / "res"))
    data = str(_image_dir(tmp_path, n=2))
    assert main(["run", "--run", "l", "--dataset", data, "--methods", "broken-load,gray"]) == 1
    out = capsys.readouterr().out
    assert "broken-load: FAILED — failed to load: RuntimeError: checkpoint models/x.pt is corrupt (rerun with -v" in out
    assert "gray: 2 written" in out  # the method after it still ran
    status = RunFolder(tmp_path / "res" / "l").read_run_json()["method_status"]["broken-load"]
    assert status["status"] == "failed" and "corrupt" in status["reason"]

    assert main(["run", "--run", "v", "--dataset", data, "--methods", "gray,strict-option",
                 "--option", "strict-option.level=3"]) == 2
    assert "strict-option: level must be 1 or 2, got 3" in capsys.readouterr().err
    assert not (tmp_path / "res" / "v").exists()  # refused before gray ran

def test_cpu_peak_memory_is_per_batch_on_linux():
    """The CPU peak resets before each batch (Linux VmHWM), so a method is not charged for what ran before it."""
    from colorbench.peak_memory import peak_memory_mb as _peak_memory_mb
    from colorbench.peak_memory import reset_peak as _reset_peak

    if not os.path.exists("/proc/self/clear_refs"):
        pytest.skip("needs Linux /proc/self/clear_refs")
    _reset_peak("cpu")
    big = np.ones(256 * 2**20 // 8)  # 256 MiB, touched
    with_big = _peak_memory_mb("cpu")
    del big
    _reset_peak("cpu")
    assert _peak_memory_mb("cpu") < with_big - 200


def test_a_method_skipped_on_a_rerun_keeps_the_record_of_its_images(tmp_path, tint_registered, monkeypatch):
    """Rerunning where a method's weights cannot be had must not relabel its finished images as 'skipped'."""
    from colorbench import weights

    cfg = RunConfig(run="k", dataset=str(_image_dir(tmp_path, n=2)), methods=["tint"], samples_per_image=2,
                    results_dir=str(tmp_path / "res"))
    run(cfg, progress=False)

    def unavailable(self, device):
        raise weights.WeightsUnavailable(weights.get_spec("eccv16"), "not available offline")

    monkeypatch.setattr(TintMethod, "load", unavailable)
    Image.fromarray(np.full((30, 40, 3), 99, np.uint8)).save(tmp_path / "imgs" / "class0" / "new.png")  # work to do
    summary = run(cfg, progress=False)
    assert summary.methods[0].status == "skipped"  # what this call did
    status = RunFolder(summary.path).read_run_json()["method_status"]["tint"]
    assert status["status"] == "done" and status["samples_per_image"] == 2 and status["written"] == 4
    assert status["made_with"] == {"options": {}, "seed": 0} and "not available offline" in status["last_attempt"]


def test_a_rerun_with_every_image_there_loads_no_model_and_keeps_the_config(tmp_path, tint_registered, monkeypatch):
    """`make demo` or a notebook run again: nothing is left to colorize, so no model is loaded (minutes for the big
    ones); the method is done, its images reused, and run.json keeps the config of the call that made them."""
    cfg = RunConfig(run="again", dataset=str(_image_dir(tmp_path, n=2)), methods=["tint"], samples_per_image=2,
                    results_dir=str(tmp_path / "res"))
    first = run(cfg, progress=False)
    before = RunFolder(first.path).read_run_json()["method_status"]["tint"]

    def no_load(self, device):
        raise AssertionError("loaded with nothing to do")

    monkeypatch.setattr(TintMethod, "load", no_load)
    again = run(cfg, progress=False)
    assert [(m.status, m.written, m.reused) for m in again.methods] == [("done", 0, 4)]
    after = RunFolder(again.path).read_run_json()["method_status"]["tint"]
    assert after["config"] == before["config"] == {"fail_on": None, "smoke": False}
    assert after["status"] == "done" and after["reused"] == 4 and after["made_with"] == before["made_with"]


def test_a_method_whose_module_cannot_be_imported_is_skipped_not_fatal(tmp_path, add_method):
    """E.g. diffusers not installed: `--methods auto` still runs the others and says why that one was skipped."""
    add_method("needs-missing-package", "colorbench_no_such_module:Method")
    cfg = RunConfig(run="m", limit=1, device="cpu", results_dir=str(tmp_path))
    for _ in range(2):  # a fresh folder, then a resume
        outcome = {m.name: m for m in run(cfg, progress=False).methods}
        assert outcome["gray"].status == "done"
        assert outcome["needs-missing-package"].status == "skipped"
        assert "colorbench_no_such_module" in outcome["needs-missing-package"].reason


def test_a_damaged_run_json_is_named_and_moving_it_aside_resumes(tmp_path):
    cfg = RunConfig(run="j", methods=["gray"], limit=2, results_dir=str(tmp_path))
    folder = RunFolder(run(cfg, progress=False).path)
    folder.run_json.write_text('{"run": "j", "status": ')  # e.g. a half-synced copy
    with pytest.raises(ValueError, match=r"run\.json is not valid JSON .*move it aside"):
        run(cfg, progress=False)
    folder.run_json.rename(folder.path / "run.json.broken")
    assert run(cfg, progress=False).methods[0].reused == 2


def test_the_gamut_option_reaches_the_merge_and_run_json_and_guards_resume(tmp_path, tint_registered):
    from colorbench.color import gray_to_rgb, rgb_to_lab

    data = _image_dir(tmp_path, n=4)
    results = str(tmp_path / "results")
    worst = {}
    for gamut in ("clip", "chroma"):
        summary = run(RunConfig(run=gamut, dataset=str(data), methods=["tint"], gamut=gamut, results_dir=results),
                      progress=False)
        folder = RunFolder(summary.path)
        assert folder.read_run_json()["config"]["gamut"] == gamut
        worst[gamut] = max(
            float(np.abs(rgb_to_lab(load_image(folder.output_path("tint", s["id"])).rgb)[..., 0]
                         - rgb_to_lab(gray_to_rgb(load_image(folder.gray_path(s["id"])).rgb[..., 0]))[..., 0]).max())
            for s in folder.read_samples())
    assert worst["clip"] > 2.0 and worst["chroma"] < 0.35  # clipping moved L somewhere; the mapping did not
    with pytest.raises(ValueError, match="gamut 'chroma' -> None"):  # resuming must not mix the two modes
        run(RunConfig(run="chroma", dataset=str(data), methods=["tint"], results_dir=results), progress=False)
    with pytest.raises(ValueError, match="gamut must be one of"):
        RunConfig(gamut="perceptual")


def test_corrupt_weights_skip_every_method_alike(tmp_path, monkeypatch):
    """A damaged checkpoint is SKIPPED with the fix whichever method it belongs to (the CNN used to FAIL while
    Zhang's was SKIPPED): both are checked by content before loading."""
    models, torch_home = tmp_path / "models", tmp_path / "torch"
    (models / "cnn-original").mkdir(parents=True)
    (torch_home / "hub" / "checkpoints").mkdir(parents=True)
    (models / "cnn-original" / "model-epoch-186-losses-0.124.pth").write_bytes(b"\x00" * 4096)
    (torch_home / "hub" / "checkpoints" / "colorization_release_v2-9b330a0b.pth").write_bytes(b"\x00" * 4096)
    monkeypatch.setenv("COLORBENCH_MODELS", str(models))
    monkeypatch.setenv("TORCH_HOME", str(torch_home))
    summary = run(RunConfig(run="corrupt", limit=1, device="cpu", methods=["cnn-original", "eccv16", "gray"],
                            results_dir=str(tmp_path / "results")), progress=False)
    outcome = {m.name: m for m in summary.methods}
    for name in ("cnn-original", "eccv16"):
        assert outcome[name].status == "skipped", (name, outcome[name].status, outcome[name].reason)
        assert "corrupt or a different file" in outcome[name].reason and "weights fetch" in outcome[name].reason
    assert outcome["gray"].status == "done"


def test_each_method_gets_calls_of_its_own_batch_size_unless_the_run_sets_one(add_method, tmp_path, tint_registered):
    """RunConfig.batch_size None: a colorize call is the method's own batch_size (ColTran's 64 on a GPU); a method
    without one gets DEFAULT_BATCH_SIZE; --batch-size applies to every method."""
    from colorbench.run import DEFAULT_BATCH_SIZE

    add_method("batched", f"{__name__}:BatchedTint")
    data = _image_dir(tmp_path, n=7)
    base = dict(dataset=str(data), methods=["batched", "tint"], results_dir=str(tmp_path / "res"))
    TintMethod.calls = []
    run(RunConfig(run="own", method_options={"batched": {"batch_size": 3}}, **base), progress=False)
    assert TintMethod.calls == [3, 3, 1, 7]  # batched: its own 3; tint (no batch_size option): DEFAULT_BATCH_SIZE
    assert DEFAULT_BATCH_SIZE >= 7
    TintMethod.calls = []
    run(RunConfig(run="given", batch_size=2, method_options={"batched": {"batch_size": 3}}, **base), progress=False)
    assert TintMethod.calls == [2, 2, 2, 1, 2, 2, 2, 1]
    rows = read_csv(tmp_path / "res" / "given" / "timings.csv")
    assert [int(r["n_images"]) for r in rows if r["method"] == "batched"] == [2, 2, 2, 1]
