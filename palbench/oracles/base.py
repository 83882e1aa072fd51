"""What every oracle shares: the answer record, the ground truth it reads, its registry."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from palbench.registry import Registry

ORACLES = Registry("oracles")
ABSTAIN = -1  # the label of an abstention: charged, but no information


@dataclass(frozen=True)
class Truth:
    """What the simulated annotator may read: the pool's true labels and the price list."""

    y: np.ndarray
    n_classes: int
    label_cost: np.ndarray  # cost of labelling one sample, per true class

    def cost_of(self, indices: np.ndarray) -> np.ndarray:
        return self.label_cost[self.y[indices]]


@dataclass(frozen=True)
class Answers:
    """One batch of answers: the queried indices, what was said (ABSTAIN for none), its cost."""

    indices: np.ndarray
    labels: np.ndarray
    cost: np.ndarray

    def __len__(self) -> int:
        return len(self.indices)

    @property
    def total_cost(self) -> float:
        return float(self.cost.sum())


class Oracle:
    """Base of the label oracles. Subclasses are dataclasses of their parameters."""

    query_kind = "label"

    def answer(self, indices: np.ndarray, truth: Truth, rng: np.random.Generator) -> Answers:
        indices = np.asarray(indices, dtype=np.int64)
        labels = self.respond(indices, truth, rng)
        return Answers(indices, labels.astype(np.int64), truth.cost_of(indices))

    def respond(self, indices, truth, rng) -> np.ndarray:
        raise NotImplementedError

    def validate_for(self, n_classes: int, where: str) -> None:
        """Checks that need the dataset (a matrix's size, say); none by default."""
