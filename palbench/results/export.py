"""Exports of the store's checkpoint rows (csv, parquet) and shareable bundles.

A bundle is a zip archive with manifest.json, runs.jsonl, checkpoints.jsonl and answers.jsonl
(each run's answer log; bundles written before it have none): plain JSON, no pickles. Values
go from SQLite's rows to JSON and back as Python values, never through pandas' float
formatting: floats are written as `repr` writes them (the shortest text that reads back to
the same double; infinities as `Infinity`), so a store rebuilt from bundles holds what the
stores they came from held, value for value and type for type. Importing
reads the members by name in memory and never writes files, so a crafted member name cannot
reach outside the store; runs already in the store (same run_uid) are
skipped, so importing twice adds nothing twice.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
import zipfile
from pathlib import Path

import pandas as pd

import palbench
from palbench.errors import ConfigError
from palbench.results.schema import (
    ANSWER_DEFAULTS,
    ANSWER_FIELDS,
    CHECKPOINT_FIELDS,
    EXPORT_COLUMNS,
    RUN_COLUMNS,
    RUN_DEFAULTS,
    SCHEMA_VERSION,
    Checkpoint,
)
from palbench.results.store import ResultsStore

BUNDLE_FORMAT = "palbench-bundle"
CHECKPOINT_DEFAULTS = {f.name: f.default for f in dataclasses.fields(Checkpoint)
                       if f.default is not dataclasses.MISSING}


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
    """Every run with its metadata, checkpoints and answer log, for `palbench import`; read in
    one snapshot, so a bundle taken while others write holds whole runs only."""
    with store.snapshot():
        runs, checkpoints, answers = (store.records(t) for t in ("runs", "checkpoints",
                                                                 "answers"))
    manifest = {"format": BUNDLE_FORMAT, "schema_version": SCHEMA_VERSION,
                "palbench_version": palbench.__version__, "runs": len(runs),
                "checkpoints": len(checkpoints), "answers": len(answers)}

    def write(path: Path) -> None:
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("manifest.json", json.dumps(manifest, indent=2))
            for name, records in (("runs", runs), ("checkpoints", checkpoints),
                                  ("answers", answers)):
                archive.writestr(f"{name}.jsonl", _jsonl(records))

    _atomic_write(out, write)
    return len(runs)


def read_bundle(path: Path) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame | None]:
    """(runs, checkpoints, answers) of a bundle (answers None for a bundle without a log), or
    one line saying why it is not one."""
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
            answers_text = archive.read("answers.jsonl").decode("utf-8") \
                if "answers.jsonl" in names else None
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
        answers = None if answers_text is None else _read_jsonl(answers_text)
    except ValueError as exc:
        raise ConfigError(field, str(path), f"not a palbench bundle ({exc})") from None
    for table, defaults in ((checkpoints, CHECKPOINT_DEFAULTS), (runs, RUN_DEFAULTS),
                            (answers, ANSWER_DEFAULTS)):
        for column, default in defaults.items():  # added after older bundles were made
            if table is not None and len(table) and column not in table.columns:
                table[column] = default
    for name, table, columns in (("runs", runs, RUN_COLUMNS),
                                 ("checkpoints", checkpoints, ["run_id", *CHECKPOINT_FIELDS]),
                                 ("answers", answers, ["run_id", *ANSWER_FIELDS])):
        missing = [c for c in columns if table is not None and len(table) and
                   c not in table.columns]
        if missing:
            raise ConfigError(field, str(path), f"{name} lack column {missing[0]!r}")
    if len(runs):
        bare = set(runs["run_id"]) - (set(checkpoints["run_id"]) if len(checkpoints) else set())
        if bare:
            raise ConfigError(field, str(path), f"run {sorted(bare, key=str)[0]!r} has no "
                              "checkpoints")
    return runs, checkpoints, answers


def _jsonl(records: list[dict]) -> str:
    """One JSON object a line; floats in `repr` precision (json's own), exact."""
    return "".join(json.dumps(r, allow_nan=True, separators=(",", ":")) + "\n"
                   for r in records)


def _read_jsonl(text: str) -> pd.DataFrame:
    """The rows as Python values (object columns: an integer stays an integer beside a
    null, a float keeps every bit)."""
    records = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        record = json.loads(line)
        if not isinstance(record, dict):
            raise ValueError(f"line {number} is not a JSON object")
        records.append(record)
    if not records:
        return pd.DataFrame()
    return pd.DataFrame(records, dtype=object)
