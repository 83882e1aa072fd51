"""Config validation: every bad input is one ConfigError naming the field and the value."""

from __future__ import annotations

import numpy as np
import pytest

from palbench.bench.config import load_plan
from palbench.errors import ConfigError
from palbench.seeds import seed_streams
from tests.conftest import SMALL_CONFIG


def test_small_config_expands_to_the_cross_product(write_config):
    plan = load_plan(write_config(SMALL_CONFIG))
    assert len(plan.cells) == 2 * 2  # strategies x seeds
    assert {c.strategy.label for c in plan.cells} == {"random", "margin"}
    assert plan.cells[0].oracle.label == "noisy_label"
    assert len({c.spec_hash() for c in plan.cells}) == 4
    assert plan.experiment.name == "small"


def test_arrays_of_tables_make_a_grid(write_config):
    text = SMALL_CONFIG.replace('[oracle]\nname = "noisy_label"\nnoise = 0.1',
                                '[[oracle]]\nname = "exact"\n[[oracle]]\nname = "noisy_label"'
                                '\nnoise = 0.2')
    text = text.replace("[learner]", "[[learner]]") + '[[learner]]\nname = "mlp"\nepochs = 5\n'
    plan = load_plan(write_config(text))
    assert len(plan.cells) == 2 * 2 * 2 * 2
    assert {c.oracle.label for c in plan.cells} == {"exact", "noisy_label(noise=0.2)"}


def test_spec_hash_ignores_file_location_but_not_content(write_config, tmp_path):
    csv = "a,b,label\n" + "".join(f"{i},{i % 5},{'xy'[i % 2]}\n" for i in range(40))
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    (tmp_path / "one" / "d.csv").write_text(csv)
    (tmp_path / "two" / "d.csv").write_text(csv)
    text = SMALL_CONFIG.replace(
        '[dataset]\nname = "blobs"\nn_samples = 240\nn_features = 4\nn_classes = 3',
        '[dataset]\nname = "csv"\npath = "PATH"\nlabel_column = "label"')
    one = load_plan(write_config(text.replace("PATH", "one/d.csv"), "a.toml"))
    two = load_plan(write_config(text.replace("PATH", "two/d.csv"), "b.toml"))
    assert one.cells[0].dataset.label == "d"
    assert one.cells[0].spec_hash() == two.cells[0].spec_hash()
    (tmp_path / "two" / "d.csv").write_text(csv.replace("0,0,x", "0,1,x"))
    changed = load_plan(write_config(text.replace("PATH", "two/d.csv"), "c.toml"))
    assert changed.cells[0].spec_hash() != one.cells[0].spec_hash()


def test_seed_streams_are_independent_and_recorded():
    streams = seed_streams(0)
    assert set(streams) == {"strategy", "oracle", "learner", "labelling", "initial"}
    assert len(set(streams.values())) == 5
    assert seed_streams(0) == streams != seed_streams(1)
    # a stream added later (initial) leaves the earlier ones as they were: old rows stand
    first_four = np.random.SeedSequence(0).spawn(4)
    assert [int(c.generate_state(1, dtype=np.uint32)[0]) for c in first_four] == \
        [streams[k] for k in ("strategy", "oracle", "learner", "labelling")]


BAD = [
    # (what to replace, replacement, field named in the error, words in the error)
    ('batch_size = 3', 'batch_size = 3\nclosure = "partial"', "experiment.closure",
     'must be one of "transitive", "none"'),
    ('budgets = [6, 12, 24]', 'budgets = [6, 4, 24]', "experiment.budgets[1]", "increase"),
    ('budgets = [6, 12, 24]', 'budgets = [-6, 12]', "experiment.budgets[0]", "must be > 0"),
    ('budgets = [6, 12, 24]', 'budgets = [6, 12, 100000]', "experiment.budgets", "whole pool"),
    ('budgets = [6, 12, 24]', 'budgets = "many"', "experiment.budgets", "list"),
    ('batch_size = 3', 'batchsize = 3', "experiment.batchsize", "did you mean 'batch_size'"),
    ('batch_size = 3', 'batch_size = 0', "experiment.batch_size", ">= 1"),
    ('batch_size = 3', 'batch_size = 2.5', "experiment.batch_size", "integer"),
    ('seeds = [0, 1]', 'seeds = [0, 0]', "experiment.seeds", "repeat"),
    ('noise = 0.1', 'noise = 1.5', "oracle.noise", "[0, 1]"),
    ('noise = 0.1', 'noise = "high"', "oracle.noise", "number"),
    ('noise = 0.1', 'nosie = 0.1', "oracle.nosie", "did you mean 'noise'"),
    ('name = "margin"', 'name = "margn"', "strategy[1].name", "did you mean 'margin'"),
    ('name = "margin"', 'name = "graph_coverage"\nmax_dims = -1', "strategy[1].max_dims",
     "0: never project"),
    ('name = "noisy_label"', 'name = "noisy_pair_label"', "oracle.name", "known: noisy_label"),
    ('name = "blobs"', 'name = "digitz"', "dataset.name", "did you mean 'digits'"),
    ('[learner]', '[lerner]', "lerner", "did you mean 'learner'"),
    ('estimator = "sklearn.linear_model.LogisticRegression"',
     'estimator = "sklearn.linear_model.NoSuchModel"', "learner.estimator", "has no 'NoSuchModel'"),
    ('params = { max_iter = 500 }', 'params = { max_itr = 500 }', "learner.params", "max_itr"),
    ('n_classes = 3', 'n_classes = 1', "dataset.n_classes", "must be >= 2"),
    ('[oracle]\nname = "noisy_label"\nnoise = 0.1',
     '[oracle]\nname = "confusion"\nmatrix = [[0.5, 0.4], [0.0, 1.0]]', "oracle.matrix[0]",
     "sum to 1"),
    ('[oracle]\nname = "noisy_label"\nnoise = 0.1',
     '[oracle]\nname = "confusion"\nmatrix = [[0.5, 0.5], [0.0, 1.0]]', "oracle.matrix",
     "3 classes"),
    ('[oracle]\nname = "noisy_label"\nnoise = 0.1',
     '[oracle]\nname = "abstain"\nrate = 1.0', "oracle.rate", "[0, 1)"),
    ('[oracle]\nname = "noisy_label"\nnoise = 0.1',
     '[oracle]\nname = "abstain"\nbase = { name = "nosy" }', "oracle.base.name", "known"),
    ('[learner]', '[costs]\nlabel = -1.0\n[learner]', "costs.label", "must be > 0"),
    ('[learner]', '[costs]\nlabel = { "0" = 1.0 }\n[learner]', "costs.label", "default"),
    ('[learner]', '[costs]\nlabel = { "7" = 1.0, default = 2.0 }\n[learner]',
     "costs.label.7", "unknown key"),
]


@pytest.mark.parametrize("old,new,field,words", BAD, ids=[b[2] + ":" + b[1][:20] for b in BAD])
def test_bad_config_names_field_and_value(write_config, old, new, field, words):
    assert old in SMALL_CONFIG
    with pytest.raises(ConfigError) as info:
        load_plan(write_config(SMALL_CONFIG.replace(old, new, 1)))
    message = str(info.value)
    assert info.value.field == field, message
    assert words in message
    assert "\n" not in message


def test_invalid_toml_and_missing_file(write_config, tmp_path):
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_plan(write_config("[experiment\nseeds = 1"))
    with pytest.raises(ConfigError, match="no such file"):
        load_plan(tmp_path / "absent.toml")


def test_per_class_costs_by_class_name(write_config):
    text = SMALL_CONFIG.replace("[learner]", '[costs]\nlabel = { "0" = 1.0, default = 3.0 }\n'
                                             "[learner]")
    plan = load_plan(write_config(text))
    costs = plan.cells[0].costs.obj.label_costs(("0", "1", "2"), "costs")
    assert list(costs) == [1.0, 3.0, 3.0]


PAIRED = """
[experiment]
seeds = [0, 1]
budgets = [6]
[[dataset]]
name = "blobs"
[[dataset]]
name = "circles"
n_samples = 120
[[strategy]]
name = "random"
with = { oracle = ["exact", "noisy_label"] }
[[strategy]]
name = "random_pairs"
with = { oracle = "exact_pair" }
[[oracle]]
name = "exact"
with = { dataset = "blobs" }
[[oracle]]
name = "noisy_label"
with = { dataset = "circles" }
[[oracle]]
name = "exact_pair"
[learner]
name = "sklearn"
"""


def test_with_pairs_tables_instead_of_crossing_them(write_config):
    """Each oracle runs with its own dataset, the pair strategy only with the pair oracle
    (crossed, a label oracle would refuse it): 2 label cells + 2 x 2 pair cells, by seed."""
    plan = load_plan(write_config(PAIRED))
    cells = [(c.dataset.label, c.oracle.label, c.strategy.label, c.seed) for c in plan.cells]
    assert sorted(cells) == sorted(
        (d, o, s, seed) for d, o, s in [("blobs", "exact", "random"),
                                        ("circles", "noisy_label", "random"),
                                        ("blobs", "exact_pair", "random_pairs"),
                                        ("circles", "exact_pair", "random_pairs")]
        for seed in (0, 1))
    with pytest.raises(ConfigError, match="answers label queries, but strategy 'random_pairs'"):
        load_plan(write_config(PAIRED.replace('with = { oracle = "exact_pair" }', "")))


@pytest.mark.parametrize("change,field,why", [
    (('with = { dataset = "blobs" }', 'with = { dataset = "blob" }'), "oracle[0].with.dataset",
     "no dataset is labelled 'blob' (did you mean 'blobs'?)"),
    (('with = { dataset = "blobs" }', 'with = { datasets = "blobs" }'),
     "oracle[0].with.datasets", "unknown key (did you mean 'dataset'?)"),
    (('with = { dataset = "blobs" }', 'with = { dataset = 3 }'), "oracle[0].with.dataset",
     "must be a label or a list of labels"),
    (('with = { oracle = "exact_pair" }', 'with = { oracle = "exact" }'), "oracle[0].name",
     "answers label queries, but strategy 'random_pairs'"),
])
def test_a_bad_with_key_is_one_line(change, field, why, write_config):
    with pytest.raises(ConfigError) as info:
        load_plan(write_config(PAIRED.replace(*change)))
    assert info.value.field == field and why in str(info.value), str(info.value)


def test_with_keys_that_leave_nothing_are_refused(write_config):
    config = """
        [experiment]
        budgets = [6]
        [[dataset]]
        name = "blobs"
        [[dataset]]
        name = "circles"
        [strategy]
        name = "random"
        with = { dataset = "blobs" }
        [oracle]
        name = "exact"
        with = { dataset = "circles" }
        [learner]
        name = "sklearn"
    """
    with pytest.raises(ConfigError, match="leave no combination"):
        load_plan(write_config(config))


def test_the_pairing_example_of_the_config_guide_makes_the_cells_it_says(write_config):
    from pathlib import Path

    page = (Path(__file__).resolve().parents[2] / "docs" / "guide" / "config.md").read_text()
    block = page.split("## Pairing tables instead of crossing them")[1].split("```toml")[1]
    block = block.split("```")[0]
    plan = load_plan(write_config('[experiment]\nbudgets = [6]\n[learner]\nname = "sklearn"\n'
                                  + block))
    assert sorted((c.strategy.label, c.oracle.label, c.dataset.label) for c in plan.cells) == [
        ("margin", "careful", "wine"), ("margin", "noisy_label", "digits"),
        ("random_pairs", "exact_pair", "digits"), ("random_pairs", "exact_pair", "wine")]
