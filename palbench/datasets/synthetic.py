"""Generated data sets: Gaussian blobs and the PAL paper's concentric circles."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from palbench.datasets.base import DATASETS, SEED_LIMIT, SplitSource, check_memory
from palbench.errors import check
from palbench.fields import param


@dataclass(frozen=True, kw_only=True)
class GeneratedSource(SplitSource):
    """What every generator shares: samples, classes and the seed that draws them, which
    `data_seed = "run"` redraws for every run seed."""

    n_samples: int = 600  # samples generated (pool and test together)
    n_classes: int = param(3, ge=2)  # classes generated
    # seed of the generator (data_seed = "run" replaces it per run)
    seed: int = param(0, ge=0, lt=SEED_LIMIT)

    def validate(self, where):
        super().validate(where)
        check(self.n_samples >= 4 * self.n_classes, f"{where}.n_samples", self.n_samples,
              f"must be at least 4 per class ({4 * self.n_classes})")

    def reseeded(self, seed: int) -> GeneratedSource:
        return replace(self, seed=seed)


@DATASETS.register("blobs")
@dataclass(frozen=True, kw_only=True)
class Blobs(GeneratedSource):
    """Isotropic Gaussian clusters, one class per cluster (scikit-learn's make_blobs)."""
    examples = ({"n_samples": 90},)

    n_features: int = param(2, ge=1)  # features of each blob sample
    cluster_std: float = param(1.0, gt=0)  # standard deviation of each blob

    def validate(self, where):
        super().validate(where)
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
    examples = ({"n_samples": 80},)

    n_classes: int = param(4, ge=2)  # rings, one class each (radii 1..n_classes)
    # standard deviation of the isotropic Gaussian noise on each point
    noise: float = param(0.1, ge=0)
    standardize: bool = False

    def validate(self, where):
        super().validate(where)
        check_memory(self.n_samples * 3, f"{where}.n_samples", self.n_samples)

    def load_raw(self, where):
        rng = np.random.default_rng(self.seed)
        y = np.arange(self.n_samples) % self.n_classes
        radius = y + 1.0
        theta = rng.uniform(0, 2 * np.pi, self.n_samples)
        X = np.c_[radius * np.cos(theta), radius * np.sin(theta)]
        X += rng.normal(0, self.noise, X.shape)
        return X, y, None
