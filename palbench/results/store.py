"""ResultsStore: one SQLite file, WAL mode, one transaction per finished run.

A run and all of its checkpoints are written in a single transaction when the run ends, so the
store never holds a half-finished run: an interrupted grid loses only the cells in flight, and
re-running it skips every cell already complete (same spec hash). A complete cell (spec hash,
palbench version, tag) is unique: when two processes run the same cell, the one that finishes
second drops its copy. The columns are defined in schema.py.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import random
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import palbench
from palbench.errors import ConfigError
from palbench.results.schema import (
    ANSWER_FIELDS,
    CHECKPOINT_FIELDS,
    COMPLETE_KEY,
    EXPORT_COLUMNS,
    FRAME_RUN_COLUMNS,
    NULLABLE_METRICS,
    RUN_COLUMNS,
    RUN_FILTERS,
    SCHEMA_VERSION,
    SELF,
    STUDY_STATEMENTS,
    answers_statements,
    create_statements,
)
from palbench.results.study import Variant

if TYPE_CHECKING:  # pandas is imported where frames are read: a run only writes
    import pandas as pd

__all__ = ["EXPORT_COLUMNS", "SCHEMA_VERSION", "ResultsStore", "StoreError", "store_path"]

STORE_ENV = "PALBENCH_STORE"
DEFAULT_STORE = "palbench.sqlite"


def _migrate_1_to_2(conn: sqlite3.Connection) -> None:
    """Schema 2: runs get a user tag and a unique run id (for idempotent imports)."""
    conn.execute("ALTER TABLE runs ADD COLUMN tag TEXT")
    conn.execute("ALTER TABLE runs ADD COLUMN run_uid TEXT")
    rows = conn.execute("SELECT run_id, spec_hash, palbench_version, finished_at, wall_seconds "
                        "FROM runs").fetchall()
    conn.executemany("UPDATE runs SET run_uid = ? WHERE run_id = ?",
                     [(legacy_uid(*row[1:]), row[0]) for row in rows])
    conn.execute("CREATE UNIQUE INDEX runs_by_uid ON runs (run_uid)")


def _migrate_2_to_3(conn: sqlite3.Connection) -> str | None:
    """Schema 3: one run per complete cell (spec, palbench version, tag). Stores written by
    overlapping runs of one grid hold some cells twice: the first copy is kept."""
    removed = conn.execute(
        f"DELETE FROM runs WHERE run_id NOT IN (SELECT MIN(run_id) FROM runs "
        f"GROUP BY {COMPLETE_KEY})").rowcount
    conn.execute(f"CREATE UNIQUE INDEX runs_complete ON runs ({COMPLETE_KEY})")
    if removed:
        return f"removed {removed} duplicate run(s) of the same cell, seed and tag (first " \
               "copy kept)"
    return None


def legacy_uid(spec_hash, version, finished_at, wall_seconds) -> str:
    key = f"{spec_hash}|{version}|{finished_at}|{wall_seconds!r}"
    return hashlib.sha256(key.encode()).hexdigest()[:32]


# MIGRATIONS[v] turns a store of schema v into schema v + 1, inside the caller's transaction.
def _migrate_3_to_4(conn: sqlite3.Connection) -> None:
    """Schema 4: pretraining time apart from fit time (0 for the runs before it)."""
    conn.execute("ALTER TABLE checkpoints ADD COLUMN pretrain_seconds REAL NOT NULL DEFAULT 0")


def _migrate_4_to_5(conn: sqlite3.Connection) -> None:
    """Schema 5: each run's answer log (empty for the runs before it)."""
    for statement in answers_statements():
        conn.execute(statement)


def _migrate_5_to_6(conn: sqlite3.Connection) -> None:
    """Schema 6: the learner whose models the strategy saw (until now, the learner itself)."""
    conn.execute("ALTER TABLE runs ADD COLUMN selection_learner TEXT")
    conn.execute("UPDATE runs SET selection_learner = ?", (SELF,))


def _migrate_6_to_7(conn: sqlite3.Connection) -> None:
    """Schema 7: where each stopping criterion would have stopped (none before)."""
    conn.execute("ALTER TABLE runs ADD COLUMN stops_json TEXT")


def _migrate_7_to_8(conn: sqlite3.Connection) -> None:
    """Schema 8: balanced accuracy and macro-F1 at every checkpoint (NULL before)."""
    conn.execute("ALTER TABLE checkpoints ADD COLUMN balanced_acc REAL")
    conn.execute("ALTER TABLE checkpoints ADD COLUMN macro_f1 REAL")


def _migrate_8_to_9(conn: sqlite3.Connection) -> None:
    """Schema 9: which runs are reference lines reading the truth (none before), and the
    full-pool bound (not measured before)."""
    conn.execute("ALTER TABLE runs ADD COLUMN reads_truth INTEGER NOT NULL DEFAULT 0")
    conn.execute("ALTER TABLE runs ADD COLUMN full_pool_acc REAL")


def _migrate_9_to_10(conn: sqlite3.Connection) -> None:
    """Schema 10: robustness studies' variants (none before)."""
    for statement in STUDY_STATEMENTS:
        conn.execute(statement)


MIGRATIONS = {1: _migrate_1_to_2, 2: _migrate_2_to_3, 3: _migrate_3_to_4, 4: _migrate_4_to_5,
              5: _migrate_5_to_6, 6: _migrate_6_to_7, 7: _migrate_7_to_8, 8: _migrate_8_to_9,
              9: _migrate_9_to_10}


class StoreError(ConfigError):
    """The store file cannot be used (not SQLite, newer schema, read-only...)."""

    def __init__(self, path: str, why: str):
        super().__init__("store", str(path), why)

    def __reduce__(self):
        return (StoreError, (self.value, self.why))


def store_path(cli_value: str | None) -> Path:
    return Path(cli_value or os.environ.get(STORE_ENV) or DEFAULT_STORE)


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

    Every open first checks the file (`PRAGMA integrity_check`: about 1.3 s for 10,000 runs
    with 320 answers each, `palbench bench store_open`) and refuses a damaged store before
    anything is read from it or written into it. A store opened to read is never written:
    not created, not migrated (an older schema is migrated in a copy in memory), opened
    read-only (`mode=ro`, or `immutable=1` on
    read-only media). A store opened to write is proven writable before the caller computes
    anything. Creating the schema, stamping its version and migrating an older store happen
    in one immediate transaction, decided again once its lock is held: any number of
    processes may open a new or an old store at the same moment, and it ends with one schema
    of one version. Every failure of the file (damaged, full disk, read-only) is a
    StoreError: one line.
    """

    def __init__(self, path: str | Path, *, mode: str = "write"):
        if mode not in OPEN_MODES:
            raise ValueError(f"mode must be one of {OPEN_MODES}, not {mode!r}")
        self.path = Path(path)
        self.mode = mode
        if self.path.is_dir():
            raise StoreError(str(path), "is a folder; give a file, e.g. "
                             f"{str(self.path / DEFAULT_STORE)!r}")
        if mode == "read":
            if not self.path.exists():
                raise StoreError(str(path), "no such store; run 'palbench run' first")
            if self.path.stat().st_size == 0:
                raise StoreError(str(path), "not a palbench store (empty file)")
            self._conn = self._connect_to_read()
        else:
            if not self.path.parent.is_dir():
                raise StoreError(str(path), f"folder {str(self.path.parent)!r} does not exist")
            self._conn = self._connect_to_write()

    @contextmanager
    def _refusing(self) -> Iterator[None]:
        """What SQLite says of a file it cannot open or read as one line (a StoreError)."""
        try:
            yield
        except UnicodeDecodeError:  # a damaged schema table holds bytes that are no text
            raise StoreError(str(self.path), "not a palbench store (its schema is not "
                             "readable text: the file may be damaged)") from None
        except sqlite3.DatabaseError as exc:
            raise self._failure(exc, "not a palbench store") from None

    def _connect_to_write(self) -> sqlite3.Connection:
        with self._refusing():
            conn = sqlite3.connect(self.path, timeout=60, isolation_level=None)
            conn.execute("PRAGMA busy_timeout = 60000")
            conn.execute("PRAGMA foreign_keys = ON")
            self._verify(conn)
            if self._schema_version(conn) != SCHEMA_VERSION:
                with _transaction(conn):  # one process at a time creates or migrates
                    version = self._schema_version(conn)  # again, under the lock
                    if version is None:
                        for statement in create_statements():
                            conn.execute(statement)
                        conn.execute("INSERT INTO schema_version VALUES (?)", (SCHEMA_VERSION,))
                    elif version < SCHEMA_VERSION:
                        self._migrate(conn, version)
            else:
                _prove_writable(conn)
            _use_wal(conn)
            return conn

    def _connect_to_read(self) -> sqlite3.Connection:
        """A read-only connection; an older schema is migrated in a copy in memory, never in
        the file."""
        with self._refusing():
            conn = self._read_only_connection()
            self._verify(conn)
            version = self._schema_version(conn)
            if version is None:
                raise StoreError(str(self.path), "not a palbench store (no tables)")
            if version < SCHEMA_VERSION:  # read as the current schema, in memory
                memory = sqlite3.connect(":memory:", isolation_level=None)
                conn.backup(memory)
                conn.close()
                conn = memory
                with _transaction(conn):
                    self._migrate(conn, version)
            return conn

    def _read_only_connection(self) -> sqlite3.Connection:
        """`mode=ro` (it sees what writers commit), else, where SQLite cannot keep its lock
        files beside the store (read-only media or folder), `immutable=1`."""
        uri = self.path.resolve().as_uri()
        for flags in ("mode=ro", "immutable=1"):
            conn = sqlite3.connect(f"{uri}?{flags}", uri=True, timeout=60, isolation_level=None)
            try:
                conn.execute("PRAGMA busy_timeout = 60000")
                conn.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchall()
                return conn
            except sqlite3.OperationalError as exc:
                conn.close()
                if "unable to open" not in str(exc) or flags == "immutable=1":
                    raise
        raise AssertionError("unreachable")  # the last flags either return or raise

    def _verify(self, conn: sqlite3.Connection) -> None:
        """Refuse a damaged file before anything else touches it: SQLite's integrity_check
        (every page, every index against its table). quick_check alone, cheaper, missed an
        index damaged by a few bytes in 3 of 600 tries (docs/reliability.md)."""
        rows = [str(r[0]) for r in conn.execute("PRAGMA integrity_check").fetchall()]
        if rows != ["ok"]:
            problems = [line.strip() for row in rows for line in row.splitlines()
                        if line.strip() and not line.startswith("***")]
            first = problems[0][:100] if problems else "no detail"
            raise StoreError(str(self.path), f"the store is damaged (integrity_check: "
                             f"{first}; {len(problems)} problem(s)); nothing "
                             "was read from or written into it: restore it from a backup or a "
                             "bundle")

    def _schema_version(self, conn: sqlite3.Connection) -> int | None:
        """The store's schema version; None for an empty file; refuses other files and
        newer schemas."""
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
        if "schema_version" not in tables:
            if tables:
                raise StoreError(str(self.path), "an SQLite file, but not a palbench store")
            return None
        (version,) = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
        if not isinstance(version, int):
            raise StoreError(str(self.path), "not a palbench store (no schema version)")
        if version > SCHEMA_VERSION:
            raise StoreError(str(self.path), f"written by a newer palbench (schema {version}; "
                             f"this one reads up to {SCHEMA_VERSION}); upgrade palbench")
        return version

    def _migrate(self, conn: sqlite3.Connection, version: int) -> None:
        """Bring an older store up to SCHEMA_VERSION in place, inside the caller's transaction
        (all steps or none); what a step changed in the rows is said on stderr."""
        start = version
        try:
            while version < SCHEMA_VERSION:
                note = MIGRATIONS[version](conn)
                if note:
                    print(f"palbench: store {self.path}: {note}", file=sys.stderr)
                version += 1
            conn.execute("DELETE FROM schema_version")
            conn.execute("INSERT INTO schema_version VALUES (?)", (version,))
        except sqlite3.DatabaseError as exc:
            raise StoreError(str(self.path), f"migrating schema {start} to {SCHEMA_VERSION} "
                             f"failed, the store is unchanged ({exc})") from None

    def _failure(self, exc: sqlite3.DatabaseError, otherwise: str) -> StoreError:
        """One line for what SQLite said: the cause when it is the disk or the permissions,
        else `otherwise` (a damaged file)."""
        message = str(exc).splitlines()[0][-120:] if str(exc) else type(exc).__name__
        if "full" in message or "disk I/O" in message:
            return StoreError(str(self.path), f"cannot write the store ({message}): the disk "
                              "is full or a file-size limit was reached")
        if "readonly" in message or "unable to open" in message:
            return StoreError(str(self.path), f"cannot write the store ({message})")
        if "locked" in message or "busy" in message:
            return StoreError(str(self.path), f"another process kept the store locked for "
                              f"over a minute ({message})")
        return StoreError(str(self.path), f"{otherwise} ({message})")

    def _writing(self) -> _transaction:
        """A write transaction whose failures are StoreErrors (the transaction rolled back)."""
        return _transaction(self._conn, self._failure)

    def _rows(self, query: str, params=()) -> list[tuple]:
        """A query's rows; a damaged file is a StoreError, not a traceback."""
        try:
            return self._conn.execute(query, params).fetchall()
        except (sqlite3.DatabaseError, UnicodeDecodeError) as exc:
            raise self._damaged(exc) from None

    def _damaged(self, exc: Exception) -> StoreError:
        if isinstance(exc, sqlite3.DatabaseError):
            return self._failure(exc, "cannot read the store, it may be damaged")
        return StoreError(str(self.path), f"cannot read the store, it may be damaged ({exc})")

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
            raise self._damaged(cause) from None

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
            raise self._damaged(exc) from None

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


OPEN_MODES = ("write", "read")
RECORD_ORDER = {"runs": "run_id", "checkpoints": "run_id, budget",
                "answers": "run_id, position, worker"}


def _prove_writable(conn: sqlite3.Connection) -> None:
    """A write that is rolled back: a store that a run could not write into fails here,
    before the run computes anything (SQLite opens a file it may not write read-only, and
    says so only at the first write)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute("CREATE TABLE palbench_write_probe (x)")
    finally:
        conn.execute("ROLLBACK")


def _use_wal(conn: sqlite3.Connection, patience: float = 60.0) -> None:
    """WAL mode (readers beside one writer), set once per file (an in-memory store keeps its
    own mode). Switching takes an exclusive lock without SQLite's busy handler, so processes
    opening a new store together retry."""
    deadline = time.monotonic() + patience
    while conn.execute("PRAGMA journal_mode").fetchone()[0] not in ("wal", "memory"):
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(random.uniform(0.005, 0.05))


def _plain(value):
    """A value sqlite3 can bind: numpy scalars to Python, NaN and missing to NULL."""
    if value is None:
        return None
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and value != value:
        return None
    return value


# SQLite errors that are palbench's bug (a broken constraint, a misused API), not the file's
BUG_ERRORS = (sqlite3.IntegrityError, sqlite3.ProgrammingError, sqlite3.InterfaceError)


class _transaction:
    """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on any error (autocommit connection). With
    `failure`, an SQLite error (a failed commit included) leaves as `failure(exc, why)`."""

    def __init__(self, conn: sqlite3.Connection, failure=None):
        self.conn = conn
        self.failure = failure

    def __enter__(self) -> sqlite3.Connection:
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.DatabaseError as exc:
            self._raise(exc)
        return self.conn

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            try:
                self.conn.execute("COMMIT")
                return False
            except sqlite3.DatabaseError as failed:  # a full disk shows at the commit
                exc = failed
        if self.conn.in_transaction:
            try:
                self.conn.execute("ROLLBACK")
            except sqlite3.DatabaseError:
                pass  # SQLite already rolled back; the first error is the one to tell
        if isinstance(exc, sqlite3.DatabaseError):
            self._raise(exc)
        return False

    def _raise(self, exc: sqlite3.DatabaseError):
        if self.failure is None or isinstance(exc, BUG_ERRORS):
            raise exc
        raise self.failure(exc, "cannot write the store, it may be damaged") from None
