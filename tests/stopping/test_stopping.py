"""Stopping criteria: each rule on hand-made histories, the contract checker, end to end
through the loop (they observe and never change a run), the report's block, claims on
stop_cost and stop_loss, and bad input in one line."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from palbench.cli import main
from palbench.reports.metrics import stops_of
from palbench.results.store import ResultsStore
from palbench.stopping import STOPPING, Observation, first_stop
from palbench.stopping.criteria import (
    ClassificationChange,
    MaxBudget,
    OverallUncertainty,
    PerformancePlateau,
    StabilizingPredictions,
)
from palbench.testing import ContractError, check_stopping

GRID = """
[experiment]
seeds = [0, 1]
budgets = { start = 10, stop = 80, step = 10 }
batch_size = 5
probe = false
[dataset]
name = "breast_cancer"
[[strategy]]
name = "random"
[[strategy]]
name = "margin"
[learner]
name = "sklearn"
"""
CRITERIA = """
[[stopping]]
name = "stabilizing_predictions"
window = 2
[[stopping]]
name = "classification_change"
[[stopping]]
name = "overall_uncertainty"
threshold = 0.05
[[stopping]]
name = "performance_plateau"
[[stopping]]
name = "max_budget"
budget = 40
"""


def history(predictions, uncertainty=None, validation=None):
    n = len(predictions)
    uncertainty = uncertainty or [0.5] * n
    validation = validation or [0.5] * n
    return [Observation(10.0 * (i + 1), 10.0 * (i + 1), 10 * (i + 1), np.array(p), u, v)
            for i, (p, u, v) in enumerate(zip(predictions, uncertainty, validation))]


def test_each_rule_on_hand_made_histories():
    changing = [[0, 1, 2, 0], [0, 1, 1, 0], [0, 1, 1, 1], [0, 1, 1, 1], [0, 1, 1, 1]]
    assert first_stop(StabilizingPredictions(window=2), history(changing)) == 4
    assert first_stop(StabilizingPredictions(window=1), history(changing)) == 3
    assert first_stop(ClassificationChange(), history(changing)) == 3
    assert first_stop(ClassificationChange(max_change=0.25), history(changing)) == 1
    falling = history(changing, uncertainty=[0.4, 0.3, 0.2, 0.08, 0.01])
    assert first_stop(OverallUncertainty(threshold=0.1), falling) == 3
    plateau = history(changing, validation=[0.5, 0.7, 0.8, 0.802, 0.801])
    assert first_stop(PerformancePlateau(patience=2, epsilon=0.005), plateau) == 4
    assert first_stop(PerformancePlateau(patience=2, epsilon=0.0), plateau) is None
    assert first_stop(MaxBudget(budget=30), history(changing)) == 2
    assert first_stop(MaxBudget(budget=500), history(changing)) is None


@pytest.mark.parametrize("name", STOPPING.names())
def test_every_registered_criterion_keeps_the_contract(name):
    check_stopping(STOPPING.get(name))


def test_the_checker_names_a_criterion_that_keeps_state():
    @dataclasses.dataclass(frozen=True, kw_only=True)
    class Counting(StabilizingPredictions):
        calls: list = dataclasses.field(default_factory=list, compare=False)

        def should_stop(self, history):
            self.calls.append(1)
            return len(self.calls) > 5

    with pytest.raises(ContractError, match="keep no state"):
        check_stopping(Counting())

    @dataclasses.dataclass(frozen=True, kw_only=True)
    class Unsure(StabilizingPredictions):
        def should_stop(self, history):
            return "maybe"

    with pytest.raises(ContractError, match="returns a bool"):
        check_stopping(Unsure)


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    folder = tmp_path_factory.mktemp("stopping")
    made = {}
    for name, text in (("watched", GRID + CRITERIA), ("plain", GRID)):
        (folder / f"{name}.toml").write_text(text)
        made[name] = folder / f"{name}.sqlite"
        assert main(["run", str(folder / f"{name}.toml"), "--store", str(made[name]),
                     "--quiet"]) == 0
    return made


def test_criteria_observe_and_never_change_a_run(stores):
    frames = {}
    for name, path in stores.items():
        with ResultsStore(path) as store:
            frames[name] = store.to_frame().drop(
                columns=["run_id", "spec_hash", "stops_json", "select_seconds",
                         "fit_seconds", "eval_seconds"])
    pd.testing.assert_frame_equal(frames["watched"], frames["plain"])
    with ResultsStore(stores["watched"]) as store:
        frame = store.to_frame()
        stops = stops_of(frame)
    assert len(stops) == 4 * 5  # 4 runs x 5 criteria
    budget40 = stops[stops.criterion == "max_budget(budget=40)"]
    assert budget40.stopped.all() and (budget40.cost == 40).all()
    final = frame[frame.budget == 80].set_index("run_id").task_acc
    for row in stops.itertuples():  # the loss is against the run's own final accuracy
        assert row.loss == pytest.approx(final[row.run_id] - row.task_acc)
        at = frame[(frame.run_id == row.run_id) & (frame.budget == row.budget)]
        assert at.task_acc.item() == pytest.approx(row.task_acc)


def test_the_report_shows_where_each_criterion_stops(stores, tmp_path):
    assert main(["report", "--store", str(stores["watched"]), "--out", str(tmp_path)]) == 0
    board = (tmp_path / "leaderboard.md").read_text()
    assert "## Stopping criteria" in board and "| margin | max_budget(budget=40) | 2/2 | 40" \
        in board
    assert main(["report", "--store", str(stores["plain"]), "--out", str(tmp_path / "p")]) == 0
    assert "Stopping criteria" not in (tmp_path / "p" / "leaderboard.md").read_text()


def test_the_cost_model_prices_each_stop_against_the_cheapest_checkpoint(stores, tmp_path,
                                                                         capsys):
    """Pullar-Strecker et al.'s total cost: labels paid plus C x test error; the excess is
    measured against the run's own cost-optimal checkpoint, so it is never negative and is 0
    where a criterion stopped at that checkpoint."""
    from palbench.reports.metrics import total_costs

    with ResultsStore(stores["watched"]) as store:
        frame = store.to_frame()
        stops = stops_of(frame)
    priced = total_costs(stops, frame, 100.0)
    for row in priced.itertuples():
        curve = frame[frame.run_id == row.run_id]
        optimum = (curve.cost + 100.0 * (1 - curve.task_acc)).min()
        assert row.total == pytest.approx(row.cost + 100.0 * (1 - row.task_acc))
        assert row.excess == pytest.approx(row.total - optimum) and row.excess >= -1e-9
    out = tmp_path / "r"
    assert main(["report", "--store", str(stores["watched"]), "--out", str(out),
                 "--mistake-cost", "100"]) == 0
    board = (out / "leaderboard.md").read_text()
    assert "Pullar-Strecker" in board and "over the optimum" in board
    assert main(["report", "--store", str(stores["watched"]), "--out", str(out),
                 "--mistake-cost", "0"]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()[-1:]
    assert line.startswith("palbench: error: --mistake-cost = 0.0: must be > 0")


def test_claims_on_stop_cost_and_stop_loss(stores, tmp_path, capsys):
    claims = tmp_path / "claims.toml"
    claims.write_text("""
[[claim]]
name = "stops by 40"
dataset = "breast_cancer"
strategy = "margin"
metric = "stop_cost"
criterion = "max_budget(budget=40)"
at_most = 40
[[claim]]
name = "loses at most nothing"
dataset = "breast_cancer"
strategy = "random"
metric = "stop_loss"
criterion = "max_budget(budget=40)"
at_most = -0.5
[[claim]]
name = "a criterion no run has"
dataset = "breast_cancer"
strategy = "margin"
metric = "stop_loss"
criterion = "plateau"
at_most = 0.1
""")
    assert main(["check", str(claims), "--store", str(stores["watched"]), "--no-run"]) == 1
    out = capsys.readouterr().out
    assert "PASS  stops by 40: stop_cost(max_budget(budget=40)) = 40" in out
    assert "FAIL  loses at most nothing: stop_loss(max_budget(budget=40))" in out
    assert "FAIL  a criterion no run has: no run recorded the stopping criterion 'plateau'" \
        in out


@pytest.mark.parametrize("table, field, words", [
    ('name = "stabilizing_predictions"\nwindow = 0', "stopping.window", ">= 1"),
    ('name = "stabilizing_predictions"\nkappa = 2.0', "stopping.kappa", "within [-1, 1]"),
    ('name = "overall_uncertainty"\nthreshold = 1.5', "stopping.threshold", "(0, 1)"),
    ('name = "performance_plateau"\npatience = 0', "stopping.patience", ">= 1"),
    ('name = "stabilising_predictions"', "stopping.name", "did you mean"),
])
def test_bad_criteria_are_one_line(table, field, words, tmp_path, capsys):
    config = tmp_path / "c.toml"
    config.write_text(GRID + "[[stopping]]\n" + table + "\n")
    store = tmp_path / "s.sqlite"
    assert main(["run", str(config), "--store", str(store), "--quiet"]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith(f"palbench: error: {field} = ") and words in line, line
    assert not store.exists()


def test_a_stop_claim_without_its_criterion_is_one_line(tmp_path, capsys):
    claims = tmp_path / "claims.toml"
    claims.write_text('[[claim]]\nname = "x"\ndataset = "d"\nstrategy = "s"\n'
                      'metric = "stop_cost"\nat_most = 10\n')
    assert main(["check", str(claims), "--store", str(tmp_path / "s.sqlite"), "--no-run"]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert ".criterion = None: stop_cost and stop_loss need the criterion's label" in line, line
