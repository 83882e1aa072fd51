"""Reference lines above the strategies: the greedy oracle (it reads the truth by design, and
only it is handed the truth), the full-pool bound, the share of the oracle's gain; budgets to
the whole pool; a published table set beside the runs. Each end to end through the loop, the
store and the report, with its bad input one line."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from palbench.bench.config import load_plan
from palbench.bench.loop import CellState
from palbench.cli import main
from palbench.learners.sklearn_adapter import Sklearn
from palbench.reports.published import against_published, run_statistics
from palbench.results.store import ResultsStore
from palbench.strategies import STRATEGIES
from palbench.testing import check_strategy

GRID = """
[experiment]
name = "lines"
seeds = [0, 1, 2]
budgets = {{ start = 3, stop = "pool", step = 12 }}
batch_size = 2
probe = false
initial = 3
full_pool = true
{experiment}
[dataset]
name = "iris"
split_seed = "run"
[[strategy]]
name = "random"
[[strategy]]
name = "margin"
[[strategy]]
name = "greedy_oracle"
candidates = 4
score_on = "test"
{strategy}
[learner]
name = "sklearn"
{learner}
"""


def grid(experiment="", strategy="", learner=""):
    return GRID.format(experiment=experiment, strategy=strategy, learner=learner)


@pytest.fixture(scope="module")
def lines_store(tmp_path_factory):
    folder = tmp_path_factory.mktemp("lines")
    config = folder / "c.toml"
    config.write_text(grid())
    store = folder / "s.sqlite"
    assert main(["run", str(config), "--store", str(store), "--quiet", "--workers", "2"]) == 0
    return config, store


def test_only_a_strategy_that_declares_it_is_handed_the_truth():
    plan = load_plan_from_text(grid())
    data = plan.datasets["iris"]
    for cell in plan.cells[:3]:
        state = CellState(cell, data).start()
        if cell.strategy.obj.reads_truth:
            assert np.array_equal(state.ctx.truth.y, data.y)
            assert not state.ctx.truth.y.flags.writeable
        else:
            assert state.ctx.truth is None
    check_strategy(STRATEGIES.get("greedy_oracle", "strategy.name"), params={"candidates": 2})


def load_plan_from_text(text):
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "c.toml"
        path.write_text(text)
        return load_plan(path)


def test_a_budget_grid_to_the_pool_ends_with_every_sample_asked(lines_store):
    _, store = lines_store
    with ResultsStore(store) as s:
        frame = s.to_frame()
    n_pool = load_plan_from_text(grid()).datasets["iris"].n_pool
    last = frame.sort_values("budget").groupby("run_id").last()
    assert (last["budget"] == n_pool).all() and (last["n_queries"] == n_pool).all()
    assert sorted(frame["budget"].unique())[:3] == [3, 15, 27]


def test_the_full_pool_bound_is_the_learner_on_every_pool_label(lines_store):
    config, store = lines_store
    plan = load_plan(config)
    with ResultsStore(store) as s:
        runs = s.runs()
    for cell in plan.cells:
        data = plan.data(cell)
        model = Sklearn().fit_labels(data.X, data.y, data.n_classes,
                                     seed=CellState(cell, data).seeds["learner"])
        expected = float((model.predict_proba(data.X_test).argmax(1) == data.y_test).mean())
        row = runs[(runs.seed == cell.seed) & (runs.strategy == cell.strategy.label)]
        assert row["full_pool_acc"].item() == pytest.approx(expected)
        assert row["reads_truth"].item() == int(cell.strategy.obj.reads_truth)


def test_the_greedy_oracle_runs_above_random(lines_store):
    """Its reason to exist: with the test set to judge by it is a line above random."""
    _, store = lines_store
    with ResultsStore(store) as s:
        stats = run_statistics(s.to_frame())
    by = stats.groupby("strategy")["aulc"].mean()
    oracle = next(n for n in by.index if n.startswith("greedy_oracle"))
    assert by[oracle] > by["random"] + 0.01, by


def test_the_report_keeps_the_oracle_line_out_of_bold_ranks_and_verdicts(lines_store,
                                                                          tmp_path):
    _, store = lines_store
    out = tmp_path / "report"
    assert main(["report", "--store", str(store), "--out", str(out)]) == 0
    board = (out / "leaderboard.md").read_text()
    oracle_row = next(line for line in board.splitlines()
                      if line.startswith("| greedy_oracle"))
    assert "(oracle line)" in oracle_row and "**" not in oracle_row
    assert "share of greedy_oracle(candidates=4,score_on=test)'s gain" in board
    assert "Full-pool bound" in board
    verdicts = board.split("Against random")[1]
    assert "greedy_oracle" not in verdicts and "| margin |" in verdicts
    ranks_and_bold = [line for line in board.splitlines() if "**" in line]
    assert ranks_and_bold and all("greedy_oracle" not in line for line in ranks_and_bold)


@pytest.mark.parametrize("strategy, learner, field, words", [
    ("", "", "strategy[2].candidates", ">= 1"),
    ('validation = 0.0', "", "strategy[2].validation", "(0, 1]"),
    ('score_on = "pool"', "", "strategy[2].score_on", '"validation", "test"'),
    ("", 'probabilities_from = "logits"', "learner.probabilities_from", "decision_function"),
    ("", 'estimator = "sklearn.svm.SVC"', "learner.estimator", "decision_function"),
])
def test_bad_reference_line_knobs_are_one_line(strategy, learner, field, words, tmp_path,
                                               capsys):
    text = grid(learner=learner)
    if field.endswith("candidates"):
        text = text.replace("candidates = 4", "candidates = 0")
    elif strategy:
        text = text.replace('score_on = "test"', strategy)
    config = tmp_path / "c.toml"
    config.write_text(text)
    store = tmp_path / "s.sqlite"
    assert main(["run", str(config), "--store", str(store), "--quiet"]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith(f"palbench: error: {field} = ") and words in line, line
    assert not store.exists()


def test_pool_step_is_not_a_key_a_config_can_write(tmp_path, capsys):
    config = tmp_path / "c.toml"
    config.write_text(grid(experiment="pool_step = 2"))
    assert main(["run", str(config), "--store", str(tmp_path / "s.sqlite"), "--quiet"]) == 2
    assert "experiment.pool_step" in capsys.readouterr().err


def test_an_svc_without_calibration_predicts_as_it_would_alone():
    """probabilities_from = "decision_function": the predicted class is SVC.predict's."""
    from sklearn.datasets import load_breast_cancer

    X, y = load_breast_cancer(return_X_y=True)
    learner = Sklearn(estimator="sklearn.svm.SVC", params={"gamma": "auto"},
                      probabilities_from="decision_function")
    model = learner.fit_labels(X[:300], y[:300], 2, seed=0)
    proba = model.predict_proba(X[300:])
    assert np.allclose(proba.sum(1), 1)
    assert np.array_equal(proba.argmax(1), model.estimator.predict(X[300:]))
    margin = np.abs(proba[:, 1] - proba[:, 0])
    order = np.argsort(np.abs(model.estimator.decision_function(X[300:])))
    assert np.all(np.diff(margin[order]) >= -1e-12)  # margins order as |decision| does


def test_a_published_table_is_set_beside_the_runs(lines_store, tmp_path, capsys):
    _, store = lines_store
    with ResultsStore(store) as s:
        stats = run_statistics(s.to_frame())
    own = stats[stats.strategy == "random"]["aulc"]
    published = pd.DataFrame([
        ("iris", "random", "Uniform", "aulc", own.mean(), own.std(), 3),
        ("iris", "margin", "US-C", "final", 0.2, 0.01, 150),
    ], columns=["dataset", "strategy", "source_name", "statistic", "mean", "std", "n"])
    table = against_published(s_frame(store), published)
    same, far = table.iloc[0], table.iloc[1]
    assert same["difference"][0] == pytest.approx(0) and same["difference"][1] < 0
    assert far["difference"][1] > 0  # palbench far above a published 0.2
    path = tmp_path / "published.csv"
    published.to_csv(path, index=False)
    out = tmp_path / "report"
    assert main(["report", "--store", str(store), "--out", str(out),
                 "--published", str(path)]) == 0
    board = (out / "leaderboard.md").read_text()
    assert "Against the published table" in board and "palbench higher" in board
    assert "consistent" in board
    bad = tmp_path / "bad.csv"
    bad.write_text("dataset,strategy\niris,random\n")
    assert main(["report", "--store", str(store), "--out", str(out),
                 "--published", str(bad)]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()[-1:]
    assert line.startswith("palbench: error: --published = ") and "source_name" in line


def s_frame(store):
    with ResultsStore(store) as s:
        return s.to_frame()
