"""ResultsStore: schema, provenance, atomic runs, refusing what it cannot read."""

from __future__ import annotations

import json
import sqlite3

import pytest

from palbench.bench.config import load_plan
from palbench.bench.loop import run_cell
from palbench.results.store import SCHEMA_VERSION, ResultsStore, StoreError
from tests.conftest import SMALL_CONFIG


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    path = tmp_path_factory.mktemp("cfg") / "c.toml"
    path.write_text(SMALL_CONFIG)
    plan = load_plan(path)
    cell = plan.cells[0]
    return run_cell(cell, plan.datasets[cell.dataset.label])


def test_run_row_records_provenance(tmp_path, finished):
    with ResultsStore(tmp_path / "s.sqlite") as store:
        run_id = store.write_run(finished)
        run = store.runs().set_index("run_id").loc[run_id]
    cell = finished.cell
    assert run.spec_hash == cell.spec_hash() and len(run.spec_hash) == 64
    assert json.loads(run.spec_json)["dataset"]["fingerprint"] == cell.dataset_fingerprint
    assert run.dataset_fingerprint == cell.dataset_fingerprint
    seeds = json.loads(run.seeds_json)
    assert seeds["root"] == cell.seed and {"strategy", "oracle", "learner"} <= set(seeds)
    versions = json.loads(run.library_versions_json)
    assert {"python", "numpy", "torch", "scikit-learn"} <= set(versions)
    assert run.palbench_version and run.device == "cpu"


def test_wal_mode_and_schema_version(tmp_path, finished):
    path = tmp_path / "s.sqlite"
    ResultsStore(path).close()
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]


def test_checkpoint_rows_and_frame(tmp_path, finished):
    with ResultsStore(tmp_path / "s.sqlite") as store:
        store.write_run(finished)
        frame = store.to_frame()
        assert list(frame.budget) == [6.0, 12.0, 24.0]
        assert list(frame.cost) == [6.0, 12.0, 24.0]
        assert frame.probe_acc.isna().all()  # sklearn learner: no embedding
        assert store.to_frame(strategy="no-such").empty
        assert store.complete_hashes() == {finished.cell.spec_hash()}


def test_replace_keeps_one_run_per_spec(tmp_path, finished):
    with ResultsStore(tmp_path / "s.sqlite") as store:
        store.write_run(finished)
        store.write_run(finished, replace=True)
        assert len(store.runs()) == 1
        assert len(store.to_frame()) == 3


def test_failed_write_leaves_nothing(tmp_path, finished):
    import copy

    broken = copy.copy(finished)
    broken.checkpoints = finished.checkpoints + [finished.checkpoints[0]]  # duplicate budget
    with ResultsStore(tmp_path / "s.sqlite") as store:
        with pytest.raises(sqlite3.IntegrityError):
            store.write_run(broken)
        assert store.runs().empty and store.to_frame().empty


def test_newer_schema_is_refused(tmp_path):
    path = tmp_path / "s.sqlite"
    ResultsStore(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE schema_version SET version = ?", (SCHEMA_VERSION + 1,))
    with pytest.raises(StoreError, match="newer palbench"):
        ResultsStore(path)


def test_other_files_are_refused(tmp_path):
    text = tmp_path / "notes.sqlite"
    text.write_text("hello, this is not a database" * 100)
    with pytest.raises(StoreError, match="not a palbench store"):
        ResultsStore(text)
    other = tmp_path / "other.sqlite"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE t (x)")
    with pytest.raises(StoreError, match="not a palbench store"):
        ResultsStore(other)
    with pytest.raises(StoreError, match="does not exist"):
        ResultsStore(tmp_path / "missing" / "s.sqlite")
    with pytest.raises(StoreError, match="no such store"):
        ResultsStore(tmp_path / "absent.sqlite", create=False)
