"""palbench.testing finds what is broken and names the rule: each broken component below
breaks one rule, and the check says which."""

from __future__ import annotations

import sys
from dataclasses import dataclass

import numpy as np
import pytest

from palbench import Learner, Oracle, Strategy
from palbench.learners.base import Model
from palbench.strategies.base import random_choice
from palbench.testing import ContractError, check_learner, check_oracle, check_strategy


@dataclass(frozen=True, kw_only=True)
class Twice(Strategy):
    def select(self, ctx, k, rng):
        picked = random_choice(ctx.candidates, k, rng)
        picked[-1] = picked[0]
        return picked


@dataclass(frozen=True, kw_only=True)
class Again(Strategy):
    def select(self, ctx, k, rng):
        asked = np.flatnonzero(ctx.queried)
        if len(asked):
            return np.r_[asked[:1], random_choice(ctx.candidates, k - 1, rng)]
        return random_choice(ctx.candidates, k, rng)


@dataclass(frozen=True, kw_only=True)
class GlobalRandom(Strategy):
    def select(self, ctx, k, rng):
        return np.random.default_rng().choice(ctx.candidates, size=min(k, len(ctx.candidates)),
                                              replace=False)


@dataclass(frozen=True, kw_only=True)
class Marks(Strategy):
    def select(self, ctx, k, rng):
        picked = random_choice(ctx.candidates, k, rng)
        ctx.queried[picked] = True  # "remember" them: corrupts the run's own ledger
        return picked


@dataclass(frozen=True, kw_only=True)
class Peeks(Strategy):
    """Digs the run's truth out of the caller's frame: class 0 first."""

    def select(self, ctx, k, rng):
        frame = sys._getframe(1)
        while frame is not None:
            for value in frame.f_locals.values():
                truth = getattr(value, "truth", None)
                if truth is not None and hasattr(truth, "y"):
                    y = truth.y[ctx.candidates]
                    return ctx.candidates[np.argsort(y, kind="stable")[:k]]
            frame = frame.f_back
        return random_choice(ctx.candidates, k, rng)


@dataclass(frozen=True, kw_only=True)
class Misspelt(Strategy):
    def validate_dat(self, data, where):
        pass

    def select(self, ctx, k, rng):
        return random_choice(ctx.candidates, k, rng)


@dataclass(frozen=True, kw_only=True)
class AnnotatedKind(Strategy):
    query_kind: str = "label"

    def select(self, ctx, k, rng):
        return random_choice(ctx.candidates, k, rng)


@dataclass(frozen=True)
class Positional(Strategy):
    weight: float = 1.0

    def select(self, ctx, k, rng):
        return random_choice(ctx.candidates, k, rng)


@pytest.mark.parametrize("cls,rule", [
    (Positional, "keyword-only dataclass .* parameter 'weight' can be given by position"),
    (Twice, "twice"),
    (Again, "already queried"),
    (GlobalRandom, "different picks for the same rng"),
    (Marks, "tried to change what it was handed"),
    (Peeks, "read the true labels"),
    (Misspelt, "did you mean 'validate_data'"),
    (AnnotatedKind, "ClassVar"),
])
def test_check_strategy_names_the_rule_broken(cls, rule):
    with pytest.raises(ContractError, match=rule):
        check_strategy(cls)


def test_check_strategy_refuses_what_is_not_a_strategy():
    class Plain:
        def select(self, ctx, k, rng):
            return []

    with pytest.raises(ContractError, match="must subclass palbench.Strategy"):
        check_strategy(Plain)


@dataclass(frozen=True, kw_only=True)
class ChargesNothing(Oracle):
    def respond(self, queries, truth, history, rng):
        return truth.y[queries.indices]

    def charge(self, queries, truth, history, listed):
        return listed * 0


@dataclass(frozen=True, kw_only=True)
class OutOfRange(Oracle):
    def respond(self, queries, truth, history, rng):
        return truth.y[queries.indices] + truth.n_classes


@pytest.mark.parametrize("cls,rule", [(ChargesNothing, "charges are finite and positive"),
                                      (OutOfRange, "answered")])
def test_check_oracle_names_the_rule_broken(cls, rule):
    with pytest.raises(ContractError, match=rule):
        check_oracle(cls)


class TrueLabelsModel(Model):
    def __init__(self, proba):
        self.proba = proba

    def predict_proba(self, X):
        return np.tile(self.proba, (len(X), 1))


@dataclass(frozen=True, kw_only=True)
class ReadsY(Learner):
    """Predicts the class frequencies of the whole pool: it reads data.y."""

    def fit(self, data, graph, *, seed):
        return TrueLabelsModel(np.bincount(data.y, minlength=data.n_classes) / len(data.y))


@dataclass(frozen=True, kw_only=True)
class Unseeded(Learner):
    def fit(self, data, graph, *, seed):
        p = np.random.default_rng().random(data.n_classes)
        return TrueLabelsModel(p / p.sum())


@dataclass(frozen=True, kw_only=True)
class BatchesOtherwise(Learner):
    """Its batched fits ignore each member's own seed: other models than its fits."""

    def fit(self, data, graph, *, seed):
        p = np.random.default_rng(seed).random(data.n_classes)
        return TrueLabelsModel(p / p.sum())

    def fit_batch(self, data, graphs, *, seeds):
        return [self.fit(data, graph, seed=seeds[0]) for graph in graphs]


@pytest.mark.parametrize("cls,rule", [(ReadsY, "read the true labels"),
                                      (Unseeded, "same seed and answers"),
                                      (BatchesOtherwise, "fit_batch than from fit")])
def test_check_learner_names_the_rule_broken(cls, rule):
    with pytest.raises(ContractError, match=rule):
        check_learner(cls)


def test_a_check_takes_a_name_a_class_or_an_instance_and_validates_each_alike(tmp_path):
    """An instance is validated exactly as a class built from params is; each refusal says
    which step refused (the name, the params' keys, a rule its parameters declare, the
    component's own validate)."""
    from palbench.strategies.typiclust import TypiClust
    from palbench.testing import check_dataset

    refusals = []
    for strategy, params in [(TypiClust(max_candidates=-1), None),
                             (TypiClust, {"max_candidates": -1}),
                             ("typiclust", {"max_candidates": -1})]:
        with pytest.raises(ContractError) as info:
            check_strategy(strategy, params=params)
        refusals.append(str(info.value))
    assert len(set(refusals)) == 1 and "breaks a rule its parameters declare" in refusals[0]
    assert "strategy.max_candidates = -1: must be >= 0 (0: the whole pool)" in refusals[0]
    with pytest.raises(ContractError, match="cannot be built from params .* \\(did you mean "
                                            "'max_candidates'"):
        check_strategy("typiclust", params={"max_candidatez": 1})
    with pytest.raises(ContractError, match="'margni' cannot be checked: .* \\(did you mean "
                                            "'margin'"):
        check_strategy("margni")
    with pytest.raises(TypeError, match="instance given carries its own"):
        check_strategy(TypiClust(), params={"neighbours": 3})
    with pytest.raises(ContractError, match="is refused by its own validate: dataset.n_samples "
                                            "= 5: must be at least 4 per class"):
        check_dataset("blobs", params={"n_samples": 5})  # a rule across two fields
    path = tmp_path / "pool.csv"
    rng = np.random.default_rng(0)
    rows = ["a,b,label"] + [f"{x:.3f},{y:.3f},{int(x > 0)}" for x, y in rng.normal(size=(60, 2))]
    path.write_text("\n".join(rows) + "\n")
    check_dataset("csv", params={"path": str(path), "label_column": "label"})  # by its name
