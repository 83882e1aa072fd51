"""Datasets: the Dataset record (base.py) and one module per source family.

Each built-in source is named here and imported on first use (`Registry.lazy`); third-party
sources come by entry point (group ``palbench.datasets``) or by import path.
"""

from palbench.datasets.base import (
    DATASETS,
    Dataset,
    DatasetSource,
    SplitSource,
    check_features,
    encode_labels,
    fingerprint_arrays,
    finish,
)

for _module, _names in {
    "sklearn_sets": ("digits", "wine", "breast_cancer", "iris"),
    "synthetic": ("blobs", "circles"),
    "files": ("csv", "npz"),
    "fashion_mnist": ("fashion_mnist",),
}.items():
    for _name in _names:
        DATASETS.lazy(_name, f"palbench.datasets.{_module}")

__all__ = ["DATASETS", "Dataset", "DatasetSource", "SplitSource", "check_features",
           "encode_labels", "fingerprint_arrays", "finish"]
