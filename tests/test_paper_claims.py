"""The PAL paper's qualitative toy claims, at small scale (configs/paper/ has the full ones):
active pair queries beat passive ones from 100 queries on; the signed graph is not worse than
the unsigned one; the error stays flat once every class is one connected component."""

from __future__ import annotations

import numpy as np
import pandas as pd

from palbench.bench.config import plan_from_raw
from palbench.bench.loop import run_cell

CIRCLES = {"name": "circles", "n_samples": 1150, "test_fraction": 0.869565, "n_classes": 4,
           "noise": 0.1}
KERNEL = {"name": "kernel_pal", "sigma": 0.2, "lam": 1e-3, "n_eigen": 5}


def run(raw: dict) -> pd.DataFrame:
    plan = plan_from_raw(raw)
    rows = []
    for cell in plan.cells:
        result = run_cell(cell, plan.datasets[cell.dataset.label])
        for c in result.checkpoints:
            rows.append({"strategy": cell.strategy.label, "learner": cell.learner.label,
                         "seed": cell.seed, "budget": c.budget, "error": 1 - c.probe_acc,
                         "components": c.n_components})
    return pd.DataFrame(rows)


def test_active_beats_passive_from_100_queries_on():
    frame = run({
        "experiment": {"seeds": list(range(8)), "budgets": [100, 200, 300], "batch_size": 10},
        "dataset": CIRCLES, "strategy": [{"name": "random_pairs"}, {"name": "pal_active"}],
        "oracle": {"name": "exact_pair"}, "learner": KERNEL})
    error = frame.pivot_table(index="budget", columns="strategy", values="error")
    assert (error["pal_active"] < error["random_pairs"]).all(), error


def test_signed_graph_is_not_worse_than_unsigned():
    circles = {**CIRCLES, "n_samples": 1300, "test_fraction": 0.769231}
    frame = run({
        "experiment": {"seeds": list(range(6)), "budgets": [100, 200, 300], "batch_size": 10},
        "dataset": circles, "strategy": {"name": "pal_active"},
        "oracle": {"name": "exact_pair"},
        "learner": [{**KERNEL, "id": "signed"}, {**KERNEL, "signed": False, "id": "unsigned"}]})
    error = frame.groupby("learner").error.mean()
    assert error["signed"] <= error["unsigned"], error


def test_error_is_flat_while_every_class_stays_connected():
    frame = run({
        "experiment": {"seeds": list(range(4)), "budgets": [1200, 1600, 2400],
                       "batch_size": 200},
        "dataset": CIRCLES, "strategy": {"name": "random_pairs"},
        "oracle": {"name": "exact_pair"}, "learner": KERNEL})
    connected = frame[frame.components == 4]
    assert len(connected) >= 8
    spread = connected.groupby("seed").error.agg(lambda e: e.max() - e.min())
    np.testing.assert_allclose(spread, 0.0, atol=1e-12)
