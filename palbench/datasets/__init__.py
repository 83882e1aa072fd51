"""Datasets: the Dataset record (base.py) and one module per source family.

Each built-in source is named here and imported on first use (`Registry.lazy`); third-party
sources come by entry point (group ``palbench.datasets``) or by import path.
"""

from palbench.datasets.base import (
    DATASETS,
    Dataset,
    DatasetSource,
    SplitSource,
    TwoViewSource,
    check_features,
    encode_labels,
    fingerprint_arrays,
    finish,
)

DATASETS.lazy(__name__, {
    "sklearn_sets": ("digits", "wine", "breast_cancer", "iris"),
    "synthetic": ("blobs", "circles"),
    "files": ("csv", "npz"),
    "fashion_mnist": ("fashion_mnist",),
    "images": ("imagefolder",),
    "text": ("text",),
})

__all__ = ["DATASETS", "Dataset", "DatasetSource", "SplitSource", "TwoViewSource",
           "check_features", "encode_labels", "fingerprint_arrays", "finish"]
