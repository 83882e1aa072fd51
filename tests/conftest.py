"""Shared fixtures: small real datasets and a helper to write configs."""

from __future__ import annotations

import os

# Ray reads these when first imported: keep any local cluster on loopback, without telemetry.
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

import textwrap  # noqa: E402
from pathlib import Path

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from palbench.datasets.sklearn_sets import Digits  # noqa: E402
from palbench.datasets.synthetic import Blobs  # noqa: E402


@pytest.fixture(scope="session")
def blobs():
    return Blobs(n_samples=300, n_features=4, n_classes=3, cluster_std=1.5).prepare(
        "blobs", "dataset")


@pytest.fixture(scope="session")
def digits():
    return Digits().prepare("digits", "dataset")


@pytest.fixture
def write_config(tmp_path):
    """write_config(text) -> path of a TOML file holding the dedented text."""

    def write(text: str, name: str = "config.toml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    return write


@pytest.fixture
def rng():
    return np.random.default_rng(0)


SMALL_CONFIG = """
[experiment]
name = "small"
seeds = [0, 1]
budgets = [6, 12, 24]
batch_size = 3
[dataset]
name = "blobs"
n_samples = 240
n_features = 4
n_classes = 3
[[strategy]]
name = "random"
[[strategy]]
name = "margin"
[oracle]
name = "noisy_label"
noise = 0.1
[learner]
name = "sklearn"
estimator = "sklearn.linear_model.LogisticRegression"
params = { max_iter = 500 }
"""


@pytest.fixture(scope="session")
def circles_tiny():
    from palbench.datasets.synthetic import Circles

    return Circles(n_samples=32, n_classes=4).prepare("circles", "dataset")
