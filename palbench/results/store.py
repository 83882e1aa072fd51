"""ResultsStore: one SQLite file, WAL mode, one transaction per finished run.

A run and all of its checkpoints are written in a single transaction when the run ends, so the
store never holds a half-finished run: an interrupted grid loses only the cells in flight, and
re-running it skips every cell already complete (same spec hash). A complete cell (spec hash,
palbench version, tag) is unique: when two processes run the same cell, the one that finishes
second drops its copy. The columns are defined in schema.py, the schema versions in
migrations.py, and opening the file (integrity, read-only, failures) in connection.py.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import palbench
from palbench.queries import AnswerRow
from palbench.results.connection import connect, damaged, transaction
from palbench.results.schema import (
    ANSWER_FIELDS,
    CHECKPOINT_FIELDS,
    COMPLETE_KEY,
    FRAME_RUN_COLUMNS,
    NULLABLE_METRICS,
    RUN_COLUMNS,
    RUN_FILTERS,
    SELF,
)
from palbench.results.study import Variant

if TYPE_CHECKING:  # pandas is imported where frames are read: a run only writes
    import pandas as pd

__all__ = ["ResultsStore"]


@lru_cache(maxsize=1)
def git_commit() -> str | None:
    """The commit of the palbench checkout in use, when it is one."""
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                             cwd=Path(palbench.__file__).parent, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def library_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found = {"python": sys.version.split()[0]}
    for name in ("numpy", "scipy", "scikit-learn", "torch", "pandas"):
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            pass
    return found


class ResultsStore:
    """Runs and checkpoints in SQLite, opened to write (`palbench run`, `import`) or to read.

    Opening checks the file and creates or migrates its schema (results/connection.py): a
    damaged store is refused before anything is read from it or written into it, and a store
    opened to read is never written. Every failure of the file (damaged, full disk,
    read-only) is a StoreError: one line.
    """

    def __init__(self, path: str | Path, *, mode: str = "write"):
        self._conn = connect(path, mode)
        self.path = Path(path)
        self.mode = mode

    def _writing(self) -> transaction:
        """A write transaction whose failures are StoreErrors (the transaction rolled back)."""
        return transaction(self._conn, self.path)

    def _rows(self, query: str, params=()) -> list[tuple]:
        """A query's rows; a damaged file is a StoreError, not a traceback."""
        try:
            return self._conn.execute(query, params).fetchall()
        except (sqlite3.DatabaseError, UnicodeDecodeError) as exc:
            raise damaged(self.path, exc) from None

    def close(self) -> None:
        self._conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def complete_hashes(self, tag: str | None = None,
                        version: str = palbench.__version__) -> set[str]:
        """Spec hashes already run by this palbench version under this tag: results of other
        versions or tags stay side by side and are never overwritten."""
        rows = self._rows(
            "SELECT DISTINCT spec_hash FROM runs WHERE palbench_version = ? AND tag IS ?",
            (version, tag))
        return {r[0] for r in rows}

    def write_run(self, result, *, replace: bool = False, tag: str | None = None) -> int | None:
        """Write a finished run and its checkpoints in one transaction; return its run_id, or
        None when another process wrote the same complete cell first (this copy is dropped).
        `replace` first removes runs of the same spec, palbench version and tag."""
        cell = result.cell
        spec_hash = cell.spec_hash()
        with self._writing() as conn:
            if replace:
                conn.execute("DELETE FROM runs WHERE spec_hash = ? AND palbench_version = ? "
                             "AND tag IS ?", (spec_hash, palbench.__version__, tag))
            elif conn.execute("SELECT 1 FROM runs WHERE spec_hash = ? AND palbench_version = ? "
                              "AND tag IS ?", (spec_hash, palbench.__version__, tag)).fetchone():
                return None
            row = {"spec_hash": spec_hash, "experiment": cell.experiment.name,
                   "dataset": cell.dataset.label, "strategy": cell.strategy.label,
                   "oracle": cell.oracle.label, "costs": cell.costs.label,
                   "learner": cell.learner.label, "selection_learner":
                   cell.selection_learner.label if cell.selection_learner else SELF,
                   "seed": cell.seed,
                   "spec_json": cell.spec_json(), "dataset_fingerprint": cell.dataset_fingerprint,
                   "seeds_json": json.dumps({"root": cell.seed, **result.seeds}),
                   "palbench_version": palbench.__version__, "git_commit": git_commit(),
                   "library_versions_json": json.dumps(library_versions()),
                   "device": result.device,
                   "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                   "wall_seconds": result.wall_seconds, "tag": tag, "run_uid": uuid.uuid4().hex,
                   "stops_json": json.dumps(result.stops) if result.stops else None,
                   "reads_truth": int(cell.strategy.obj.reads_truth),
                   "full_pool_acc": result.full_pool_acc}
            run_id = self._insert_run(conn, row, [dataclasses.astuple(c)
                                                  for c in result.checkpoints])
            self._insert_answers(conn, run_id, result.answers)
        return run_id

    @staticmethod
    def _insert_run(conn: sqlite3.Connection, run: dict, checkpoints: list[tuple]) -> int:
        columns = RUN_COLUMNS[1:]  # run_id is assigned by SQLite
        cursor = conn.execute(f"INSERT INTO runs ({', '.join(columns)}) "
                              f"VALUES ({', '.join('?' * len(columns))})",
                              [_plain(run.get(c)) for c in columns])
        fields = ["run_id"] + CHECKPOINT_FIELDS
        conn.executemany(f"INSERT INTO checkpoints ({', '.join(fields)}) "
                         f"VALUES ({', '.join('?' * len(fields))})",
                         [(cursor.lastrowid, *map(_plain, row)) for row in checkpoints])
        return cursor.lastrowid

    def _read(self, query: str, params=()) -> pd.DataFrame:
        """A query as a DataFrame; a damaged file is a StoreError, not a traceback."""
        import pandas as pd

        try:
            return pd.read_sql_query(query, self._conn, params=params)
        except (sqlite3.DatabaseError, pd.errors.DatabaseError, UnicodeDecodeError) as exc:
            cause = exc.__cause__ if isinstance(exc.__cause__, sqlite3.DatabaseError) else exc
            raise damaged(self.path, cause) from None

    def to_frame(self, **where: object) -> pd.DataFrame:
        """One row per checkpoint joined with its run (and `cost_unit`, "cost units" or
        "annotator seconds"); keyword filters on run columns."""
        clauses, values = [], []
        for column, value in where.items():
            if column not in RUN_FILTERS:
                raise ValueError(f"cannot filter on {column!r}; known: {sorted(RUN_FILTERS)}")
            clauses.append(f"r.{column} IS ?")  # IS: a None filter matches NULL
            values.append(value)
        # the cost axis's unit, from the run's [costs] model (absent before seconds existed)
        unit = ("CASE json_extract(r.spec_json, '$.costs.model') WHEN 'seconds' THEN "
                "'annotator seconds' ELSE 'cost units' END AS cost_unit")
        # runs imported from bundles made before schema 6 say nothing: their learner selected
        columns = [f"IFNULL(r.{c}, '{SELF}') AS {c}" if c == "selection_learner" else f"r.{c}"
                   for c in FRAME_RUN_COLUMNS]
        query = ("SELECT " + ", ".join(columns + [unit] +
                                       [f"c.{f}" for f in CHECKPOINT_FIELDS]) +
                 " FROM runs r JOIN checkpoints c USING (run_id)")
        if clauses:
            query += " WHERE " + " AND ".join(clauses)
        query += " ORDER BY r.run_id, c.budget"
        frame = self._read(query, values)
        for name in NULLABLE_METRICS:  # NULL in SQL: NaN, not None, in the frame
            frame[name] = frame[name].astype(float)
        return frame

    def runs(self) -> pd.DataFrame:
        return self._read("SELECT * FROM runs ORDER BY run_id")

    def pair_runs(self) -> set[int] | None:
        """Ids of the runs that asked pair questions, or None when some run has no answer
        log to tell (stored before schema 5)."""
        logged = {r[0] for r in self._rows("SELECT DISTINCT run_id FROM answers")}
        every = {r[0] for r in self._rows("SELECT run_id FROM runs")}
        if every - logged:
            return None
        return {r[0] for r in self._rows(
            "SELECT DISTINCT run_id FROM answers WHERE kind = 'pair'")}

    def answers(self, run_id: int | None = None) -> pd.DataFrame:
        """The answer log (of one run, or of all): every answer heard, per worker when a pool
        of workers answered, in the order asked, with the verdict the graph was given."""
        query = "SELECT * FROM answers"
        if run_id is not None:
            return self._read(query + " WHERE run_id = ? ORDER BY position, worker", (run_id,))
        return self._read(query + " ORDER BY run_id, position, worker")

    def answer_log(self, run_id: int) -> list[AnswerRow]:
        """One run's answer log as its ledger recorded it (AnswerRow, in the order written),
        from which `AnnotatorHistory.from_rows` rebuilds what its annotators had done."""
        return [AnswerRow(*row) for row in self._rows(
            f"SELECT {', '.join(ANSWER_FIELDS)} FROM answers WHERE run_id = ? ORDER BY rowid",
            (run_id,))]

    def charges(self) -> pd.DataFrame:
        """Per run: the seconds (cost units) its answers were listed at by the price list and
        what its oracle charged for them, every answer heard (the free initial set
        included); NULL for runs stored before schema 11."""
        return self._read("SELECT run_id, SUM(listed_seconds) AS listed_seconds, "
                          "SUM(charged_seconds) AS charged_seconds FROM answers "
                          "GROUP BY run_id ORDER BY run_id")

    def record_study(self, study: str, variants: list[Variant]) -> None:
        """Record a study's variants in place of what the study held before (its keys or
        values may have changed)."""
        with self._writing() as conn:
            conn.execute("DELETE FROM studies WHERE study = ?", (study,))
            conn.executemany("INSERT OR IGNORE INTO studies VALUES (?, ?, ?, ?, ?)",
                             [(study, v.name, v.values_json, int(v.base), spec_hash)
                              for v in variants for spec_hash in sorted(v.hashes)])

    def study(self, study: str) -> list[Variant]:
        """A study's variants as recorded, in the order they were given; empty when the
        store has no such study."""
        found: dict[str, tuple[str, int, set[str]]] = {}
        for name, values, base, spec_hash in self._rows(
                "SELECT variant, values_json, base, spec_hash FROM studies WHERE study = ? "
                "ORDER BY rowid", (study,)):
            found.setdefault(name, (values, base, set()))[2].add(spec_hash)
        return [Variant(name, json.loads(values), frozenset(hashes), bool(base))
                for name, (values, base, hashes) in found.items()]

    def studies(self) -> list[str]:
        return [r[0] for r in self._rows("SELECT DISTINCT study FROM studies ORDER BY study")]

    def records(self, table: str) -> list[dict]:
        """Every row of one table as Python values, exactly as SQLite holds them (bundles)."""
        if table not in RECORD_ORDER:
            raise ValueError(f"no table {table!r}; known: {sorted(RECORD_ORDER)}")
        try:
            cursor = self._conn.execute(f"SELECT * FROM {table} ORDER BY {RECORD_ORDER[table]}")
            names = [d[0] for d in cursor.description]
            return [dict(zip(names, row)) for row in cursor.fetchall()]
        except (sqlite3.DatabaseError, UnicodeDecodeError) as exc:
            raise damaged(self.path, exc) from None

    def checkpoints(self) -> pd.DataFrame:
        return self._read("SELECT * FROM checkpoints ORDER BY run_id, budget")

    @contextmanager
    def snapshot(self) -> Iterator[ResultsStore]:
        """`with store.snapshot():` every read inside sees one state of the store, whatever
        other processes commit meanwhile (a WAL read transaction)."""
        self._rows("BEGIN")  # deferred: the snapshot is taken at the first read
        try:
            yield self
        finally:
            if self._conn.in_transaction:
                try:
                    self._conn.execute("ROLLBACK")  # a read transaction: nothing to keep
                except sqlite3.DatabaseError:
                    pass  # the error in flight (a StoreError) is the one to tell

    def add_runs(self, runs: pd.DataFrame, checkpoints: pd.DataFrame,
                 answers: pd.DataFrame | None = None) -> tuple[int, int]:
        """Add runs (with their checkpoints and answer logs, matched by the source run_id) in
        one transaction, except those the store has already: the same run_uid, or the same
        complete cell. Returns (added, skipped)."""
        if runs.empty:
            return 0, 0
        by_run = dict(iter(checkpoints.groupby("run_id"))) if len(checkpoints) else {}
        log = dict(iter(answers.groupby("run_id"))) if answers is not None and len(answers) \
            else {}
        added = 0
        with self._writing() as conn:  # what the store has is read under the write lock
            have = {r[0] for r in conn.execute("SELECT run_uid FROM runs")}
            cells = {tuple(r) for r in conn.execute(f"SELECT {COMPLETE_KEY} FROM runs")}
            for run in runs.to_dict("records"):
                cell = (run["spec_hash"], run["palbench_version"], _plain(run.get("tag")) or "")
                if run["run_uid"] in have or cell in cells:
                    continue
                rows = by_run.get(run["run_id"], runs.iloc[:0])
                run_id = self._insert_run(conn, run, list(rows.reindex(
                    columns=CHECKPOINT_FIELDS).itertuples(index=False, name=None)))
                heard = log.get(run["run_id"])
                if heard is not None:
                    self._insert_answers(conn, run_id, heard.reindex(
                        columns=ANSWER_FIELDS).itertuples(index=False, name=None))
                have.add(run["run_uid"])
                cells.add(cell)
                added += 1
        return added, len(runs) - added

    @staticmethod
    def _insert_answers(conn: sqlite3.Connection, run_id: int, rows) -> None:
        conn.executemany(f"INSERT INTO answers (run_id, {', '.join(ANSWER_FIELDS)}) "
                         f"VALUES (?{', ?' * len(ANSWER_FIELDS)})",
                         [(run_id, *map(_plain, row)) for row in rows])


RECORD_ORDER = {"runs": "run_id", "checkpoints": "run_id, budget",
                "answers": "run_id, position, worker"}


def _plain(value):
    """A value sqlite3 can bind: numpy scalars to Python, NaN and missing to NULL."""
    if value is None:
        return None
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and value != value:
        return None
    return value
