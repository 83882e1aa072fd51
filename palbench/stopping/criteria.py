"""The built-in stopping criteria (the families compared by Pullar-Strecker et al. 2024)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.metrics import cohen_kappa_score

from palbench.fields import param
from palbench.stopping.base import STOPPING, StoppingCriterion


@dataclass(frozen=True, kw_only=True)
class Windowed(StoppingCriterion):
    """A criterion that must hold over `window` successive checkpoints."""

    window: int = param(3, ge=1)  # successive checkpoints the condition must hold for


@STOPPING.register("stabilizing_predictions")
@dataclass(frozen=True, kw_only=True)
class StabilizingPredictions(Windowed):
    """Bloodgood and Vijay-Shanker (2009): stop when successive models agree on the stop set,
    Cohen's kappa >= `kappa` for `window` successive pairs of checkpoints."""

    # least Cohen's kappa between successive models on the stop set
    kappa: float = param(0.99, ge=-1, le=1)

    def should_stop(self, history):
        if len(history) <= self.window:
            return False
        recent = history[-self.window - 1:]
        return all(_kappa(a.stop_predictions, b.stop_predictions) >= self.kappa
                   for a, b in zip(recent, recent[1:]))


def _kappa(a: np.ndarray, b: np.ndarray) -> float:
    if np.array_equal(a, b):
        return 1.0  # sklearn gives NaN when both are one constant class
    return float(cohen_kappa_score(a, b))


@STOPPING.register("classification_change")
@dataclass(frozen=True, kw_only=True)
class ClassificationChange(Windowed):
    """Zhu et al. (2008): stop when at most `max_change` of the stop set changes its predicted
    class between successive checkpoints, `window` times in a row."""

    window: int = param(1, ge=1)  # successive checkpoints the condition must hold for
    # most share of the stop set whose predicted class may change
    max_change: float = param(0.0, ge=0, lt=1)

    def should_stop(self, history):
        if len(history) <= self.window:
            return False
        recent = history[-self.window - 1:]
        return all(float(np.mean(a.stop_predictions != b.stop_predictions)) <= self.max_change
                   for a, b in zip(recent, recent[1:]))


@STOPPING.register("overall_uncertainty")
@dataclass(frozen=True, kw_only=True)
class OverallUncertainty(StoppingCriterion):
    """Zhu et al. (2008): stop when the mean uncertainty (1 - max probability) over the stop
    set falls below `threshold`."""

    # mean uncertainty (1 - max probability) to fall below
    threshold: float = param(0.1, gt=0, lt=1)

    def should_stop(self, history):
        return history[-1].stop_uncertainty < self.threshold


@STOPPING.register("performance_plateau")
@dataclass(frozen=True, kw_only=True)
class PerformancePlateau(StoppingCriterion):
    """Stop when the validation accuracy has not risen by more than `epsilon` above its best
    so far for `patience` checkpoints."""

    patience: int = param(2, ge=1)  # checkpoints without a rise before stopping
    epsilon: float = param(0.005, ge=0, lt=1)  # least rise of validation accuracy that counts

    def should_stop(self, history):
        if len(history) <= self.patience:
            return False
        best = max(o.validation_acc for o in history[: -self.patience])
        return all(o.validation_acc <= best + self.epsilon for o in history[-self.patience:])


@STOPPING.register("max_budget")
@dataclass(frozen=True, kw_only=True)
class MaxBudget(StoppingCriterion):
    """Stop at the first checkpoint whose cost reaches `budget`."""

    budget: float = param(100.0, gt=0)  # the cost at which to stop

    def should_stop(self, history):
        return history[-1].cost >= self.budget - 1e-9
