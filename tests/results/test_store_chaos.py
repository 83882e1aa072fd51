"""Mixed concurrent use of one store, with SIGKILL at random moments: processes run two
overlapping grids, report, export rows and bundles, and import bundles, a few at a time, and
some are killed. Throughout and at the end every invariant holds: no cell twice, no run
without all of its checkpoints, no answer row without its run, every reader (the test's own,
each export and each report) saw whole runs only; a last run completes the grid with a lone
run's rows. The seed of each schedule is in the test id: a failure is replayed by its id."""

from __future__ import annotations

import json
import signal
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from palbench.cli import main
from palbench.results.export import read_bundle
from palbench.results.schema import COMPLETE_KEY
from tests.results.test_reliability import OVERLAP_GRID, palbench, rows, stored_runs

GRID_B = OVERLAP_GRID.replace('name = "faults"', 'name = "other"').replace(
    "seeds = [0, 1, 2, 3, 4, 5]", "seeds = [0, 1, 2]")
BUDGETS = 3  # checkpoints a run of either grid has
ACTIONS = ("run", "run", "run_b", "report", "export_csv", "export_bundle", "import",
           "import_same")


@dataclass
class Job:
    action: str
    process: object
    out: Path
    kill_at: float | None
    store_was_empty: bool  # when it started: a reader may then refuse, in one line
    killed: bool = False


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """The two grids, a lone run of the first (the reference rows), and two bundles: one of
    the same grid's runs (its cells compete with the runs) and one of a third experiment."""
    folder = tmp_path_factory.mktemp("chaos")
    grid, grid_b, third = folder / "grid.toml", folder / "grid_b.toml", folder / "third.toml"
    grid.write_text(OVERLAP_GRID)
    grid_b.write_text(GRID_B)
    third.write_text(OVERLAP_GRID.replace('name = "faults"', 'name = "third"')
                     .replace("seeds = [0, 1, 2, 3, 4, 5]", "seeds = [7, 8]"))
    alone, elsewhere = folder / "alone.sqlite", folder / "third.sqlite"
    assert main(["run", str(grid), "--store", str(alone), "--quiet"]) == 0
    assert main(["run", str(third), "--store", str(elsewhere), "--quiet"]) == 0
    for store, bundle in ((alone, "same.zip"), (elsewhere, "third.zip")):
        assert main(["export", "--store", str(store), "--format", "bundle", "--out",
                     str(folder / bundle)]) == 0
    return {"grid": grid, "grid_b": grid_b, "same": folder / "same.zip",
            "third": folder / "third.zip", "reference": rows(alone)}


def start(action: str, store: Path, inputs: dict, out: Path):
    s = ["--store", str(store)]
    argv = {"run": ["run", str(inputs["grid"]), *s, "--quiet"],
            "run_b": ["run", str(inputs["grid_b"]), *s, "--quiet"],
            "report": ["report", *s, "--out", str(out)],
            "export_csv": ["export", *s, "--out", str(out)],
            "export_bundle": ["export", *s, "--format", "bundle", "--out", str(out)],
            "import": ["import", str(inputs["third"]), *s],
            "import_same": ["import", str(inputs["same"]), *s]}[action]
    return palbench(*argv)


def store_is_whole(store: Path) -> None:
    """The invariants, read in one snapshot as any reader would."""
    with sqlite3.connect(f"file:{store}?mode=ro", uri=True, timeout=60) as conn:
        conn.execute("BEGIN")
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master "
                                             "WHERE type = 'table'")}
        if not tables:  # a file opened (or its opener killed) before its schema: a new store
            return
        assert tables == {"schema_version", "runs", "checkpoints", "answers", "studies"}, tables
        counts = dict(conn.execute("SELECT r.run_id, COUNT(c.run_id) FROM runs r "
                                   "LEFT JOIN checkpoints c USING (run_id) GROUP BY r.run_id"))
        assert all(n == BUDGETS for n in counts.values()), counts
        orphans = conn.execute("SELECT COUNT(*) FROM checkpoints WHERE run_id NOT IN "
                               "(SELECT run_id FROM runs)").fetchone()[0]
        orphans += conn.execute("SELECT COUNT(*) FROM answers WHERE run_id NOT IN "
                                "(SELECT run_id FROM runs)").fetchone()[0]
        assert orphans == 0
        twice = conn.execute(f"SELECT COUNT(*) FROM (SELECT {COMPLETE_KEY} FROM runs GROUP BY "
                             f"{COMPLETE_KEY} HAVING COUNT(*) > 1)").fetchone()[0]
        assert twice == 0
        assert len(counts) == 0 or conn.execute(
            "SELECT COUNT(DISTINCT run_id) FROM answers").fetchone()[0] == len(counts)
        conn.execute("COMMIT")


def output_is_whole(job: Job) -> None:
    """What a finished reader wrote holds whole runs (it read one state of the store)."""
    if job.action == "export_csv":
        frame = pd.read_csv(job.out)
        assert (frame.groupby("run_id").size() == BUDGETS).all()
    elif job.action == "export_bundle":
        runs, checkpoints, answers = read_bundle(job.out)
        assert (checkpoints.groupby("run_id").size() == BUDGETS).all()
        assert set(checkpoints.run_id) == set(runs.run_id) and answers is not None
        assert set(answers.run_id) == set(runs.run_id)
    elif job.action == "report":
        assert (job.out / "leaderboard.md").exists() and (job.out / "index.html").exists()


def chaos(seed: int, n_jobs: int, tmp_path: Path, inputs: dict) -> dict:
    rng = np.random.default_rng(seed)
    store = tmp_path / "shared.sqlite"
    # the first job is a run killed just after the store's first write (so every schedule
    # kills a writer mid-grid); the others are random, and half of them get a random kill
    waiting = [str(a) for a in rng.choice(ACTIONS, size=n_jobs - 1)] + ["run"]
    running: list[Job] = []
    first: Job | None = None
    tally = {"jobs": n_jobs, "killed": 0, "reads": 0}
    while waiting or running:
        while waiting and len(running) < 3:
            action = waiting.pop()
            out = tmp_path / f"{len(waiting)}-{action}"
            out = out.with_suffix({"export_csv": ".csv", "export_bundle": ".zip"}.get(action,
                                                                                        ""))
            kill_at = time.monotonic() + rng.uniform(0.3, 4.0) if rng.random() < 0.5 else None
            empty = stored_runs(store) == 0
            running.append(Job(action, start(action, store, inputs, out), out, kill_at, empty))
            if first is None:
                first, running[-1].kill_at = running[-1], None
        time.sleep(0.05)
        if first is not None and first.kill_at is None and not first.killed and \
                stored_runs(store) > 0:
            first.kill_at = time.monotonic() + rng.uniform(0.0, 0.3)
        for job in list(running):
            if job.kill_at is not None and time.monotonic() > job.kill_at and \
                    job.process.poll() is None:
                job.process.send_signal(signal.SIGKILL)
                job.killed = True
            if job.process.poll() is None:
                continue
            _, err = job.process.communicate()
            running.remove(job)
            if job.killed:
                tally["killed"] += 1
                continue
            if job.store_was_empty and job.process.returncode == 2:
                assert ("no such store" in err or "holds no runs yet" in err) and \
                    err.count("\n") == 1, err
                continue
            assert job.process.returncode == 0, f"{job.action}: {err}"
            assert "locked" not in err, err
            output_is_whole(job)
        if store.exists():
            store_is_whole(store)
            tally["reads"] += 1
    store_is_whole(store)
    finish = palbench("run", str(inputs["grid"]), "--store", str(store), "--quiet")
    assert finish.wait(timeout=300) == 0
    store_is_whole(store)
    mine = rows(store)
    mine = mine[mine.experiment == "faults"].reset_index(drop=True)
    pd.testing.assert_frame_equal(mine, inputs["reference"])
    with sqlite3.connect(store) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    return tally


@pytest.mark.parametrize("seed", [0, 1])
def test_mixed_concurrent_use_with_random_kills_keeps_every_invariant(seed, tmp_path, inputs):
    tally = chaos(seed, n_jobs=10, tmp_path=tmp_path, inputs=inputs)
    print(json.dumps(tally))
    assert tally["reads"] > 0 and tally["killed"] > 0


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(2, 7))
def test_mixed_concurrent_use_with_random_kills_longer(seed, tmp_path, inputs):
    tally = chaos(seed, n_jobs=40, tmp_path=tmp_path, inputs=inputs)
    print(json.dumps(tally))
    assert tally["killed"] > 0
