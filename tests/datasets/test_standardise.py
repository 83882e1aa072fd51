"""A pool is checked, split, standardised and cast a block of rows at a time, with the bits of
numpy's whole-array float64 formulas, and without whole copies of the pool."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pandas as pd
import pytest

from palbench.datasets.base import ROWS_PER_BLOCK, Rows, finish
from palbench.datasets.files import NpzFile


def whole_array_formula(X_train, X_test):
    """What palbench computed before the blocks: numpy on whole float64 arrays."""
    X_train, X_test = X_train.astype(np.float64), X_test.astype(np.float64)
    mean, std = X_train.mean(axis=0), X_train.std(axis=0)
    std[std == 0] = 1.0
    return ((X_train - mean) / std).astype(np.float32), ((X_test - mean) / std).astype(np.float32)


@pytest.mark.parametrize("shape,dtype", [
    ((ROWS_PER_BLOCK * 2 + 17, 1), np.float64),  # one column: numpy sums it pairwise
    ((ROWS_PER_BLOCK * 2 + 17, 2), np.float32),
    ((ROWS_PER_BLOCK + 5, 7), np.float64),
    ((1797, 64), np.float64),
    ((3 * ROWS_PER_BLOCK, 3), np.int64),
])
def test_blocks_give_the_bits_of_the_whole_array_formula(shape, dtype):
    rng = np.random.default_rng(0)
    X = (rng.normal(size=shape) * 7 + 3).astype(dtype)
    X[:, 0] = 5  # a constant column: std 0, kept at 1
    train = np.sort(rng.choice(len(X), int(len(X) * 0.8), replace=False))
    test = np.setdiff1d(np.arange(len(X)), train)
    data = finish("x", Rows(X, train), np.zeros(len(train)), Rows(X, test),
                  np.zeros(len(test)), ("a",), standardize=True)
    want_train, want_test = whole_array_formula(X[train], X[test])
    assert data.X.dtype == np.float32
    assert np.array_equal(data.X, want_train) and np.array_equal(data.X_test, want_test)


def test_preparing_a_pool_makes_no_whole_copy_of_it(tmp_path):
    """A 300,000 x 32 float32 pool (38 MB): at most the pool as read, the prepared float32
    arrays and a few float64 blocks of rows; never a whole float64 copy (77 MB; the code
    before the blocks made 5 of them, and peaked at 2.5 GB on a 256 MB pool)."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300_000, 32)).astype(np.float32)
    np.savez(tmp_path / "pool.npz", X=X, y=rng.integers(0, 5, len(X)))
    del X
    tracemalloc.start()
    data = NpzFile(path=str(tmp_path / "pool.npz")).prepare("pool", "dataset")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    pool_bytes = 300_000 * 32 * 4
    assert data.X.nbytes + data.X_test.nbytes == pool_bytes
    block_bytes = ROWS_PER_BLOCK * 32 * 8
    assert peak < 2 * pool_bytes + 3 * block_bytes + 8e6, \
        f"peak {peak / 1e6:.0f} MB for a {pool_bytes / 1e6:.0f} MB pool"


@pytest.mark.parametrize("kind", ["npz", "csv"])
def test_a_pool_larger_than_memory_is_one_line_before_any_work(kind, tmp_path, capsys,
                                                              monkeypatch):
    import palbench.datasets.files as files
    from palbench.cli import main

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(5000, 64)).astype(np.float32), rng.integers(0, 3, 5000)
    if kind == "npz":
        np.savez(tmp_path / "pool.npz", X=X, y=y)
        table, machine = 'name = "npz"\npath = "pool.npz"', 400_000_000
    else:  # read as float64 by pandas, and copied once: 16 bytes a value
        frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(64)]).assign(label=y)
        frame.to_csv(tmp_path / "pool.csv", index=False)
        table, machine = 'name = "csv"\npath = "pool.csv"\nlabel_column = "label"', 503_000_000
    (tmp_path / "c.toml").write_text('[experiment]\nseeds = [0]\nbudgets = [10]\n'
                                     f'[dataset]\n{table}\n'
                                     '[strategy]\nname = "random"\n[learner]\nname = "sklearn"\n')
    monkeypatch.setattr(files, "physical_memory", lambda: machine)
    assert main(["run", str(tmp_path / "c.toml"), "--store", str(tmp_path / "s.sqlite")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "a pool of 5,000 x 64 features" in err, err
    assert f"this machine has {machine / 1e9:.1f} GB" in err
    assert not (tmp_path / "s.sqlite").exists()
    monkeypatch.setattr(files, "physical_memory", lambda: 2 * machine)  # room enough: it runs
    assert main(["run", str(tmp_path / "c.toml"), "--store", str(tmp_path / "s.sqlite"),
                 "--quiet"]) == 0
