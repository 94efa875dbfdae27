"""The eye test's storage, scheduling and web API (without a browser): bad input of every kind gets a clear error,
a replayed answer never adds a row, the scheduler covers pairs before repeating and never shows a gap."""

from __future__ import annotations

import json
import shutil
import socket
import sqlite3
from collections import Counter
from itertools import combinations

import pytest
from conftest import fixture_path
from evalrun_helpers import make_run

from colorbench.cli import main
from colorbench.judge.app import PortInUse, create_app, make_server
from colorbench.judge.catalogue import NothingToJudge
from colorbench.judge.session import JudgingSession
from colorbench.judge.store import DB_NAME, JudgementStore, JudgementStoreError


@pytest.fixture(scope="module")
def run_template(tmp_path_factory):
    root = tmp_path_factory.mktemp("judge") / "template"
    make_run(root, fixture_path("sports"), n_images=4, stochastic_k=2, missing={"hue-shift": [1]})
    return root


@pytest.fixture
def run(run_template, tmp_path):
    root = tmp_path / "run"
    shutil.copytree(run_template, root)
    return root


@pytest.fixture
def client(run):
    session = JudgingSession(run, seed=0)
    return session, create_app(session).test_client()


def look(c, item: dict) -> dict:
    """What the page does before it offers an answer: load every image of the item."""
    for side in ("left", "right"):
        if item.get(side):
            assert c.get(item[side]).status_code == 200
    return item


# --- storage ---------------------------------------------------------------------------------------------------

def test_answer_is_stored_once_with_the_sides_the_page_was_given(client):
    session, c = client
    item = c.get("/api/next?judge=ana").get_json()
    assert set(item) >= {"token", "left", "right", "truth"} and "method" not in json.dumps(item)  # blind
    shown = session.store.shown(item["token"])
    assert c.get(item["left"]).data == session.catalogue.image_path(shown.left_method, shown.image_id,
                                                                    shown.left_k).read_bytes()
    assert c.get(item["right"]).data == session.catalogue.image_path(shown.right_method, shown.image_id,
                                                                     shown.right_k).read_bytes()
    assert c.post("/api/answer", json={"token": item["token"], "answer": "left"}).status_code == 201
    replay = c.post("/api/answer", json={"token": item["token"], "answer": "right"})
    assert replay.status_code == 409 and "already answered" in replay.get_json()["error"]
    rows = session.store.judgements()
    assert len(rows) == 1
    row = rows.iloc[0]
    assert ((row.judge, row.left_method, row.right_method, row.answer)
            == ("ana", shown.left_method, shown.right_method, "left"))
    assert row.shown_at <= row.answered_at and row.app_version.startswith("colorbench")


def test_truth_peek_is_recorded_even_when_the_page_does_not_say_so(client):
    session, c = client
    item = c.get("/api/next?judge=ana").get_json()
    while item["truth"] is None:  # the gray-only source has no truth: answer it and take the next
        look(c, item)
        c.post("/api/answer", json={"token": item["token"], "answer": "tie"})
        item = c.get("/api/next?judge=ana").get_json()
    assert c.get(item["truth"]).status_code == 200
    look(c, item)
    c.post("/api/answer", json={"token": item["token"], "answer": "right", "truth_peeked": False})
    assert session.store.judgements().set_index("token").loc[item["token"], "truth_peeked"] == 1


def test_reload_shows_the_unanswered_pair_again(client):
    _, c = client
    first = c.get("/api/next?judge=ana").get_json()
    assert c.get("/api/next?judge=ana").get_json()["token"] == first["token"]
    assert c.get("/api/next?judge=ben").get_json()["token"] != first["token"]


@pytest.mark.parametrize("body, kind, status", [
    ({"answer": "left"}, "json", 400),
    ({"token": 5, "answer": "left"}, "json", 400),
    ({"token": "TOKEN", "answer": "sideways"}, "json", 400),
    ({"token": "TOKEN", "answer": "left", "truth_peeked": "maybe"}, "json", 400),
    ({"token": "no-such-token", "answer": "left"}, "json", 404),
    ("[1, 2]", "raw-json", 400),
    ("{not json", "raw-json", 400),
    ({"token": "TOKEN", "answer": "tie"}, "form", 201),  # a plain form post works too
])
def test_malformed_posts_get_a_clear_4xx_and_no_row(client, body, kind, status):
    session, c = client
    item = c.get("/api/next?judge=ana").get_json()
    token = look(c, item)["token"]
    if isinstance(body, dict):
        body = {k: (token if v == "TOKEN" else v) for k, v in body.items()}
    if kind == "json":
        response = c.post("/api/answer", json=body)
    elif kind == "form":
        response = c.post("/api/answer", data=body)
    else:
        response = c.post("/api/answer", data=body, content_type="application/json")
    assert response.status_code == status, response.data
    if status >= 400:
        assert response.get_json()["error"]
    assert len(session.store.judgements()) == (1 if status == 201 else 0)


def test_requests_for_pairs_or_images_that_do_not_exist_are_404(client):
    _, c = client
    token = c.get("/api/next?judge=ana").get_json()["token"]
    for url in ("/image/nope/left", f"/image/{token}/middle", "/image/../../etc/passwd/left", "/pair/3"):
        response = c.get(url)
        assert response.status_code == 404, url
    assert c.get("/api/next?judge=").status_code == 400  # a name is required
    assert c.get("/api/next?judge=" + "x" * 41).status_code == 400


def test_a_killed_writer_loses_nothing_committed(run):
    session = JudgingSession(run, seed=0)
    tokens = []
    for _ in range(5):
        shown = session.next_for("ana")
        session.images_for(shown)
        session.answer(shown.token, "left")
        tokens.append(shown.token)
    # another connection (another process after a crash) sees every committed answer, and the file is in WAL mode
    con = sqlite3.connect(run / DB_NAME)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert [r[0] for r in con.execute("SELECT token FROM judgements ORDER BY id")] == tokens


def test_corrupt_or_foreign_database_is_refused_with_the_fix(run):
    path = run / DB_NAME
    path.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(JudgementStoreError, match=r"judgements.sqlite cannot be read as SQLite.*move .* aside"):
        JudgementStore.open(run)
    path.unlink()
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE photos (id INTEGER)")
    con.commit()
    con.close()
    with pytest.raises(JudgementStoreError, match=r"not colorbench's judgements.*photos"):
        JudgementStore.open(run)
    assert main(["judge", str(run), "--port", "0"]) == 2  # the CLI prints it as one line


# --- what can be judged ------------------------------------------------------------------------------------------

def test_unknown_run_and_run_without_images(tmp_path, capsys):
    assert main(["judge", str(tmp_path / "no-such-run")]) == 2
    assert "no run folder" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    with pytest.raises(NothingToJudge, match="no method outputs"):
        JudgingSession(tmp_path / "empty")


def test_one_method_only_has_nothing_to_compare(tmp_path, capsys):
    root = tmp_path / "one"
    make_run(root, fixture_path("sports"), n_images=2, methods=("gray",), include_gray_source=False)
    assert main(["judge", str(root), "--port", "0"]) == 2
    assert "one method only (gray): nothing to compare" in capsys.readouterr().err
    JudgingSession(root, mode="real-or-fake")  # one method can still be judged real-or-fake


def test_two_methods_only_schedules_their_one_pair_on_every_image(tmp_path):
    root = tmp_path / "two"
    make_run(root, fixture_path("sports"), n_images=3, methods=("gray", "hue-shift"), include_gray_source=False)
    session = JudgingSession(root, seed=0, repeat_rate=0)
    seen = []
    for _ in range(6):
        shown = session.next_for("ana")
        session.images_for(shown)
        session.answer(shown.token, "right")
        seen.append((shown.image_id, frozenset((shown.left_method, shown.right_method))))
    assert Counter(seen[:3]) == Counter({(i, frozenset({"gray",
                                                        "hue-shift"})): 1 for i in session.catalogue.pair_images})
    assert Counter(seen) == Counter({k: 2 for k in seen[:3]})


def test_scheduler_covers_every_pair_and_image_before_repeating_and_never_shows_a_gap(run):
    session = JudgingSession(run, seed=1, repeat_rate=0)
    cat = session.catalogue
    assert "fencing-1" in cat.skipped_images and "fencing-1" not in cat.pair_images  # hue-shift is missing there
    combos = len(list(combinations(cat.methods, 2))) * len(cat.pair_images)
    shown = []
    for i in range(combos + 3):
        item = session.next_for(["ana", "ben", "cy"][i % 3])
        session.images_for(item)
        session.answer(item.token, "left")
        shown.append(item)
    first_round = Counter((s.image_id, frozenset((s.left_method, s.right_method))) for s in shown[:combos])
    assert len(first_round) == combos and set(first_round.values()) == {1}
    assert all(s.image_id in cat.pair_images for s in shown)
    sampler_ks = Counter(k for s in shown for m, k in ((s.left_method, s.left_k), (s.right_method, s.right_k))
                         if m == "hue-sampler")
    assert set(sampler_ks) == {0, 1} and abs(sampler_ks[0] - sampler_ks[1]) <= len(cat.pair_images)
    left_counts = Counter(s.left_method for s in shown)
    assert len(left_counts) == len(cat.methods)  # sides are drawn, not fixed by method order


def test_judges_get_repeats_with_sides_swapped(run):
    session = JudgingSession(run, seed=3, repeat_rate=1.0)
    items = []
    for _ in range(6):
        item = session.next_for("ana")
        session.images_for(item)
        session.answer(item.token, "left")
        items.append(item)
    repeat = items[-1]
    original = [s for s in items[:-1] if s.image_id == repeat.image_id
                and {s.left_method, s.right_method} == {repeat.left_method, repeat.right_method}]
    assert original and (original[0].left_method, original[0].left_k) == (repeat.right_method, repeat.right_k)


def test_real_or_fake_mixes_truths_in(run):
    session = JudgingSession(run, mode="real-or-fake", seed=0)
    sources = Counter()
    for _ in range(2 * (len(session.catalogue.methods) + 1) * len(session.catalogue.truth_images)):
        item = session.next_for("ana")
        assert item.right_method is None and session.store.shown(item.token).image_id in session.catalogue.truth_images
        session.images_for(item)
        session.answer(item.token, "real")
        sources[item.left_method] += 1
    assert len(set(sources.values())) == 1 and "__truth__" in sources  # every source equally often, truths included


def test_port_in_use_is_a_clear_error(run):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        with pytest.raises(PortInUse, match=rf"port {port} on 127.0.0.1 is already in use: pass another with --port"):
            make_server(JudgingSession(run), "127.0.0.1", port)


def test_widget_writes_to_the_same_database(run):
    from colorbench.judge.widget import JudgingWidget

    widget = JudgingWidget(run, judge="nb", seed=0)
    while not widget.session.has_truth(widget.current):
        widget.buttons["tie"].click()
    shown = widget.current
    assert widget.left.value == widget.session.image_path(shown.token, "left").read_bytes()
    widget.truth_toggle.value = True
    widget.buttons["right"].click()
    rows = JudgementStore.open(run).judgements().set_index("token")
    assert rows.loc[shown.token, "answer"] == "right" and rows.loc[shown.token, "truth_peeked"] == 1
    assert rows.loc[shown.token, "judge"] == "nb" and widget.current.token != shown.token


def test_simultaneous_judges_and_simultaneous_replays_over_http(run):
    """Threads of a real server: four judges answering at once, and one token posted twice at the same moment."""
    import threading
    import urllib.error
    import urllib.request

    session = JudgingSession(run, seed=0)
    server = make_server(session, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"

    def post(token, answer="left"):
        request = urllib.request.Request(f"{base}/api/answer",
                                         data=json.dumps({"token": token, "answer": answer}).encode(),
                                         headers={"Content-Type": "application/json"})
        try:
            return urllib.request.urlopen(request, timeout=30).status
        except urllib.error.HTTPError as exc:
            return exc.code

    given, statuses, lock = [], [], threading.Lock()

    def judge(name):
        for _ in range(10):
            token = json.load(urllib.request.urlopen(f"{base}/api/next?judge={name}", timeout=30))["token"]
            for side in ("left", "right"):  # the page shows both images before it offers an answer
                urllib.request.urlopen(f"{base}/image/{token}/{side}", timeout=30).read()
            results = []
            racers = [threading.Thread(target=lambda: results.append(post(token))) for _ in range(2)]
            for r in racers:
                r.start()
            for r in racers:
                r.join()
            with lock:
                given.append((name, token))
                statuses.append(sorted(results))

    try:
        workers = [threading.Thread(target=judge, args=(f"judge{i}",)) for i in range(4)]
        for w in workers:
            w.start()
        for w in workers:
            w.join(timeout=300)
    finally:
        server.shutdown()
    assert statuses == [[201, 409]] * 40  # each replay race: one stored, one refused
    rows = session.store.judgements().set_index("token")
    assert len(rows) == 40 and rows.index.is_unique
    assert all(rows.loc[token, "judge"] == name for name, token in given)
