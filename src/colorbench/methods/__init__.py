"""Colorization methods: one module (or package) each, looked up by name in :mod:`colorbench.methods.registry`."""

from colorbench.methods.base import Method, item_seed
from colorbench.methods.registry import get_method, method_class, method_names, readiness

__all__ = ["Method", "get_method", "item_seed", "method_class", "method_names", "readiness"]
