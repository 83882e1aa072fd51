"""Dataset sources: shapes, seeded stratified splits, standardisation, fingerprints, bad files."""

from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest

from palbench.datasets.fashion_mnist import FashionMnist, read_idx
from palbench.datasets.files import CsvFile, NpzFile
from palbench.datasets.sklearn_sets import Digits
from palbench.datasets.synthetic import Blobs, Circles
from palbench.errors import ConfigError


def test_digits_split_is_stratified_standardised_and_fingerprinted():
    data = Digits(test_fraction=0.25).prepare("digits", "dataset")
    assert data.n_classes == 10 and data.class_names[3] == "3"
    assert data.X.shape[1] == 64 and len(data.X) + len(data.X_test) == 1797
    assert len(data.X_test) == round(0.25 * 1797)
    np.testing.assert_allclose(data.X.mean(axis=0), 0, atol=1e-5)
    train_share = np.bincount(data.y) / len(data.y)
    test_share = np.bincount(data.y_test) / len(data.y_test)
    np.testing.assert_allclose(train_share, test_share, atol=0.01)
    assert data.fingerprint == Digits(test_fraction=0.25).prepare("d", "dataset").fingerprint
    assert data.fingerprint != Digits(split_seed=1).prepare("digits", "dataset").fingerprint


def test_circles_are_concentric_rings_one_class_per_ring():
    data = Circles(n_samples=400, n_classes=4, noise=0.0).prepare("circles", "dataset")
    radius = np.hypot(data.X[:, 0], data.X[:, 1])
    for c in range(4):
        np.testing.assert_allclose(radius[data.y == c], c + 1, atol=1e-9)


def test_blobs_shape():
    data = Blobs(n_samples=200, n_features=5, n_classes=4).prepare("blobs", "dataset")
    assert data.X.shape == (150, 5) and data.n_classes == 4


def test_csv_with_string_labels(tmp_path):
    path = tmp_path / "wine.csv"
    rows = "".join(f"{i},{i * 0.5},{['red', 'white', 'rose'][i % 3]}\n" for i in range(60))
    path.write_text("alcohol,acid,target\n" + rows)
    data = CsvFile(path=str(path), label_column="target").prepare("wine", "dataset")
    assert data.class_names == ("red", "rose", "white")
    assert data.X.shape[1] == 2 and data.X.dtype == np.float32


@pytest.mark.parametrize("content,field,words", [
    ("a,b,target\n1,2,x\n3,4,y\n", "dataset.label_column", "did you mean 'target'"),
    ("a,b,label\n1,nan,x\n3,4,y\n5,6,x\n7,8,y\n", "dataset.X", "finite"),
    ("a,b,label\n1,2,x\n3,4,x\n5,6,x\n", "dataset.y", "at least two classes"),
    ("a,b,label\n1,two,x\n3,4,y\n", "dataset.path", "'b' is not numeric"),
    ("a,b,label\n", "dataset.path", "no data rows"),
    ("", "dataset.path", "not a readable CSV"),
    ("a,b,label\n1,2,x\n3,4,\n", "dataset.label_column", "label missing in line 3"),
    ("a,b,label\n1,1e308,x\n3,4,y\n5,6e308,x\n", "dataset.X", "finite"),
])
def test_bad_csv_gets_one_clear_error(tmp_path, content, field, words):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    label = "targt" if "target" in words else "label"
    with pytest.raises(ConfigError) as info:
        CsvFile(path=str(path), label_column=label).prepare("bad", "dataset")
    assert info.value.field == field and words in str(info.value)


def test_npz_roundtrip_and_refuses_pickles(tmp_path):
    rng = np.random.default_rng(0)
    good = tmp_path / "good.npz"
    np.savez(good, X=rng.normal(size=(40, 3)), y=np.arange(40) % 2)
    assert NpzFile(path=str(good)).prepare("good", "dataset").X.shape == (30, 3)
    pickled = tmp_path / "pickled.npz"
    np.savez(pickled, X=np.array([{"a": 1}] * 10, dtype=object), y=np.arange(10) % 2)
    with pytest.raises(ConfigError, match="not a readable .npz"):
        NpzFile(path=str(pickled)).prepare("p", "dataset")
    lacking = tmp_path / "lacking.npz"
    np.savez(lacking, features=np.zeros((4, 2)))
    with pytest.raises(ConfigError, match="lacks array 'X'"):
        NpzFile(path=str(lacking)).prepare("l", "dataset")


def write_idx(path, array: np.ndarray) -> None:
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I",
                                                                      *array.shape)
    with gzip.open(path, "wb") as fh:
        fh.write(header + array.astype(np.uint8).tobytes())


@pytest.fixture
def fake_fashion(tmp_path):
    """Small IDX files in the Fashion-MNIST layout, read by the real loader."""
    rng = np.random.default_rng(0)
    for prefix, n in (("train", 200), ("t10k", 50)):
        write_idx(tmp_path / f"{prefix}-images-idx3-ubyte.gz",
                  rng.integers(0, 256, size=(n, 28, 28)))
        write_idx(tmp_path / f"{prefix}-labels-idx1-ubyte.gz", np.arange(n) % 10)
    return tmp_path


def test_fashion_mnist_reads_idx_files(fake_fashion):
    data = FashionMnist(data_dir=str(fake_fashion), n_train=100).prepare("fm", "dataset")
    assert data.X.shape == (100, 784) and data.X_test.shape == (50, 784)
    assert data.class_names[9] == "Ankle boot" and data.image_shape == (1, 28, 28)
    assert np.bincount(data.y).tolist() == [10] * 10
    images = read_idx(fake_fashion / "train-images-idx3-ubyte.gz")
    assert images.shape == (200, 28, 28)


def test_fashion_mnist_missing_says_how_to_get_it(tmp_path):
    with pytest.raises(ConfigError, match="apt-get install dataset-fashion-mnist"):
        FashionMnist(data_dir=str(tmp_path)).prepare("fm", "dataset")


def test_truncated_idx_is_a_clear_error(fake_fashion):
    path = fake_fashion / "train-images-idx3-ubyte.gz"
    raw = gzip.open(path).read()
    with gzip.open(path, "wb") as fh:
        fh.write(raw[:1000])
    with pytest.raises(ConfigError, match="truncated"):
        FashionMnist(data_dir=str(fake_fashion)).prepare("fm", "dataset")


@pytest.mark.slow
def test_real_fashion_mnist_when_installed():
    from pathlib import Path

    if not Path("/usr/share/datasets/fashion-mnist").is_dir():
        pytest.skip("apt-get install dataset-fashion-mnist")
    data = FashionMnist().prepare("fashion_mnist", "dataset")
    assert data.X.shape == (60000, 784) and data.X_test.shape == (10000, 784)
    assert np.bincount(data.y).tolist() == [6000] * 10
