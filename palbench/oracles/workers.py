"""`workers`: a pool of annotators who differ. Each worker is the `base` oracle with its own
parameters, drawn once per run from `spread` (uniform ranges) or listed in `workers`; each
question goes to `redundancy` distinct workers chosen by `assign`, is charged each one's price,
and the graph is given their aggregate (majority, a tie giving no verdict, or Dawid-Skene
through crowd-kit). Every worker's answer is kept in the run's answer log.

    [oracle]
    name = "workers"
    base = { name = "asymmetric_pair" }
    n_workers = 20
    spread = { p_yes_same = [0.4, 0.7], p_no_different = [0.7, 0.9] }
    redundancy = 3
    aggregate = "majority"
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np

from palbench.errors import ConfigError, check
from palbench.fields import param
from palbench.oracles.base import ABSTAIN, ORACLES, Oracle
from palbench.queries import Answers, LabelQueries, PairQueries

ASSIGN = ("random", "round_robin", "strategy")
AGGREGATE = ("majority", "dawid_skene")


@ORACLES.register("workers")
@dataclass(frozen=True, kw_only=True)
class Workers(Oracle):
    """A pool of workers who differ: own noise each, own price, redundancy and aggregation."""

    # each worker's oracle table
    base: dict = param(default_factory=lambda: {"name": "asymmetric_pair"}, component="oracle")
    n_workers: int = param(10, ge=1, note="a pool needs a worker")  # workers in the pool
    # { parameter = [low, high] } drawn per worker once per run
    spread: dict[str, tuple[float, ...]] = field(default_factory=dict)
    # or one oracle table per worker (over `base`)
    workers: tuple[dict, ...] | None = param(None, component="oracle")
    # price multiplier: one, or one per worker
    price: float | tuple[float, ...] = param(1.0, gt=0)
    # who answers: random, round_robin or strategy (a routed strategy)
    assign: str = param("random", choices=ASSIGN)
    # workers asked per question (charged that many times), at most the pool's
    redundancy: int = param(1, ge=1)
    # majority (a tie gives no verdict) or dawid_skene (crowd-kit)
    aggregate: str = param("majority", choices=AGGREGATE)

    def validate(self, where):
        check(self.base.get("name") != "workers", f"{where}.base.name", "workers",
              "a worker is one annotator, not a pool")
        check(self.workers is None or (len(self.workers) > 0
                                       and all(isinstance(t, dict) for t in self.workers)),
              f"{where}.workers", self.workers,
              "must be a non-empty list of parameter tables, one per worker")
        pool = self.pool_size
        check(self.redundancy <= pool, f"{where}.redundancy", self.redundancy,
              f"must be between 1 and the pool's {pool} workers")
        for name, bounds in self.spread.items():
            check(len(bounds) == 2 and bounds[0] <= bounds[1], f"{where}.spread.{name}",
                  list(bounds), "must be [low, high] with low <= high")
        prices = self.price if isinstance(self.price, tuple) else (self.price,)
        check(len(prices) in (1, pool), f"{where}.price", self.price,
              f"one price for all, or one per worker ({pool})")
        if self.workers is not None:
            for i, table in enumerate(self.workers):
                self.member(table, f"{where}.workers[{i}]")
        for name, bounds in self.spread.items():  # both ends of every range must be valid
            for end in bounds:
                try:
                    self.member({name: end}, where)
                except ConfigError as exc:
                    raise ConfigError(f"{where}.spread.{name}", list(bounds),
                                      f"{exc.why} (at {end:g})") from None

    def nested_components(self) -> dict:
        """The base oracle, and each listed worker's table over it."""
        return {"base": self.member(self.base, "oracle.base"),
                "workers": None if self.workers is None else tuple(
                    self.member(t, f"oracle.workers[{i}]") for i, t in enumerate(self.workers))}

    def routing_pool(self) -> tuple[int, int] | None:
        """(workers, redundancy) for a strategy that chooses the workers, else None."""
        return (self.pool_size, self.redundancy) if self.assign == "strategy" else None

    @property
    def pool_size(self) -> int:
        return len(self.workers) if self.workers is not None else self.n_workers

    @property
    def query_kinds(self):
        return self.member(self.base, "oracle.base").query_kinds

    def validate_data(self, data, where):
        self.member(self.base, f"{where}.base").validate_data(data, f"{where}.base")

    def member(self, table: dict, where: str) -> Oracle:
        from palbench.params import build
        name = table.get("name", self.base.get("name"))
        if name is None:
            raise ConfigError(f"{where}.name", None, "the workers' oracle needs a name")
        return build(ORACLES.get(name, f"{where}.name"), {**self.base, **table}, where)

    def tables(self, rng: np.random.Generator) -> list[dict]:
        """Each worker's parameter table: listed, or drawn uniformly within `spread`."""
        if self.workers is not None:
            return [dict(t) for t in self.workers]
        return [{name: float(rng.uniform(low, high)) for name, (low, high) in
                 sorted(self.spread.items())} for _ in range(self.n_workers)]

    def pool(self, truth) -> tuple[list[Oracle], np.ndarray]:
        """The run's workers (drawn from the run's labelling seed: the same at every batch)
        and their prices."""
        tables = self.tables(np.random.default_rng([truth.labelling_seed, 1]))
        members = [self.member(t, "oracle") for t in tables]
        prices = np.broadcast_to(np.asarray(self.price, dtype=float), (len(members),))
        return members, prices

    def assignment(self, n_units: int, rng: np.random.Generator) -> np.ndarray:
        """(units, redundancy) distinct workers per question."""
        pool = self.pool_size
        if self.assign == "round_robin":  # in turn, from a random first worker each batch
            start = int(rng.integers(pool))
            return (start + np.arange(n_units * self.redundancy)).reshape(
                n_units, self.redundancy) % pool
        return np.argsort(rng.random((n_units, pool)), axis=1)[:, :self.redundancy]

    def answer(self, queries, truth, history, rng) -> Answers:
        members, prices = self.pool(truth)
        # a group question or captcha goes to one worker whole; other queries one by one
        if isinstance(queries, PairQueries) and queries.group is not None:
            _, unit = np.unique(queries.group, return_inverse=True)
        else:
            unit = np.arange(len(queries))
        if self.assign == "strategy":
            chosen = np.asarray(queries.workers, dtype=np.int64)[unit]
        else:
            chosen = self.assignment(int(unit.max()) + 1 if len(unit) else 0, rng)[unit]
        listed = truth.price(queries)
        heard = np.empty(chosen.shape, dtype=np.int64)
        charged = np.empty(chosen.shape, dtype=np.float64)
        for w in np.unique(chosen):
            own = history.of_worker(int(w))  # a worker sees its own answers, not the pool's
            for copy in range(self.redundancy):
                rows = np.flatnonzero(chosen[:, copy] == w)
                if len(rows):
                    heard[rows, copy] = members[w].respond(subset(queries, rows), truth, own,
                                                           rng)
            # charged once over all its questions in order (distinct workers per question:
            # one copy each), so that its n-th answer of the batch is charged as its n-th
            rows, copies = np.nonzero(chosen == w)
            charged[rows, copies] = members[w].charge(subset(queries, rows), truth, own,
                                                      listed[rows]) * prices[w]
        values = aggregate(heard, chosen, self.aggregate, queries)
        return Answers(queries, values, listed, charged, workers=chosen, heard=heard)


def subset(queries, rows: np.ndarray):
    if isinstance(queries, LabelQueries):
        return LabelQueries(queries.indices[rows])
    group = None if queries.group is None else queries.group[rows]
    return PairQueries(queries.a[rows], queries.b[rows], group, queries.question)


def aggregate(heard: np.ndarray, workers: np.ndarray, rule: str, queries) -> np.ndarray:
    """One verdict per query from its workers' answers; ABSTAIN when none can be given."""
    if heard.shape[1] == 1:
        return heard[:, 0].copy()
    if rule == "dawid_skene":
        return dawid_skene(heard, workers)
    n_values = int(heard.max()) + 1 if heard.size else 1
    verdicts = np.full(len(heard), ABSTAIN, dtype=np.int64)
    for q, row in enumerate(heard):
        counts = np.bincount(row[row != ABSTAIN], minlength=n_values)
        if counts.sum() and (counts == counts.max()).sum() == 1:
            verdicts[q] = int(counts.argmax())
    return verdicts


def dawid_skene(heard: np.ndarray, workers: np.ndarray) -> np.ndarray:
    """Dawid and Skene (1979) by crowd-kit over the batch's answers: each worker's confusion
    estimated from how it agrees with the others (pip install 'palbench[crowd]')."""
    import pandas as pd
    try:
        from crowdkit.aggregation import DawidSkene
    except ImportError:
        raise ConfigError("oracle.aggregate", "dawid_skene", "needs crowd-kit: pip install "
                          "'palbench[crowd]'") from None
    q, copy = np.nonzero(heard != ABSTAIN)
    verdicts = np.full(len(heard), ABSTAIN, dtype=np.int64)
    if len(q) == 0:
        return verdicts
    frame = pd.DataFrame({"task": q, "worker": workers[q, copy], "label": heard[q, copy]})
    with warnings.catch_warnings():  # crowd-kit 1.4.2 uses pandas APIs pandas 3 deprecates
        warnings.simplefilter("ignore")
        result = DawidSkene(n_iter=100).fit_predict(frame)
    verdicts[result.index.to_numpy(dtype=np.int64)] = result.to_numpy(dtype=np.int64)
    return verdicts
