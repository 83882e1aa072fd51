"""palbench compare: versions side by side, paired deltas with intervals, flagged regressions."""

from __future__ import annotations

import copy

import pytest

from palbench.bench.config import load_plan
from palbench.bench.loop import run_cell
from palbench.cli import main
from palbench.results.store import ResultsStore
from tests.conftest import SMALL_CONFIG


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """Baseline and an identical rerun tagged; a candidate whose margin lost 0.1 accuracy."""
    folder = tmp_path_factory.mktemp("compare")
    (folder / "c.toml").write_text(SMALL_CONFIG.replace("seeds = [0, 1]", "seeds = [0, 1, 2, 3]"))
    plan = load_plan(folder / "c.toml")
    path = folder / "s.sqlite"
    with ResultsStore(path) as s:
        for cell in plan.cells:
            result = run_cell(cell, plan.datasets[cell.dataset.label])
            s.write_run(result, tag="base")
            s.write_run(result, tag="same")
            worse = copy.deepcopy(result)
            if cell.strategy.label == "margin":
                for c in worse.checkpoints:
                    c.task_acc -= 0.1
            s.write_run(worse, tag="cand")
    return path


def test_identical_results_show_no_change(store, capsys):
    assert main(["compare", "--store", str(store), "--baseline", "base", "--candidate",
                 "same", "--fail-on-regression"]) == 0
    out = capsys.readouterr().out
    row = "| blobs | noisy_label | costs | sklearn(params={max_iter:500}) | margin | 4 |"
    assert f"{row} +0 [+0, +0] |" in out
    assert "0 with a significant regression" in out


def test_a_worse_candidate_is_flagged(store, capsys):
    assert main(["compare", "--store", str(store), "--baseline", "base", "--candidate",
                 "cand", "--fail-on-regression"]) == 1
    lines = capsys.readouterr().out.splitlines()
    margin = next(line for line in lines if "| margin |" in line)
    random = next(line for line in lines if "| random |" in line)
    assert "-0.1 [-0.1, -0.1]" in margin and "final_acc, aulc" in margin
    assert random.endswith("| - |")


def test_unknown_reference_is_one_line_exit_2(store, capsys):
    assert main(["compare", "--store", str(store), "--baseline", "nope", "--candidate",
                 "cand"]) == 2
    err = capsys.readouterr().err
    assert "--baseline = 'nope'" in err and "tags: base, cand, same" in err


def test_a_target_neither_side_reaches_is_said_not_computed(store, capsys):
    """inf - inf is no change of zero: the cell says so, with no numpy warning (pytest turns
    RuntimeWarnings from palbench into errors). The candidate's margin runs top out 0.1 below
    the baseline's, so neither copy of them reaches 0.95."""
    assert main(["compare", "--store", str(store), "--baseline", "cand", "--candidate",
                 "cand", "--target", "0.95"]) == 0
    captured = capsys.readouterr()
    margin = next(line for line in captured.out.splitlines() if "| margin |" in line)
    assert "| not reached on either side |" in margin
    assert "RuntimeWarning" not in captured.err and "+0 [+0, +0] | -" not in margin
