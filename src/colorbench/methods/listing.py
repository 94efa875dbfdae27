"""What ``colorbench methods`` and the notebooks' methods table show: one row per registered method, built once here
so the two never tell different stories."""

from __future__ import annotations

from dataclasses import dataclass

from colorbench.methods.registry import method_class, method_names, readiness


@dataclass(frozen=True)
class MethodRow:
    name: str
    kind: str  # "stochastic", "deterministic", or "—" when its module cannot be imported
    weights: list[str]  # the weights-registry artefacts it needs with its default options
    why_not: str | None  # why it cannot run here (readiness), None when it can
    description: str
    importable: bool = True
    family: str = "?"  # floor, cnn, transformer or diffusion (methods/families.py); "?" when it cannot be imported


def method_rows() -> list[MethodRow]:
    """Every registered method (built-in and from entry points), in registry order. Never downloads."""
    rows = []
    for name in method_names():
        try:
            cls = method_class(name)
        except ImportError as exc:
            rows.append(MethodRow(name, "—", [], f"cannot import: {exc}", "", importable=False))
            continue
        try:
            needs = cls().weights()
        except Exception:  # noqa: BLE001 — a constructor that needs arguments: weights unknown until configured
            needs = []
        rows.append(MethodRow(name, "stochastic" if cls.stochastic else "deterministic", needs, readiness(name),
                              cls.description, family=getattr(cls, "family", "?")))
    return rows
