"""Colorization methods: one module (or package) each, looked up by name in :mod:`colorbench.methods.registry`.

Adding a method is one module, one registry line and one options dataclass (another package adds one through the
``colorbench.methods`` entry-point group, or :func:`register_method`); the contract (``name``,
``stochastic``, ``Options``, ``load``, ``colorize`` with ``item_seeds`` and ``labels``, ``stage_seconds``) is in
:mod:`colorbench.methods.base`, the options' rules in :mod:`colorbench.methods.options`.
"""

from colorbench.methods.base import Method, item_seed
from colorbench.methods.options import MethodOptions, OptionError, speed_only
from colorbench.methods.registry import get_method, method_class, method_names, readiness, register_method

__all__ = ["Method", "MethodOptions", "OptionError", "get_method", "item_seed", "method_class", "method_names",
           "readiness", "register_method", "speed_only"]
