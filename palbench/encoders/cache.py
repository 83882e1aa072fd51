"""The disk cache of computed embeddings: one file per key, written atomically, checked on read.

An entry is a JSON header line (its key, the sha256 of the array's bytes) and the array in
`.npy` form. It is written to a temporary file in the same folder, flushed to disk and moved
into place with `os.replace`, so parallel workers (or nodes on a shared folder) that compute
the same entry race harmlessly: each reader sees a whole entry or none. An entry whose bytes
do not match its checksum (truncated, flipped) or whose key differs is recomputed and
rewritten, never used.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np


def default_folder() -> Path:
    """$XDG_CACHE_HOME/palbench/embeddings (~/.cache/palbench/embeddings without it)."""
    root = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(root) / "palbench" / "embeddings"


def entry_path(folder: Path, key: str) -> Path:
    return folder / f"embedding-{key[:40]}.npy"


def cached(key: str, folder: Path, compute: Callable[[], np.ndarray]) -> np.ndarray:
    """The array stored under `key`, or `compute()`'s, stored then."""
    path = entry_path(folder, key)
    found = read(path, key)
    if found is not None:
        return found
    array = np.ascontiguousarray(compute())
    write(path, key, array)
    return array


def read(path: Path, key: str) -> np.ndarray | None:
    """The entry's array, or None when absent, damaged or made for another key."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    header, newline, body = data.partition(b"\n")
    try:
        meta = json.loads(header)
    except ValueError:
        return None
    if not newline or not isinstance(meta, dict) or meta.get("key") != key or \
            meta.get("sha256") != hashlib.sha256(body).hexdigest():
        return None
    try:
        return np.load(io.BytesIO(body), allow_pickle=False)
    except ValueError:
        return None


def write(path: Path, key: str, array: np.ndarray) -> None:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    body = buffer.getvalue()
    header = json.dumps({"key": key, "sha256": hashlib.sha256(body).hexdigest()}).encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(header + b"\n" + body)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
