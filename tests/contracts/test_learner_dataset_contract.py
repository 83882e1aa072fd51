"""Every registered learner and dataset source passes palbench.testing's checks (small
parameters: the contract, not the accuracy, is what is checked)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from palbench.datasets import DATASETS
from palbench.learners import LEARNERS
from palbench.testing import check_dataset, check_learner

LEARNER_PARAMS = {
    "mlp": {"hidden": [16], "epochs": 5, "min_steps": 10, "dropout": 0.2, "device": "cpu"},
    "pal": {"hidden": [16], "dim": 8, "epochs": 2, "min_steps": 2, "device": "cpu"},
    "kernel_pal": {"sigma": 1.0},
    "sklearn": {"params": {"max_iter": 300}},
}


def test_every_registered_learner_has_check_parameters():
    assert sorted(LEARNER_PARAMS) == LEARNERS.names()


@pytest.mark.parametrize("name", sorted(LEARNER_PARAMS))
def test_every_registered_learner_keeps_the_contract(name, blobs):
    check_learner(LEARNERS.get(name), params=LEARNER_PARAMS[name], data=blobs)


@pytest.fixture
def dataset_params(tmp_path):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(60, 3)), np.arange(60) % 3
    np.savez(tmp_path / "set.npz", X=X, y=y)
    (tmp_path / "set.csv").write_text(
        "a,b,label\n" + "".join(f"{u},{v},{c}\n" for (u, v, _), c in zip(X, y)))
    for i, (x, c) in enumerate(zip(X, y)):  # 60 images of 4x4 pixels in 3 class folders
        folder = tmp_path / "images" / f"class{c}"
        folder.mkdir(parents=True, exist_ok=True)
        pixels = np.clip(np.resize(x, (4, 4)) * 40 + 128, 0, 255).astype(np.uint8)
        Image.fromarray(pixels).save(folder / f"{i:02d}.png")
    return {"digits": {}, "wine": {}, "breast_cancer": {}, "iris": {},
            "blobs": {"n_samples": 90}, "circles": {"n_samples": 80},
            "csv": {"path": str(tmp_path / "set.csv"), "label_column": "label"},
            "npz": {"path": str(tmp_path / "set.npz")},
            "imagefolder": {"path": str(tmp_path / "images"), "channels": 1},
            "fashion_mnist": {"n_train": 500, "n_test": 100}}


@pytest.mark.parametrize("name", DATASETS.names())
def test_every_registered_dataset_keeps_the_contract(name, dataset_params):
    from pathlib import Path

    if name == "fashion_mnist" and not Path("/usr/share/datasets/fashion-mnist").is_dir():
        pytest.skip("Debian's dataset-fashion-mnist is not installed")
    check_dataset(DATASETS.get(name), params=dataset_params[name])
