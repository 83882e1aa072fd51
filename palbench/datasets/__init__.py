"""Datasets: the Dataset record (base.py) and one module per source family."""

from palbench.datasets import fashion_mnist, files, sklearn_sets, synthetic  # noqa: F401
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
from palbench.datasets.fashion_mnist import FashionMnist, read_idx
from palbench.datasets.files import CsvFile, NpzFile
from palbench.datasets.sklearn_sets import Digits
from palbench.datasets.synthetic import Blobs, Circles

__all__ = ["DATASETS", "Blobs", "Circles", "CsvFile", "Dataset", "DatasetSource", "Digits",
           "FashionMnist", "NpzFile", "SplitSource", "check_features", "encode_labels",
           "fingerprint_arrays", "finish", "read_idx"]
