"""Sharded runs through the real launchers (torchrun, accelerate launch) on CPU processes (gloo).

Each launch starts fresh Python processes (imports dominate the cost), so the images are tiny and few; launches
with the smoke ColTran/diffusion pipelines or three processes are marked slow.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import skip_without
from PIL import Image

from colorbench.config import RunConfig
from colorbench.distributed import LaunchError, Shard
from colorbench.run import run
from colorbench.runfolder import RunFolder, read_csv

SRC = Path(__file__).resolve().parents[1] / "src"


def tiny_dataset(root: Path, n: int = 6) -> Path:
    """``n`` random colour images of two sizes in two classes (two sizes: batches split on size)."""
    rng = np.random.default_rng(1)
    for i in range(n):
        (root / f"class{i % 2}").mkdir(parents=True, exist_ok=True)
        shape = (64, 72, 3) if i % 3 else (64, 64, 3)  # LPIPS's AlexNet needs 64 pixels or so
        Image.fromarray(rng.integers(0, 255, shape, dtype=np.uint8)).save(root / f"class{i % 2}" / f"im{i}.png")
    return root


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launcher(kind: str, nproc: int) -> list[str]:
    """The launcher's own command line (as a user types it, with ``python -m`` for the venv's copy)."""
    if kind == "torchrun":
        return [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", str(nproc)]
    pytest.importorskip("accelerate")
    # on a machine without GPUs, --multi_gpu is how accelerate starts N local processes (--cpu would need mpirun)
    return [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", str(nproc),
            "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
            "--main_process_port", str(_free_port())]


def env_for(results: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK")}
    env.update(PYTHONPATH=os.pathsep.join([str(SRC), env.get("PYTHONPATH", "")]), OMP_NUM_THREADS="1",
               COLORBENCH_RESULTS=str(results))
    return env


def launch(kind: str, nproc: int, args: list[str], results: Path, *, module: bool = True, **popen) -> subprocess.Popen:
    # `--`: the launchers' parsers would otherwise read colorbench's flags as their own (`--run` is ambiguous with
    # torchrun's --run-path; accelerate would take `--config` for its --config_file)
    cmd = launcher(kind, nproc) + (["-m", "--", "colorbench"] if module else []) + args
    return subprocess.Popen(cmd, env=env_for(results), **popen)


def run_cli(kind, nproc, args, results) -> None:
    proc = launch(kind, nproc, args, results, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out, _ = proc.communicate(timeout=600)
    assert proc.returncode == 0, out[-3000:]


def images_of(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.glob("images/*/*.png"))}


def reference(tmp_path_factory, methods: list[str]) -> tuple[Path, Path]:
    """A single-process run (in this process, no distributed init) of ``methods`` on the tiny dataset.

    With one torch thread, as every launched rank has (``OMP_NUM_THREADS=1``, which torchrun also sets): a
    convolution's float sums depend on how many threads split them, so "byte for byte" compares like with like."""
    root = tmp_path_factory.mktemp("reference")
    data = tiny_dataset(root / "data")
    summary = run(RunConfig(run="one", dataset=str(data), methods=methods, smoke=True, device="cpu", batch_size=2,
                            results_dir=str(root / "results")), progress=False, shard=Shard())
    return data, summary.path


def check_sharded_equals_reference(folder: Path, reference_folder: Path, nproc: int, n_images: int) -> None:
    ref = images_of(reference_folder)
    assert images_of(folder) == ref  # byte for byte, every method, every image
    assert not (folder / ".ranks").exists()  # every rank's rows were merged
    timings = read_csv(folder / "timings.csv")
    methods = {name.split("/")[1] for name in ref}
    for method in methods:
        rows = [r for r in timings if r["method"] == method]
        assert sum(int(r["n_images"]) for r in rows) == n_images  # every image counted once
        assert {r["rank"] for r in rows} == {str(r) for r in range(nproc)}  # every rank did a share
    record = RunFolder(folder).read_run_json()
    assert record["status"] == "finished" and record["launch"]["world_size"] == nproc
    assert len(record["launch"]["devices"]) == nproc
    assert all(record["method_status"][m]["written"] == n_images for m in methods)


# ------------------------------------------------------------------------------------------------ fast
@pytest.fixture(scope="module")
def deterministic_reference(tmp_path_factory, one_torch_thread):
    return reference(tmp_path_factory, ["gray", "cnn-lpips"])


def test_two_torchrun_processes_make_the_single_process_images(tmp_path, deterministic_reference):
    data, ref = deterministic_reference
    run_cli("torchrun", 2, ["run", "--smoke", "--dataset", str(data), "--methods", "gray,cnn-lpips", "--device", "cpu",
                            "--batch-size", "2", "--run", "sharded"], tmp_path)
    check_sharded_equals_reference(tmp_path / "sharded", ref, 2, 6)


SCORE = textwrap.dedent("""
    import sys
    from colorbench.metrics import score_run
    score_run(sys.argv[1], lpips_trunk="uncalibrated", fid_weights=sys.argv[2], batch_size=2, progress=False)
""")


def test_a_sharded_scoring_writes_the_single_process_metrics(tmp_path, deterministic_reference):
    import json
    import shutil

    from colorbench.metrics import score_run
    from colorbench.metrics.fid import uncalibrated_inception_weights

    _, ref = deterministic_reference  # (its one_torch_thread also holds for this scoring: as the ranks score)
    weights = uncalibrated_inception_weights(tmp_path / "inception.pth")
    single, sharded = tmp_path / "single", tmp_path / "sharded"
    shutil.copytree(ref, single)
    shutil.copytree(ref, sharded)
    score_run(single, lpips_trunk="uncalibrated", fid_weights=weights, batch_size=2, progress=False, shard=Shard())
    script = tmp_path / "score.py"
    script.write_text(SCORE)
    proc = launch("torchrun", 3, [str(script), str(sharded), str(weights)], tmp_path, module=False,
                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out, _ = proc.communicate(timeout=600)
    assert proc.returncode == 0, out[-3000:]
    assert (sharded / "metrics.csv").read_text() == (single / "metrics.csv").read_text()
    fid = [json.loads((f / "metrics.json").read_text())["fid"]["per_method"] for f in (single, sharded)]
    # FID once, over every rank's features: the same counts, the same value (to BLAS summation order: numpy's BLAS
    # threads differ between this process and the launched ranks; the stand-in's FIDs are of order 1-100)
    assert {m: {k: v for k, v in d.items() if k != "fid"} for m, d in fid[0].items()} == \
        {m: {k: v for k, v in d.items() if k != "fid"} for m, d in fid[1].items()}
    assert min(fid[0][m]["fid"] for m in fid[0]) > 1e-3  # a real difference to compare, not rounding
    assert all(fid[1][m]["fid"] == pytest.approx(fid[0][m]["fid"], rel=1e-9, abs=0) for m in fid[0])
    assert fid[0]["cnn-lpips"]["n_fake"] == 6


KILLABLE = textwrap.dedent("""
    import os, sys, time
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
            if sys.argv[3] == "hang" and Slow.calls > 2:
                time.sleep(3600)  # every rank stops after 2 images: the kill lands mid-run on any machine load
            return [np.repeat(g[:, :, None], 3, 2) // 2 + 60 for g in grays]

    registry.register_method("slow", Slow)
    os.makedirs(sys.argv[4], exist_ok=True)
    open(os.path.join(sys.argv[4], os.environ["RANK"]), "w").write(str(os.getpid()))
    run(RunConfig(run="killed", dataset=sys.argv[1], methods=["slow"], batch_size=1, results_dir=sys.argv[2]),
        progress=False)
""")


def test_killing_one_rank_then_resuming_with_another_world_size_redoes_nothing(tmp_path):
    data = tiny_dataset(tmp_path / "data", n=9)
    script = tmp_path / "killable.py"
    script.write_text(KILLABLE)
    results, pids = tmp_path / "results", tmp_path / "pids"
    proc = launch("torchrun", 3, [str(script), str(data), str(results), "hang", str(pids)], tmp_path, module=False,
                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    images = results / "killed" / "images" / "slow"
    deadline = time.time() + 300
    while time.time() < deadline and len(list(images.glob("*.png"))) < 6:
        time.sleep(0.1)
    os.kill(int((pids / "1").read_text()), signal.SIGKILL)  # one rank dies; torchrun then stops the others
    proc.wait(timeout=120)
    assert proc.returncode != 0
    done_before = {p.name: p.stat().st_mtime_ns for p in images.glob("*.png")}
    assert len(done_before) == 6
    folder = RunFolder(results / "killed")
    assert list((folder.path / ".ranks").glob("timings.rank*.csv"))  # the ranks' rows wait there for rank 0

    resume = launch("torchrun", 2, [str(script), str(data), str(results), "go", str(pids)], tmp_path, module=False,
                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out, _ = resume.communicate(timeout=600)
    assert resume.returncode == 0, out[-3000:]
    after = {p.name: p.stat().st_mtime_ns for p in images.glob("*.png")}
    assert len(after) == 9
    assert all(after[name] == mtime for name, mtime in done_before.items())  # finished images were not redone
    timings = read_csv(folder.timings_csv)
    assert sum(int(r["n_images"]) for r in timings) == 9  # the killed launch's rows merged, each image once
    assert not list(folder.path.rglob(".tmp-*")) and not (folder.path / ".ranks").exists()
    record = folder.read_run_json()
    assert record["status"] == "finished" and record["launch"]["world_size"] == 2
    assert record["method_status"]["slow"]["reused"] == 6 and record["method_status"]["slow"]["written"] == 3


CLOSE_ENDS_GLOO = textwrap.dedent("""
    import os
    import sys
    from colorbench.distributed import Shard

    shard = Shard.from_env()
    shard.init()
    import torchvision  # noqa: F401  (imports torch._dynamo, as the CNN, ColTran and diffusion methods do)
    shard.barrier()
    shard.close()
    names = [open(f"/proc/self/task/{t}/comm").read().strip() for t in os.listdir("/proc/self/task")]
    with open(os.path.join(sys.argv[1], f"threads.rank{shard.rank}"), "w") as f:  # the ranks' prints interleave
        f.write(" ".join(sorted(names)))
""")


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads the threads from /proc (Linux)")
def test_close_ends_the_gloo_threads_even_after_torch_dynamo_is_imported(tmp_path):
    """A process group that outlives close() is torn down at interpreter exit, where a rank aborted (SIGABRT) once
    its peer had gone: torch._dynamo, first imported after init_process_group, held the group alive."""
    script = tmp_path / "close_ends_gloo.py"
    script.write_text(CLOSE_ENDS_GLOO)
    proc = launch("torchrun", 2, [str(script), str(tmp_path)], tmp_path, module=False, stdout=subprocess.PIPE,
                  stderr=subprocess.STDOUT, text=True)
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, out[-3000:]
    threads = {rank: (tmp_path / f"threads.rank{rank}").read_text() for rank in (0, 1)}
    assert all("python" in names for names in threads.values()), threads  # the ranks did list their threads
    assert not any("gloo" in names for names in threads.values()), threads


def test_single_process_runs_never_initialise_torch_distributed(tmp_path):
    import torch.distributed as dist

    data = tiny_dataset(tmp_path / "data", n=2)
    run(RunConfig(run="plain", dataset=str(data), methods=["gray"], results_dir=str(tmp_path)), progress=False)
    assert not dist.is_initialized()


def test_launcher_variables_are_read_and_checked():
    assert Shard.from_env({}) == Shard()
    shard = Shard.from_env({"RANK": "2", "WORLD_SIZE": "3", "LOCAL_RANK": "0", "TORCHELASTIC_RUN_ID": "job7"})
    assert (shard.rank, shard.world_size, shard.local_rank, shard.launch_id) == (2, 3, 0, "job7")
    assert shard.take(list(range(8))) == [2, 5]
    assert not Shard.from_env({"RANK": "0", "WORLD_SIZE": "1"}).sharded
    with pytest.raises(LaunchError, match="RANK=3 is not within WORLD_SIZE=3"):
        Shard.from_env({"RANK": "3", "WORLD_SIZE": "3"})
    with pytest.raises(LaunchError, match="expected integers"):
        Shard.from_env({"RANK": "one", "WORLD_SIZE": "3"})


# ------------------------------------------------------------------------------------------------ slow
@pytest.fixture(scope="module")
def smoke_reference(tmp_path_factory, one_torch_thread):
    skip_without("diffusion")  # controlnet-canny is one of the pipelines (and accelerate, a launcher, comes with it)
    return reference(tmp_path_factory, ["gray", "cnn-lpips", "coltran", "controlnet-canny"])


@pytest.mark.slow
@pytest.mark.parametrize("kind, nproc", [("accelerate", 2), ("accelerate", 3), ("torchrun", 3)])
def test_sharded_smoke_pipelines_make_the_single_process_images(tmp_path, smoke_reference, kind, nproc):
    """Every smoke pipeline, stochastic ones included (their seeds depend only on the run seed and the image)."""
    data, ref = smoke_reference
    run_cli(kind, nproc, ["run", "--smoke", "--dataset", str(data), "--methods",
                          "gray,cnn-lpips,coltran,controlnet-canny", "--device", "cpu", "--batch-size", "2",
                          "--run", "sharded"], tmp_path)
    check_sharded_equals_reference(tmp_path / "sharded", ref, nproc, 6)
