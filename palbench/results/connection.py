"""Opening the store file: where it is, the read-only and immutable URIs, the integrity check,
creating or migrating its schema under one lock, and every failure of the file (damaged, full
disk, read-only, locked) as one StoreError line.

Every open first checks the file (`PRAGMA integrity_check`: about 1.3 s for 10,000 runs with
320 answers each, `palbench bench store_open`) and refuses a damaged store before anything is
read from it or written into it. A store opened to read is never written: not created, not
migrated (an older schema is migrated in a copy in memory), opened read-only (`mode=ro`, or
`immutable=1` on read-only media). A store opened to write is proven writable before the
caller computes anything. Creating the schema, stamping its version and migrating an older
store happen in one immediate transaction, decided again once its lock is held: any number of
processes may open a new or an old store at the same moment, and it ends with one schema of
one version.
"""

from __future__ import annotations

import os
import random
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from palbench.errors import StoreError
from palbench.results.migrations import migrate
from palbench.results.schema import SCHEMA_VERSION, create_statements

STORE_ENV = "PALBENCH_STORE"
DEFAULT_STORE = "palbench.sqlite"
OPEN_MODES = ("write", "read")

# SQLite errors that are palbench's bug (a broken constraint, a misused API), not the file's
BUG_ERRORS = (sqlite3.IntegrityError, sqlite3.ProgrammingError, sqlite3.InterfaceError)


def store_path(cli_value: str | None) -> Path:
    return Path(cli_value or os.environ.get(STORE_ENV) or DEFAULT_STORE)


def connect(path: str | Path, mode: str) -> sqlite3.Connection:
    """The store at `path`, opened to write (created or migrated if need be) or to read
    (never written); a file that cannot be used is a StoreError."""
    if mode not in OPEN_MODES:
        raise ValueError(f"mode must be one of {OPEN_MODES}, not {mode!r}")
    file = Path(path)
    if file.is_dir():
        raise StoreError(path, f"is a folder; give a file, e.g. {str(file / DEFAULT_STORE)!r}")
    if mode == "read":
        if not file.exists():
            raise StoreError(path, "no such store; run 'palbench run' first")
        if file.stat().st_size == 0:
            raise StoreError(path, "not a palbench store (empty file)")
        return _connect_to_read(file)
    if not file.parent.is_dir():
        raise StoreError(path, f"folder {str(file.parent)!r} does not exist")
    return _connect_to_write(file)


@contextmanager
def _refusing(path: Path) -> Iterator[None]:
    """What SQLite says of a file it cannot open or read as one line (a StoreError)."""
    try:
        yield
    except UnicodeDecodeError:  # a damaged schema table holds bytes that are no text
        raise StoreError(path, "not a palbench store (its schema is not readable text: the "
                         "file may be damaged)") from None
    except sqlite3.DatabaseError as exc:
        raise failure(path, exc, "not a palbench store") from None


def _connect_to_write(path: Path) -> sqlite3.Connection:
    with _refusing(path):
        conn = sqlite3.connect(path, timeout=60, isolation_level=None)
        conn.execute("PRAGMA busy_timeout = 60000")
        conn.execute("PRAGMA foreign_keys = ON")
        _verify(conn, path)
        if _schema_version(conn, path) != SCHEMA_VERSION:
            with transaction(conn):  # one process at a time creates or migrates
                version = _schema_version(conn, path)  # again, under the lock
                if version is None:
                    for statement in create_statements():
                        conn.execute(statement)
                    conn.execute("INSERT INTO schema_version VALUES (?)", (SCHEMA_VERSION,))
                elif version < SCHEMA_VERSION:
                    migrate(conn, version, path)
        else:
            _prove_writable(conn)
        _use_wal(conn)
        return conn


def _connect_to_read(path: Path) -> sqlite3.Connection:
    """A read-only connection; an older schema is migrated in a copy in memory, never in the
    file."""
    with _refusing(path):
        conn = _read_only_connection(path)
        _verify(conn, path)
        version = _schema_version(conn, path)
        if version is None:
            raise StoreError(path, "not a palbench store (no tables)")
        if version < SCHEMA_VERSION:  # read as the current schema, in memory
            memory = sqlite3.connect(":memory:", isolation_level=None)
            conn.backup(memory)
            conn.close()
            conn = memory
            with transaction(conn):
                migrate(conn, version, path)
        return conn


def _read_only_connection(path: Path) -> sqlite3.Connection:
    """`mode=ro` (it sees what writers commit), else, where SQLite cannot keep its lock files
    beside the store (read-only media or folder), `immutable=1`."""
    uri = path.resolve().as_uri()
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


def _verify(conn: sqlite3.Connection, path: Path) -> None:
    """Refuse a damaged file before anything else touches it: SQLite's integrity_check (every
    page, every index against its table). quick_check alone, cheaper, missed an index damaged
    by a few bytes in 3 of 600 tries (docs/reliability.md)."""
    rows = [str(r[0]) for r in conn.execute("PRAGMA integrity_check").fetchall()]
    if rows != ["ok"]:
        problems = [line.strip() for row in rows for line in row.splitlines()
                    if line.strip() and not line.startswith("***")]
        first = problems[0][:100] if problems else "no detail"
        raise StoreError(path, f"the store is damaged (integrity_check: {first}; "
                         f"{len(problems)} problem(s)); nothing was read from or written into "
                         "it: restore it from a backup or a bundle")


def _schema_version(conn: sqlite3.Connection, path: Path) -> int | None:
    """The store's schema version; None for an empty file; refuses other files and newer
    schemas."""
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    if "schema_version" not in tables:
        if tables:
            raise StoreError(path, "an SQLite file, but not a palbench store")
        return None
    (version,) = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
    if not isinstance(version, int):
        raise StoreError(path, "not a palbench store (no schema version)")
    if version > SCHEMA_VERSION:
        raise StoreError(path, f"written by a newer palbench (schema {version}; this one "
                         f"reads up to {SCHEMA_VERSION}); upgrade palbench")
    return version


def failure(path: Path, exc: sqlite3.DatabaseError, otherwise: str) -> StoreError:
    """One line for what SQLite said: the cause when it is the disk or the permissions, else
    `otherwise` (a damaged file)."""
    message = str(exc).splitlines()[0][-120:] if str(exc) else type(exc).__name__
    if "full" in message or "disk I/O" in message:
        return StoreError(path, f"cannot write the store ({message}): the disk is full or a "
                          "file-size limit was reached")
    if "readonly" in message or "unable to open" in message:
        return StoreError(path, f"cannot write the store ({message})")
    if "locked" in message or "busy" in message:
        return StoreError(path, f"another process kept the store locked for over a minute "
                          f"({message})")
    return StoreError(path, f"{otherwise} ({message})")


def damaged(path: Path, exc: Exception) -> StoreError:
    """A read that failed (SQLite's error, or bytes that are no text) as one line."""
    if isinstance(exc, sqlite3.DatabaseError):
        return failure(path, exc, "cannot read the store, it may be damaged")
    return StoreError(path, f"cannot read the store, it may be damaged ({exc})")


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


class transaction:
    """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on any error (autocommit connection). With the
    store's `path`, an SQLite error (a failed commit included) leaves as a StoreError naming
    it; without, as SQLite raised it (the caller turns it into one line)."""

    def __init__(self, conn: sqlite3.Connection, path: Path | None = None):
        self.conn = conn
        self.path = path

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
        if self.path is None or isinstance(exc, BUG_ERRORS):
            raise exc
        raise failure(self.path, exc, "cannot write the store, it may be damaged") from None
