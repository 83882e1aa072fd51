"""The store's schema versions: MIGRATIONS[v] turns a store of schema v into schema v + 1.

`migrate` runs them inside the caller's transaction (all steps or none). A new schema version
is one function here, its entry in MIGRATIONS, and SCHEMA_VERSION in schema.py.
"""

from __future__ import annotations

import hashlib
import sqlite3
import sys
from pathlib import Path

from palbench.errors import StoreError
from palbench.results.schema import (
    COMPLETE_KEY,
    SCHEMA_VERSION,
    SELF,
    STUDY_STATEMENTS,
    answers_statements,
)


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


def _migrate_10_to_11(conn: sqlite3.Connection) -> None:
    """Schema 11: each answer's listed price and what the oracle charged for it (NULL for the
    runs before, which were charged their listed prices). A store migrated from before
    schema 5 got today's answers table from _migrate_4_to_5 and has them already."""
    have = {row[1] for row in conn.execute("PRAGMA table_info(answers)")}
    for column in ("listed_seconds", "charged_seconds"):
        if column not in have:
            conn.execute(f"ALTER TABLE answers ADD COLUMN {column} REAL")


MIGRATIONS = {1: _migrate_1_to_2, 2: _migrate_2_to_3, 3: _migrate_3_to_4, 4: _migrate_4_to_5,
              5: _migrate_5_to_6, 6: _migrate_6_to_7, 7: _migrate_7_to_8, 8: _migrate_8_to_9,
              9: _migrate_9_to_10, 10: _migrate_10_to_11}


def migrate(conn: sqlite3.Connection, version: int, path: Path) -> None:
    """Bring the store at `path` from schema `version` up to SCHEMA_VERSION in place, inside
    the caller's transaction (all steps or none); what a step changed in the rows is said on
    stderr. A failed step is a StoreError, and the caller's rollback leaves the store as it
    was."""
    start = version
    try:
        while version < SCHEMA_VERSION:
            note = MIGRATIONS[version](conn)
            if note:
                print(f"palbench: store {path}: {note}", file=sys.stderr)
            version += 1
        conn.execute("DELETE FROM schema_version")
        conn.execute("INSERT INTO schema_version VALUES (?)", (version,))
    except sqlite3.DatabaseError as exc:
        raise StoreError(path, f"migrating schema {start} to {SCHEMA_VERSION} "
                         f"failed, the store is unchanged ({exc})") from None
