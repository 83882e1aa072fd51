"""Pair-query strategies of Positive Active Learning (Cabannes et al., ICCV 2023).

The oracle is asked "are x_i and x_j of the same class?". Classes get their names from
`exemplars` free labelled samples per class (counted and reported as n_free, never hidden);
asking "is x like the exemplar of class c?" then attaches x to c on a yes and rules c out on a no.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from palbench.errors import check
from palbench.fields import param
from palbench.graph import pair_key
from palbench.queries import PairQueries, PriceList
from palbench.strategies.base import STRATEGIES, Strategy, predict_rows, top_k
from palbench.strategies.graph_coverage import CoverageParams, coverage_select
from palbench.strategies.space import space_points


def was_asked(keys: np.ndarray, asked: set) -> np.ndarray:
    """Which pair keys are in the asked set, vectorised (a Python loop over a 60k pool took
    most of a selection)."""
    if not asked:
        return np.zeros(len(keys), dtype=bool)
    return np.isin(keys, np.fromiter(asked, np.int64, len(asked)))


@dataclass(frozen=True, kw_only=True)
class PairStrategy(Strategy):
    """A strategy that asks pair questions; `exemplars` labelled samples per class are given
    for free at the start (counted as n_free), so that answers can name classes."""

    query_kind = "pair"
    # labelled samples per class given free at the start (n_free)
    exemplars: int = param(1, ge=0)

    @property
    def free_exemplars(self) -> int:
        return self.exemplars

    def query_price(self, prices: PriceList) -> float:
        return prices.pair


def empty_pairs() -> PairQueries:
    e = np.empty(0, np.int64)
    return PairQueries(e, e)


@STRATEGIES.register("random_pairs")
@dataclass(frozen=True, kw_only=True)
class RandomPairs(PairStrategy):
    """Passive: k pairs drawn uniformly among the pairs never asked."""

    def select(self, ctx, k, rng):
        n = len(ctx.X)
        asked = ctx.asked_pairs
        chosen: dict[int, tuple[int, int]] = {}
        for _ in range(20):
            need = k - len(chosen)
            if need <= 0:
                break
            a = rng.integers(0, n, size=2 * need + 8)
            b = rng.integers(0, n, size=2 * need + 8)
            for x, y, key in zip(a, b, pair_key(a, b, n)):
                if x != y and int(key) not in asked and int(key) not in chosen:
                    chosen[int(key)] = (int(x), int(y))
                    if len(chosen) == k:
                        break
        if len(chosen) < k and n * (n - 1) // 2 <= 5_000_000:  # nearly exhausted: enumerate
            a, b = np.triu_indices(n, k=1)
            keys = pair_key(a, b, n)
            free = np.array([int(key) not in asked and int(key) not in chosen for key in keys],
                            dtype=bool)
            extra = rng.permutation(np.flatnonzero(free))[:k - len(chosen)]
            chosen.update({int(keys[i]): (int(a[i]), int(b[i])) for i in extra})
        if not chosen:
            return empty_pairs()
        pairs = np.array(list(chosen.values()), dtype=np.int64)
        return PairQueries(pairs[:, 0], pairs[:, 1])


class ExemplarComparison(PairStrategy):
    """Shared machinery: compare unknown samples to class exemplars."""

    def state(self, ctx):
        graph = ctx.graph
        known = graph.known_labels()
        unknown = np.flatnonzero(known < 0)
        excluded = graph.excluded_classes(unknown)
        has_exemplar = ctx.exemplars >= 0
        proba = None
        if ctx.model is not None and len(unknown):
            proba = predict_rows(ctx.model, ctx.X, unknown)
        return known, unknown, excluded, has_exemplar, proba

    def untried(self, ctx, sample: int, classes: np.ndarray) -> np.ndarray:
        n = len(ctx.X)
        keys = pair_key(np.full(len(classes), sample), ctx.exemplars[classes], n)
        return ~was_asked(keys, ctx.asked_pairs)


@STRATEGIES.register("pal_active")
@dataclass(frozen=True, kw_only=True)
class PalActive(ExemplarComparison):
    """The paper's active loop (active_ssl/active.ipynb): take the class queried least so far
    and compare its exemplar with unknown samples drawn at random among those the current model
    predicts in that class (among all unknown ones when too few); a yes attaches the sample to the
    class, a no rules the class out for it. `captcha` = M > 0 shows M samples with the exemplar
    at once, priced as one captcha query.
    """

    # samples shown with the exemplar in one captcha query (0: one pair)
    captcha: int = param(0, ge=0)

    needs_model = True

    def query_price(self, prices: PriceList) -> float:
        return prices.captcha(self.captcha) if self.captcha else prices.pair

    def select(self, ctx, k, rng):
        known, unknown, excluded, has_exemplar, proba = self.state(ctx)
        counts = ctx.cache.setdefault("pal_active_counts", np.zeros(ctx.n_classes, np.int64))
        available = ~excluded & has_exemplar[None, :]
        predicted = proba.argmax(axis=1) if proba is not None else None
        per_query = max(1, self.captcha)
        a, b, group = [], [], []
        n_queries = 0
        # classes in order of how often they were queried (least first, ties at random)
        for c in top_k(-counts.astype(float), np.arange(ctx.n_classes), ctx.n_classes, rng):
            rows = np.flatnonzero(available[:, c])
            if len(rows):  # an abstention leaves a pair asked
                keys = pair_key(unknown[rows], np.full(len(rows), ctx.exemplars[c]), len(ctx.X))
                rows = rows[~was_asked(keys, ctx.asked_pairs)]
            while n_queries < k and len(rows):
                want = min(per_query, k - n_queries) if not self.captcha else per_query
                pool = rows
                if predicted is not None:
                    preferred = rows[predicted[rows] == c]
                    if len(preferred) > want:
                        pool = preferred
                picked = rng.choice(pool, size=min(want, len(pool)), replace=False)
                a += list(unknown[picked])
                b += [int(ctx.exemplars[c])] * len(picked)
                group += [n_queries] * len(picked)
                available[picked, :] = False  # one question per sample and batch
                rows = rows[~np.isin(rows, picked)]
                counts[c] += len(picked)
                n_queries += 1 if self.captcha else len(picked)
            if n_queries >= k:
                break
        if not a:
            return empty_pairs()
        return PairQueries(np.array(a, np.int64), np.array(b, np.int64),
                           np.array(group, np.int64) if self.captcha else None)


@STRATEGIES.register("pal_ordered")
@dataclass(frozen=True, kw_only=True)
class PalOrdered(ExemplarComparison):
    """Resolve one sample at a time: take the sample the model is least sure of and compare it
    with the class exemplars in order of predicted probability, until a yes or only one class
    is left (at most C-1 queries a sample). A batch advances k samples by one comparison each."""

    needs_model = True

    def new_samples(self, ctx, candidates, proba_rows, k, rng) -> np.ndarray:
        """Which unstarted samples to resolve next: the least confident first."""
        if proba_rows is None:
            return top_k(np.zeros(len(candidates)), candidates, k, rng)
        return top_k(1.0 - proba_rows.max(axis=1), candidates, k, rng)

    def select(self, ctx, k, rng):
        known, unknown, excluded, has_exemplar, proba = self.state(ctx)

        def next_class(sample: int) -> int | None:
            """The likeliest class not yet ruled out nor asked (None: nothing left to ask)."""
            r = int(np.searchsorted(unknown, sample))  # unknown is sorted
            classes = np.flatnonzero(~excluded[r] & has_exemplar)
            classes = classes[self.untried(ctx, sample, classes)] if len(classes) else classes
            if len(classes) == 0:
                return None
            score = proba[r, classes] if proba is not None else np.zeros(len(classes))
            return int(top_k(score, classes, 1, rng)[0])

        started = ctx.cache.setdefault("pal_ordered_started", [])
        plan = [(s, next_class(s)) for s in started if known[s] < 0]
        plan = [(s, c) for s, c in plan if c is not None]  # abstentions can exhaust a sample
        ctx.cache["pal_ordered_started"] = [s for s, _ in plan]
        plan = plan[:k]
        if len(plan) < k:
            busy = np.array(ctx.cache["pal_ordered_started"], np.int64)
            fresh_rows = np.flatnonzero(~np.isin(unknown, busy))
            if len(fresh_rows):
                picked_rows = self.new_samples(
                    ctx, fresh_rows, None if proba is None else proba[fresh_rows],
                    k - len(plan), rng)
                for r in picked_rows:
                    sample = int(unknown[r])
                    c = next_class(sample)
                    if c is not None:
                        plan.append((sample, c))
                        ctx.cache["pal_ordered_started"].append(sample)
        if not plan:
            return empty_pairs()
        a = np.array([s for s, _ in plan], np.int64)
        b = np.array([int(ctx.exemplars[c]) for _, c in plan], np.int64)
        return PairQueries(a, b)


@STRATEGIES.register("pal_coverage")
@dataclass(frozen=True, kw_only=True)
class PalCoverage(CoverageParams, PalOrdered):
    """Like pal_ordered, but the samples to resolve are chosen by graph coverage (ProbCover's
    greedy delta-ball cover over the dataset's features, else its inputs) instead of by model
    uncertainty."""

    def new_samples(self, ctx, candidates, proba_rows, k, rng):
        key = ("pal_coverage", self.delta, self.purity, self.max_dims, self.max_cover)
        if key not in ctx.cache:
            ctx.cache[key] = self.ball_graph_of(space_points("features", ctx)[0],
                                                ctx.n_classes)
        graph, members = ctx.cache[key]
        known = ctx.graph.known_labels()
        unavailable = np.ones(len(ctx.X), bool)
        unknown = np.flatnonzero(known < 0)
        unavailable[unknown[candidates]] = False
        picked = coverage_select(graph, unavailable, k, rng, members)
        return np.searchsorted(unknown, picked).astype(np.int64)  # rows of unknown (sorted)


@STRATEGIES.register("pal_group")
@dataclass(frozen=True, kw_only=True)
class PalGroup(ExemplarComparison):
    """Multi-image questions ("group these M images by class", WWW 2025): each question shows
    the least certain unknown sample, the exemplars of its likeliest classes (M // 2 of them,
    at least 1) and the unknown samples likeliest to be in those classes, to fill M images;
    one answer gives every pair among them (pairs asked before, and exemplar pairs, which are
    known different, are left out). Priced group_base + group_item * (M - 1)."""

    # images M per group question (every pair among them answered)
    images: int = param(4, ge=2, note="M images a question")

    def validate_data(self, data, where):
        check(self.images <= data.n_pool, f"{where}.images", self.images,
              f"larger than the pool of {data.name!r} ({data.n_pool} samples)")

    needs_model = True

    def query_price(self, prices: PriceList) -> float:
        return prices.group(self.images)

    def select(self, ctx, k, rng):
        known, unknown, excluded, has_exemplar, proba = self.state(ctx)
        n = len(ctx.X)
        n_shown = min(self.images - 1, max(1, self.images // 2))
        open_rows = np.ones(len(unknown), dtype=bool)
        doubt = np.zeros(len(unknown)) if proba is None else 1.0 - proba.max(axis=1)
        is_exemplar = np.zeros(n, dtype=bool)
        is_exemplar[ctx.exemplars[ctx.exemplars >= 0]] = True
        a, b, group = [], [], []
        asked, questions = set(ctx.asked_pairs), 0
        for r in top_k(doubt, np.arange(len(unknown)), len(unknown), rng):
            if questions >= k:
                break
            if not open_rows[r]:
                continue
            classes = np.flatnonzero(~excluded[r] & has_exemplar)
            if len(classes) == 0:
                continue
            score = proba[r, classes] if proba is not None else np.zeros(len(classes))
            classes = top_k(score, classes, n_shown, rng)
            open_rows[r] = False
            others = np.flatnonzero(open_rows)
            fill = self.images - 1 - len(classes)
            if fill > 0 and len(others):
                mass = proba[others][:, classes].sum(axis=1) if proba is not None else \
                    np.zeros(len(others))
                others = top_k(mass, others, fill, rng)
                open_rows[others] = False
            else:
                others = others[:0]
            shown = np.concatenate([[unknown[r]], unknown[others], ctx.exemplars[classes]])
            i, j = np.triu_indices(len(shown), 1)
            x, y = shown[i], shown[j]
            keys = pair_key(x, y, n)
            new = ~(is_exemplar[x] & is_exemplar[y]) & ~was_asked(keys, asked)
            if not new.any():
                continue
            asked.update(int(key) for key in keys[new])
            a += list(x[new])
            b += list(y[new])
            group += [questions] * int(new.sum())
            questions += 1
        if not a:
            return empty_pairs()
        return PairQueries(np.array(a, np.int64), np.array(b, np.int64),
                           np.array(group, np.int64), question="group")
