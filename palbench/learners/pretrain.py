"""The `pal` learner's self-supervised pretraining on the whole pool, cached.

Unlabelled data is free in pool-based active learning, so the encoder may learn from the pool
(augmentation positives only, no answer) once per (code, dataset, pretraining parameters, seed)
and every checkpoint's training starts from those weights. Nothing learned from answers is
cached. The cache lives in this process's memory and, when `cache_dir` is given, in that folder
(one file per key, written atomically); an entry that cannot be read is recomputed and
rewritten, never trusted; an entry that reads but was made for another key is refused.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch

import palbench
from palbench.errors import ConfigError

_MEMORY: dict[str, dict] = {}


def cache_key(fingerprint: str, params: dict, seed: int) -> str:
    text = json.dumps({"palbench": palbench.__version__, "data": fingerprint,
                       "params": params, "seed": seed}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def check_cache_dir(cache_dir: str, field: str) -> None:
    """A cache folder must exist (or be creatable) and be writable: checked at config time."""
    if not cache_dir:
        return
    path = Path(cache_dir)
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".probe-"):
            pass
    except OSError as exc:
        why = exc.strerror or str(exc)
        raise ConfigError(field, cache_dir, f"cannot write the cache folder ({why})") from None


def pretrained(key: str, cache_dir: str, train: Callable[[], dict],
               field: str = "learner.cache_dir") -> tuple[dict, float]:
    """The state dict for `key` and the seconds spent training it now (0 when cached)."""
    if key in _MEMORY:
        return _MEMORY[key], 0.0
    path = Path(cache_dir) / f"pal-pretrain-{key[:40]}.pt" if cache_dir else None
    if path is not None and path.exists():
        entry = _read(path)
        if entry is not None:
            if entry.get("key") != key:
                raise ConfigError(field, str(path), "holds a pretraining entry made by other "
                                  "code or parameters; remove the file")
            _MEMORY[key] = entry["state"]
            return entry["state"], 0.0
    started = time.perf_counter()
    state = {k: v.detach().cpu().clone() for k, v in train().items()}
    seconds = time.perf_counter() - started
    _MEMORY[key] = state
    if path is not None:
        _write(path, {"key": key, "state": state})
    return state, seconds


def _read(path: Path) -> dict | None:
    try:
        entry = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # noqa: BLE001  (a damaged entry of any kind is recomputed)
        return None
    ok = isinstance(entry, dict) and isinstance(entry.get("state"), dict)
    return entry if ok else None


def _write(path: Path, entry: dict) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        torch.save(entry, tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def forget() -> None:
    """Drop the in-memory cache (tests and benchmarks that time pretraining)."""
    _MEMORY.clear()
