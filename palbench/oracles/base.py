"""What every oracle shares: the ground truth it reads, the price list, its registry."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from palbench.queries import ABSTAIN, Answers, LabelQueries, PairQueries, PriceList
from palbench.registry import Registry

ORACLES = Registry("oracles")
__all__ = ["ABSTAIN", "ORACLES", "Answers", "Oracle", "Truth"]


@dataclass(frozen=True)
class Truth:
    """What only the simulated annotator may read: the pool's true labels. Strategies see the
    `prices` alone, never this object."""

    y: np.ndarray
    n_classes: int
    prices: PriceList
    labelling_seed: int = 0  # its own spawned stream: fixed answers drawn once per run

    def price(self, queries) -> np.ndarray:
        """Cost of each answer; a captcha's or group question's price is spread evenly over
        its pairs."""
        if isinstance(queries, LabelQueries):
            return self.prices.label[self.y[queries.indices]]
        if queries.group is None:
            return np.full(len(queries), self.prices.pair)
        _, inverse, counts = np.unique(queries.group, return_inverse=True, return_counts=True)
        if queries.question == "group":
            shown = np.zeros(len(counts), dtype=np.int64)
            shown[inverse] = queries.images_per_pair()
            per_group = self.prices.group_base + (shown - 1) * self.prices.group_item
        else:
            per_group = self.prices.captcha_base + counts * self.prices.captcha_item
        return (per_group / counts)[inverse]


class Oracle:
    """Base of the oracles. Subclasses are dataclasses of their parameters."""

    query_kinds: tuple[str, ...] = ("label",)

    def answer(self, queries: LabelQueries | PairQueries, truth: Truth,
               rng: np.random.Generator) -> Answers:
        values = np.asarray(self.respond(queries, truth, rng), dtype=np.int64)
        return Answers(queries, values, truth.price(queries))

    def respond(self, queries, truth, rng) -> np.ndarray:
        raise NotImplementedError

    def validate_for(self, n_classes: int, where: str) -> None:
        """Checks that need the dataset (a matrix's size, say); none by default."""


def same_class(queries: PairQueries, labels: np.ndarray) -> np.ndarray:
    """1 where the two samples of a pair share a label, else 0."""
    return (labels[queries.a] == labels[queries.b]).astype(np.int64)


__all__ += ["LabelQueries", "PairQueries", "PriceList", "same_class"]
