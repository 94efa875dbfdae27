"""Sharded runs on an existing launcher: ``torchrun``, ``accelerate launch`` and Slurm set ``RANK``, ``WORLD_SIZE``
and ``LOCAL_RANK``; colorbench reads them, splits the work, and uses ``torch.distributed`` (gloo) only to wait for
and collect small Python objects from the other processes. A process started without those variables (or with
``WORLD_SIZE=1``) is a plain single-process run: nothing distributed is initialised.

Usage (what the runner does) (a sketch, not run by the doctests: it needs several processes)::

    shard = Shard.from_env()
    mine = shard.take(todo)                 # this process's part of the work
    per_rank = shard.gather(my_counts)      # on rank 0: every rank's object, in rank order; elsewhere None
    shard.barrier()

The split is by position (``items[rank::world_size]``) over a list every rank computes identically, so any world
size can continue any other's work: what a rank finds already on disk is not in the list.
"""

from __future__ import annotations

import datetime as _dt
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

#: how long a rank waits for the others at a barrier (the slowest rank's whole share of one method)
BARRIER_TIMEOUT = _dt.timedelta(hours=12)


class LaunchError(RuntimeError):
    """The launcher's environment variables do not describe a usable launch; the message says which and why."""


@dataclass(frozen=True)
class Shard:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    launch_id: str = ""  # TORCHELASTIC_RUN_ID (torchrun, accelerate) or SLURM_JOB_ID; "" when not sharded

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Shard:
        env = os.environ if env is None else env
        if "WORLD_SIZE" not in env and "RANK" not in env:
            return cls()
        try:
            world_size = int(env.get("WORLD_SIZE", "1"))
            rank = int(env.get("RANK", "0"))
            local_rank = int(env.get("LOCAL_RANK", str(rank)))
        except ValueError:
            raise LaunchError(f"RANK={env.get('RANK')!r}, WORLD_SIZE={env.get('WORLD_SIZE')!r}, LOCAL_RANK="
                              f"{env.get('LOCAL_RANK')!r}: expected integers (set by torchrun, accelerate launch or "
                              f"your Slurm script); unset them for a single-process run") from None
        if world_size < 1 or not 0 <= rank < world_size:
            raise LaunchError(f"RANK={rank} is not within WORLD_SIZE={world_size}: check the launcher's settings")
        launch = env.get("TORCHELASTIC_RUN_ID") or env.get("SLURM_JOB_ID") or ""
        return cls(rank, world_size, local_rank, launch if world_size > 1 else "")

    @property
    def sharded(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """Rank 0: the one process that writes run.json, collects the per-rank files and prints the summary."""
        return self.rank == 0

    def take(self, items: Sequence) -> list:
        """This rank's items of a list every rank computed identically."""
        return list(items[self.rank::self.world_size])

    def device(self, device: str) -> str:
        """One GPU per process: ``auto``/``cuda`` become ``cuda:<LOCAL_RANK>``; an explicit ``cuda:N`` is kept."""
        if self.sharded and device in ("auto", "cuda"):
            import torch

            if torch.cuda.is_available():
                return f"cuda:{self.local_rank % torch.cuda.device_count()}"
            return "cpu" if device == "auto" else device
        return device

    # --------------------------------------------------------------------------------- process group (gloo)
    def init(self) -> None:
        """Join the launcher's process group (gloo: only small Python objects travel, on CPU or GPU machines).
        Does nothing for a single process."""
        if not self.sharded:
            return
        import torch.distributed as dist

        if dist.is_initialized():
            return
        missing = [v for v in ("MASTER_ADDR", "MASTER_PORT") if not os.environ.get(v)]
        if missing:
            raise LaunchError(f"WORLD_SIZE={self.world_size} but {', '.join(missing)} is not set: start sharded runs "
                              f"with `torchrun --nproc-per-node N -m colorbench ...` or `accelerate launch -m "
                              f"colorbench ...` (they set it), or unset WORLD_SIZE/RANK for one process")
        # torch._dynamo (which torchvision, diffusers and torch.compile import) keeps references to the default
        # process group when it is first imported after the group exists: destroy_process_group then cannot free
        # it, gloo's threads outlive close() and are torn down during interpreter exit, where a rank whose peer has
        # already gone aborts ("terminate called without an active exception", SIGABRT). Imported first, it
        # holds none and close() really ends the group.
        import torch._dynamo  # noqa: F401

        dist.init_process_group("gloo", rank=self.rank, world_size=self.world_size, timeout=BARRIER_TIMEOUT)

    def barrier(self) -> None:
        if self.sharded:
            import torch.distributed as dist

            dist.barrier()

    def gather(self, obj: Any) -> list | None:
        """Every rank's ``obj`` on rank 0 (rank order), None elsewhere; ``[obj]`` for a single process."""
        if not self.sharded:
            return [obj]
        import torch.distributed as dist

        out = [None] * self.world_size if self.is_main else None
        dist.gather_object(obj, out, dst=0)
        return out

    def broadcast(self, obj: Any) -> Any:
        """Rank 0's ``obj`` on every rank."""
        if not self.sharded:
            return obj
        import torch.distributed as dist

        box = [obj if self.is_main else None]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def close(self) -> None:
        """Leave the process group (every rank, after the last collective): gloo's threads end here."""
        if self.sharded:
            import torch.distributed as dist

            if dist.is_initialized():
                dist.destroy_process_group()


def describe(shard: Shard) -> dict:
    """What run.json records about a launch."""
    return {"world_size": shard.world_size, "launch_id": shard.launch_id}
