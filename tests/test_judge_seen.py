"""The eye test records only what a judge saw (issue: `colorbench judge demo` served no image for a relative run
name, yet stored every key press and the report presented them as findings).

- a run named as README names it (``demo``, from the project folder, or ``results/demo``) serves its images;
- the server refuses an answer whose images it never delivered, and the page offers no answer until they load;
- answers in a database from before this was recorded are counted and left out, and the reports say how many.
"""

from __future__ import annotations

import shutil
import sqlite3

import pytest
from conftest import fixture_path
from evalrun_helpers import make_run

from colorbench.cli import main
from colorbench.judge.app import create_app
from colorbench.judge.session import JudgingSession
from colorbench.judge.store import DB_NAME, JudgementStore
from colorbench.runfolder import resolve_run


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    root = tmp_path_factory.mktemp("seen") / "template"
    make_run(root, fixture_path("sports"), n_images=3, include_gray_source=False)
    return root


@pytest.fixture
def project(template, tmp_path, monkeypatch):
    """A project folder with results/demo, as the working folder (what a user has after `make demo`)."""
    shutil.copytree(template, tmp_path / "results" / "demo")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("COLORBENCH_RESULTS", raising=False)
    return tmp_path


@pytest.mark.parametrize("name", ["demo", "results/demo", "./results/demo"])
def test_a_run_named_relative_to_the_working_folder_serves_its_images(project, name):
    session = JudgingSession(resolve_run(name), seed=0)  # what `colorbench judge NAME` builds
    client = create_app(session).test_client()
    item = client.get("/api/next?judge=ana").get_json()
    shown = session.store.shown(item["token"])
    for side, method, k in (("left", shown.left_method, shown.left_k), ("right", shown.right_method, shown.right_k)):
        response = client.get(item[side])
        assert response.status_code == 200, response.data[:300]
        name = f"{shown.image_id}.png" if k == 0 else f"{shown.image_id}__k{k}.png"
        expected = project / "results" / "demo" / "images" / method / name
        assert response.data == expected.read_bytes()
    assert client.post("/api/answer", json={"token": item["token"], "answer": "left"}).status_code == 201


def test_an_answer_is_refused_until_both_images_were_served(project):
    session = JudgingSession(resolve_run("demo"), seed=0)
    client = create_app(session).test_client()
    item = client.get("/api/next?judge=ana").get_json()
    blind = client.post("/api/answer", json={"token": item["token"], "answer": "left"})
    assert blind.status_code == 412 and "never delivered" in blind.get_json()["error"]
    assert client.get(item["left"]).status_code == 200
    half = client.post("/api/answer", json={"token": item["token"], "answer": "left"})
    assert half.status_code == 412 and "right image" in half.get_json()["error"]
    assert session.store.judgements(include_unverified=True).empty  # nothing stored for what was not seen
    assert client.get(item["right"]).status_code == 200
    assert client.post("/api/answer", json={"token": item["token"], "answer": "left"}).status_code == 201
    row = session.store.judgements().iloc[0]
    assert row.token == item["token"] and row.seen == 1


def test_a_missing_image_is_a_404_naming_it_and_never_counts_as_served(project):
    session = JudgingSession(resolve_run("demo"), seed=0)
    client = create_app(session).test_client()
    item = client.get("/api/next?judge=ana").get_json()
    shown = session.store.shown(item["token"])
    session.catalogue.image_path(shown.left_method, shown.image_id, shown.left_k).unlink()
    response = client.get(item["left"])
    assert response.status_code == 404 and "missing" in response.get_json()["error"]
    client.get(item["right"])
    assert client.post("/api/answer", json={"token": item["token"], "answer": "right"}).status_code == 412
    assert session.store.shown(item["token"]).served == frozenset({"right"})


def test_real_or_fake_needs_its_one_image_served(project):
    session = JudgingSession(resolve_run("demo"), mode="real-or-fake", seed=0)
    client = create_app(session).test_client()
    item = client.get("/api/next?judge=ana").get_json()
    assert client.post("/api/answer", json={"token": item["token"], "answer": "real"}).status_code == 412
    client.get(item["left"])
    assert client.post("/api/answer", json={"token": item["token"], "answer": "real"}).status_code == 201


# --- databases written before the check: blind answers are counted and left out ---------------------------------

_SCHEMA_1 = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE shown (token TEXT PRIMARY KEY, mode TEXT NOT NULL, judge TEXT NOT NULL, image_id TEXT NOT NULL,
    left_method TEXT NOT NULL, left_k INTEGER NOT NULL, right_method TEXT, right_k INTEGER, shown_at TEXT NOT NULL,
    truth_peeked INTEGER NOT NULL DEFAULT 0);
CREATE TABLE judgements (id INTEGER PRIMARY KEY AUTOINCREMENT, token TEXT NOT NULL UNIQUE REFERENCES shown(token),
    mode TEXT NOT NULL, judge TEXT NOT NULL, image_id TEXT NOT NULL, left_method TEXT NOT NULL, left_k INTEGER NOT NULL,
    right_method TEXT, right_k INTEGER, answer TEXT NOT NULL, shown_at TEXT NOT NULL, answered_at TEXT NOT NULL,
    truth_peeked INTEGER NOT NULL, app_version TEXT NOT NULL, run_version TEXT NOT NULL);
CREATE INDEX shown_judge ON shown(judge);
"""


def _schema_1_database_with_blind_answers(run_path, n: int) -> None:
    """A judgements.sqlite exactly as colorbench 0.1 (schema 1) wrote it, holding ``n`` pair answers."""
    session = JudgingSession(run_path, seed=0)  # only to draw real pairs; its own file is replaced below
    pairs = [session.scheduler.next_item(session.store.judgements("pair"), [], "ana", "pair") for _ in range(n)]
    (run_path / DB_NAME).unlink()
    for extra in ("-wal", "-shm"):
        (run_path / (DB_NAME + extra)).unlink(missing_ok=True)
    con = sqlite3.connect(run_path / DB_NAME)
    con.executescript(_SCHEMA_1)
    con.execute("PRAGMA application_id = 1128417863")  # 0x43424A47, "CBJG"
    con.execute("INSERT INTO meta VALUES ('schema_version', '1')")
    for i, item in enumerate(pairs):
        row = (f"tok{i}", "pair", "ana", item.image_id, item.left[0], item.left[1], item.right[0], item.right[1],
               "2026-11-01T10:00:00.000+00:00")
        con.execute("INSERT INTO shown VALUES (?,?,?,?,?,?,?,?,?,0)", row)
        con.execute("INSERT INTO judgements (token, mode, judge, image_id, left_method, left_k, right_method, right_k,"
                    " answer, shown_at, answered_at, truth_peeked, app_version, run_version) "
                    "VALUES (?,?,?,?,?,?,?,?,?,?,?,0,'colorbench 0.1.0','')", (*row, "left", row[-1]))
    con.commit()
    con.close()


def test_an_old_database_keeps_its_rows_but_its_blind_answers_are_left_out(project):
    run_path = resolve_run("demo")
    _schema_1_database_with_blind_answers(run_path, 16)
    store = JudgementStore.open(run_path, create=False)  # migrated in place to schema 2
    assert store.unverified_count() == 16
    assert store.judgements().empty and len(store.judgements(include_unverified=True)) == 16
    con = sqlite3.connect(run_path / DB_NAME)
    assert con.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0] == "2"


def test_judge_report_counts_and_leaves_out_blind_answers(project, capsys):
    run_path = resolve_run("demo")
    _schema_1_database_with_blind_answers(run_path, 16)
    # only blind answers: nothing to report, and the message says why
    assert main(["judge-report", "demo"]) != 0
    err = capsys.readouterr().err
    assert "16 stored answers are left out" in err
    # then real judging: 6 answers seen through the same session the app and the widget use
    session = JudgingSession(run_path, seed=0)
    for _ in range(6):
        shown = session.next_for("ben")
        session.images_for(shown)
        session.answer(shown.token, "left")
    assert main(["judge-report", "demo"]) == 0
    out = capsys.readouterr().out
    assert "16 stored answers are left out" in out
    content_tables = (run_path / "tables" / "judge_strengths.csv").read_text()
    assert "ben" not in content_tables  # a table of methods, computed from the 6 seen answers only
    from colorbench.judge.report import build_judge_content

    content = build_judge_content(run_path, n_boot=50)
    assert content.n_pair == 6 and content.judges == ["ben"]
    assert any("16 stored answers are left out" in note for note in content.notes)


def test_the_report_says_blind_answers_were_left_out(project):
    from judge_helpers import write_synthetic_metrics

    from colorbench.report.build import build_report
    from colorbench.runfolder import RunFolder

    run_path = resolve_run("demo")
    _schema_1_database_with_blind_answers(run_path, 5)
    write_synthetic_metrics(RunFolder(run_path))
    build_report(run_path)
    page = (run_path / "report.html").read_text()
    assert "5 stored answers are left out" in page
    assert "collected blind" not in page  # no finding is presented from answers nobody can have seen


def test_the_eye_test_says_which_methods_it_covers(project):
    """A method added to the run after the judging (a new user's report said nothing about it)."""
    from colorbench.judge.report import build_judge_content

    run_path = resolve_run("demo")
    session = JudgingSession(run_path, seed=0)
    for _ in range(4):
        shown = session.next_for("ana")
        session.images_for(shown)
        session.answer(shown.token, "left")
    added = run_path / "images" / "late-method"
    shutil.copytree(run_path / "images" / "gray", added)
    content = build_judge_content(run_path, n_boot=20)
    methods = [m for m in sorted(p.name for p in (run_path / "images").iterdir()) if m != "late-method"]
    note = [n for n in content.notes if "covers" in n]
    assert note == [f"The eye test covers {len(methods)} of the run's {len(methods) + 1} methods ("
                    f"{', '.join(m for m in content_order(run_path) if m != 'late-method')}); late-method has no "
                    "judgements (added after the judging, or never shown): judge again to include it."], note


def content_order(run_path):
    from colorbench.runfolder import RunFolder

    return RunFolder(run_path).methods()

