"""The single-file HTML report: inline CSS, base64 figures, no scripts, no external resources."""

from __future__ import annotations

import base64
import html
import json
from dataclasses import dataclass
from pathlib import Path

from colorbench import __version__
from colorbench.messages import plural, weights_fetch_hint
from colorbench.records import MethodState, MethodStatus
from colorbench.report.figures import PHOTO_GRID_FORMATS
from colorbench.report.sections import Section, report_sections
from colorbench.report.stale import unscored_text
from colorbench.report.tables import TABLE_CSS, to_html
from colorbench.report.verdict import NOT_RUN_TITLE

PHOTO_GRID_MIME = next(iter(PHOTO_GRID_FORMATS.values()))[0]

PAGE_CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#1d232b;max-width:1180px;margin:0 auto;padding:24px;line-height:1.45}
h1{font-size:26px;margin:0 0 4px}h2{font-size:19px;border-bottom:2px solid #e3e7ec;padding-bottom:4px;margin-top:34px}
.sub{color:#5b6570;margin:0 0 18px}.note{color:#5b6570;font-size:12.5px;margin:2px 0}
.warn{background:#fff4e0;border:1px solid #f0c36d;padding:8px 12px;border-radius:6px;margin:10px 0}
.bad{background:#fde8e8;border:1px solid #e59a9a;padding:8px 12px;border-radius:6px;margin:10px 0}
dl.protocol{display:grid;grid-template-columns:220px 1fr;gap:3px 14px;font-size:14px}
dl.protocol dt{font-weight:600;color:#39424c}dl.protocol dd{margin:0}
figure{margin:14px 0 22px}figure img{max-width:100%;border:1px solid #e3e7ec}figure img.photos{max-width:none}
figcaption{font-size:13px;color:#5b6570}nav a{margin-right:12px;font-size:14px}
.scroll{overflow-x:auto}details summary{cursor:pointer;font-weight:600;margin:8px 0}
code{background:#f2f4f7;padding:1px 4px;border-radius:3px}
.verdict{background:#eef5ff;border:1px solid #9cbbe6;padding:10px 14px;border-radius:6px;margin:10px 0;font-size:15.5px}
ul.notrun{margin:2px 0;padding-left:18px}ul.notrun li{margin:0 0 6px}
.fix{display:inline-block;margin-top:2px;padding:2px 6px;background:#eef7ee;border-left:3px solid #55A868}
"""


def _e(text) -> str:
    return html.escape(str(text))


def _with_code(text) -> str:
    """Escape, and show `backticked` commands as code."""
    parts = _e(text).split("`")
    return "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts))


def _verdict(content) -> str:
    text = _with_code(content.verdict.text)
    pointer = _e(f'"{NOT_RUN_TITLE}"')  # the verdict's pointer to the one place with the reasons: a link there
    text = text.replace(pointer, f'<a href="#did-not-run">{pointer}</a>', 1)
    return f'<div class="verdict" id="verdict"><b>Verdict.</b> {text}</div>'


def reason_and_fix(reason: str) -> tuple[str, str]:
    """A skip or failure reason split into what went wrong and what makes the method run. The reasons read "what
    went wrong. What to do … `command` …": the fix starts at the sentence that holds the first command (or, with
    no command, at the second sentence); "" when the reason is one sentence (its fix, if any, is in it)."""
    text = " ".join(str(reason).split())  # one paragraph: a library's multi-line message included
    tick = text.find("`")
    cut = text.rfind(". ", 0, tick) if tick > 0 else text.find(". ")
    return (text[:cut + 1], text[cut + 2:]) if cut > 0 else (text, "")


def _not_run_list(content) -> str:
    """Methods that produced no images, said once in the report: each reason in full with its fix in sight (a new
    user found the reasons three times over and the fixes folded away). Methods with the same reason share one
    line; one ``colorbench weights fetch`` for every missing download comes first."""
    not_run = content.verdict.not_run
    if not not_run:
        return ""
    groups: dict[tuple[str, str], list[str]] = {}
    for n in not_run:
        groups.setdefault((n.status, " ".join(n.reason.split())), []).append(n.method)
    items = []
    for (status, reason), methods in groups.items():
        why, fix = reason_and_fix(reason)
        names = ", ".join(f"<b>{_e(m)}</b>" for m in methods)
        fix_html = f'<br><span class="fix"><b>Fix:</b> {_with_code(fix)}</span>' if fix else ""
        items.append(f"<li>{names} — {_e(status)}: {_with_code(why)}{fix_html}</li>")
    hint = weights_fetch_hint([n.reason for n in not_run])
    hint_html = f'<p class="fix">{_with_code(hint[0].upper() + hint[1:])}.</p>' if hint else ""  # all at once
    return f'<div id="did-not-run">{hint_html}<ul class="notrun">{"".join(items)}</ul></div>'


def _unusable_inputs(content) -> list[dict[str, str]]:
    """The dataset's files the runner could not use (skipped.csv): they are in no other table of the report."""
    from colorbench.runfolder import read_csv

    return read_csv(content.run.skipped_csv)


def _unusable_table(content) -> str:
    import pandas as pd

    from colorbench.report.tables import Table
    from colorbench.runfolder import SKIPPED_COLUMNS

    rows = _unusable_inputs(content)
    if not rows:
        return ""
    return to_html(Table("unusable", f"Input files that could not be used ({len(rows)}; from skipped.csv)",
                         pd.DataFrame(rows, columns=SKIPPED_COLUMNS)))


def _statistics(content, t) -> str:
    verdict = content.verdict
    if not verdict.comparable:  # only the comparison's sentence: the verdict above already says the rest
        return f'<p id="no-comparison">{_with_code(verdict.comparison or verdict.text)}</p>'
    if verdict.too_few_images:
        n = int(t["pairwise"].numbers["n"].max())
        pairwise = (f'<p class="warn" id="pairwise-too-small">With {plural(n, "image")} per pair, no paired test can reach '
                    "Holm-adjusted p &lt; 0.05 whatever the outputs, so the paired comparisons are not listed (their "
                    "numbers are in <code>tables/pairwise.csv</code>). Run on more images to tell the methods "
                    "apart.</p>")
    else:
        pairwise = f'<div class="scroll">{to_html(t["pairwise"])}</div>'
    return pairwise + f'<div class="scroll">{to_html(t["win_rate"])}</div>'


def _protocol(content, options) -> str:
    info, summary = content.run_info, content.summary
    lpips, fid = summary.lpips, summary.fid
    items = []

    def add(key, value):
        if value not in (None, "", [], {}):
            items.append(f"<dt>{_e(key)}</dt><dd>{value}</dd>")

    dataset = info.dataset or "?"
    if isinstance(dataset, dict):  # the runner's record: name, root, split, n, classes, has_splits
        from colorbench.data.index import describe_classes

        split = dataset.get("split") or info.extra.get("split") or "—"
        if dataset.get("has_splits") is False:
            split = "— (the dataset has no splits)"
        classes = dataset.get("classes")
        classes_text = describe_classes(classes) if isinstance(classes, int) else plural(classes, "class", "classes")
        dataset_text = (f"{dataset.get('name', '?')} ({plural(dataset.get('n', '?'), 'image')}, {classes_text}; "
                        f"{dataset.get('root', '')})")
    else:
        split, dataset_text = info.extra.get("split", "?"), str(dataset)  # hand-made folders: keys of their own
    config = info.config
    add("Run", _e(info.name or content.run.path.name))
    add("Dataset", _e(dataset_text))
    add("Split", _e(split))
    excluded = summary.excluded
    gray_only = sum("gray-only" in str(e.get("reason", "")) for e in excluded)
    why = [f"{gray_only} no colour ground truth"] if gray_only else []
    why += [f"{len(excluded) - gray_only} truth missing or unreadable"] if len(excluded) > gray_only else []
    unusable = len(_unusable_inputs(content))
    # a run grown since scoring: metrics.json's count is the old run's; samples.csv is the run as it is now
    n_in_run = (len(content.run.read_samples()) or summary.n_samples) if content.unscored else summary.n_samples
    add("Images", _e(f"{_or_unknown(n_in_run)} in the run, {_or_unknown(summary.n_scorable)} scored, "
                     f"{len(excluded)} excluded" + (f" ({', '.join(why)})" if why else "")
                     + (f"; {plural(unusable, 'input file')} could not be used and {'is' if unusable == 1 else 'are'} not in the run "
                        "(see Coverage)"
                        if unusable else ""))
        + (_with_code(f" — {plural(sum(content.unscored.values()), 'output')} not scored yet: run "
                      f"`colorbench score {content.run.command_name()}`") if content.unscored else ""))
    add("Resolution", _e(", ".join(summary.resolution) or "?"))
    gamut = config.get("gamut", "clip")  # run folders from before the option clipped
    add("L-merge", _e(f"input's CIELAB L + the method's ab; out-of-sRGB colours: {gamut} ("
                      + ("RGB clipped, as in the literature; this moves L there" if gamut == "clip" else
                         "chroma reduced at constant L and hue") + ")"))
    if info.seed is not None or "seed" in config:
        seed = info.seed if info.seed is not None else config.get("seed")
        add("Seed", _e(f"{seed} (per-image seeds derived from it and the sample id)"))
    k = info.extra.get("samples_per_image") or config.get("samples_per_image")
    if k:
        add("Samples per image", _e(json.dumps(k) if not isinstance(k, int) else k))
    ran = [m for m in (info.methods or list(summary.methods)) if m in set(content.verdict.ran)]
    ran += [m for m in content.verdict.ran if m not in ran]  # e.g. imported methods run.json does not list
    add("Methods", _e(", ".join(ran)))
    add(NOT_RUN_TITLE, _not_run_list(content))
    for name, status in info.method_status.items():
        # partial runs here; skipped and failed ones are listed under "Did not run" just above
        if status.status not in (None, MethodState.DONE, "finished", MethodState.SKIPPED, MethodState.FAILED):
            add(f"  {name}", _e(f"{status.status}: {status.reason or ''}"))
    for name, status in info.method_status.items():
        add_origin(add, name, status)
    device = info.device or "?"
    if isinstance(device, dict):
        device = ", ".join(f"{k}: {v}" for k, v in device.items())
    add("Generation device", _e(device))
    for key in ("git_sha", "started", "finished"):
        if getattr(info, key):
            add(key.replace("_", " ").capitalize(), _e(getattr(info, key)))
    versions = {**info.versions, **summary.versions}
    add("Versions", _e(", ".join(f"{k} {v}" for k, v in versions.items())))
    if lpips.available:
        add("LPIPS", _e(f"{lpips.label or 'LPIPS'}, inputs in [-1, 1], outputs compared with truths "
                        "at the same size"))
        trunk = lpips.extra.get("trunk_weights") or {}
        if trunk.get("sha256"):
            add("LPIPS trunk", _e(f"{trunk.get('from')}; file {Path(trunk.get('file', '?')).name}, sha256 "
                                  f"{trunk['sha256']}"))
    else:
        add("LPIPS", f"<b>unavailable</b>: {_e(lpips.why_unavailable or '?')}")
    add("PSNR / SSIM", _e(summary.conventions.get("psnr_ssim", "")))
    add("ΔE2000", _e(summary.conventions.get("delta_e2000", "")))
    add("Colourfulness", _e(summary.conventions.get("colorfulness", "")))
    add("Stochastic methods", _e(summary.conventions.get("stochastic", "")))
    fid_text = _e(fid.protocol or "")
    if not fid.available:
        fid_text = f"<b>unavailable</b>: {_e(fid.why_unavailable or '?')}. Protocol: {fid_text}"
    else:
        per = fid.per_method or {}
        counts = ", ".join(f"{m}: n={v.get('n_fake')}" for m, v in per.items())
        fid_text += _e(f" Real n = {next(iter(per.values()), {}).get('n_real', '?')}; fake {counts}.")
    add("FID", fid_text)
    fid_file = fid.extra.get("weights_file") or {}
    if fid.available and fid_file.get("sha256"):
        note = f" ({fid.extra['weights_note']})" if fid.extra.get("weights_note") else ""
        add("FID weights", _e(f"{fid_file.get('from')}; file {Path(fid_file.get('file', '?')).name}, sha256 "
                              f"{fid_file['sha256']}{note}"))
    add("Statistics", _e(f"percentile bootstrap over images, {plural(options.n_boot, 'resample')}, seed {options.seed}, "
                         "95% level; paired bootstrap + Wilcoxon signed-rank, Holm-corrected per metric; missing "
                         "outputs counted and excluded; pairs use common images"))
    add("Scoring", _e(f"{_or_unknown(summary.scored_at)} on {_or_unknown(summary.device)}, batch "
                      f"{_or_unknown(summary.batch_size)}, {_or_unknown(summary.seconds)} s"))
    add("Headline metric",
        _e(content.headline_metric + ("" if content.headline_metric == "lpips" else " (LPIPS unavailable)")))
    return f'<dl class="protocol">{"".join(items)}</dl>'


def _or_unknown(value) -> object:
    return "?" if value is None else value


def add_origin(add, name: str, status: MethodStatus) -> None:
    """Where a method's images came from when not from this run's own `colorbench run`: imported from another
    tool's folder (not L-merged ones flagged), or merged in from a run made elsewhere."""
    imported = status.imported
    if imported:
        folders = ", ".join(f["folder"] for f in imported.get("from", []))
        merged = "" if imported.get("l_merged", True) else "; NOT L-merged: its luminance is not the input's"
        note = f" — {imported['note']}" if imported.get("note") else ""
        add(f"  {name}", _e(f"imported from {folders}{note}{merged}"))
    elif status.origin:
        add(f"  {name}", _e(f"merged from {', '.join(status.origin)}"))


def _banners(content) -> str:
    out = []
    if content.run_info.is_smoke:
        out.append('<div class="bad"><b>Smoke run:</b> methods used tiny untrained models; the numbers are meaningless '
                   "and only show that every code path works.</div>")
    lpips = content.summary.lpips
    if lpips.available is False:  # (None: no metrics.json to say)
        out.append('<div class="bad"><b>LPIPS is unavailable in this report.</b> '
                   f'{_e(lpips.why_unavailable)} '
                   f'Registry name <code>{_e(lpips.extra.get("weights", ""))}</code>; after providing the file, re-run '
                   f'<code>colorbench score {_e(content.run.path)}</code>.</div>')
    elif lpips.available and not lpips.is_calibrated:
        out.append(f'<div class="bad"><b>Not LPIPS:</b> {_e(lpips.label or "")}. Numbers in the LPIPS column only '
                   "exercise the pipeline.</div>")
    fid = content.summary.fid
    if fid.available and not fid.is_calibrated:
        out.append('<div class="bad"><b>Not FID:</b> stand-in Inception weights were used.</div>')
    if content.unscored:
        out.append(f'<div class="warn" id="scores-out-of-date"><b>Scores out of date:</b> '
                   f"{_with_code(unscored_text(content.run, content.unscored))}</div>")
    # counted from metrics.csv over every sample (a stochastic method can miss sample k>0 only)
    counts = content.tables["headline"].numbers
    missing = {r.method: (int(r.n_missing),
                          int(r.n_missing_samples)) for r in counts.itertuples() if r.n_missing_samples}
    if missing:
        out.append('<div class="warn">Missing outputs: ' + _e(", ".join(
            f"{m}: {plural(images, 'image')}" + (f", {plural(samples, 'output')} in all" if samples != images else "")
            for m, (images, samples) in missing.items())) + " (see the missing-outputs table).</div>")
    return "".join(out)


def _figure(name, embedded: tuple[str, bytes], caption: str) -> str:
    """A chart is shrunk to the page's width; a photo grid (the JPEG of colorbench.report.figures) is shown at its
    own size in a box that scrolls sideways: a dozen methods make it ~2600 pixels wide, and shrunk to the page its
    captions and column titles were ~5 pixels tall, unreadable."""
    mime, raw = embedded
    data = base64.b64encode(raw).decode("ascii")
    if mime == PHOTO_GRID_MIME:
        image = f'<div class="scroll"><img class="photos" alt="{_e(caption)}" src="data:{mime};base64,{data}"></div>'
    else:
        image = f'<img alt="{_e(caption)}" src="data:{mime};base64,{data}">'
    return f'<figure id="figure-{_e(name)}">{image}<figcaption>{_e(caption)}</figcaption></figure>'


figure_html = _figure  # public name for sections built elsewhere (colorbench.judge.report)


@dataclass
class Page:
    """What a section's ``render`` gets besides the content: the figures to embed and the report's options."""

    embedded: dict[str, tuple[str, bytes]]  # figure name -> (mime type, bytes)
    captions: dict[str, str]
    options: object

    def figure(self, name: str) -> str:
        """The figure as an embedded ``<figure>`` ("" when the report has no such figure)."""
        return _figure(name, self.embedded[name], self.captions.get(name, name)) if name in self.embedded else ""


def _scroll(table) -> str:
    return f'<div class="scroll">{to_html(table)}</div>'


def _classes(content, page) -> str:
    t = content.tables
    return (_scroll(t["best_worst_classes"]) + page.figure("per_class_heatmap")
            + f'<details><summary>Full per-class table</summary>{_scroll(t["per_class"])}</details>')


def _coverage(content, page) -> str:
    t = content.tables
    # the methods that did not run are said once, in the protocol (the verdict links there)
    return to_html(t["missing"]) + to_html(t["excluded"]) + _unusable_table(content)


#: the report's own sections; others register themselves (colorbench.report.sections)
CORE_SECTIONS = (
    Section("protocol", "Protocol", lambda c, p: _protocol(c, p.options), order=10),
    Section("headline", "Headline", lambda c, p: _scroll(c.tables["headline"]) + p.figure("metric_bars"), order=20),
    Section("statistics", "Paired statistics", lambda c, p: _statistics(c, c.tables), order=30),
    Section("distributions", "Distributions", lambda c, p: p.figure(f"distribution_{c.headline_metric}"), order=40),
    Section("classes", "Per class", _classes, order=50),
    Section("cost", "Cost", lambda c, p: _scroll(c.tables["cost"]) + p.figure("quality_vs_time"), order=60),
    Section("images", "Images", lambda c, p: p.figure("grid_random") + "".join(
        p.figure(n) for n in p.embedded if n.startswith("grid_best_worst_")), order=70),
    Section("coverage", "Coverage", _coverage, order=80),
)


def render_report(content, pngs: dict[str, tuple[str, bytes]], options, *, generated: str) -> str:
    """The page: every section of :func:`colorbench.report.sections.report_sections` in order. ``pngs``: figure
    name -> (mime type, bytes) to embed."""
    page = Page(pngs, content.figure_captions, options)
    rendered = [(s.id, s.title, s.render(content, page)) for s in report_sections(CORE_SECTIONS)]
    sections = [(sid, name, inner) for sid, name, inner in rendered if inner is not None]
    title = ("colorbench report — "
             f"{content.run_info.name or content.run.path.name}")
    nav = "".join(f'<a href="#{sid}">{_e(name)}</a>' for sid, name, _ in sections)
    body = "".join(f'<section id="{sid}"><h2>{_e(name)}</h2>{inner}</section>' for sid, name, inner in sections)
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{_e(title)}</title>"
        f"<style>{PAGE_CSS}{TABLE_CSS}</style></head><body>"
        f"<h1>{_e(title)}</h1><p class=\"sub\">Generated {_e(generated)} by colorbench {_e(__version__)} from "
        f"<code>{_e(content.run.path)}</code>. Lower is better for ↓ metrics, higher for ↑.</p>"
        f"{_verdict(content)}{_banners(content)}<nav>{nav}</nav>{body}</body></html>\n"
    )


# public names for the notebooks' report views (colorbench.notebook.report_views), which show these pieces alone
with_code = _with_code
statistics_section = _statistics
