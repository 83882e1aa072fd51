"""The command line, end to end on small real runs: run, resume, export, report, list, errors."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from palbench.cli import main
from palbench.results.schema import EXPORT_COLUMNS
from palbench.results.store import ResultsStore
from tests.conftest import SMALL_CONFIG


def test_run_export_report(write_config, tmp_path, capsys):
    config = write_config(SMALL_CONFIG)
    store = tmp_path / "runs.sqlite"
    assert main(["run", str(config), "--store", str(store), "--quiet"]) == 0
    assert "4 runs written, 0 skipped" in capsys.readouterr().out

    assert main(["run", str(config), "--store", str(store), "--quiet"]) == 0
    captured = capsys.readouterr()
    assert "0 runs written, 4 skipped" in captured.out and "--force" in captured.err

    out = tmp_path / "rows.csv"
    assert main(["export", "--store", str(store), "--format", "csv", "--out", str(out)]) == 0
    rows = pd.read_csv(out)
    assert list(rows.columns) == EXPORT_COLUMNS
    assert len(rows) == 4 * 3 and set(rows.strategy) == {"random", "margin"}

    assert main(["run", str(config), "--store", str(store), "--quiet", "--force"]) == 0
    assert "4 runs written" in capsys.readouterr().out
    assert main(["export", "--store", str(store), "--out", str(out)]) == 0
    forced = pd.read_csv(out)
    assert len(forced) == 12
    cols = ["dataset", "strategy", "seed", "budget", "cost", "task_acc"]
    pd.testing.assert_frame_equal(
        forced[cols].sort_values(cols[:4]).reset_index(drop=True),
        rows[cols].sort_values(cols[:4]).reset_index(drop=True))

    report = tmp_path / "report"
    assert main(["report", "--store", str(store), "--out", str(report)]) == 0
    board = (report / "leaderboard.md").read_text()
    assert "| margin | 2 | 24 | 0 |" in board and "| random | 2 | 24 | 0 |" in board
    assert not (report / "graph.png").exists()  # label questions only: no graph panel
    assert not (report / "ranks.png").exists()  # two strategies on one panel: nothing to rank
    assert "Against random, AULC over shared seeds" in board and "| margin | 2 | " in board
    assert (report / "curves.png").read_bytes()[:4] == b"\x89PNG"


def test_store_from_environment(write_config, tmp_path, monkeypatch, capsys):
    store = tmp_path / "env.sqlite"
    monkeypatch.setenv("PALBENCH_STORE", str(store))
    text = SMALL_CONFIG.replace("seeds = [0, 1]", "seeds = [0]").replace(
        '[[strategy]]\nname = "margin"\n', "")
    assert main(["run", str(write_config(text)), "--quiet"]) == 0
    assert store.exists()


@pytest.mark.parametrize("argv,words", [
    (["run", "CONFIG", "--workers", "0"], "--workers = 0"),
    (["export", "--store", "STORE", "--out", "x.csv"], "no such store"),
    (["report", "--store", "STORE", "--out", "r"], "no such store"),
])
def test_bad_command_lines_exit_2_with_one_line(write_config, tmp_path, capsys, argv, words):
    argv = [str(write_config(SMALL_CONFIG)) if a == "CONFIG" else
            str(tmp_path / "none.sqlite") if a == "STORE" else a for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert words in err and err.count("\n") == 1 and err.startswith("palbench: error: ")


def test_bad_config_writes_nothing(write_config, tmp_path):
    """Run as a user would: a subprocess, one line on stderr, exit 2, no store file."""
    config = write_config(SMALL_CONFIG.replace("noise = 0.1", "noise = 2.0"))
    store = tmp_path / "never.sqlite"
    done = subprocess.run([sys.executable, "-m", "palbench", "run", str(config), "--store",
                           str(store)], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": os.getcwd()})
    assert done.returncode == 2
    assert done.stderr == "palbench: error: oracle.noise = 2.0: must be within [0, 1]\n"
    assert "Traceback" not in done.stderr and not store.exists()


def test_list_and_help(capsys):
    assert main(["list", "strategies"]) == 0
    listed = capsys.readouterr().out
    for name in ("random", "least_confident", "margin", "entropy", "graph_coverage"):
        assert name in listed
    assert main(["list", "datasets"]) == 0
    listed = capsys.readouterr().out
    for name in ("digits", "fashion_mnist", "circles", "blobs", "csv", "npz"):
        assert name in listed


def test_list_one_component_gives_each_parameter_from_the_reference(capsys):
    """`palbench list KIND NAME`: type, default, spec hash and the doc line of every
    parameter, from the same declarations as the config reference."""
    from palbench.reference import parameters
    from palbench.strategies import STRATEGIES

    assert main(["list", "strategies", "typiclust"]) == 0
    out = capsys.readouterr().out
    for p in parameters(STRATEGIES.get("typiclust")):
        assert f"  {p.name} ({p.type}, default {p.default}; in the spec hash: {p.identity})" \
            in out
        assert " ".join(p.doc.split()) in " ".join(out.split())
    assert "max_candidates (int, default 100000; in the spec hash: when set)" in out
    assert main(["list", "strategies"]) == 0
    listed = capsys.readouterr().out  # summaries whole, never cut mid-sentence
    assert "graph_coverage: " in listed and "parameters: space = \"features\"" in listed
    assert main(["list", "stopping", "maxbudget"]) == 2
    assert "did you mean 'max_budget'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:
        main(["run", "--help"])
    assert info.value.code == 0 and "skipped" in capsys.readouterr().out


def test_demo_config_is_valid():
    from importlib.resources import files

    from palbench.bench.config import parse
    from palbench.params import read_toml

    experiment, sections = parse(read_toml(str(files("palbench.bench") / "demo.toml")))
    kinds = {s.label: s.obj.query_kind for s in sections["strategy"]}
    assert set(kinds.values()) == {"label", "pair"}  # both kinds of question, one cost axis
    assert sections["costs"][0].obj.model == "seconds"
    assert {learner.name for learner in sections["learner"]} == {"mlp", "pal"}


PAIRS = """
[experiment]
name = "pairs"
seeds = [0, 1]
budgets = [10, 30]
batch_size = 10
[dataset]
name = "blobs"
n_samples = 160
n_features = 4
n_classes = 3
[[strategy]]
name = "random_pairs"
[[strategy]]
name = "pal_active"
captcha = 3
[oracle]
name = "noisy_pair"
noise = 0.1
[costs]
pair = 1.0
captcha_base = 1.0
captcha_item = 0.5
[learner]
name = "pal"
epochs = 5
graph_weight = 0.3
hidden = [16]
dim = 4
device = "cpu"
"""


def test_pair_queries_end_to_end_with_reports(write_config, tmp_path, capsys):
    store = tmp_path / "pairs.sqlite"
    assert main(["run", str(write_config(PAIRS)), "--store", str(store), "--quiet"]) == 0
    with ResultsStore(store) as s:
        frame = s.to_frame()
    assert (frame.n_free == 3).all() and frame.probe_acc.notna().all()
    captcha = frame[frame.strategy == "pal_active(captcha=3)"]
    assert np.allclose(captcha.cost, captcha.budget)  # 2.5 a captcha: 4 and 12 captchas
    assert list(captcha.n_queries[:2]) == [4, 12]
    out = tmp_path / "r"
    assert main(["report", "--store", str(store), "--out", str(out), "--metric", "probe_acc",
                 "--panels", "dataset", "--experiment", "pairs"]) == 0
    board = (out / "leaderboard.md").read_text()
    assert "final probe_acc" in board and "probe_acc at each budget" in board
    assert main(["report", "--store", str(store), "--out", str(out), "--experiment",
                 "nope"]) == 2
    assert "--experiment = 'nope'" in capsys.readouterr().err


@pytest.mark.slow
def test_demo_writes_store_and_report(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), "--quiet", "--workers", "2"]) == 0
    printed = capsys.readouterr().out.strip().splitlines()
    assert printed[-2].startswith(f"palbench demo: report in {out / 'index.html'}")
    assert printed[-1].startswith("Best by AULC of task_acc: ") and \
        "best asking pair questions: pal_" in printed[-1]
    for name in ("results.sqlite", "curves.png", "graph.png", "leaderboard.md", "index.html"):
        assert (out / name).stat().st_size > 0
    with ResultsStore(out / "results.sqlite") as store:
        runs = store.runs()
    assert len(runs) == 16 and set(runs["learner"].str.split("(").str[0]) == {"mlp", "pal"}


HEAVY = ("torch", "matplotlib", "seaborn", "ray")


def test_a_run_without_torch_components_imports_no_heavy_library(write_config, tmp_path):
    """A scikit-learn-only run never imports torch (1.25 s of a short run), nor the plotting
    libraries or Ray; a run with the mlp learner does import torch (the check can fail)."""
    import subprocess
    import sys

    from tests.conftest import SMALL_CONFIG

    probe = ("import sys\nfrom palbench.cli import main\ncode = main(sys.argv[1:])\n"
             f"print('loaded:', [m for m in {HEAVY!r} if m in sys.modules], code)")
    mlp = SMALL_CONFIG.replace('name = "sklearn"', 'name = "mlp"\nepochs = 2').replace(
        'estimator = "sklearn.linear_model.LogisticRegression"\nparams = { max_iter = 500 }', "")
    found = {}
    for name, text in (("sklearn", SMALL_CONFIG), ("mlp", mlp)):
        config = write_config(text, f"{name}.toml")
        done = subprocess.run([sys.executable, "-c", probe, "run", str(config), "--store",
                               str(tmp_path / f"{name}.sqlite"), "--quiet"],
                              capture_output=True, text=True, timeout=300)
        found[name] = done.stdout.strip().splitlines()[-1]
    assert found["sklearn"] == "loaded: [] 0"
    assert found["mlp"] == "loaded: ['torch'] 0"
