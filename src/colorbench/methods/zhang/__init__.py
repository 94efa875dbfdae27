"""Zhang et al.'s classic colorizers: ECCV16 (``eccv16``) and SIGGRAPH17 (``siggraph17``).

Architectures in :mod:`.eccv16` / :mod:`.siggraph17`, bins and the annealed mean in :mod:`.decoding`, released-weights
loading in :mod:`.release`, the colorbench methods and notebook helpers in :mod:`.method`.
"""

from colorbench.methods.zhang.method import (
    ECCV16Method,
    SIGGRAPH17Method,
    colorize_with_temperatures,
    join_full_resolution,
    network_input,
)

__all__ = ["ECCV16Method", "SIGGRAPH17Method", "colorize_with_temperatures", "join_full_resolution", "network_input"]
