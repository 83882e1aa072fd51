"""Two views of a sample: a features file beside the inputs (row for row, or matched by id to
an image folder's files), in the fingerprint and so in every spec hash; strategies select in
it with space = "features"; learners train on it with input = "features"; its bad inputs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import tomllib
from sklearn.datasets import load_digits

from palbench.bench.config import plan_from_raw
from palbench.bench.loop import run_cell
from palbench.datasets.files import NpzFile
from palbench.datasets.images import ImageFolder
from palbench.errors import ConfigError
from tests.datasets.test_images import digit_images, refusal, write_folder

N = 300


@pytest.fixture
def files(tmp_path):
    """digits.npz (the first N digits), emb.npy (a 5-d projection of them), raw.npy (the
    inputs themselves) and other.npy (another projection)."""
    d = load_digits()
    X, y = d.data[:N], d.target[:N]
    np.savez(tmp_path / "digits.npz", X=X, y=y)
    rng = np.random.default_rng(0)
    np.save(tmp_path / "emb.npy", X @ rng.normal(size=(64, 5)))
    np.save(tmp_path / "other.npy", X @ rng.normal(size=(64, 5)))
    np.save(tmp_path / "raw.npy", X)
    return tmp_path


def test_features_are_split_with_the_inputs_and_used_as_given(files):
    emb = np.load(files / "emb.npy")
    data = NpzFile(path=str(files / "digits.npz"), features=str(files / "emb.npy"),
                   standardize=False).prepare("d", "dataset")
    assert data.features.shape == (len(data.X), 5) and data.features_test.shape[1] == 5
    raw = load_digits().data[:N]
    rows = [int(np.flatnonzero((raw == x).all(axis=1))[0]) for x in data.X[:20]]
    np.testing.assert_array_equal(data.features[:20], emb[rows].astype(np.float32))
    scaled = NpzFile(path=str(files / "digits.npz"), features=str(files / "emb.npy"),
                     features_standardize=True).prepare("d", "dataset")
    np.testing.assert_allclose(scaled.features.mean(axis=0), 0, atol=1e-5)


def test_features_enter_the_fingerprint_and_the_spec_hash(files):
    def spec_hash(features):
        text = (f'[experiment]\nseeds = [0]\nbudgets = [6]\nbatch_size = 3\n[dataset]\n'
                f'name = "npz"\npath = "{files / "digits.npz"}"\n'
                + (f'features = "{files / features}"\n' if features else "")
                + '[strategy]\nname = "random"\n[learner]\nname = "sklearn"\n')
        return plan_from_raw(tomllib.loads(text)).cells[0].spec_hash()

    hashes = {spec_hash(None), spec_hash("emb.npy"), spec_hash("other.npy")}
    assert len(hashes) == 3
    np.save(files / "copy.npy", np.load(files / "emb.npy"))
    assert spec_hash("copy.npy") == spec_hash("emb.npy")  # the data, not the path


def test_features_from_npz_and_csv_are_the_same(files):
    emb = np.load(files / "emb.npy")
    np.savez(files / "emb.npz", features=emb)
    pd.DataFrame(emb, columns=[f"f{i}" for i in range(5)]).to_csv(files / "emb.csv",
                                                                   index=False)
    prints = {NpzFile(path=str(files / "digits.npz"), features=str(files / name))
              .prepare("d", "dataset").fingerprint for name in ("emb.npy", "emb.npz", "emb.csv")}
    assert len(prints) == 1


def test_an_image_folders_features_are_matched_by_id(tmp_path):
    write_folder(tmp_path / "digits", digit_images())
    files = sorted(p.relative_to(tmp_path / "digits").as_posix()
                   for p in (tmp_path / "digits").rglob("*.png"))
    F = np.arange(len(files) * 2, dtype=np.float64).reshape(-1, 2)
    shuffled = np.random.default_rng(1).permutation(len(files))
    frame = pd.DataFrame({"id": [files[i] for i in shuffled], "a": F[shuffled, 0],
                          "b": F[shuffled, 1]})
    frame.to_csv(tmp_path / "emb.csv", index=False)
    np.save(tmp_path / "emb.npy", F)
    by_id = ImageFolder(path=str(tmp_path / "digits"), features=str(tmp_path / "emb.csv"))
    in_order = ImageFolder(path=str(tmp_path / "digits"), features=str(tmp_path / "emb.npy"))
    assert by_id.prepare("d", "dataset").fingerprint == \
        in_order.prepare("d", "dataset").fingerprint
    frame.assign(id=frame["id"].where(frame.index != 3, "digit9/nothing.png")).to_csv(
        tmp_path / "stray.csv", index=False)
    message = refusal(ImageFolder(path=str(tmp_path / "digits"),
                                  features=str(tmp_path / "stray.csv")))
    assert "'digit9/nothing.png' matches no file" in message
    frame.iloc[1:].to_csv(tmp_path / "short.csv", index=False)
    assert "no row for file" in refusal(ImageFolder(path=str(tmp_path / "digits"),
                                                    features=str(tmp_path / "short.csv")))


def test_bad_features_files_are_one_line_each(files):
    def source(features):
        return NpzFile(path=str(files / "digits.npz"), features=str(features))

    np.save(files / "short.npy", np.zeros((N - 1, 3)))
    assert f"has {N - 1} rows; the dataset has {N} samples" in refusal(source(files /
                                                                            "short.npy"))
    assert "no such file" in refusal(source(files / "absent.npy"))
    assert "is a folder" in refusal(source(files))
    (files / "emb.txt").write_text("1 2 3")
    assert "a features file is .npy, .npz, .csv" in refusal(source(files / "emb.txt"))
    pd.DataFrame({"id": range(N), "a": range(N)}).to_csv(files / "ids.csv", index=False)
    assert "no names" in refusal(source(files / "ids.csv"))
    bad = np.zeros((N, 2))
    bad[7, 1] = np.nan
    np.save(files / "nan.npy", bad)
    assert "row 7" in refusal(source(files / "nan.npy"))


RUN = """
[experiment]
seeds = [0]
budgets = [4, 10, 16]
batch_size = 3
[dataset]
name = "npz"
path = "{path}"
standardize = false
{features}
[strategy]
name = "{strategy}"
{space}
[learner]
name = "sklearn"
{input}
"""


def answers(files, strategy, features="", space="", learner_input=""):
    text = RUN.format(path=files / "digits.npz", strategy=strategy,
                      features=f'features = "{files / features}"' if features else "",
                      space=f'space = "{space}"' if space else "",
                      input=f'input = "{learner_input}"' if learner_input else "")
    plan = plan_from_raw(tomllib.loads(text))
    result = run_cell(plan.cells[0], plan.data(plan.cells[0]))
    return [row[:3] for row in result.answers], result


@pytest.mark.parametrize("strategy", ["coreset", "typiclust"])
def test_space_features_selects_in_the_features_file(files, strategy):
    in_inputs, _ = answers(files, strategy)
    in_features, _ = answers(files, strategy, "emb.npy")
    as_inputs, _ = answers(files, strategy, "emb.npy", space="inputs")
    the_inputs_again, _ = answers(files, strategy, "raw.npy")
    assert in_features != in_inputs
    assert as_inputs == in_inputs  # space = "inputs": the raw inputs whatever the features
    assert the_inputs_again == in_inputs  # features that are the inputs select the same


def test_a_learner_trains_on_the_features(files):
    _, on_inputs = answers(files, "margin", "emb.npy")
    _, on_features = answers(files, "margin", "emb.npy", learner_input="features")
    _, on_raw = answers(files, "margin", "raw.npy", learner_input="features")
    accuracy = [[c.task_acc for c in r.checkpoints] for r in (on_inputs, on_features, on_raw)]
    assert accuracy[1] != accuracy[0]
    assert accuracy[2] == accuracy[0]  # the inputs given as features: the same runs


def test_input_features_without_features_is_one_line(files):
    with pytest.raises(ConfigError) as refused:
        answers(files, "margin", learner_input="features")
    assert "learner.input" in str(refused.value) and "has no features" in str(refused.value)


FASHION = "/usr/share/datasets/fashion-mnist"


needs_fashion = pytest.mark.skipif(not __import__("os").path.isdir(FASHION),
                                   reason="apt-get install dataset-fashion-mnist")


@needs_fashion
def test_fashion_mnist_carries_a_features_view_pool_rows_then_test_rows(tmp_path):
    """An official split's features: an encoder sees the pool then the test set, and each
    part gets its own rows (a Flatten encoder gives the unscaled pixels back)."""
    from palbench.datasets import DATASETS
    from palbench.encoders.torch_modules import EXAMPLE

    fashion = DATASETS.get("fashion_mnist")
    source = fashion(n_train=60, n_test=20, standardize=False, encoder={
        "name": "torchscript", "path": str(EXAMPLE), "cache_dir": str(tmp_path)})
    data = source.prepare("fashion", "dataset")
    assert data.features.shape == (60, 784) and data.features_test.shape == (20, 784)
    np.testing.assert_array_equal(data.features, data.X)
    np.testing.assert_array_equal(data.features_test, data.X_test)
    plain = fashion(n_train=60, n_test=20, standardize=False).prepare("fashion", "dataset")
    assert plain.features is None and plain.fingerprint != data.fingerprint
    np.testing.assert_array_equal(plain.X, data.X)  # the same images kept


@needs_fashion
def test_a_fashion_mnist_features_file_covers_all_70000_images(tmp_path):
    """One file of the whole data set (training images, then test images, as the IDX files
    hold them) serves any subset: each kept image gets its own row (here its pixel sum)."""
    from pathlib import Path

    from palbench.datasets import DATASETS
    from palbench.datasets.fashion_mnist import read_idx

    folder = Path(FASHION)
    images = [read_idx(next(folder.glob(f"{stem}*"))) for stem in
              ("train-images-idx3-ubyte", "t10k-images-idx3-ubyte")]
    sums = np.concatenate([i.reshape(len(i), -1).sum(axis=1) for i in images])
    np.save(tmp_path / "sums.npy", np.stack([sums, np.arange(len(sums))], axis=1))
    fashion = DATASETS.get("fashion_mnist")
    data = fashion(n_train=50, n_test=30, standardize=False,
                   features=str(tmp_path / "sums.npy")).prepare("fashion", "dataset")
    np.testing.assert_allclose(data.features[:, 0], np.round(data.X.sum(axis=1) * 255))
    np.testing.assert_allclose(data.features_test[:, 0], np.round(data.X_test.sum(axis=1) * 255))
    assert data.features[:, 1].max() < 60000 <= data.features_test[:, 1].min()
    with pytest.raises(ConfigError) as refused:
        np.save(tmp_path / "short.npy", np.zeros((80, 2)))
        fashion(n_train=50, n_test=30, features=str(tmp_path / "short.npy")).prepare("f", "d")
    assert "has 80 rows; the dataset has 70000 samples" in str(refused.value)


def test_a_learner_on_features_is_checked_only_with_the_datasets_it_runs_with(files):
    """`with` pairs a learner on features with the dataset that has them; the other dataset,
    without features, is not refused for it (it never runs with it)."""
    text = f"""
[experiment]
seeds = [0]
budgets = [10]
batch_size = 5
probe = false
[[dataset]]
id = "plain"
name = "npz"
path = "{files / 'digits.npz'}"
[[dataset]]
id = "embedded"
name = "npz"
path = "{files / 'digits.npz'}"
features = "{files / 'emb.npy'}"
[oracle]
name = "exact"
[[strategy]]
name = "random"
[[learner]]
id = "on inputs"
name = "mlp"
with = {{ dataset = "plain" }}
[[learner]]
id = "on features"
name = "mlp"
input = "features"
with = {{ dataset = "embedded" }}
"""
    plan = plan_from_raw(tomllib.loads(text))
    assert sorted((c.dataset.label, c.learner.label) for c in plan.cells) == [
        ("embedded", "on features"), ("plain", "on inputs")]
