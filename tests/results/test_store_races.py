"""The store's birth and migration under concurrency: N processes open one new store (or one
schema-1 store) at the same instant, round after round; every open succeeds, and each store
ends with one schema of one version and, when migrated, every row it had."""

from __future__ import annotations

import multiprocessing
import shutil
import sqlite3
from pathlib import Path

import pytest

from palbench.results.schema import SCHEMA_VERSION, create_statements
from palbench.results.store import ResultsStore

ROUNDS = 50
FIXTURE = Path(__file__).parents[1] / "fixtures" / "store_v1.sqlite"


def open_together(paths: list[str], barrier, failures) -> None:
    """In a worker process: for each path, wait for every other process, then open it."""
    for path in paths:
        barrier.wait(timeout=120)
        try:
            ResultsStore(path).close()
        except Exception as exc:  # noqa: BLE001  (reported to the test, which fails on it)
            failures.put(f"{path}: {exc}")


def open_in_processes(paths: list[Path], n: int) -> list[str]:
    context = multiprocessing.get_context("spawn")
    barrier, failures = context.Barrier(n), context.Queue()
    workers = [context.Process(target=open_together, args=([str(p) for p in paths], barrier,
                                                           failures)) for _ in range(n)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=300)
        assert worker.exitcode == 0
    found = []
    while not failures.empty():
        found.append(failures.get())
    return found


def schema_of(path: Path) -> tuple[list[tuple], set[str]]:
    with sqlite3.connect(path) as conn:
        versions = conn.execute("SELECT version FROM schema_version").fetchall()
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master "
                                            "WHERE name NOT LIKE 'sqlite_%'")}
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    return versions, names


def fresh_schema_names() -> set[str]:
    conn = sqlite3.connect(":memory:")
    for statement in create_statements():
        conn.execute(statement)
    return {r[0] for r in conn.execute("SELECT name FROM sqlite_master "
                                       "WHERE name NOT LIKE 'sqlite_%'")}


@pytest.mark.parametrize("n", [2, 8])
def test_processes_creating_one_store_together_all_succeed(n, tmp_path):
    paths = [tmp_path / f"new{r}.sqlite" for r in range(ROUNDS)]
    assert open_in_processes(paths, n) == []
    expected = fresh_schema_names()
    for path in paths:
        assert schema_of(path) == ([(SCHEMA_VERSION,)], expected)


@pytest.mark.parametrize("n", [2, 8])
def test_processes_migrating_one_old_store_together_all_succeed(n, tmp_path):
    paths = [tmp_path / f"old{r}.sqlite" for r in range(ROUNDS)]
    for path in paths:
        shutil.copy(FIXTURE, path)
    with sqlite3.connect(FIXTURE) as conn:
        assert conn.execute("SELECT version FROM schema_version").fetchone() == (1,)
        checkpoints = conn.execute("SELECT COUNT(*) FROM checkpoints").fetchone()[0]
    assert open_in_processes(paths, n) == []
    expected = fresh_schema_names()
    for path in paths:
        assert schema_of(path) == ([(SCHEMA_VERSION,)], expected)
        with ResultsStore(path) as store:
            assert len(store.runs()) == 4 and len(store.to_frame()) == checkpoints
