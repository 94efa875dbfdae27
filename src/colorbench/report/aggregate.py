"""From metrics.csv to the report's numbers: per-image values, per-method summaries, pairs, classes, cost.

Conventions (also written into the report):

* a stochastic method's per-image value is the mean over its K samples (mean-of-K, the expected quality of one
  sample); best-of-K LPIPS (the minimum over samples) is reported alongside, never instead;
* missing outputs are counted per method and excluded from that method's means; paired comparisons use the
  images both methods produced; an image enters a method's means when at least one of its samples exists
  (``n_missing``: images with no output at all; ``n_missing_samples``: absent (image, sample) outputs);
* PSNR is +inf for an output identical to its truth; for statistics it is capped at :data:`PSNR_CAP_DB` (a mean
  with an infinite term has no CI and a paired difference ``inf − inf`` is undefined); the count is reported;
* ΔCF = |mean CF(outputs) − mean CF(truths)| over the method's scored images; its CI is the signed
  difference's bootstrap CI folded through |·| (see :func:`colorbench.report.stats.abs_ci`);
* the headline metric is LPIPS when it was available, otherwise CIEDE2000 (the report says which).

Example (three metrics.csv rows typed in: two samples of image ``a``, one of ``b``)::

    >>> import pandas as pd
    >>> from colorbench.report.aggregate import per_image
    >>> frame = pd.DataFrame({"method": "cnn", "id": ["a", "a", "b"], "k": [0, 1, 0], "status": "ok",
    ...                       "lpips": [0.2, 0.4, 0.3], "psnr": [20.0, 22.0, 24.0], "label": "dog", "class_id": 1})
    >>> per_image(frame)[["id", "lpips", "lpips_best_of_k", "psnr", "n_samples"]]
      id  lpips  lpips_best_of_k  psnr  n_samples
    0  a    0.3              0.2  21.0          2
    1  b    0.3              0.3  24.0          1

On a run: ``method_summary(per_image(load_metrics(run)), load_metrics(run), RunFolder(run).score_summary())``
gives the per-method table.
"""

from __future__ import annotations

import json
from itertools import combinations

import numpy as np
import pandas as pd

from colorbench.metrics.specs import COMPARED_METRICS, IMAGE_METRICS, LOWER_IS_BETTER, METRIC_SPECS, SUMMARISED_METRICS
from colorbench.records import ScoreSummary
from colorbench.report.stats import (
    DEFAULT_BOOTSTRAP,
    abs_ci,
    bootstrap_ci,
    bootstrap_stat_ci,
    holm,
    paired_test,
    win_rate,
)

#: PSNR used for statistics when an output equals its truth (+inf): above the PSNR of a single 1-level error in
#: one channel of a 224×224 image (≈ 99.9 dB), so an exact copy still ranks first among ordinary outputs.
PSNR_CAP_DB = 100.0

QUALITY_METRICS = COMPARED_METRICS
#: table labels and decimals, read from :mod:`colorbench.metrics.specs` (kept as names for notebooks and tools)
METRIC_LABELS = {s.name: s.heading for s in METRIC_SPECS}
METRIC_DECIMALS = {s.name: s.decimals for s in METRIC_SPECS}


def available_metrics(frame: pd.DataFrame) -> list[str]:
    """Quality metrics with at least one value (LPIPS is empty when its weights were unavailable)."""
    ok = frame[frame["status"] == "ok"]
    return [m for m in QUALITY_METRICS if m in ok and ok[m].notna().any()]


def headline_metric(frame: pd.DataFrame) -> str:
    return "lpips" if "lpips" in available_metrics(frame) else "delta_e2000"


def per_image(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per (method, image): metrics averaged over the method's samples; best-of-K LPIPS; sample count."""
    ok = frame[frame["status"] == "ok"]
    cols = [c for c in IMAGE_METRICS if c in ok]
    if "psnr" in ok:
        ok = ok.assign(psnr=ok["psnr"].clip(upper=PSNR_CAP_DB))  # +inf (identical images) -> the cap
    grouped = ok.groupby(["method", "id"], sort=False)
    out = grouped[cols].mean()
    out["lpips_best_of_k"] = grouped["lpips"].min() if "lpips" in ok else np.nan
    out["n_samples"] = grouped.size()
    labels = ok.drop_duplicates(["method", "id"]).set_index(["method", "id"])[["label", "class_id"]]
    return out.join(labels).reset_index()


def truth_colorfulness(pi: pd.DataFrame) -> float:
    """Mean colourfulness of the truths over every scored image (each image once, whichever methods scored it)."""
    if "colorfulness_truth" not in pi or pi.empty:
        return float("nan")
    return float(pi.drop_duplicates("id")["colorfulness_truth"].mean())


def method_order(frame: pd.DataFrame) -> list[str]:
    return list(dict.fromkeys(frame["method"]))


def method_summary(pi: pd.DataFrame, frame: pd.DataFrame, summary: ScoreSummary | dict | None, *,
                   n_boot: int = DEFAULT_BOOTSTRAP, seed: int = 0) -> pd.DataFrame:
    """Per method: counts, mean and 95% CI of every metric, ΔCF with CI, FID, best-of-K LPIPS. ``summary``:
    metrics.json (a record, its dict, or None for a run scored before it existed)."""
    rows = []
    fid = ScoreSummary.coerce(summary).fid.per_method or {}
    for method in method_order(frame):
        sub = pi[pi["method"] == method]
        rows_m = frame[frame["method"] == method]
        k = int(rows_m["k"].max()) + 1
        # an image with no sample at all is missing; with some samples it is scored on those, and the absent
        # samples are counted too (never absorbed silently into a mean-of-fewer-than-K)
        n_missing = int(rows_m.loc[~rows_m["id"].isin(set(sub["id"])), "id"].nunique())
        row = {"method": method, "n_scored": len(sub), "n_missing": n_missing,
               "n_missing_samples": int((rows_m["status"] == "missing").sum()), "samples_per_image": k,
               "psnr_n_capped": (int(np.isposinf(rows_m.loc[rows_m["status"] == "ok", "psnr"]).sum())
                                 if "psnr" in rows_m else 0)}
        for metric in SUMMARISED_METRICS:
            values = sub[metric].dropna().to_numpy() if metric in sub else np.array([])
            row[f"{metric}_mean"], row[f"{metric}_lo"], row[f"{metric}_hi"] = bootstrap_ci(
                values, n_boot=n_boot, seed=seed)
        both = sub[["colorfulness", "colorfulness_truth"]].dropna()
        row["colorfulness_truth_mean"] = float(both["colorfulness_truth"].mean()) if len(both) else np.nan
        # signed: mean CF(outputs) − mean CF(truths) (negative = washed out); ΔCF is its absolute value
        row["cf_diff"], row["cf_diff_lo"], row["cf_diff_hi"] = bootstrap_stat_ci(
            [both["colorfulness"].to_numpy(), both["colorfulness_truth"].to_numpy()],
            lambda p, t: p.mean(-1) - t.mean(-1), n_boot=n_boot, seed=seed)
        row["delta_cf"], row["delta_cf_lo"], row["delta_cf_hi"] = abs_ci(row["cf_diff"], row["cf_diff_lo"],
                                                                         row["cf_diff_hi"])
        if k > 1:
            best = sub["lpips_best_of_k"].dropna().to_numpy()
            row["lpips_best_of_k_mean"], row["lpips_best_of_k_lo"], row["lpips_best_of_k_hi"] = bootstrap_ci(
                best, n_boot=n_boot, seed=seed)
        else:
            row["lpips_best_of_k_mean"] = row["lpips_best_of_k_lo"] = row["lpips_best_of_k_hi"] = np.nan
        info = fid.get(method, {})
        row["fid"] = info.get("fid", np.nan) if info.get("fid") is not None else np.nan
        row["fid_n"] = info.get("n_fake", np.nan)
        row["fid_reliable"] = info.get("reliable", np.nan)
        rows.append(row)
    return pd.DataFrame(rows)


def paired_table(pi: pd.DataFrame, metrics: list[str], *, n_boot: int = DEFAULT_BOOTSTRAP,
                 seed: int = 0) -> pd.DataFrame:
    """Every pair of methods × metric: n common images, mean(a − b) with CI, Wilcoxon p, Holm-adjusted p, verdict.

    Holm's correction runs over all pairs of one metric (one family per metric).
    """
    methods = list(dict.fromkeys(pi["method"]))
    rows = []
    for metric in metrics:
        wide = pi.pivot(index="id", columns="method", values=metric)
        family = []
        for a, b in combinations(methods, 2):
            if a not in wide or b not in wide:
                continue
            both = wide[[a, b]].dropna()
            res = paired_test(both[a].to_numpy(), both[b].to_numpy(), n_boot=n_boot, seed=seed)
            family.append({"metric": metric, "method_a": a, "method_b": b, "n": res.n, "mean_diff": res.mean_diff,
                           "ci_low": res.ci_low, "ci_high": res.ci_high, "p_wilcoxon": res.p_wilcoxon,
                           "_direction": res.rank_direction})
        adjusted = holm([r["p_wilcoxon"] for r in family])
        for r, p in zip(family, adjusted):
            r["p_holm"] = p
            r["better"] = better_of(r["method_a"], r["method_b"], r["mean_diff"], r.pop("_direction"), p,
                                    lower_is_better=bool(LOWER_IS_BETTER.get(metric)))
            rows.append(r)
    return pd.DataFrame(rows, columns=["metric", "method_a", "method_b", "n", "mean_diff", "ci_low", "ci_high",
                                       "p_wilcoxon", "p_holm", "better"])


def better_of(a: str, b: str, mean_diff: float, rank_direction: int, p_holm: float, *, lower_is_better: bool,
              alpha: float = 0.05) -> str:
    """Which of ``a``, ``b`` is better, the one rule of every paired table: the better one's name when the
    Holm-adjusted p is below ``alpha`` and the signed ranks and the mean difference (a − b) point the same way;
    "mixed: X wins by signed ranks, not by the mean" when they point opposite ways (name neither as better);
    otherwise "no significant difference"."""
    if np.isnan(p_holm) or p_holm >= alpha:
        return "no significant difference"
    if rank_direction != np.sign(mean_diff):
        winner = a if (rank_direction < 0) == lower_is_better else b
        return f"mixed: {winner} wins by signed ranks, not by the mean"
    return a if (mean_diff < 0) == lower_is_better else b


def win_rate_matrix(pi: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Row method's share of common images on which it beats the column method (ties ½)."""
    methods = list(dict.fromkeys(pi["method"]))
    wide = pi.pivot(index="id", columns="method", values=metric)
    lower = bool(LOWER_IS_BETTER.get(metric))
    matrix = pd.DataFrame(np.nan, index=methods, columns=methods)
    for a in methods:
        for b in methods:
            if a != b and a in wide and b in wide:
                both = wide[[a, b]].dropna()
                matrix.loc[a, b] = win_rate(both[a].to_numpy(), both[b].to_numpy(), lower_is_better=lower)
    matrix.index.name = "method"
    return matrix


def per_class_table(pi: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Mean ``metric`` per class (rows) and method (columns), with the number of images per class."""
    table = pi.pivot_table(index="label", columns="method", values=metric, aggfunc="mean", sort=True)
    table = table[[m for m in dict.fromkeys(pi["method"]) if m in table]]
    table.insert(0, "n_images", pi.groupby("label")["id"].nunique())
    return table


def best_worst_classes(per_class: pd.DataFrame, metric: str, n: int = 5) -> pd.DataFrame:
    """For each method, its ``n`` best and ``n`` worst classes by mean ``metric``.

    With fewer than ``2n`` classes the lists shrink to half the classes each, so no class is listed as both one
    of a method's best and one of its worst.
    """
    lower = bool(LOWER_IS_BETTER.get(metric))
    rows = []
    for method in [c for c in per_class.columns if c != "n_images"]:
        ranked = per_class[method].dropna().sort_values(ascending=lower, kind="stable")
        m = min(n, len(ranked) // 2)
        for kind, part in (("best", ranked.head(m)), ("worst", ranked.tail(m)[::-1])):
            for rank, (label, value) in enumerate(part.items(), start=1):
                rows.append({"method": method, "kind": kind, "rank": rank, "class": label, metric: value})
    return pd.DataFrame(rows, columns=["method", "kind", "rank", "class", metric])


STAGE_PREFIX = "stage:"  # timing_totals' columns of seconds per stage a method reports (timings.csv ``stages``)


def timing_totals(timings: list[dict]) -> pd.DataFrame:
    """Per method, summed over the rows of timings.csv (batches, samples, ranks): ``n_images``, seconds of each
    part (``preprocess_s``, ``inference_s``, ``postprocess_s``) and in all (``total_s``), the peak memory, the
    devices, and one ``stage:<name>`` column of seconds for each stage the method reports. The one aggregation of
    timings: the report's cost table and the notebooks' run summary both read it."""
    parts = ["preprocess_s", "inference_s", "postprocess_s"]
    columns = ["method", "n_images", *parts, "total_s", "peak_memory_mb", "device"]
    if not timings:
        return pd.DataFrame(columns=columns)
    t = pd.DataFrame(timings)
    for col in ("n_images", *parts, "peak_memory_mb"):
        t[col] = pd.to_numeric(t.get(col), errors="coerce")
    rows = []
    for method, sub in t.groupby("method", sort=False):
        row = {"method": method, "n_images": int(sub["n_images"].sum()), **{p: float(sub[p].sum()) for p in parts},
               "total_s": float(sub[parts].sum().sum()),
               "peak_memory_mb": float(sub["peak_memory_mb"].max()) if sub["peak_memory_mb"].notna().any() else np.nan,
               "device": ", ".join(sorted({str(d) for d in sub.get("device",
                                                                   pd.Series(dtype=str)).dropna() if str(d)}))}
        for raw in sub.get("stages", pd.Series(dtype=str)).dropna():
            try:
                for name, seconds in (json.loads(raw) if str(raw).strip() else {}).items():
                    row[STAGE_PREFIX + name] = row.get(STAGE_PREFIX + name, 0.0) + float(seconds)
            except (ValueError, TypeError, AttributeError):
                continue
        rows.append(row)
    return pd.DataFrame(rows)


def stage_columns(totals: pd.DataFrame) -> list[str]:
    """The ``stage:<name>`` columns of :func:`timing_totals`, in the order the methods first reported them."""
    return [c for c in totals.columns if c.startswith(STAGE_PREFIX)]


def cost_table(timings: list[dict], summary_table: pd.DataFrame | None = None, metric: str | None = None
               ) -> pd.DataFrame:
    """Per method from timings.csv: images, seconds, images/s, seconds per stage per image, peak memory, device,
    next to the method's mean headline metric (when ``summary_table`` and ``metric`` are given: a run not scored
    yet has timings but no quality)."""
    totals = timing_totals(timings)
    if totals.empty:
        return pd.DataFrame(columns=["method", "n_images", "total_s", "images_per_s", "s_per_image",
                                     "peak_memory_mb", "device"])
    rows = []
    for total in totals.to_dict("records"):
        n, seconds = float(total["n_images"]), total["total_s"]
        row = {"method": total["method"], "n_images": int(n), "total_s": seconds,
               "images_per_s": n / seconds if seconds > 0 else np.nan, "s_per_image": seconds / n if n else np.nan,
               **{f"{p}_per_image": total[p] / n if n else np.nan
                  for p in ("preprocess_s", "inference_s", "postprocess_s")},
               "peak_memory_mb": total["peak_memory_mb"], "device": total["device"]}
        stages = {c[len(STAGE_PREFIX):]: total[c] for c in stage_columns(totals) if pd.notna(total[c])}
        row["stages_s_per_image"] = "; ".join(f"{k}: {v / n:.3g}" for k, v in stages.items()) if n else ""
        rows.append(row)
    cost = pd.DataFrame(rows)
    if summary_table is None or metric is None:
        return cost
    quality = summary_table.set_index("method")[f"{metric}_mean"].rename(f"{metric}_mean")
    return cost.join(quality, on="method")
