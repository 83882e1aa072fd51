"""The Encoder base: a frozen torch module that maps a dataset's inputs to its features view.

An encoder declares what it takes (`takes`: a dataset's arrays, or texts), builds its module
(`module`), turns a batch of inputs into the module's input tensor (`inputs`; images arrive
channel first, as the dataset holds them) and says what identifies its weights beyond its
parameters (`weights_hash`: a file's sha256). An encoder of texts computes its embeddings
itself (`compute`: a tokenizer and a model, not one tensor a batch). The harness runs it once
per (data fingerprint, encoder identity with its weights hash), in batches of `batch_size`, on
the GPU when one is present, and keeps the result in the disk cache
(`palbench.encoders.cache`); `palbench.testing.check_encoder` checks a subclass.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np

from palbench.encoders.cache import cached, default_folder
from palbench.errors import ConfigError, check
from palbench.fields import named_identity, param
from palbench.protocol import Component
from palbench.registry import Registry


@dataclass(frozen=True, kw_only=True)
class Encoder(Component):
    """Base of the encoders (`[dataset.encoder]`): a frozen keyword-only dataclass."""

    kind: ClassVar[str] = "encoder"
    # what it embeds: "arrays" (a dataset's inputs: flat rows, or images when they have a
    # shape) or "texts" (a list of strings: the text dataset's)
    takes: ClassVar[str] = "arrays"
    batch_size: int = param(256, ge=1)  # inputs encoded at a time
    # the folder of computed embeddings; "": $XDG_CACHE_HOME/palbench/embeddings
    # (~/.cache/palbench/embeddings)
    cache_dir: str = param("", results=False)

    def module(self, where: str):
        """The torch module, in eval mode; a missing file or package is a ConfigError."""
        raise NotImplementedError(f"{type(self).__name__} must define module(where)")

    def inputs(self, batch: np.ndarray):
        """The module's input for a batch of samples (flat rows, or images (n, C, H, W))."""
        import torch

        return torch.from_numpy(np.ascontiguousarray(batch, dtype=np.float32))

    def weights_hash(self) -> str:
        """The sha256 of the weights it loads from a file ("" when none)."""
        return ""

    def content_identity(self) -> dict:
        weights = self.weights_hash()
        return {"weights_sha256": weights} if weights else {}

    def cache_key(self, data_fingerprint: str, image_shape) -> str:
        """The cache's key: the data's fingerprint and shape, this encoder's identity (its
        name, parameters and weights hash)."""
        text = json.dumps({"data": data_fingerprint, "image_shape": image_shape,
                           "encoder": named_identity(self)}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()

    def features(self, X, image_shape, data_fingerprint: str, where: str,
                 gives: str = "arrays") -> np.ndarray:
        """The features of X's rows (images of `image_shape` when given; texts when the
        dataset `gives` texts), from the cache when computed before."""
        check(gives == self.takes, f"{where}.name", self.registry_name or type(self).__name__,
              f"embeds {self.takes}; this dataset gives {gives}" + (
                  ' (texts are read by the dataset name = "text")' if self.takes == "texts"
                  else " (palbench list encoders: those that take texts)"))
        folder = Path(self.cache_dir) if self.cache_dir else default_folder()
        key = self.cache_key(data_fingerprint, list(image_shape) if image_shape else None)
        return cached(key, folder, lambda: self.compute(X, image_shape, where))

    def compute(self, X: np.ndarray, image_shape, where: str) -> np.ndarray:
        """Run the module over X in batches (GPU when present, a progress bar on a terminal)."""
        import torch

        where_run = device()
        model = self.module(where).to(where_run).eval()
        rows = X.reshape(len(X), *image_shape) if image_shape else X
        out = []
        with torch.inference_mode():
            for rows_in in self.batches(rows):
                batch = self.inputs(rows_in).to(where_run)
                try:
                    features = model(batch)
                except RuntimeError as exc:  # the module cannot take these inputs
                    raise ConfigError(f"{where}.name", self.registry_name or
                                      type(self).__name__, f"failed on a batch of shape "
                                      f"{list(batch.shape)}: {str(exc).splitlines()[0]}") \
                        from None
                out.append(features.reshape(len(batch), -1).float().cpu().numpy())
        return np.concatenate(out)

    def batches(self, rows):
        """`rows` in slices of `batch_size`, with a progress bar on a terminal."""
        from tqdm.auto import tqdm

        for start in tqdm(range(0, len(rows), self.batch_size), desc="encoding",
                          unit="batch", disable=not sys.stderr.isatty()):
            yield rows[start:start + self.batch_size]


def device() -> str:
    """Where encoders run: the GPU when torch sees one, else the CPU."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def file_sha256(path: str, field: str) -> str:
    """The sha256 of a file's bytes, or one line naming the field when it cannot be read
    (hashed once per size and modification time: every cell's spec asks)."""
    try:
        stat = os.stat(path)
    except OSError as exc:
        raise ConfigError(field, path, f"cannot read the file ({exc.strerror or exc})") from None
    return _sha256(path, stat.st_size, stat.st_mtime_ns, field)


@functools.lru_cache(maxsize=64)
def _sha256(path: str, size: int, mtime_ns: int, field: str) -> str:
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
    except OSError as exc:
        raise ConfigError(field, path, f"cannot read the file ({exc.strerror or exc})") from None
    return digest.hexdigest()


INSTALL = "pip install 'palbench[encoders]'"  # what installs the built-in encoders' packages

ENCODERS = Registry.for_base(Encoder)
