"""One writer per run folder (and per dataset download): an advisory lock that names its holder.

Two processes writing one run folder silently mix their work: two identical runs both compute everything and leave
wrong counts in timings.csv; runs with different options leave images made two ways under one run.json. Every
writer (``colorbench run``, ``score``, ``report``, ``data download``) therefore holds :func:`run_folder_lock`.

The lock is `filelock <https://py-filelock.readthedocs.io>`_'s ``FileLock`` on ``<folder>/.colorbench.lock``: an
OS lock (``fcntl.flock`` on POSIX, ``msvcrt.locking`` on Windows) that the kernel drops when its process dies, so
the lock of a killed run is taken over at once, never left stale. On filesystems without working OS locks (some
network mounts) filelock falls back to its soft lock, which detects a dead holder the same way. Who holds it is
written beside it, in ``.colorbench.lock.json`` (pid, host, command, start time, launch id), so that a second writer
is told whom it waits for.

Sharded runs: the ranks of one ``torchrun`` / ``accelerate launch`` write one folder by design. They pass the same
``launch_id`` (the default, :func:`launch_id_from_env`, derives it from the launcher's environment): the first rank
takes the lock, the others see the holder's launch id and go ahead. An unrelated process still gets "busy". The
OS lock lives as long as the rank that took it: launchers end all ranks together, and a rank that must outlive the
others (say, one that collects their work) should be the one to enter first, or take the lock again for that.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import socket
import sys
import time
from pathlib import Path
from typing import Callable, Iterator

from colorbench import atomic
from colorbench.provenance import now_iso

LOCK_NAME = ".colorbench.lock"
INFO_NAME = ".colorbench.lock.json"
WAIT_ENV = "COLORBENCH_LOCK_WAIT"  # seconds a second writer waits for the holder before giving up (default 0)
_FROM_ENV = "from-env"
_JOIN_GRACE_S = 10.0  # ranks start within seconds of each other: how long one waits for the holder's info to appear


class FolderBusy(BlockingIOError):
    """Another process is writing the folder; the message names it (pid, host, command) and what to do."""


def launch_id_from_env(env: os._Environ | dict | None = None) -> str | None:
    """An id shared by the ranks of one distributed launch and by no other process, or None outside one.

    torchrun sets ``TORCHELASTIC_RUN_ID``; torchrun, accelerate and ``torch.distributed.launch`` set ``WORLD_SIZE``,
    ``MASTER_ADDR`` and ``MASTER_PORT``, whose combination is unique while the launch runs (its rendezvous port).
    """
    env = os.environ if env is None else env
    world = env.get("WORLD_SIZE")
    if not world or world == "1":
        return None
    rendezvous = f"{env.get('MASTER_ADDR', '')}:{env.get('MASTER_PORT', '')}"
    run_id = env.get("TORCHELASTIC_RUN_ID")
    if run_id:
        return f"torchelastic:{run_id}:{rendezvous}:{world}"
    if rendezvous != ":":
        return f"dist:{rendezvous}:{world}"
    return None


@contextlib.contextmanager
def run_folder_lock(folder: str | os.PathLike, *, command: str = "", launch_id: str | None = _FROM_ENV,
                    wait: float | None = None) -> Iterator[dict]:
    """Hold the writer lock of ``folder`` (which must exist) for the ``with`` block; yields the holder's info.

    ``command``: what this process does, shown to a second writer (e.g. ``"colorbench run --run demo"``).
    ``launch_id``: processes passing the same non-None id share the folder (the ranks of one sharded launch); the
    default reads it from the launcher's environment (:func:`launch_id_from_env`); ``None`` never shares.
    ``wait``: seconds to wait for a holder to finish (default ``$COLORBENCH_LOCK_WAIT`` or 0: stop at once).
    Raises :class:`FolderBusy` naming the holder. Re-entrant within a process (``demo`` runs, scores, reports).

    Usage in a rank of a sharded run (a sketch, not run by the doctests: it needs a sharded launch)::

        with run_folder_lock(folder, command="colorbench run --shard", launch_id=launch_id_from_env()):
            ...  # write this rank's share of the folder
    """
    import filelock

    folder = Path(folder)
    if launch_id == _FROM_ENV:
        launch_id = launch_id_from_env()
    if wait is None:
        wait = float(os.environ.get(WAIT_ENV) or 0)
    lock = filelock.FileLock(folder / LOCK_NAME, is_singleton=True)
    info_path = folder / INFO_NAME
    if lock.is_locked:  # this process holds it already (re-entrant use)
        with lock:
            yield _read_info(info_path) or {}
        return
    started = time.monotonic()
    joined = None
    while True:
        try:
            lock.acquire(timeout=0)
            break
        except filelock.Timeout:
            holder = _read_info(info_path)
        if launch_id is not None and holder and holder.get("launch_id") == launch_id:
            joined = holder  # a rank of our own launch holds it: share the folder
            break
        waited = time.monotonic() - started
        # the holder may be a rank of our launch that has not written its info yet (none, or a dead process's)
        awaiting_own_rank = launch_id is not None and waited < _JOIN_GRACE_S and (holder is None or _dead(holder))
        if waited >= wait and not awaiting_own_rank:
            raise FolderBusy(_busy_message(folder, holder, command))
        time.sleep(0.1)
    if joined is not None:
        yield joined
        return
    try:
        info = {"pid": os.getpid(), "host": socket.gethostname(), "command": command or " ".join(sys.argv),
                "started": now_iso(), "launch_id": launch_id}
        atomic.write_json(info_path, info)
        yield info
    finally:
        if lock.lock_counter == 1:  # the last release: remove the info first, so it never names a later holder
            with contextlib.suppress(OSError):
                info_path.unlink()
        lock.release()


def locks_run_folder(command: str) -> Callable:
    """Decorator for a writer whose first argument is a run folder: holds :func:`run_folder_lock` while it runs
    (not when called with ``write=False``)."""

    def decorate(function: Callable) -> Callable:
        @functools.wraps(function)
        def locked(run_path, *args, **kwargs):
            if not kwargs.get("write", True) or not Path(run_path).is_dir():
                return function(run_path, *args, **kwargs)  # read-only use, or a path the function will reject
            with run_folder_lock(run_path, command=command):
                return function(run_path, *args, **kwargs)

        return locked

    return decorate


def _dead(holder: dict) -> bool:
    """Whether the info names a process of this host that no longer runs (left by a killed holder)."""
    pid = holder.get("pid")
    return holder.get("host") == socket.gethostname() and isinstance(pid, int) and not atomic.process_alive(pid)


def _read_info(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _busy_message(folder: Path, holder: dict | None, command: str) -> str:
    who = (f"pid {holder.get('pid')} on host {holder.get('host')} (`{holder.get('command')}`, since "
           f"{holder.get('started')})" if holder else "another process (it has not said which yet)")
    return (f"{folder} is being written by {who}; {command or 'this command'} would mix its files with that one's. "
            f"Wait for it to finish (or set {WAIT_ENV}=SECONDS to wait), or use another run folder. A lock whose "
            f"process has died is taken over automatically.")
