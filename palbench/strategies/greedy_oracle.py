"""`greedy_oracle`: a reference line above the strategies, not a strategy one could deploy.

Each pick: draw `candidates` unqueried samples at random, train the selection learner on what
the annotator has said so far plus one candidate with its *true* label, and keep the candidate
that scores best (CDALBench's greedy oracle, Werner et al. 2024; Lu et al.'s beam-search
oracle with a beam of one). It reads the truth by design (`reads_truth`), so reports mark it
as an oracle line and keep it out of ranks and verdicts.

`score_on = "validation"` (default) scores on a part of the pool drawn once per run from the
strategy's seed; `"test"` scores on the test set itself, as Lu et al.'s oracle looks at it: a
higher line, but one that has seen what the runs are evaluated on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from palbench.fields import param
from palbench.strategies.base import STRATEGIES, Strategy, top_k

SCORE_ON = ("validation", "test")


@STRATEGIES.register("greedy_oracle")
@dataclass(frozen=True, kw_only=True)
class GreedyOracle(Strategy):
    """Among `candidates` random unqueried samples, the one whose true label most raises the
    selection learner's accuracy (a batch: k such picks, each given the ones before it)."""
    examples = ({"candidates": 3},)  # it trains a model per candidate and pick

    reads_truth: ClassVar[bool] = True
    candidates: int = param(20, ge=1)  # random unqueried samples scored per pick
    # the share of the pool scored on, with score_on = "validation"
    validation: float = param(0.5, gt=0, le=1, note="a share of the pool")
    # what a candidate is judged by: "validation" or "test"
    score_on: str = param("validation", choices=SCORE_ON)

    def requires(self):
        return frozenset({"fit_labels"})

    def scored_on(self, ctx) -> tuple[np.ndarray, np.ndarray]:
        """The samples and true labels each candidate is judged by (fixed for the run)."""
        if self.score_on == "test":
            return ctx.truth.X_test, ctx.truth.y_test
        if "validation" not in ctx.cache:
            n = len(ctx.X)
            size = max(1, int(round(self.validation * n)))
            rows = np.sort(np.random.default_rng(ctx.seed).choice(n, size=size, replace=False))
            ctx.cache["validation"] = rows
        rows = ctx.cache["validation"]
        return ctx.X[rows], ctx.truth.y[rows]

    def select(self, ctx, k, rng):
        X_score, y_score = self.scored_on(ctx)
        known = np.asarray(ctx.graph.known_labels())
        labelled = np.flatnonzero(known >= 0)
        X_fit, y_fit = ctx.X[labelled], known[labelled]  # what the annotator said
        left = ctx.candidates
        picked: list[int] = []
        for _ in range(min(k, len(left))):
            draw = rng.choice(left, size=min(self.candidates, len(left)), replace=False)
            scores = np.array([self.accuracy_with(ctx, X_fit, y_fit, int(c), X_score, y_score)
                               for c in draw])
            best = int(top_k(scores, draw, 1, rng)[0])
            picked.append(best)
            X_fit = np.concatenate([X_fit, ctx.X[best][None]])
            y_fit = np.append(y_fit, ctx.truth.y[best])
            left = left[left != best]
        return np.array(picked, dtype=np.int64)

    @staticmethod
    def accuracy_with(ctx, X_fit, y_fit, candidate, X_score, y_score) -> float:
        X = np.concatenate([X_fit, ctx.X[candidate][None]])
        y = np.append(y_fit, ctx.truth.y[candidate])
        model = ctx.learner.fit_labels(X, y, ctx.n_classes, seed=ctx.seed)
        return float((model.predict_proba(X_score).argmax(axis=1) == y_score).mean())
