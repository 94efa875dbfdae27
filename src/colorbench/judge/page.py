"""The judging page: plain HTML, inline CSS and a few lines of JavaScript, no external resources.

The page never learns which method made an image: it gets a token and two opaque image URLs from ``/api/next``
and posts the token back with the answer. The background is a neutral mid gray, as in colour-judging practice,
so that it does not tint what the eye sees.
"""

from __future__ import annotations

import html

QUESTIONS = {"pair": "Which colorization looks more natural?",
             "real-or-fake": "Is this a real colour photo?"}

BUTTONS = {
    "pair": [("left", "← Left", "ArrowLeft"), ("tie", "↓ Equally good", "ArrowDown"),
             ("both-bad", "B Both bad", "b"), ("right", "Right →", "ArrowRight")],
    "real-or-fake": [("real", "R Real photo", "r"), ("fake", "F Colorized", "f")],
}

_CSS = """
*{box-sizing:border-box}
body{margin:0;background:#777;color:#f4f4f4;font-family:system-ui,-apple-system,'Segoe UI',sans-serif}
header{display:flex;justify-content:space-between;align-items:center;padding:10px 22px;background:#666}
header h1{font-size:18px;margin:0;font-weight:600}header .who{font-size:14px}
header button{background:none;border:1px solid #ddd;color:#eee;border-radius:4px;padding:2px 8px;cursor:pointer}
main{max-width:1240px;margin:0 auto;padding:16px 22px;text-align:center}
h2{font-weight:500;font-size:22px;margin:6px 0 14px}
.images{display:flex;gap:22px;justify-content:center;align-items:flex-start}
.images figure{margin:0;flex:1 1 0;max-width:560px}
.images img{width:100%;max-height:calc(100vh - 250px);object-fit:contain;border:3px solid #888;border-radius:2px;
  background:#888;display:block}
img:not([src]){visibility:hidden}
.images figcaption{font-size:14px;margin-top:4px;color:#eee}
.answers{margin:18px 0 8px;display:flex;gap:12px;justify-content:center;flex-wrap:wrap}
.answers button{font-size:17px;padding:10px 20px;min-width:150px;border-radius:6px;border:1px solid #444;
  background:#f4f4f4;color:#222;cursor:pointer}
.answers button:hover,.answers button:focus{background:#fff;outline:3px solid #2b6cb0}
.answers button:disabled{opacity:.5;cursor:wait}
.truth{margin:10px 0;font-size:14px}.truth label{cursor:pointer}
.images figure#truth-figure{flex:0 0 22%;align-self:center}
#truth-figure img{border-color:#bbb;border-style:dashed}
.status{font-size:13px;color:#eee;min-height:1.4em}.error{color:#ffe08a}
#name-dialog{position:fixed;inset:0;background:rgba(40,40,40,.85);display:flex;align-items:center;
  justify-content:center}
#name-dialog form{background:#f4f4f4;color:#222;padding:24px 28px;border-radius:8px;max-width:420px;text-align:left}
#name-dialog input{font-size:16px;padding:6px;width:100%;margin:8px 0 12px}
#name-dialog p{font-size:13px;color:#555}
kbd{background:#eee;color:#222;border-radius:3px;padding:0 4px;font-size:12px}
[hidden]{display:none!important}
"""

_SCRIPT = """
const MODE = document.body.dataset.mode;
const KEYS = JSON.parse(document.body.dataset.keys);
let judge = localStorage.getItem('colorbench-judge') || '';
let current = null, peeked = false, busy = false, waiting = new Set();
const $ = id => document.getElementById(id);
// No answer is offered until every image of the item has loaded: the server also refuses (412) an answer whose
// images it never delivered, so a page that cannot show the pictures can never record a judgement.
function imageSettled(side, ok) {
  if (!current || !waiting.has(side)) return;
  if (!ok) {
    status('the ' + side + ' image could not be loaded: answers are off until it is (reload the page)', true);
    return;
  }
  waiting.delete(side);
  if (waiting.size === 0) { setBusy(false); document.body.dataset.ready = current.token; }
}
['left', 'right'].forEach(side => {
  $('img-' + side).addEventListener('load', () => imageSettled(side, true));
  $('img-' + side).addEventListener('error', () => imageSettled(side, false));
});

function status(text, isError) {
  const s = $('status'); s.textContent = text; s.className = 'status' + (isError ? ' error' : '');
}
function setBusy(b) { busy = b; document.querySelectorAll('.answers button').forEach(x => x.disabled = b); }

async function loadNext() {
  setBusy(true);
  const r = await fetch('/api/next?judge=' + encodeURIComponent(judge), {cache: 'no-store'});
  const body = await r.json();
  if (!r.ok) { status(body.error || ('error ' + r.status), true); return; }
  current = body; peeked = false;
  waiting = new Set(body.right ? ['left', 'right'] : ['left']);
  delete document.body.dataset.ready;
  // a query string per token: the same URL twice in a row must still fire 'load' for this item
  $('img-left').src = body.left + '?t=' + encodeURIComponent(body.token);
  if (body.right) $('img-right').src = body.right + '?t=' + encodeURIComponent(body.token);
  $('truth-toggle').checked = false; $('truth-figure').hidden = true; $('img-truth').removeAttribute('src');
  $('truth-box').hidden = !body.truth;
  $('count').textContent = body.answered;
  document.body.dataset.token = body.token;
}

async function answer(value) {
  if (busy || !current) return;
  setBusy(true);
  const r = await fetch('/api/answer', {method: 'POST', headers: {'Content-Type': 'application/json'},
    body: JSON.stringify({token: current.token, answer: value, truth_peeked: peeked})});
  const body = await r.json();
  if (r.status === 412) { status(body.error, true); await loadNext(); return; }
  if (!r.ok && r.status !== 409) { status(body.error || ('error ' + r.status), true); setBusy(false); return; }
  status(r.status === 409 ? 'already stored' : 'saved', false);
  await loadNext();
}

function toggleTruth() {
  if (!current || !current.truth) return;
  const on = $('truth-toggle').checked;
  if (on) { peeked = true; $('img-truth').src = current.truth; }
  $('truth-figure').hidden = !on;
}

document.addEventListener('keydown', e => {
  if (!$('name-dialog').hidden || e.altKey || e.ctrlKey || e.metaKey) return;
  if (e.key === 'v' || e.key === 'V') {
    if (current && current.truth) { $('truth-toggle').checked = !$('truth-toggle').checked; toggleTruth(); }
    return;
  }
  const value = KEYS[e.key] || KEYS[e.key.toLowerCase()];
  if (value) { e.preventDefault(); answer(value); }
});
document.querySelectorAll('.answers button').forEach(b => b.addEventListener('click', () => answer(b.dataset.answer)));
$('truth-toggle').addEventListener('change', toggleTruth);
$('change-name').addEventListener('click', () => {
  $('name-input').value = judge; $('name-dialog').hidden = false; $('name-input').focus();
});
$('name-form').addEventListener('submit', e => {
  e.preventDefault();
  const name = $('name-input').value.trim();
  if (!name) return;
  judge = name; localStorage.setItem('colorbench-judge', judge);
  $('who').textContent = judge; $('name-dialog').hidden = true; loadNext();
});
if (judge) { $('who').textContent = judge; $('name-dialog').hidden = true; loadNext(); }
else { $('name-input').focus(); }
"""


def render_page(mode: str, run_name: str) -> str:
    import json

    buttons = "".join(f'<button type="button" id="answer-{a}" data-answer="{a}">{html.escape(label)}</button>'
                      for a, label, _ in BUTTONS[mode])
    keys = {key: a for a, _, key in BUTTONS[mode]}
    if mode == "pair":
        keys.update({"t": "tie", "ArrowUp": "both-bad"})
        images = ('<figure><img id="img-left" alt="left colorization"><figcaption>Left</figcaption></figure>'
                  '<figure id="truth-figure" hidden><img id="img-truth" alt="true colours">'
                  '<figcaption>true colours</figcaption></figure>'
                  '<figure><img id="img-right" alt="right colorization"><figcaption>Right</figcaption></figure>')
        help_text = ("Keys: <kbd>←</kbd> left, <kbd>→</kbd> right, <kbd>↓</kbd>/<kbd>T</kbd> equally good, "
                     "<kbd>B</kbd>/<kbd>↑</kbd> both bad, <kbd>V</kbd> true colours.")
    else:
        images = ('<figure><img id="img-left" alt="photo"></figure><img id="img-right" hidden alt="">'
                  '<figure id="truth-figure" hidden><img id="img-truth" alt=""></figure>')  # never offered here
        help_text = "Keys: <kbd>R</kbd> real photo, <kbd>F</kbd> colorized."
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>colorbench eye test — {html.escape(run_name)}</title><style>{_CSS}</style></head>
<body data-mode="{html.escape(mode)}" data-keys='{html.escape(json.dumps(keys))}'>
<header><h1>colorbench eye test · {html.escape(run_name)}</h1>
<div class="who">judge: <b id="who">—</b> · answered <b id="count">0</b>
<button id="change-name" type="button">change</button></div></header>
<main><h2>{html.escape(QUESTIONS[mode])}</h2>
<div class="images">{images}</div>
<div class="answers">{buttons}</div>
<div class="truth" id="truth-box" hidden><label><input type="checkbox" id="truth-toggle"> show the true colours
(<kbd>V</kbd>; recorded with your answer)</label></div>
<p class="status" id="status"></p><p class="status">{help_text}</p></main>
<div id="name-dialog"><form id="name-form"><b>Your name</b>
<p>Typed once, kept in this browser. It is the only thing about you stored with your answers; methods are hidden and
sides are random.</p><input id="name-input" maxlength="40" autocomplete="off" placeholder="e.g. Ana">
<button type="submit" id="name-ok">Start judging</button></form></div>
<script>{_SCRIPT}</script></body></html>
"""
