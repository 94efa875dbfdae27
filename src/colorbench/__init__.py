"""colorbench: compare CNN, transformer and diffusion colorizers on the same grayscale inputs, with evidence.

Quick use::

    from colorbench.methods import get_method
    method = get_method("gray")
    method.load("cpu")
    [rgb] = method.colorize([gray_uint8_hw], seed=0)
"""

__version__ = "0.1.0"
