"""BADGE, BALD/BatchBALD, Core-Set, TypiClust and the scikit-activeml adapter through the whole
harness: the model capabilities they rely on, their config-time refusals (one line, exit 2,
nothing written) and real runs into a store."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

from palbench.cli import main
from palbench.learners.supervised import MLP
from palbench.results.store import ResultsStore

BASE = """
[experiment]
seeds = [0]
budgets = [10, 20]
batch_size = 5
probe = false
[dataset]
name = "blobs"
n_samples = 90
"""


def run(write_config, tmp_path, text: str) -> int:
    return main(["run", str(write_config(BASE + text)), "--store", str(tmp_path / "s.sqlite"),
                 "--quiet"])


def test_mc_dropout_samples_vary_repeat_for_a_seed_and_average_to_a_distribution(blobs):
    model = MLP(hidden=(16,), dropout=0.3, epochs=20, device="cpu").fit_labels(
        blobs.X[:30], blobs.y[:30], 3, seed=0)
    a = model.sample_proba(blobs.X[:50], 8, seed=1)
    assert a.shape == (8, 50, 3)
    np.testing.assert_allclose(a.sum(axis=2), 1.0)
    np.testing.assert_array_equal(a, model.sample_proba(blobs.X[:50], 8, seed=1))
    assert not np.allclose(a[0], a[1])  # dropout is on
    assert np.abs(a.mean(axis=0) - model.predict_proba(blobs.X[:50])).mean() < 0.1


REFUSED = {
    "bald with an mlp without dropout": (
        '[strategy]\nname = "bald"\n[learner]\nname = "mlp"',
        "learner.dropout = 0.0", "MC dropout"),
    "bald with a scikit-learn model": (
        '[strategy]\nname = "batch_bald"\n[learner]\nname = "sklearn"',
        "learner.name = 'sklearn'", "sample predictions by MC dropout"),
    "n_samples below 2": (
        '[strategy]\nname = "bald"\nn_samples = 1\n[learner]\nname = "mlp"\ndropout = 0.2',
        "strategy.n_samples = 1", ">= 2"),
    "badge with a learner without a linear last layer": (
        '[strategy]\nname = "badge"\n[learner]\nname = "kernel_pal"',
        "learner.name = 'kernel_pal'", "gradient embedding"),
    "badge with a non-linear scikit-learn model": (
        '[strategy]\nname = "badge"\n[learner]\nname = "sklearn"\n'
        'estimator = "sklearn.ensemble.RandomForestClassifier"',
        "learner.name = 'sklearn'", "gradient embedding"),
    "the pretrained space with a learner that has none": (
        '[strategy]\nname = "typiclust"\nspace = "pretrained"\n[learner]\nname = "mlp"',
        "learner.name = 'mlp'", "self-supervised embedding"),
    "the pretrained space with pal not pretraining": (
        '[strategy]\nname = "coreset"\nspace = "pretrained"\n[learner]\nname = "pal"\n'
        'pretrain = "off"', "learner.pretrain = 'off'", "pool embedding"),
    "an unknown space": ('[strategy]\nname = "coreset"\nspace = "latent"',
                         "strategy.space = 'latent'", "must be one of"),
    "not a scikit-activeml strategy": (
        '[strategy]\nname = "skactiveml"\n'
        'query_strategy = "sklearn.linear_model.LogisticRegression"',
        "strategy.query_strategy", "single-annotator pool strategy"),
    "a regression strategy": (
        '[strategy]\nname = "skactiveml"\n'
        'query_strategy = "skactiveml.pool.GreedySamplingTarget"',
        "strategy.query_strategy", "regression strategy"),
    "parameters scikit-activeml rejects": (
        '[strategy]\nname = "skactiveml"\nquery_strategy = "skactiveml.pool.TypiClust"\n'
        'params = { k = -3 }', "strategy.params = {'k': -3}", "refused it"),
    "an unknown constructor argument": (
        '[strategy]\nname = "skactiveml"\nquery_strategy = "skactiveml.pool.CoreSet"\n'
        'params = { colour = 1 }', "strategy.params = {'colour': 1}", "unexpected keyword"),
    "a two-class strategy on three classes": (
        '[strategy]\nname = "skactiveml"\n'
        'query_strategy = "skactiveml.pool.EpistemicUncertaintySampling"',
        "strategy.query_strategy", "two classes only"),
}


@pytest.mark.parametrize("case", list(REFUSED), ids=list(REFUSED))
def test_config_time_refusals_are_one_line(case, write_config, tmp_path, capsys):
    pytest.importorskip("skactiveml")
    text, field, why = REFUSED[case]
    assert run(write_config, tmp_path, text) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"palbench: error: {field}") and why in err, err
    assert len(err.splitlines()) == 1
    assert not (tmp_path / "s.sqlite").exists()


def test_every_new_strategy_runs_into_the_store(write_config, tmp_path):
    text = """
[[strategy]]
name = "coreset"
[[strategy]]
name = "typiclust"
[[strategy]]
name = "badge"
[[strategy]]
name = "bald"
id = "bald"
n_samples = 4
[[strategy]]
name = "batch_bald"
id = "batch_bald"
n_samples = 4
n_configs = 50
[[strategy]]
name = "coreset"
id = "coreset_embedding"
space = "embedding"
[[strategy]]
name = "epig"
id = "epig"
n_samples = 4
targets = 10
[learner]
name = "mlp"
hidden = [16]
dropout = 0.2
epochs = 5
min_steps = 10
"""
    assert run(write_config, tmp_path, text) == 0
    with ResultsStore(tmp_path / "s.sqlite") as store:
        frame = store.to_frame()
    assert sorted(frame.strategy.unique()) == sorted(
        ["coreset", "typiclust", "badge", "bald", "batch_bald", "coreset_embedding", "epig"])
    assert (frame.groupby("strategy").budget.max() == 20).all()


def test_the_pretrained_space_uses_pal_s_pool_embedding(write_config, tmp_path):
    text = """
[[strategy]]
name = "typiclust"
space = "pretrained"
[[strategy]]
name = "graph_coverage"
space = "pretrained"
[learner]
name = "pal"
pretrain = "on"
pretrain_steps = 20
hidden = [16]
dim = 8
epochs = 5
min_steps = 10
"""
    assert run(write_config, tmp_path, text) == 0
    with ResultsStore(tmp_path / "s.sqlite") as store:
        assert set(store.to_frame().strategy) == {"typiclust(space=pretrained)",
                                                 "graph_coverage(space=pretrained)"}


def single_annotator_pool_strategies() -> list[str]:
    pool = pytest.importorskip("skactiveml.pool")
    from skactiveml.base import SingleAnnotatorPoolQueryStrategy
    return sorted(name for name in pool.__all__
                  if inspect.isclass(getattr(pool, name))
                  and issubclass(getattr(pool, name), SingleAnnotatorPoolQueryStrategy))


def test_every_supported_scikit_activeml_strategy_runs_through_the_adapter(write_config,
                                                                           tmp_path):
    """The catalogue of scikit-activeml 1.0.1: each pool strategy either runs a whole palbench
    run through the adapter (two classes for the one that needs two) or is listed with why."""
    from palbench.strategies.skactiveml_adapter import TWO_CLASSES_ONLY, UNSUPPORTED
    names = single_annotator_pool_strategies()
    assert len(names) >= 30 and set(UNSUPPORTED) <= set(names)
    runnable = [n for n in names if n not in UNSUPPORTED]
    for classes, group in ((3, [n for n in runnable if n not in TWO_CLASSES_ONLY]),
                           (2, [n for n in runnable if n in TWO_CLASSES_ONLY])):
        text = f"n_classes = {classes}\n" + "".join(
            f'[[strategy]]\nname = "skactiveml"\nid = "{n}"\n'
            f'query_strategy = "skactiveml.pool.{n}"\n' for n in group) + (
            '[learner]\nname = "sklearn"\nparams = { max_iter = 200 }\n')
        store = tmp_path / f"s{classes}.sqlite"
        assert main(["run", str(write_config(BASE + text, f"c{classes}.toml")), "--store",
                     str(store), "--quiet"]) == 0
        with ResultsStore(store) as s:
            frame = s.to_frame()
        assert set(frame.strategy) == set(group)
        assert (frame.groupby("strategy").budget.max() == 20).all()


def test_adapter_random_and_uncertainty_pick_what_scikit_activeml_would(blobs):
    """Cross-implementation check: scikit-activeml's uncertainty sampling through the adapter
    and palbench's own least_confident rank the same samples on the same model."""
    from palbench.learners.sklearn_adapter import Sklearn
    from palbench.strategies.skactiveml_adapter import SkactivemlStrategy
    from palbench.strategies.uncertainty import least_confident_scores
    known = np.full(len(blobs.y), -1)
    known[:15] = blobs.y[:15]
    adapter = SkactivemlStrategy(query_strategy="skactiveml.pool.UncertaintySampling",
                                 params={"method": "least_confident"})
    learner = Sklearn()
    picked = adapter.query(blobs.X, known, np.arange(15, len(known)), 5, 3, learner, 0)
    model = learner.fit_labels(blobs.X[:15], blobs.y[:15], 3, seed=0)
    scores = least_confident_scores(model.predict_proba(blobs.X[15:]))
    assert set(picked) == set(15 + np.argsort(-scores)[:5])
