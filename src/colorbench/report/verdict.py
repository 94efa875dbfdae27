"""The verdict: one paragraph, written from the numbers, that says what a run found.

It names the best method on the headline metric, its lead over the runner-up (paired mean difference with its 95%
CI, Holm-adjusted p, n), whether the other metrics agree, how colourful the best method is next to the true
photos, and which methods did not run (why, with the fix, is said once: under "Did not run" in the report's protocol).
The report, notebook 05 and the CLI print the same text.

A smoke run's verdict opens with "Smoke run" and concludes nothing: its numbers come from untrained models.
Two cases get a plain sentence instead of empty or meaningless comparisons: one method (nothing to compare: how to
add one) and too few images for any paired test to reach significance (said once, instead of a row per pair).

Usage (a sketch, not run by the doctests: needs a scored run's summary and paired tables)::

    from colorbench.report.verdict import write_verdict
    text = write_verdict(summary_table, paired, headline="lpips", truth_colorfulness=47.9, run_info=run_json).text
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from colorbench.messages import one_line, plural
from colorbench.methods.base import SMOKE_LABEL
from colorbench.methods.families import FAMILY_LABELS
from colorbench.metrics.specs import LOWER_IS_BETTER, decimals, label
from colorbench.records import MethodState, RunRecord
from colorbench.report.family import FamilyAnswer
from colorbench.report.stats import smallest_holm_p

ALPHA = 0.05


@dataclass
class NotRun:
    """A requested method that produced no images: ``status`` is "skipped" or "failed"."""

    method: str
    status: str
    reason: str  # the full text (with the fix)

    @property
    def short(self) -> str:
        return one_line(self.reason)


@dataclass
class Verdict:
    text: str  # one paragraph; commands in `backticks`
    ran: list[str]  # methods that produced scored images, best first on the headline metric
    not_run: list[NotRun] = field(default_factory=list)
    comparable: bool = True  # False with one method: the paired tables would be empty
    too_few_images: bool = False  # no paired test can reach significance at this n
    comparison: str = ""  # with one method: the sentence saying so and how to add one (the paired section shows it)


def not_run_methods(run_info: RunRecord | dict, ran) -> list[NotRun]:
    """Methods run.json lists as skipped or failed that have no scored images (in the run's method order)."""
    record = RunRecord.coerce(run_info)
    out = []
    for name in dict.fromkeys([*record.methods, *record.method_status]):
        entry = record.status_of(name)
        if name not in set(ran) and entry.status in (MethodState.SKIPPED, MethodState.FAILED):
            out.append(NotRun(name, entry.status, entry.reason or ""))
    return out


def paired_too_small(paired: pd.DataFrame, alpha: float = ALPHA) -> bool:
    """True when no row of the paired table could reach Holm-adjusted p < alpha, whatever the data: the smallest
    Wilcoxon p attainable with its n, times the size of its metric's Holm family, is at least alpha."""
    if paired.empty:
        return False
    family = paired.groupby("metric")["metric"].transform("size")
    return all(smallest_holm_p(int(n), int(m)) >= alpha for n, m in zip(paired["n"], family))


def fmt_p(p: float) -> str:
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return "p = —"
    if p == 0:
        return "p < 1e-300"
    if p < 1e-3:
        return f"p < 1e{math.floor(math.log10(p)) + 1}"
    return f"p = {p:.3f}" if p < 0.1 else f"p = {p:.2f}"


def _num(value: float, metric: str) -> str:
    d = decimals(metric)
    return f"{value:.{d}f}".replace("-", "−")


def _pair_row(paired: pd.DataFrame, metric: str, a: str, b: str):
    """The paired row of ``a`` vs ``b`` on ``metric`` oriented as a − b (sign and CI flipped if stored as b − a)."""
    rows = paired[(paired["metric"] == metric) & (paired["method_a"].isin([a, b])) & (paired["method_b"].isin([a, b]))]
    if rows.empty:
        return None
    r = rows.iloc[0]
    flip = r["method_a"] != a
    diff, lo, hi = (r["mean_diff"], r["ci_low"], r["ci_high"])
    if flip:
        diff, lo, hi = -diff, -hi, -lo
    return {"n": int(r["n"]), "diff": float(diff), "lo": float(lo), "hi": float(hi), "p": float(r["p_holm"]),
            "better": str(r["better"])}


def _ranked(summary_table: pd.DataFrame, metric: str) -> list[str]:
    values = summary_table.set_index("method")[f"{metric}_mean"].dropna()
    return list(values.sort_values(ascending=bool(LOWER_IS_BETTER.get(metric)), kind="stable").index)


def lead_sentence(best: str, second: str, row: dict, metric: str, *, n_tests: int, tests: str) -> str:
    """The sentence comparing ``best`` with ``second`` on ``metric`` (``row``: :func:`_pair_row`, oriented
    best − second), one story whatever the numbers.

    The interval is the paired bootstrap's 95% CI of the mean difference; the decision is the Wilcoxon signed-rank
    test, Holm-corrected over the ``n_tests`` comparisons of ``metric`` in the report. Both are kept: the mean
    difference says *how much* (in the metric's units), the signed-rank test is robust to a few extreme images.
    They can disagree near the edge — an interval that leaves out 0 beside "not significant" (the demo once
    printed "−0.0359 [−0.0643, −0.0105] … p = 0.078 … is not significant"), or a significant test beside an
    interval that reaches 0 — and then the sentence says why in plain words instead of printing both bare:
    an interval is about one comparison on its own, the test is corrected for all the comparisons made, and the
    test asks who wins image by image rather than on average.
    """
    lower = bool(LOWER_IS_BETTER.get(metric))
    name = label(metric)
    lead = (-row["diff"], -row["hi"], -row["lo"]) if lower else (row["diff"], row["lo"], row["hi"])
    gap = f"{_num(lead[0], metric)} [{_num(lead[1], metric)}, {_num(lead[2], metric)}]"
    signed = f"{_num(row['diff'], metric)} [{_num(row['lo'], metric)}, {_num(row['hi'], metric)}]"
    over = f"over {plural(row['n'], 'image')} ({fmt_p(row['p'])}, Holm-adjusted Wilcoxon)"
    excludes_zero = row["lo"] > 0 or row["hi"] < 0
    corrected = (f"this report makes {n_tests} comparisons of {tests} on {name}, and with that many some intervals "
                 "leave out 0 by chance, so the test that decides is corrected for all of them (Holm)"
                 if n_tests > 1 else "the test that decides asks which method wins image by image, not on average")
    if row["better"] == best:
        if excludes_zero:
            return f"{best} beats {second} on {name} by {gap} {over}."
        return (f"{best} beats {second} on {name} image by image {over}, but the 95% interval of its mean lead, "
                f"{gap}, reaches 0: it wins on most images, while how much it leads by on average is uncertain.")
    if row["better"].startswith("mixed"):
        return (f"{best} has the best mean {name}, but {second} wins more images by signed ranks: mean difference "
                f"{signed} {over} — neither is clearly better.")
    if excludes_zero:
        return (f"{best} has the best mean {name}, and the 95% interval of its lead, {gap}, leaves out 0 — but that "
                f"interval looks at this one comparison on its own; {corrected}, and it finds no significant "
                f"difference {over}: not enough evidence to call {best} better.")
    return (f"{best} has the best mean {name} ({_num(row['mean_best'], metric)} vs {_num(row['mean_second'], metric)} "
            f"for {second}), but the difference {signed} {over} is not significant.")


def family_sentence(answer: FamilyAnswer) -> str:
    """The family answer in words: the best family's best method against the runner-up family's (the same
    :func:`lead_sentence` as the methods), the family ranking, and what each family's number rests on."""
    ranked = answer.ranked
    metric = answer.metric
    rests = "; ".join(answer.rests_on())
    if len(ranked) == 1:
        only = ranked[0]
        return (f"Family answer: only the {FAMILY_LABELS[only.family]} family produced images ({only.method}, mean "
                f"{label(metric)} {_num(only.mean, metric)}), so families cannot be compared here — {rests}.")
    first, second = ranked[0], ranked[1]
    row = _pair_row(answer.comparisons, metric, first.method, second.method)
    who = lambda b: f"the {FAMILY_LABELS[b.family]} family's best, {b.method}"  # noqa: E731
    if row is None:
        lead = (f"{who(first)}, has the best mean {label(metric)} ({_num(first.mean, metric)}); it shares no images "
                f"with {who(second)}.")
    else:
        row.update(mean_best=first.mean, mean_second=second.mean)
        lead = lead_sentence(first.method, second.method, row, metric, n_tests=len(answer.comparisons),
                             tests="family bests")
    order = f" Families by their best method: {', '.join(FAMILY_LABELS[b.family] for b in ranked)}." \
        if len(ranked) > 2 else ""
    return (f"Family answer ({FAMILY_LABELS[first.family]} vs {FAMILY_LABELS[second.family]}, each at its best): "
            f"{lead}{order} It rests on: {rests}.")


def _colourfulness(summary_table: pd.DataFrame, method: str, truth_cf: float) -> str:
    row = summary_table.set_index("method").loc[method]
    cf, lo, hi = row.get("colorfulness_mean", np.nan), row.get("cf_diff_lo", np.nan), row.get("cf_diff_hi", np.nan)
    truth = row.get("colorfulness_truth_mean", truth_cf)
    if pd.isna(cf) or pd.isna(truth):
        return ""
    text = f"{method}'s colourfulness is {cf:.1f} vs {truth:.1f} for the true photos"
    if cf < 0.05:  # the gray floor, or a method that returned its input: no colour at all, not timid colour
        return text + ": it adds no colour."
    if not pd.isna(hi) and hi < 0:
        return text + ": it colours timidly."
    if not pd.isna(lo) and lo > 0:
        return text + ": it colours more vividly than the photos."
    return text + " (no clear difference)."


def _agreement(paired: pd.DataFrame, metrics: list[str], headline: str, best: str, other: str, *,
               headline_significant: bool) -> str:
    """How the other metrics judge the same pair: "agree" only when the headline itself found ``best`` better."""
    agree, against, unclear = [], [], []
    for metric in metrics:
        if metric == headline:
            continue
        row = _pair_row(paired, metric, best, other)
        if row is None:
            continue
        name = label(metric)
        (agree if row["better"] == best else against if row["better"] == other else unclear).append(name)
    parts = []
    if agree and headline_significant:
        parts.append(f"{_join(agree)} agree" if len(agree) > 1 else f"{agree[0]} agrees")
    elif agree:
        parts.append(f"{_join(agree)} favour{'s' if len(agree) == 1 else ''} {best}")
    if against:
        parts.append(f"{_join(against)} favour{'s' if len(against) == 1 else ''} {other}")
    if unclear:
        parts.append(f"{_join(unclear)} show{'s' if len(unclear) == 1 else ''} no significant difference")
    return ("; ".join(parts) + ".") if parts else ""


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


#: where the report says, once, why each method did not run and what makes it run (the protocol's entry of that name)
NOT_RUN_TITLE = "Did not run"


def _not_run_sentence(not_run: list[NotRun]) -> str:
    """Who did not run, and where the reasons are: "eccv16 and coltran were skipped and ddcolor failed: why, and
    how to make each run, is under "Did not run" in the report." The reasons themselves (with their fixes) are
    said once, there: a new user found the same reason in the verdict, the protocol and the coverage
    section, and the fixes folded away."""
    if not not_run:
        return ""
    skipped = [n.method for n in not_run if n.status != MethodState.FAILED]
    failed = [n.method for n in not_run if n.status == MethodState.FAILED]
    parts = ([f"{_join(skipped)} {'was' if len(skipped) == 1 else 'were'} skipped"] if skipped else []) + \
        ([f"{_join(failed)} failed"] if failed else [])
    which = "it" if len(not_run) == 1 else "each"
    return f"{' and '.join(parts)}: why, and how to make {which} run, is under \"{NOT_RUN_TITLE}\" in the report."


def write_verdict(summary_table: pd.DataFrame, paired: pd.DataFrame, *, headline: str, metrics: list[str],
                  truth_colorfulness: float = float("nan"), run_info: RunRecord | dict | None = None,
                  run_name: str = "RUN", family: FamilyAnswer | None = None) -> Verdict:
    """The verdict paragraph from the report's numbers.

    ``summary_table``: :func:`colorbench.report.aggregate.method_summary`; ``paired``:
    :func:`colorbench.report.aggregate.paired_table`; ``run_info``: run.json (for methods that did not run and
    the smoke flag); ``family``: :func:`colorbench.report.family.family_answer`, whose sentence comes first when
    any CNN, transformer or diffusion method was scored.
    """
    run_info = RunRecord.coerce(run_info)
    name = label(headline)
    ranked = _ranked(summary_table, headline)
    not_run = not_run_methods(run_info, summary_table["method"])
    too_small = len(ranked) > 1 and paired_too_small(paired)
    if run_info.is_smoke:
        return _smoke_verdict(summary_table, ranked, not_run, headline=headline, too_small=too_small)
    sentences = [family_sentence(family)] if family is not None and family.ranked else []
    if headline != "lpips":
        sentences.append(f"LPIPS was unavailable, so the headline metric is {name}.")
    comparison = ""
    table = summary_table.set_index("method")
    if not ranked:
        sentences.append(f"No method has a {name} value: there is nothing to rank.")
    elif len(ranked) == 1:
        only = ranked[0]
        n = int(table.loc[only, "n_scored"])
        suggested = "cnn-original"
        command = (f"`colorbench run --run {run_name} --methods {only},{suggested}`, then `colorbench score "
                   f"{run_name}` and `colorbench report {run_name}`")
        comparison = (f"Only {only} produced images, so there is nothing to compare: its mean {name} is "
                      f"{_num(table.loc[only, f'{headline}_mean'], headline)} over {n} image{'s' * (n != 1)}. ")
        if suggested in {m.method for m in not_run}:
            # the command works only once the suggested method's weights are there: say that before the command
            comparison += (f"To compare, first make a second method runnable: {suggested} did not run here "
                           f"(its fix is given with its reason under \"Did not run\"); then {command}.")
        else:
            comparison += (f"To compare, add a method to this run (`colorbench methods` lists them): {command}.")
        sentences.append(comparison)
    else:
        best, second = ranked[0], ranked[1]
        mean = lambda m: _num(table.loc[m, f"{headline}_mean"], headline)  # noqa: E731
        row = _pair_row(paired, headline, best, second)
        if too_small:
            n = int(paired["n"].max())
            sentences.append(f"{best} has the best mean {name} ({mean(best)} vs {mean(second)} for {second}), but "
                             f"with {n} image{'s' * (n != 1)} no paired test can reach significance (Holm-adjusted "
                             f"p < {ALPHA:g}) whatever the outputs: run on more images (`--n-per-class`, `--limit`) to "
                             "tell the methods apart.")
        elif row is None:
            sentences.append(f"{best} has the best mean {name} ({mean(best)}); it shares no images with {second}.")
        else:
            row.update(mean_best=table.loc[best, f"{headline}_mean"], mean_second=table.loc[second, f"{headline}_mean"])
            n_tests = int((paired["metric"] == headline).sum())
            sentences.append(lead_sentence(best, second, row, headline, n_tests=n_tests, tests="pairs of methods"))
            if len(ranked) > 2:
                sentences.append(f"Ranking by mean {name}: {', '.join(ranked)}.")
            agreement = _agreement(paired, metrics, headline, best, second, headline_significant=row["better"] == best)
            if agreement:
                sentences.append(agreement[0].upper() + agreement[1:])
    if ranked:
        colour = _colourfulness(summary_table, ranked[0], truth_colorfulness)
        if colour:
            sentences.append(colour)
    sentence = _not_run_sentence(not_run)
    if sentence:
        sentences.append(sentence)
    return Verdict(text=" ".join(sentences), ran=ranked, not_run=not_run, comparable=len(ranked) > 1,
                   too_few_images=too_small, comparison=comparison or " ".join(sentences))


def _smoke_verdict(summary_table: pd.DataFrame, ranked: list[str], not_run: list[NotRun], *, headline: str,
                   too_small: bool) -> Verdict:
    """A smoke run's verdict opens by saying so and concludes nothing: its numbers come from tiny untrained
    (random-weight) models, so a winner, a family answer or a ranking would present noise as a finding (a new user
    read "Family answer: ddcolor has the best mean LPIPS …" before the smoke sentence). It says what ran (in the
    run's order, not ranked), what did not, and how to get real numbers."""
    sentences = [f"Smoke run ({SMOKE_LABEL}): every colorizer here is a tiny model with random weights, so this "
                 "verdict names no winner and no family answer — the numbers only show that every code path works."]
    if headline != "lpips":
        sentences.append(f"LPIPS was unavailable, so the headline metric is {label(headline)}.")
    scored = [m for m in summary_table["method"] if m in set(ranked)]
    if scored:
        n = int(summary_table["n_scored"].max())
        sentences.append(f"Scored on {n} image{'s' * (n != 1)}: {', '.join(scored)}.")
    else:
        sentences.append(f"No method has a {label(headline)} value.")
    sentence = _not_run_sentence(not_run)
    if sentence:
        sentences.append(sentence)
    sentences.append("A real comparison is the same command without --smoke and with another --run name (a run "
                     "folder holds smoke or real outputs, never both; notebooks: SMOKE = False and another RUN).")
    comparison = f"Only {ranked[0]} produced images, so there is nothing to compare." if len(ranked) == 1 else ""
    return Verdict(text=" ".join(sentences), ran=ranked, not_run=not_run, comparable=len(ranked) > 1,
                   too_few_images=too_small, comparison=comparison or " ".join(sentences))
