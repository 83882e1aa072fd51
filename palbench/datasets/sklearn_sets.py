"""Data sets that ship with scikit-learn (no download)."""

from __future__ import annotations

from dataclasses import dataclass

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
