"""What strategies ask and oracles answer: label queries, pair queries, captchas, answers, and
the price list both sides see."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import NamedTuple

import numpy as np

ABSTAIN = -1  # the value of an abstention: charged, but no information


@dataclass(frozen=True)
class LabelQueries:
    """ "What is the class of sample i?" for each index."""

    indices: np.ndarray
    workers: np.ndarray | None = None  # (queries, k): the workers a routing strategy chose
    kind = "label"

    def __len__(self) -> int:
        return len(self.indices)

    @property
    def n_queries(self) -> int:
        return len(self.indices)


@dataclass(frozen=True)
class PairQueries:
    """ "Are samples a[q] and b[q] of the same class?"

    With `group` set, the pairs sharing a group id form one question, priced once: with
    `question = "captcha"` an anchor shown with M candidates (captcha_base + M *
    captcha_item); with `question = "group"` M images to sort into classes, every pair among
    them answered at once (group_base + group_item * (M - 1)).
    """

    a: np.ndarray
    b: np.ndarray
    group: np.ndarray | None = None
    question: str = "captcha"
    workers: np.ndarray | None = None  # (questions, k): the workers a routing strategy chose
    kind = "pair"

    def __len__(self) -> int:
        return len(self.a)

    @property
    def n_queries(self) -> int:
        return len(self.a) if self.group is None else len(np.unique(self.group))

    def images_per_pair(self) -> np.ndarray:
        """How many images the question of each pair showed: 2 for a plain pair, the distinct
        samples of its group for a captcha (anchor and candidates) or a group question."""
        if self.group is None:
            return np.full(len(self), 2)
        _, inverse = np.unique(self.group, return_inverse=True)
        members = np.unique(np.stack([np.concatenate([inverse, inverse]),
                                      np.concatenate([self.a, self.b])]), axis=1)
        return np.bincount(members[0])[inverse]


@dataclass(frozen=True)
class Answers:
    """One batch of answers: the queries, each value (a class for label queries; 1 same / 0 not
    for pair queries; ABSTAIN for none), the listed price of each answer (the price list's,
    what strategies plan with) and what each was `charged` under the oracle's own model (what
    budgets spend; the listed price when not given). From a pool of workers, also who answered
    and what each said (`values` is then their aggregate), and `charged` per worker:
    (answers, k) like `workers`."""

    queries: LabelQueries | PairQueries
    values: np.ndarray
    prices: np.ndarray  # listed: the price list's price of each answer
    charged: np.ndarray | None = None  # what each answer (each worker's) cost; None: listed
    workers: np.ndarray | None = None  # (answers, k): who answered, when a pool of workers did
    heard: np.ndarray | None = None  # (answers, k): what each of them said, before aggregation

    def __post_init__(self):
        if self.charged is None:
            object.__setattr__(self, "charged", self.prices)

    def __len__(self) -> int:
        return len(self.values)

    @property
    def cost(self) -> np.ndarray:
        """What each answer was charged (its workers' charges together)."""
        charged = np.asarray(self.charged, dtype=np.float64)
        return charged.sum(axis=1) if charged.ndim == 2 else charged

    @property
    def total_cost(self) -> float:
        """What the batch was charged: what a budget spends."""
        return float(self.cost.sum())

    @property
    def kind(self) -> str:
        return self.queries.kind


class AnswerRow(NamedTuple):
    """One row of a run's answer log: who said what to which question, and the verdict the
    graph was given (a worker pool's aggregate; the answer itself from a single annotator).
    A strategy reads them as `ctx.answer_log`, oldest first:

        abstained = sum(row.value == ABSTAIN for row in ctx.answer_log)
    """

    position: int  # the question's number in the run, from 0
    kind: str  # "label" or "pair"
    a: int  # the sample asked about (the first of a pair)
    b: int | None  # the pair's second sample; None for a label
    worker: int | None  # the worker who answered, None for a single annotator
    value: int  # what this worker said (a class, 1 same / 0 not, or ABSTAIN)
    verdict: int  # what the graph was given for the question
    # schema 11: the price list's price of the answer, and what the oracle charged for it
    # (this worker's charge in a pool); None in runs stored before
    listed_seconds: float | None = None
    charged_seconds: float | None = None


@dataclass(frozen=True, eq=False)
class AnnotatorHistory:
    """What the run's annotators have done so far, as the harness hands it to an oracle:
    every answer heard (`rows`, AnswerRow, oldest first, with its listed and charged seconds
    and its worker), per worker the answers given and seconds charged (worker None: a single
    annotator), and the run's `clock`, the seconds charged so far. Derived from the run's
    answer log alone, so that a run rebuilt from its stored log (`from_rows`) hands its oracle
    the same history: an oracle's answers and charges are a function of (queries, truth,
    history, rng), never of state it keeps itself.

        given = history.answers_by(worker)           # answers this worker gave before
        seconds = 3.0 + 0.5 * (len(history) + np.arange(len(queries))) / 100
    """

    rows: Sequence[AnswerRow] = ()
    answers: Mapping[int | None, int] = field(default_factory=dict)  # per worker
    seconds: Mapping[int | None, float] = field(default_factory=dict)  # charged, per worker
    clock: float = 0.0  # seconds charged so far, every worker together
    worker: int | None = None  # whose history: a pool's worker (`of_worker`); None: the run's

    @classmethod
    def from_rows(cls, rows: Iterable[AnswerRow]) -> AnnotatorHistory:
        """The history of an answer log (a run's, or rows read back from a store)."""
        tally = Tally()
        for row in rows:
            tally.add(row)
        return tally.history(tuple(tally.rows))

    def __len__(self) -> int:
        return len(self.rows)

    def of_worker(self, worker: int) -> AnnotatorHistory:
        """This worker's own history, as a pool hands it to the worker: its answers alone
        (`len` counts them), its seconds, the run's clock."""
        return AnnotatorHistory(tuple(r for r in self.rows if r.worker == worker),
                                MappingProxyType({worker: self.answers_by(worker)}),
                                MappingProxyType({worker: self.seconds_by(worker)}),
                                self.clock, worker)

    def answers_by(self, worker: int | None = None) -> int:
        return self.answers.get(worker, 0)

    def seconds_by(self, worker: int | None = None) -> float:
        return self.seconds.get(worker, 0.0)

    def __eq__(self, other) -> bool:
        return isinstance(other, AnnotatorHistory) and (
            tuple(self.rows), dict(self.answers), dict(self.seconds), self.clock,
            self.worker) == (tuple(other.rows), dict(other.answers), dict(other.seconds),
                             other.clock, other.worker)


class Tally:
    """An answer log being written, and the per-worker sums its history reports: the one
    place they are added up, for the run's ledger and for `AnnotatorHistory.from_rows`."""

    def __init__(self):
        self.rows: list[AnswerRow] = []
        self.answers: dict[int | None, int] = {}
        self.seconds: dict[int | None, float] = {}
        self.clock = 0.0

    def add(self, row: AnswerRow) -> None:
        self.rows.append(row)
        charged = 0.0 if row.charged_seconds is None else row.charged_seconds
        self.answers[row.worker] = self.answers.get(row.worker, 0) + 1
        self.seconds[row.worker] = self.seconds.get(row.worker, 0.0) + charged
        self.clock += charged

    def history(self, rows: Sequence[AnswerRow]) -> AnnotatorHistory:
        """The history now (`rows`: the log itself, or a read-only view of it)."""
        return AnnotatorHistory(rows, MappingProxyType(dict(self.answers)),
                                MappingProxyType(dict(self.seconds)), self.clock)


@dataclass(frozen=True)
class PriceList:
    """What each kind of query costs, in cost units: all that a strategy may know of prices.
    It holds no labels (a label's price per class is charged by the oracle, which knows the
    class); `cheapest_label` is what a strategy sizes its batches by. Built by
    `palbench.oracles.costs.Costs.price_list`, which holds the defaults."""

    label: np.ndarray  # price of a label query, per true class
    pair: float
    captcha_base: float
    captcha_item: float
    group_base: float
    group_item: float

    @property
    def cheapest_label(self) -> float:
        return float(self.label.min())

    def captcha(self, m):
        """One captcha showing an anchor with m candidates (m: a number or an array)."""
        return self.captcha_base + np.asarray(m) * self.captcha_item if np.ndim(m) else \
            float(self.captcha_base + m * self.captcha_item)

    def group(self, m):
        """One question showing m images to group by class (m: a number or an array)."""
        return self.group_base + (np.asarray(m) - 1) * self.group_item if np.ndim(m) else \
            float(self.group_base + (m - 1) * self.group_item)


def as_queries(picked) -> LabelQueries | PairQueries:
    """What a strategy returned as queries: queries as they are, else label queries on the
    indices it gave."""
    if isinstance(picked, (LabelQueries, PairQueries)):
        return picked
    return LabelQueries(np.asarray(picked, dtype=np.int64))
