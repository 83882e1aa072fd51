"""What every oracle shares: the ground truth it reads, the price list, its registry."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from palbench.protocol import Component, build_nested
from palbench.queries import (
    ABSTAIN,
    AnnotatorHistory,
    Answers,
    LabelQueries,
    PairQueries,
    PriceList,
)
from palbench.registry import Registry

__all__ = ["ABSTAIN", "ORACLES", "AnnotatorHistory", "Answers", "Oracle", "Truth"]


@dataclass(frozen=True)
class Truth:
    """What only the simulated annotator may read: the pool's true labels `y` (global pool
    indices), `n_classes`, the `prices`, and `labelling_seed` for answers drawn once per run.
    Strategies see the prices alone, never this object. In an oracle's `answer`:

        values = truth.y[queries.indices]        # a label query's true classes
        return Answers(queries, values, truth.price(queries))
    """

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
            per_group = self.prices.group(shown)
        else:
            per_group = self.prices.captcha(counts)
        return (per_group / counts)[inverse]


class Oracle(Component):
    """Base of the oracles (simulated annotators): a frozen keyword-only dataclass of parameters.

    An oracle reads the Truth, answers each query (a class, 1/0 for "same class?", or
    ABSTAIN) and says what each answer was charged: the price list's price unless `charge`
    says otherwise. Answers and charges are a function of (queries, truth, history, rng): the
    harness hands in the run's `AnnotatorHistory` (answers so far, per worker, the clock) and
    rebuilds it from the stored answer log, so an oracle keeps no state of its own. Most
    oracles define `respond` alone, some `charge` too; `palbench.testing.check_oracle` checks
    a subclass against this contract, and every run checks it on a dry run first.
    """

    kind: ClassVar[str] = "oracle"
    query_kinds: ClassVar[tuple[str, ...]] = ("label",)  # what it answers: label, pair
    preset_classes: ClassVar[int | None] = None  # the classes a preset is made for; None: any

    def answer(self, queries: LabelQueries | PairQueries, truth: Truth,
               history: AnnotatorHistory, rng: np.random.Generator) -> Answers:
        """The answers to a batch, each listed at the truth's price list and charged what
        `charge` says."""
        values = np.asarray(self.respond(queries, truth, history, rng), dtype=np.int64)
        listed = truth.price(queries)
        return Answers(queries, values, listed, self.charge(queries, truth, history, listed))

    def respond(self, queries, truth: Truth, history: AnnotatorHistory,
                rng: np.random.Generator) -> np.ndarray:
        """One value per query: a class (label queries), 1 same / 0 not (pair queries), or
        ABSTAIN."""
        raise NotImplementedError(f"{type(self).__name__} must define respond(queries, truth, "
                                  "history, rng) or answer(...)")

    def charge(self, queries, truth: Truth, history: AnnotatorHistory,
               listed: np.ndarray) -> np.ndarray:
        """Seconds (cost units) each answer is charged, finite and positive: by default what
        the price list says (`listed`)."""
        return listed

    def routing_pool(self) -> tuple[int, int] | None:
        """(workers, redundancy) when a strategy chooses who answers; None by default."""
        return None


class WrapperOracle(Oracle):
    """An oracle around another: a subclass declares the field `base` (the wrapped oracle's
    table, `param(..., component="oracle")`) and answers through `inner()`; what it asks of
    the data and which questions it answers are the wrapped oracle's."""

    def inner(self, where: str = "oracle") -> Oracle:
        return build_nested("oracle", self.base, f"{where}.base")

    def validate_data(self, data, where):
        self.inner(where).validate_data(data, f"{where}.base")

    @property
    def query_kinds(self):
        return self.inner().query_kinds


ORACLES = Registry.for_base(Oracle)


def same_class(queries: PairQueries, labels: np.ndarray) -> np.ndarray:
    """1 where the two samples of a pair share a label, else 0."""
    return (labels[queries.a] == labels[queries.b]).astype(np.int64)


__all__ += ["LabelQueries", "PairQueries", "PriceList", "same_class"]
