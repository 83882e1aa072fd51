"""Exports of the store's checkpoint rows (csv, parquet) and shareable bundles.

A bundle is a zip archive with manifest.json, runs.jsonl and checkpoints.jsonl: plain JSON, no
pickles. Importing reads the members by name in memory and never writes files, so a crafted
member name cannot reach outside the store; runs already in the store (same run_uid) are
skipped, so importing twice adds nothing twice.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
import zipfile
from pathlib import Path

import pandas as pd

import palbench
from palbench.errors import ConfigError
from palbench.results.schema import EXPORT_COLUMNS, RUN_COLUMNS, SCHEMA_VERSION
from palbench.results.store import ResultsStore

BUNDLE_FORMAT = "palbench-bundle"


def _atomic_write(out: Path, write) -> None:
    """Write through a temporary file in the same folder, then rename: never a partial file."""
    if not out.parent.exists():
        raise ConfigError("--out", str(out), f"folder {str(out.parent)!r} does not exist")
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def export_rows(store: ResultsStore, out: Path, fmt: str = "csv") -> int:
    """The columns EXPORT_COLUMNS, one row per checkpoint, as csv or parquet."""
    frame = store.to_frame()[EXPORT_COLUMNS]
    if fmt == "csv":
        _atomic_write(out, lambda p: frame.to_csv(p, index=False))
    else:
        _atomic_write(out, lambda p: frame.to_parquet(p, index=False))
    return len(frame)


def export_bundle(store: ResultsStore, out: Path) -> int:
    """Every run with its metadata and checkpoints, for `palbench import`."""
    runs = store.runs()
    checkpoints = store.checkpoints()
    manifest = {"format": BUNDLE_FORMAT, "schema_version": SCHEMA_VERSION,
                "palbench_version": palbench.__version__, "runs": len(runs),
                "checkpoints": len(checkpoints)}

    def write(path: Path) -> None:
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("manifest.json", json.dumps(manifest, indent=2))
            archive.writestr("runs.jsonl", runs.to_json(orient="records", lines=True))
            archive.writestr("checkpoints.jsonl",
                             checkpoints.to_json(orient="records", lines=True))

    _atomic_write(out, write)
    return len(runs)


def read_bundle(path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    field = "bundle"
    if not path.is_file():
        raise ConfigError(field, str(path), "no such file")
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            for needed in ("manifest.json", "runs.jsonl", "checkpoints.jsonl"):
                if needed not in names:
                    raise ConfigError(field, str(path), f"not a palbench bundle: no {needed}")
            manifest = json.loads(archive.read("manifest.json"))
            runs_text = archive.read("runs.jsonl").decode("utf-8")
            checkpoints_text = archive.read("checkpoints.jsonl").decode("utf-8")
    except (zipfile.BadZipFile, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(field, str(path), f"not a palbench bundle ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != BUNDLE_FORMAT:
        raise ConfigError(field, str(path), "not a palbench bundle (manifest format)")
    if int(manifest.get("schema_version", 0)) > SCHEMA_VERSION:
        raise ConfigError(field, str(path), f"written by a newer palbench (schema "
                          f"{manifest.get('schema_version')}); upgrade palbench")
    try:
        runs = _read_jsonl(runs_text)
        checkpoints = _read_jsonl(checkpoints_text)
    except ValueError as exc:
        raise ConfigError(field, str(path), f"not a palbench bundle ({exc})") from None
    missing = [c for c in RUN_COLUMNS if c not in runs.columns]
    if len(runs) and missing:
        raise ConfigError(field, str(path), f"runs lack column {missing[0]!r}")
    return runs, checkpoints


def _read_jsonl(text: str) -> pd.DataFrame:
    if not text.strip():
        return pd.DataFrame()
    return pd.read_json(io.StringIO(text), lines=True, dtype=False)


def import_bundle(store: ResultsStore, path: Path) -> tuple[int, int]:
    """Add the bundle's runs that the store lacks; returns (added, skipped)."""
    runs, checkpoints = read_bundle(path)
    return store.add_runs(runs, checkpoints)
