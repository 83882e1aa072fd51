"""ResultsStore: schema, provenance, atomic runs, refusing what it cannot read."""

from __future__ import annotations

import json
import sqlite3

import pytest

from palbench.bench.config import load_plan
from palbench.bench.loop import run_cell
from palbench.errors import StoreError
from palbench.results.schema import SCHEMA_VERSION
from palbench.results.store import ResultsStore
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
        ResultsStore(tmp_path / "absent.sqlite", mode="read")


def test_schema_1_store_is_migrated_in_place(tmp_path):
    import shutil
    from pathlib import Path

    fixture = Path(__file__).parents[1] / "fixtures" / "store_v1.sqlite"
    path = tmp_path / "old.sqlite"
    shutil.copy(fixture, path)
    before = sqlite3.connect(path).execute("SELECT COUNT(*) FROM checkpoints").fetchone()[0]
    with ResultsStore(path) as store:
        runs = store.runs()
        assert len(runs) == 4 and runs.tag.isna().all()
        assert runs.run_uid.str.len().eq(32).all() and runs.run_uid.is_unique
        assert len(store.to_frame()) == before == 8
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]


def test_failed_migration_leaves_the_old_store(tmp_path, monkeypatch):
    import shutil
    from pathlib import Path

    from palbench.results import migrations

    path = tmp_path / "old.sqlite"
    shutil.copy(Path(__file__).parents[1] / "fixtures" / "store_v1.sqlite", path)

    def broken(conn):
        conn.execute("ALTER TABLE runs ADD COLUMN tag TEXT")
        raise sqlite3.OperationalError("disk on fire")

    monkeypatch.setitem(migrations.MIGRATIONS, 1, broken)
    with pytest.raises(StoreError, match="failed, the store is unchanged"):
        ResultsStore(path)
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT version FROM schema_version").fetchall() == [(1,)]
    columns = [r[1] for r in conn.execute("PRAGMA table_info(runs)")]
    assert "tag" not in columns


def test_tags_and_versions_keep_results_side_by_side(tmp_path, finished):
    with ResultsStore(tmp_path / "s.sqlite") as store:
        store.write_run(finished)
        store.write_run(finished, tag="candidate")
        assert store.complete_hashes() == store.complete_hashes("candidate") == \
            {finished.cell.spec_hash()}
        assert store.complete_hashes(version="0.0.1") == set()
        store.write_run(finished, replace=True, tag="candidate")
        runs = store.runs()
        assert sorted(runs.tag.fillna("-")) == ["-", "candidate"]
        assert len(store.to_frame(tag="candidate")) == 3 and len(store.to_frame(tag=None)) == 3


def test_bundle_roundtrip_is_idempotent_and_parquet_matches_csv(tmp_path, finished, capsys):
    import zipfile

    import pandas as pd

    from palbench.cli import main

    source = tmp_path / "a.sqlite"
    with ResultsStore(source) as store:
        store.write_run(finished, tag="shared")
    bundle = tmp_path / "runs.zip"
    assert main(["export", "--store", str(source), "--format", "bundle", "--out",
                 str(bundle)]) == 0
    target = tmp_path / "b.sqlite"
    assert main(["import", str(bundle), "--store", str(target)]) == 0
    assert main(["import", str(bundle), "--store", str(target)]) == 0
    out = capsys.readouterr().out
    assert "1 runs imported, 0 already" in out and "0 runs imported, 1 already" in out
    with ResultsStore(source) as a, ResultsStore(target) as b:
        cols = ["spec_hash", "tag", "run_uid", "palbench_version", "seeds_json"]
        pd.testing.assert_frame_equal(a.runs()[cols], b.runs()[cols])
        pd.testing.assert_frame_equal(a.to_frame().drop(columns="run_id"),
                                      b.to_frame().drop(columns="run_id"))
    for fmt in ("csv", "parquet"):
        assert main(["export", "--store", str(target), "--format", fmt, "--out",
                     str(tmp_path / f"rows.{fmt}")]) == 0
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "rows.csv"),
                                  pd.read_parquet(tmp_path / "rows.parquet"), check_dtype=False)
    # a crafted archive: member names cannot point outside, and it is not a bundle anyway
    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as archive:
        archive.writestr("../../escape.txt", "x")
    assert main(["import", str(evil), "--store", str(tmp_path / "c.sqlite")]) == 2
    assert "not a palbench bundle" in capsys.readouterr().err
    assert not (tmp_path / "c.sqlite").exists() and not (tmp_path.parent / "escape.txt").exists()


def test_a_complete_cell_is_stored_once(tmp_path, finished):
    """The second writer of the same spec, version and tag (another process that ran the same
    cell) gets None and its copy is dropped; another tag is another cell."""
    with ResultsStore(tmp_path / "s.sqlite") as store:
        assert store.write_run(finished) is not None
        assert store.write_run(finished) is None
        assert store.write_run(finished, tag="other") is not None
        assert len(store.runs()) == 2


def _schema_2_store_with_duplicates(path, finished, copies: int) -> int:
    """A schema-2 store (no unique complete-cell index) holding `copies` extra copies of one
    run, as overlapping runs of palbench 0.1 left them. Returns the first run's id."""
    with ResultsStore(path) as store:
        first = store.write_run(finished)
    conn = sqlite3.connect(path)
    conn.execute("DROP INDEX runs_complete")
    conn.execute("ALTER TABLE checkpoints DROP COLUMN pretrain_seconds")  # added in schema 4
    conn.execute("ALTER TABLE runs DROP COLUMN selection_learner")  # added in schema 6
    conn.execute("ALTER TABLE runs DROP COLUMN stops_json")  # added in schema 7
    conn.execute("ALTER TABLE checkpoints DROP COLUMN balanced_acc")  # added in schema 8
    conn.execute("ALTER TABLE checkpoints DROP COLUMN macro_f1")
    conn.execute("ALTER TABLE runs DROP COLUMN reads_truth")  # added in schema 9
    conn.execute("ALTER TABLE runs DROP COLUMN full_pool_acc")
    columns = [r[1] for r in conn.execute("PRAGMA table_info(runs)") if r[1] != "run_id"]
    for i in range(copies):
        select = ", ".join(f"'copy{i}'" if c == "run_uid" else c for c in columns)
        run_id = conn.execute(f"INSERT INTO runs ({', '.join(columns)}) SELECT {select} FROM "
                              "runs WHERE run_id = ?", (first,)).lastrowid
        conn.execute("INSERT INTO checkpoints SELECT ?, budget, cost, n_queries, n_free, "
                     "n_labels, n_abstain, n_wrong, n_components, n_conflicts, task_acc, "
                     "probe_acc, select_seconds, fit_seconds, eval_seconds FROM checkpoints "
                     "WHERE run_id = ?", (run_id, first))
    conn.execute("UPDATE schema_version SET version = 2")
    conn.commit()
    conn.close()
    return first


def test_schema_2_store_with_duplicates_is_repaired_by_the_migration(tmp_path, finished,
                                                                     capsys):
    path = tmp_path / "dup.sqlite"
    first = _schema_2_store_with_duplicates(path, finished, copies=2)
    with ResultsStore(path) as store:
        runs = store.runs()
        assert runs.run_id.tolist() == [first]  # the first copy is kept
        assert len(store.to_frame()) == len(finished.checkpoints)
        assert store.write_run(finished) is None  # and the cell stays unique
    assert "removed 2 duplicate run(s)" in capsys.readouterr().err
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]
    assert conn.execute("SELECT COUNT(*) FROM checkpoints").fetchone()[0] == \
        len(finished.checkpoints)


def test_store_export_and_report_agree_on_the_columns(tmp_path, finished):
    """One definition (results/schema.py): the SQL table, the frame, the exports and the
    report's metric choices all follow it."""
    import dataclasses

    from palbench.cli import build_parser
    from palbench.results.schema import CHECKPOINT_FIELDS, EXPORT_COLUMNS, METRICS, Checkpoint

    path = tmp_path / "s.sqlite"
    with ResultsStore(path) as store:
        store.write_run(finished)
        frame = store.to_frame()
    table = [r[1] for r in sqlite3.connect(path).execute("PRAGMA table_info(checkpoints)")]
    assert table == ["run_id"] + CHECKPOINT_FIELDS
    assert CHECKPOINT_FIELDS == [f.name for f in dataclasses.fields(Checkpoint)]
    assert set(CHECKPOINT_FIELDS) <= set(frame.columns)
    assert set(EXPORT_COLUMNS) <= set(frame.columns)
    assert set(METRICS) <= set(EXPORT_COLUMNS) and set(METRICS) <= set(CHECKPOINT_FIELDS)
    report = next(a for a in build_parser()._subparsers._group_actions[0].choices[
        "report"]._actions if a.dest == "metric")
    assert tuple(report.choices) == tuple(METRICS)
    from palbench.cli import main

    out = tmp_path / "rows.csv"
    assert main(["export", "--store", str(path), "--out", str(out)]) == 0
    import pandas as pd

    assert list(pd.read_csv(out).columns) == EXPORT_COLUMNS
