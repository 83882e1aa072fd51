"""Fashion-MNIST from its IDX files (Debian: apt-get install dataset-fashion-mnist)."""

from __future__ import annotations

import gzip
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.model_selection import train_test_split

from palbench.datasets.base import DATASETS, Dataset, TwoViewSource, finish
from palbench.errors import ConfigError
from palbench.fields import param

FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist"
IMAGE_SHAPE = (1, 28, 28)  # grey 28x28 images
FASHION_MNIST_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)


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
class FashionMnist(TwoViewSource):
    """Fashion-MNIST (Zalando): 60,000 training and 10,000 test images, 28x28, 10 classes.

    Read from IDX files in `data_dir` (Debian: apt-get install dataset-fashion-mnist). Uses the
    official train/test split; `n_train` / `n_test` take stratified subsets for faster runs.
    A features file covers all 70,000 images (training, then test, as the IDX files hold
    them); an encoder runs on the images kept.
    """
    examples = ({"n_train": 500, "n_test": 100},)

    # the folder of the IDX files (the data are fingerprinted, not the path)
    data_dir: str = param(FASHION_MNIST_DIR, results=False)
    # training images kept (a stratified subset below 60,000)
    n_train: int = param(60000, ge=10, le=60000)
    # test images kept (a stratified subset below 10,000)
    n_test: int = param(10000, ge=10, le=10000)

    FILES = {
        "X": "train-images-idx3-ubyte", "y": "train-labels-idx1-ubyte",
        "X_test": "t10k-images-idx3-ubyte", "y_test": "t10k-labels-idx1-ubyte",
    }

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
        labels, labels_test = arrays["y"].astype(np.int64), arrays["y_test"].astype(np.int64)
        train = kept_rows(labels, self.n_train, self.split_seed)
        test = kept_rows(labels_test, self.n_test, self.split_seed)
        train, y, test, y_test = self.imbalanced(train, labels[train], test, labels_test[test],
                                                 where)
        X = arrays["X"][train].reshape(len(train), -1) / 255.0
        X_test = arrays["X_test"][test].reshape(len(test), -1) / 255.0
        names = FASHION_MNIST_CLASSES if y.max() < 10 else tuple(map(str, range(y.max() + 1)))
        views = self.views(X, X_test, train, test + len(labels),
                           len(labels) + len(labels_test), where)
        return finish(name, X, y, X_test, y_test, names, self.standardize,
                      image_shape=IMAGE_SHAPE, flip_invariant=True, features=views,
                      features_standardize=self.features_standardize)

    def views(self, X, X_test, train, test, n_all: int, where: str):
        """The features view of the kept images, (pool, test set) or None: an encoder's output
        on them, or the kept rows of a features file that covers the whole data set (its
        60,000 training images, then its 10,000 test images, in the IDX files' order), so one
        file serves every n_train, n_test and imbalance."""
        if self.encoder is not None:
            F = self.features_of(np.concatenate([X, X_test]), None, where, IMAGE_SHAPE)
            return F[:len(X)], F[len(X):]
        F = self.features_file(n_all, None, where)
        return None if F is None else (F[train], F[test])


def kept_rows(y: np.ndarray, n: int, seed: int) -> np.ndarray:
    """The rows of a stratified subset of n (all rows when n covers them), in file order."""
    if n >= len(y):
        return np.arange(len(y))
    keep, _ = train_test_split(np.arange(len(y)), train_size=n, stratify=y, random_state=seed)
    return np.sort(keep)
