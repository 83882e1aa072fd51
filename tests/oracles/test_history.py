"""Annotators who change as they work: the oracle is handed the run's history (derived from
its answer log) and charges apart from the listed prices; the contract (same history and rng,
same answers and charges; charges finite, positive and recorded) is checked by check_oracle
and by every run before any cell; the stored log rebuilds the history the run had."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

import palbench
from palbench import Oracle
from palbench.cli import main
from palbench.queries import AnnotatorHistory, AnswerRow
from palbench.results.store import ResultsStore
from palbench.testing import ContractError, check_oracle
from tests.oracles.annotators import CountsItself, ForgetsItself, Tiring

TIRING = "tests.oracles.annotators:Tiring"
GRID = f"""
[experiment]
seeds = [0, 1]
budgets = [30, 75]
batch_size = 4
probe = false
[dataset]
name = "blobs"
n_samples = 150
n_features = 4
[[strategy]]
name = "random"
[[strategy]]
name = "margin"
[oracle]
name = "{TIRING}"
[costs]
label = 3.0
[learner]
name = "sklearn"
"""
ROW_COLUMNS = ["strategy", "seed", "budget", "cost", "n_queries", "n_wrong", "task_acc",
               "spec_hash"]


def stored(store) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(checkpoint rows, answer logs) keyed by cell, never by run id."""
    with ResultsStore(store, mode="read") as s:
        frame = s.to_frame()
        log = s.answers().merge(frame[["run_id", "strategy", "seed"]].drop_duplicates())
    rows = frame[ROW_COLUMNS].sort_values(["strategy", "seed", "budget"])
    log = log.drop(columns="run_id").sort_values(["strategy", "seed", "position", "worker"])
    return rows.reset_index(drop=True), log.reset_index(drop=True)


def assert_same_runs(a, b) -> None:
    for x, y in zip(stored(a), stored(b)):
        pd.testing.assert_frame_equal(x, y)


def test_the_tiring_annotator_passes_the_contract():
    check_oracle(Tiring)


def test_charges_may_differ_from_the_list():
    @dataclass(frozen=True, kw_only=True)
    class Slow(Oracle):
        def respond(self, queries, truth, history, rng):
            return truth.y[queries.indices]

        def charge(self, queries, truth, history, listed):
            return listed * 2

    check_oracle(Slow)


@dataclass(frozen=True, kw_only=True)
class Exactly(Oracle):
    def respond(self, queries, truth, history, rng):
        return truth.y[queries.indices]


@dataclass(frozen=True, kw_only=True)
class Free(Exactly):
    def charge(self, queries, truth, history, listed):
        return listed * 0


@dataclass(frozen=True, kw_only=True)
class Unbounded(Exactly):
    def charge(self, queries, truth, history, listed):
        return np.where(np.arange(len(listed)) == 1, np.inf, listed)


@dataclass(frozen=True, kw_only=True)
class ChargesTheBatch(Exactly):
    def charge(self, queries, truth, history, listed):
        return np.array([listed.sum()])  # one total: not one charge per answer


@dataclass(frozen=True, kw_only=True)
class OutOfRange(Exactly):
    def respond(self, queries, truth, history, rng):
        return truth.y[queries.indices] + truth.n_classes


@pytest.mark.parametrize("cls,rule", [
    (CountsItself, "charged .* the second time"),
    (ForgetsItself, "different answers to the same label queries for the same history"),
    (Free, r"charged 0\.0 for a label answer: charges are finite and positive"),
    (Unbounded, r"charged inf for a label answer"),
    (ChargesTheBatch, r"shape \(1,\) for 200 label answers"),
    (OutOfRange, "answered"),
])
def test_check_oracle_refuses_each_broken_rule(cls, rule):
    with pytest.raises(ContractError, match=rule):
        check_oracle(cls)


def test_the_tiring_annotator_s_stored_charges_follow_its_formula(write_config, tmp_path):
    config = write_config(GRID)
    results = palbench.run(config, store=tmp_path / "s.sqlite", progress=False)
    frame = results.frame()
    with ResultsStore(tmp_path / "s.sqlite", mode="read") as s:
        for run_id in frame.run_id.unique():
            log = s.answer_log(int(run_id))
            assert [r.position for r in log] == list(range(len(log))) and len(log) > 10
            assert [r.charged_seconds for r in log] == \
                [3.0 + 0.5 * i / 100 for i in range(len(log))]  # exactly, float for float
            assert {r.listed_seconds for r in log} == {3.0}
            last = frame[frame.run_id == run_id].cost.max()
            assert last == pytest.approx(sum(r.charged_seconds for r in log), rel=1e-12)
            assert last > 3.0 * len(log)  # budgets spend charged seconds, not listed ones
        charges = s.charges()
    assert (charges.charged_seconds > charges.listed_seconds).all()


def test_a_history_rebuilt_from_the_store_is_the_one_the_run_had(write_config, tmp_path):
    """A pool of tiring workers at different prices: each stored run's log rebuilds the
    history its cell ends with (the cell run again here, to its end)."""
    from palbench.bench.config import load_plan
    from palbench.bench.loop import run_cell

    config = write_config(GRID.replace(f'name = "{TIRING}"', f"""name = "workers"
base = {{ name = "{TIRING}" }}
n_workers = 4
redundancy = 2
price = [1.0, 1.5, 0.5, 2.0]""").replace("[[strategy]]\nname = \"margin\"\n", ""))
    results = palbench.run(config, store=tmp_path / "s.sqlite", progress=False)
    runs = results.frame().drop_duplicates("run_id")
    plan = load_plan(config)
    assert len(plan.cells) == len(runs) == 2
    with ResultsStore(tmp_path / "s.sqlite", mode="read") as s:
        for cell in plan.cells:
            run_id = int(runs[runs.seed == cell.seed].run_id.iloc[0])
            rebuilt = AnnotatorHistory.from_rows(s.answer_log(run_id))
            log = run_cell(cell, plan.data(cell)).answers
            assert rebuilt == AnnotatorHistory.from_rows(log)
            assert len(rebuilt) == len(log) and set(rebuilt.answers) <= {0, 1, 2, 3}
            worker = log[0].worker
            mine = [r for r in log if r.worker == worker]
            assert rebuilt.answers_by(worker) == len(mine)
            assert rebuilt.seconds_by(worker) == pytest.approx(
                sum(r.charged_seconds for r in mine))
            assert rebuilt.clock == pytest.approx(sum(r.charged_seconds for r in log))


def test_the_ledger_hands_the_oracle_a_view_of_its_log(blobs):
    from palbench.bench.grid import cell_for
    from palbench.bench.loop import CellState
    from palbench.protocol import build_nested

    strategy, learner = (build_nested(kind, {"name": name}, kind)
                         for kind, name in (("strategy", "random"), ("learner", "sklearn")))
    state = CellState(cell_for(blobs, strategy=strategy, oracle=Tiring(), learner=learner,
                               seed=0), blobs).start()
    for _ in range(3):
        state.ask(5)
    history = state.ledger.history()
    assert history == AnnotatorHistory.from_rows(list(state.ledger.log))
    assert len(history) == 15 and history.answers_by(None) == 15
    assert history.clock == sum(3.0 + 0.5 * i / 100 for i in range(15))
    with pytest.raises(TypeError):
        history.answers[None] = 0  # read-only


def test_a_resumed_grid_equals_an_uninterrupted_one(write_config, tmp_path):
    config = write_config(GRID)
    part = write_config(GRID.replace("seeds = [0, 1]", "seeds = [1]"), "part.toml")
    run(part, tmp_path / "resumed.sqlite")
    run(config, tmp_path / "resumed.sqlite")
    run(config, tmp_path / "whole.sqlite")
    assert_same_runs(tmp_path / "resumed.sqlite", tmp_path / "whole.sqlite")


def test_two_workers_and_a_lockstep_group_equal_one_cell_at_a_time(write_config, tmp_path):
    config = write_config(GRID)
    run(config, tmp_path / "alone.sqlite", "--batch-cells", "1")
    run(config, tmp_path / "group.sqlite", "--batch-cells", "4")
    run(config, tmp_path / "pool.sqlite", "--batch-cells", "1", "--workers", "2")
    assert_same_runs(tmp_path / "alone.sqlite", tmp_path / "group.sqlite")
    assert_same_runs(tmp_path / "alone.sqlite", tmp_path / "pool.sqlite")


@pytest.mark.slow
def test_a_ray_run_equals_a_local_one(write_config, tmp_path, monkeypatch):
    pytest.importorskip("ray", reason="pip install 'palbench[ray]'")
    monkeypatch.setenv("RAY_USAGE_STATS_ENABLED", "0")
    config = write_config(GRID)
    run(config, tmp_path / "local.sqlite")
    run(config, tmp_path / "ray.sqlite", "--executor", "ray", "--workers", "2")
    assert_same_runs(tmp_path / "local.sqlite", tmp_path / "ray.sqlite")


def run(config, store, *options) -> None:
    assert main(["run", str(config), "--store", str(store), "--quiet", *options]) == 0


def test_run_refuses_a_module_state_oracle_in_one_line_before_any_store(write_config,
                                                                       tmp_path, capsys):
    config = write_config(GRID.replace(TIRING, "tests.oracles.annotators:CountsItself"))
    store = tmp_path / "s.sqlite"
    assert main(["run", str(config), "--store", str(store), "--quiet"]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert "oracle 'tests.oracles.annotators:CountsItself'" in err or "CountsItself" in err
    assert "the second time" in err and "state the oracle keeps" in err
    assert not store.exists()


def test_an_old_store_gets_the_charge_columns_empty(tmp_path):
    import shutil
    from pathlib import Path

    path = tmp_path / "old.sqlite"
    shutil.copy(Path(__file__).parents[1] / "fixtures" / "store_v1.sqlite", path)
    with ResultsStore(path) as store:
        assert len(store.to_frame()) == 8
        assert store.answers().empty  # schema 1 kept no answer log
    columns = [row[1] for row in sqlite3.connect(path).execute("PRAGMA table_info(answers)")]
    assert columns[-2:] == ["listed_seconds", "charged_seconds"]


def test_rows_without_charges_count_no_seconds():
    rows = [AnswerRow(0, "label", 4, None, None, 1, 1), AnswerRow(1, "label", 5, None, 2, 0, 0,
                                                                  1.0, 2.5)]
    history = AnnotatorHistory.from_rows(rows)
    assert history.clock == 2.5 and history.answers_by(None) == 1 and history.seconds_by(2) == 2.5
