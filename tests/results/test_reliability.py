"""Faults: SIGKILL at random moments loses no finished run and duplicates nothing; Ctrl-C stops
cleanly with a resume hint; 8 concurrent writers and a reader share one store; a read-only
store is one clear line."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from palbench.cli import main
from palbench.results.store import ResultsStore

ROOT = Path(__file__).resolve().parents[2]
GRID = """
[experiment]
name = "faults"
seeds = [0, 1, 2, 3, 4, 5]
budgets = [5, 10, 20]
batch_size = 5
[dataset]
name = "blobs"
n_samples = 200
n_features = 4
[[strategy]]
name = "random"
[[strategy]]
name = "margin"
[oracle]
name = "noisy_label"
noise = 0.1
[learner]
name = "mlp"
hidden = [16]
epochs = 30
device = "cpu"
"""
KEY = ["dataset", "strategy", "oracle", "learner", "seed", "budget"]


def palbench(*args: str, **kwargs) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "palbench", *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)


def rows(store: Path) -> pd.DataFrame:
    with ResultsStore(store) as s:
        frame = s.to_frame()
    return frame.drop(columns=["run_id", "select_seconds", "fit_seconds", "eval_seconds"]) \
        .sort_values(KEY).reset_index(drop=True)


@pytest.fixture(scope="module")
def config(tmp_path_factory):
    path = tmp_path_factory.mktemp("faults") / "grid.toml"
    path.write_text(GRID)
    return path


@pytest.fixture(scope="module")
def reference(config, tmp_path_factory):
    store = tmp_path_factory.mktemp("ref") / "ref.sqlite"
    assert main(["run", str(config), "--store", str(store), "--quiet"]) == 0
    return rows(store)


def test_sigkill_at_random_moments_then_resume_gives_the_uninterrupted_rows(
        config, reference, tmp_path):
    store = tmp_path / "killed.sqlite"
    rng = np.random.default_rng(0)
    for moment in rng.uniform(0.5, 4.0, size=10):
        process = palbench("run", str(config), "--store", str(store), "--quiet")
        time.sleep(moment)
        process.send_signal(signal.SIGKILL)
        process.wait()
        if store.exists():  # whatever is there is whole: runs with all their checkpoints
            partial = rows(store)
            assert (partial.groupby(KEY[:-1]).size() == 3).all()
    process = palbench("run", str(config), "--store", str(store), "--quiet")
    assert process.wait(timeout=300) == 0
    final = rows(store)
    with ResultsStore(store) as s:
        runs = s.runs()
    assert runs.spec_hash.is_unique and len(runs) == 12
    assert not final.duplicated(KEY).any()
    pd.testing.assert_frame_equal(final, reference)


def test_ctrl_c_stops_cleanly_and_says_how_to_resume(tmp_path):
    store, config = tmp_path / "interrupted.sqlite", tmp_path / "long.toml"
    # long enough that the signal always lands inside the grid, even on a fast machine
    config.write_text(GRID.replace("seeds = [0, 1, 2, 3, 4, 5]", f"seeds = {list(range(100))}"))
    # an earlier test in this process (a worker pool, Ray) may leave SIGINT ignored, and a
    # child inherits an ignored signal: give it the default, as a terminal would
    process = palbench("run", str(config), "--store", str(store), "--quiet",
                       preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 120
    while stored_runs(store) < 1 and time.monotonic() < deadline:  # the grid is under way
        time.sleep(0.05)
    assert process.poll() is None, "the grid ended before it could be interrupted"
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode in (130, -signal.SIGINT), err  # the shell shows both as 130
    assert "Run the same command again to resume" in err and "Traceback" not in err
    assert "finished runs are in" in err  # interrupted inside the grid, not at start-up


def test_eight_concurrent_writers_and_a_reader(tmp_path):
    store = tmp_path / "shared.sqlite"
    ResultsStore(store).close()
    configs = []
    for i in range(8):
        path = tmp_path / f"w{i}.toml"
        path.write_text(GRID.replace('name = "faults"', f'name = "writer{i}"')
                        .replace("seeds = [0, 1, 2, 3, 4, 5]", f"seeds = [{i}]"))
        configs.append(path)
    writers = [palbench("run", str(c), "--store", str(store), "--quiet") for c in configs]
    reads = 0
    while any(w.poll() is None for w in writers):
        with ResultsStore(store) as s:  # a reader while the writers write
            s.to_frame()
        reads += 1
        time.sleep(0.2)
    for w in writers:
        _, err = w.communicate()
        assert w.returncode == 0, err
        assert "locked" not in err
    with ResultsStore(store) as s:
        runs = s.runs()
    assert len(runs) == 16 and sorted(runs.experiment.unique()) == [f"writer{i}"
                                                                      for i in range(8)]
    assert reads > 0


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write read-only files")
def test_read_only_store_is_one_clear_line(config, tmp_path, capsys):
    store = tmp_path / "ro.sqlite"
    ResultsStore(store).close()
    store.chmod(0o444)
    tmp_path.chmod(0o555)
    try:
        assert main(["run", str(config), "--store", str(store), "--quiet"]) == 2
    finally:
        tmp_path.chmod(0o755)
    assert "cannot write the store" in capsys.readouterr().err


def test_store_in_a_read_only_folder_is_one_clear_line(config, tmp_path, capsys):
    """As root too: SQLite cannot create its journal beside a store on a read-only mount;
    simulated with a store path whose folder is a file."""
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["run", str(config), "--store", str(blocker / "s.sqlite"), "--quiet"]) == 2
    assert "palbench: error: store = " in capsys.readouterr().err


def test_sqlite_is_only_given_parameters():
    """Filters are checked against a whitelist and values are bound, never formatted in."""
    with pytest.raises(ValueError, match="cannot filter"):
        ResultsStore(":memory:").to_frame(**{"dataset; DROP TABLE runs": "x"})
    store = ResultsStore(":memory:")
    assert store.to_frame(dataset="x' OR '1'='1").empty
    assert "runs" in {r[0] for r in store._conn.execute("SELECT name FROM sqlite_master")}


def test_memory_stays_flat_over_200_checkpoints():
    """No growth per checkpoint once warm: the second half's RSS slope is near zero."""
    from palbench.perf.memory_soak import soak

    curve = np.array(soak(200, "sklearn"))
    half = len(curve) // 2
    slope = np.polyfit(np.arange(half, len(curve)), curve[half:], 1)[0]
    assert len(curve) == 200
    assert slope < 0.05  # MiB per checkpoint: under 10 MiB over the whole second half
    assert curve[-1] - curve[half] < 20


def test_store_on_a_read_only_filesystem_is_one_clear_line(config, capsys):
    """/proc is read-only even for root: the store cannot be created there."""
    assert main(["run", str(config), "--store", "/proc/palbench-test.sqlite", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err == ("palbench: error: store = '/proc/palbench-test.sqlite': cannot write the "
                   "store (unable to open database file)\n")


def stored_runs(store) -> int:
    """Runs in the store so far (0 while it does not exist yet), read without writing."""
    import sqlite3

    if not store.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{store}?mode=ro", uri=True, timeout=5) as conn:
            return conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0]
    except sqlite3.OperationalError:  # the schema is being created
        return 0


OVERLAP_GRID = GRID.replace('''[learner]
name = "mlp"
hidden = [16]
epochs = 30
device = "cpu"''', '''[learner]
name = "sklearn"
params = { max_iter = 300 }''')


@pytest.mark.parametrize("n_processes", [2, 8])
def test_overlapping_runs_of_one_grid_store_each_cell_once(n_processes, tmp_path):
    """Two terminals (or eight) run the same grid into one store at the same moment: every
    cell is stored once, the rows equal a lone run's, and each process says how many of the
    cells it finished had already been written by another."""
    config = tmp_path / "grid.toml"
    config.write_text(OVERLAP_GRID)
    reference = tmp_path / "alone.sqlite"
    assert main(["run", str(config), "--store", str(reference), "--quiet"]) == 0
    store = tmp_path / "shared.sqlite"
    ResultsStore(store).close()
    runners = [palbench("run", str(config), "--store", str(store), "--quiet")
               for _ in range(n_processes)]
    written = 0
    for runner in runners:
        out, err = runner.communicate(timeout=600)
        assert runner.returncode == 0, err
        counts = summary_counts(out)
        assert counts["written"] + counts["skipped"] + counts["dropped"] == 12, out
        written += counts["written"]
    assert written == 12
    with ResultsStore(store) as s:
        runs = s.runs()
    assert len(runs) == 12 and runs.spec_hash.is_unique
    pd.testing.assert_frame_equal(rows(store), rows(reference))


def summary_counts(out: str) -> dict[str, int]:
    """The numbers of 'palbench: N runs written, S skipped[, M already written by another
    process (dropped)]; store: ...'."""
    import re

    line = next(x for x in out.splitlines() if "runs written" in x)
    found = {"written": r"(\d+) runs written", "skipped": r"(\d+) skipped",
             "dropped": r"(\d+) already written by another process"}
    return {k: int(m.group(1)) if (m := re.search(p, line)) else 0 for k, p in found.items()}


def run_limited(config: Path, store: Path, limit: int) -> subprocess.CompletedProcess:
    """`palbench run` with a file-size limit (ulimit -f): SQLite's writes beyond it fail
    (Python ignores SIGXFSZ, so the write returns EFBIG)."""
    import resource

    def limited():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    process = palbench("run", str(config), "--store", str(store), "--quiet",
                       preexec_fn=limited)
    out, err = process.communicate(timeout=300)
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


def assert_whole_runs(store: Path) -> int:
    """Every run in the store has all of its checkpoints; returns the number of runs."""
    with ResultsStore(store) as s:
        runs, frame = s.runs(), s.to_frame()
    assert (frame.groupby("run_id").size() == 3).all() and set(frame.run_id) == set(runs.run_id)
    return len(runs)


def assert_one_line_then_resume(result, named: Path, config: Path, reference,
                                resume_in: Path | None = None) -> None:
    """The failed run said one line naming the store (`named`) and the runs it kept; the store
    (or its copy `resume_in`, on a disk with room) holds them whole, and a re-run completes."""
    store = resume_in or named
    assert result.returncode == 2, result.stderr
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"palbench: error: store = '{named}': cannot write the store (")
    assert "the disk is full or a file-size limit was reached" in line
    kept = assert_whole_runs(store)
    assert 0 < kept < 12 and f"the {kept} runs written before are kept" in line
    resumed = palbench("run", str(config), "--store", str(store), "--quiet")
    assert resumed.wait(timeout=300) == 0
    pd.testing.assert_frame_equal(rows(store), reference)


def test_a_file_size_limit_mid_grid_is_one_line_and_a_rerun_completes(config, reference,
                                                                      tmp_path):
    store = tmp_path / "limited.sqlite"
    ResultsStore(store).close()  # an empty store: its schema fits, some runs do not
    result = run_limited(config, store, store.stat().st_size + 60_000)
    assert_one_line_then_resume(result, store, config, reference)


@contextmanager
def tmpfs(mount_point: Path, options: str):
    """A small tmpfs mounted for a test (root in a container that allows mount), else skip."""
    mount_point.mkdir()
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(mount_point)],
                          capture_output=True)
    if made.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs ({options}) here (needs root and CAP_SYS_ADMIN)")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def test_a_full_disk_mid_grid_is_one_line_and_a_rerun_completes(config, reference, tmp_path):
    with tmpfs(tmp_path / "small", "size=160k") as small:
        store = small / "full.sqlite"
        process = palbench("run", str(config), "--store", str(store), "--quiet")
        out, err = process.communicate(timeout=300)
        moved = tmp_path / "moved.sqlite"  # room to finish: the same store on a larger disk
        for suffix in ("", "-wal", "-shm"):
            if Path(f"{store}{suffix}").exists():
                Path(f"{moved}{suffix}").write_bytes(Path(f"{store}{suffix}").read_bytes())
    result = subprocess.CompletedProcess(process.args, process.returncode, out, err)
    assert "database or disk is full" in err
    assert_one_line_then_resume(result, store, config, reference, resume_in=moved)


STORE_COMMANDS = {  # every command that opens a store, as argv after the store
    "run": lambda c, tmp: ["run", str(c)],
    "report": lambda c, tmp: ["report", "--out", str(tmp / "report")],
    "export": lambda c, tmp: ["export", "--out", str(tmp / "rows.csv")],
    "compare": lambda c, tmp: ["compare", "--baseline", "random", "--candidate", "margin"],
    "check": lambda c, tmp: ["check", str(c)],
}


def store_argv(command: str, config: Path, tmp_path: Path, store: Path) -> list[str]:
    argv = STORE_COMMANDS[command](config, tmp_path)
    return [*argv, "--store", str(store)] + (["--quiet"] if command == "run" else [])


@pytest.fixture(scope="module")
def claims(tmp_path_factory):
    path = tmp_path_factory.mktemp("claims") / "claims.toml"
    path.write_text('[[claim]]\nname = "c"\ndataset = "blobs"\nstrategy = "random"\n'
                    'metric = "final_acc"\nat_least = 0.1\n')
    return path


@pytest.mark.parametrize("command", list(STORE_COMMANDS))
def test_a_store_path_that_is_a_folder_is_one_line(command, config, claims, tmp_path, capsys):
    folder = tmp_path / "results"
    folder.mkdir()
    argv = store_argv(command, claims if command == "check" else config, tmp_path, folder)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err == (f"palbench: error: store = '{folder}': is a folder; give a file, e.g. "
                   f"'{folder / 'palbench.sqlite'}'\n")
    assert list(folder.iterdir()) == [] and not (tmp_path / "report").exists()


@pytest.mark.parametrize("command", list(STORE_COMMANDS))
def test_a_store_whose_folder_does_not_exist_is_one_line(command, config, claims, tmp_path,
                                                         capsys):
    store = tmp_path / "missing" / "s.sqlite"
    argv = store_argv(command, claims if command == "check" else config, tmp_path, store)
    assert main(argv) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith(f"palbench: error: store = '{store}': ")
    assert not (tmp_path / "missing").exists() and not (tmp_path / "report").exists()


def test_a_store_on_a_read_only_mount_is_one_line_and_creates_nothing(config, tmp_path,
                                                                      capsys):
    """A read-only tmpfs refuses root too (a read-only folder does not)."""
    with tmpfs(tmp_path / "ro", "ro,size=64k") as read_only:
        store = read_only / "s.sqlite"
        assert main(["run", str(config), "--store", str(store), "--quiet"]) == 2
        assert capsys.readouterr().err == (f"palbench: error: store = '{store}': cannot write "
                                           "the store (unable to open database file)\n")
        assert list(read_only.iterdir()) == []
