"""Data sets that ship with scikit-learn (no download)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from palbench.datasets.base import DATASETS, SplitSource


@DATASETS.register("digits")
@dataclass(frozen=True, kw_only=True)
class Digits(SplitSource):
    """scikit-learn's 8x8 handwritten digits (1,797 samples, 10 classes)."""

    image_shape = (1, 8, 8)

    def load_raw(self, where):
        from sklearn.datasets import load_digits

        d = load_digits()
        return d.data, d.target, tuple(str(c) for c in d.target_names)


@dataclass(frozen=True, kw_only=True)
class BundledTable(SplitSource):
    """A tabular set bundled with scikit-learn: `loader` names its sklearn.datasets function."""

    loader: ClassVar[str] = ""

    def load_raw(self, where):
        import sklearn.datasets

        d = getattr(sklearn.datasets, self.loader)()
        return d.data, d.target, tuple(str(c) for c in d.target_names)


@DATASETS.register("wine")
@dataclass(frozen=True, kw_only=True)
class Wine(BundledTable):
    """scikit-learn's wine recognition set (178 samples, 13 features, 3 classes)."""

    loader = "load_wine"


@DATASETS.register("breast_cancer")
@dataclass(frozen=True, kw_only=True)
class BreastCancer(BundledTable):
    """scikit-learn's Wisconsin breast cancer set (569 samples, 30 features, 2 classes)."""

    loader = "load_breast_cancer"


@DATASETS.register("iris")
@dataclass(frozen=True, kw_only=True)
class Iris(BundledTable):
    """scikit-learn's iris set (150 samples, 4 features, 3 classes)."""

    loader = "load_iris"
