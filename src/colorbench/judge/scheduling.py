"""Which item to show next.

Pair mode, in order of priority:

1. coverage — every (method pair, image) combination is shown once before any is shown again (items already on
   another judge's screen count as shown, so simultaneous judges spread out instead of doubling up);
2. uncertainty — among the pairs that still have unshown images, the pair whose order is least settled
   (smallest |wins_a − wins_b| / √(n + 1) over the decisive answers so far) goes first;
3. freshness — the image is one this judge has not seen yet when possible;
4. stochastic methods — the least-shown of the image's K samples (the judged sample is recorded);
5. sides — left/right drawn at random for every item;
6. consistency — with probability ``repeat_rate`` a judge with at least ``MIN_ANSWERS_BEFORE_REPEAT`` answers gets
   one of their own earlier pairs again (same samples, sides swapped), so each judge's consistency can be measured.

Real-or-fake mode shows the least-shown (source, image) where the sources are the methods and the truths, so
truths are mixed in at the rate 1 / (methods + 1).

Usage (a sketch, not run by the doctests: it needs a run's catalogue and judgement store)::

    from colorbench.judge.scheduling import Scheduler
    item = Scheduler(catalogue, seed=0).next_item(store.judgements("pair"), store.pending_all("pair"), "ana", "pair")
"""

from __future__ import annotations

import math
import random
from collections import Counter
from dataclasses import dataclass
from itertools import combinations

import pandas as pd

from colorbench.judge.catalogue import Catalogue
from colorbench.judge.store import TRUTH, Shown

MIN_ANSWERS_BEFORE_REPEAT = 4


@dataclass(frozen=True)
class Item:
    image_id: str
    left: tuple[str, int]
    right: tuple[str, int] | None  # None in real-or-fake mode


class Scheduler:
    def __init__(self, catalogue: Catalogue, *, seed: int | None = None, repeat_rate: float = 0.1):
        self.cat = catalogue
        self.rng = random.Random(seed)
        self.repeat_rate = repeat_rate
        self.pairs = list(combinations(catalogue.methods, 2))

    def next_item(self, judged: pd.DataFrame, pending: list[Shown], judge: str, mode: str) -> Item:
        return self._next_pair(judged, pending, judge) if mode == "pair" else self._next_real_or_fake(judged, pending)

    # pair mode ---------------------------------------------------------------------------------------------
    def _next_pair(self, judged: pd.DataFrame, pending: list[Shown], judge: str) -> Item:
        judged = judged[judged["mode"] == "pair"]
        repeat = self._repeat(judged, judge)
        if repeat is not None:
            return repeat
        shown = [(r.left_method, r.right_method, r.image_id) for r in judged.itertuples()]
        shown += [(p.left_method, p.right_method, p.image_id) for p in pending if p.judge != judge]
        counts = Counter((self._canonical(a, b), image) for a, b, image in shown)
        lowest = min(counts.get((pair, image), 0) for pair in self.pairs for image in self.cat.pair_images)
        open_images = {pair: [i for i in self.cat.pair_images if counts.get((pair, i), 0) == lowest]
                       for pair in self.pairs}
        uncertainty = {pair: self._uncertainty(judged, pair) for pair in self.pairs if open_images[pair]}
        least = min(uncertainty.values())
        pair = self.rng.choice([p for p, u in uncertainty.items() if u == least])
        seen = set(judged.loc[judged["judge"] == judge, "image_id"])
        fresh = [i for i in open_images[pair] if i not in seen] or open_images[pair]
        image = self.rng.choice(fresh)
        sides = [(m, self._sample(judged, m, image)) for m in pair]
        self.rng.shuffle(sides)
        return Item(image, sides[0], sides[1])

    def _canonical(self, a: str, b: str) -> tuple[str, str]:
        order = {m: i for i, m in enumerate(self.cat.methods)}
        return (a, b) if order.get(a, 1e9) <= order.get(b, 1e9) else (b, a)

    @staticmethod
    def _uncertainty(judged: pd.DataFrame, pair: tuple[str, str]) -> float:
        a, b = pair
        sub = judged[((judged["left_method"] == a) & (judged["right_method"] == b))
                     | ((judged["left_method"] == b) & (judged["right_method"] == a))]
        winners = [r.left_method if r.answer == "left" else r.right_method
                   for r in sub.itertuples() if r.answer in ("left", "right")]
        wins_a, wins_b = winners.count(a), winners.count(b)
        return abs(wins_a - wins_b) / math.sqrt(wins_a + wins_b + 1)

    def _sample(self, judged: pd.DataFrame, method: str, image: str) -> int:
        ks = self.cat.samples[method][image]
        if len(ks) == 1:
            return ks[0]
        on_image = judged[judged["image_id"] == image]
        used = Counter(int(r.left_k) for r in on_image.itertuples() if r.left_method == method)
        used += Counter(int(r.right_k) for r in on_image.itertuples() if r.right_method == method)
        fewest = min(used.get(k, 0) for k in ks)
        return self.rng.choice([k for k in ks if used.get(k, 0) == fewest])

    def _repeat(self, judged: pd.DataFrame, judge: str) -> Item | None:
        mine = judged[judged["judge"] == judge]
        if len(mine) < MIN_ANSWERS_BEFORE_REPEAT or self.rng.random() >= self.repeat_rate:
            return None
        seen = Counter((self._canonical(r.left_method, r.right_method), r.image_id) for r in mine.itertuples())
        once = [r for r in mine.itertuples() if seen[(self._canonical(r.left_method, r.right_method), r.image_id)] == 1]
        if not once:
            return None
        r = self.rng.choice(once)
        return Item(r.image_id, (r.right_method, int(r.right_k)), (r.left_method, int(r.left_k)))  # sides swapped

    # real-or-fake mode -------------------------------------------------------------------------------------
    def _next_real_or_fake(self, judged: pd.DataFrame, pending: list[Shown]) -> Item:
        judged = judged[judged["mode"] == "real-or-fake"]
        counts = Counter((r.left_method, r.image_id) for r in judged.itertuples())
        counts.update((p.left_method, p.image_id) for p in pending)
        sources = self.cat.methods + [TRUTH]
        options = [(s, i) for s in sources for i in self.cat.truth_images]
        lowest = min(counts.get(o, 0) for o in options)
        source, image = self.rng.choice([o for o in options if counts.get(o, 0) == lowest])
        k = 0 if source == TRUTH else self._sample(judged, source, image)
        return Item(image, (source, k), None)
