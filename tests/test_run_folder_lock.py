"""Issue 14, point 2: one writer per run folder. A second `run`/`score`/`report` stops with the holder's pid and
host; the lock of a killed process is taken over; the ranks of one sharded launch share the folder."""

import os
import signal
import socket
import subprocess
import sys
import textwrap

import pytest

from colorbench.cli import main as cli_main
from colorbench.config import RunConfig
from colorbench.locks import INFO_NAME, FolderBusy, launch_id_from_env, run_folder_lock
from colorbench.run import run

HOLDER = textwrap.dedent("""
    import sys, time
    from colorbench.locks import run_folder_lock
    with run_folder_lock(sys.argv[1], command="holder-under-test", launch_id=sys.argv[2] or None):
        print("held", flush=True)
        sys.stdin.read()  # hold until the test closes stdin (or kills us)
""")


@pytest.fixture
def holder(tmp_path):
    """Start a process that holds a folder's lock; yields a function (folder, launch_id) -> Popen."""
    procs = []

    def start(folder, launch_id=""):
        folder.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
        proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(folder), launch_id], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, text=True, env=env)
        procs.append(proc)
        assert proc.stdout.readline().strip() == "held"
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)


def test_a_second_writer_stops_naming_the_holder_and_a_dead_holder_is_taken_over(tmp_path, holder, capsys):
    results = tmp_path / "results"
    cfg = RunConfig(run="busy", methods=["gray"], limit=1, results_dir=str(results))
    proc = holder(results / "busy")
    with pytest.raises(FolderBusy) as info:
        run(cfg, progress=False)
    message = str(info.value)
    assert f"pid {proc.pid}" in message and socket.gethostname() in message and "holder-under-test" in message
    assert not (results / "busy" / "run.json").exists()  # stopped before writing anything
    for command in (["score", str(results / "busy")], ["report", str(results / "busy")]):
        assert cli_main(command) == 2
        assert f"pid {proc.pid}" in capsys.readouterr().err

    proc.send_signal(signal.SIGKILL)  # a killed holder: its lock must not block the folder forever
    proc.wait(timeout=30)
    assert (results / "busy" / INFO_NAME).exists()  # the dead holder's info is still there...
    summary = run(cfg, progress=False)  # ...and is taken over
    assert summary.samples == 1 and not (results / "busy" / INFO_NAME).exists()  # released after the run


def test_ranks_of_one_launch_share_the_folder_and_others_do_not(tmp_path, holder):
    folder = tmp_path / "sharded"
    holder(folder, launch_id="torchelastic:abc:10.0.0.1:29500:2")
    with run_folder_lock(folder, launch_id="torchelastic:abc:10.0.0.1:29500:2") as info:
        assert info["command"] == "holder-under-test"  # joined the holder's launch
    with pytest.raises(FolderBusy):
        run_folder_lock(folder, launch_id="torchelastic:other:10.0.0.1:29501:2", wait=0).__enter__()


def test_launch_id_comes_from_the_launchers_environment():
    torchrun = {"WORLD_SIZE": "4", "RANK": "3", "LOCAL_RANK": "1", "MASTER_ADDR": "node0", "MASTER_PORT": "29500",
                "TORCHELASTIC_RUN_ID": "job7"}
    assert launch_id_from_env(torchrun) == launch_id_from_env({**torchrun, "RANK": "0", "LOCAL_RANK": "0"})
    assert launch_id_from_env(torchrun) != launch_id_from_env({**torchrun, "TORCHELASTIC_RUN_ID": "job8"})
    accelerate = {"WORLD_SIZE": "2", "RANK": "1", "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": "29501"}
    assert launch_id_from_env(accelerate) is not None
    assert launch_id_from_env({}) is None and launch_id_from_env({"WORLD_SIZE": "1"}) is None


def test_a_second_writer_can_wait_for_the_holder(tmp_path, holder):
    folder = tmp_path / "waited"
    proc = holder(folder)
    proc.stdin.close()  # the holder finishes now; a writer told to wait gets the folder
    with run_folder_lock(folder, wait=60) as info:
        assert info["pid"] == os.getpid()
