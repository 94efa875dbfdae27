"""What a user chooses when scoring (the ``colorbench score`` flags): one dataclass, the defaults of
:func:`colorbench.metrics.score_run`'s keywords. Torch-free, so the CLI reads these without importing the scorer.

Example::

    >>> ScoreOptions().batch_size, ScoreOptions(device="cpu").device
    (32, 'cpu')
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ScoreOptions:
    lpips_net: str = "alex"  # the LPIPS authors' choice for evaluation
    device: str = "auto"  # CUDA when available
    batch_size: int = 32
    fid: bool = True  # its Inception pass is the slowest part on a CPU
    progress: bool = True
