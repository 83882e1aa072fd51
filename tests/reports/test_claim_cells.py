"""A claim measures exactly one cell per side: keys that match several cells are refused
(exit 2) with the values that tell them apart and the key to add; `n` is that cell's seeds;
a name the store lacks is bad input with "did you mean"; a name it holds but with no run
matching the other keys is a FAIL naming the key."""

from __future__ import annotations

import textwrap

import pytest

from palbench.cli import main

GRID = """
[experiment]
name = "cells"
seeds = [0, 1, 2]
budgets = [6, 12]
batch_size = 3
probe = false
[dataset]
name = "blobs"
n_samples = 90
n_features = 4
n_classes = 3
[[strategy]]
name = "random"
[[strategy]]
name = "margin"
[[oracle]]
name = "exact"
[[oracle]]
name = "noisy_label"
noise = 0.2
[[learner]]
name = "sklearn"
[[learner]]
name = "sklearn"
id = "knn"
estimator = "sklearn.neighbors.KNeighborsClassifier"
params = { n_neighbors = 1 }
"""
# random alone under a third annotator: margin has no run there
RANDOM_ONLY = """
[experiment]
name = "cells"
seeds = [0, 1, 2]
budgets = [6, 12]
batch_size = 3
probe = false
[dataset]
name = "blobs"
n_samples = 90
n_features = 4
n_classes = 3
[strategy]
name = "random"
[oracle]
name = "noisy_label"
noise = 0.3
[learner]
name = "sklearn"
"""


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cells")
    path = folder / "s.sqlite"
    for name, text in (("grid", GRID), ("random", RANDOM_ONLY)):
        (folder / f"{name}.toml").write_text(text)
        assert main(["run", str(folder / f"{name}.toml"), "--store", str(path),
                     "--quiet"]) == 0
    return path


def check(store, tmp_path, capsys, body: str) -> tuple[int, str, str]:
    path = tmp_path / "claims.toml"
    path.write_text(textwrap.dedent(body))
    code = main(["check", str(path), "--store", str(store), "--no-run"])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


POOLED = """
    [[claim]]
    name = "margin is accurate"
    dataset = "blobs"
    strategy = "margin"
    metric = "final_acc"
    at_least = 0.1
"""


def test_keys_that_match_several_cells_are_refused_with_the_key_to_add(store, tmp_path,
                                                                       capsys):
    code, out, err = check(store, tmp_path, capsys, POOLED)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("palbench: error: claim[0] = ")
    assert "matches" not in err and "match 4 cells of strategy 'margin'" in err
    assert "oracle ('exact', 'noisy_label(noise=0.2)')" in err
    assert "learner ('knn', 'sklearn')" in err
    assert 'add oracle = "exact" or oracle = "noisy_label(noise=0.2)"' in err


def test_a_claim_on_one_cell_counts_that_cells_seeds(store, tmp_path, capsys):
    code, out, _ = check(store, tmp_path, capsys, POOLED + 'oracle = "exact"\n'
                         'learner = "sklearn"\n')
    assert code == 0 and "(3 seeds)" in out


def test_relative_to_pairs_with_the_baseline_in_the_same_setting(store, tmp_path, capsys):
    """random also ran under noise 0.3 (a third cell of random's): the baseline is the one
    in margin's setting, with its 3 seeds."""
    code, out, _ = check(store, tmp_path, capsys, """
        [[claim]]
        name = "margin's AULC against random's"
        dataset = "blobs"
        strategy = "margin"
        oracle = "exact"
        learner = "knn"
        metric = "aulc"
        relative_to = "random"
        ratio_at_most = 10
    """)
    assert code == 0 and "ratio margin/random" in out and "(3 seeds)" in out


@pytest.mark.parametrize("key,value,hint", [
    ("strategy", "marign", "did you mean 'margin'?"),
    ("dataset", "blobz", "did you mean 'blobs'?"),
    ("oracle", "exakt", "did you mean 'exact'?"),
    ("relative_to", "randon", "did you mean 'random'?"),
])
def test_a_name_no_run_has_is_bad_input_with_did_you_mean(store, tmp_path, capsys, key,
                                                          value, hint):
    body = {"name": "c", "dataset": "blobs", "strategy": "margin", "oracle": "exact",
            "learner": "sklearn", "metric": "aulc", key: value}
    body.update({"ratio_at_most": 2} if key == "relative_to" else {"at_least": 0.1})
    text = "[[claim]]\n" + "".join(f'{k} = {v!r}\n'.replace("'", '"') for k, v in body.items())
    code, out, err = check(store, tmp_path, capsys, text)
    assert code == 2 and out == ""
    assert err.startswith(f"palbench: error: claim[0].{key} = '{value}': no run in the store")
    assert hint in err and err.count("\n") == 1


def test_a_held_name_with_no_run_under_the_other_keys_fails_naming_the_key(store, tmp_path,
                                                                         capsys):
    code, out, _ = check(store, tmp_path, capsys, """
        [[claim]]
        name = "margin under heavy noise"
        dataset = "blobs"
        strategy = "margin"
        oracle = "noisy_label(noise=0.3)"
        metric = "aulc"
        at_least = 0.1
    """)
    assert code == 1
    assert "FAIL  margin under heavy noise: no run of 'margin' has oracle = " \
           "'noisy_label(noise=0.3)'" in out
    assert "'exact', 'noisy_label(noise=0.2)'" in out


def test_a_baseline_outside_the_claims_setting_fails_saying_so(store, tmp_path, capsys):
    code, out, _ = check(store, tmp_path, capsys, """
        [[claim]]
        name = "against random under heavy noise"
        dataset = "blobs"
        strategy = "margin"
        oracle = "exact"
        learner = "sklearn"
        metric = "aulc"
        relative_to = "random"
        ratio_at_most = 2
        [[claim]]
        name = "random under heavy noise, named alone"
        dataset = "blobs"
        strategy = "random"
        oracle = "noisy_label(noise=0.3)"
        metric = "aulc"
        at_least = 0.1
    """)
    assert "PASS  against random" in out and "(3 seeds)" in out
    assert "PASS  random under heavy noise" in out and code == 0


def test_tags_tell_cells_apart_and_an_empty_tag_means_untagged(store, tmp_path, capsys):
    import shutil

    tagged = tmp_path / "t.sqlite"
    shutil.copy(store, tagged)
    (tmp_path / "g.toml").write_text(GRID)
    assert main(["run", str(tmp_path / "g.toml"), "--store", str(tagged), "--quiet",
                 "--tag", "v2"]) == 0
    capsys.readouterr()
    one = POOLED + 'oracle = "exact"\nlearner = "sklearn"\n'
    code, _, err = check(tagged, tmp_path, capsys, one)
    assert code == 2 and 'add tag = "" or tag = "v2"' in err
    for tag in ("", "v2"):
        code, out, _ = check(tagged, tmp_path, capsys, one + f'tag = "{tag}"\n')
        assert code == 0 and "(3 seeds)" in out


def test_a_store_without_runs_is_bad_input_not_a_failure(tmp_path, capsys):
    from palbench.results.store import ResultsStore

    ResultsStore(tmp_path / "empty.sqlite").close()
    code, out, err = check(tmp_path / "empty.sqlite", tmp_path, capsys, POOLED)
    assert code == 2 and "holds no runs" in err and out == ""
