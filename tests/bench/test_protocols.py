"""The protocols of the field, written in a config: an initial labelled set, a split per run
seed, and a selection learner apart from the evaluated one; each end to end through the loop
and the store, with its bad input one line."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

import numpy as np
import pytest

import palbench
from palbench.cli import main
from palbench.datasets.sklearn_sets import Wine
from palbench.params import tomllib
from palbench.results.store import ResultsStore
from palbench.seeds import SPLIT_STREAM, derived_seed
from palbench.strategies.base import Strategy
from tests.conftest import SMALL_CONFIG

GRID = """
[experiment]
seeds = [0, 1]
budgets = [30, 40]
batch_size = 5
probe = false
{experiment}
[dataset]
name = "wine"
{dataset}
[[strategy]]
name = "random"
[[strategy]]
name = "margin"
[oracle]
name = "noisy_label"
noise = {noise}
[learner]
name = "sklearn"
{extra}
"""


def grid(experiment: str = "", dataset: str = "", noise: float = 0.0, extra: str = "") -> dict:
    return tomllib.loads(GRID.format(experiment=experiment, dataset=dataset, noise=noise,
                                     extra=extra))


def run(raw: dict, tmp_path, name: str = "s.sqlite") -> ResultsStore:
    store = tmp_path / name
    palbench.run(raw, store=store, progress=False)
    return ResultsStore(store)


def test_a_config_without_the_new_knobs_keeps_its_spec_hash():
    """Hashes from before the protocol knobs existed: stored cells stay complete."""
    cells = load_plan_from(SMALL_CONFIG).cells
    assert [c.spec_hash() for c in cells[:2]] == [
        "4cbdf2614298b9be11be85bf6c892819e57f7d21d0615e7f2aca36c7617f5f86",
        "2be1cfe69a99ce872fbb5f1684ac928be329adc843e70d6dd97e7336f074a274"]


def load_plan_from(text: str):
    from palbench.bench.config import plan_from_raw

    return plan_from_raw(tomllib.loads(text))


def test_the_initial_set_is_drawn_apart_asked_of_the_oracle_and_charged(tmp_path):
    with run(grid("initial = 20", noise=0.3), tmp_path) as store:
        frame, runs = store.to_frame(), store.runs()
        first = frame[frame.budget == 30]
        assert (first.n_queries == 30).all() and (first.n_free == 0).all()
        assert (first.cost == 30).all()
        by_run = {r: store.answers(r) for r in runs.run_id}
    starts = {}
    for run_id, answers in by_run.items():
        initial = answers[answers.position < 20]
        assert (initial.kind == "label").all() and len(initial) == 20
        seed = int(runs.set_index("run_id").loc[run_id, "seed"])
        starts.setdefault(seed, []).append(tuple(initial.a))
    for seed, sets in starts.items():  # its own stream: the same set whatever the strategy
        assert len(set(sets)) == 1, seed
    assert starts[0] != starts[1]
    assert first.n_wrong.sum() > 0  # the oracle's noise applies to the initial set too


def test_an_initial_set_per_class_and_free(tmp_path):
    raw = grid('initial = 4\ninitial_by = "per_class"\ninitial_charged = false')
    with run(raw, tmp_path) as store:
        frame = store.to_frame()
        first = frame[frame.budget == 30]
        assert (first.n_free == 12).all() and (first.n_queries == 30).all()
        answers = store.answers(int(store.runs().run_id[0]))
    data = Wine().prepare("wine", "dataset")
    initial = answers.a[answers.position < 12].to_numpy()
    assert np.bincount(data.y[initial], minlength=3).tolist() == [4, 4, 4]


def test_the_new_knobs_enter_the_spec_hash():
    plain = load_plan_from(GRID.format(experiment="", dataset="", noise=0.0, extra=""))
    initial = load_plan_from(GRID.format(experiment="initial = 20", dataset="", noise=0.0,
                                         extra=""))
    assert plain.cells[0].spec_hash() != initial.cells[0].spec_hash()
    assert '"initial":20' in initial.cells[0].spec_json()


def test_a_split_per_seed_is_its_own_stream_and_recorded(tmp_path):
    with run(grid(dataset='split_seed = "run"'), tmp_path) as store:
        runs = store.runs()
    prints = runs.groupby("seed").dataset_fingerprint.unique()
    assert all(len(p) == 1 for p in prints)  # one split per seed, whatever the strategy
    assert prints[0][0] != prints[1][0]
    for seed in (0, 1):  # each run's split is the one its seed's stream draws
        own = Wine(split_seed=derived_seed(seed, SPLIT_STREAM)).prepare("wine", "dataset")
        assert own.fingerprint == prints[seed][0]
        assert np.allclose(own.X.mean(axis=0), 0, atol=1e-5)  # scaled on its own pool


def test_a_fixed_split_stays_the_default(tmp_path):
    with run(grid(), tmp_path) as store:
        assert store.runs().dataset_fingerprint.nunique() == 1


SEEN: list[str] = []  # the class of each model SawTheModel was handed


@dataclass(frozen=True, kw_only=True)
class SawTheModel(Strategy):
    """Records the class of the model it is handed (runs in this process: workers=1)."""

    needs_model = True

    def select(self, ctx, k, rng):
        SEEN.append(type(ctx.model).__name__)
        pool = np.flatnonzero(~np.asarray(ctx.queried))
        return rng.choice(pool, size=min(k, len(pool)), replace=False)


def test_strategies_see_the_selection_learner_and_the_task_learner_is_evaluated(tmp_path):
    raw = grid("initial = 10", extra=textwrap.dedent("""
        [selection_learner]
        name = "mlp"
        hidden = [8]
        epochs = 5
        device = "cpu"
    """))
    raw["strategy"] = [{"name": SawTheModel}]
    SEEN.clear()
    with run(raw, tmp_path) as store:
        frame = store.to_frame()
    assert set(SEEN) == {"TorchClassifier"}  # the mlp's model, not scikit-learn's
    assert set(frame.selection_learner) == {"mlp(hidden=[8],epochs=5,device=cpu)"}
    assert set(frame.learner) == {"sklearn"}
    alone = grid("initial = 10")
    alone["strategy"] = [{"name": SawTheModel}]
    SEEN.clear()
    with run(alone, tmp_path, "alone.sqlite") as store:
        itself = store.to_frame()
    assert "TorchClassifier" not in SEEN
    assert set(itself.selection_learner) == {"self"}
    assert set(itself.spec_hash).isdisjoint(frame.spec_hash)


BAD = [
    ("initial = 1000", "", "experiment.initial", "more than the pool"),
    ("initial = 35", "", "experiment.initial", "more than the first budget"),
    ('initial = 60\ninitial_by = "per_class"\ninitial_charged = false', "",
     "experiment.initial", "has only"),
    ('initial = 5\ninitial_by = "stratified"', "", "experiment.initial_by", "per_class"),
    ("initial = -1", "", "experiment.initial", ">= 0"),
    ("", 'split_seed = "each"', "dataset.split_seed", '"run"'),
]


@pytest.mark.parametrize("experiment, dataset, field, words", BAD)
def test_bad_protocol_knobs_are_one_line(experiment, dataset, field, words, tmp_path, capsys):
    config = tmp_path / "c.toml"
    config.write_text(GRID.format(experiment=experiment, dataset=dataset, noise=0.0, extra=""))
    store = tmp_path / "s.sqlite"
    assert main(["run", str(config), "--store", str(store), "--quiet"]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith(f"palbench: error: {field} = ") and words in line, line
    assert not store.exists()


def test_refusals_that_name_other_sections(tmp_path, capsys):
    cases = [
        (GRID.replace('name = "noisy_label"\nnoise = {noise}', 'name = "noisy_pair"')
         .replace('name = "margin"', 'name = "random_pairs"')
         .replace('[[strategy]]\nname = "random"\n', ""), "initial = 5", "",
         "oracle.name", "needs label answers"),
        (GRID.replace('name = "wine"', 'name = "fashion_mnist"'), "", 'split_seed = "run"',
         "dataset.split_seed", "official test set"),
        (GRID.replace('name = "margin"', 'name = "badge"'), "", "",
         "selection_learner.name", "badge"),
    ]
    for text, experiment, dataset, field, words in cases:
        extra = '[selection_learner]\nname = "sklearn"\nestimator = ' \
            '"sklearn.ensemble.RandomForestClassifier"' if field.startswith("selection") else ""
        config = tmp_path / "c.toml"
        config.write_text(text.format(experiment=experiment, dataset=dataset, noise=0.0,
                                      extra=extra))
        assert main(["run", str(config), "--store", str(tmp_path / "s.sqlite"), "--quiet"]) == 2
        (line,) = capsys.readouterr().err.splitlines()
        assert line.startswith(f"palbench: error: {field} = ") and words in line, line


def test_budget_and_seed_grids_are_the_lists_written_out():
    """A grid to the whole pool in one line; it hashes as the same list written out."""
    written = load_plan_from(GRID.format(experiment="", dataset="", noise=0.0, extra="")
                             .replace("seeds = [0, 1]", "seeds = [3, 4, 5]")
                             .replace("budgets = [30, 40]", "budgets = [20, 25, 30]"))
    grid_plan = load_plan_from(GRID.format(experiment="", dataset="", noise=0.0, extra="")
                               .replace("seeds = [0, 1]", "seeds = { start = 3, stop = 5 }")
                               .replace("budgets = [30, 40]",
                                        "budgets = { start = 20, stop = 30, step = 5 }"))
    assert [c.spec_hash() for c in grid_plan.cells] == [c.spec_hash() for c in written.cells]
    assert grid_plan.experiment.seeds == (3, 4, 5)


@pytest.mark.parametrize("value, field, words", [
    ("{ stop = 30, stp = 1 }", "experiment.budgets.stp", "unknown key"),
    ("{ stop = 30 }", "experiment.budgets", "needs stop and step"),
    ("{ start = 40, stop = 30, step = 1 }", "experiment.budgets.stop", "at least start"),
    ("{ stop = 30, step = 0 }", "experiment.budgets.step", "positive"),
    ("{ stop = 1000, step = 1 }", "experiment.budgets", "whole pool"),
    ('{ stop = "pool" }', "experiment.budgets", "needs stop and step"),
    ('{ stop = "pools", step = 1 }', "experiment.budgets.stop", "must be a number"),
    ('{ start = 500, stop = "pool", step = 1 }', "experiment.budgets", "whole pool"),
])
def test_bad_budget_grids_are_one_line(value, field, words, tmp_path, capsys):
    config = tmp_path / "c.toml"
    config.write_text(GRID.format(experiment="", dataset="", noise=0.0, extra="")
                      .replace("budgets = [30, 40]", f"budgets = {value}"))
    assert main(["run", str(config), "--store", str(tmp_path / "s.sqlite"), "--quiet"]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith(f"palbench: error: {field} = ") and words in line, line


def test_only_the_selection_learner_needs_what_the_strategy_needs(tmp_path):
    """badge needs a linear last layer: a random forest can be trained when an mlp selects."""
    raw = grid(extra=textwrap.dedent("""
        [selection_learner]
        name = "mlp"
        hidden = [8]
        epochs = 5
        device = "cpu"
    """))
    raw["strategy"] = [{"name": "badge"}]
    raw["learner"] = {"name": "sklearn", "estimator": "sklearn.ensemble.RandomForestClassifier",
                      "params": {"n_estimators": 10}}
    raw["experiment"]["seeds"] = [0]
    with run(raw, tmp_path) as store:
        frame = store.to_frame()
    assert len(frame) == 2 and frame.task_acc.notna().all()


@pytest.mark.parametrize("name", ["selection_learner_study", "zhan_lu_protocol"])
def test_the_shipped_protocol_configs_run(name, tmp_path):
    """configs/protocols/*.toml, cut to one seed and two budgets: they load and run."""
    from pathlib import Path

    from palbench.params import read_toml

    raw = read_toml(Path(__file__).parents[2] / "configs" / "protocols" / f"{name}.toml")
    raw["experiment"]["seeds"] = [0]
    raw["experiment"]["budgets"] = [22, 24] if name == "zhan_lu_protocol" else [40, 50]
    for learner in ([raw["learner"]] if isinstance(raw["learner"], dict) else raw["learner"]) \
            + raw.get("selection_learner", []):
        if learner["name"] == "mlp":
            learner["epochs"] = 2
    with run(raw, tmp_path) as store:
        assert len(store.runs()) > 0


def test_imbalance_is_a_seeded_long_tail_of_the_pool_with_the_test_set_left_as_is():
    from palbench.datasets.sklearn_sets import Digits

    balanced = Digits().prepare("digits", "dataset")
    tail = Digits(imbalance=10).prepare("digits", "dataset")
    counts = np.sort(np.bincount(tail.y))
    assert counts[-1] / counts[0] == pytest.approx(10, rel=0.05)
    assert np.all(np.diff(counts) > 0)  # a long tail: every class a different size
    assert np.array_equal(tail.y_test, balanced.y_test)  # the test set is not cut
    assert tail.fingerprint != balanced.fingerprint
    assert Digits(imbalance=10).prepare("digits", "dataset").fingerprint == tail.fingerprint
    assert Digits(imbalance=10, split_seed=1).prepare("digits", "dataset").fingerprint != \
        tail.fingerprint
    both = Digits(imbalance=10, imbalance_test=True).prepare("digits", "dataset")
    test_counts = np.sort(np.bincount(both.y_test))
    assert test_counts[-1] / test_counts[0] > 5


def test_balanced_accuracy_and_macro_f1_are_recorded(tmp_path):
    raw = grid()
    raw["dataset"] = [{"name": "digits", "id": "balanced"},
                      {"name": "digits", "imbalance": 10.0, "imbalance_test": True,
                       "id": "long_tail"}]
    with run(raw, tmp_path) as store:
        frame = store.to_frame()
    assert frame.balanced_acc.notna().all() and frame.macro_f1.notna().all()
    tail = frame[frame.dataset == "long_tail"]
    assert (tail.balanced_acc != tail.task_acc).any()  # what accuracy hides on a long tail
    assert (frame.balanced_acc <= 1).all() and (frame.macro_f1 <= 1).all()


@pytest.mark.parametrize("value, words", [
    ("0.5", "must be >= 1"),
    ("1000.0", "leaves class"),
])
def test_bad_imbalance_is_one_line(value, words, tmp_path, capsys):
    config = tmp_path / "c.toml"
    config.write_text(GRID.format(experiment="", dataset=f"imbalance = {value}", noise=0.0,
                                  extra=""))
    store = tmp_path / "s.sqlite"
    assert main(["run", str(config), "--store", str(store), "--quiet"]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("palbench: error: dataset.imbalance = ") and words in line, line
    assert not store.exists()


def test_balanced_scores_agree_with_scikit_learn():
    from sklearn.metrics import balanced_accuracy_score, f1_score

    from palbench.bench.evaluation import class_balanced_scores

    rng = np.random.default_rng(0)
    for n_classes in (2, 3, 7):
        y = rng.integers(0, n_classes - 1 if n_classes > 2 else 2, size=200)  # a class absent
        predicted = rng.integers(0, n_classes, size=200)
        balanced, macro = class_balanced_scores(y, predicted, n_classes)
        assert balanced == pytest.approx(balanced_accuracy_score(y, predicted))
        assert macro == pytest.approx(f1_score(y, predicted, labels=np.arange(n_classes),
                                               average="macro", zero_division=0))
