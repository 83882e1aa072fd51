"""The Python API and the open harness: palbench.run on a dict with an in-process class,
import paths in configs, what refuses to go to worker processes, bugs told apart from bad
input (exit 1 with the component's frames), and a context strategies cannot corrupt."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

import palbench
from palbench import ConfigError, Strategy
from palbench.cli import main
from palbench.strategies.base import random_choice


@dataclass(frozen=True, kw_only=True)
class FirstFree(Strategy):
    """The lowest-numbered unqueried samples."""

    def select(self, ctx, k, rng):
        return ctx.candidates[:k]


def config(strategy=FirstFree, **experiment):
    return {"experiment": {"seeds": [0, 1], "budgets": [6, 12], "batch_size": 3,
                           "probe": False, **experiment},
            "dataset": {"name": "blobs", "n_samples": 120, "n_features": 3},
            "strategy": [{"name": strategy}, {"name": "random"}],
            "learner": {"name": "sklearn"}}


def test_run_takes_a_dict_with_an_in_process_class(tmp_path):
    results = palbench.run(config(), store=tmp_path / "s.sqlite", progress=False)
    frame = results.frame()
    assert sorted(frame["strategy"].unique()) == ["FirstFree", "random"]
    assert len(frame) == 2 * 2 * 2
    assert results.summary.written == 4
    versus = results.compare(baseline="random")
    assert list(versus["strategy"]) == ["FirstFree"] and versus["seeds"].iloc[0] == 2
    with pytest.raises(ConfigError, match="baseline = 'margin': is not a strategy"):
        results.compare(baseline="margin")
    again = palbench.run(config(), store=tmp_path / "s.sqlite", progress=False)
    assert again.summary.written == 0 and again.summary.skipped == 4


def test_a_class_that_cannot_reach_workers_is_one_line_before_anything_runs(tmp_path):
    @dataclass(frozen=True, kw_only=True)
    class Local(FirstFree):
        pass

    store = tmp_path / "s.sqlite"
    with pytest.raises(ConfigError, match="defined inside a function, which worker processes "
                                          "cannot import"):
        palbench.run(config(Local), store=store, workers=2, progress=False)
    assert not store.exists()  # refused before the store is created
    assert palbench.run(config(Local), store=store, workers=1, progress=False).summary.written


SCRIPT = '''
from dataclasses import dataclass
import palbench
from palbench import Strategy

@dataclass(frozen=True, kw_only=True)
class FirstFree(Strategy):
    def select(self, ctx, k, rng):
        return ctx.candidates[:k]

CONFIG = {"experiment": {"seeds": [0, 1], "budgets": [6], "batch_size": 3, "probe": False},
          "dataset": {"name": "blobs", "n_samples": 90}, "strategy": {"name": FirstFree},
          "learner": {"name": "sklearn"}}
'''


@pytest.mark.parametrize("guarded", [False, True])
def test_a_script_with_workers_needs_its_main_guard(guarded, tmp_path):
    call = f'palbench.run(CONFIG, store=r"{tmp_path / "s.sqlite"}", workers=2, progress=False)'
    body = f'if __name__ == "__main__":\n    print({call}.summary.written)' if guarded else \
        f"try:\n    {call}\nexcept palbench.ConfigError as e:\n    print(e)"
    script = tmp_path / "bench_mine.py"
    script.write_text(SCRIPT + body + "\n")
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                         timeout=300, cwd=tmp_path)
    if guarded:  # the class defined in the script reaches the workers
        assert out.returncode == 0 and out.stdout.strip() == "2", out.stderr
    else:
        assert "if __name__ == \"__main__\":" in out.stdout and "top level (line" in out.stdout
        assert "BrokenProcessPool" not in out.stdout + out.stderr


def test_the_cli_finds_a_strategy_beside_the_config_and_in_the_working_folder(tmp_path):
    """`palbench run` imports `mywork.qbc:QBC` from the config file's folder and from the
    folder it runs in, as `python -m` would, and its workers unpickle the class."""
    project = tmp_path / "project"
    (project / "mywork").mkdir(parents=True)
    (project / "mywork" / "__init__.py").write_text("")
    (project / "mywork" / "qbc.py").write_text(textwrap.dedent("""
        from dataclasses import dataclass

        from palbench import Strategy
        from palbench.authoring import random_choice


        @dataclass(frozen=True, kw_only=True)
        class FirstHalf(Strategy):
            \"\"\"Random picks among the first half of the pool.\"\"\"

            def select(self, ctx, k, rng):
                free = [i for i in range(len(ctx.X) // 2) if not ctx.queried[i]]
                return random_choice(free, k, rng)
    """))
    config = textwrap.dedent("""
        [experiment]
        seeds = [0, 1]
        budgets = [6]
        [dataset]
        name = "blobs"
        [strategy]
        name = "mywork.qbc:FirstHalf"
        [learner]
        name = "sklearn"
    """)
    (project / "beside.toml").write_text(config)
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "away.toml").write_text(config)
    palbench_cli = str(Path(sys.executable).parent / "palbench")  # not `python -m`
    for i, (config, cwd) in enumerate([(project / "beside.toml", tmp_path),
                                       (tmp_path / "elsewhere" / "away.toml", project)]):
        store = tmp_path / f"s{i}.sqlite"
        out = subprocess.run([palbench_cli, "run", str(config), "--store", str(store),
                              "--workers", "2"], capture_output=True, text=True, timeout=300,
                             cwd=cwd)
        assert out.returncode == 0, out.stderr
        assert sqlite3.connect(store).execute("SELECT COUNT(*) FROM runs").fetchone() == (2,)
    out = subprocess.run([palbench_cli, "run", str(tmp_path / "elsewhere" / "away.toml"),
                          "--store", str(tmp_path / "none.sqlite")], capture_output=True,
                         text=True, timeout=300, cwd=tmp_path)
    assert out.returncode == 2 and "no module named 'mywork'" in out.stderr
    assert str(tmp_path / "elsewhere") in out.stderr and "PYTHONPATH" in out.stderr
    assert not (tmp_path / "none.sqlite").exists()


@pytest.mark.parametrize("name,why", [
    ("nowhere_module_xyz:Thing", "cannot import module 'nowhere_module_xyz': no module "
                                 "named 'nowhere_module_xyz' (looked in"),
    ("palbench.strategies.base:Nope", "module 'palbench.strategies.base' has no 'Nope'"),
    ("palbench.oracles.exact:Exact", "is not a palbench strategy: it must subclass "
                                     "palbench.Strategy"),
    ("palbench.strategies.base.Strategy", "an import path is written \"module:Class\""),
])
def test_import_paths_refused_in_one_line(name, why, tmp_path, capsys, write_config):
    path = write_config(f"""
        [experiment]
        budgets = [6]
        [dataset]
        name = "blobs"
        [strategy]
        name = "{name}"
    """)
    assert main(["run", str(path), "--store", str(tmp_path / "s.sqlite")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"strategy.name = '{name}'" in err and why in err
    assert not (tmp_path / "s.sqlite").exists()


def test_an_import_path_runs_a_strategy_of_a_module(tmp_path, capsys, write_config):
    path = write_config("""
        [experiment]
        seeds = [0]
        budgets = [6]
        batch_size = 3
        probe = false
        [dataset]
        name = "blobs"
        n_samples = 90
        [strategy]
        name = "tests.test_api:FirstFree"
        [learner]
        name = "sklearn"
    """)
    assert main(["run", str(path), "--store", str(tmp_path / "s.sqlite"), "--quiet"]) == 0
    assert "1 runs written" in capsys.readouterr().out


@dataclass(frozen=True, kw_only=True)
class Crashes(Strategy):
    """A plugin with a bug: it raises once a sample has been asked."""

    def select(self, ctx, k, rng):
        if ctx.queried.any():
            return {}["missing key"]  # KeyError
        return random_choice(ctx.candidates, k, rng)


@pytest.mark.parametrize("workers,flag", [("1", False), ("2", False), ("1", True)])
def test_a_component_that_raises_is_a_bug_with_its_frames(workers, flag, tmp_path, capsys,
                                                          write_config):
    path = write_config("""
        [experiment]
        seeds = [0, 1]
        budgets = [6, 12]
        batch_size = 3
        probe = false
        [dataset]
        name = "blobs"
        n_samples = 90
        [[strategy]]
        name = "random"
        [[strategy]]
        name = "tests.test_api:Crashes"
        id = "crashes"
        [learner]
        name = "sklearn"
    """)
    store = tmp_path / "s.sqlite"
    args = (["--traceback"] if flag else []) + ["run", str(path), "--store", str(store),
                                                "--quiet", "--workers", workers]
    assert main(args) == 1
    err = capsys.readouterr().err
    first = err.splitlines()[0]
    assert first.startswith("palbench: error: strategy 'crashes' raised KeyError: "
                            "'missing key' while selecting queries on 'blobs'")
    assert "after 3 answers" in first
    assert 'test_api.py", line' in err and "in select" in err
    assert ("loop.py" in err) == flag  # the harness's frames only with --traceback
    if workers == "1":  # random ran before crashes: its finished runs stay stored
        import sqlite3

        names = {r[0] for r in sqlite3.connect(store).execute("SELECT strategy FROM runs")}
        assert names == {"random"}


def test_a_strategy_cannot_change_the_run_it_sees(blobs):
    from palbench.bench.grid import cell_for
    from palbench.bench.loop import CellState
    from palbench.learners.sklearn_adapter import Sklearn
    from palbench.oracles.exact import Exact

    cell = cell_for(blobs, strategy=FirstFree(), oracle=Exact(), learner=Sklearn())
    state = CellState(cell, blobs).start()
    state.ask(5)
    ctx = state.ctx
    before = (state.ledger.queried.copy(), set(state.ledger.asked_pairs),
              list(state.ledger.log), state.ledger.graph.known_labels())
    with pytest.raises(ValueError, match="read-only"):
        ctx.queried[0] = True
    with pytest.raises(ValueError, match="read-only"):
        ctx.X[0, 0] = 1.0
    with pytest.raises(ValueError, match="read-only"):
        ctx.exemplars[:] = 0
    with pytest.raises(AttributeError):
        ctx.asked_pairs.add(3)
    with pytest.raises(AttributeError):
        ctx.answer_log.append(None)
    with pytest.raises(AttributeError):
        ctx.graph.add_labels(np.array([0]), np.array([0]))
    labels = ctx.graph.known_labels()
    labels[:] = 2  # a copy: the graph keeps what it knows
    after = (state.ledger.queried, set(state.ledger.asked_pairs), list(state.ledger.log),
             state.ledger.graph.known_labels())
    np.testing.assert_array_equal(before[0], after[0])
    assert before[1] == after[1] and before[2] == after[2]
    np.testing.assert_array_equal(before[3], after[3])
    state.ask(5)  # the views follow the run
    assert ctx.queried.sum() == 10 and len(ctx.answer_log) == 10


def test_results_stops_are_the_stopping_criteria_of_this_plan_s_runs(tmp_path):
    """Results.stops(): one row per run of the plan and criterion, read from the same rows
    as frame() (what ResultsStore.stops() gave before the store stopped importing reports)."""
    from palbench.reports.metrics import stops_of

    cfg = {**config(), "stopping": [{"name": "max_budget", "budget": 6}]}
    results = palbench.run(cfg, store=tmp_path / "s.sqlite", progress=False)
    stops = results.stops()
    assert len(stops) == 4 and set(stops["criterion"]) == {"max_budget(budget=6)"}
    assert stops["stopped"].all() and (stops["cost"] == 6).all()
    assert stops.equals(stops_of(results.frame()))


def test_palbench_report_and_results_report_are_the_cli_s_report(tmp_path, capsys):
    """One report pipeline: `palbench report`, palbench.report and Results.report write the
    same leaderboard from the same runs, and the CLI prints the reading palbench.report
    returns."""
    store = tmp_path / "s.sqlite"
    results = palbench.run(config(), store=store, progress=False)
    capsys.readouterr()
    assert main(["report", "--store", str(store), "--out", str(tmp_path / "cli")]) == 0
    printed = capsys.readouterr().out.splitlines()
    written = palbench.report(store, tmp_path / "api")
    assert results.report(tmp_path / "results") == [tmp_path / "results" / p.name
                                                    for p in written.paths]
    boards = {(tmp_path / d / "leaderboard.md").read_text() for d in ("cli", "api", "results")}
    assert len(boards) == 1 and "Against random, AULC over shared seeds" in boards.pop()
    assert printed[-1] == written.reading and printed[0].startswith("palbench: wrote ")


def test_one_baseline_rule_a_named_baseline_must_be_a_strategy_of_the_runs(tmp_path, capsys):
    """Without random, the default report has no paired tests and says nothing wrong; a
    baseline named (random included) that the runs lack is one line, in the API and the
    CLI alike; compare, whose output is the paired tests, needs its baseline."""
    store = tmp_path / "s.sqlite"
    cfg = {**config(), "strategy": [{"name": FirstFree}, {"name": "margin"}]}
    results = palbench.run(cfg, store=store, progress=False)
    results.report(tmp_path / "default")
    assert "Against " not in (tmp_path / "default" / "leaderboard.md").read_text()
    results.report(tmp_path / "margin", baseline="margin")
    assert "Against margin, AULC" in (tmp_path / "margin" / "leaderboard.md").read_text()
    why = "is not a strategy of the runs; known: FirstFree, margin"
    with pytest.raises(ConfigError, match=f"baseline = 'random': {why}"):
        results.report(tmp_path / "named", baseline="random")
    with pytest.raises(ConfigError, match=f"baseline = 'random': {why}"):
        results.compare()
    capsys.readouterr()
    assert main(["report", "--store", str(store), "--out", str(tmp_path / "cli"),
                 "--baseline", "random"]) == 2
    assert capsys.readouterr().err == f"palbench: error: --baseline = 'random': {why}\n"
    assert not (tmp_path / "named").exists() and not (tmp_path / "cli").exists()
