"""Exports of the store's checkpoint rows."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from palbench.errors import ConfigError
from palbench.results.store import EXPORT_COLUMNS, ResultsStore


def export_csv(store: ResultsStore, out: Path) -> int:
    """Write the columns EXPORT_COLUMNS, one row per checkpoint; atomic (temp file + rename)."""
    if not out.parent.exists():
        raise ConfigError("--out", str(out), f"folder {str(out.parent)!r} does not exist")
    frame = store.to_frame()[EXPORT_COLUMNS]
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", newline="", encoding="utf-8") as fh:
            frame.to_csv(fh, index=False)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return len(frame)
