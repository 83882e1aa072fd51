"""`routed`: a strategy that also chooses who answers. It asks what its `inner` strategy asks
and sends each question to `redundancy` workers of a `workers` pool with `assign = "strategy"`,
picked by how often each worker agreed with the verdicts so far (from the run's answer log,
never the truth): `rule = "thompson"` draws each worker's agreement rate from Beta(agreed + 1,
disagreed + 1) per question and takes the highest (exploring workers it knows little of);
`"greedy"` takes the highest posterior means. Agreement needs a verdict formed by several
workers: with redundancy 1 every worker agrees with itself and the routing is uniform.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np

from palbench.errors import check
from palbench.fields import param
from palbench.protocol import build_nested
from palbench.queries import ABSTAIN, LabelQueries, PairQueries
from palbench.strategies.base import STRATEGIES, Strategy

ROUTING_RULES = ("thompson", "greedy")


def agreement(answer_log, n_workers: int) -> tuple[np.ndarray, np.ndarray]:
    """Per worker: answers that matched the verdict, and answers that did not (abstentions and
    questions without a verdict left out). `answer_log`: AnswerRow records."""
    agreed, disagreed = np.zeros(n_workers), np.zeros(n_workers)
    if not answer_log:
        return agreed, disagreed
    rows = np.array([(-1 if r.worker is None else r.worker, r.value, r.verdict)
                     for r in answer_log], dtype=np.int64)
    keep = (rows[:, 0] >= 0) & (rows[:, 1] != ABSTAIN) & (rows[:, 2] != ABSTAIN)
    worker, same = rows[keep, 0], rows[keep, 1] == rows[keep, 2]
    np.add.at(agreed, worker[same], 1)
    np.add.at(disagreed, worker[~same], 1)
    return agreed, disagreed


@STRATEGIES.register("routed")
@dataclass(frozen=True, kw_only=True)
class Routed(Strategy):
    """Asks what `inner` asks, and chooses the workers of each question by their agreement."""

    # the wrapped strategy's table (its name and parameters)
    inner: dict = param(default_factory=lambda: {"name": "random"}, component="strategy")
    # how workers are chosen: thompson (sampled) or greedy
    rule: str = param("thompson", choices=ROUTING_RULES)
    routes_workers = True

    def validate(self, where):
        check(self.inner.get("name") != "routed", f"{where}.inner.name", "routed",
              "a routed strategy cannot wrap another")
        self.build_inner(where)

    @cached_property
    def inner_strategy(self) -> Strategy:
        """The wrapped strategy, built once (not at every round)."""
        return self.build_inner("strategy")

    def build_inner(self, where: str) -> Strategy:
        return build_nested("strategy", self.inner, f"{where}.inner")

    @property
    def query_kind(self):
        return self.inner_strategy.query_kind

    @property
    def needs_model(self):
        return self.inner_strategy.needs_model

    @property
    def free_exemplars(self):
        return self.inner_strategy.free_exemplars

    def requires(self):
        return self.inner_strategy.requires()

    def query_price(self, prices):
        return self.inner_strategy.query_price(prices)

    def select(self, ctx, k, rng):
        queries = self.inner_strategy.select(ctx, k, rng)
        if not isinstance(queries, PairQueries):
            queries = LabelQueries(np.asarray(queries, dtype=np.int64))
        n_workers, redundancy = ctx.pool
        units = queries.n_queries
        agreed, disagreed = agreement(ctx.answer_log, n_workers)
        if self.rule == "thompson":
            score = rng.beta(agreed + 1, disagreed + 1, size=(units, n_workers))
        else:
            score = np.tile((agreed + 1) / (agreed + disagreed + 2), (units, 1))
            score = score + 1e-9 * rng.random(score.shape)  # ties at random
        chosen = np.argsort(-score, axis=1)[:, :redundancy]
        return replace(queries, workers=chosen)
