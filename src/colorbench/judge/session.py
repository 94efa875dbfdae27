"""A judging session over one run: the catalogue of what can be shown, the database and the scheduler, behind
the three things both front ends (the web app and the notebook widget) need: the next item for a judge, the
file behind a token's side, and storing an answer.

Usage (a sketch, not run by the doctests: it needs a run folder and stores the answers in it)::

    from colorbench.judge.session import JudgingSession
    session = JudgingSession("results/demo")
    shown = session.next_for("ana")                 # a Shown row: token, image, methods and sides
    session.images_for(shown)                       # the files to show; an answer is refused until they were
    session.answer(shown.token, "left")
"""

from __future__ import annotations

import threading
from pathlib import Path

from colorbench.judge import store as _store
from colorbench.judge.catalogue import Catalogue
from colorbench.judge.scheduling import Scheduler
from colorbench.judge.store import MODES, TRUTH, AnswerRejected, JudgementStore, Shown, clean_judge_name, run_version

SIDES = ("left", "right", "truth")


class JudgingSession:
    def __init__(self, run, *, mode: str = "pair", seed: int | None = None, repeat_rate: float = 0.1):
        if mode not in MODES:
            raise ValueError(f"mode {mode!r} is not one of {', '.join(MODES)}")
        self.mode = mode
        self.catalogue = Catalogue.from_run(run, mode=mode)
        self.store = JudgementStore.open(self.catalogue.run.path,
                                         run_version=run_version(self.catalogue.run.run_record()))
        self.scheduler = Scheduler(self.catalogue, seed=seed, repeat_rate=repeat_rate)
        self._lock = threading.Lock()  # one scheduling decision at a time, so two judges never get the same slot

    def next_for(self, judge: str) -> Shown:
        """The judge's unanswered item if there is one (a reload shows it again), else a newly scheduled one."""
        judge = clean_judge_name(judge)
        with self._lock:
            pending = self.store.pending(judge, self.mode)
            if pending is not None:
                return pending
            item = self.scheduler.next_item(self.store.judgements(self.mode), self.store.pending_all(self.mode),
                                            judge, self.mode)
            return self.store.record_shown(mode=self.mode, judge=judge, image_id=item.image_id, left=item.left,
                                           right=item.right)

    def answer(self, token, answer, *, truth_peeked: bool = False) -> int:
        return self.store.record_answer(token, answer, truth_peeked=truth_peeked)

    def image_path(self, token: str, side: str) -> Path:
        """The file shown on ``side`` of ``token``, recorded as delivered (the store accepts an answer only for an
        item whose images were all delivered); asking for the truth is recorded as a peek."""
        shown = self.store.shown(token) if isinstance(token, str) else None
        if shown is None:
            raise AnswerRejected(f"no item with token {token!r} was shown", 404)
        if side not in SIDES or (side == "right" and shown.right_method is None):
            raise AnswerRejected(f"no side {side!r} for this item (one of: left, right, truth)", 404)
        if side == "truth":
            path = self.catalogue.run.truth_path(shown.image_id)
            if not path.exists():
                raise AnswerRejected(f"image {shown.image_id} has no true-colour image", 404)
            self.store.mark_peeked(token)
            return path
        method, k = (shown.left_method, shown.left_k) if side == "left" else (shown.right_method, shown.right_k)
        path = self.catalogue.image_path(method, shown.image_id, k)
        if not path.is_file():  # never let an answer through for an image the judge could not have seen
            raise AnswerRejected(f"the image behind the {side} side is missing ({path}): the run folder changed "
                                 "since the judging started; restart `colorbench judge`", 404)
        self.store.mark_served(token, side)  # an answer is accepted only once every side it compares was served
        return path

    def images_for(self, shown: Shown) -> dict[str, Path]:
        """The files a judge must see before answering ``shown`` (both sides of a pair, the one image in
        real-or-fake mode), each recorded as delivered: what a front end calls to put the item on screen."""
        return {side: self.image_path(shown.token, side) for side in _store.REQUIRED_SIDES[shown.mode]}

    def has_truth(self, shown: Shown) -> bool:
        """Whether the "show the true colours" toggle is offered (never in real-or-fake mode: it would give it away)."""
        return (self.mode == "pair" and shown.left_method != TRUTH
                and self.catalogue.run.truth_path(shown.image_id).exists())

    def answered_by(self, judge: str) -> int:
        frame = self.store.judgements(self.mode)
        return int((frame["judge"] == judge).sum())
