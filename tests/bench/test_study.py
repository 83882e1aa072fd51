"""`palbench robustness` end to end on a tabular set (2 keys x 2 values, 6 seeds: the fewest
at which a sign-flip test can find a win): the
variants recorded in the store, each verdict equal to the leaderboard's paired test on that
variant's runs, a re-run that computes nothing, the robust_wins claim, and bad input in one
line with nothing written."""

from __future__ import annotations

import sqlite3

import pandas as pd
import pytest

from palbench.cli import main
from palbench.reports.metrics import per_run
from palbench.reports.robustness_report import CSV_COLUMNS
from palbench.reports.stats import paired_against
from palbench.results.store import ResultsStore

CONFIG = """
[experiment]
seeds = [0, 1, 2, 3, 4, 5]
budgets = [10, 20, 40]
batch_size = 10
probe = false
[dataset]
name = "breast_cancer"
[[strategy]]
name = "random"
[[strategy]]
name = "margin"
[oracle]
name = "noisy_label"
noise = 0.0
[learner]
name = "sklearn"
"""
VARY = ["--vary", "experiment.batch_size=2,10", "--vary", "oracle.noise=0,0.3"]


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    folder = tmp_path_factory.mktemp("study")
    (folder / "bc.toml").write_text(CONFIG)
    argv = ["robustness", str(folder / "bc.toml"), *VARY, "--store", str(folder / "s.sqlite"),
            "--out", str(folder / "out"), "--quiet"]
    assert main(argv) == 0
    return folder, argv


def test_every_variant_is_recorded_and_its_verdict_is_the_leaderboards(study):
    folder, _ = study
    with ResultsStore(folder / "s.sqlite", mode="read") as store:
        variants = store.study("bc")
        frame = store.to_frame()
    assert [v.name for v in variants] == [
        "experiment.batch_size=2, oracle.noise=0", "experiment.batch_size=2, oracle.noise=0.3",
        "experiment.batch_size=10, oracle.noise=0", "experiment.batch_size=10, oracle.noise=0.3"]
    assert all(len(v.hashes) == 12 for v in variants)  # 2 strategies x 6 seeds
    assert [v.base for v in variants] == [False, False, True, False]  # the config as written
    table = pd.read_csv(folder / "out" / "robustness.csv")
    assert list(table.columns) == CSV_COLUMNS
    row = table[(table["a"] == "margin") & (table["b"] == "random")].iloc[0]
    assert row["variants"] == 4 and row["a_wins"] + row["b_wins"] + row["no_evidence"] == 4
    wins = 0
    for variant in variants:
        runs = frame[frame["spec_hash"].isin(variant.hashes)]
        verdict = paired_against(per_run(runs, "task_acc"), "aulc", "random")
        wins += int(verdict.iloc[0]["verdict"] == "better")
    assert row["a_wins"] == wins
    mirror = table[(table["a"] == "random") & (table["b"] == "margin")].iloc[0]
    assert mirror["b_wins"] == row["a_wins"] and mirror["a_wins"] == row["b_wins"]
    assert 0 <= row["same_verdict_3"] <= 1 and row["same_verdict_study"] == 1.0
    assert row["study_seeds"] == 6 and pd.isna(row["same_verdict_10"])
    for name in ("robustness.md", "index.html", "robustness_win_shares.png",
                 "robustness_experiment_batch_size.png", "robustness_oracle_noise.png"):
        assert (folder / "out" / name).stat().st_size > 0
    assert "Robustness study &#x27;bc&#x27;" in (folder / "out" / "index.html").read_text()


def test_a_rerun_computes_nothing_and_changes_nothing(study, capsys):
    folder, argv = study
    before = (folder / "out" / "robustness.csv").read_text()
    capsys.readouterr()
    assert main(argv) == 0
    assert "48 runs, 0 to do (all in the store)" in capsys.readouterr().err
    assert (folder / "out" / "robustness.csv").read_text() == before


def test_one_at_a_time_is_the_config_and_each_value_changed_alone(study, capsys):
    folder, _ = study
    assert main(["robustness", str(folder / "bc.toml"), *VARY, "--one-at-a-time", "--study",
                 "alone", "--store", str(folder / "s.sqlite"), "--out",
                 str(folder / "alone"), "--quiet"]) == 0
    assert "3 variants, 36 runs, 0 to do" in capsys.readouterr().err  # all cells reused
    with ResultsStore(folder / "s.sqlite", mode="read") as store:
        names = [(v.name, v.base) for v in store.study("alone")]
    assert names == [("experiment.batch_size=10, oracle.noise=0.0", True),
                     ("experiment.batch_size=2, oracle.noise=0.0", False),
                     ("experiment.batch_size=10, oracle.noise=0.3", False)]
    assert "the config's own protocol" in (folder / "alone" / "robustness.md").read_text()



def test_a_study_is_timed_as_check_times_cells_by_the_same_cells_under_other_seeds(study):
    """The study's estimate is session.time_estimate's: a new seed of a variant is timed by
    that variant's stored runs; a batch size no run had is 'time unknown', never guessed from
    runs that share only the labels."""
    from palbench.bench.session import cells_to_run, time_estimate
    from palbench.bench.study import estimate, merged_plan, prepare_study

    folder, _ = study
    (folder / "more.toml").write_text(CONFIG.replace("seeds = [0, 1, 2, 3, 4, 5]",
                                                     "seeds = [0, 1, 2, 3, 4, 5, 6]"))
    with ResultsStore(folder / "s.sqlite", mode="read") as store:
        for vary, said in [(VARY, "from the store's runs of the same cells under other seeds"),
                           (["experiment.batch_size=5"], "time unknown")]:
            _, plans = prepare_study(folder / "more.toml", vary[1::2] if vary == VARY else vary)
            plan = merged_plan(plans)
            todo = cells_to_run(plan, store)
            line = estimate(store, plan, workers=2)
            assert line == (f"{len(plan.cells)} runs, {len(todo)} to do; "
                            f"{time_estimate(todo, store, 2)}")
            assert said in line, line


def claim(folder, **keys) -> str:
    fields = {"name": "robust", "metric": "robust_wins", "study": "bc",
              "dataset": "breast_cancer", "strategy": "margin", "relative_to": "random",
              "at_least": 0.25, **keys}
    lines = ["[[claim]]"] + [f"{k} = {v!r}".replace("'", '"').replace("True", "true")
                             .replace("False", "false") for k, v in fields.items()]
    (folder / "claims.toml").write_text("\n".join(lines) + "\n")
    return str(folder / "claims.toml")


def test_robust_wins_counts_the_variants_won(study, capsys):
    folder, _ = study
    table = pd.read_csv(folder / "out" / "robustness.csv")
    wins = int(table[(table["a"] == "margin") & (table["b"] == "random")]["a_wins"].iloc[0])
    store = ["--store", str(folder / "s.sqlite"), "--no-run"]
    capsys.readouterr()
    code = main(["check", claim(folder, at_least=wins / 4 if wins else 0.25), *store])
    out = capsys.readouterr().out
    assert f"margin beats random in {wins} of 4 variants ({wins / 4:.2f})" in out
    assert code == (0 if wins else 1) and out.startswith("PASS" if wins else "FAIL")
    assert main(["check", claim(folder, at_least=1.0), *store]) == (0 if wins == 4 else 1)
    assert main(["check", claim(folder, strategy="random", relative_to="margin",
                                never_loses=True), *store]) == 1  # never wins, so fails


def test_a_claim_on_a_study_with_missing_runs_fails_naming_the_variant(study, tmp_path,
                                                                       capsys):
    folder, _ = study
    copy = tmp_path / "s.sqlite"
    with sqlite3.connect(folder / "s.sqlite") as source, sqlite3.connect(copy) as target:
        source.backup(target)
    with ResultsStore(copy, mode="read") as store:
        lost = store.study("bc")[1]
    with sqlite3.connect(copy) as conn:
        conn.executemany("DELETE FROM runs WHERE spec_hash = ?", [(h,) for h in lost.hashes])
    capsys.readouterr()
    assert main(["check", claim(folder), "--store", str(copy), "--no-run"]) == 1
    out = capsys.readouterr().out
    assert out.startswith("FAIL  robust: 1 of 4 variants of study 'bc' lack runs in the "
                          f"store: {lost.name}"), out


@pytest.mark.parametrize("vary,words", [
    ("experiment.batchsize=2,10", "unknown key (did you mean 'batch_size'?)"),
    ("oracel.noise=0,0.3", "unknown key (did you mean 'oracle'?)"),
    ("experiment.batch_size=abc", "variant experiment.batch_size=\"abc\""),
    ("experiment.batch_size", "must be KEY=V1,V2,..."),
    ("costs.label=1,2", "the config has no [costs] table"),
    ("experiment.batch_size=2,2", "a value is given twice"),
])
def test_bad_vary_is_one_line_and_writes_nothing(vary, words, tmp_path, capsys):
    (tmp_path / "bc.toml").write_text(CONFIG)
    assert main(["robustness", str(tmp_path / "bc.toml"), "--vary", vary, "--store",
                 str(tmp_path / "s.sqlite"), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and words in err, err
    assert not (tmp_path / "s.sqlite").exists() and not (tmp_path / "out").exists()


def test_a_claim_naming_what_the_study_lacks_is_bad_input(study, capsys):
    folder, _ = study
    assert main(["check", claim(folder, relative_to="randon"), "--store",
                 str(folder / "s.sqlite"), "--no-run"]) == 2
    assert "did you mean 'random'?" in capsys.readouterr().err
    assert main(["check", claim(folder, study="nope"), "--store", str(folder / "s.sqlite"),
                 "--no-run"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "the store records no such study; it records: " in err
    assert "bc" in err.rpartition("it records: ")[2], err
