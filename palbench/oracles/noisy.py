"""Noisy annotators: symmetric label flips, a class-conditional confusion matrix, abstentions."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from palbench.errors import check
from palbench.fields import param
from palbench.oracles.base import ABSTAIN, ORACLES, Oracle, WrapperOracle


@ORACLES.register("noisy_label")
@dataclass(frozen=True, kw_only=True)
class NoisyLabel(Oracle):
    """With probability `noise`, answers a uniformly drawn wrong class instead of the true one."""

    noise: float = param(0.1, ge=0, le=1)  # probability of answering a wrong class

    def respond(self, queries, truth, history, rng):
        y = truth.y[queries.indices]
        flip = rng.random(len(y)) < self.noise
        shift = rng.integers(1, truth.n_classes, size=len(y))
        return np.where(flip, (y + shift) % truth.n_classes, y)


@ORACLES.register("confusion")
@dataclass(frozen=True, kw_only=True)
class Confusion(Oracle):
    """Answers class j for a sample of true class i with probability `matrix[i][j]`."""
    examples = ({"matrix": [[0.8, 0.1, 0.1], [0.0, 1.0, 0.0], [0.2, 0.2, 0.6]]},)

    # row i: the distribution of answers for true class i
    matrix: tuple[tuple[float, ...], ...] = param(ge=0)

    def validate(self, where):
        field_name = f"{where}.matrix"
        check(len(self.matrix) > 0, field_name, self.matrix, "a square matrix is required")
        for i, row in enumerate(self.matrix):
            check(len(row) == len(self.matrix), f"{field_name}[{i}]", list(row),
                  f"row has {len(row)} entries, the matrix has {len(self.matrix)} rows")
            check(abs(sum(row) - 1.0) < 1e-6, f"{field_name}[{i}]", list(row),
                  f"row sums to {sum(row):.6g}, must sum to 1")

    def validate_data(self, data, where):
        check(len(self.matrix) == data.n_classes, f"{where}.matrix", f"{len(self.matrix)} rows",
              f"the dataset has {data.n_classes} classes")

    def respond(self, queries, truth, history, rng):
        return self.draw(truth.y[queries.indices], rng)

    def draw(self, classes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """One answer per true class given, drawn from its row of the matrix."""
        cumulative = np.cumsum(np.asarray(self.matrix, dtype=np.float64), axis=1)
        cumulative[:, -1] = 1.0
        u = rng.random(len(classes))
        return (cumulative[classes] < u[:, None]).sum(axis=1)


@ORACLES.register("abstain")
@dataclass(frozen=True, kw_only=True)
class Abstain(WrapperOracle):
    """Wraps another oracle (`base`, label or pair); abstains with probability `rate`, charged."""

    # probability of abstaining on a query (the query is still charged)
    rate: float = param(0.1, ge=0, lt=1)
    # the wrapped oracle's table (its name and parameters)
    base: dict = param(default_factory=lambda: {"name": "exact"}, component="oracle")

    def validate(self, where):
        inner = self.inner(where)
        check(not isinstance(inner, Abstain), f"{where}.base.name", "abstain",
              "an abstain oracle cannot wrap another abstain oracle")


    def respond(self, queries, truth, history, rng):
        abstained = rng.random(len(queries)) < self.rate
        values = self.inner().respond(queries, truth, history, rng)
        return np.where(abstained, ABSTAIN, values)

    def charge(self, queries, truth, history, listed):
        """What the wrapped oracle charges: an abstention takes the same time."""
        return self.inner().charge(queries, truth, history, listed)
