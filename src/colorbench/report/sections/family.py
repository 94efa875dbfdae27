"""The "Family answer" section: which family colorizes best, each at its best, and what the answer rests on.

The numbers are :func:`colorbench.report.family.family_answer`'s (computed with the report's content, since the
verdict's first sentence says the same); this section shows them as two tables — each family's best method, and
the family-best vs family-best paired comparisons — with the verdict's family sentence above them.
"""

from __future__ import annotations

import html

import pandas as pd

from colorbench.methods.base import SMOKE_LABEL
from colorbench.methods.families import FAMILY_LABELS, family_color
from colorbench.metrics.specs import spec
from colorbench.report.sections import Section, register_section
from colorbench.report.tables import Table, fmt, fmt_ci, to_html
from colorbench.report.verdict import family_sentence


def build(content, options) -> None:
    answer = content.family
    if answer is None:
        return
    metric = spec(answer.metric)
    best = pd.DataFrame([{"family": b.family, "best method": b.method or "—", f"{answer.metric}_mean": b.mean,
                          "ci_low": b.ci_low, "ci_high": b.ci_high, "n": b.n, "rests on": b.rests_on}
                         for b in answer.best.values()])
    shown = pd.DataFrame({"family": best["family"].map(FAMILY_LABELS), "best method": best["best method"],
                          f"mean {metric.heading} [95% CI]": [fmt_ci(r[f"{answer.metric}_mean"], r["ci_low"],
                                                                     r["ci_high"], metric.decimals)
                                                              for _, r in best.iterrows()],
                          "images": best["n"].astype(str), "rests on": best["rests on"]})
    notes = [f"Each family is represented by its best method on {metric.label} (mean over its scored images); the "
             "floor (the gray input) is the reference every colorizer must beat."]
    if answer.unknown:
        notes.append(f"Left out (no family recorded; `colorbench import --family` sets one): "
                     f"{', '.join(answer.unknown)}.")
    content.tables["family_best"] = Table("family_best", f"Each family at its best on {metric.heading}", best,
                                          shown, notes)
    pairs = answer.comparisons
    shown_pairs = pd.DataFrame({
        "families": [f"{FAMILY_LABELS[a]} vs {FAMILY_LABELS[b]}" for a, b in zip(pairs["family_a"], pairs["family_b"])],
        "methods": [f"{a} vs {b}" for a, b in zip(pairs["method_a"], pairs["method_b"])],
        "n": pairs["n"].astype(str),
        "mean(a − b) [95% CI]": [fmt_ci(r.mean_diff, r.ci_low, r.ci_high, metric.decimals) for r in pairs.itertuples()],
        "p (Wilcoxon)": pairs["p_wilcoxon"].map(lambda p: fmt(p, 4)),
        "p (Holm)": pairs["p_holm"].map(lambda p: fmt(p, 4)),
        "better": pairs["better"]})
    content.tables["family_pairwise"] = Table(
        "family_pairwise", f"Family best vs family best on {metric.heading} (same images)", pairs, shown_pairs,
        ["The same procedure as the method comparisons: paired bootstrap CI of the mean difference, two-sided "
         "Wilcoxon signed-rank test, Holm correction over these family comparisons."])


def render(content, page) -> str | None:
    answer = content.family
    if answer is None:
        return None
    swatches = "".join(f'<span class="family" style="border-left:14px solid {family_color(f)};padding-left:5px;'
                       f'margin-right:14px">{html.escape(FAMILY_LABELS[f])}</span>' for f in answer.best)
    if content.run_info.is_smoke:  # untrained models: a family "answer" would present noise as a finding
        text = (f"Smoke run ({SMOKE_LABEL}): no family answer — the tables below only show that the family "
                "comparison runs.")
    elif answer.ranked:
        text = family_sentence(answer)
    else:
        text = ("No CNN, transformer or diffusion method produced images in this run: there is no family answer. "
                + "; ".join(answer.rests_on()) + ".")
    parts = [f'<p id="family-answer">{html.escape(text)}</p>',
             f'<p class="note">Colours in the figures: {swatches}</p>',
             f'<div class="scroll">{to_html(content.tables["family_best"])}</div>']
    if len(answer.comparisons):
        parts.append(f'<div class="scroll">{to_html(content.tables["family_pairwise"])}</div>')
    return "".join(parts)


# right after the headline table, whose numbers it groups by family
SECTION = register_section(Section("family", "Family answer", render=render, build=build, order=25))
