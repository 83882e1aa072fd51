"""The oracle contract, defined once: what `palbench.testing.check_oracle` checks and what every
run checks first on a dry run of each oracle of its plan (`check_plan_oracles`), so that an
oracle with hidden state is refused before any cell rather than trusted.

An oracle's answers and charges are a function of (queries, truth, history, rng): asked twice
with copies of one history and one seed, it says and charges the same; each answer is within
range; each charge is finite and positive; and what it charges is what the ledger records in
the answer log (one charge per answer, per worker for a pool).
"""

from __future__ import annotations

import numpy as np

from palbench.bench.ledger import Ledger
from palbench.errors import ContractError, PalbenchError, first_line
from palbench.oracles.base import ABSTAIN, Oracle, Truth
from palbench.queries import AnnotatorHistory, AnswerRow, LabelQueries, PairQueries

SEED = 11  # the rng seed both calls of a check get


def synthetic_history(n_pool: int, workers: int | None = None) -> AnnotatorHistory:
    """A short history (four answers, listed 1 s and charged 1.5 s each) on samples 0..3 of
    the pool, by worker 0 and 1 of a pool (or a single annotator)."""
    rows = [AnswerRow(i, "label", i % n_pool, None,
                      None if workers is None else i % min(workers, 2), 0, 0, 1.0, 1.5)
            for i in range(4)]
    return AnnotatorHistory.from_rows(rows)


def dry_queries(oracle: Oracle, kind: str, n_pool: int, n: int,
                rng: np.random.Generator) -> LabelQueries | PairQueries:
    """n queries of `kind` on the pool, with the workers a routing strategy would give when
    the oracle lets strategies route."""
    pool = oracle.routing_pool()
    workers = None if pool is None else np.stack(
        [rng.permutation(pool[0])[:pool[1]] for _ in range(n)])
    if kind == "label":
        return LabelQueries(rng.choice(n_pool, size=min(n, n_pool), replace=False),
                            workers=None if workers is None else workers[:min(n, n_pool)])
    a = rng.integers(0, n_pool, n)
    return PairQueries(a, (a + rng.integers(1, n_pool, n)) % n_pool, workers=workers)


def oracle_problem(oracle: Oracle, truth: Truth, queries: LabelQueries | PairQueries,
                   history: AnnotatorHistory) -> str | None:
    """The first rule `oracle` breaks on these queries after this history, or None."""
    kind, n = queries.kind, len(queries)
    answers = oracle.answer(queries, truth, AnnotatorHistory.from_rows(history.rows),
                            np.random.default_rng(SEED))
    values = np.asarray(answers.values)
    if values.shape != (n,):
        return f"gave {len(values)} answers to {n} {kind} queries"
    top = truth.n_classes if kind == "label" else 2
    bad = ~((values == ABSTAIN) | ((values >= 0) & (values < top)))
    if bad.any():
        return (f"answered {values[bad][0]!r} to a {kind} query: answers are "
                + ("a class 0..C-1" if kind == "label" else "1 (same) or 0") + " or ABSTAIN")
    charged = np.asarray(answers.charged, dtype=np.float64)
    shape = (n,) if answers.workers is None else np.shape(answers.workers)
    if charged.shape not in ((n,), shape):
        return (f"charged an array of shape {charged.shape} for {n} {kind} answers: one "
                "charge per answer (per worker for a pool) is what the answer log records")
    if not (np.isfinite(charged).all() and (charged > 0).all()):
        wrong = charged[~(np.isfinite(charged) & (charged > 0))][0]
        return f"charged {float(wrong)!r} for a {kind} answer: charges are finite and positive"
    ledger = Ledger(_Pool(truth.n_classes, len(truth.y)), "majority")
    ledger.record(answers)
    logged = np.array([row.charged_seconds for row in ledger.log])
    if len(logged) != charged.size or not np.isclose(logged.sum(), answers.total_cost):
        return (f"charged {answers.total_cost!r} for {n} {kind} answers but the answer log "
                f"records {logged.sum()!r}: each answer's (each worker's) charge is recorded")
    again = oracle.answer(queries, truth, AnnotatorHistory.from_rows(history.rows),
                          np.random.default_rng(SEED))
    if not np.array_equal(values, np.asarray(again.values)):
        return (f"gave different answers to the same {kind} queries for the same history and "
                "rng: answers must depend on (queries, truth, history, rng) alone, not on "
                "state the oracle keeps")
    if not np.array_equal(charged, np.asarray(again.charged, dtype=np.float64)):
        return (f"charged {np.asarray(again.charged)[:3].tolist()}... the second time, "
                f"{charged[:3].tolist()}... the first, for the same {kind} queries, history "
                "and rng: charges must depend on (queries, truth, history, rng) alone, not on "
                "state the oracle keeps")
    return None


def check_plan_oracles(plan) -> None:
    """A dry run of each distinct oracle of the plan on a few queries of each kind it
    answers, on its own dataset and prices, after an empty and a short history: the first
    rule broken is a ContractError naming the oracle, before any cell runs."""
    seen = set()
    for cell in plan.cells:
        if cell.oracle.label in seen:
            continue
        seen.add(cell.oracle.label)
        data = plan.data(cell)
        oracle = cell.oracle.obj
        truth = Truth(data.y, data.n_classes, cell.costs.obj.price_list(data.class_names),
                      labelling_seed=0)
        pool = oracle.routing_pool()
        rng = np.random.default_rng(0)
        for kind in oracle.query_kinds:
            queries = dry_queries(oracle, kind, data.n_pool, 6, rng)
            for history in (AnnotatorHistory(),
                            synthetic_history(data.n_pool, None if pool is None else pool[0])):
                try:
                    problem = oracle_problem(oracle, truth, queries, history)
                except PalbenchError:
                    raise
                except Exception as exc:  # noqa: BLE001  (a bug in the oracle, said in a line)
                    problem = f"raised {first_line(exc)} answering {kind} queries"
                if problem:
                    raise ContractError(f"oracle {cell.oracle.label!r} {problem} (a dry run "
                                        "before any cell; palbench.testing.check_oracle "
                                        "shows the contract)")


class _Pool:
    """What a ledger reads of a dataset to record answers: its size and class count."""

    def __init__(self, n_classes: int, n_pool: int):
        self.n_classes, self.n_pool = n_classes, n_pool
