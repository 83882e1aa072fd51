"""The only place where strategy, oracle, learner and evaluation meet: one cell, start to end.

For every budget (cumulative cost units): ask the strategy for a batch, charge the oracle's
answers, repeat until the budget is spent; then retrain the learner from scratch on every label
received so far and evaluate it. Model-based strategies get a model refitted before each round.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from palbench.bench.config import Cell, seed_streams
from palbench.bench.data import Dataset
from palbench.oracles.base import ABSTAIN, Truth
from palbench.strategies.base import QueryContext


@dataclass
class Checkpoint:
    budget: float
    cost: float
    n_queries: int
    n_labels: int
    n_abstain: int
    n_wrong: int
    task_acc: float
    probe_acc: float | None
    select_seconds: float
    fit_seconds: float
    eval_seconds: float


@dataclass
class CellResult:
    cell: Cell
    seeds: dict
    device: str
    checkpoints: list[Checkpoint] = field(default_factory=list)
    wall_seconds: float = 0.0


@contextmanager
def single_threaded():
    """Pin torch and BLAS to one thread: N workers on N cores must not oversubscribe, and one
    thread makes CPU results independent of the executor."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with threadpool_limits(limits=1):
            yield
    finally:
        torch.set_num_threads(previous)


def probe_accuracy(model, data: Dataset) -> float | None:
    """Linear probe on the frozen representation, fitted on all training labels."""
    Z = model.embed(data.X)
    if Z is None:
        return None
    scaler = StandardScaler().fit(Z)
    probe = LogisticRegression(max_iter=300).fit(scaler.transform(Z), data.y)
    return float((probe.predict(scaler.transform(model.embed(data.X_test))) == data.y_test).mean())


class Acquired:
    """Everything the oracle said so far, per pool sample."""

    def __init__(self, n: int):
        self.queried = np.zeros(n, dtype=bool)
        self.label = np.full(n, ABSTAIN, dtype=np.int64)
        self.spent = 0.0
        self.n_queries = self.n_abstain = self.n_wrong = 0

    def add(self, answers, truth_y: np.ndarray) -> None:
        self.queried[answers.indices] = True
        self.label[answers.indices] = answers.labels
        self.spent += answers.total_cost
        self.n_queries += len(answers)
        said = answers.labels != ABSTAIN
        self.n_abstain += int((~said).sum())
        self.n_wrong += int((answers.labels[said] != truth_y[answers.indices[said]]).sum())

    def labelled(self) -> np.ndarray:
        return np.flatnonzero(self.label != ABSTAIN)


def check_selection(picked: np.ndarray, queried: np.ndarray, k: int, label: str) -> None:
    """Strategies are plugins: a broken contract must stop the run, not bias it."""
    if len(picked) == 0 or len(picked) > k or len(np.unique(picked)) != len(picked) or \
            queried[picked].any():
        raise RuntimeError(f"strategy {label!r} broke its contract: it returned {len(picked)} "
                           f"indices for k={k} (must be distinct, unqueried, at least one)")


def run_cell(cell: Cell, data: Dataset,
             on_checkpoint: Callable[[Checkpoint], None] | None = None) -> CellResult:
    """Run one cell to its last budget and return its checkpoints (nothing is written here)."""
    started = time.perf_counter()
    seeds = seed_streams(cell.seed)
    strategy_rng = np.random.default_rng(seeds["strategy"])
    oracle_rng = np.random.default_rng(seeds["oracle"])
    strategy, oracle, learner = cell.strategy.obj, cell.oracle.obj, cell.learner.obj
    label_cost = cell.costs.obj.label_costs(data.class_names, "costs")
    truth = Truth(data.y, data.n_classes, label_cost)
    state = Acquired(data.n_pool)
    ctx = QueryContext(X=data.X, queried=state.queried, n_classes=data.n_classes)
    result = CellResult(cell, seeds, learner.device_name)
    model, fitted_on = None, -1
    cheapest = float(label_cost.min())

    def refit():
        nonlocal model, fitted_on
        idx = state.labelled()
        model = learner.fit(data.X[idx], state.label[idx], data.n_classes,
                            seed=seeds["learner"])
        fitted_on = state.n_queries
        ctx.model, ctx.model_version = model, ctx.model_version + 1

    with single_threaded():
        for budget in cell.experiment.budgets:
            select_s = fit_s = 0.0
            while state.spent < budget - 1e-9 and not state.queried.all():
                if strategy.needs_model and fitted_on != state.n_queries and \
                        len(state.labelled()):
                    t0 = time.perf_counter()
                    refit()
                    fit_s += time.perf_counter() - t0
                affordable = int(np.floor((budget - state.spent) / cheapest + 1e-9))
                k = max(1, min(cell.experiment.batch_size, affordable))
                t0 = time.perf_counter()
                picked = np.asarray(strategy.select(ctx, k, strategy_rng), dtype=np.int64)
                select_s += time.perf_counter() - t0
                check_selection(picked, state.queried, k, cell.strategy.label)
                state.add(oracle.answer(picked, truth, oracle_rng), data.y)
            t0 = time.perf_counter()
            if fitted_on != state.n_queries:
                refit()
            fit_s += time.perf_counter() - t0
            t0 = time.perf_counter()
            predicted = model.predict_proba(data.X_test).argmax(axis=1)
            task_acc = float((predicted == data.y_test).mean())
            probe_acc = probe_accuracy(model, data) if cell.experiment.probe else None
            checkpoint = Checkpoint(
                budget=float(budget), cost=state.spent, n_queries=state.n_queries,
                n_labels=len(state.labelled()), n_abstain=state.n_abstain,
                n_wrong=state.n_wrong, task_acc=task_acc, probe_acc=probe_acc,
                select_seconds=select_s, fit_seconds=fit_s,
                eval_seconds=time.perf_counter() - t0)
            result.checkpoints.append(checkpoint)
            if on_checkpoint is not None:
                on_checkpoint(checkpoint)
    result.wall_seconds = time.perf_counter() - started
    return result
