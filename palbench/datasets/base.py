"""The Dataset record, the checks every source passes, and the registry of dataset sources.

Every source returns raw (X, y); `prepare` then checks the arrays (finite, at least two classes),
splits them with a seeded stratified split, standardises the features with the training
statistics and fingerprints the result. Only oracles and evaluation may read the labels.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from sklearn.model_selection import train_test_split

from palbench.errors import ConfigError, check
from palbench.fields import param
from palbench.protocol import Component, name_of
from palbench.registry import Registry


@dataclass(frozen=True, eq=False)
class Dataset:
    """Standardised training pool and held-out test set, with a sha256 fingerprint of the arrays."""

    name: str
    X: np.ndarray
    y: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    class_names: tuple[str, ...]
    image_shape: tuple[int, ...] | None = None
    fingerprint: str = ""
    flip_invariant: bool = False  # a mirrored image keeps its class (clothes yes, digits no)
    # a second view of the same samples, row for row (a user's file of embeddings): what
    # strategies with space = "features" measure distances in; None: the inputs are the features
    features: np.ndarray | None = None
    features_test: np.ndarray | None = None
    # the raw inputs of the pool when X holds the features (a learner with input = "features")
    inputs: np.ndarray | None = None
    # the images' shape is part of the data (sources whose shape comes from a file)
    shape_in_fingerprint: bool = False

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    @property
    def n_pool(self) -> int:
        return len(self.y)

    def fingerprinted(self) -> list[np.ndarray]:
        """The arrays `fingerprint` is the sha256 of (`fingerprint_arrays`): the pool (as
        images when their shape is part of the data), its labels, the test set, its labels,
        and the features when given."""
        pool = self.X
        if self.shape_in_fingerprint and self.image_shape:
            pool = pool.reshape(len(pool), *self.image_shape)
        views = [] if self.features is None else [self.features, self.features_test]
        return [pool, self.y, self.X_test, self.y_test, *views]

    def trained_on(self, view: str) -> Dataset:
        """The record a learner with `input = view` runs on: itself for "inputs"; for
        "features", the features in X and X_test (no image shape: they are vectors) and the
        inputs kept for space = "inputs", under a fingerprint of its own."""
        if view == "inputs":
            return self
        if self.features is None:
            raise ValueError(f"dataset {self.name!r} has no features")
        return dataclasses.replace(
            self, X=self.features, X_test=self.features_test, image_shape=None,
            flip_invariant=False, inputs=self.X,
            fingerprint=hashlib.sha256(f"{self.fingerprint}:features".encode()).hexdigest())


def fingerprint_arrays(*arrays: np.ndarray) -> str:
    """sha256 of the arrays' dtypes, shapes and bytes (hashed in place, never copied)."""
    digest = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        digest.update(f"{a.dtype.str}{a.shape}".encode())
        digest.update(memoryview(a).cast("B"))
    return digest.hexdigest()


ROWS_PER_BLOCK = 65536  # rows a dataset is checked and standardised at a time


def check_features(X: np.ndarray, field: str) -> np.ndarray:
    """X itself once its values are real, finite and below 1e30 (checked a block of rows at a
    time: no whole copy of the pool)."""
    check(X.ndim == 2 and X.shape[0] > 0 and X.shape[1] > 0, field, X.shape,
          "features must be a non-empty 2-D array (samples x features)")
    if not np.issubdtype(X.dtype, np.number) or np.issubdtype(X.dtype, np.complexfloating):
        raise ConfigError(field, str(X.dtype), "features must be real numbers")
    for start in range(0, len(X), ROWS_PER_BLOCK):
        block = X[start:start + ROWS_PER_BLOCK].astype(np.float64)
        bad = ~np.isfinite(block)
        if bad.any():
            row, col = np.argwhere(bad)[0]
            raise ConfigError(field, float(block[row, col]), f"features must be finite "
                              f"(first bad entry: row {start + row}, column {col})")
        largest = float(np.abs(block).max())
        check(largest < 1e30, field, largest, "features too large (>= 1e30)")
    return X


@dataclass(frozen=True)
class Rows:
    """Some rows of a feature array (all of them when `index` is None), read a block at a
    time as float64: a pool is split, standardised and cast without whole copies."""

    source: np.ndarray
    index: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.source) if self.index is None else len(self.index)

    def block(self, start: int, stop: int) -> np.ndarray:
        rows = self.source[start:stop] if self.index is None else \
            self.source[self.index[start:stop]]
        return rows.astype(np.float64)

    def moments(self) -> tuple[np.ndarray, np.ndarray]:
        """Each column's mean and standard deviation, bit for bit what numpy's `mean(axis=0)`
        and `std(axis=0)` give on the whole float64 array: a column sum accumulates row after
        row, so carrying the running sum into the next block keeps numpy's order (one column
        is summed pairwise by numpy: it is read whole, 8 bytes a sample). Pinned by
        tests/datasets/test_standardise.py."""
        n = len(self)
        if self.source.shape[1] == 1 or n <= ROWS_PER_BLOCK:
            whole = self.block(0, n)
            return whole.mean(axis=0), whole.std(axis=0)
        mean = self._column_sum(lambda b: b) / n
        return mean, np.sqrt(self._column_sum(lambda b: np.square(np.subtract(b, mean, out=b),
                                                                    out=b)) / n)

    def _column_sum(self, of) -> np.ndarray:
        """Column sums of of(block) in numpy's order: the running sum goes into each block's
        first row, which the block's own row-after-row sum then carries on."""
        total = None
        for start in range(0, len(self), ROWS_PER_BLOCK):
            values = of(self.block(start, start + ROWS_PER_BLOCK))
            if total is not None:
                values[0] = total + values[0]
            total = np.add.reduce(values, axis=0)
        return total

    def float32(self, mean: np.ndarray | None, std: np.ndarray | None) -> np.ndarray:
        """The rows as float32, standardised in float64 first when mean and std are given."""
        out = np.empty((len(self), self.source.shape[1]), dtype=np.float32)
        for start in range(0, len(self), ROWS_PER_BLOCK):
            block = self.block(start, start + ROWS_PER_BLOCK)  # a float64 copy: ours
            if mean is not None:
                block -= mean
                block /= std
            out[start:start + len(block)] = block
        return out


SEED_LIMIT = 2**32  # seeds handed to scikit-learn's random_state: 0 to 2**32 - 1


IMBALANCE_STREAM = 0x1B  # the spawn key of the imbalance profile's draws from the split seed
BYTES_PER_VALUE = 40  # a generated float64 value and its copies while the dataset is prepared


def physical_memory() -> int:
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):  # not POSIX: assume a laptop's 8 GiB
        return 8 << 30


def check_memory(n_values: int, field: str, value: object) -> None:
    """A generated dataset must fit in half of this machine's memory: 10^11 samples is one
    clear line, not an attempt to allocate terabytes."""
    need, have = n_values * BYTES_PER_VALUE, physical_memory()
    check(need <= have // 2, field, value,
          f"would need about {need / 2**30:,.1f} GiB to generate and prepare; this machine has "
          f"{have / 2**30:,.1f} GiB")


def encode_labels(y: np.ndarray, field: str) -> tuple[np.ndarray, tuple[str, ...]]:
    check(y.ndim == 1, field, y.shape, "labels must be a 1-D array")
    if y.dtype.kind == "f":
        check(bool(np.isfinite(y).all()), field, "NaN", "labels must not be missing")
        if np.all(y == np.round(y)):
            y = y.astype(np.int64)
    if y.dtype.kind == "O":
        y = y.astype(str)
    classes, codes = np.unique(y, return_inverse=True)
    check(len(classes) >= 2, field, [str(c) for c in classes], "need at least two classes")
    return codes.astype(np.int64), tuple(str(c) for c in classes)


@dataclass(frozen=True, kw_only=True)
class DatasetSource(Component):
    """Base of the dataset sources: a frozen dataclass of what to load and how to split it,
    whose `prepare` returns the Dataset record. Common parameters: the seed of its split or
    subset, and scaling. `palbench.testing.check_dataset` checks a subclass."""

    kind: ClassVar[str] = "dataset"
    # "run": a split of its own for every run seed
    split_seed: int | str = param(0, ge=0, lt=SEED_LIMIT, choices=("run",))
    standardize: bool = True  # with the training part's statistics (each run's own split)
    # largest / smallest class of the pool; 1: as the source is
    imbalance: float = param(1.0, late=True, ge=1,
                             note="the ratio of the largest class to the smallest")
    # true: the same profile on the test set too; false: the test set as the source is
    imbalance_test: bool = param(False, late=True)

    def prepare(self, name: str, where: str) -> Dataset:
        """Load, check, split, scale and fingerprint the data (see `finish`); bad data is a
        ConfigError naming `where`."""
        raise NotImplementedError(f"{type(self).__name__} must define prepare(name, where)")

    def display_name(self) -> str:
        """The dataset's label in results (a file's stem, else the source's name)."""
        return name_of(type(self))

    def imbalanced(self, X, y, X_test, y_test, where: str):
        """The pool (and with imbalance_test the test set) cut to a long-tail profile: class
        sizes fall geometrically from the largest to largest / imbalance, the class order and
        the samples kept drawn from the split seed. A no-op at imbalance = 1."""
        if self.imbalance == 1.0:
            return X, y, X_test, y_test
        rng = np.random.default_rng([int(self.split_seed), IMBALANCE_STREAM])
        n_classes = int(max(y.max(), y_test.max())) + 1
        order = rng.permutation(n_classes)  # which class gets the k-th largest share
        shares = self.imbalance ** (-np.arange(n_classes) / max(1, n_classes - 1))
        parts = []
        for X_part, y_part, name in ((X, y, "pool"), (X_test, y_test, "test set")):
            if name == "test set" and not self.imbalance_test:
                parts += [X_part, y_part]
                continue
            counts = np.bincount(y_part, minlength=n_classes)
            top = counts.min() if counts.min() > 0 else 0
            keep = []
            for rank, c in enumerate(order):
                n = int(np.floor(top * shares[rank] + 1e-9))
                check(n >= 1, f"{where}.imbalance", self.imbalance,
                      f"leaves class {c} of the {name} empty (its smallest class has {top} "
                      f"samples, the profile keeps {top * shares[rank]:.2f})")
                keep.append(np.sort(rng.choice(np.flatnonzero(y_part == c), size=n,
                                               replace=False)))
            rows = np.sort(np.concatenate(keep))
            parts += [X_part[rows], y_part[rows]]
        return tuple(parts)

    def reseeded(self, seed: int) -> DatasetSource | None:
        """This source drawn anew from `seed` (data_seed = "run"), or None when it is not
        generated and cannot be."""
        return None

    def resplit(self, seed: int) -> DatasetSource | None:
        """This source split with `seed` (split_seed = "run"), or None when its test set is
        given (an official split) and cannot be redrawn."""
        return None


DATASETS = Registry.for_base(DatasetSource)


@dataclass(frozen=True, kw_only=True)
class TwoViewSource(DatasetSource):
    """A source whose samples may carry a second view beside their inputs: a user's file of
    features, row for row, or a pretrained encoder's output on the inputs (`features_of`)."""

    # a file of the samples' features, row for row (.npy, .npz, .csv; its data are
    # fingerprinted, not its path): what space = "features" and input = "features" use
    features: str = param("", results=False)
    # standardise the features too (with the training part's statistics); false: as given
    features_standardize: bool = param(False, late=True)
    # a pretrained encoder ([dataset.encoder]: its name and parameters) whose output on the
    # inputs is the features view, cached on disk by data and encoder identity
    encoder: dict | None = param(None, late=True, component="encoder")

    def features_of(self, X: np.ndarray, ids, where: str,
                    image_shape: tuple[int, ...] | None = None) -> np.ndarray | None:
        """The second view of the samples, row for row with X (images of `image_shape`):
        the encoder's output on X, or read from the `features` file (None without either).
        The one place a source's features come from."""
        if self.encoder is not None:
            field = f"{where}.encoder"
            check(not self.features, field, self.encoder.get("name"), "the features come "
                  "from a file (features) or from an encoder, not both")
            encoder = self.nested_components()["encoder"]
            F = encoder.features(X, image_shape, fingerprint_arrays(X), field)
            check(F.ndim == 2 and len(F) == len(X), field, self.encoder.get("name"),
                  f"gave features of shape {list(F.shape)} for {len(X)} samples")
            return check_features(F, field)
        return self.features_file(len(X), ids, where)

    def features_file(self, n: int, ids, where: str) -> np.ndarray | None:
        """The `features` file's rows for n samples, checked (None without a file)."""
        if not self.features:
            return None
        from palbench.datasets.features import read_features

        field = f"{where}.features"
        return check_features(read_features(self.features, n, ids, field), field)


@dataclass(frozen=True, kw_only=True)
class SplitSource(TwoViewSource):
    """A source without an official test set: a seeded split makes one, stratified unless
    `stratify = false` (a plain permutation, as Zhan et al. and Lu et al. split). Its features
    view, when given, is split with the samples."""

    # share of the data held out as the test set
    test_fraction: float = param(0.25, gt=0, lt=1)
    # split stratified by class; false: a plain permutation
    stratify: bool = param(True, late=True)

    def load_raw(self, where: str) -> tuple[np.ndarray, np.ndarray, tuple[str, ...] | None]:
        """(X, y, class names or None): X flat (samples x features) or images of shape
        (n, H, W) or (n, H, W, C); y the labels, any values (encoded to 0..C-1 in sorted
        order); the third value names the classes in that order (None: the labels' own
        values, as text). The harness splits, fingerprints and checks the result. E.g.:

            def load_raw(self, where):
                frame = pandas.read_csv(self.path)
                return frame.drop(columns="y").to_numpy(), frame["y"].to_numpy(), None
        """
        raise NotImplementedError

    image_shape: ClassVar[tuple[int, ...] | None] = None  # (channels, height, width) of images
    # the images' shape enters the fingerprint: the same bytes read as other images are other
    # data (sources whose shape comes from a file; the built-ins' shapes come with their names)
    shape_in_fingerprint: ClassVar[bool] = False

    def resplit(self, seed: int) -> SplitSource:
        return dataclasses.replace(self, split_seed=seed)

    def split(self, X, y, where):
        check(not isinstance(self.split_seed, str), f"{where}.split_seed", self.split_seed,
              'is drawn per run seed; prepare the run\'s own source (resplit(seed))')
        counts = np.bincount(y)
        check(counts.min() >= 2, f"{where}.test_fraction", self.test_fraction,
              f"every class needs at least 2 samples to split; smallest has {counts.min()}")
        n_test = max(int(round(self.test_fraction * len(y))), len(counts))
        check(len(y) - n_test >= len(counts), f"{where}.test_fraction", self.test_fraction,
              f"leaves too few training samples ({len(y) - n_test}) for {len(counts)} classes")
        return train_test_split(X, y, test_size=n_test, stratify=y if self.stratify else None,
                                random_state=self.split_seed)

    def prepare(self, name: str, where: str) -> Dataset:
        X, y, names = self.load_raw(where)
        X, image_shape = image_rows(np.asarray(X), self.image_shape or None,
                                    f"{where}.image_shape")
        X = check_features(X, f"{where}.X")
        codes, found_names = encode_labels(np.asarray(y), f"{where}.y")
        check(len(codes) == len(X), f"{where}.y", len(codes),
              f"label count differs from sample count ({len(X)})")
        names = names if names is not None else found_names
        if names is not found_names:  # numeric labels from a known source: keep the class order
            names = tuple(names[int(c)] for c in np.unique(y))
        # split and cut the row numbers; the rows are read once, by finish
        train, test, y_train, y_test = self.split(np.arange(len(codes)), codes, where)
        train, y_train, test, y_test = self.imbalanced(train, y_train, test, y_test, where)
        return self.finish_rows(name, X, (train, y_train, test, y_test), names, image_shape,
                                where)

    def finish_rows(self, name, X, rows, class_names, image_shape, where, ids=None) -> Dataset:
        """The Dataset record of X's rows `rows` = (train, y_train, test, y_test), with the
        features cut to the same rows (`ids`: each sample's name, for a file matched by id)."""
        train, y_train, test, y_test = rows
        F = self.features_of(X, ids, where, image_shape)
        views = None if F is None else (Rows(F, train), Rows(F, test))
        return finish(name, Rows(X, train), y_train, Rows(X, test), y_test, class_names,
                      self.standardize, image_shape, features=views,
                      features_standardize=self.features_standardize,
                      shape_in_fingerprint=self.shape_in_fingerprint)


def image_rows(X: np.ndarray, declared: tuple[int, ...] | None,
               field: str) -> tuple[np.ndarray, tuple[int, ...] | None]:
    """Flat rows of X and the (channels, height, width) of its images: X of shape (n, H, W)
    or (n, H, W, C) (channels last, as image files hold them) is images, flattened channel
    first as pal's augmentations and CNN encoders read them; a flat X is images when
    `declared` gives their shape."""
    check(X.ndim <= 4, field, list(X.shape), "X must be (n, features), (n, H, W) or "
          "(n, H, W, C)")
    if X.ndim in (3, 4):
        images = X[:, None] if X.ndim == 3 else X.transpose(0, 3, 1, 2)
        shape = tuple(int(d) for d in images.shape[1:])
        check(not declared or tuple(declared) == shape, field, list(declared or ()),
              f"X holds images of (channels, height, width) {list(shape)}")
        return np.ascontiguousarray(images).reshape(len(X), -1), shape
    if not declared:
        return X, None
    declared = tuple(int(d) for d in declared)
    check(len(declared) == 3, field, list(declared), "must be [channels, height, width]")
    check(X.ndim == 2 and int(np.prod(declared)) == X.shape[1], field, list(declared),
          f"describes {int(np.prod(declared))} values a sample; X has "
          f"{X.shape[1] if X.ndim == 2 else 1}")
    return X, declared


def finish(name, X_train, y_train, X_test, y_test, class_names, standardize, image_shape=None,
           flip_invariant=False, features=None, features_standardize=False,
           shape_in_fingerprint=False):
    """The Dataset record: inputs as float32, standardised in float64 with the training
    part's statistics (X_train, X_test: arrays or Rows, read a block at a time); `features`
    (train, test), when given, the same way under `features_standardize`; the fingerprint
    of `Dataset.fingerprinted`."""
    arrays = scaled(X_train, X_test, standardize)
    arrays[1:1] = [np.asarray(y_train).astype(np.int64)]
    arrays.append(np.asarray(y_test).astype(np.int64))
    views = scaled(*features, features_standardize) if features is not None else [None, None]
    data = Dataset(name, *arrays, class_names=tuple(class_names), image_shape=image_shape,
                   flip_invariant=flip_invariant, features=views[0], features_test=views[1],
                   shape_in_fingerprint=shape_in_fingerprint)
    return dataclasses.replace(data, fingerprint=fingerprint_arrays(*data.fingerprinted()))


def scaled(X_train, X_test, standardize: bool) -> list[np.ndarray]:
    """[train, test] as float32, standardised with the training part's statistics."""
    train, test = (x if isinstance(x, Rows) else Rows(np.asarray(x)) for x in (X_train, X_test))
    mean = std = None
    if standardize:
        mean, std = train.moments()
        std[std == 0] = 1.0
    return [train.float32(mean, std), test.float32(mean, std)]
