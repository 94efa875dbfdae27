"""``colorbench report RUN``: metrics.csv -> tables/ (CSV, Markdown, HTML), figures/ (PNG and SVG; the photo grids
JPEG), report.html.

The report opens with the protocol (dataset, split, n, resolution, seeds, versions, device, how each metric was
computed) and the headline table, then the paired statistics, win rates, per-class results, cost, distributions
and image grids. ``report.html`` is one file: CSS inline, figures embedded (base64 PNG; the photo grids JPEG), no
scripts, no links needed — it can be mailed, attached to a paper review, or opened offline.

Usage (a sketch, not run by the doctests: it needs a scored run folder)::

    from colorbench.report import build_report
    path = build_report("results/demo")      # -> results/demo/report.html
"""

from __future__ import annotations

import datetime as _dt
import logging
from dataclasses import dataclass, field

import pandas as pd

from colorbench import atomic
from colorbench.locks import locks_run_folder
from colorbench.messages import plural
from colorbench.metrics.specs import LOWER_IS_BETTER, SUMMARISED_METRICS, spec
from colorbench.metrics.table import load_metrics
from colorbench.records import RunRecord, ScoreSummary
from colorbench.report import aggregate as agg
from colorbench.report import figures as figs
from colorbench.report import grids
from colorbench.report.family import FamilyAnswer, family_answer
from colorbench.report.html import CORE_SECTIONS, render_report
from colorbench.report.sections import report_sections
from colorbench.report.smoke import stamp_content
from colorbench.report.stale import unscored_text
from colorbench.report.stats import DEFAULT_BOOTSTRAP, DEFAULT_SEED
from colorbench.report.tables import Table, best_rows, fmt, fmt_ci, format_frame, write_table
from colorbench.report.verdict import Verdict, write_verdict
from colorbench.runfolder import RunFolder, read_csv

log = logging.getLogger(__name__)


@dataclass
class ReportOptions:
    n_boot: int = DEFAULT_BOOTSTRAP
    seed: int = DEFAULT_SEED
    grid_images: int = 6  # fixed random selection
    grid_extremes: int = 3  # best and worst images per method
    classes_best_worst: int = 5


@dataclass
class ReportContent:
    """Everything the report shows, also handy in a notebook (``build_report(..., return_content=True)``)."""

    run: RunFolder
    run_info: RunRecord  # run.json (an empty record when the folder has none)
    summary: ScoreSummary  # metrics.json (an empty summary for a run scored before it existed)
    headline_metric: str
    metrics: list[str]
    tables: dict[str, Table] = field(default_factory=dict)
    figures: dict[str, object] = field(default_factory=dict)  # name -> matplotlib Figure
    figure_captions: dict[str, str] = field(default_factory=dict)
    verdict: Verdict | None = None  # the paragraph that says what the run found (report, notebook 05, CLI)
    family: FamilyAnswer | None = None  # which family colorizes best (the verdict's first sentence, its section)
    section_data: dict[str, object] = field(default_factory=dict)  # what a section's build keeps for its render
    unscored: dict[str, int] = field(default_factory=dict)  # method -> outputs metrics.csv leaves out (stale scores)


def _missing_text(row) -> str:
    """Images with no output; for K > 1 also the absent samples of images that have some."""
    images, samples, k = int(row["n_missing"]), int(row["n_missing_samples"]), int(row["samples_per_image"])
    extra = samples - images * k
    if extra <= 0:
        return str(images)
    return f"{images} (+{extra} of {plural((int(row['n_scored']) + images) * k, 'sample')})"


def headline_table(summary_table: pd.DataFrame, summary: ScoreSummary | dict | None,
                   truth_colorfulness: float = float("nan")) -> Table:
    """``summary``: metrics.json; ``truth_colorfulness``: mean CF of the truths over every scored image (for the
    note)."""
    summary = ScoreSummary.coerce(summary)
    lpips_info, fid_info = summary.lpips, summary.fid
    lpips_ok = lpips_info.available
    stochastic = bool((summary_table["samples_per_image"] > 1).any())
    show = pd.DataFrame({"method": summary_table["method"], "n scored": summary_table["n_scored"],
                         "missing": [_missing_text(r) for _, r in summary_table.iterrows()],
                         "K": summary_table["samples_per_image"]})
    best: dict[str, set[int]] = {}
    for metric in SUMMARISED_METRICS:
        label = agg.METRIC_LABELS[metric]
        if metric == "lpips" and not lpips_ok:
            show[label] = "unavailable"
            continue
        d = agg.METRIC_DECIMALS[metric]
        show[label] = [fmt_ci(r[f"{metric}_mean"], r[f"{metric}_lo"], r[f"{metric}_hi"], d)
                       for _, r in summary_table.iterrows()]
        best[label] = best_rows(summary_table[f"{metric}_mean"], LOWER_IS_BETTER.get(metric))
    cf, fid, best_of_k = spec("delta_cf"), spec("fid"), spec("lpips_best_of_k")
    show[cf.heading] = [fmt_ci(r["delta_cf"], r["delta_cf_lo"], r["delta_cf_hi"], cf.decimals)
                        for _, r in summary_table.iterrows()]
    best[cf.heading] = best_rows(summary_table["delta_cf"], cf.lower_is_better)
    if fid_info.available:
        show[fid.heading] = [fmt(r["fid"], fid.decimals) + ("" if r["fid_reliable"] is True
                                                            else " (unreliable: n<%d)" % (fid_info.min_reliable or 0))
                             for _, r in summary_table.iterrows()]
    else:
        show[fid.heading] = "unavailable"
    if stochastic and lpips_ok:
        show[best_of_k.heading] = [fmt_ci(r["lpips_best_of_k_mean"], r["lpips_best_of_k_lo"],
                                          r["lpips_best_of_k_hi"], best_of_k.decimals)
                                   for _, r in summary_table.iterrows()]
    notes = ["Means over images with 95% percentile-bootstrap CIs in brackets; best value per column highlighted.",
             f"Truth colourfulness (mean over all scored images): {fmt(truth_colorfulness, 1)}; ΔCF = |mean "
             "CF(outputs) − "
             "mean CF(truths)| over each method's scored images (a method with missing outputs is compared with the "
             "truths of its own images); its CI is the bootstrap CI of the signed difference folded through |·|, so it "
             "reaches 0 when the signed difference may be 0."]
    if (summary_table["n_missing_samples"] > summary_table["n_missing"] * summary_table["samples_per_image"]).any():
        notes.append("missing = images with no output (excluded from that method's means); '+n of m samples': absent "
                     "samples of images that have some — those images are scored on the samples they have.")
    capped = int(summary_table["psnr_n_capped"].sum())
    if capped:
        notes.append(f"{plural(capped, 'output')} identical to their truth (PSNR = +∞): PSNR statistics count "
                     f"each as {agg.PSNR_CAP_DB:g} dB.")
    if stochastic:
        notes.append("K = samples per image. Stochastic methods are scored mean-of-K per image; best-of-K LPIPS is the "
                     "per-image minimum over the K samples (an oracle pick, shown for reference — ColTran's "
                     "authors warn that per-image metrics penalise stochastic colorizers).")
    if not lpips_ok:
        notes.append(f"LPIPS unavailable: {lpips_info.why_unavailable or '?'}")
    elif not lpips_info.is_calibrated:
        notes.append(f"WARNING: {lpips_info.label or 'LPIPS with an uncalibrated trunk'} — "
                     "these numbers are not LPIPS.")
    if not fid_info.available:
        notes.append(f"FID unavailable: {fid_info.why_unavailable or '?'}")
    elif not fid_info.is_calibrated:
        notes.append("WARNING: FID computed with stand-in (uncalibrated) Inception weights — "
                     "these numbers are not FID.")
    return Table("headline", "Headline: quality per method", summary_table, show, notes, best)


def build_content(run_path, options: ReportOptions | None = None) -> ReportContent:
    """Compute every table and figure of the report (nothing written): the headline, the family answer and the
    verdict, then each section's own build (:mod:`colorbench.report.sections`); a smoke run's are all labelled
    (:mod:`colorbench.report.smoke`)."""
    options = options or ReportOptions()
    run = RunFolder(run_path)
    frame = load_metrics(run.path)
    summary = run.score_summary() or ScoreSummary()
    run_info = run.run_record() or RunRecord()
    metric = agg.headline_metric(frame)
    metrics = agg.available_metrics(frame)
    content = ReportContent(run=run, run_info=run_info, summary=summary, headline_metric=metric, metrics=metrics,
                            unscored=run.unscored_outputs())
    if content.unscored:  # said, not refused: a partial report may be what the user wants
        log.warning("warning: %s", unscored_text(run, content.unscored))
    if frame.empty or not (frame["status"] == "ok").any():
        raise ValueError(f"{run.metrics_csv}: no scored images (every output is missing?) — nothing to report")

    pi = agg.per_image(frame)
    table = agg.method_summary(pi, frame, summary, n_boot=options.n_boot, seed=options.seed)
    content.tables["headline"] = headline_table(table, summary, agg.truth_colorfulness(pi))
    paired = agg.paired_table(pi, metrics, n_boot=options.n_boot, seed=options.seed)
    content.family = family_answer(pi, table, run_info, metric=metric, n_boot=options.n_boot, seed=options.seed)
    content.verdict = write_verdict(table, paired, headline=metric, metrics=metrics,
                                    truth_colorfulness=agg.truth_colorfulness(pi), run_info=run_info,
                                    run_name=run_info.name or run.path.name, family=content.family)
    if not content.verdict.comparable:  # one method: a highlighted "best" among one is meaningless
        content.tables["headline"].best = {}
        content.tables["headline"].notes[0] = "Means over images with 95% percentile-bootstrap CIs in brackets."
    content.tables["pairwise"] = _pairwise_table(paired)
    per_class = _class_tables(content, pi, metric, options)
    cost = _cost_table(content, table, metric)
    _coverage_tables(content, frame, summary)
    _figures(content, frame, pi, table, per_class, cost, options)
    for section in report_sections(CORE_SECTIONS):
        if section.build is not None:
            section.build(content, options)
    if run_info.is_smoke:  # last: the sections' own tables and figures are labelled too
        stamp_content(content)
    return content


def _pairwise_table(paired: pd.DataFrame) -> Table:
    shown = paired.copy()
    shown["metric"] = shown["metric"].map(lambda m: agg.METRIC_LABELS.get(m, m))
    shown["mean(a − b) [95% CI]"] = [fmt_ci(r.mean_diff, r.ci_low, r.ci_high, agg.METRIC_DECIMALS.get(r.metric, 3))
                                     for r in paired.itertuples()]
    shown["p (Wilcoxon)"] = paired["p_wilcoxon"].map(lambda p: fmt(p, 4))
    shown["p (Holm)"] = paired["p_holm"].map(lambda p: fmt(p, 4))
    shown = shown[["metric", "method_a", "method_b", "n", "mean(a − b) [95% CI]", "p (Wilcoxon)", "p (Holm)", "better"]]
    return Table("pairwise", "Paired comparisons (same images)", paired, shown.astype(str), [
        "Paired percentile-bootstrap CI of the mean difference over the images both methods produced; two-sided "
        "Wilcoxon signed-rank test (zero differences dropped); Holm correction over all pairs of one metric; 'better' "
        "at Holm-adjusted p < 0.05 when the signed ranks and the mean difference point the same way ('mixed' when "
        "they do not: one method wins most images, the other has the better mean). The CI is for one comparison on "
        "its own and the Holm-adjusted p for all of them, so a CI may leave out 0 where p (Holm) ≥ 0.05: the "
        "verdict says so in words."])


def _class_tables(content: ReportContent, pi: pd.DataFrame, metric: str, options: ReportOptions) -> pd.DataFrame:
    """Win rates and per-class tables on the headline metric; returns the per-class means (for the heatmap)."""
    t, label, decimals = content.tables, agg.METRIC_LABELS[metric], agg.METRIC_DECIMALS[metric]
    wr = agg.win_rate_matrix(pi, metric)
    t["win_rate"] = Table("win_rate", f"Win rate on {label} (row beats column)", wr,
                          wr.apply(lambda c: c.map(lambda v: fmt(v, 2))),
                          ["Share of common images on which the row method is better than the "
                           "column method (ties ½)."])
    per_class = agg.per_class_table(pi, metric)
    t["per_class"] = Table("per_class", f"Mean {label} per class", per_class, format_frame(per_class, decimals))
    bw = agg.best_worst_classes(per_class, metric, options.classes_best_worst)
    median_class_size = int(per_class["n_images"].median()) if len(per_class) else 0
    t["best_worst_classes"] = Table("best_worst_classes", f"Each method's best and worst classes by {label}",
                                    bw, format_frame(bw, decimals),
                                    [f"Classes hold {plural(median_class_size, 'image')} each (median): "
                                     "per-class means are noisy."])
    return per_class


def _cost_table(content: ReportContent, table: pd.DataFrame, metric: str) -> pd.DataFrame:
    cost = agg.cost_table(read_csv(content.run.timings_csv), table, metric)
    cost_shown = cost.copy()
    for col in cost_shown.columns:
        if col.endswith("_per_image") and col != "stages_s_per_image" or col in ("total_s",):
            cost_shown[col] = cost[col].map(lambda v: fmt(v, 3))
    if len(cost):
        cost_shown["images_per_s"] = cost["images_per_s"].map(lambda v: fmt(v, 2))
        cost_shown["peak_memory_mb"] = cost["peak_memory_mb"].map(lambda v: fmt(v, 0))
        cost_shown[f"{metric}_mean"] = cost[f"{metric}_mean"].map(lambda v: fmt(v, agg.METRIC_DECIMALS[metric]))
    cost_notes = [
        "n_images counts the outputs the runner wrote (gray-only inputs included; for a stochastic method every one "
        "of its K samples is an output), so images_per_s and the per-image seconds are per output — one "
        "colorization, the cost of the mean-of-K quality next to it; a K-sample evaluation costs K outputs per image.",
        "Seconds are wall-clock summed over the run's batches (preprocess + inference + postprocess); stages are the "
        "method's own breakdown."]
    if len(cost) and cost["device"].astype(str).str.contains("cpu").any():
        cost_notes.append("peak_memory_mb on CPU is the process's peak resident memory during the method's batches "
                          "(Linux; it includes the process's baseline, e.g. the Python libraries loaded; on other "
                          "systems it is the peak since the process started); on CUDA it is the peak allocated memory.")
    if content.unscored:  # timings.csv counts every output written, metrics.csv only those scored
        cost_notes.append(f"n_images includes {plural(sum(content.unscored.values()), 'output')} not scored yet: the "
                          "quality next to it is over the scored ones only (see the warning at the top).")
    untimed = sorted(set(table["method"]) - set(cost["method"] if len(cost) else []))
    if untimed:  # imported methods were made by another tool: left out without a word, they looked forgotten
        cost_notes.append(f"Not in this table: {', '.join(untimed)} — no timings (outputs imported from another tool, "
                          "or timings.csv lost); their quality is in the headline table.")
    content.tables["cost"] = Table("cost", "Cost next to quality (from timings.csv)", cost, cost_shown.astype(str),
                                   cost_notes)
    return cost


def _coverage_tables(content: ReportContent, frame: pd.DataFrame, summary: ScoreSummary) -> None:
    missing = frame[frame["status"] == "missing"][["method", "id", "k", "label", "error"]]
    content.tables["missing"] = Table("missing", "Missing outputs (counted, excluded from that method's means)",
                                      missing.reset_index(drop=True))
    excluded = pd.DataFrame(summary.excluded, columns=["id", "label", "reason"])
    content.tables["excluded"] = Table("excluded", "Samples excluded from scoring", excluded)


def _figures(content: ReportContent, frame: pd.DataFrame, pi: pd.DataFrame, table: pd.DataFrame,
             per_class: pd.DataFrame, cost: pd.DataFrame, options: ReportOptions) -> None:
    """Every figure, each method coloured by its family (one palette: colorbench.methods.families)."""
    f, caps, run = content.figures, content.figure_captions, content.run
    metric, metrics, label = content.headline_metric, content.metrics, agg.METRIC_LABELS[content.headline_metric]
    colors = figs.family_colors(content.family.families if content.family else {}, agg.method_order(frame))
    f["metric_bars"] = figs.metric_bars(table, metrics, colors=colors)
    caps["metric_bars"] = "Mean of each metric per method with 95% bootstrap CIs (colour: the method's family)."
    f[f"distribution_{metric}"] = figs.metric_distributions(pi, metric, colors=colors)
    caps[f"distribution_{metric}"] = f"Per-image {label} for each method."
    f["per_class_heatmap"] = figs.per_class_heatmap(per_class, metric)
    caps["per_class_heatmap"] = f"Mean {label} per class and method."
    if len(cost):
        f["quality_vs_time"] = figs.quality_vs_time(cost, table, metric, colors=colors)
        caps["quality_vs_time"] = ("Seconds per output (one colorization; a stochastic method's sample) against mean "
                                   "quality with its 95% CI: what each point of quality costs.")
    methods = agg.method_order(frame)
    selection = grids.random_selection(pi["id"].unique(), options.grid_images, seed=options.seed)
    f["grid_random"] = grids.image_grid(run.path, selection, methods, title="Fixed random selection (seed "
                                        f"{options.seed})",
                                        captions=grids.metric_captions(pi, selection, metric, samples=frame))
    caps["grid_random"] = (f"{plural(len(selection), 'image')} drawn with seed {options.seed}: gray input | truth | "
                           "each method.")
    for method in methods:
        best, worst = grids.best_worst(pi, method, metric, options.grid_extremes)
        if not best:
            continue
        ids = best + [w for w in worst if w not in best]
        # each row says which it is: with few images the best and the worst overlap, and the rows did not say where
        # the best ended (an image both best and worst is shown once, with both ranks)
        notes: dict[str, str] = {}
        for kind, ranked in (("best", best), ("worst", worst)):
            for rank, i in enumerate(ranked, 1):
                notes[i] = f"{notes[i]}, {kind} {rank}" if i in notes else f"{kind} {rank}"
        name = f"grid_best_worst_{_slug(method)}"
        f[name] = grids.image_grid(run.path, ids, methods, title=f"{method}: best {len(best)} then worst by {label}",
                                   captions=grids.metric_captions(pi, ids, metric, samples=frame), row_notes=notes)
        caps[name] = f"{method}'s best images (top rows) and worst images (bottom rows) by {label}."


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in name)


@locks_run_folder("colorbench report")
def build_report(run_path, options: ReportOptions | None = None, *, return_content: bool = False):
    """Write tables/, figures/ and report.html for a scored run; returns the report's path (or the content too).

    Usage (a sketch, not run by the doctests: it needs a scored run folder)::

        path = build_report("results/demo")
    """
    options = options or ReportOptions()
    content = build_content(run_path, options)
    run = content.run
    for table in content.tables.values():
        write_table(table, run.tables_dir)
    embedded, written = {}, []
    for name, fig in content.figures.items():
        paths = figs.save_figure(fig, run.figures_dir, name)
        written += paths.values()
        ext, mime = figs.embedded_format(fig)  # a chart's PNG, a photo grid's JPEG: the file just written
        embedded[name] = (mime, paths[ext].read_bytes())
    figs.drop_earlier_figures(run.figures_dir, written)
    page = render_report(content, embedded, options,
                         generated=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"))
    atomic.write_text(run.report_html, page)
    atomic.write_text(run.verdict_md, content.verdict.text + "\n")
    return (run.report_html, content) if return_content else run.report_html
