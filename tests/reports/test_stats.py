"""Summary statistics against hand computations and scipy."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from palbench.reports.metrics import aulc
from palbench.reports.stats import mean_ci


def test_aulc_by_hand():
    # trapezoids: (0.5+0.7)/2*10 + (0.7+0.9)/2*20 = 6 + 16 = 22, over range 30
    assert aulc([10, 20, 40], [0.5, 0.7, 0.9]) == pytest.approx(22 / 30)
    assert aulc([10, 20], [0.8, 0.8]) == pytest.approx(0.8)
    assert aulc([5], [0.6]) == 0.6


def test_mean_ci_matches_scipy():
    values = np.array([0.8, 0.85, 0.9, 0.82])
    mean, low, high = mean_ci(values)
    expected = stats.t.interval(0.95, 3, loc=values.mean(), scale=stats.sem(values))
    assert mean == pytest.approx(values.mean())
    assert (low, high) == pytest.approx(expected)
    assert np.isnan(mean_ci([0.5]).low)


def test_cost_to_reach_interpolates_and_censors():
    from palbench.reports.metrics import cost_to_reach

    assert cost_to_reach([10, 20, 40], [0.5, 0.7, 0.9], 0.8) == pytest.approx(30.0)
    assert cost_to_reach([10, 20], [0.85, 0.9], 0.8) == 10.0
    assert cost_to_reach([10, 20], [0.5, 0.6], 0.8) == float("inf")


def test_holm_matches_a_hand_computation():
    from palbench.reports.stats import holm

    # sorted p: 0.01, 0.02, 0.04 -> 3 * 0.01, 2 * 0.02, 1 * 0.04, made monotone
    np.testing.assert_allclose(holm([0.04, 0.01, 0.02]), [0.04, 0.03, 0.04])
    np.testing.assert_allclose(holm([0.5, 0.6]), [1.0, 1.0])


def test_paired_comparison_says_no_evidence_inside_the_noise():
    import pandas as pd

    from palbench.reports.stats import paired_against

    rng = np.random.default_rng(0)
    rows = []
    for seed in range(8):  # 2 tests under Holm: a sign-flip test decides from 7 seeds on
        base = 0.7 + rng.normal(0, 0.02)
        for strategy, shift in (("random", 0.0), ("margin", 0.08), ("entropy", 0.001)):
            rows.append({"dataset": "d", "oracle": "o", "costs": "c", "learner": "l",
                         "strategy": strategy, "seed": seed,
                         "aulc": base + shift + rng.normal(0, 0.01)})
    verdicts = paired_against(pd.DataFrame(rows), "aulc").set_index("strategy")
    assert verdicts.loc["margin", "verdict"] == "better"
    assert verdicts.loc["entropy", "verdict"] == "no evidence"
    assert (verdicts.p_holm >= verdicts.p).all()


def test_one_seed_of_a_cell_counts_once_even_under_two_tags():
    """A cell and seed stored under two tags (or versions) is one run for the leaderboard,
    ranks, compare and claims: the newest."""
    import pandas as pd

    from palbench.reports.metrics import per_run

    rows = []
    for run_id, tag, acc in ((1, "a", 0.5), (2, "b", 0.9), (3, "a", 0.7)):
        seed = 0 if run_id < 3 else 1
        for budget in (10, 20):
            rows.append({"dataset": "d", "oracle": "o", "costs": "c", "learner": "l",
                         "strategy": "s", "seed": seed, "run_id": run_id, "tag": tag,
                         "budget": budget, "cost": budget, "n_free": 0, "task_acc": acc})
    runs = per_run(pd.DataFrame(rows))
    assert runs["run_id"].tolist() == [2, 3] and runs["final"].tolist() == [0.9, 0.7]


def test_ranks_rank_what_the_hue_names():
    """report --hue learner ranks learners (panels: the other keys), not strategies."""
    import pandas as pd

    from palbench.reports.ranks import mean_ranks, rank_test

    rows = []
    run_id = 0
    for strategy in ("a", "b", "c", "d"):
        for learner, acc in (("mlp", 0.6), ("pal", 0.7), ("kernel", 0.5)):
            for seed in (0, 1):
                run_id += 1
                for budget in (10, 20):
                    rows.append({"dataset": "d", "oracle": "o", "costs": "c", "learner": learner,
                                 "strategy": strategy, "seed": seed, "run_id": run_id,
                                 "budget": budget, "cost": budget, "n_free": 0,
                                 "task_acc": acc + 0.01 * seed})
    frame = pd.DataFrame(rows)
    ranks, panels = mean_ranks(frame, hue="learner")
    assert list(ranks.index) == ["pal", "mlp", "kernel"] and panels == 4
    assert rank_test(frame, hue="learner").p < 0.05
    by_strategy, _ = mean_ranks(frame)
    assert set(by_strategy.index) == {"a", "b", "c", "d"}
    by_seed, blocks = mean_ranks(frame, hue="learner", blocks="seed")
    assert list(by_seed.index) == ["pal", "mlp", "kernel"] and blocks == 8  # 4 panels x 2 seeds
    assert rank_test(frame, hue="learner", blocks="seed").p < 0.05


def test_report_ranks_on_seed_blocks_with_the_critical_difference(tmp_path):
    """report --rank-blocks seed: the leaderboard gets a mean-rank table with the Friedman
    test over panel x seed blocks, its method named (3 blocks of 3: exact)."""
    from palbench.cli import main
    config = tmp_path / "c.toml"
    config.write_text('[experiment]\nseeds = [0, 1, 2]\nbudgets = [10, 20]\nbatch_size = 10\n'
                      'probe = false\n[dataset]\nname = "blobs"\nn_samples = 90\n'
                      '[[strategy]]\nname = "random"\n[[strategy]]\nname = "margin"\n'
                      '[[strategy]]\nname = "coreset"\n[learner]\nname = "sklearn"\n')
    store = str(tmp_path / "s.sqlite")
    assert main(["run", str(config), "--store", store, "--quiet"]) == 0
    assert main(["report", "--store", store, "--out", str(tmp_path / "r"),
                 "--rank-blocks", "seed"]) == 0
    board = (tmp_path / "r" / "leaderboard.md").read_text()
    assert "## Mean ranks by AULC of task_acc over 3 panel x seed blocks" in board
    assert "exact Friedman p = " in board and "| strategy | mean rank |" in board


def test_the_share_of_random_s_cost_is_paired_per_seed():
    """margin reaches random's final accuracy with half of random's labels on every seed."""
    import pandas as pd

    from palbench.reports.report import label_shares

    rows, run_id = [], 0
    for seed in range(4):
        final = 0.8 + 0.01 * seed
        for strategy, curve in (("random", [0.5, 0.6, 0.7, final]),
                                ("margin", [0.6, final, final + 0.02, final + 0.03]),
                                ("never", [0.1, 0.2, 0.3, 0.4])):
            run_id += 1
            for budget, acc in zip((25, 50, 75, 100), curve):
                rows.append({"dataset": "d", "oracle": "o", "costs": "c", "learner": "l",
                             "strategy": strategy, "seed": seed, "run_id": run_id,
                             "budget": budget, "cost": budget, "n_free": 0, "task_acc": acc})
    shares = label_shares(pd.DataFrame(rows), "task_acc", "random")
    assert shares["margin"].startswith("0.50 [0.50, 0.50]")
    assert shares["random"].startswith("1.00")
    assert shares["never"] == "not reached in 4/4"
