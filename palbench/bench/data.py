"""Datasets: a frozen train/test pair of arrays plus the registry of dataset sources.

Every source returns raw (X, y); `prepare` then checks the arrays (finite, at least two classes),
splits them with a seeded stratified split, standardises the features with the training
statistics and fingerprints the result. Only oracles and evaluation may read the labels.
"""

from __future__ import annotations

import gzip
import hashlib
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.model_selection import train_test_split

from palbench.errors import ConfigError, check
from palbench.registry import Registry

DATASETS = Registry("datasets")

FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist"
FASHION_MNIST_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)


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

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    @property
    def n_pool(self) -> int:
        return len(self.y)


def fingerprint_arrays(*arrays: np.ndarray) -> str:
    digest = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        digest.update(f"{a.dtype.str}{a.shape}".encode())
        digest.update(a.tobytes())
    return digest.hexdigest()


def check_features(X: np.ndarray, field: str) -> np.ndarray:
    check(X.ndim == 2 and X.shape[0] > 0 and X.shape[1] > 0, field, X.shape,
          "features must be a non-empty 2-D array (samples x features)")
    if not np.issubdtype(X.dtype, np.number) or np.issubdtype(X.dtype, np.complexfloating):
        raise ConfigError(field, str(X.dtype), "features must be real numbers")
    X = X.astype(np.float64)
    bad = ~np.isfinite(X)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise ConfigError(field, float(X[row, col]),
                          f"features must be finite (first bad entry: row {row}, column {col})")
    check(np.abs(X).max() < 1e30, field, float(np.abs(X).max()), "features too large (>= 1e30)")
    return X


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
class DatasetSource:
    """Common parameters of every dataset: the seed of its split or subset, and scaling."""

    split_seed: int = 0
    standardize: bool = True

    def validate(self, where: str) -> None:
        pass


@dataclass(frozen=True, kw_only=True)
class SplitSource(DatasetSource):
    """A source without an official test set: a seeded stratified split makes one."""

    test_fraction: float = 0.25

    def validate(self, where: str) -> None:
        check(0.0 < self.test_fraction < 1.0, f"{where}.test_fraction", self.test_fraction,
              "must be between 0 and 1 (exclusive)")

    def load_raw(self, where: str) -> tuple[np.ndarray, np.ndarray, tuple[str, ...] | None]:
        raise NotImplementedError

    image_shape = None  # (channels, height, width) for image sources; a class attribute

    def split(self, X, y, where):
        counts = np.bincount(y)
        check(counts.min() >= 2, f"{where}.test_fraction", self.test_fraction,
              f"every class needs at least 2 samples to split; smallest has {counts.min()}")
        n_test = max(int(round(self.test_fraction * len(y))), len(counts))
        check(len(y) - n_test >= len(counts), f"{where}.test_fraction", self.test_fraction,
              f"leaves too few training samples ({len(y) - n_test}) for {len(counts)} classes")
        return train_test_split(X, y, test_size=n_test, stratify=y, random_state=self.split_seed)

    def prepare(self, name: str, where: str) -> Dataset:
        X, y, names = self.load_raw(where)
        X = check_features(np.asarray(X), f"{where}.X")
        codes, found_names = encode_labels(np.asarray(y), f"{where}.y")
        check(len(codes) == len(X), f"{where}.y", len(codes),
              f"label count differs from sample count ({len(X)})")
        names = names if names is not None else found_names
        if names is not found_names:  # numeric labels from a known source: keep the class order
            names = tuple(names[int(c)] for c in np.unique(y))
        X_train, X_test, y_train, y_test = self.split(X, codes, where)
        return finish(name, X_train, y_train, X_test, y_test, names, self.standardize,
                      self.image_shape)


def finish(name, X_train, y_train, X_test, y_test, class_names, standardize, image_shape=None):
    X_train = X_train.astype(np.float64)
    X_test = X_test.astype(np.float64)
    if standardize:
        mean = X_train.mean(axis=0)
        std = X_train.std(axis=0)
        std[std == 0] = 1.0
        X_train = (X_train - mean) / std
        X_test = (X_test - mean) / std
    arrays = [X_train.astype(np.float32), y_train.astype(np.int64),
              X_test.astype(np.float32), y_test.astype(np.int64)]
    return Dataset(name, *arrays, class_names=tuple(class_names), image_shape=image_shape,
                   fingerprint=fingerprint_arrays(*arrays))


@DATASETS.register("digits")
@dataclass(frozen=True, kw_only=True)
class Digits(SplitSource):
    """scikit-learn's 8x8 handwritten digits (1,797 samples, 10 classes)."""

    image_shape = (1, 8, 8)

    def load_raw(self, where):
        from sklearn.datasets import load_digits

        d = load_digits()
        return d.data, d.target, tuple(str(c) for c in d.target_names)


@DATASETS.register("blobs")
@dataclass(frozen=True, kw_only=True)
class Blobs(SplitSource):
    """Isotropic Gaussian clusters, one class per cluster (scikit-learn's make_blobs)."""

    n_samples: int = 600
    n_features: int = 2
    n_classes: int = 3
    cluster_std: float = 1.0
    seed: int = 0

    def validate(self, where):
        super().validate(where)
        check(self.n_classes >= 2, f"{where}.n_classes", self.n_classes, "must be at least 2")
        check(self.n_samples >= 4 * self.n_classes, f"{where}.n_samples", self.n_samples,
              f"must be at least 4 per class ({4 * self.n_classes})")
        check(self.n_features >= 1, f"{where}.n_features", self.n_features, "must be at least 1")
        check(self.cluster_std > 0, f"{where}.cluster_std", self.cluster_std, "must be positive")

    def load_raw(self, where):
        from sklearn.datasets import make_blobs

        X, y = make_blobs(n_samples=self.n_samples, n_features=self.n_features,
                          centers=self.n_classes, cluster_std=self.cluster_std,
                          random_state=self.seed)
        return X, y, None


@DATASETS.register("circles")
@dataclass(frozen=True, kw_only=True)
class Circles(SplitSource):
    """Concentric rings in 2-D, one class per ring, as in the PAL paper's toy experiments.

    Ring c has radius c + 1 and points get isotropic Gaussian noise of std `noise`, as in the
    paper's notebooks (rates.datasets.circles); classes are balanced. Features are not
    standardised by default, so that kernel widths read as in the paper.
    """

    n_samples: int = 600
    n_classes: int = 4
    noise: float = 0.1
    seed: int = 0
    standardize: bool = False

    def validate(self, where):
        super().validate(where)
        check(self.n_classes >= 2, f"{where}.n_classes", self.n_classes, "must be at least 2")
        check(self.n_samples >= 4 * self.n_classes, f"{where}.n_samples", self.n_samples,
              f"must be at least 4 per class ({4 * self.n_classes})")
        check(self.noise >= 0, f"{where}.noise", self.noise, "must not be negative")

    def load_raw(self, where):
        rng = np.random.default_rng(self.seed)
        y = np.arange(self.n_samples) % self.n_classes
        radius = y + 1.0
        theta = rng.uniform(0, 2 * np.pi, self.n_samples)
        X = np.c_[radius * np.cos(theta), radius * np.sin(theta)]
        X += rng.normal(0, self.noise, X.shape)
        return X, y, None


@DATASETS.register("csv")
@dataclass(frozen=True, kw_only=True)
class CsvFile(SplitSource):
    """A CSV file with a header row: numeric feature columns plus one label column."""

    path: str = ""
    label_column: str = ""
    hidden_params = ("path",)

    def validate(self, where):
        super().validate(where)
        check(bool(self.path), f"{where}.path", self.path, "a CSV path is required")
        check(bool(self.label_column), f"{where}.label_column", self.label_column,
              "the name of the label column is required")

    def load_raw(self, where):
        import pandas as pd

        path = Path(self.path)
        check(path.is_file(), f"{where}.path", self.path, "no such file")
        try:
            frame = pd.read_csv(path)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{where}.path", self.path,
                              f"not a readable CSV: {str(exc).splitlines()[0]}") from None
        if self.label_column not in frame.columns:
            from palbench.params import unknown_key_error

            raise unknown_key_error(f"{where}.label_column", self.label_column,
                                    self.label_column, [str(c) for c in frame.columns])
        check(len(frame) > 0, f"{where}.path", self.path, "the file has no data rows")
        y = frame[self.label_column]
        if y.isna().any():
            row = int(np.flatnonzero(y.isna().to_numpy())[0]) + 2  # 1-based, after the header
            raise ConfigError(f"{where}.label_column", self.label_column,
                              f"label missing in line {row}")
        features = frame.drop(columns=[self.label_column])
        bad = [c for c in features.columns if not pd.api.types.is_numeric_dtype(features[c])]
        if bad:
            raise ConfigError(f"{where}.path", self.path, f"column {bad[0]!r} is not numeric")
        check(features.shape[1] > 0, f"{where}.path", self.path, "no feature columns")
        return features.to_numpy(dtype=np.float64), y.to_numpy(), None

    def default_name(self) -> str:
        return Path(self.path).stem


@DATASETS.register("npz")
@dataclass(frozen=True, kw_only=True)
class NpzFile(SplitSource):
    """A NumPy .npz archive with arrays X (samples x features) and y (labels); no pickles."""

    path: str = ""
    hidden_params = ("path",)

    def validate(self, where):
        super().validate(where)
        check(bool(self.path), f"{where}.path", self.path, "an .npz path is required")

    def load_raw(self, where):
        path = Path(self.path)
        check(path.is_file(), f"{where}.path", self.path, "no such file")
        try:
            with np.load(path, allow_pickle=False) as archive:
                missing = [k for k in ("X", "y") if k not in archive.files]
                if missing:
                    raise ConfigError(f"{where}.path", self.path,
                                      f"archive lacks array {missing[0]!r}; has "
                                      f"{', '.join(archive.files) or 'none'}")
                X, y = archive["X"], archive["y"]
        except ConfigError:
            raise
        except (ValueError, OSError, EOFError) as exc:
            raise ConfigError(f"{where}.path", self.path,
                              f"not a readable .npz archive: {exc}") from None
        check(X.ndim >= 1 and len(X) > 0, f"{where}.path", self.path,
              f"array X holds no samples (shape {X.shape})")
        if X.ndim > 2:  # images and the like: one flat feature vector per sample
            X = X.reshape(len(X), -1)
        return X, y, None

    def default_name(self) -> str:
        return Path(self.path).stem


def read_idx(path: Path) -> np.ndarray:
    """Read one IDX file (the MNIST format), gzipped or not."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as fh:
        raw = fh.read()
    zero, dtype_code, ndim = struct.unpack(">HBB", raw[:4])
    if zero != 0 or dtype_code != 0x08:
        raise ValueError(f"{path} is not an unsigned-byte IDX file")
    shape = struct.unpack(f">{ndim}I", raw[4:4 + 4 * ndim])
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(shape)):
        raise ValueError(f"{path} is truncated: expected {int(np.prod(shape))} values")
    return data.reshape(shape)


@DATASETS.register("fashion_mnist")
@dataclass(frozen=True, kw_only=True)
class FashionMnist(DatasetSource):
    """Fashion-MNIST (Zalando): 60,000 training and 10,000 test images, 28x28, 10 classes.

    Read from IDX files in `data_dir` (Debian: apt-get install dataset-fashion-mnist). Uses the
    official train/test split; `n_train` / `n_test` take stratified subsets for faster runs.
    """

    data_dir: str = FASHION_MNIST_DIR
    n_train: int = 60000
    n_test: int = 10000
    hidden_params = ("data_dir",)

    FILES = {
        "X": "train-images-idx3-ubyte", "y": "train-labels-idx1-ubyte",
        "X_test": "t10k-images-idx3-ubyte", "y_test": "t10k-labels-idx1-ubyte",
    }

    def validate(self, where):
        super().validate(where)
        check(10 <= self.n_train <= 60000, f"{where}.n_train", self.n_train,
              "must be between 10 and 60000")
        check(10 <= self.n_test <= 10000, f"{where}.n_test", self.n_test,
              "must be between 10 and 10000")

    def _file(self, stem: str, where: str) -> Path:
        base = Path(self.data_dir)
        for candidate in (base / f"{stem}.gz", base / stem):
            if candidate.is_file():
                return candidate
        raise ConfigError(f"{where}.data_dir", self.data_dir,
                          f"Fashion-MNIST file {stem}.gz not found; install it with "
                          "'apt-get install dataset-fashion-mnist' or point data_dir at the "
                          "IDX files")

    def prepare(self, name: str, where: str) -> Dataset:
        arrays = {}
        for key, stem in self.FILES.items():
            path = self._file(stem, where)
            try:
                arrays[key] = read_idx(path)
            except (ValueError, OSError, EOFError, struct.error) as exc:
                raise ConfigError(f"{where}.data_dir", self.data_dir,
                                  f"cannot read {path.name}: {exc}") from None
        X = arrays["X"].reshape(len(arrays["X"]), -1)
        X_test = arrays["X_test"].reshape(len(arrays["X_test"]), -1)
        y, y_test = arrays["y"].astype(np.int64), arrays["y_test"].astype(np.int64)
        X, y = _stratified_subset(X, y, self.n_train, self.split_seed)
        X_test, y_test = _stratified_subset(X_test, y_test, self.n_test, self.split_seed)
        names = FASHION_MNIST_CLASSES if y.max() < 10 else tuple(map(str, range(y.max() + 1)))
        return finish(name, X / 255.0, y, X_test / 255.0, y_test, names, self.standardize,
                      image_shape=(1, 28, 28))


def _stratified_subset(X, y, n, seed):
    if n >= len(y):
        return X, y
    keep, _ = train_test_split(np.arange(len(y)), train_size=n, stratify=y, random_state=seed)
    keep = np.sort(keep)
    return X[keep], y[keep]
