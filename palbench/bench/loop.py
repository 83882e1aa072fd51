"""The only place where strategy, oracle, learner and evaluation meet: one cell, start to end.

Every answer becomes an edge of one SimilarityGraph, whatever the query kind. For every budget
(cumulative cost units): ask the strategy for a batch, charge the oracle's answers, add them to
the graph, repeat until the budget is spent or nothing is left to ask; then retrain the learner
from scratch on the graph and evaluate it. Model-based strategies get a model refitted before
each round. Pair strategies start with `free_exemplars` labelled samples per class, revealed
at no cost and reported as n_free.
"""

from __future__ import annotations

import contextlib
import time
import traceback
from collections.abc import Callable, Generator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial

import numpy as np

from palbench.bench.evaluation import evaluate
from palbench.bench.grid import Cell
from palbench.bench.ledger import Ledger
from palbench.bench.threads import single_threaded
from palbench.datasets import Dataset
from palbench.errors import ComponentError, ConfigError, TrainingDiverged, first_line
from palbench.graph import SimilarityGraph
from palbench.graph_readers import GraphView
from palbench.oracles.base import Truth
from palbench.queries import LabelQueries, as_queries
from palbench.results.schema import METRICS, Checkpoint
from palbench.seeds import seed_streams
from palbench.stopping.watch import StopWatch
from palbench.strategies.base import TruthView, selection_problem
from palbench.views import read_only


@dataclass
class CellResult:
    cell: Cell
    seeds: dict
    device: str
    checkpoints: list[Checkpoint] = field(default_factory=list)
    wall_seconds: float = 0.0
    answers: list[tuple] = field(default_factory=list)  # the answer log (schema.ANSWER_FIELDS)
    stops: dict | None = None  # per stopping criterion: where it would have stopped
    full_pool_acc: float | None = None  # the task learner on every pool label (when asked)


def component_frames(exc: BaseException) -> str:
    """The traceback of `exc` from the harness's call into the component down to the raise
    (the harness's own frames above it left out)."""
    harness = {__file__, contextlib.__file__}
    frames = traceback.extract_tb(exc.__traceback__)
    while len(frames) > 1 and frames[0].filename in harness:
        frames = frames[1:]
    return "".join(traceback.format_list(frames))


@dataclass(frozen=True)
class Fit:
    """A fit a cell waits for: its learner (`field` names it in errors) on the cell's answers
    so far, with the cell's learner seed; `apart`: the task learner's, beside a selection
    learner. `alone()` runs it by itself; the driver batches equal learners' fits."""

    state: CellState
    learner: object
    field: str
    apart: bool

    def alone(self):
        with self.state.blame(self.field, "fitting the learner"):
            return self.learner.fit(self.state.data, self.state.ledger.learner_view,
                                    seed=self.state.seeds["learner"])


class CellState:
    """One cell between checkpoints: what the strategy sees (`ctx`, `prices`), what only the
    oracle reads (`truth`), the ledger of answers, and the models: the selection learner's,
    which model-based strategies see, and the task learner's, which each checkpoint evaluates
    (one and the same unless a selection learner is given). The one way into a run: `run_cell`
    drives it, and so do the contract checks (`palbench.testing`) and the benchmarks, on cells
    of built components (`bench.grid.cell_for`). The constructor only stores; `start()`
    reveals pair strategies' exemplars, asks the oracle for the initial set and builds the
    context."""

    def __init__(self, cell: Cell, data: Dataset):
        self.cell, self.data = cell, data.trained_on(cell.learner.obj.input)
        self.strategy, self.oracle = cell.strategy.obj, cell.oracle.obj
        self.learner = cell.learner.obj
        self.selector = cell.selector.obj
        self.label, self.learner_label = cell.strategy.label, cell.learner.label
        self.selector_label = cell.selector.label
        self.seeds = {"root": cell.seed, **seed_streams(cell.seed)}
        self.ledger = self.ctx = self.truth = None
        self.model, self.fitted_on = None, -1  # the selection learner's model
        self.task, self.task_fitted_on = None, -1  # the task learner's, when apart
        self.select_seconds = self.pretrain_seconds = 0.0

    def start(self) -> CellState:
        """Before the first round: the streams, the truth, the ledger with its free exemplars
        and initial set, and the strategy's context. Returns the state itself."""
        data, experiment, seeds = self.data, self.cell.experiment, self.seeds
        self.strategy_rng = np.random.default_rng(seeds["strategy"])
        self.oracle_rng = np.random.default_rng(seeds["oracle"])
        self.prices = self.cell.costs.obj.price_list(data.class_names)
        self.truth = Truth(data.y, data.n_classes, self.prices,
                           labelling_seed=seeds["labelling"])
        self.ledger = Ledger(data, experiment.conflict_rule, experiment.closure)
        exemplars = self.ledger.reveal_exemplars(data.y, self.strategy.free_exemplars,
                                                 data.n_classes, self.strategy_rng)
        self.label_initial(experiment.initial, experiment.initial_by,
                           experiment.initial_charged)
        embeds_pool = "pool_embedding" in self.selector.capabilities(data)
        self.ctx = self.ledger.context(
            data, exemplars, learner=self.selector, seed=seeds["strategy"],
            pool=self.oracle.routing_pool(),
            features=None if data.features is None else read_only(data.features),
            inputs=None if data.inputs is None else read_only(data.inputs),
            truth=TruthView(read_only(data.y), read_only(data.X_test), read_only(data.y_test))
            if self.strategy.reads_truth else None,
            pool_embedding=partial(self.selector.pool_embedding, data, seed=seeds["learner"])
            if embeds_pool else None)
        return self

    def label_initial(self, n: int, by: str, charged: bool) -> None:
        """The initial labelled set: n samples of the pool at random, or n of every class,
        drawn from a stream of its own and answered by the run's oracle (noise applies)."""
        if n == 0:
            return
        rng = np.random.default_rng(self.seeds["initial"])
        free = ~self.ledger.queried  # pair strategies' exemplars are known already
        if by == "per_class":
            picked = np.concatenate([
                rng.choice(members, size=min(n, len(members)), replace=False)
                for members in (np.flatnonzero(free & (self.data.y == c))
                                for c in range(self.data.n_classes))])
        else:
            picked = rng.choice(np.flatnonzero(free), size=n, replace=False)
        answers = self.oracle.answer(LabelQueries(np.sort(picked).astype(np.int64)),
                                     self.truth, self.ledger.history(), self.oracle_rng)
        self.ledger.add(answers, self.data.y, free=not charged)

    @property
    def model_is_stale(self) -> bool:
        return self.fitted_on != self.ledger.n_queries

    def fit_request(self, task: bool) -> Fit:
        """The fit this cell needs next: the selection learner's (task False), or the task
        learner's, which is the selection learner itself unless one is apart."""
        learner = self.learner if task else self.selector
        field = "learner" if learner is self.learner else "selection_learner"
        return Fit(self, learner, field, task and self.selector is not self.learner)

    @property
    def task_is_stale(self) -> bool:
        if self.selector is self.learner:
            return self.model_is_stale
        return self.task_fitted_on != self.ledger.n_queries or self.task is None

    def adopt(self, fit: Fit, model) -> None:
        """Take the model a fit gave: the task model apart, or the selection model the
        strategy sees from its next round on."""
        self.pretrain_seconds += model.pretrain_seconds
        if fit.apart:
            self.task, self.task_fitted_on = model, self.ledger.n_queries
            return
        self.model, self.fitted_on = model, self.ledger.n_queries
        self.ctx.model, self.ctx.model_version = model, self.ctx.model_version + 1

    def refit(self) -> None:
        """Retrain the selection learner from scratch on everything answered so far (the
        contract checks and benchmarks call it; a run asks through `cell_steps`)."""
        fit = self.fit_request(task=False)
        self.adopt(fit, fit.alone())

    def task_model(self):
        """The task learner trained on everything answered so far (fitted here when stale):
        the selection model itself unless a selection learner is apart."""
        if self.task_is_stale:
            fit = self.fit_request(task=True)
            self.adopt(fit, fit.alone())
        return self.task if self.selector is not self.learner else self.model

    def full_pool_accuracy(self) -> float:
        """The full-pool bound: the task learner trained on the true label of every pool
        sample (the ceiling a strategy's curve runs up to), its test accuracy."""
        graph = SimilarityGraph(self.data.n_pool, self.data.n_classes)
        graph.add_labels(np.arange(self.data.n_pool), self.data.y)
        with self.blame("learner", "fitting the learner on the whole pool"):
            model = self.learner.fit(self.data, GraphView(graph), seed=self.seeds["learner"])
            predicted = model.predict_proba(self.data.X_test).argmax(axis=1)
        return float((predicted == self.data.y_test).mean())

    def where(self) -> str:
        return (f"on {self.data.name!r} (strategy {self.label!r}, seed "
                f"{self.seeds.get('root', '?')}) after {self.ledger.n_queries} answers")

    @contextmanager
    def blame(self, field: str, doing: str):
        """Name the component at fault and the run when its code raises. A ConfigError (a
        component refusing what it was given) and a TrainingDiverged (a learner with no usable
        model at some checkpoint, or a scikit-learn estimator refusing its labels there) keep
        their type: one line, exit 2. Any other exception is a bug in the component: a
        ComponentError carrying the component's own traceback frames."""
        label = {"learner": self.learner_label, "selection_learner": self.selector_label,
                 "stopping": "criteria"}.get(field, self.label)
        try:
            yield
        except MemoryError:
            raise
        except ConfigError as exc:
            raise ConfigError(field, label, f"{doing} failed {self.where()}: {exc}") from None
        except TrainingDiverged as exc:
            raise TrainingDiverged(f"{doing} failed {self.where()}: {exc}", field,
                                   label) from None
        except Exception as exc:
            raise ComponentError(
                f"{field} {label!r} raised {first_line(exc)} while {doing} {self.where()}",
                component_frames(exc), "".join(traceback.format_exception(exc))) from None

    def ask(self, k: int) -> bool:
        """One round: the strategy selects at most k queries, the oracle answers, the ledger
        records. False when the strategy has nothing left to ask. Strategies are plugins: a
        batch that breaks the selection contract stops the run instead of biasing it."""
        t0 = time.perf_counter()
        with self.blame("strategy", "selecting queries"):
            queries = as_queries(self.strategy.select(self.ctx, k, self.strategy_rng))
        self.select_seconds += time.perf_counter() - t0
        if len(queries) == 0:
            return False
        problem = selection_problem(queries, self.ledger.queried, self.ledger.asked_pairs, k)
        if problem:
            raise ComponentError(f"strategy {self.label!r} broke its contract {self.where()}: "
                                 f"it {problem}", "", "")
        self.ledger.add(self.oracle.answer(queries, self.truth, self.ledger.history(),
                                           self.oracle_rng), self.data.y)
        return True



def cell_steps(cell: Cell, data: Dataset,
               on_checkpoint: Callable[[Checkpoint], None] | None = None
               ) -> Generator[Fit, tuple[object, float], CellResult]:
    """One cell to its last budget, as a generator: it yields each fit it needs and is sent
    back (model, seconds); it returns the cell's result. Selection, oracle, graph and
    evaluation stay the cell's own; only fitting is handed out, so that `run_lockstep` can train
    the fits of many cells together. Nothing is written here."""
    started = time.perf_counter()
    state = CellState(cell, data).start()
    data = state.data  # the view of the samples the learner trains on
    strategy, ledger = state.strategy, state.ledger
    result = CellResult(cell, state.seeds, state.learner.device_name)
    price = strategy.query_price(state.prices)
    exhausted = False
    watch = StopWatch(data, cell.seed, {s.label: s.obj for s in cell.stopping}) \
        if cell.stopping else None
    for budget in cell.experiment.budgets:
        state.select_seconds = state.pretrain_seconds = fit_s = 0.0
        while not exhausted and ledger.spent < budget - 1e-9:
            if strategy.needs_model and state.model_is_stale and \
                    (ledger.graph.known_labels() >= 0).any():
                fit = state.fit_request(task=False)
                model, seconds = yield fit
                state.adopt(fit, model)
                fit_s += seconds
            affordable = int(np.floor((budget - ledger.spent) / price + 1e-9))
            k = max(1, min(cell.experiment.batch_size, affordable))
            exhausted = not state.ask(k)
        if state.task_is_stale:
            fit = state.fit_request(task=True)
            model, seconds = yield fit
            state.adopt(fit, model)
            fit_s += seconds
        model = state.task_model()
        t0 = time.perf_counter()
        with state.blame("learner", "evaluating the learner"):
            scores = evaluate(model, data, cell.experiment.probe)
            if watch is not None:
                watch.observe(budget, ledger.spent, ledger.n_queries, model, scores.proba)
        stats = ledger.graph.stats()
        checkpoint = Checkpoint(
            budget=float(budget), cost=ledger.spent, n_queries=ledger.n_queries,
            n_free=ledger.n_free, n_labels=stats.n_known_class,
            n_abstain=ledger.n_abstain, n_wrong=ledger.n_wrong,
            n_components=stats.n_components, n_conflicts=stats.n_conflicts,
            select_seconds=state.select_seconds,
            fit_seconds=fit_s - state.pretrain_seconds,
            eval_seconds=time.perf_counter() - t0, pretrain_seconds=state.pretrain_seconds,
            **{name: getattr(scores, name) for name in METRICS})  # each metric by its name
        result.checkpoints.append(checkpoint)
        if on_checkpoint is not None:
            on_checkpoint(checkpoint)
    if watch is not None:
        with state.blame("stopping", "judging where to stop"):
            result.stops = watch.verdicts([c.task_acc for c in result.checkpoints])
    if cell.experiment.full_pool:
        result.full_pool_acc = state.full_pool_accuracy()
    result.wall_seconds = time.perf_counter() - started
    result.answers = ledger.log
    return result


def fit_together(fits: list[Fit]) -> list[object]:
    """The models of fits by one learner on one dataset, trained as one batch
    (`Learner.fit_batch`). When the batch raises, each fit runs alone, so that the error
    names the cell whose fit failed (a fit is a pure function of its answers and seed: the
    models are the same either way)."""
    first = fits[0]
    try:
        return first.learner.fit_batch(first.state.data,
                                       [f.state.ledger.learner_view for f in fits],
                                       seeds=[f.state.seeds["learner"] for f in fits])
    except Exception:  # noqa: BLE001  (told apart below, one fit at a time)
        if len(fits) == 1:
            return [first.alone()]
        return [fit.alone() for fit in fits]


def run_lockstep(cells: list[tuple[Cell, Dataset]],
              on_checkpoint: Callable[[int, Checkpoint], None] | None = None
              ) -> list[CellResult]:
    """Run cells in lockstep: each advances until it needs a fit; the fits waiting at once
    by equal learners on one dataset are trained as one batch; each cell then goes on with
    its model. A cell's rows are the same as when it runs alone (its fits are: the batched
    learners' members are bit-identical to solo fits, tested). A batch's fit time is shared
    equally among its cells' `fit_seconds`. `on_checkpoint(i, checkpoint)` for cell i."""
    results: list[CellResult | None] = [None] * len(cells)
    steps = [cell_steps(cell, data, None if on_checkpoint is None else
                        (lambda c, i=i: on_checkpoint(i, c)))
             for i, (cell, data) in enumerate(cells)]
    waiting: dict[int, Fit] = {}

    def advance(i: int, sent) -> None:
        try:
            waiting[i] = steps[i].send(sent)
        except StopIteration as done:
            waiting.pop(i, None)
            results[i] = done.value

    with single_threaded():
        for i in range(len(steps)):
            advance(i, None)
        while waiting:
            batches: list[list[int]] = []
            for i, fit in waiting.items():
                for batch in batches:
                    other = waiting[batch[0]]
                    if other.learner == fit.learner and \
                            other.state.data.fingerprint == fit.state.data.fingerprint:
                        batch.append(i)
                        break
                else:
                    batches.append([i])
            for batch in batches:
                t0 = time.perf_counter()
                models = fit_together([waiting[i] for i in batch])
                share = (time.perf_counter() - t0) / len(batch)
                for i, model in zip(batch, models):
                    advance(i, (model, share))
    return results


def run_cell(cell: Cell, data: Dataset,
             on_checkpoint: Callable[[Checkpoint], None] | None = None) -> CellResult:
    """Run one cell to its last budget and return its checkpoints (nothing is written here):
    a lockstep group of one."""
    return run_lockstep([(cell, data)], None if on_checkpoint is None else
                     (lambda _, checkpoint: on_checkpoint(checkpoint)))[0]
