"""The contract of each component kind, as checks anyone can run on their own class
(scikit-learn's `check_estimator` is the model). palbench's own contract tests call these same
functions on every registered name, so there is one definition of the contract.

    from palbench.testing import check_strategy
    check_strategy(MyStrategy)                           # a class, built with its defaults
    check_strategy(MyStrategy, params={"weight": 2.0})   # or from params, as a config would
    check_strategy(MyStrategy(weight=2.0))               # an instance, validated alike
    check_dataset("csv", params={"path": "pool.csv", "label_column": "y"})  # a registered name

Each check drives the harness's own machinery (the loop's CellState, the real graph and
ledger) on small generated data, and raises `ContractError` naming the rule broken, e.g.
"returned sample 17 twice" or "different picks for the same rng". A check returns None when
every rule holds.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from palbench.errors import ConfigError, ContractError
from palbench.kinds import KINDS
from palbench.protocol import protocol_problems

__all__ = ["ContractError", "check_dataset", "check_encoder", "check_learner", "check_oracle",
           "check_stopping", "check_strategy"]


def _fail(who: str, rule: str) -> None:
    raise ContractError(f"{who} {rule}")


def _instance(component: Any, base: type, params: dict | None) -> Any:
    """The component to check, validated as a config's would be: a registered name or an
    import path ("pkg.module:Class"), or a class, built from `params`; or an instance as
    given (then no params). Which step refused is said: the name, the protocol, the params'
    keys and types, the value rules its parameters declare, or the component's own
    validate."""
    from palbench.params import check_rules, construct

    kind = KINDS[base.kind]
    if isinstance(component, str):
        try:
            component = kind.registry_object().get(component, "name")
        except ConfigError as exc:
            raise ContractError(f"{kind.display} {component!r} cannot be checked: {exc}") from None
    cls = component if isinstance(component, type) else type(component)
    problems = protocol_problems(cls, base)
    if problems:
        _fail(cls.__qualname__, problems[0])
    if isinstance(component, type):
        try:
            component = construct(component, params or {}, kind.section)
        except ConfigError as exc:
            raise ContractError(f"{kind.display} {cls.__qualname__} cannot be built from params "
                                f"{params or {}}: {exc}") from None
    elif params:
        raise TypeError(f"params are for a class or a name; the {cls.__qualname__} instance "
                        "given carries its own")
    try:
        check_rules(component, kind.section)
    except ConfigError as exc:
        raise ContractError(f"{kind.display} {component!r} breaks a rule its parameters declare: "
                            f"{exc}") from None
    try:
        component.validate(kind.section)
    except ConfigError as exc:
        raise ContractError(f"{kind.display} {component!r} is refused by its own validate: "
                            f"{exc}") from None
    return component


def small_data(n_samples: int = 240, n_classes: int = 3, seed: int = 0):
    """Small generated blobs: what the checks run on unless given other data."""
    from palbench.datasets.synthetic import Blobs

    return Blobs(n_samples=n_samples, n_features=4, n_classes=n_classes, cluster_std=1.5,
                 seed=seed).prepare("blobs", "dataset")


# ------------------------------------------------------------------ strategies
def check_strategy(strategy, *, params: dict | None = None, data=None, learner=None) -> None:
    """Check a strategy (class or instance) against the selection contract: new, distinct
    queries inside the pool, at most k (exactly min(k, unqueried) for label strategies); the
    same picks for the same rng; running out of queries cleanly; picks that do not depend on
    the true labels; a read-only view of the run, never the truth (a reference line that
    declares `reads_truth` is handed it instead, and only it)."""
    from palbench.strategies.base import Strategy

    s = _instance(strategy, Strategy, params)
    who = f"strategy {type(s).__qualname__}"
    if s.query_kind not in ("label", "pair"):
        _fail(who, f"declares query_kind = {s.query_kind!r}; it must be \"label\" or \"pair\"")
    data = data if data is not None else small_data()
    learner = learner if learner is not None else _learner_for(s)
    state = _state(s, data, learner, rounds=0)
    if not state.strategy.query_price(state.prices) > 0:
        _fail(who, "gives query_price <= 0: a batch could never be sized to a budget")
    for with_model in (False, True):
        state = _state(s, data, learner, rounds=6, with_model=with_model, abstain=0.2)
        queries = _select(state, 7, seed=3, who=who)
        _check_batch(who, queries, state, 7, "")
        if s.query_kind == "label" and len(queries) != min(7, int((~state.ledger.queried).sum())):
            _fail(who, f"returned {len(queries)} samples for k=7 with "
                       f"{int((~state.ledger.queried).sum())} unqueried: a label strategy "
                       "returns min(k, unqueried)")
    a = _select(_state(s, data, learner, rounds=4, with_model=True), 9, seed=5, who=who)
    b = _select(_state(s, data, learner, rounds=4, with_model=True), 9, seed=5, who=who)
    if not _same_queries(a, b):
        _fail(who, "gave different picks for the same rng (and the same answers): all its "
                   "randomness must come from the rng it is handed")
    if s.reads_truth:  # a reference line reads the truth by design: it must be handed it
        if _state(s, data, learner, rounds=0).ctx.truth is None:
            _fail(who, "declares reads_truth but the loop handed it no ctx.truth")
    else:
        _check_never_handed_the_truth(who, _state(s, data, learner, rounds=3, with_model=True))
        _check_truth_blind(who, s, data, learner)
    _check_exhaustion(who, s, learner)


def _learner_for(s):
    """A learner that serves the strategy: a logistic regression, a small dropout MLP for
    strategies that sample predictions, a small pretraining `pal` for the pretrained space."""
    needs = s.requires()
    if "sample_proba" in needs:
        from palbench.learners.supervised import MLP
        return MLP(hidden=(16,), epochs=5, min_steps=10, dropout=0.3, device="cpu")
    if "pool_embedding" in needs:
        from palbench.learners.pal import PAL
        return PAL(hidden=(16,), dim=8, pretrain="on", pretrain_steps=5, epochs=2,
                   min_steps=2, device="cpu")
    from palbench.learners.sklearn_adapter import Sklearn
    return Sklearn()


def _oracle_for(s, abstain: float, labelling: np.ndarray | None = None):
    """An exact oracle for the strategy's query kind (answering from `labelling` when given),
    abstaining at `abstain`, inside a routed worker pool for strategies that route."""
    from palbench.oracles.noisy import Abstain
    from palbench.oracles.workers import Workers

    table = {"name": "exact" if s.query_kind == "label" else "exact_pair"}
    if s.routes_workers:
        inner = {"name": "abstain", "rate": abstain, "base": table} if abstain else table
        return Workers(base=inner, n_workers=4, redundancy=2, assign="strategy")
    if labelling is not None:
        return Answering(labelling)
    return Abstain(rate=abstain, base=table)


class Answering:
    """An oracle that answers from a fixed labelling (not the truth): the same answers
    whatever the true labels are. Not registered; used by the truth-blindness check."""

    query_kinds = ("label", "pair")

    def __init__(self, labelling: np.ndarray):
        self.labelling = np.asarray(labelling)

    def routing_pool(self):
        return None

    def answer(self, queries, truth, history, rng):
        from palbench.queries import Answers, LabelQueries

        if isinstance(queries, LabelQueries):
            values = self.labelling[queries.indices]
        else:
            values = (self.labelling[queries.a] == self.labelling[queries.b]).astype(np.int64)
        return Answers(queries, values.astype(np.int64), truth.price(queries))


def _state(s, data, learner, rounds: int, with_model: bool = False, abstain: float = 0.0,
           labelling: np.ndarray | None = None, k: int = 5):
    """The loop's own CellState after `rounds` rounds of k queries (each batch checked, as
    the loop checks it), the model refitted as the loop refits it."""
    from palbench.bench.grid import cell_for
    from palbench.bench.loop import CellState

    cell = cell_for(data, strategy=s, oracle=_oracle_for(s, abstain, labelling),
                    learner=learner, seed=1)
    state = CellState(cell, data).start()
    who = f"strategy {type(s).__qualname__}"
    for round_ in range(rounds):
        if with_model and (state.ledger.graph.known_labels() >= 0).any():
            state.refit()
        queries = _select(state, k, state.strategy_rng, who)
        if len(queries) == 0:
            break
        _check_batch(who, queries, state, k, f" (round {round_})")
        state.ledger.add(state.oracle.answer(queries, state.truth, state.ledger.history(),
                                            state.oracle_rng),
                         state.data.y)
    if with_model:
        state.refit()
    return state


def _select(state, k: int, seed, who: str):
    """The strategy's batch; `seed`: a seed, or the generator itself."""
    from palbench.queries import as_queries

    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    try:
        return as_queries(state.strategy.select(state.ctx, k, rng))
    except ValueError as exc:
        if "read-only" in str(exc):
            _fail(who, f"tried to change what it was handed ({exc}): the context is the run's "
                       "own state, read-only; copy an array before changing it")
        raise
    except (AttributeError, TypeError) as exc:
        if any(word in str(exc) for word in ("add_", "'SetView'", "'SequenceView'",
                                             "'GraphView'")):
            _fail(who, f"tried to change what it was handed ({exc}): the context is the run's "
                       "own state, read-only")
        raise


def _check_batch(who, queries, state, k, when):
    from palbench.strategies.base import selection_problem

    if queries.n_queries < 1:
        _fail(who, f"returned no query{when} although queries were left to ask")
    problem = selection_problem(queries, state.ledger.queried, state.ledger.asked_pairs, k)
    if problem:
        _fail(who, problem + when)


def _same_queries(a, b) -> bool:
    if type(a) is not type(b):
        return False
    fields = ("indices",) if a.kind == "label" else ("a", "b")
    return all(np.array_equal(getattr(a, f), getattr(b, f)) for f in fields)


def _check_exhaustion(who, s, learner):
    """Run to the end on a tiny pool: every batch valid, and the end an empty selection
    (pairs) or every sample asked (labels), never an error or an endless loop."""
    from palbench.datasets.synthetic import Circles

    data = Circles(n_samples=32, n_classes=4).prepare("circles", "dataset")
    state = _state(s, data, learner, rounds=0)
    for round_ in range(500):
        queries = _select(state, 10, round_, who)
        if len(queries) == 0:
            break
        _check_batch(who, queries, state, 10, f" (round {round_} of a run to exhaustion)")
        state.ledger.add(state.oracle.answer(queries, state.truth, state.ledger.history(),
                                            state.oracle_rng), data.y)
        if s.query_kind == "label" and state.ledger.queried.all():
            break
    else:
        _fail(who, "never ran out of queries on a pool of 32 samples (500 rounds)")
    if s.query_kind == "label" and not state.ledger.queried.all():
        _fail(who, f"stopped with {int((~state.ledger.queried).sum())} of 32 samples never "
                   "asked: a label strategy asks until the pool is exhausted")


def _check_truth_blind(who, s, data, learner):
    """Two runs whose answers are the same but whose true labels differ must pick the same:
    a strategy learns only from what the annotator said. (Strategies that route questions
    to a pool of workers are left out: their workers answer from the truth.)"""
    if s.routes_workers:
        return
    rng = np.random.default_rng(11)
    other = data.y.copy()
    flip = rng.random(len(other)) < 0.5
    other[flip] = (other[flip] + 1) % data.n_classes
    twin = dataclasses.replace(data, y=other)
    runs = []
    for truth_data in (data, twin):
        state = _state(s, data, learner, rounds=0, labelling=data.y)
        state.data = truth_data  # what the learner is handed: a learner must not read y
        state.truth = dataclasses.replace(state.truth, y=truth_data.y)
        picks = []
        for round_ in range(4):
            if s.needs_model and (state.ledger.graph.known_labels() >= 0).any():
                state.refit()
            queries = _select(state, 5, 100 + round_, who)
            if len(queries) == 0:
                break
            picks.append(queries)
            state.ledger.add(state.oracle.answer(queries, state.truth, state.ledger.history(),
                                            state.oracle_rng),
                             truth_data.y)
        runs.append(picks)
    if len(runs[0]) != len(runs[1]) or not all(map(_same_queries, *runs)):
        _fail(who, "selected differently when only the true labels changed (the answers "
                   "were the same): it read the true labels")


def _check_never_handed_the_truth(who, state):
    """What the loop hands a strategy holds no Truth and no array of the true labels."""
    from palbench.oracles.base import Truth

    view = _reachable(state.ctx) + _reachable(state.prices)
    if any(isinstance(item, Truth) for item in view) or any(
            isinstance(item, np.ndarray) and item.shape == state.data.y.shape and
            np.array_equal(item, state.data.y) for item in view):
        _fail(who, "was handed the true labels (through its context): only oracles read them")


def _reachable(obj, depth: int = 3) -> list:
    """Every object reachable from obj through attributes, containers and dataclass fields."""
    seen, frontier = [], [obj]
    for _ in range(depth):
        found = []
        for item in frontier:
            seen.append(item)
            if isinstance(item, dict):
                found += list(item.values())
            elif isinstance(item, (list, tuple, set, frozenset)):
                found += list(item)[:50]
            elif hasattr(item, "__dict__") and not isinstance(item, type):
                found += list(vars(item).values())
        frontier = found
    return seen + frontier


# ------------------------------------------------------------------ oracles
def check_oracle(oracle, *, params: dict | None = None, n_classes: int = 3) -> None:
    """Check an oracle (class or instance) for each query kind it declares, after an empty and
    a short history (`palbench.bench.oracle_contract`, the rules every run checks first):
    one value per query within range (a class, 1/0, or ABSTAIN); charges finite and
    positive, one per answer (per worker for a pool), what the answer log records; and the
    same answers and charges for the same history and rng (state kept by the oracle itself,
    such as a module-level counter, shows as answers or charges that change)."""
    from palbench.bench.oracle_contract import dry_queries, oracle_problem, synthetic_history
    from palbench.oracles.base import Oracle, Truth
    from palbench.oracles.costs import price_list_for
    from palbench.queries import AnnotatorHistory

    o = _instance(oracle, Oracle, params)
    who = f"oracle {type(o).__qualname__}"
    kinds = tuple(o.query_kinds)
    if not kinds or any(k not in ("label", "pair") for k in kinds):
        _fail(who, f"declares query_kinds = {kinds!r}; each must be \"label\" or \"pair\"")
    y = np.arange(600) % n_classes
    prices = price_list_for(n_classes, np.linspace(0.5, 2.0, n_classes), pair=0.3)
    truth = Truth(y=y, n_classes=n_classes, prices=prices, labelling_seed=7)
    o.validate_data(_Shape(n_classes, len(y)), "oracle")
    pool = o.routing_pool()
    rng = np.random.default_rng(0)
    for kind in kinds:
        queries = dry_queries(o, kind, len(y), 200, rng)
        for history in (AnnotatorHistory(),
                        synthetic_history(len(y), None if pool is None else pool[0])):
            problem = oracle_problem(o, truth, queries, history)
            if problem:
                _fail(who, problem)


@dataclasses.dataclass(frozen=True)
class _Shape:
    """What oracle.validate_data may read of a dataset in the check: its class count."""

    n_classes: int
    n_pool: int


# ------------------------------------------------------------------ learners
def check_learner(learner, *, params: dict | None = None, data=None) -> None:
    """Check a learner (class or instance): a model from nothing known, from one class and
    from several; probabilities of shape (n, C), non-negative, rows summing to 1; the same
    model again for the same seed and answers (bit for bit on CPU), whatever it fitted
    before, and from `fit_batch` the models `fit` gives one by one (cells in lockstep are
    fitted as a batch); never reading the true labels; the capabilities it declares working."""
    from palbench.bench.threads import single_threaded
    from palbench.graph import SimilarityGraph
    from palbench.graph_readers import GraphView
    from palbench.learners.base import CAPABILITIES, Learner

    lrn = _instance(learner, Learner, params)
    who = f"learner {type(lrn).__qualname__}"
    data = data if data is not None else small_data()
    lrn.validate_data(data, "learner")
    unknown = set(lrn.capabilities(data)) - set(CAPABILITIES)
    if unknown:
        _fail(who, f"declares unknown capabilities {sorted(unknown)}; known: "
                   f"{', '.join(CAPABILITIES)}")
    rng = np.random.default_rng(0)

    def graph_with(n_labels: int, classes: int):
        graph = SimilarityGraph(data.n_pool, data.n_classes)
        rows = np.flatnonzero(data.y < classes)
        picked = rng.choice(rows, size=min(n_labels, len(rows)), replace=False)
        graph.add_labels(picked, data.y[picked])
        return GraphView(graph)

    X = data.X_test
    for n_labels, classes, when in ((0, data.n_classes, "with no answer yet"),
                                    (5, 1, "with one class known"),
                                    (30, data.n_classes, "")):
        model = lrn.fit(data, graph_with(n_labels, classes), seed=3)
        proba = np.asarray(model.predict_proba(X))
        if proba.shape != (len(X), data.n_classes):
            _fail(who, f"predicted probabilities of shape {proba.shape} {when}; expected "
                       f"{(len(X), data.n_classes)}")
        if not (np.isfinite(proba).all() and (proba >= -1e-9).all() and
                np.allclose(proba.sum(axis=1), 1.0, atol=1e-5)):
            _fail(who, f"predicted probabilities that are not a distribution per row {when}")
    graph = graph_with(30, data.n_classes)
    first = lrn.fit(data, graph, seed=3).predict_proba(X)
    lrn.fit(data, graph_with(60, data.n_classes), seed=9)  # another fit in between
    again = lrn.fit(data, graph, seed=3).predict_proba(X)
    if not np.array_equal(first, again):
        _fail(who, "gave a different model for the same seed and answers: fit must start "
                   "fresh and take all its randomness from the seed")
    graphs = [graph_with(0, data.n_classes), graph, graph_with(12, data.n_classes)]
    seeds = [3, 3, 4]
    with single_threaded():  # as runs train: one thread, results independent of the batch
        batch = lrn.fit_batch(data, graphs, seeds=seeds)
        alone = [lrn.fit(data, g, seed=s).predict_proba(X) for g, s in zip(graphs, seeds)]
    if len(batch) != len(graphs) or not all(
            np.array_equal(m.predict_proba(X), p) for m, p in zip(batch, alone)):
        _fail(who, "gave other models from fit_batch than from fit for the same answers and "
                   "seeds: each model of a batch must be the one its fit alone gives")
    changed = np.random.default_rng(5).random(data.n_pool) < 0.3
    twin = dataclasses.replace(data, y=np.where(changed, 0, data.y))
    if not np.array_equal(first, lrn.fit(twin, graph, seed=3).predict_proba(X)):
        _fail(who, "fitted a different model when only data.y changed (the answers were the "
                   "same): it read the true labels")
    model = lrn.fit(data, graph, seed=3)
    Z = model.embed(X)
    if Z is not None and (np.ndim(Z) != 2 or len(Z) != len(X)):
        _fail(who, f"gave an embedding of shape {np.shape(Z)}; expected (n, d) or None")
    can = lrn.capabilities(data)
    if "last_layer" in can:
        H, p = model.last_layer(X)
        if len(H) != len(X) or np.shape(p) != (len(X), data.n_classes):
            _fail(who, "declares last_layer, but last_layer(X) is not (inputs, probabilities)")
    if "sample_proba" in can:
        samples = model.sample_proba(X, 3, seed=0)
        if np.shape(samples) != (3, len(X), data.n_classes):
            _fail(who, f"declares sample_proba, but it gave shape {np.shape(samples)}")


# ------------------------------------------------------------------ datasets
def check_dataset(source, *, params: dict | None = None) -> None:
    """Check a dataset source (class or instance): `prepare` returns a Dataset whose arrays
    agree in shape, are finite float32 features and int64 labels 0..C-1 with every class in
    the pool, a non-empty test set, a fingerprint of the arrays, and the same data again on a
    second prepare."""
    from palbench.datasets.base import Dataset, DatasetSource, fingerprint_arrays

    src = _instance(source, DatasetSource, params)
    who = f"dataset source {type(src).__qualname__}"
    data = src.prepare("checked", "dataset")
    if not isinstance(data, Dataset):
        _fail(who, f"prepare returned {type(data).__name__}, not a palbench Dataset")
    if data.X.ndim != 2 or data.X_test.ndim != 2 or data.X.shape[1] != data.X_test.shape[1]:
        _fail(who, f"gave pool features {data.X.shape} and test features {data.X_test.shape}: "
                   "both 2-D, with the same columns")
    if len(data.X) != len(data.y) or len(data.X_test) != len(data.y_test):
        _fail(who, "gave label and sample counts that differ")
    if len(data.y_test) == 0 or len(data.y) == 0:
        _fail(who, "gave an empty pool or test set")
    if data.X.dtype != np.float32 or not np.isfinite(data.X).all():
        _fail(who, "gave pool features that are not finite float32 (use datasets.base.finish)")
    if data.y.dtype != np.int64 or data.y.min() < 0 or data.y.max() >= data.n_classes:
        _fail(who, f"gave labels outside 0..{data.n_classes - 1} (int64)")
    missing = sorted(set(range(data.n_classes)) - set(np.unique(data.y).tolist()))
    if missing:
        _fail(who, f"has no pool sample of class {missing[0]} ({data.class_names[missing[0]]!r})")
    if data.fingerprint != fingerprint_arrays(*data.fingerprinted()):
        _fail(who, "gave a fingerprint that is not the sha256 of its arrays "
                   "(datasets.base.fingerprint_arrays)")
    if src.prepare("checked", "dataset").fingerprint != data.fingerprint:
        _fail(who, "gave different data on a second prepare: a source must be repeatable")
    if not isinstance(src.display_name(), str) or not src.display_name():
        _fail(who, "gave an empty display_name")


# ------------------------------------------------------------------ encoders
def check_encoder(encoder, *, params: dict | None = None, X: np.ndarray | list | None = None,
                  image_shape: tuple[int, ...] | None = None) -> None:
    """Check an encoder (class or instance) on X (default: 20 small generated images of
    shape (1, 8, 8), or 20 short texts for an encoder that takes texts): one row of finite
    features per sample, the same features again from a fresh computation and from the cache
    (a temporary folder), and a weights hash that is stable."""
    import tempfile

    from palbench.datasets.base import fingerprint_arrays
    from palbench.datasets.text import fingerprint_texts, topic_corpus
    from palbench.encoders import Encoder

    enc = _instance(encoder, Encoder, params)
    who = f"encoder {type(enc).__qualname__}"
    texts = enc.takes == "texts"
    if X is None and texts:
        X = topic_corpus(20)[0]
    elif X is None:
        X, image_shape = np.random.default_rng(0).random((20, 64)), (1, 8, 8)
    fingerprint = fingerprint_texts(X) if texts else fingerprint_arrays(X)
    if enc.weights_hash() != enc.weights_hash():
        _fail(who, "gave two weights hashes for the same files")
    with tempfile.TemporaryDirectory() as folder:
        enc = dataclasses.replace(enc, cache_dir=folder)
        first = enc.features(X, image_shape, fingerprint, "dataset.encoder", enc.takes)
        if not isinstance(first, np.ndarray) or first.ndim != 2 or len(first) != len(X):
            _fail(who, f"gave features of shape {getattr(first, 'shape', None)} for {len(X)} "
                       "samples: one row per sample")
        if not np.isfinite(first).all():
            _fail(who, "gave features that are not finite")
        again = enc.compute(X, image_shape, "dataset.encoder")
        if not np.array_equal(again, first):
            _fail(who, "gave other features for the same inputs on a second computation")
        cached = enc.features(X, image_shape, fingerprint, "dataset.encoder", enc.takes)
        if not np.array_equal(cached, first):
            _fail(who, "gave other features from the cache than computed")


# ------------------------------------------------------------------ stopping criteria
def synthetic_history(n: int = 12, seed: int = 0) -> list:
    """Observations of a run that settles: predictions that change less and less, falling
    uncertainty, validation accuracy that rises then plateaus (what the check feeds)."""
    from palbench.stopping import Observation

    rng = np.random.default_rng(seed)
    predictions = rng.integers(0, 3, size=200)
    history = []
    for i in range(n):
        flip = rng.random(200) < 0.5 / (i + 1) ** 2
        predictions = np.where(flip, rng.integers(0, 3, size=200), predictions)
        frozen = predictions.copy()
        frozen.setflags(write=False)
        history.append(Observation(10.0 * (i + 1), 10.0 * (i + 1), 10 * (i + 1), frozen,
                                   0.6 / (i + 1), min(0.9, 0.5 + 0.05 * i)))
    return history


def check_stopping(criterion, *, params: dict | None = None) -> None:
    """Check a stopping criterion (class or instance): `should_stop` answers True or False
    on every prefix of a settling run, the same answer again for the same prefix (it keeps no
    state between calls), and the same answer whatever came after the prefix."""
    from palbench.stopping import StoppingCriterion

    crit = _instance(criterion, StoppingCriterion, params)
    who = f"stopping criterion {type(crit).__qualname__}"
    history = synthetic_history()
    answers = []
    for i in range(1, len(history) + 1):
        answer = crit.should_stop(tuple(history[:i]))
        if not isinstance(answer, (bool, np.bool_)):
            _fail(who, f"answered {answer!r} on {i} checkpoints: should_stop returns a bool")
        answers.append(bool(answer))
    again = [bool(crit.should_stop(tuple(history[:i]))) for i in range(1, len(history) + 1)]
    if again != answers:
        _fail(who, "gave other answers for the same checkpoints on a second pass: it must keep "
                   "no state between calls")
    other = history[:6] + synthetic_history(seed=1)[6:]
    if [bool(crit.should_stop(tuple(other[:i]))) for i in range(1, 7)] != answers[:6]:
        _fail(who, "answered differently for the same checkpoints when later ones differed: "
                   "it read beyond the history it was handed")
