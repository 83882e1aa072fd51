"""What strategies ask and oracles answer: label queries, pair queries, captchas, answers, and
the price list both sides see."""

from __future__ import annotations

from dataclasses import dataclass

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


@dataclass(frozen=True)
class PriceList:
    """What each kind of query costs, in cost units: all that a strategy may know of prices.
    It holds no labels (a label's price per class is charged by the oracle, which knows the
    class); `cheapest_label` is what a strategy sizes its batches by."""

    label: np.ndarray  # price of a label query, per true class
    pair: float = 1.0
    captcha_base: float = 1.0
    captcha_item: float = 0.25
    group_base: float = 0.0
    group_item: float = 1.0

    @property
    def cheapest_label(self) -> float:
        return float(self.label.min())

    def captcha(self, m: int) -> float:
        """One captcha showing an anchor with m candidates."""
        return float(self.captcha_base + m * self.captcha_item)

    def group(self, m: int) -> float:
        """One question showing m images to group by class."""
        return float(self.group_base + (m - 1) * self.group_item)
