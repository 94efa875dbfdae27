"""colorbench: compare CNN, transformer and diffusion colorizers on the same grayscale inputs, with evidence.

Quick use::

    from colorbench.methods import get_method
    method = get_method("gray")
    method.load("cpu")
    [rgb] = method.colorize([gray_uint8_hw], seed=0)
"""

import os as _os

# Before anything loads numpy: OpenBLAS's idle threads spin for 2**28 CPU cycles (~0.1 s) before they sleep. ColTran's
# CPU stages hand work back and forth between OpenBLAS's pool (large products, methods/coltran/cpu_blas.py) and
# torch's OpenMP pool, so each pool's threads spun while the other worked: 2**4 cycles makes them sleep at once.
# Colour upsampler, 2 threads, batch 1: 8.0 -> 6.8 CPU seconds (benchmarks/README.md). Only a default: a value the user
# set wins, and it has no effect where numpy was imported before colorbench.
_os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "4")

__version__ = "0.1.0"
