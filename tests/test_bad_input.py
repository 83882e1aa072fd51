"""Bad input that shows only when the data is built or the learner fits is still one line:
`palbench: error: FIELD = VALUE: why`, exit status 2, no run written, no traceback."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from palbench.cli import main
from palbench.errors import ConfigError

BASE = """
[experiment]
seeds = [0]
budgets = [4, 8]
batch_size = 2
probe = false
[dataset]
name = "blobs"
n_samples = 60
[strategy]
name = "random"
"""

CASES = {
    "sklearn parameter of the wrong type": (
        '[learner]\nname = "sklearn"\nparams = { C = "abc" }',
        "learner.params = {'C': 'abc'}", "The 'C' parameter of LogisticRegression"),
    "unknown solver": (
        '[learner]\nname = "sklearn"\nparams = { solver = "nope" }',
        "learner.params", "'solver' parameter"),
    "solver and penalty that only fail when fitting": (
        '[learner]\nname = "sklearn"\nparams = { solver = "lbfgs", penalty = "l1" }',
        "learner.params", "cannot fit with these params"),
    "classifier without predict_proba": (
        '[learner]\nname = "sklearn"\nestimator = "sklearn.svm.SVC"',
        "learner.estimator = 'sklearn.svm.SVC'", "set probability = true"),
    "a CUDA device this machine lacks": (
        '[learner]\nname = "mlp"\ndevice = "cuda:7"',
        "learner.device = 'cuda:7'", "CUDA device"),
    "a malformed device": (
        '[learner]\nname = "pal"\ndevice = "cuda:x"',
        "learner.device = 'cuda:x'", 'must be "auto", "cpu" or "cuda[:N]"'),
}


def run(tmp_path, capsys, text: str, *extra: str) -> tuple[int, str, object]:
    config, store = tmp_path / "c.toml", tmp_path / "s.sqlite"
    config.write_text(text)
    code = main(["run", str(config), "--store", str(store), "--quiet", *extra])
    return code, capsys.readouterr().err, store


@pytest.mark.parametrize("case", sorted(CASES))
def test_fit_time_errors_are_found_before_anything_runs(case, tmp_path, capsys):
    table, field, why = CASES[case]
    code, err, store = run(tmp_path, capsys, BASE + table)
    assert code == 2 and err.count("\n") == 1, err
    assert err.startswith(f"palbench: error: {field}") and why in err, err
    assert not store.exists()


@pytest.mark.parametrize("field,value", [("n_samples", 10**11), ("n_features", 10**11)])
def test_a_generated_dataset_too_large_for_memory_is_one_line(field, value, tmp_path, capsys):
    text = BASE.replace("n_samples = 60", f"n_samples = 60\n{field} = {value}"
                        if field != "n_samples" else f"n_samples = {value}")
    code, err, store = run(tmp_path, capsys, text)
    assert code == 2 and err.count("\n") == 1
    assert f"dataset.{field} = {value}: would need about" in err and "GiB" in err
    assert not store.exists()


def test_a_seed_too_large_says_so(tmp_path, capsys):
    code, err, _ = run(tmp_path, capsys, BASE.replace("seeds = [0]", f"seeds = [{2**64}]"))
    assert code == 2 and f"experiment.seeds[0] = {2**64}: must be within [0, 2**63) (the " \
        "store keeps seeds as 64-bit integers)" in err
    code, err, _ = run(tmp_path, capsys, BASE.replace("seeds = [0]", "seeds = [-1]"))
    assert code == 2 and "experiment.seeds[0] = -1: must be within [0, 2**63)" in err


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_fit_that_fails_inside_a_run_is_one_line(workers, tmp_path, capsys):
    """KNN with 12 neighbours passes the 15-sample check at config time, but cannot predict
    from the first checkpoint's 4 labels: the run stops with one line naming the learner and
    the run, in this process or in a worker process alike, and stores no run."""
    table = ('[learner]\nname = "sklearn"\nestimator = "sklearn.neighbors.KNeighborsClassifier"'
             '\nparams = { n_neighbors = 12 }')
    text = BASE.replace("seeds = [0]", "seeds = [0, 1]") + table
    code, err, store = run(tmp_path, capsys, text, "--workers", workers)
    assert code == 2 and err.count("\n") == 1, err
    assert err.startswith("palbench: error: learner = 'sklearn(")
    assert "evaluating the learner failed on" in err
    assert "n_neighbors" in err and "Traceback" not in err
    runs = sqlite3.connect(store).execute("SELECT COUNT(*) FROM runs").fetchone()[0]
    assert runs == 0


@pytest.mark.parametrize("learner", [
    '[learner]\nname = "sklearn"\nestimator = "sklearn.neighbors.KNeighborsClassifier"'
    '\nparams = { n_neighbors = 12 }',  # refuses the first checkpoint's 4 labels
    '[learner]\nname = "mlp"\nlr = 1e30',  # trains to NaN
])
@pytest.mark.parametrize("workers", [1, 2])
def test_a_learner_left_without_a_model_is_a_training_diverged(learner, workers, tmp_path):
    """Not bad input naming a field of the config, not a bug of the component: its own type,
    the learner and the run named, whole after crossing from a worker process."""
    import palbench
    from palbench.errors import TrainingDiverged

    config = tmp_path / "c.toml"
    config.write_text(BASE + learner)
    with pytest.raises(TrainingDiverged) as info:
        palbench.run(config, store=tmp_path / "s.sqlite", workers=workers, progress=False)
    assert not isinstance(info.value, ConfigError)
    assert info.value.field == "learner" and info.value.value.startswith(
        ("sklearn(", "mlp(lr=")), str(info.value)
    assert "evaluating the learner failed on 'blobs' (strategy 'random', seed 0)" in \
        info.value.why and ("refused: ValueError" in info.value.why or
                            info.value.why.endswith("gave non-finite probabilities (training "
                                                    "diverged: a smaller learning rate?)"))


def test_a_long_path_is_shown_whole_and_a_long_list_is_cut():
    """A path cut short hides which file was wrong; a list of a thousand values says nothing."""
    path = Path("/tmp") / ("deep-folder-" * 12) / "store.sqlite"
    assert str(ConfigError("store", path, "why")) == f"store = '{path}': why"
    assert str(ConfigError("store", str(path), "why")) == f"store = '{path}': why"
    shown = str(ConfigError("budgets", list(range(1000)), "why")).removesuffix(": why")
    assert shown.endswith("...") and len(shown) == len("budgets = ") + 80
