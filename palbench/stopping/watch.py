"""Watch a run for its stopping criteria: one observation per checkpoint, then where each
criterion would have stopped. It reads the task model and never changes the run."""

from __future__ import annotations

import numpy as np

from palbench.stopping.base import STOP_SET, VALIDATION_SHARE, Observation, first_stop

WATCH_STREAM = 0x5709  # the spawn key of the stop set and validation split of a run's seed


class StopWatch:
    def __init__(self, data, seed: int, criteria: dict):
        """`criteria`: label -> criterion. The stop set and the validation split are drawn
        once per run from a stream of their own."""
        rng = np.random.default_rng(np.random.SeedSequence([seed, WATCH_STREAM]))
        self.data, self.criteria = data, criteria
        self.stop_set = np.sort(rng.choice(data.n_pool, size=min(STOP_SET, data.n_pool),
                                           replace=False))
        n_val = max(1, int(round(VALIDATION_SHARE * len(data.y_test))))
        self.validation = np.sort(rng.choice(len(data.y_test), size=n_val, replace=False))
        self.history: list[Observation] = []

    def observe(self, budget: float, cost: float, n_queries: int, model,
                test_proba: np.ndarray) -> None:
        proba = model.predict_proba(self.data.X[self.stop_set])
        val = test_proba[self.validation].argmax(axis=1) == self.data.y_test[self.validation]
        self.history.append(Observation(budget, cost, n_queries, proba.argmax(axis=1),
                                        float(np.mean(1.0 - proba.max(axis=1))),
                                        float(val.mean())))

    def verdicts(self, task_accs: list[float]) -> dict[str, dict]:
        """Per criterion: whether it stopped, and the budget, cost and task accuracy there
        with the loss against the run's final accuracy (the last checkpoint when it never
        stopped)."""
        found = {}
        for label, criterion in self.criteria.items():
            at = first_stop(criterion, self.history)
            i = len(self.history) - 1 if at is None else at
            found[label] = {"stopped": at is not None, "budget": self.history[i].budget,
                            "cost": self.history[i].cost, "task_acc": task_accs[i],
                            "loss": task_accs[-1] - task_accs[i]}
        return found
