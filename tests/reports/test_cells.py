"""A cell is a spec, everywhere: one .npz file run under two `standardize` settings (two
specs under one file name) makes two lines in the report, two cells in compare, and a claim
must say which; a label adds only the parameters that differ, and "left out" means the same
spec run again by another palbench version or under another tag."""

from __future__ import annotations

import sqlite3
import textwrap

import numpy as np
import pytest

from palbench.cli import main
from palbench.reports.cells import flat, told_apart
from palbench.results.store import ResultsStore
from tests.conftest import SMALL_CONFIG

NPZ_CONFIG = """
[experiment]
name = "scaled"
seeds = [0, 1, 2, 3]
budgets = [6, 12]
batch_size = 3
probe = false
[dataset]
name = "npz"
path = "points.npz"
standardize = true
[[strategy]]
name = "random"
[[strategy]]
name = "margin"
[learner]
name = "sklearn"
estimator = "sklearn.linear_model.LogisticRegression"
params = { max_iter = 500 }
"""


@pytest.fixture(scope="module")
def two_specs(tmp_path_factory):
    """One file, two preprocessing settings, each run under tag v1 and again under v2."""
    folder = tmp_path_factory.mktemp("cells")
    rng = np.random.default_rng(0)
    X = np.concatenate([rng.normal(size=(40, 3)) + [2.0 * k, 0, 0] for k in range(3)])
    np.savez(folder / "points.npz", X=X * [1.0, 10.0, 100.0], y=np.repeat([0, 1, 2], 40))
    store = folder / "s.sqlite"
    for standardize in ("true", "false"):
        config = folder / f"{standardize}.toml"
        config.write_text(NPZ_CONFIG.replace("standardize = true",
                                             f"standardize = {standardize}"))
        for tag in ("v1", "v2"):
            assert main(["run", str(config), "--store", str(store), "--quiet", "--tag",
                         tag]) == 0
    return folder, store


def frame_of(store):
    with ResultsStore(store, mode="read") as s:
        return told_apart(s.to_frame(), s.runs())


def test_two_specs_of_one_file_are_two_cells_labelled_by_what_differs(two_specs):
    _, store = two_specs
    frame = frame_of(store)
    assert sorted(frame["dataset"].unique()) == ["points(standardize=False)",
                                                 "points(standardize=True)"]
    # only the differing parameter is said: not the fingerprint the scaling also changes,
    # nor the strategies, learner or protocol the two specs share
    assert set(frame["strategy"]) == {"random", "margin"} and set(frame["learner"]) == {
        "sklearn(params={max_iter:500})"}
    for _, cell in frame.groupby(["dataset", "strategy"]):
        assert cell["run_id"].nunique() == 8  # 4 seeds, each under v1 and v2
        assert cell.groupby("seed")["spec_hash"].nunique().eq(1).all()


def test_the_report_has_a_line_per_spec_and_leaves_out_only_other_tags(two_specs, capsys):
    folder, store = two_specs
    out = folder / "report"
    assert main(["report", "--store", str(store), "--out", str(out)]) == 0
    board = (out / "leaderboard.md").read_text()
    assert "## points(standardize=False) | oracle exact | learner sklearn" in board
    assert "## points(standardize=True) | oracle exact | learner sklearn" in board
    assert "## points |" not in board
    # per panel, two strategies of 4 seeds each: the tagged re-runs are the runs left out
    assert board.count("| margin | 4 | 12 |") == 2 and board.count("| random | 4 | 12 |") == 2
    assert "16 older run(s) left out for a newer run of the same cell and seed (16 under " \
           "another tag): each seed counts once." in board
    assert "another spec" not in board
    page = (out / "index.html").read_text()
    assert "points(standardize=False)" in page and "points(standardize=True)" in page


def test_compare_pairs_each_spec_with_itself(two_specs, capsys):
    _, store = two_specs
    code = main(["compare", "--store", str(store), "--baseline", "v1", "--candidate", "v2",
                 "--target", "0.5"])
    out = capsys.readouterr().out
    assert code == 0 and "4 cells, 0 with a significant regression" in out
    rows = [line for line in out.splitlines() if line.startswith("| points(")]
    assert len(rows) == 4 and all("| 4 |" in row for row in rows)


def claims(folder, body: str):
    path = folder / "claims.toml"
    path.write_text(textwrap.dedent(body))
    return path


def test_a_claim_names_one_of_the_two_specs_by_its_label(two_specs, capsys):
    folder, store = two_specs
    ambiguous = claims(folder, """
        [[claim]]
        name = "margin is accurate"
        dataset = "points"
        strategy = "margin"
        tag = "v2"
        metric = "final_acc"
        at_least = 0.1
    """)
    assert main(["check", str(ambiguous), "--store", str(store), "--no-run"]) == 2
    err = capsys.readouterr().err
    assert "match 2 cells of strategy 'margin'" in err
    assert 'add dataset = "points(standardize=False)" or dataset = ' \
           '"points(standardize=True)"' in err
    one = claims(folder, ambiguous.read_text().replace('"points"',
                                                       '"points(standardize=False)"'))
    code = main(["check", str(one), "--store", str(store), "--no-run"])
    out = capsys.readouterr().out
    assert code in (0, 1) and "margin is accurate" in out and "cells" not in out


def test_left_out_means_another_palbench_version_of_the_same_spec(tmp_path):
    (tmp_path / "c.toml").write_text(SMALL_CONFIG)
    store = tmp_path / "s.sqlite"
    assert main(["run", str(tmp_path / "c.toml"), "--store", str(store), "--quiet"]) == 0
    with sqlite3.connect(store) as conn:  # as if an older palbench had run them
        conn.execute("UPDATE runs SET palbench_version = '0.0.1'")
    conn.close()
    assert main(["run", str(tmp_path / "c.toml"), "--store", str(store), "--quiet"]) == 0
    assert main(["report", "--store", str(store), "--out", str(tmp_path / "r")]) == 0
    board = (tmp_path / "r" / "leaderboard.md").read_text()
    assert "4 older run(s) left out for a newer run of the same cell and seed (4 under " \
           "another palbench version): each seed counts once." in board
    assert board.count("\n## blobs | ") == 1  # one panel: the same cells


def test_other_stopping_criteria_make_a_panel_of_their_own(tmp_path):
    """Adding [[stopping]] makes new cells under the same names: two panels, the protocol's
    difference said in brackets, and nothing left out."""
    (tmp_path / "c.toml").write_text(SMALL_CONFIG)
    store = tmp_path / "s.sqlite"
    assert main(["run", str(tmp_path / "c.toml"), "--store", str(store), "--quiet"]) == 0
    (tmp_path / "c.toml").write_text(SMALL_CONFIG + '\n[[stopping]]\nname = "max_budget"\n')
    assert main(["run", str(tmp_path / "c.toml"), "--store", str(store), "--quiet"]) == 0
    assert main(["report", "--store", str(store), "--out", str(tmp_path / "r")]) == 0
    board = (tmp_path / "r" / "leaderboard.md").read_text()
    assert "\n## blobs [stopping=max_budget] | oracle " in board
    assert "\n## blobs [stopping=none] | oracle " in board
    assert "left out" not in board


def test_a_label_says_each_difference_once_where_it_belongs():
    """Flat specs: nested tables walked, [[stopping]] keyed by name; components' parameters
    go inside their parameter list, the protocol's in brackets after the dataset."""
    import pandas as pd

    def spec(noise, batch, stopping):
        return {"dataset": {"name": "blobs", "label": "blobs", "fingerprint": "ab" * 32},
                "experiment": {"batch_size": batch}, "strategy": {"name": "margin"},
                "oracle": {"name": "noisy_label", "noise": noise, "base": {"rate": noise}},
                "costs": {"label": 1.0}, "learner": {"name": "mlp", "epochs": 60},
                "stopping": stopping, "seed": 0}

    specs = [spec(0.1, 3, []), spec(0.2, 3, []), spec(0.1, 5, [{"name": "max_budget"}])]
    assert flat(specs[2])[("stopping",)] == "max_budget" and \
        flat(specs[0])[("oracle", "base", "rate")] == 0.1
    runs = pd.DataFrame({"run_id": [1, 2, 3], "spec_json": [
        __import__("json").dumps(s) for s in specs]})
    frame = pd.DataFrame({"run_id": [1, 2, 3], "dataset": "blobs", "oracle": "noisy_label",
                          "costs": "costs", "learner": "mlp(epochs=60)",
                          "selection_learner": "self", "strategy": "margin", "seed": 0})
    told = told_apart(frame, runs)
    assert list(told["oracle"]) == ["noisy_label(base.rate=0.1,noise=0.1)",
                                    "noisy_label(base.rate=0.2,noise=0.2)",
                                    "noisy_label(base.rate=0.1,noise=0.1)"]
    assert list(told["dataset"]) == ["blobs [batch_size=3; stopping=none]",
                                     "blobs [batch_size=3; stopping=none]",
                                     "blobs [batch_size=5; stopping=max_budget]"]
    assert list(told["learner"]) == ["mlp(epochs=60)"] * 3  # the same in all: unsaid
    # the same spec again (another version): one label; told apart twice: the same labels
    again = pd.concat([frame, frame.assign(run_id=4)])
    runs = pd.concat([runs, runs.iloc[[0]].assign(run_id=4)])
    assert told_apart(again, runs)["dataset"].nunique() == 2
    assert told_apart(told, runs.iloc[:3]).equals(told)


def test_a_cell_split_or_drawn_per_seed_is_one_cell_over_its_seeds():
    """A run records the split and data seeds its seed derived (split_seed = "run", data_seed
    = "run") and that data's fingerprint; its cell is the same for every seed."""
    import json

    from palbench.reports.cells import cell_spec
    from palbench.seeds import DATA_STREAM, SPLIT_STREAM, derived_seed

    def spec(seed, fixed_split=None):
        return json.dumps({
            "seed": seed, "experiment": {"data_seed": "run"}, "strategy": {"name": "margin"},
            "dataset": {"name": "blobs", "seed": derived_seed(seed, DATA_STREAM),
                        "split_seed": fixed_split if fixed_split is not None
                        else derived_seed(seed, SPLIT_STREAM), "fingerprint": f"f{seed}"}})

    assert cell_spec(spec(0)) == cell_spec(spec(1))
    assert cell_spec(spec(0))["dataset"] == {"name": "blobs", "seed": "run",
                                             "split_seed": "run"}
    # a fixed split seed stays a parameter of the cell
    assert cell_spec(spec(0, 7))["dataset"]["split_seed"] == 7
