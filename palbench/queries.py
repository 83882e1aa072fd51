"""What strategies ask and oracles answer: label queries, pair queries, captchas, answers, and
the price list both sides see."""

from __future__ import annotations

from dataclasses import dataclass
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
    for pair queries; ABSTAIN for none), and the cost of each answer; from a pool of workers,
    also who answered and what each said (`values` is then their aggregate)."""

    queries: LabelQueries | PairQueries
    values: np.ndarray
    cost: np.ndarray
    workers: np.ndarray | None = None  # (answers, k): who answered, when a pool of workers did
    heard: np.ndarray | None = None  # (answers, k): what each of them said, before aggregation

    def __len__(self) -> int:
        return len(self.values)

    @property
    def total_cost(self) -> float:
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
