"""What the judgements say: Bradley–Terry strengths, win rates, agreement between and within judges, fool rates,
and how often each metric prefers the image people preferred.

Conventions (also written into the report's notes):

* a pair judgement is oriented by the run's method order: ``a`` is the earlier method; its score is 1 (a preferred),
  0 (b preferred) or ½ (equally good, or both bad — neither preferred: ties count half);
* Bradley–Terry strengths are choix's maximum-likelihood fit (``ilsr_pairwise_dense``, a tiny ridge ``BT_ALPHA``
  keeps a method that won or lost everything finite) on log scale, centred at mean 0: a difference d means the
  first is preferred with probability 1 / (1 + e^−d). The 95% CI is a percentile bootstrap over judgements;
* Cohen's and Fleiss' κ (statsmodels) over items (image, pair, samples) judged by several judges, first answer of
  each judge, answer categories a / b / equally good / both bad;
* proportions (fool rate, consistency, metric agreement) have Wilson 95% intervals (statsmodels);
* metric agreement uses decisive judgements only (a or b preferred) where both judged samples were scored; a
  metric tie counts half; Kendall's τ (scipy) compares the metric's method ranking (method means over all scored
  images) with the Bradley–Terry ranking.

Example (six judgements typed in; in a run they come from ``JudgementStore.judgements("pair")``)::

    >>> import pandas as pd
    >>> from colorbench.judge.analysis import pair_outcomes, bradley_terry
    >>> judged = pd.DataFrame({"mode": "pair", "id": range(6), "judge": "ana", "image_id": "img-1",
    ...                        "left_method": ["cnn", "coltran"] * 3, "right_method": ["coltran", "cnn"] * 3,
    ...                        "left_k": 0, "right_k": 0, "truth_peeked": False,
    ...                        "answer": ["right", "left", "right", "left", "tie", "left"]})
    >>> outcomes = pair_outcomes(judged, ["cnn", "coltran"])   # oriented: a = cnn, the earlier method
    >>> outcomes["answer"].tolist()
    ['b', 'b', 'b', 'b', 'tie', 'b']
    >>> bradley_terry(outcomes, ["cnn", "coltran"], n_boot=50).set_index("method")["rank"].to_dict()
    {'coltran': 1, 'cnn': 2}
"""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd

from colorbench.metrics.specs import COMPARED_METRICS, LOWER_IS_BETTER, label
from colorbench.report.stats import DEFAULT_BOOTSTRAP, DEFAULT_SEED  # noqa: F401  (one set of settings, re-exported)

BT_ALPHA = 1e-3
#: pair judgements below which the strengths get no confidence interval: a percentile bootstrap of a handful of
#: answers resamples the same few outcomes (1 answer: every resample is that answer, the "interval" [x, x]; 3: only
#: 10 distinct resamples in all), so its 2.5%/97.5% percentiles measure nothing
MIN_CI_JUDGEMENTS = 10
#: metric -> True when lower is better: the quality metrics of colorbench.metrics.specs, and colourfulness read two
#: ways (it has no direction of its own): more is better, and ``colorfulness_gap`` = |CF(output) − CF(truth)|
AGREEMENT_METRICS = {**{m: bool(LOWER_IS_BETTER[m]) for m in COMPARED_METRICS}, "colorfulness": False,
                     "colorfulness_gap": True}
#: short labels (no units: the table is about direction, not size)
AGREEMENT_LABELS = {**{m: f"{label(m)} {'↓' if LOWER_IS_BETTER[m] else '↑'}" for m in COMPARED_METRICS},
                    "colorfulness": "colourfulness (more is better) ↑",
                    "colorfulness_gap": "|colourfulness − truth's| ↓"}
SCORE = {"a": 1.0, "b": 0.0, "tie": 0.5, "both-bad": 0.5}


def pair_outcomes(judged: pd.DataFrame, methods: list[str]) -> pd.DataFrame:
    """One row per pair judgement, oriented so ``a`` precedes ``b`` in ``methods``: judge, image, samples, the
    answer as ``a`` / ``b`` / ``tie`` / ``both-bad``, ``score_a`` and ``decisive``."""
    order = {m: i for i, m in enumerate(methods)}
    rows = []
    for r in judged[judged["mode"] == "pair"].itertuples():
        if r.left_method not in order or r.right_method not in order:
            continue  # a method no longer in the run
        flip = order[r.left_method] > order[r.right_method]
        a, ka, b, kb = (r.right_method, r.right_k, r.left_method, r.left_k) if flip else \
            (r.left_method, r.left_k, r.right_method, r.right_k)
        answer = {"left": "b" if flip else "a", "right": "a" if flip else "b"}.get(r.answer, r.answer)
        rows.append({"id": int(r.id), "judge": r.judge, "image_id": r.image_id, "a": a, "ka": int(ka), "b": b,
                     "kb": int(kb), "answer": answer, "score_a": SCORE[answer], "decisive": answer in ("a", "b"),
                     "truth_peeked": bool(r.truth_peeked)})
    return pd.DataFrame(rows, columns=["id", "judge", "image_id", "a", "ka", "b", "kb", "answer", "score_a",
                                       "decisive", "truth_peeked"])


def _wins_matrix(outcomes: pd.DataFrame, index: dict[str, int], weights: np.ndarray | None = None) -> np.ndarray:
    """``m[i, j]``: how often i was preferred to j (ties ½ each way), optionally weighted per judgement."""
    i, j, s = _encoded(outcomes, index)
    return _wins_from_codes(i, j, s, len(index), weights)


def _encoded(outcomes: pd.DataFrame, index: dict[str, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return (outcomes["a"].map(index).to_numpy(int), outcomes["b"].map(index).to_numpy(int),
            outcomes["score_a"].to_numpy(dtype=float))


def _wins_from_codes(i, j, s, n: int, weights: np.ndarray | None = None) -> np.ndarray:
    w = np.ones(len(s)) if weights is None else weights
    flat = np.bincount(i * n + j, weights=w * s, minlength=n * n) + np.bincount(j * n + i, weights=w * (1 - s),
                                                                                minlength=n * n)
    return flat.reshape(n, n)


def fit_strengths(wins: np.ndarray, start: np.ndarray | None = None) -> np.ndarray:
    """Bradley–Terry log-strengths from a wins matrix (choix), centred at mean 0; ``start`` warm-starts it."""
    from colorbench.extras import import_extra

    choix = import_extra("choix", "judge", "the Bradley–Terry ranking of the eye test")

    params = choix.ilsr_pairwise_dense(wins, alpha=BT_ALPHA, initial_params=start, max_iter=1000)
    return params - params.mean()


def bradley_terry(outcomes: pd.DataFrame, methods: list[str], *, n_boot: int = DEFAULT_BOOTSTRAP,
                  seed: int = DEFAULT_SEED) -> pd.DataFrame:
    """Per method: strength (log scale, mean 0) with a 95% percentile-bootstrap CI over judgements, rank, and the
    number of judgements it took part in. Methods never judged are left out.

    The CI is NaN where it cannot be estimated: fewer than :data:`MIN_CI_JUDGEMENTS` judgements, or every resample
    giving the method the same strength (the answers all agree): an interval of width 0 would claim certainty that
    so few answers cannot give."""
    judged = [m for m in methods if ((outcomes["a"] == m) | (outcomes["b"] == m)).any()]
    columns = ["method", "strength", "ci_low", "ci_high", "rank", "n_judgements", "p_beats_average"]
    if len(judged) < 2:
        return pd.DataFrame(columns=columns)
    sub = outcomes[outcomes["a"].isin(judged) & outcomes["b"].isin(judged)]
    index = {m: i for i, m in enumerate(judged)}
    codes = _encoded(sub, index)
    strengths = fit_strengths(_wins_from_codes(*codes, len(judged)))
    lo = hi = np.full(len(judged), np.nan)
    n = len(sub)
    if n >= MIN_CI_JUDGEMENTS:
        rng = np.random.default_rng(seed)
        boots = np.empty((n_boot, len(judged)))
        for b in range(n_boot):  # resampling judgements = multinomial weights on them
            weights = np.bincount(rng.integers(n, size=n), minlength=n).astype(float)
            boots[b] = fit_strengths(_wins_from_codes(*codes, len(judged), weights), start=strengths)
        lo, hi = np.percentile(boots, [2.5, 97.5], axis=0)
        flat = hi - lo <= 1e-9 * np.maximum(1.0, np.abs(strengths))
        lo, hi = np.where(flat, np.nan, lo), np.where(flat, np.nan, hi)
    frame = pd.DataFrame({"method": judged, "strength": strengths, "ci_low": lo, "ci_high": hi})
    frame["rank"] = frame["strength"].rank(ascending=False, method="min").astype(int)
    frame["n_judgements"] = [int(((sub["a"] == m) | (sub["b"] == m)).sum()) for m in judged]
    frame["p_beats_average"] = 1 / (1 + np.exp(-frame["strength"]))
    return frame.sort_values("rank", kind="stable").reset_index(drop=True)[columns]


def win_matrix(outcomes: pd.DataFrame, methods: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(share, count): the row method's share of its judgements against the column method that preferred it
    (ties ½), and how many judgements each cell rests on."""
    index = {m: i for i, m in enumerate(methods)}
    wins = _wins_matrix(outcomes, index)
    counts = wins + wins.T
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(counts > 0, wins / counts, np.nan)
    np.fill_diagonal(share, np.nan)
    share_f = pd.DataFrame(share, index=methods, columns=methods)
    count_f = pd.DataFrame(counts.astype(int), index=methods, columns=methods)
    share_f.index.name = count_f.index.name = "method"
    return share_f, count_f


def _statsmodels(module: str, needed_for: str):
    """``statsmodels.<module>``, or MissingExtra naming the judge extra (a bare ModuleNotFoundError said nothing)."""
    import importlib

    from colorbench.extras import import_extra

    import_extra("statsmodels", "judge", needed_for)  # named as the package pip installs
    return importlib.import_module(f"statsmodels.{module}")


def wilson(successes: float, n: int) -> tuple[float, float, float]:
    """Share with its Wilson 95% interval (statsmodels); NaNs when n = 0."""
    proportion_confint = _statsmodels("stats.proportion", "Wilson intervals of the eye test").proportion_confint

    if n == 0:
        return float("nan"), float("nan"), float("nan")
    lo, hi = proportion_confint(successes, n, alpha=0.05, method="wilson")
    return successes / n, float(lo), float(hi)


def _item_answers(outcomes: pd.DataFrame) -> pd.DataFrame:
    """Each judge's first answer per item (image, pair, samples)."""
    keyed = outcomes.assign(item=outcomes["image_id"] + "|" + outcomes["a"] + ":" + outcomes["ka"].astype(str)
                            + "|" + outcomes["b"] + ":" + outcomes["kb"].astype(str))
    return keyed.sort_values("id").drop_duplicates(["item", "judge"])[["item", "judge", "answer"]]


CATEGORIES = ("a", "b", "tie", "both-bad")


def judge_agreement(outcomes: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """Cohen's κ for every pair of judges on the items both judged, and Fleiss' κ over the items judged by the
    most common number (≥ 2) of judges. Returns (table, fleiss info)."""
    inter_rater = _statsmodels("stats.inter_rater", "the judges' agreement (κ)")
    cohens_kappa, fleiss_kappa = inter_rater.cohens_kappa, inter_rater.fleiss_kappa

    first = _item_answers(outcomes)
    wide = first.pivot(index="item", columns="judge", values="answer")
    rows = []
    for j1, j2 in combinations(sorted(wide.columns), 2):
        both = wide[[j1, j2]].dropna()
        table = pd.crosstab(pd.Categorical(both[j1], CATEGORIES), pd.Categorical(both[j2], CATEGORIES),
                            dropna=False).to_numpy()
        kappa = _safe_kappa(cohens_kappa, table, return_results=False) if len(both) else np.nan
        rows.append({"judge_1": j1, "judge_2": j2, "n_common": len(both),
                     "agreement": float((both[j1] == both[j2]).mean()) if len(both) else np.nan, "cohen_kappa": kappa})
    raters = wide.notna().sum(axis=1)
    fleiss = {"n_items": 0, "n_raters": 0, "kappa": np.nan}
    multi = raters[raters >= 2]
    if len(multi):
        r = int(multi.mode().max())
        items = wide.loc[raters[raters == r].index]
        counts = np.stack([(items == c).sum(axis=1).to_numpy() for c in CATEGORIES], axis=1)
        fleiss = {"n_items": int(len(items)), "n_raters": r, "kappa": _safe_kappa(fleiss_kappa, counts)}
    return pd.DataFrame(rows, columns=["judge_1", "judge_2", "n_common", "agreement", "cohen_kappa"]), fleiss


def _safe_kappa(compute, *args, **kwargs) -> float:
    """κ is undefined (0/0) when every answer falls in one category; report NaN rather than a warning's inf."""
    with np.errstate(invalid="ignore", divide="ignore"):
        try:
            value = float(compute(*args, **kwargs))
        except (ZeroDivisionError, ValueError):
            return float("nan")
    return value if np.isfinite(value) else float("nan")


def judge_consistency(outcomes: pd.DataFrame) -> pd.DataFrame:
    """Per judge: answers, and on items they judged more than once, the share of repeats matching their first
    answer (Wilson CI). Sides are re-drawn on a repeat, so this also catches a side bias."""
    keyed = outcomes.assign(item=outcomes["image_id"] + "|" + outcomes["a"] + ":" + outcomes["ka"].astype(str)
                            + "|" + outcomes["b"] + ":" + outcomes["kb"].astype(str)).sort_values("id")
    rows = []
    for judge, sub in keyed.groupby("judge", sort=True):
        same = repeats = 0
        for _, item in sub.groupby("item"):
            answers = item["answer"].tolist()
            repeats += len(answers) - 1
            same += sum(a == answers[0] for a in answers[1:])
        share, lo, hi = wilson(same, repeats)
        rows.append({"judge": judge, "n_answers": len(sub), "n_repeats": repeats, "consistent": share, "ci_low": lo,
                     "ci_high": hi, "share_decisive": float(sub["decisive"].mean()),
                     "share_truth_peeked": float(sub["truth_peeked"].mean())})
    return pd.DataFrame(rows, columns=["judge", "n_answers", "n_repeats", "consistent", "ci_low", "ci_high",
                                       "share_decisive", "share_truth_peeked"])


def fool_rate(judged: pd.DataFrame, methods: list[str]) -> pd.DataFrame:
    """Real-or-fake mode: per source (each method, and the truths as the reference), the share of its images
    judged a real photo, with a Wilson 95% CI."""
    from colorbench.judge.store import TRUTH

    sub = judged[judged["mode"] == "real-or-fake"]
    rows = []
    for source in methods + [TRUTH]:
        answers = sub.loc[sub["left_method"] == source, "answer"]
        share, lo, hi = wilson(float((answers == "real").sum()), len(answers))
        rows.append({"source": "true colours (reference)" if source == TRUTH else source, "n": len(answers),
                     "judged_real": share, "ci_low": lo, "ci_high": hi})
    return pd.DataFrame(rows, columns=["source", "n", "judged_real", "ci_low", "ci_high"])


def sample_metrics(metrics: pd.DataFrame) -> pd.DataFrame:
    """metrics.csv rows that were scored, indexed by (method, id, k), with ``colorfulness_gap`` added."""
    ok = metrics[metrics["status"] == "ok"].copy()
    ok["k"] = ok["k"].astype(int)
    if "colorfulness" in ok and "colorfulness_truth" in ok:
        ok["colorfulness_gap"] = (ok["colorfulness"] - ok["colorfulness_truth"]).abs()
    return ok.set_index(["method", "id", "k"])


def metric_agreement(outcomes: pd.DataFrame, metrics: pd.DataFrame, strengths: pd.DataFrame) -> pd.DataFrame:
    """For every metric: on the decisive judgements whose two samples were both scored, the share where the metric
    prefers the image people preferred (metric ties ½; Wilson CI), and Kendall's τ between the metric's method
    ranking (means over all scored images) and the Bradley–Terry ranking."""
    from scipy.stats import kendalltau

    per_sample = sample_metrics(metrics)
    decisive = outcomes[outcomes["decisive"]]
    rows = []
    for metric, lower in AGREEMENT_METRICS.items():
        if metric not in per_sample or per_sample[metric].notna().sum() == 0:
            continue
        values = per_sample[metric].replace(np.inf, np.nan if metric != "psnr" else 1e9)
        va = values.reindex(pd.MultiIndex.from_arrays([decisive["a"], decisive["image_id"], decisive["ka"]])).to_numpy()
        vb = values.reindex(pd.MultiIndex.from_arrays([decisive["b"], decisive["image_id"], decisive["kb"]])).to_numpy()
        usable = ~(np.isnan(va) | np.isnan(vb))
        people_a = (decisive["answer"].to_numpy() == "a")[usable]
        metric_a = np.where(va[usable] == vb[usable], 0.5, ((va < vb) if lower else (va > vb))[usable].astype(float))
        agree = np.where(people_a, metric_a, 1 - metric_a)
        share, lo, hi = wilson(float(agree.sum()), int(usable.sum()))
        means = values.groupby(level="method").mean()
        common = [m for m in strengths["method"] if m in means.index and np.isfinite(means[m])]
        tau = np.nan
        if len(common) >= 2:
            human = strengths.set_index("method").loc[common, "strength"].to_numpy()
            machine = -means[common].to_numpy() if lower else means[common].to_numpy()
            tau = float(kendalltau(human, machine).statistic)
        rows.append({"metric": metric, "n_pairs": int(usable.sum()), "agreement": share, "ci_low": lo, "ci_high": hi,
                     "kendall_tau": tau, "n_methods": len(common)})
    return pd.DataFrame(rows, columns=["metric", "n_pairs", "agreement", "ci_low", "ci_high", "kendall_tau",
                                       "n_methods"])


def disagreements(outcomes: pd.DataFrame, metrics: pd.DataFrame, metric: str = "lpips", n: int = 6) -> pd.DataFrame:
    """Images where people and ``metric`` disagree most: per image, decisive judgements where the metric preferred
    the other image, their share, sorted by count then share."""
    if metric not in metrics or metrics[metric].notna().sum() == 0:
        return pd.DataFrame(columns=["image_id", "n_judged", "n_disagree", "share_disagree"])
    per_sample = sample_metrics(metrics)[metric]
    lower = AGREEMENT_METRICS[metric]
    rows = {}
    for r in outcomes[outcomes["decisive"]].itertuples():
        va, vb = per_sample.get((r.a, r.image_id, r.ka)), per_sample.get((r.b, r.image_id, r.kb))
        if va is None or vb is None or np.isnan(va) or np.isnan(vb) or va == vb:
            continue
        metric_a = (va < vb) if lower else (va > vb)
        judged, disagree = rows.get(r.image_id, (0, 0))
        rows[r.image_id] = (judged + 1, disagree + int(metric_a != (r.answer == "a")))
    columns = ["image_id", "n_judged", "n_disagree", "share_disagree"]
    frame = pd.DataFrame([{"image_id": i, "n_judged": j, "n_disagree": d, "share_disagree": d / j}
                          for i, (j, d) in rows.items()], columns=columns)
    frame = frame[frame["n_disagree"] > 0]
    return frame.sort_values(["n_disagree", "share_disagree", "image_id"], ascending=[False, False, True]).head(n)

