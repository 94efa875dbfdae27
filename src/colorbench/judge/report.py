"""The eye test's tables and figures, for ``colorbench judge-report RUN`` and for report.html's "Eye test" section
(added whenever the run has judgements).

Tables (CSV, Markdown, HTML under ``tables/``): ``judge_strengths`` (Bradley–Terry with bootstrap CIs),
``judge_win_rate`` (with counts), ``judge_metric_agreement`` (the central table), ``judge_agreement`` (Cohen's κ per
pair of judges, Fleiss' κ in the note), ``judge_consistency``, ``judge_fool_rate`` (real-or-fake mode) and
``judge_disagreements``. Figures: ``judge_strengths`` and ``grid_judge_disagreement`` (the images where people and
LPIPS disagree most).

Usage (a sketch, not run by the doctests: it needs a judged run folder)::

    from colorbench.judge.report import write_judge_report
    content = write_judge_report("results/demo")
    content.tables["judge_metric_agreement"].numbers
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from colorbench.judge import analysis as an
from colorbench.judge.store import DB_NAME, JudgementStore
from colorbench.messages import plural
from colorbench.report.sections import Section, register_section
from colorbench.report.tables import Table, fmt, fmt_ci, to_html, write_table
from colorbench.runfolder import RunFolder


@dataclass
class JudgeContent:
    n_pair: int
    n_real_or_fake: int
    judges: list[str]
    tables: dict[str, Table] = field(default_factory=dict)
    figures: dict[str, Figure] = field(default_factory=dict)
    captions: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def has_judgements(run_path) -> bool:
    """Whether the run has answers known to rest on delivered images (the ones the eye test reports)."""
    path = RunFolder(run_path).path / DB_NAME
    return path.exists() and not JudgementStore.open(RunFolder(run_path).path, create=False).judgements().empty


def unverified_note(run_path) -> str | None:
    """The sentence saying how many stored answers are left out because nothing shows their images were ever
    delivered (databases of colorbench before schema 2), or None when there are none."""
    path = RunFolder(run_path).path / DB_NAME
    n = JudgementStore.open(path.parent, create=False).unverified_count() if path.exists() else 0
    if not n:
        return None
    one = n == 1
    return (f"{plural(n, 'stored answer')} {'is' if one else 'are'} left out: {'it was' if one else 'they were'} "
            "recorded before colorbench checked that a judge's images had loaded (an older eye test could store "
            f"answers to pages that showed no image), so nothing shows {'it rests' if one else 'they rest'} on what "
            "was seen.")


def coverage_note(run_methods: list[str], judged: pd.DataFrame) -> str | None:
    """Which of the run's methods the judgements cover, when not all (a method added to the run after judging, or
    one the judges never saw): the eye test speaks only for the methods it covers. None when it covers every one."""
    seen = set(judged["left_method"]) | set(judged["right_method"].dropna())
    covered = [m for m in run_methods if m in seen]
    missing = [m for m in run_methods if m not in seen]
    if not missing:
        return None
    return (f"The eye test covers {len(covered)} of the run's {plural(len(run_methods), 'method')} "
            f"({', '.join(covered) or 'none'}); {', '.join(missing)} {'has' if len(missing) == 1 else 'have'} no "
            "judgements (added after the judging, or never shown): judge again to include "
            f"{'it' if len(missing) == 1 else 'them'}.")


def _ci_column(frame: pd.DataFrame, value: str, decimals: int = 2, missing: str = "") -> list[str]:
    """``value [lo, hi]``; ``missing`` follows the value where the interval could not be estimated (NaN)."""
    return [fmt_ci(v, lo, hi, decimals) + (missing if pd.isna(lo) and pd.notna(v) else "")
            for v, lo, hi in zip(frame[value], frame["ci_low"], frame["ci_high"])]


def strength_ci_note(n_judgements: int, strengths: pd.DataFrame, run_path) -> str | None:
    """Why some Bradley–Terry strengths have no interval (see :func:`colorbench.judge.analysis.bradley_terry`), and
    what gives them one; None when all have one."""
    if not strengths["ci_low"].isna().any():
        return None
    if n_judgements < an.MIN_CI_JUDGEMENTS:
        return (f"The strengths' 95% intervals cannot be estimated from {plural(n_judgements, 'pair judgement')}: "
                f"the bootstrap needs at least {an.MIN_CI_JUDGEMENTS} "
                f"({an.MIN_CI_JUDGEMENTS - n_judgements} more: `colorbench judge {run_path}`).")
    flat = ", ".join(strengths.loc[strengths["ci_low"].isna(), "method"])
    return (f"No 95% interval for {flat}: every bootstrap resample gives the same strength (the answers all agree), "
            "so the interval cannot be estimated; more judgements (`colorbench judge "
            f"{run_path}`) give one.")


def build_judge_content(run_path, *, n_boot: int = an.DEFAULT_BOOTSTRAP, seed: int = an.DEFAULT_SEED,
                        grid_images: int = 6) -> JudgeContent:
    """Every table and figure of the eye test (nothing written). Raises when the run has no judgements."""
    run = RunFolder(run_path)
    store = JudgementStore.open(run.path, create=False)
    judged = store.judgements()
    left_out = unverified_note(run.path)
    if judged.empty:
        raise ValueError(f"{store.path} holds no judgements {'that can be used ' if left_out else ''}yet"
                         f"{' (' + left_out + ')' if left_out else ''}: collect some with "
                         f"`colorbench judge {run.path}`")
    methods = run.methods() + sorted(set(judged["left_method"]) - set(run.methods()) - {"__truth__"})
    outcomes = an.pair_outcomes(judged, methods)
    content = JudgeContent(len(outcomes), int((judged["mode"] == "real-or-fake").sum()),
                           sorted(set(judged["judge"])))
    if left_out:
        content.notes.append(left_out)
    coverage = coverage_note(run.methods(), judged)
    if coverage:
        content.notes.append(coverage)
    t = content.tables
    strengths = an.bradley_terry(outcomes, methods, n_boot=n_boot, seed=seed)
    if len(strengths):
        ci_note = strength_ci_note(len(outcomes), strengths, run.path)
        why = "too few judgements" if len(outcomes) < an.MIN_CI_JUDGEMENTS else "the answers all agree"
        shown = pd.DataFrame({"rank": strengths["rank"], "method": strengths["method"],
                              "strength [95% CI]": _ci_column(strengths, "strength", missing=f" (no CI: {why})"),
                              "P(beats an average method)": strengths["p_beats_average"].map(lambda v: fmt(v, 2)),
                              "judgements": strengths["n_judgements"]})
        title = "Bradley–Terry strength from people's choices"
        t["judge_strengths"] = Table("judge_strengths", title, strengths, shown, [
            f"Log-strengths centred at 0 (choix maximum likelihood); 95% percentile bootstrap over the "
            f"{plural(len(outcomes), 'pair judgement')} ({plural(n_boot, 'resample')}, seed {seed}). 'Equally good' "
            "and 'both bad' count half a win each. A strength difference d means the first is preferred with "
            "probability 1/(1+e^−d).", *([ci_note] if ci_note else [])])
        content.figures["judge_strengths"] = strengths_figure(strengths)
        content.captions["judge_strengths"] = "Bradley–Terry strength of each method with its 95% bootstrap CI."
        share, count = an.win_matrix(outcomes, [m for m in methods if m in set(strengths["method"])])
        display = share.copy().astype(object)
        for a in share.index:
            for b in share.columns:
                display.loc[a, b] = "—" if a == b else f"{fmt(share.loc[a, b], 2)} (n={count.loc[a, b]})"
        numbers = share.join(count.add_prefix("n_"))
        t["judge_win_rate"] = Table("judge_win_rate", "People's win rate (row preferred to column)", numbers, display,
                                    ["Share of the judgements of the two methods that preferred the row method "
                                     "(ties ½)."])
    metrics = _load_metrics(run)
    if metrics is None:
        content.notes.append(f"Metric agreement needs the run's scores: run `colorbench score {run.path}`.")
    elif len(strengths):
        agreement = an.metric_agreement(outcomes, metrics, strengths)
        net = _lpips_label(run)
        label = {**an.AGREEMENT_LABELS, "lpips": f"{net} ↓"}
        shown = pd.DataFrame({"metric": agreement["metric"].map(label),
                              "agrees with people [95% CI]": _ci_column(agreement, "agreement"),
                              "pairs": agreement["n_pairs"],
                              "Kendall τ (method ranking)": agreement["kendall_tau"].map(lambda v: fmt(v, 2)),
                              "methods": agreement["n_methods"]})
        best = {"agrees with people [95% CI]": _best(agreement["agreement"])}
        t["judge_metric_agreement"] = Table(
            "judge_metric_agreement", "How often each metric prefers the image people preferred", agreement, shown, [
                ("Over decisive pair judgements (one image preferred) whose two shown samples were both scored; a "
                 "metric tie counts half; Wilson 95% interval. 0.5 is a coin toss. Kendall's τ compares the metric's "
                 "method ranking (means over all scored images) with the Bradley–Terry ranking (1: same order)."),
                "Colourfulness is read two ways: 'more is better', and closeness to the truth's colourfulness."], best)
        # LPIPS is the metric the original project trusted; without it (weights unavailable) the report's fallback
        grid_metric = "lpips" if agreement["metric"].eq("lpips").any() else "delta_e2000"
        name = label[grid_metric].rstrip(" ↓")
        worst = an.disagreements(outcomes, metrics, grid_metric, grid_images)
        if len(worst):
            t["judge_disagreements"] = Table("judge_disagreements", f"Images where people and {name} disagree most",
                                             worst, None, [f"n_disagree: decisive judgements of the image where {name} "
                                                           "preferred the other colorization."])
            content.figures["grid_judge_disagreement"] = _disagreement_grid(run, worst, outcomes, methods, name)
            content.captions["grid_judge_disagreement"] = (
                f"The images where people and {name} disagree most: gray input | truth | each method (sample 0); "
                "captions give the method's wins / decisive judgements on that image.")
    agreement, fleiss = an.judge_agreement(outcomes)
    if len(agreement):
        shown = _fmt_frame(agreement, 2).rename(columns={
            "judge_1": "judge", "judge_2": "other judge", "n_common": "items both judged",
            "agreement": "same answer", "cohen_kappa": "Cohen's κ"})
        note = ("Cohen's κ per pair of judges on the items (image, pair, samples) both judged, first answer each, "
                f"4 categories. Fleiss' κ over the {plural(fleiss['n_items'], 'item')} judged by "
                f"{plural(fleiss['n_raters'], 'judge')}: "
                f"{fmt(fleiss['kappa'], 2)}.")
        t["judge_agreement"] = Table("judge_agreement", "Agreement between judges (same items)", agreement, shown,
                                     [note])
    consistency = an.judge_consistency(outcomes)
    if len(consistency):
        shown = consistency[["judge", "n_answers", "n_repeats"]].astype(str).rename(
            columns={"n_answers": "answers", "n_repeats": "repeats"})
        shown["same answer on a repeat [95% CI]"] = _ci_column(consistency, "consistent")
        shown["decisive"] = consistency["share_decisive"].map(lambda v: fmt(v, 2))
        shown["peeked at truth"] = consistency["share_truth_peeked"].map(lambda v: fmt(v, 2))
        title = "Each judge's answers and consistency"
        t["judge_consistency"] = Table("judge_consistency", title, consistency, shown, [
            "Repeats show a judge an item again with the sides swapped; Wilson 95% interval."])
    if content.n_real_or_fake:
        fool = an.fool_rate(judged, methods)
        shown = pd.DataFrame({"source": fool["source"], "n": fool["n"],
                              "judged a real photo [95% CI]": _ci_column(fool, "judged_real")})
        t["judge_fool_rate"] = Table("judge_fool_rate", "Real or fake: fool rate per method", fool, shown, [
            "Share of each source's images that judges called a real colour photo (Wilson 95% CI); the true colours "
            "are the reference: a perfect colorizer reaches their rate."])
    return content


def write_judge_report(run_path, **kwargs) -> JudgeContent:
    """Build the eye test's content and write its tables and figures into the run folder."""
    from colorbench.report.figures import save_figure

    run = RunFolder(run_path)
    content = build_judge_content(run.path, **kwargs)
    for table in content.tables.values():
        write_table(table, run.tables_dir)
    for name, fig in content.figures.items():
        save_figure(fig, run.figures_dir, name)
    return content


def section_html(content: JudgeContent, figure_html) -> str:
    """The report's "Eye test" section; ``figure_html(name, caption)`` embeds a figure the way the report does."""
    t = content.tables
    parts = [f'<p>{plural(content.n_pair, "pair judgement")} and '
             f'{plural(content.n_real_or_fake, "real-or-fake judgement")} by '
             f'{plural(len(content.judges), "judge")}, collected blind with <code>colorbench judge</code>.</p>']
    parts += [f'<p class="warn">{html.escape(n)}</p>' for n in content.notes]
    for name in ("judge_metric_agreement", "judge_strengths"):
        if name in t:
            parts.append(f'<div class="scroll">{to_html(t[name])}</div>')
    if "judge_strengths" in content.figures:
        parts.append(figure_html("judge_strengths", content.captions["judge_strengths"]))
    for name in ("judge_win_rate", "judge_agreement", "judge_consistency", "judge_fool_rate"):
        if name in t:
            parts.append(f'<div class="scroll">{to_html(t[name])}</div>')
    if "grid_judge_disagreement" in content.figures:
        parts.append(figure_html("grid_judge_disagreement", content.captions["grid_judge_disagreement"]))
    return "".join(parts)


def strengths_figure(strengths: pd.DataFrame) -> Figure:
    from colorbench.report.figures import method_colors

    ordered = strengths.iloc[::-1]
    colors = method_colors(strengths["method"])
    fig = Figure(figsize=(6, 0.5 * len(ordered) + 1.2), layout="constrained")
    ax = fig.subplots()
    y = np.arange(len(ordered))
    s = ordered["strength"].to_numpy(float)
    err = np.vstack([s - ordered["ci_low"].to_numpy(float), ordered["ci_high"].to_numpy(float) - s])
    has_ci = ~np.isnan(err).any(axis=0)  # no bar where the interval cannot be estimated (too few judgements)
    ax.errorbar(s[has_ci], y[has_ci], xerr=err[:, has_ci], fmt="none", ecolor="#333", capsize=4, lw=1)
    ax.scatter(s, y, c=[colors[m] for m in ordered["method"]], s=60, zorder=3, edgecolor="#333")
    ax.axvline(0, color="#999", lw=0.8, ls="--")
    ax.set_yticks(y, ordered["method"], fontsize=9)
    ax.set_xlabel("Bradley–Terry log-strength (0 = average method)", fontsize=9)
    ax.grid(axis="x", alpha=0.3)
    ax.set_title("People's preference with 95% bootstrap CI" + ("" if has_ci.all() else " (where it can be estimated)"),
                 fontsize=10)
    return fig


def _disagreement_grid(run: RunFolder, worst: pd.DataFrame, outcomes: pd.DataFrame, methods: list[str],
                       metric_name: str) -> Figure:
    from colorbench.report.grids import image_grid

    ids = worst["image_id"].tolist()
    captions = {}
    for image in ids:
        sub = outcomes[(outcomes["image_id"] == image) & outcomes["decisive"]]
        for m in methods:
            n = int(((sub["a"] == m) | (sub["b"] == m)).sum())
            won = ((sub["a"] == m) & (sub["answer"] == "a")) | ((sub["b"] == m) & (sub["answer"] == "b"))
            wins = int(won.sum())
            if n:
                captions[(image, m)] = f"people: {wins}/{n} wins"
    title = f"People vs {metric_name}: largest disagreements"
    return image_grid(run.path, ids, methods, title=title, captions=captions)


def _load_metrics(run: RunFolder):
    from colorbench.metrics.table import load_metrics

    return load_metrics(run.path) if run.metrics_csv.exists() else None


def _lpips_label(run: RunFolder) -> str:
    summary = run.score_summary()
    net = summary.lpips.net if summary else None
    return f"LPIPS ({net})" if net else "LPIPS"


def _best(values: pd.Series) -> set[int]:
    v = values.to_numpy(float)
    return {int(i) for i in np.flatnonzero(v == np.nanmax(v))} if np.isfinite(v).any() else set()


def _fmt_frame(frame: pd.DataFrame, decimals: int) -> pd.DataFrame:
    return frame.apply(lambda c: c.map(lambda v: fmt(v, decimals))).astype(str)


def _build_section(content, options) -> None:
    """The eye test's part of ``colorbench report``: its tables and figures join the report's (written and
    embedded the same way), with the report's bootstrap settings; a damaged judgements file, or the judge extra
    missing (choix, statsmodels), is kept to be named in the section, never fatal to the rest of the report."""
    from colorbench.extras import MissingExtra
    from colorbench.judge.store import JudgementStoreError

    try:
        if not has_judgements(content.run.path):
            # only answers that cannot be shown to have been seen: the section says so instead of reporting them
            left_out = unverified_note(content.run.path)
            if left_out:
                content.section_data["eye-test"] = left_out
            return
        judged = build_judge_content(content.run.path, n_boot=options.n_boot, seed=options.seed)
    except (JudgementStoreError, MissingExtra) as exc:
        content.section_data["eye-test"] = exc
        return
    content.tables.update(judged.tables)
    content.figures.update(judged.figures)
    content.figure_captions.update(judged.captions)
    content.section_data["eye-test"] = judged


def _render_section(content, page) -> str | None:
    judged = content.section_data.get("eye-test")
    if judged is None:
        return None
    if isinstance(judged, Exception):
        return f'<div class="bad">{html.escape(str(judged))}</div>'
    if isinstance(judged, str):
        return f'<p class="warn">{html.escape(judged)}</p>'
    return section_html(judged, lambda name, caption: page.figure(name))


#: report.html's "Eye test" section, found by the report through the ``colorbench.report_sections`` entry point
#: (pyproject.toml), and registered here too for a process that imported the judge before building a report
EYE_TEST = register_section(Section("eye-test", "Eye test: people vs metrics", render=_render_section,
                                    build=_build_section, order=100))


def eye_test_view(run_path, *, n_boot: int = an.DEFAULT_BOOTSTRAP, seed: int = an.DEFAULT_SEED, smoke: bool = False):
    """For notebooks: the eye test's tables and figures as one HTML display object, or a banner saying how to
    collect judgements when there are none yet (a "Run all" before anyone judged)."""
    from colorbench import notebook as nb

    run = RunFolder(run_path)
    if not has_judgements(run.path):
        return nb.banner(f"No judgements in {run.path / DB_NAME} yet: judge with the widget above or "
                         f"`colorbench judge {run.path}`, then run this cell again.", kind="info")
    content = build_judge_content(run.path, n_boot=n_boot, seed=seed)
    parts = [nb.banner(note, kind="warning") for note in content.notes]
    parts += [nb.report_table(content.tables[name], smoke=smoke) for name in
              ("judge_metric_agreement", "judge_strengths", "judge_win_rate", "judge_agreement", "judge_consistency",
               "judge_fool_rate") if name in content.tables]
    parts.append(nb.figures_html(content.figures, content.captions, smoke=smoke, include_grids=True))
    return nb.Html("".join(p.html for p in parts), "\n\n".join(p.text for p in parts))
