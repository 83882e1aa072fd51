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
import sys
import time
import traceback
import warnings
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from palbench.bench.config import Cell, seed_streams
from palbench.datasets import Dataset
from palbench.errors import ComponentError, ConfigError, first_line
from palbench.graph import GraphView, RawAnswers, SimilarityGraph, pair_key
from palbench.oracles.base import Truth
from palbench.queries import ABSTAIN, AnswerRow, Answers, LabelQueries, PairQueries
from palbench.results.schema import Checkpoint
from palbench.stopping.watch import StopWatch
from palbench.strategies.base import QueryContext, TruthView, selection_problem
from palbench.views import SequenceView, SetView, read_only


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


@contextmanager
def limited_threads(n: int):
    """Pin torch and BLAS to n threads for the block, and restore torch's count after. torch
    is pinned only when a learner has imported it (the registry imports a learner's module
    when a config names it, and a worker when it unpickles the cell): a scikit-learn-only run
    never imports torch."""
    torch = sys.modules.get("torch")
    previous = torch.get_num_threads() if torch else None
    if torch:
        torch.set_num_threads(n)
    try:
        with threadpool_limits(limits=n):
            yield
    finally:
        if torch:
            torch.set_num_threads(previous)


def single_threaded():
    """One thread: N workers on N cores must not oversubscribe, and one thread makes CPU
    results independent of the executor."""
    return limited_threads(1)


PROBE_SAMPLES = 10_000  # the probe's training set is capped (stratified, fixed per dataset)


def probe_rows(y: np.ndarray) -> np.ndarray:
    """Which training samples fit the probe: all of them up to PROBE_SAMPLES, else a fixed
    stratified subset. A logistic probe on all 60,000 Fashion-MNIST embeddings took ~7 s a
    checkpoint, most of a run; 10,000 samples pin a linear read-out of 10 classes just as well."""
    if len(y) <= PROBE_SAMPLES:
        return np.arange(len(y))
    keep, _ = train_test_split(np.arange(len(y)), train_size=PROBE_SAMPLES, stratify=y,
                               random_state=0)
    return np.sort(keep)


def probe_accuracy(model, data: Dataset) -> float | None:
    """Linear probe on the frozen representation, fitted on the training labels (probe_rows)."""
    rows = probe_rows(data.y)
    Z = model.embed(data.X[rows])
    if Z is None:
        return None
    if not np.isfinite(Z).all():
        raise ConfigError("", None, "gave a non-finite embedding (training diverged: a "
                          "smaller learning rate?)")
    scaler = StandardScaler().fit(Z)
    with warnings.catch_warnings():  # an unconverged probe is still a usable probe
        warnings.simplefilter("ignore", ConvergenceWarning)
        probe = LogisticRegression(max_iter=300).fit(scaler.transform(Z), data.y[rows])
    return float((probe.predict(scaler.transform(model.embed(data.X_test))) == data.y_test).mean())


def class_balanced_scores(y: np.ndarray, predicted: np.ndarray, n_classes: int):
    """Balanced accuracy (mean recall over the test set's classes) and macro-F1 over every
    class (0 for a class neither present nor predicted): what accuracy hides on imbalanced
    data. From one confusion matrix: scikit-learn's scorers took half a run's time at one
    sample a round (`palbench bench overhead --versus-hand-loop`)."""
    confusion = np.bincount(y * n_classes + predicted,
                            minlength=n_classes * n_classes).reshape(n_classes, n_classes)
    hits, support, said = np.diag(confusion), confusion.sum(axis=1), confusion.sum(axis=0)
    present = support > 0
    balanced = float((hits[present] / support[present]).mean())
    both = support + said
    f1 = np.divide(2 * hits, both, out=np.zeros(n_classes), where=both > 0)
    return balanced, float(f1.mean())


class Ledger:
    """What was asked, paid and heard, beside the graph that holds what it means."""

    def __init__(self, data: Dataset, rule: str, closure: str = "transitive"):
        self.graph = SimilarityGraph(data.n_pool, data.n_classes, rule)
        # what learners are given: the whole graph, or only the answered entries
        self.learner_view = GraphView(self.graph) if closure == "transitive" else \
            RawAnswers(self.graph)
        self.queried = np.zeros(data.n_pool, dtype=bool)  # asked for a label
        self.asked_pairs: set[int] = set()
        self.n_pool = data.n_pool
        self.spent = 0.0
        self.n_queries = self.n_abstain = self.n_wrong = self.n_free = 0
        self.log: list[AnswerRow] = []

    def add(self, answers: Answers, y: np.ndarray, free: bool = False) -> None:
        """Record a batch of answers; `free` ones (an uncharged initial set) cost nothing and
        count in n_free rather than n_queries."""
        queries = answers.queries
        self.record(answers)
        said = answers.values != ABSTAIN
        if free:
            self.n_free += len(queries)
        else:
            self.spent += answers.total_cost
            self.n_queries += queries.n_queries if isinstance(queries, PairQueries) \
                else len(queries)
        self.n_abstain += int((~said).sum())
        if isinstance(queries, LabelQueries):
            self.queried[queries.indices] = True
            truth = y[queries.indices]
            self.graph.add_labels(queries.indices[said], answers.values[said])
        else:
            self.asked_pairs.update(int(k) for k in pair_key(queries.a, queries.b, self.n_pool))
            truth = (y[queries.a] == y[queries.b]).astype(np.int64)
            self.graph.add_pairs(queries.a[said], queries.b[said], answers.values[said] == 1)
        self.n_wrong += int((answers.values[said] != truth[said]).sum())

    def record(self, answers: Answers) -> None:
        """Append the batch to the answer log: one row per answer heard."""
        queries = answers.queries
        a = queries.indices if isinstance(queries, LabelQueries) else queries.a
        b = [None] * len(a) if isinstance(queries, LabelQueries) else queries.b.tolist()
        start = len(self.log) and self.log[-1].position + 1
        workers = answers.workers if answers.workers is not None else \
            np.full((len(a), 1), -1)
        heard = answers.heard if answers.heard is not None else answers.values[:, None]
        for q, (x, z, verdict) in enumerate(zip(a.tolist(), b, answers.values.tolist())):
            for worker, value in zip(workers[q].tolist(), heard[q].tolist()):
                self.log.append(AnswerRow(start + q, queries.kind, x, z,
                                          None if worker < 0 else worker, value, verdict))

    def context(self, data: Dataset, exemplars: np.ndarray, **extra) -> QueryContext:
        """What a strategy sees of this ledger: read-only views that follow every update."""
        return QueryContext(X=read_only(data.X), queried=read_only(self.queried),
                            n_classes=data.n_classes, graph=GraphView(self.graph),
                            exemplars=read_only(exemplars), asked_pairs=SetView(self.asked_pairs),
                            answer_log=SequenceView(self.log), **extra)

    def reveal_exemplars(self, y: np.ndarray, per_class: int, n_classes: int,
                         rng: np.random.Generator) -> np.ndarray:
        """Free labelled samples per class; returns one exemplar per class (-1 if none)."""
        exemplars = np.full(n_classes, -1, np.int64)
        if per_class == 0:
            return exemplars
        chosen = []
        for c in range(n_classes):
            members = np.flatnonzero(y == c)
            picked = rng.choice(members, size=min(per_class, len(members)), replace=False)
            exemplars[c] = picked[0]
            chosen.append(picked)
        chosen = np.concatenate(chosen)
        self.graph.add_labels(chosen, y[chosen])
        self.queried[chosen] = True
        self.n_free += len(chosen)
        return exemplars


def component_frames(exc: BaseException) -> str:
    """The traceback of `exc` from the harness's call into the component down to the raise
    (the harness's own frames above it left out)."""
    harness = {__file__, contextlib.__file__}
    frames = traceback.extract_tb(exc.__traceback__)
    while len(frames) > 1 and frames[0].filename in harness:
        frames = frames[1:]
    return "".join(traceback.format_list(frames))


def as_queries(picked) -> LabelQueries | PairQueries:
    if isinstance(picked, (LabelQueries, PairQueries)):
        return picked
    return LabelQueries(np.asarray(picked, dtype=np.int64))




class CellState:
    """One cell between checkpoints: what the strategy sees (`ctx`, `prices`), what only the
    oracle reads (`truth`), the ledger of answers, and the models: the selection learner's,
    which model-based strategies see, and the task learner's, which each checkpoint evaluates
    (one and the same unless a selection learner is given). `run_cell` drives it; the
    strategy contract suite drives the very same object."""

    def __init__(self, data: Dataset, strategy, oracle, learner, costs, conflict_rule: str,
                 seeds: dict[str, int], label: str = "strategy", learner_label: str = "learner",
                 closure: str = "transitive", selector=None, selector_label: str = "",
                 initial: tuple[int, str, bool] = (0, "random", True)):
        self.data, self.strategy, self.oracle, self.learner = data, strategy, oracle, learner
        self.selector = selector or learner
        self.label, self.learner_label, self.seeds = label, learner_label, seeds
        self.selector_label = selector_label or learner_label
        self.strategy_rng = np.random.default_rng(seeds["strategy"])
        self.oracle_rng = np.random.default_rng(seeds["oracle"])
        self.prices = costs.price_list(data.class_names)
        self.truth = Truth(data.y, data.n_classes, self.prices,
                           labelling_seed=seeds["labelling"])
        self.ledger = Ledger(data, conflict_rule, closure)
        exemplars = self.ledger.reveal_exemplars(data.y, strategy.free_exemplars,
                                                 data.n_classes, self.strategy_rng)
        self.label_initial(*initial)
        embeds_pool = "pool_embedding" in self.selector.capabilities(data)
        self.ctx = self.ledger.context(
            data, exemplars, learner=self.selector, seed=seeds["strategy"],
            pool=oracle.routing_pool(),
            truth=TruthView(read_only(data.y), read_only(data.X_test), read_only(data.y_test))
            if strategy.reads_truth else None,
            pool_embedding=partial(self.selector.pool_embedding, data, seed=seeds["learner"])
            if embeds_pool else None)
        self.model, self.fitted_on = None, -1  # the selection learner's model
        self.task, self.task_fitted_on = None, -1  # the task learner's, when apart
        self.select_seconds = self.pretrain_seconds = 0.0

    @classmethod
    def of_cell(cls, cell: Cell, data: Dataset) -> CellState:
        seeds = {"root": cell.seed, **seed_streams(cell.seed)}
        experiment = cell.experiment
        apart = cell.selection_learner
        return cls(data, cell.strategy.obj, cell.oracle.obj, cell.learner.obj, cell.costs.obj,
                   experiment.conflict_rule, seeds, cell.strategy.label, cell.learner.label,
                   experiment.closure, apart.obj if apart else None,
                   apart.label if apart else "",
                   (experiment.initial, experiment.initial_by, experiment.initial_charged))

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
                                     self.truth, self.oracle_rng)
        self.ledger.add(answers, self.data.y, free=not charged)

    @property
    def model_is_stale(self) -> bool:
        return self.fitted_on != self.ledger.n_queries

    def refit(self) -> None:
        """Retrain the selection learner from scratch on everything answered so far."""
        field = "learner" if self.selector is self.learner else "selection_learner"
        with self.blame(field, "fitting the learner"):
            self.model = self.selector.fit(self.data, self.ledger.learner_view,
                                           seed=self.seeds["learner"])
        self.pretrain_seconds += self.model.pretrain_seconds
        self.fitted_on = self.ledger.n_queries
        self.ctx.model, self.ctx.model_version = self.model, self.ctx.model_version + 1

    def task_model(self):
        """The task learner trained on everything answered so far: the selection model
        itself unless a selection learner is apart."""
        if self.selector is self.learner:
            if self.model_is_stale:
                self.refit()
            return self.model
        if self.task_fitted_on != self.ledger.n_queries or self.task is None:
            with self.blame("learner", "fitting the learner"):
                self.task = self.learner.fit(self.data, self.ledger.learner_view,
                                             seed=self.seeds["learner"])
            self.pretrain_seconds += self.task.pretrain_seconds
            self.task_fitted_on = self.ledger.n_queries
        return self.task

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
        component refusing what it was given, such as a scikit-learn estimator at some
        checkpoint) stays bad input: one line, exit 2. Any other exception is a bug in the
        component: a ComponentError carrying the component's own traceback frames."""
        label = {"learner": self.learner_label, "selection_learner": self.selector_label,
                 "stopping": "criteria"}.get(field, self.label)
        try:
            yield
        except MemoryError:
            raise
        except ConfigError as exc:
            raise ConfigError(field, label, f"{doing} failed {self.where()}: {exc}") from None
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
        self.ledger.add(self.oracle.answer(queries, self.truth, self.oracle_rng), self.data.y)
        return True


def run_cell(cell: Cell, data: Dataset,
             on_checkpoint: Callable[[Checkpoint], None] | None = None) -> CellResult:
    """Run one cell to its last budget and return its checkpoints (nothing is written here)."""
    started = time.perf_counter()
    state = CellState.of_cell(cell, data)
    strategy, ledger = state.strategy, state.ledger
    result = CellResult(cell, state.seeds, state.learner.device_name)
    price = strategy.query_price(state.prices)
    exhausted = False
    watch = StopWatch(data, cell.seed, {s.label: s.obj for s in cell.stopping}) \
        if cell.stopping else None
    with single_threaded():
        for budget in cell.experiment.budgets:
            state.select_seconds = state.pretrain_seconds = fit_s = 0.0
            while not exhausted and ledger.spent < budget - 1e-9:
                if strategy.needs_model and state.model_is_stale and \
                        (ledger.graph.known_labels() >= 0).any():
                    t0 = time.perf_counter()
                    state.refit()
                    fit_s += time.perf_counter() - t0
                affordable = int(np.floor((budget - ledger.spent) / price + 1e-9))
                k = max(1, min(cell.experiment.batch_size, affordable))
                exhausted = not state.ask(k)
            t0 = time.perf_counter()
            model = state.task_model()
            fit_s += time.perf_counter() - t0
            t0 = time.perf_counter()
            with state.blame("learner", "evaluating the learner"):
                proba = model.predict_proba(data.X_test)
                if not np.isfinite(proba).all():
                    raise ConfigError("", None, "gave non-finite probabilities (training "
                                      "diverged: a smaller learning rate?)")
                predicted = proba.argmax(axis=1)
                task_acc = float((predicted == data.y_test).mean())
                balanced, macro = class_balanced_scores(data.y_test, predicted, data.n_classes)
                probe_acc = probe_accuracy(model, data) if cell.experiment.probe else None
                if watch is not None:
                    watch.observe(budget, ledger.spent, ledger.n_queries, model, proba)
            stats = ledger.graph.stats()
            checkpoint = Checkpoint(
                budget=float(budget), cost=ledger.spent, n_queries=ledger.n_queries,
                n_free=ledger.n_free, n_labels=stats.n_known_class,
                n_abstain=ledger.n_abstain, n_wrong=ledger.n_wrong,
                n_components=stats.n_components, n_conflicts=stats.n_conflicts,
                task_acc=task_acc, probe_acc=probe_acc, select_seconds=state.select_seconds,
                fit_seconds=fit_s - state.pretrain_seconds,
                eval_seconds=time.perf_counter() - t0, pretrain_seconds=state.pretrain_seconds,
                balanced_acc=balanced, macro_f1=macro)
            result.checkpoints.append(checkpoint)
            if on_checkpoint is not None:
                on_checkpoint(checkpoint)
    if watch is not None:
        with state.blame("stopping", "judging where to stop"):
            result.stops = watch.verdicts([c.task_acc for c in result.checkpoints])
    if cell.experiment.full_pool:
        with single_threaded():
            result.full_pool_acc = state.full_pool_accuracy()
    result.wall_seconds = time.perf_counter() - started
    result.answers = ledger.log
    return result
