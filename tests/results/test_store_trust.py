"""A damaged store is refused on every command and never written; a read never writes (an
empty file stays empty, an older store is not migrated, a store on read-only media is read);
a run into a store it cannot write fails before any cell is computed."""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
import subprocess
from pathlib import Path

import numpy as np
import pytest

from palbench.cli import main
from tests.results.test_reliability import tmpfs

GRID = """
[experiment]
seeds = [0, 1]
budgets = [6, 12]
batch_size = 3
probe = false
[dataset]
name = "blobs"
n_samples = 200
[[strategy]]
name = "random"
[[strategy]]
name = "margin"
[learner]
name = "sklearn"
"""
MORE = GRID.replace("seeds = [0, 1]", "seeds = [0, 1, 2]")
CLAIMS = ('[[claim]]\nname = "c"\ndataset = "blobs"\nstrategy = "random"\n'
          'metric = "final_acc"\nat_least = 0.1\n')


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """A small store folded into one file (no WAL beside it), a grid with a cell more, a
    bundle of the store and a claim about it."""
    folder = tmp_path_factory.mktemp("trust")
    (folder / "grid.toml").write_text(GRID)
    (folder / "more.toml").write_text(MORE)
    (folder / "claims.toml").write_text(CLAIMS)
    store = folder / "s.sqlite"
    assert main(["run", str(folder / "grid.toml"), "--store", str(store), "--quiet"]) == 0
    assert main(["export", "--store", str(store), "--format", "bundle", "--out",
                 str(folder / "b.zip")]) == 0
    conn = sqlite3.connect(store)
    conn.execute("PRAGMA journal_mode = DELETE")  # the whole store in one file
    conn.close()
    return folder


def commands(inputs: Path, store: Path, out: Path) -> dict[str, list[str]]:
    """Every command that opens a store."""
    s = ["--store", str(store)]
    return {"run": ["run", str(inputs / "more.toml"), *s, "--quiet"],
            "import": ["import", str(inputs / "b.zip"), *s],
            "report": ["report", *s, "--out", str(out / "report")],
            "check": ["check", str(inputs / "claims.toml"), *s, "--no-run"],
            "export csv": ["export", *s, "--out", str(out / "rows.csv")],
            "export bundle": ["export", *s, "--format", "bundle", "--out", str(out / "o.zip")],
            "compare": ["compare", *s, "--baseline", "a", "--candidate", "b"]}


READS = ("report", "check", "export csv", "export bundle", "compare")


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def integrity_fails(path: Path) -> bool:
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
            return conn.execute("PRAGMA integrity_check").fetchall() != [("ok",)]
    except (sqlite3.DatabaseError, UnicodeDecodeError):
        return True


def one_error_line(err: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("palbench: error: store = "), err
    return lines[0]


def test_a_damaged_store_is_refused_on_every_command_and_never_written(inputs, tmp_path,
                                                                       capsys):
    """4 KiB of random bytes at every 1 KiB offset of the file: each copy that fails
    SQLite's integrity_check is refused by all 7 commands with one line and exit 2, and its
    bytes are the same afterwards."""
    source = inputs / "s.sqlite"
    size = source.stat().st_size
    rng = np.random.default_rng(0)
    damaged_copies = 0
    for offset in range(0, size, 1024):
        folder = tmp_path / f"at{offset}"
        folder.mkdir()
        store = folder / "s.sqlite"
        data = bytearray(source.read_bytes())
        data[offset:offset + 4096] = rng.bytes(4096)[:len(data[offset:offset + 4096])]
        store.write_bytes(bytes(data))
        if not integrity_fails(store):
            continue
        damaged_copies += 1
        before = digest(store)
        for name, argv in commands(inputs, store, folder).items():
            code = main(argv)
            err = capsys.readouterr().err
            assert code == 2, (offset, name, err)
            one_error_line(err)
            assert digest(store) == before, (offset, name)
        assert not (folder / "report").exists() and not (folder / "rows.csv").exists()
    assert damaged_copies >= size // 1024 - 2  # nearly every offset damages the file
    print(f"{damaged_copies} damaged copies of a {size}-byte store, each refused 7 times")


def test_an_empty_file_is_not_a_store_and_stays_empty(inputs, tmp_path, capsys):
    store = tmp_path / "empty.sqlite"
    store.write_bytes(b"")
    for name in READS:
        assert main(commands(inputs, store, tmp_path)[name]) == 2, name
        line = one_error_line(capsys.readouterr().err)
        assert line.endswith("not a palbench store (empty file)"), line
        assert store.stat().st_size == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty.sqlite"]


def test_reading_an_older_store_leaves_its_file_as_it_was(tmp_path, capsys):
    """A schema-1 store is read (migrated in memory), never migrated in place."""
    store = tmp_path / "v1.sqlite"
    shutil.copy(Path(__file__).parents[1] / "fixtures" / "store_v1.sqlite", store)
    before = digest(store)
    assert main(["report", "--store", str(store), "--out", str(tmp_path / "r")]) == 0
    assert main(["export", "--store", str(store), "--out", str(tmp_path / "rows.csv")]) == 0
    assert digest(store) == before
    with sqlite3.connect(store) as conn:
        assert conn.execute("SELECT MAX(version) FROM schema_version").fetchone() == (1,)


def test_a_store_on_read_only_media_is_read_by_every_read_command(inputs, tmp_path, capsys):
    with tmpfs(tmp_path / "media", "size=2m") as media:
        shutil.copy(inputs / "s.sqlite", media / "s.sqlite")
        conn = sqlite3.connect(media / "s.sqlite")  # as stores are kept: WAL mode
        conn.execute("PRAGMA journal_mode = WAL")
        conn.close()
        subprocess.run(["mount", "-o", "remount,ro", str(media)], check=True)
        store = media / "s.sqlite"
        before = digest(store)
        for name in READS:  # compare reads the store, then finds no such tags
            code = main(commands(inputs, store, tmp_path)[name])
            err = capsys.readouterr().err
            assert (code, err.split(" = ")[0]) == ((2, "palbench: error: --baseline")
                                                   if name == "compare" else (0, "")), err
        assert digest(store) == before and sorted(p.name for p in media.iterdir()) == \
            ["s.sqlite"]
        assert (tmp_path / "report" / "index.html").exists()


def test_a_run_into_a_store_it_cannot_write_fails_before_computing_a_cell(
        inputs, tmp_path, capsys, monkeypatch):
    import palbench.bench.loop as loop

    computed = []
    monkeypatch.setattr(loop, "run_lockstep", lambda *a, **k: computed.append(a) or [])
    with tmpfs(tmp_path / "media", "size=2m") as media:
        shutil.copy(inputs / "s.sqlite", media / "s.sqlite")
        subprocess.run(["mount", "-o", "remount,ro", str(media)], check=True)
        store = media / "s.sqlite"
        before = digest(store)
        for name in ("run", "import"):
            assert main(commands(inputs, store, tmp_path)[name]) == 2
            line = one_error_line(capsys.readouterr().err)
            assert "cannot write the store" in line, line
        assert computed == [] and digest(store) == before
