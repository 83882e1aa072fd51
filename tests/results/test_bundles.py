"""Bundles carry everything: a store rebuilt from bundles equals the stores they came from in
every table (runs, checkpoints, answer logs, schema), whatever the run ids became."""

from __future__ import annotations

import json
import sqlite3
import zipfile

import pandas as pd
import pytest

from palbench.cli import main
from palbench.results.store import ResultsStore
from tests.conftest import SMALL_CONFIG

PAIR_GRID = """
[experiment]
name = "pairs"
seeds = [0]
budgets = [10, 20]
batch_size = 5
[dataset]
name = "blobs"
n_samples = 120
n_features = 4
n_classes = 3
[[strategy]]
name = "random_pairs"
[oracle]
name = "noisy_pair"
noise = 0.2
[learner]
name = "sklearn"
"""


def tables(path) -> dict[str, pd.DataFrame]:
    """Every table of a store, rows keyed by run_uid rather than the store's own run ids."""
    with sqlite3.connect(path) as conn:
        read = {name: pd.read_sql_query(f"SELECT * FROM {name}", conn)
                for name in ("runs", "checkpoints", "answers", "schema_version")}
    uid = read["runs"][["run_id", "run_uid"]]
    out = {"runs": read["runs"].drop(columns="run_id").sort_values("run_uid"),
           "schema_version": read["schema_version"]}
    for name, order in (("checkpoints", ["budget"]), ("answers", ["position", "worker"])):
        keyed = read[name].merge(uid, on="run_id").drop(columns="run_id")
        out[name] = keyed.sort_values(["run_uid", *order])
    return {k: plain(v) for k, v in out.items()}


def plain(frame: pd.DataFrame) -> pd.DataFrame:
    """Object columns with None for missing, so that frames read or joined compare equal."""
    frame = frame.reset_index(drop=True).astype(object)
    return frame.where(frame.notna(), None)


def union(*stores: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    joined = {}
    for name in stores[0]:
        frame = pd.concat([s[name] for s in stores], ignore_index=True)
        if name == "schema_version":
            frame = frame.drop_duplicates()
        else:
            keys = [c for c in ("run_uid", "budget", "position", "worker") if c in frame]
            frame = frame.sort_values(keys)
        joined[name] = plain(frame)
    return joined


@pytest.fixture(scope="module")
def two_stores(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bundles")
    made = []
    for name, text, tag in (("labels", SMALL_CONFIG, None), ("pairs", PAIR_GRID, "b")):
        config, store = folder / f"{name}.toml", folder / f"{name}.sqlite"
        config.write_text(text)
        argv = ["run", str(config), "--store", str(store), "--quiet"]
        assert main(argv + (["--tag", tag] if tag else [])) == 0
        made.append(store)
    return made


def test_a_store_rebuilt_from_bundles_equals_the_originals_in_every_table(two_stores,
                                                                           tmp_path):
    originals = [tables(s) for s in two_stores]
    assert (originals[1]["answers"]["kind"] == "pair").all() and len(originals[1]["answers"])
    assert (originals[0]["answers"]["kind"] == "label").all()
    rebuilt = tmp_path / "rebuilt.sqlite"
    for i, store in enumerate(two_stores):
        bundle = tmp_path / f"b{i}.zip"
        assert main(["export", "--store", str(store), "--format", "bundle", "--out",
                     str(bundle)]) == 0
        assert main(["import", str(bundle), "--store", str(rebuilt)]) == 0
        assert main(["import", str(bundle), "--store", str(rebuilt)]) == 0  # twice: no-op
    got, want = tables(rebuilt), union(*originals)
    for name in want:
        pd.testing.assert_frame_equal(got[name], want[name], check_dtype=False, obj=name)
    with ResultsStore(rebuilt) as store:  # the report's pair panels come back with the log
        pairs = store.runs().query("tag == 'b'").run_id
        assert store.pair_runs() == set(pairs)


def test_a_bundle_without_answer_log_still_imports(two_stores, tmp_path, capsys):
    """Bundles written before the log was carried: runs and checkpoints, no answers."""
    full, old = tmp_path / "full.zip", tmp_path / "old.zip"
    assert main(["export", "--store", str(two_stores[0]), "--format", "bundle", "--out",
                 str(full)]) == 0
    with zipfile.ZipFile(full) as source, zipfile.ZipFile(old, "w") as target:
        for member in ("manifest.json", "runs.jsonl", "checkpoints.jsonl"):
            target.writestr(member, source.read(member))
    store = tmp_path / "s.sqlite"
    assert main(["import", str(old), "--store", str(store)]) == 0
    assert "4 runs imported" in capsys.readouterr().out
    with ResultsStore(store) as s:
        assert s.answers().empty and len(s.to_frame()) == 12 and s.pair_runs() is None


def test_a_bundle_of_an_older_schema_imports_with_the_defaults_of_later_columns(
        two_stores, tmp_path):
    """Run columns added after a bundle was written (schema 7's stops, 9's reference-line
    flag and full-pool bound) take the values those runs had: none, 0, none."""
    full, old = tmp_path / "full.zip", tmp_path / "old.zip"
    assert main(["export", "--store", str(two_stores[0]), "--format", "bundle", "--out",
                 str(full)]) == 0
    with zipfile.ZipFile(full) as source, zipfile.ZipFile(old, "w") as target:
        for member in source.namelist():
            text = source.read(member).decode()
            if member == "runs.jsonl":
                rows = [json.loads(line) for line in text.splitlines() if line]
                for row in rows:
                    for column in ("stops_json", "reads_truth", "full_pool_acc"):
                        row.pop(column)
                text = "".join(json.dumps(row) + "\n" for row in rows)
            target.writestr(member, text)
    store = tmp_path / "s.sqlite"
    assert main(["import", str(old), "--store", str(store)]) == 0
    with ResultsStore(store) as s:
        runs = s.runs()
    assert len(runs) == 4 and (runs["reads_truth"] == 0).all()
    assert runs["full_pool_acc"].isna().all() and runs["stops_json"].isna().all()


def test_a_bundle_with_a_run_but_no_checkpoints_is_refused(two_stores, tmp_path, capsys):
    full, bad = tmp_path / "full.zip", tmp_path / "bad.zip"
    assert main(["export", "--store", str(two_stores[0]), "--format", "bundle", "--out",
                 str(full)]) == 0
    with zipfile.ZipFile(full) as source, zipfile.ZipFile(bad, "w") as target:
        for member in source.namelist():
            text = source.read(member).decode()
            if member == "checkpoints.jsonl":  # drop the first run's checkpoints
                lines = text.splitlines()
                first = lines[0].split(",")[0]
                text = "\n".join(x for x in lines if not x.startswith(first + ","))
            target.writestr(member, text)
    store = tmp_path / "s.sqlite"
    assert main(["import", str(bad), "--store", str(store)]) == 2
    assert "has no checkpoints" in capsys.readouterr().err
    assert not store.exists()


def test_a_snapshot_does_not_see_what_another_process_commits_meanwhile(two_stores, tmp_path):
    """Readers that read runs, then checkpoints (export, report, claims) see one state."""
    import shutil

    path = tmp_path / "s.sqlite"
    shutil.copy(two_stores[0], path)
    with ResultsStore(path) as reader, ResultsStore(two_stores[1]) as other:
        extra = other.runs(), other.checkpoints()
        with reader.snapshot():
            before = len(reader.runs())
            with ResultsStore(path) as writer:  # another connection commits a run
                renamed = extra[0].assign(run_uid="new", spec_hash="other")
                assert writer.add_runs(renamed, extra[1]) == (1, 0)
            assert len(reader.runs()) == before  # still the snapshot's state
            assert set(reader.checkpoints().run_id) == set(reader.runs().run_id)
        assert len(reader.runs()) == before + 1  # after it, the new run is there


def exact_rows(path) -> dict[str, list[tuple]]:
    """Every value of every table with its SQLite type, floats as their 8 bytes, keyed by
    run_uid (the store's own run ids differ between a store and its rebuilt copy)."""
    import struct

    def exact(value):
        return ("float", struct.pack("<d", value)) if isinstance(value, float) else \
            (type(value).__name__, value)

    out = {}
    with sqlite3.connect(path) as conn:
        uid = dict(conn.execute("SELECT run_id, run_uid FROM runs"))
        for name in ("runs", "checkpoints", "answers", "schema_version"):
            cursor = conn.execute(f"SELECT * FROM {name}")
            columns = [d[0] for d in cursor.description]
            rows = []
            for row in cursor:
                record = dict(zip(columns, row))
                if "run_id" in record:
                    record["run_id"] = uid[record["run_id"]]
                rows.append(tuple((k, *exact(v)) for k, v in sorted(record.items())))
            out[name] = sorted(rows, key=repr)
    return out


def test_every_value_survives_a_bundle_bit_for_bit(two_stores, tmp_path):
    """Not close: equal. Floats that 10 digits cannot hold (0.1 + 0.2, 1e-308, the largest
    double, an infinity), integers past 2**53 and text in any script come back as they were,
    with their SQLite types."""
    import shutil

    source = tmp_path / "source.sqlite"
    shutil.copy(two_stores[1], source)
    with sqlite3.connect(source) as conn:
        run_id = conn.execute("SELECT MIN(run_id) FROM runs").fetchone()[0]
        conn.execute("UPDATE checkpoints SET task_acc = 0.1 + 0.2, fit_seconds = 1e-308, "
                     "eval_seconds = 1.7976931348623157e308, select_seconds = 9e999, "
                     "balanced_acc = NULL WHERE run_id = ?", (run_id,))
        conn.execute("UPDATE runs SET seed = 9007199254740993, tag = 'ünï — 名前', "
                     "wall_seconds = 2.220446049250313e-16 WHERE run_id = ?", (run_id,))
    bundle, rebuilt = tmp_path / "b.zip", tmp_path / "rebuilt.sqlite"
    assert main(["export", "--store", str(source), "--format", "bundle", "--out",
                 str(bundle)]) == 0
    assert main(["import", str(bundle), "--store", str(rebuilt)]) == 0
    want, got = exact_rows(source), exact_rows(rebuilt)
    assert any(("select_seconds", "float", __import__("struct").pack("<d", float("inf")))
               in row for row in want["checkpoints"])
    for name in want:
        assert got[name] == want[name], name
