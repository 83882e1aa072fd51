"""Generated data sets: Gaussian blobs and the PAL paper's concentric circles."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from palbench.datasets.base import DATASETS, SplitSource, check_memory, check_seed
from palbench.errors import check


@dataclass(frozen=True, kw_only=True)
class GeneratedSource(SplitSource):
    """What every generator shares: samples, classes and the seed that draws them, which
    `data_seed = "run"` redraws for every run seed."""

    n_samples: int = 600  # samples generated (pool and test together)
    n_classes: int = 3  # classes generated
    seed: int = 0  # seed of the generator (data_seed = "run" replaces it per run)

    def validate(self, where):
        super().validate(where)
        check_seed(self.seed, f"{where}.seed")
        check(self.n_classes >= 2, f"{where}.n_classes", self.n_classes, "must be at least 2")
        check(self.n_samples >= 4 * self.n_classes, f"{where}.n_samples", self.n_samples,
              f"must be at least 4 per class ({4 * self.n_classes})")

    def reseeded(self, seed: int) -> GeneratedSource:
        return replace(self, seed=seed)


@DATASETS.register("blobs")
@dataclass(frozen=True, kw_only=True)
class Blobs(GeneratedSource):
    """Isotropic Gaussian clusters, one class per cluster (scikit-learn's make_blobs)."""

    n_features: int = 2  # features of each blob sample
    cluster_std: float = 1.0  # standard deviation of each blob

    def validate(self, where):
        super().validate(where)
        check(self.n_features >= 1, f"{where}.n_features", self.n_features, "must be at least 1")
        check(self.cluster_std > 0, f"{where}.cluster_std", self.cluster_std, "must be positive")
        larger = "n_features" if self.n_features > self.n_samples else "n_samples"
        check_memory(self.n_samples * (self.n_features + 1), f"{where}.{larger}",
                     getattr(self, larger))

    def load_raw(self, where):
        from sklearn.datasets import make_blobs

        X, y = make_blobs(n_samples=self.n_samples, n_features=self.n_features,
                          centers=self.n_classes, cluster_std=self.cluster_std,
                          random_state=self.seed)
        return X, y, None


@DATASETS.register("circles")
@dataclass(frozen=True, kw_only=True)
class Circles(GeneratedSource):
    """Concentric rings in 2-D, one class per ring, as in the PAL paper's toy experiments.

    Ring c has radius c + 1 and points get isotropic Gaussian noise of std `noise`, as in the
    paper's notebooks (rates.datasets.circles); classes are balanced. Features are not
    standardised by default, so that kernel widths read as in the paper.
    """

    n_classes: int = 4  # rings, one class each (radii 1..n_classes)
    noise: float = 0.1  # standard deviation of the isotropic Gaussian noise on each point
    standardize: bool = False

    def validate(self, where):
        super().validate(where)
        check(self.noise >= 0, f"{where}.noise", self.noise, "must not be negative")
        check_memory(self.n_samples * 3, f"{where}.n_samples", self.n_samples)

    def load_raw(self, where):
        rng = np.random.default_rng(self.seed)
        y = np.arange(self.n_samples) % self.n_classes
        radius = y + 1.0
        theta = rng.uniform(0, 2 * np.pi, self.n_samples)
        X = np.c_[radius * np.cos(theta), radius * np.sin(theta)]
        X += rng.normal(0, self.noise, X.shape)
        return X, y, None
