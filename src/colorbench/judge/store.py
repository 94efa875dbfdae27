"""``judgements.sqlite``: the human judgements of one run folder (schema in results/README.md).

One SQLite database per run, written by the web app and the notebook widget alike. WAL mode lets several judges
(threads of the server, a notebook beside it) write at once; every answer is one transaction, so an app killed
at any moment loses nothing that was answered. Two tables:

* ``shown``      — one row per item put on screen (a pair, or one image in real-or-fake mode), keyed by an
  unguessable ``token``; the page posts the token back with the answer, so the server, not the browser, knows
  which method was on which side.
* ``judgements`` — one row per answer; ``token`` is UNIQUE, so a replayed post can never add a second row.

An answer counts only if the judge saw what it judges: ``shown.served`` records each side whose image the server (or
the notebook widget) actually delivered, and :meth:`JudgementStore.record_answer` refuses an answer until every
side it compares was served (a page whose images failed to load must not produce findings). Databases written
before this was recorded (schema 1) keep their answers with ``seen`` NULL: :meth:`JudgementStore.judgements` leaves
them out by default and :meth:`JudgementStore.unverified_count` says how many.

Nothing about a judge is stored but the name they typed.

Usage (a sketch, not run by the doctests: it needs a run folder)::

    from colorbench.judge.store import JudgementStore
    store = JudgementStore.open("results/demo")
    frame = store.judgements()        # pandas DataFrame, one row per answer
"""

from __future__ import annotations

import datetime as _dt
import json
import secrets
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from colorbench import __version__
from colorbench.records import RunRecord

DB_NAME = "judgements.sqlite"
#: PRAGMA application_id: "CBJG" — tells our database from any other SQLite file at the same path
APPLICATION_ID = 0x43424A47
SCHEMA_VERSION = 2  # 2: shown.served and judgements.seen (answers whose images were delivered)
TRUTH = "__truth__"  # the "method" of a true-colour image shown in real-or-fake mode
PAIR_ANSWERS = ("left", "right", "tie", "both-bad")
REAL_OR_FAKE_ANSWERS = ("real", "fake")
MODES = {"pair": PAIR_ANSWERS, "real-or-fake": REAL_OR_FAKE_ANSWERS}
MAX_NAME = 40

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS shown (
    token TEXT PRIMARY KEY,
    mode TEXT NOT NULL,
    judge TEXT NOT NULL,
    image_id TEXT NOT NULL,
    left_method TEXT NOT NULL, left_k INTEGER NOT NULL,
    right_method TEXT, right_k INTEGER,
    shown_at TEXT NOT NULL,
    truth_peeked INTEGER NOT NULL DEFAULT 0,
    served TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS judgements (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    token TEXT NOT NULL UNIQUE REFERENCES shown(token),
    mode TEXT NOT NULL,
    judge TEXT NOT NULL,
    image_id TEXT NOT NULL,
    left_method TEXT NOT NULL, left_k INTEGER NOT NULL,
    right_method TEXT, right_k INTEGER,
    answer TEXT NOT NULL,
    shown_at TEXT NOT NULL,
    answered_at TEXT NOT NULL,
    truth_peeked INTEGER NOT NULL,
    app_version TEXT NOT NULL,
    run_version TEXT NOT NULL,
    seen INTEGER
);
CREATE INDEX IF NOT EXISTS shown_judge ON shown(judge);
"""
JUDGEMENT_COLUMNS = ["id", "token", "mode", "judge", "image_id", "left_method", "left_k", "right_method", "right_k",
                     "answer", "shown_at", "answered_at", "truth_peeked", "app_version", "run_version", "seen"]
#: the sides a judge must have been served before an answer counts, per mode
REQUIRED_SIDES = {"pair": ("left", "right"), "real-or-fake": ("left",)}
# schema 1 -> 2: columns added in place; old answers get seen = NULL (not known to have been seen)
_MIGRATIONS = {"shown": ("served", "TEXT NOT NULL DEFAULT ''"), "judgements": ("seen", "INTEGER")}


class JudgementStoreError(ValueError):
    """The database cannot be used as it is; the message names the file and the fix."""


class AnswerRejected(ValueError):
    """A posted answer that cannot be stored: ``status`` is the HTTP status the app answers with."""

    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Shown:
    token: str
    mode: str
    judge: str
    image_id: str
    left_method: str
    left_k: int
    right_method: str | None
    right_k: int | None
    shown_at: str
    truth_peeked: bool = False
    served: frozenset[str] = frozenset()  # the sides whose image was delivered to the judge


def now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="milliseconds")


def clean_judge_name(name) -> str:
    """The typed name, stripped; a clear error for an empty, too long or non-printable one."""
    if not isinstance(name, str) or not name.strip():
        raise AnswerRejected("a judge name is required (type any name once; nothing else about you is stored)", 400)
    name = " ".join(name.split())
    if len(name) > MAX_NAME or not name.isprintable():
        raise AnswerRejected(f"judge name must be at most {MAX_NAME} printable characters", 400)
    return name


class JudgementStore:
    """The judgements database of one run. Open with :meth:`open`; every method opens its own connection, so one
    store serves every thread of the web server."""

    def __init__(self, path: Path, run_version: str = ""):
        self.path = Path(path)
        self.run_version = run_version

    @classmethod
    def open(cls, run_path, *, create: bool = True, run_version: str = "") -> "JudgementStore":
        """The store of ``run_path`` (created when absent and ``create``); refuses a corrupt or foreign file."""
        path = Path(run_path) / DB_NAME
        if not path.exists() and not create:
            raise JudgementStoreError(f"{path} does not exist: collect judgements first "
                                      f"(`colorbench judge {run_path}`)")
        store = cls(path, run_version)
        store._initialise()
        return store

    def connect(self) -> sqlite3.Connection:
        con = sqlite3.connect(self.path, timeout=30, isolation_level=None)  # autocommit; explicit BEGIN below
        con.row_factory = sqlite3.Row
        con.execute("PRAGMA busy_timeout = 30000")
        con.execute("PRAGMA foreign_keys = ON")
        return con

    def _initialise(self) -> None:
        """Create the schema when absent; refuse a file that is damaged or belongs to something else."""
        fix = f"move {self.path} aside (judgements are only ever written there by colorbench) and start again"
        try:
            con = self.connect()
            try:
                app_id = con.execute("PRAGMA application_id").fetchone()[0]
                tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
                ours = app_id == APPLICATION_ID and "judgements" in tables
                if not ours and (app_id != 0 or tables):  # another application's file, or tables that are not ours
                    raise JudgementStoreError(f"{self.path} is an SQLite database but not colorbench's judgements "
                                              f"(application id {app_id:#x}, tables {sorted(tables)}): {fix}")
                con.execute("PRAGMA journal_mode = WAL")  # persistent: readers never block the writer
                con.execute("BEGIN IMMEDIATE")
                for statement in filter(str.strip, _SCHEMA.split(";")):
                    con.execute(statement)
                for table, (column, decl) in _MIGRATIONS.items():  # a schema-1 file: add the columns in place
                    if column not in {r[1] for r in con.execute(f"PRAGMA table_info({table})")}:
                        con.execute(f"ALTER TABLE {table} ADD COLUMN {column} {decl}")
                con.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                con.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
                con.execute("UPDATE meta SET value = ? WHERE key = 'schema_version' AND CAST(value AS INTEGER) < ?",
                            (str(SCHEMA_VERSION), SCHEMA_VERSION))
                con.execute("INSERT OR IGNORE INTO meta VALUES ('created_by', ?)", (f"colorbench {__version__}",))
                con.execute("COMMIT")
                version = int(con.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0])
            finally:
                con.close()
        except sqlite3.DatabaseError as exc:
            raise JudgementStoreError(f"{self.path} cannot be read as SQLite ({exc}): the file is damaged or not a "
                                      f"database; {fix}") from None
        if version > SCHEMA_VERSION:
            raise JudgementStoreError(f"{self.path} has schema version {version}, newer than this colorbench "
                                      f"({SCHEMA_VERSION}): upgrade colorbench to read it")

    # writing -----------------------------------------------------------------------------------------------
    def record_shown(self, *, mode: str, judge: str, image_id: str, left: tuple[str, int],
                     right: tuple[str, int] | None) -> Shown:
        shown = Shown(secrets.token_urlsafe(16), mode, clean_judge_name(judge), image_id, left[0], int(left[1]),
                      right[0] if right else None, int(right[1]) if right else None, now())
        with _closing(self.connect()) as con:
            con.execute("INSERT INTO shown VALUES (?,?,?,?,?,?,?,?,?,0,'')",
                        (shown.token, shown.mode, shown.judge, shown.image_id, shown.left_method, shown.left_k,
                         shown.right_method, shown.right_k, shown.shown_at))
        return shown

    def mark_served(self, token: str, side: str) -> None:
        """Record that ``side``'s image of ``token`` was delivered (called once the file is known to exist)."""
        with _closing(self.connect()) as con:
            con.execute("BEGIN IMMEDIATE")
            row = con.execute("SELECT served FROM shown WHERE token = ?", (token,)).fetchone()
            if row is not None:
                sides = sorted(set(filter(None, row["served"].split(","))) | {side})
                con.execute("UPDATE shown SET served = ? WHERE token = ?", (",".join(sides), token))
            con.execute("COMMIT")

    def mark_peeked(self, token: str) -> None:
        with _closing(self.connect()) as con:
            con.execute("UPDATE shown SET truth_peeked = 1 WHERE token = ?", (token,))

    def record_answer(self, token, answer, *, truth_peeked: bool = False) -> int:
        """Store the answer to ``token`` in one transaction; returns the new row id.

        Raises :class:`AnswerRejected` (400 malformed, 404 unknown token, 409 already answered, 412 an image of
        the item was never delivered to the judge)."""
        if not isinstance(token, str) or not token or len(token) > 64:
            raise AnswerRejected("missing or malformed token", 400)
        con = self.connect()
        try:
            con.execute("BEGIN IMMEDIATE")
            row = con.execute("SELECT * FROM shown WHERE token = ?", (token,)).fetchone()
            if row is None:
                raise AnswerRejected(f"no pair with token {token!r} was shown (a stale page, or a made-up token): "
                                     "reload the page for a new pair", 404)
            if answer not in MODES[row["mode"]]:
                raise AnswerRejected(f"answer {answer!r} is not one of {', '.join(MODES[row['mode']])}", 400)
            served = set(filter(None, row["served"].split(",")))
            unseen = [side for side in REQUIRED_SIDES[row["mode"]] if side not in served]
            if unseen:
                raise AnswerRejected(f"the {' and '.join(unseen)} image of this item was never delivered, so the "
                                     "answer cannot rest on what was seen: reload the page (if it persists, the "
                                     "images cannot be read: check the run folder)", 412)
            try:
                cur = con.execute(
                    "INSERT INTO judgements (token, mode, judge, image_id, left_method, left_k, right_method, right_k, "
                    "answer, shown_at, answered_at, truth_peeked, app_version, run_version, seen) "
                    "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,1)",
                    (token, row["mode"], row["judge"], row["image_id"], row["left_method"], row["left_k"],
                     row["right_method"], row["right_k"], answer, row["shown_at"], now(),
                     int(bool(truth_peeked) or bool(row["truth_peeked"])), f"colorbench {__version__}",
                     self.run_version))
            except sqlite3.IntegrityError:
                raise AnswerRejected(f"token {token!r} was already answered: each pair is stored once", 409) from None
            con.execute("COMMIT")
            return int(cur.lastrowid)
        finally:
            if con.in_transaction:
                con.execute("ROLLBACK")
            con.close()

    # reading -----------------------------------------------------------------------------------------------
    def shown(self, token: str) -> Shown | None:
        with _closing(self.connect()) as con:
            row = con.execute("SELECT * FROM shown WHERE token = ?", (token,)).fetchone()
        return _shown(row) if row else None

    def pending(self, judge: str, mode: str) -> Shown | None:
        """The judge's latest item that was shown and not answered (a reload shows it again)."""
        with _closing(self.connect()) as con:
            row = con.execute("SELECT s.* FROM shown s LEFT JOIN judgements j ON j.token = s.token "
                              "WHERE s.judge = ? AND s.mode = ? AND j.token IS NULL ORDER BY s.rowid DESC LIMIT 1",
                              (judge, mode)).fetchone()
        return _shown(row) if row else None

    def pending_all(self, mode: str) -> list[Shown]:
        with _closing(self.connect()) as con:
            rows = con.execute("SELECT s.* FROM shown s LEFT JOIN judgements j ON j.token = s.token "
                               "WHERE s.mode = ? AND j.token IS NULL", (mode,)).fetchall()
        return [_shown(r) for r in rows]

    def judgements(self, mode: str | None = None, *, include_unverified: bool = False) -> pd.DataFrame:
        """One row per answer; by default only answers known to rest on delivered images (``seen = 1``): those of
        a schema-1 database cannot be shown to have been seen (:meth:`unverified_count`)."""
        where = ([] if include_unverified else ["seen = 1"]) + (["mode = ?"] if mode else [])
        query = "SELECT * FROM judgements" + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY id"
        with _closing(self.connect()) as con:
            rows = con.execute(query, (mode,) if mode else ()).fetchall()
        return pd.DataFrame([dict(r) for r in rows], columns=JUDGEMENT_COLUMNS)

    def unverified_count(self, mode: str | None = None) -> int:
        """Answers stored without a record that their images were delivered (written before schema 2; the eye
        test of colorbench ≤ 0.1 served no image for a relative run folder yet stored every key press)."""
        query = "SELECT COUNT(*) FROM judgements WHERE seen IS NOT 1" + (" AND mode = ?" if mode else "")
        with _closing(self.connect()) as con:
            return int(con.execute(query, (mode,) if mode else ()).fetchone()[0])


def _shown(row) -> Shown:
    return Shown(row["token"], row["mode"], row["judge"], row["image_id"], row["left_method"], row["left_k"],
                 row["right_method"], row["right_k"], row["shown_at"], bool(row["truth_peeked"]),
                 frozenset(filter(None, row["served"].split(","))))


class _closing:
    def __init__(self, con):
        self.con = con

    def __enter__(self):
        return self.con

    def __exit__(self, *exc):
        self.con.close()


def run_version(record: RunRecord | None) -> str:
    """What identifies the run's outputs: its colorbench version, git sha and start time from run.json (none
    when the folder has no run.json)."""
    record = record or RunRecord()
    parts = {"colorbench": record.versions.get("colorbench"), "git_sha": record.git_sha, "started": record.started}
    return json.dumps({k: v for k, v in parts.items() if v}, sort_keys=True)
