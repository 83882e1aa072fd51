"""The loop's accounting: budgets in cost units, abstentions, wrong answers, plugin contracts."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pytest

from palbench.bench.config import load_plan
from palbench.bench.loop import run_cell
from palbench.errors import ConfigError
from palbench.strategies.base import Strategy
from tests.conftest import SMALL_CONFIG


@pytest.fixture
def plan(write_config):
    return load_plan(write_config(SMALL_CONFIG))


def test_budgets_are_met_exactly_with_unit_costs(plan):
    cell = plan.cells[0]
    result = run_cell(cell, plan.datasets[cell.dataset.label])
    assert [c.cost for c in result.checkpoints] == [6, 12, 24]
    assert [c.n_queries for c in result.checkpoints] == [6, 12, 24]


def test_per_class_costs_stop_at_or_just_past_the_budget(write_config):
    text = SMALL_CONFIG.replace("[learner]", '[costs]\nlabel = { "0" = 1.0, "1" = 2.5, '
                                             '"2" = 4.0 }\n[learner]')
    plan = load_plan(write_config(text))
    cell = plan.cells[0]
    result = run_cell(cell, plan.datasets[cell.dataset.label])
    for checkpoint in result.checkpoints:
        assert checkpoint.budget <= checkpoint.cost < checkpoint.budget + 4.0 * 3


def test_abstentions_and_wrong_answers_are_counted(write_config):
    text = SMALL_CONFIG.replace('name = "noisy_label"\nnoise = 0.1',
                                'name = "abstain"\nrate = 0.5\nbase = { name = "noisy_label", '
                                'noise = 0.5 }')
    plan = load_plan(write_config(text))
    cell = plan.cells[0]
    last = run_cell(cell, plan.datasets[cell.dataset.label]).checkpoints[-1]
    assert last.n_queries == 24 and last.cost == 24
    assert last.n_abstain > 0 and last.n_labels == 24 - last.n_abstain
    assert 0 < last.n_wrong < last.n_labels


@dataclass(frozen=True, kw_only=True)
class Repeats(Strategy):
    """A broken plugin: always asks for sample 0."""

    def select(self, ctx, k, rng):
        return np.zeros(k, dtype=np.int64)


def test_a_strategy_breaking_its_contract_stops_the_run(plan):
    cell = plan.cells[0]
    broken = replace(cell, strategy=replace(cell.strategy, obj=Repeats(), label="repeats"))
    with pytest.raises(RuntimeError, match="'repeats' broke its contract"):
        run_cell(broken, plan.datasets[cell.dataset.label])


def test_probe_uses_every_label_up_to_the_cap_then_a_fixed_stratified_subset(monkeypatch):
    from palbench.bench import evaluation

    y = np.repeat(np.arange(4), [100, 100, 50, 30])
    np.testing.assert_array_equal(evaluation.probe_rows(y), np.arange(len(y)))
    monkeypatch.setattr(evaluation, "PROBE_SAMPLES", 56)
    rows = evaluation.probe_rows(y)
    assert len(rows) == 56 and len(np.unique(rows)) == 56
    assert list(np.bincount(y[rows])) == [20, 20, 10, 6]  # class shares kept
    np.testing.assert_array_equal(rows, evaluation.probe_rows(y))  # the same every checkpoint


def _corrupted_state(blobs, rate: float):
    from palbench.bench.grid import cell_for
    from palbench.bench.loop import CellState
    from palbench.learners.sklearn_adapter import Sklearn
    from palbench.oracles.noisy import Abstain
    from palbench.strategies.random_sampling import Random

    oracle = Abstain(rate=rate, base={"name": "corrupted_labels", "n_corrupted": 60})
    cell = cell_for(blobs, strategy=Random(), oracle=oracle, learner=Sklearn(), seed=4)
    return CellState(cell, blobs).start()


def test_the_corrupted_labelling_has_its_own_stream(blobs):
    """The labelling drawn once per run comes from its own spawned stream: the answers it fixes
    do not move when only the abstention rate (the oracle stream's use) changes, and it is not
    the labelling the oracle stream's seed would draw."""
    from palbench.oracles.pairs import corrupted_labelling
    from palbench.queries import ABSTAIN, LabelQueries

    queries = LabelQueries(np.arange(blobs.n_pool))
    answers = []
    for rate in (0.0, 0.4):
        state = _corrupted_state(blobs, rate)
        answers.append(state.oracle.answer(queries, state.truth, state.ledger.history(),
                                           state.oracle_rng).values)
    both = answers[1] != ABSTAIN
    assert 0 < both.sum() < blobs.n_pool
    np.testing.assert_array_equal(answers[0][both], answers[1][both])
    seeds = state.seeds
    assert seeds["labelling"] != seeds["oracle"]
    own = corrupted_labelling(blobs.y, blobs.n_classes, 60, seeds["labelling"])
    np.testing.assert_array_equal(answers[0], own)
    assert not np.array_equal(own, corrupted_labelling(blobs.y, blobs.n_classes, 60,
                                                       seeds["oracle"]))


CLOSURE = """
[experiment]
seeds = [0]
budgets = [60, 200]
batch_size = 20
closure = "{closure}"
[dataset]
name = "circles"
n_samples = 300
test_fraction = 0.5
[strategy]
name = "random_pairs"
[oracle]
name = "exact_pair"
[learner]
name = "kernel_pal"
"""


def test_closure_none_gives_learners_the_raw_answers_only(write_config):
    """The same answers (same seeds, same strategy), seen raw by the learner: the run's graph
    statistics agree, the learner knows fewer classes and does worse than with the closure."""
    results = {}
    for closure in ("transitive", "none"):
        plan = load_plan(write_config(CLOSURE.format(closure=closure), f"{closure}.toml"))
        cell = plan.cells[0]
        results[closure] = run_cell(cell, plan.datasets[cell.dataset.label]).checkpoints[-1]
    closed, raw = results["transitive"], results["none"]
    assert (raw.n_queries, raw.n_labels, raw.n_components) == \
        (closed.n_queries, closed.n_labels, closed.n_components)
    assert raw.probe_acc < closed.probe_acc


def test_data_seed_run_draws_each_runs_dataset_anew(write_config, tmp_path):
    """data_seed = "run": every run seed gets its own circles (as the PAL notebooks redraw them
    per trial), recorded by fingerprint; serial and pooled runs agree; data without a generator
    seed is one line."""
    from palbench.cli import main
    from palbench.results.store import ResultsStore

    text = CLOSURE.format(closure="transitive").replace(
        "batch_size = 20", 'batch_size = 20\ndata_seed = "run"').replace("seeds = [0]",
                                                                         "seeds = [0, 1]")
    config = write_config(text)
    plan = load_plan(config)
    fingerprints = {cell.dataset_fingerprint for cell in plan.cells}
    assert len(fingerprints) == 2 and len({c.dataset.obj.seed for c in plan.cells}) == 2
    assert {plan.data(c).fingerprint for c in plan.cells} == fingerprints
    frames = []
    for workers in ("1", "2"):
        store = tmp_path / f"w{workers}.sqlite"
        assert main(["run", str(config), "--store", str(store), "--quiet", "--workers",
                     workers]) == 0
        with ResultsStore(store) as s:
            frame = s.to_frame()
        assert set(frame.dataset_fingerprint) == fingerprints
        frames.append(frame.sort_values(["seed", "budget"])[["seed", "budget", "probe_acc"]]
                      .reset_index(drop=True))
    assert frames[0].equals(frames[1])
    digits = write_config(text.replace('name = "circles"\nn_samples = 300', 'name = "digits"'),
                          "digits.toml")
    with pytest.raises(ConfigError, match="no seed to follow"):
        load_plan(digits)
