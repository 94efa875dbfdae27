"""The family answer: which family colorizes best — CNN, transformer or diffusion — and what that answer rests on.

colorbench's question is asked per family (DESIGN.md), so the report answers it directly instead of leaving the
reader to group methods by hand:

* each family is represented by its **best method that ran** on the headline metric (mean over images) — the
  family at its best, as DESIGN.md asks ("each family should be represented by its strongest open model");
* the family bests are compared **pair by pair on the images both produced**, with the same procedure as the
  method comparisons (:func:`colorbench.report.stats.paired_test`: bootstrap CI of the mean difference, Wilcoxon
  signed-rank test; Holm's correction over the family comparisons);
* what the answer **rests on** is said per family: which of its methods ran, which did not and why ("diffusion:
  only controlnet-canny ran"), and a family with no method that ran says so. Picking the best of several methods
  on the same images favours a family with more methods a little; the text names how many each had.

A method's family comes from run.json (recorded by the runner, or ``colorbench import --family``); for run folders
from before families were recorded, from the registry; an imported method given no family is "unknown" and left
out of the answer (listed).

Usage (a sketch, not run by the doctests: it needs a scored run's tables)::

    from colorbench.report.family import family_answer
    answer = family_answer(pi, summary_table, run_info, metric="lpips")
    answer.best["cnn"].method, answer.comparisons
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import combinations

import pandas as pd

from colorbench.messages import plural
from colorbench.methods.families import CONTENDERS, FAMILIES, FAMILY_LABELS, UNKNOWN
from colorbench.metrics.specs import LOWER_IS_BETTER
from colorbench.records import MethodState, RunRecord
from colorbench.report.aggregate import better_of
from colorbench.report.stats import DEFAULT_BOOTSTRAP, DEFAULT_SEED, holm, paired_test


@dataclass
class FamilyBest:
    family: str
    method: str | None  # None: no method of the family produced scored images
    mean: float = float("nan")
    ci_low: float = float("nan")
    ci_high: float = float("nan")
    n: int = 0
    ran: list[str] = field(default_factory=list)  # the family's methods with scored images, best first
    not_run: list[tuple[str, str]] = field(default_factory=list)  # (method, "skipped"/"failed") in run.json
    smoke: set[str] = field(default_factory=set)  # methods that ran as tiny untrained smoke models

    @property
    def rests_on(self) -> str:
        """One plain clause: what the family's number rests on."""
        name = FAMILY_LABELS[self.family]
        ran = [f"{m} (smoke: untrained)" if m in self.smoke else m for m in self.ran]
        missing = "; ".join(f"{m} {status}" for m, status in self.not_run)
        missing = f" ({missing})" if missing else ""
        if not self.ran:
            return f"{name}: no method ran{missing}" if self.not_run else f"{name}: no method in this run"
        if len(self.ran) == 1:
            return f"{name}: only {ran[0]} ran{missing}"
        return f"{name}: best of {plural(len(ran), 'method')} ({', '.join(ran)}){missing}"


@dataclass
class FamilyAnswer:
    metric: str
    best: dict[str, FamilyBest]  # by family, in FAMILIES order (floor included, as the reference)
    comparisons: pd.DataFrame  # family-best vs family-best: the columns of paired_table plus family_a/b
    families: dict[str, str]  # method -> family (UNKNOWN when not recorded)

    @property
    def ranked(self) -> list[FamilyBest]:
        """Contending families with a scored method, best first on the metric."""
        present = [b for f, b in self.best.items() if f in CONTENDERS and b.method is not None]
        return sorted(present, key=lambda b: b.mean if LOWER_IS_BETTER.get(self.metric) else -b.mean)

    @property
    def unknown(self) -> list[str]:
        return [m for m, f in self.families.items() if f == UNKNOWN]

    def rests_on(self) -> list[str]:
        return [self.best[f].rests_on for f in CONTENDERS]


def method_families(methods, run_info: RunRecord | dict | None) -> dict[str, str]:
    """Each method's family: run.json's record, else the registry's (older run folders), else UNKNOWN."""
    from colorbench.methods.registry import method_family

    record = RunRecord.coerce(run_info)
    out = {}
    for method in methods:
        family = record.status_of(method).family or method_family(method)
        out[method] = family if family in FAMILIES else UNKNOWN
    return out


def family_answer(pi: pd.DataFrame, summary_table: pd.DataFrame, run_info: RunRecord | dict | None, *, metric: str,
                  n_boot: int = DEFAULT_BOOTSTRAP, seed: int = DEFAULT_SEED) -> FamilyAnswer:
    """Family bests and their paired comparisons on ``metric``. ``pi``: per-image values
    (:func:`~colorbench.report.aggregate.per_image`); ``summary_table``:
    :func:`~colorbench.report.aggregate.method_summary`; ``run_info``: run.json (families, methods that did not run)."""
    record = RunRecord.coerce(run_info)
    all_methods = list(dict.fromkeys([*record.methods, *record.method_status, *summary_table["method"]]))
    families = method_families(all_methods, record)
    table = summary_table.set_index("method")
    lower = bool(LOWER_IS_BETTER.get(metric))
    best: dict[str, FamilyBest] = {}
    for family in FAMILIES:
        members = [m for m in all_methods if families[m] == family]
        scored = [m for m in members if m in table.index and pd.notna(table.loc[m, f"{metric}_mean"])]
        scored.sort(key=lambda m: table.loc[m, f"{metric}_mean"] * (1 if lower else -1))
        not_run = [(m, record.status_of(m).status) for m in members if m not in scored
                   and record.status_of(m).status in (MethodState.SKIPPED, MethodState.FAILED)]
        entry = FamilyBest(family, scored[0] if scored else None, ran=scored, not_run=not_run,
                           # the floor has no model to be untrained: a smoke run's gray input is the real thing
                           smoke={m for m in scored if family != "floor" and _is_smoke(record, m)})
        if scored:
            row = table.loc[scored[0]]
            entry.mean, entry.ci_low, entry.ci_high = (float(row[f"{metric}_{s}"]) for s in ("mean", "lo", "hi"))
            entry.n = int(row["n_scored"])
        best[family] = entry
    present = [best[f] for f in CONTENDERS if best[f].method is not None]
    rows = []
    wide = pi.pivot(index="id", columns="method", values=metric) if len(pi) else pd.DataFrame()
    for a, b in combinations(present, 2):
        both = wide[[a.method, b.method]].dropna()
        res = paired_test(both[a.method].to_numpy(), both[b.method].to_numpy(), n_boot=n_boot, seed=seed)
        rows.append({"metric": metric, "family_a": a.family, "family_b": b.family, "method_a": a.method,
                     "method_b": b.method, "n": res.n, "mean_diff": res.mean_diff, "ci_low": res.ci_low,
                     "ci_high": res.ci_high, "p_wilcoxon": res.p_wilcoxon, "_direction": res.rank_direction})
    for row, p in zip(rows, holm([r["p_wilcoxon"] for r in rows])):
        row["p_holm"] = p
        row["better"] = better_of(row["method_a"], row["method_b"], row["mean_diff"], row.pop("_direction"), p,
                                  lower_is_better=lower)
    columns = ["metric", "family_a", "family_b", "method_a", "method_b", "n", "mean_diff", "ci_low", "ci_high",
               "p_wilcoxon", "p_holm", "better"]
    return FamilyAnswer(metric, best, pd.DataFrame(rows, columns=columns), families)


def _is_smoke(record: RunRecord, method: str) -> bool:
    """The method ran as a tiny untrained model: a smoke run, or its own ``--option METHOD.smoke=true``."""
    status = record.status_of(method)
    options = (status.made_with or {}).get("options") or {}
    return record.is_smoke or bool(options.get("smoke") or (status.config or {}).get("smoke"))
