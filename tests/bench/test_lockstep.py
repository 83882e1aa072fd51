"""Cells advancing in lockstep, their fits trained as one batch: a cell's rows are the same
alone, in a group, in a process pool and on Ray; resume re-forms the groups; bad sizes are one
line before any work."""

from __future__ import annotations

import pandas as pd
import pytest

from palbench.cli import main
from palbench.results.store import ResultsStore

COLUMNS = ["dataset", "strategy", "oracle", "learner", "seed", "budget", "cost", "n_queries",
           "n_labels", "n_abstain", "n_wrong", "task_acc", "balanced_acc", "macro_f1",
           "probe_acc", "spec_hash"]

# abstentions make the cells' labelled sets differ in size at the same checkpoint
GRID = """
[experiment]
seeds = [0, 1, 2]
budgets = [6, 12, 20]
batch_size = 3
[dataset]
name = "blobs"
n_samples = 150
n_features = 4
[[strategy]]
name = "random"
[[strategy]]
name = "margin"
[oracle]
name = "abstain"
rate = 0.3
[learner]
name = "mlp"
hidden = [16]
epochs = 3
min_steps = 12
batch_size = 8
device = "cpu"
"""


def rows(store) -> pd.DataFrame:
    with ResultsStore(store, mode="read") as s:
        frame = s.to_frame()[COLUMNS]
    return frame.sort_values(["strategy", "seed", "budget"]).reset_index(drop=True)


def run(config, store, *options) -> None:
    assert main(["run", str(config), "--store", str(store), "--quiet", *options]) == 0


PAL_LEARNER = """[learner]
name = "pal"
hidden = [16]
dim = 4
epochs = 3
min_steps = 12
batch_size = 8
pretrain = "on"
pretrain_steps = 5
device = "cpu"
"""


@pytest.mark.parametrize("grid", [GRID, GRID.split("[learner]")[0] + PAL_LEARNER],
                         ids=["mlp", "pal"])
def test_rows_are_the_same_alone_in_a_group_and_in_a_pool(grid, write_config, tmp_path):
    config = write_config(grid)
    run(config, tmp_path / "alone.sqlite", "--batch-cells", "1")
    run(config, tmp_path / "group.sqlite", "--batch-cells", "6")
    run(config, tmp_path / "pool.sqlite", "--batch-cells", "2", "--workers", "2")
    alone = rows(tmp_path / "alone.sqlite")
    assert len(alone) == 6 * 3 and alone["n_labels"].nunique() > 3  # sizes differ
    pd.testing.assert_frame_equal(alone, rows(tmp_path / "group.sqlite"))
    pd.testing.assert_frame_equal(alone, rows(tmp_path / "pool.sqlite"))


def test_rows_are_the_same_on_ray(write_config, tmp_path, monkeypatch):
    pytest.importorskip("ray", reason="pip install 'palbench[ray]'")
    monkeypatch.setenv("RAY_USAGE_STATS_ENABLED", "0")
    config = write_config(GRID)
    run(config, tmp_path / "alone.sqlite", "--batch-cells", "1")
    run(config, tmp_path / "ray.sqlite", "--batch-cells", "3", "--executor", "ray",
        "--workers", "2")
    pd.testing.assert_frame_equal(rows(tmp_path / "alone.sqlite"), rows(tmp_path / "ray.sqlite"))


def test_a_model_based_strategy_s_round_fits_are_batched(blobs, monkeypatch):
    """margin refits before every round: cells at the same round hand their fits over
    together, so the batches hold every cell."""
    from palbench.bench.grid import cell_for
    from palbench.bench.loop import run_lockstep
    from palbench.learners.supervised import MLP
    from palbench.oracles.exact import Exact
    from palbench.strategies.uncertainty import Margin

    sizes = []
    original = MLP.fit_labels_batch

    def counting(self, sets, n_classes, *, seeds):
        sizes.append(len(sets))
        return original(self, sets, n_classes, seeds=seeds)

    monkeypatch.setattr(MLP, "fit_labels_batch", counting)
    learner = MLP(hidden=(8,), epochs=2, min_steps=4, device="cpu")
    from palbench.bench.experiment import Experiment

    experiment = Experiment(seeds=(0,), budgets=(6.0, 12.0), batch_size=3, probe=False)
    cells = [(cell_for(blobs, strategy=Margin(), oracle=Exact(), learner=learner, seed=seed,
                       experiment=experiment), blobs) for seed in range(4)]
    together = run_lockstep(cells)
    assert sizes and set(sizes) == {4}  # every fit of every round, the four cells at once
    sizes.clear()
    alone = [run_lockstep([cell])[0] for cell in cells]
    assert set(sizes) == {1}
    for a, b in zip(together, alone):
        assert [c.task_acc for c in a.checkpoints] == [c.task_acc for c in b.checkpoints]
        assert a.answers == b.answers


def test_resume_reforms_the_groups_of_the_cells_left(write_config, tmp_path, capsys):
    config = write_config(GRID)
    part = write_config(GRID.replace('[[strategy]]\nname = "margin"\n', ""), "part.toml")
    store = tmp_path / "s.sqlite"
    run(part, store, "--batch-cells", "4")  # the random cells only
    capsys.readouterr()
    run(config, store, "--batch-cells", "4")
    assert "3 of 6 runs already complete" in capsys.readouterr().err
    run(config, tmp_path / "fresh.sqlite", "--batch-cells", "1")
    pd.testing.assert_frame_equal(rows(store), rows(tmp_path / "fresh.sqlite"))


@pytest.mark.parametrize("value,why", [
    ("0", "--batch-cells = 0: must be an integer >= 1"),
    ("1000000000", "--batch-cells = 1000000000: a group's fits would need"),
])
def test_a_bad_batch_size_is_one_line_before_any_work(value, why, write_config, tmp_path,
                                                      capsys):
    store = tmp_path / "s.sqlite"
    assert main(["run", str(write_config(GRID)), "--store", str(store), "--quiet",
                 "--batch-cells", value]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and why in err
    assert not store.exists()


def test_the_automatic_group_size_fills_whole_rounds_of_the_workers(write_config):
    """mlp cells spread evenly over whole rounds of the workers (at most 32 a group); a
    learner that does not batch its fits (sklearn; pal with its graph loss) runs its cells
    alone."""
    from palbench.bench.config import load_plan
    from palbench.bench.groups import batch_size_for, cell_groups

    plan = load_plan(write_config(GRID))
    cells = plan.cells * 22  # 132 cells sharing one group key
    assert batch_size_for(cells, plan.data, 2, None) == 22
    assert [len(g) for g in cell_groups(cells, 22)] == [22] * 6
    assert batch_size_for(plan.cells, plan.data, 1, None) == 6
    sklearn = load_plan(write_config(GRID.split("[learner]")[0] +
                                     '[learner]\nname = "sklearn"\n', "sk.toml"))
    assert batch_size_for(sklearn.cells, sklearn.data, 1, None) == 1
    assert batch_size_for(sklearn.cells, sklearn.data, 1, 3) == 3  # asked for: kept
    pal = GRID.split("[learner]")[0] + '[learner]\nname = "pal"\ndevice = "cpu"\n'
    batched = load_plan(write_config(pal, "pal.toml"))
    assert batch_size_for(batched.cells, batched.data, 1, None) == 6
    graph_loss = load_plan(write_config(pal + "graph_weight = 0.5\n", "graph.toml"))
    assert batch_size_for(graph_loss.cells, graph_loss.data, 1, None) == 1
