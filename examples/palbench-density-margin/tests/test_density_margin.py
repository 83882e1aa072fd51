"""The plugin's own tests: palbench's contract checker, and a run against margin and random
from Python and from TOML (by entry-point name and by import path)."""

from __future__ import annotations

import textwrap

from density_margin import DensityMargin

import palbench
from palbench.testing import check_strategy

CONFIG = {
    "experiment": {"seeds": [0, 1], "budgets": [10, 20, 30], "batch_size": 5, "probe": False},
    "dataset": {"name": "digits"},
    "strategy": [{"name": DensityMargin}, {"name": "margin"}, {"name": "random"}],
    "learner": {"name": "sklearn", "params": {"max_iter": 300}},
}


def test_density_margin_keeps_palbench_contract():
    check_strategy(DensityMargin)
    check_strategy(DensityMargin(beta=2.0))


def test_runs_from_python_against_margin(tmp_path):
    results = palbench.run(CONFIG, store=tmp_path / "runs.sqlite", progress=False)
    frame = results.frame()
    # a class that is also registered (here by its entry point) is labelled by its name
    assert set(frame["strategy"]) == {"density_margin", "margin", "random"}
    versus = results.compare(baseline="margin")
    assert set(versus["strategy"]) == {"density_margin", "random"}
    assert set(versus["verdict"]) <= {"better", "worse", "no evidence"}
    written = results.report(tmp_path / "report", baseline="margin")
    assert "Against margin" in (tmp_path / "report" / "leaderboard.md").read_text()
    assert any(p.name == "index.html" for p in written)


def test_runs_from_toml_by_entry_point_and_import_path(tmp_path):
    config = tmp_path / "c.toml"
    config.write_text(textwrap.dedent("""
        [experiment]
        seeds = [0]
        budgets = [10, 20]
        batch_size = 5
        probe = false
        [dataset]
        name = "digits"
        [[strategy]]
        name = "density_margin"
        [[strategy]]
        name = "density_margin:DensityMargin"
        id = "by-path"
        beta = 2.0
        [learner]
        name = "sklearn"
    """))
    frame = palbench.run(config, store=tmp_path / "s.sqlite", progress=False).frame()
    assert set(frame["strategy"]) == {"density_margin", "by-path"}
