"""The stopping-criterion protocol: what a criterion sees at a checkpoint, and its one hook."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from palbench.protocol import Component
from palbench.registry import Registry

STOP_SET = 1000  # pool samples whose predictions the criteria watch (all of a smaller pool)
VALIDATION_SHARE = 0.2  # of the test set, whose labels a criterion may read


@dataclass(frozen=True)
class Observation:
    """What a criterion sees at one checkpoint (never the labels of the evaluation): the
    spend, the task model's classes and uncertainty on the stop set (a fixed sample of the
    pool, unlabelled), and its accuracy on the validation split (a fixed 20% of the test set,
    the labelled data a practitioner keeps aside).

    Attributes:
        budget: the checkpoint's budget (the `[experiment] budgets` value it was taken at).
        cost: what was spent so far (at most `budget`; less when the pool ran out).
        n_queries: the queries asked so far (labels and pairs alike).
        stop_predictions: (min(1000, pool),) int64, read-only: the task model's class for
            each sample of the stop set, the same samples at every checkpoint of a run.
        stop_uncertainty: the mean over the stop set of 1 - the highest class probability.
        validation_acc: the task model's accuracy on the validation split, in [0, 1].

    Example: a criterion that stops once validation accuracy reaches 0.8, with the history
    `palbench.testing.check_stopping` feeds it:

        >>> from palbench.testing import synthetic_history
        >>> history = synthetic_history()
        >>> [round(o.validation_acc, 2) for o in history[:4]]
        [0.5, 0.55, 0.6, 0.65]
        >>> next(i for i, o in enumerate(history) if o.validation_acc >= 0.8)
        6
    """

    budget: float
    cost: float
    n_queries: int
    stop_predictions: np.ndarray
    stop_uncertainty: float  # mean of 1 - max probability over the stop set
    validation_acc: float


@dataclass(frozen=True, kw_only=True)
class StoppingCriterion(Component):
    """Base of the stopping criteria: a frozen dataclass of parameters whose `should_stop`
    says, from the observations so far, whether to stop at the latest one. It must not keep
    state between calls (it is called on every prefix of the history)."""

    kind: ClassVar[str] = "stopping"

    def should_stop(self, history: Sequence[Observation]) -> bool:
        """True to stop at `history[-1]`, given every `Observation` of the run so far (oldest
        first, a tuple). A plugin's, e.g.:

            def should_stop(self, history):
                return history[-1].validation_acc >= self.target
        """
        raise NotImplementedError(f"{type(self).__name__} must define should_stop(history)")


STOPPING = Registry.for_base(StoppingCriterion)


def first_stop(criterion: StoppingCriterion, history: Sequence[Observation]) -> int | None:
    """The index of the first checkpoint at which `criterion` stops, or None."""
    for i in range(len(history)):
        if criterion.should_stop(tuple(history[: i + 1])):
            return i
    return None
