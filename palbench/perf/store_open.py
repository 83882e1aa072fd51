"""What checking a store at every open costs: a store of --runs runs (each with --checkpoints
checkpoints and --answers answers) opened to read, with SQLite's integrity_check (what palbench
does), with quick_check alone, and with no check, side by side.

    palbench bench store_open [--runs 10000] [--checkpoints 32] [--answers 320] [--repeat 5]

Prints the store's size and the median seconds of each open over --repeat opens.
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from palbench.results.schema import (
    ANSWER_FIELDS,
    CHECKPOINT_FIELDS,
    RUN_COLUMNS,
    SCHEMA_VERSION,
    create_statements,
)
from palbench.results.store import ResultsStore


def fill(path: Path, runs: int, checkpoints: int, answers: int) -> None:
    """A store of the current schema with made-up rows of realistic sizes."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("BEGIN")
    for statement in create_statements():
        conn.execute(statement)
    conn.execute("INSERT INTO schema_version VALUES (?)", (SCHEMA_VERSION,))
    columns = RUN_COLUMNS[1:]
    spec = '{"experiment": {"budgets": [' + ", ".join(str(10.0 * i) for i in range(32)) + \
        ']}, "strategy": {"name": "margin"}, "learner": {"name": "mlp"}}' + " " * 400
    for i in range(runs):
        row = {c: "x" for c in columns}
        row.update(spec_hash=uuid.uuid4().hex * 2, seed=i, spec_json=spec, wall_seconds=1.0,
                   run_uid=uuid.uuid4().hex, reads_truth=0, full_pool_acc=None, tag=None,
                   git_commit=None, stops_json=None, selection_learner="self")
        run_id = conn.execute(f"INSERT INTO runs ({', '.join(columns)}) VALUES "
                              f"({', '.join('?' * len(columns))})",
                              [row[c] for c in columns]).lastrowid
        conn.executemany(
            f"INSERT INTO checkpoints (run_id, {', '.join(CHECKPOINT_FIELDS)}) VALUES "
            f"(?{', ?' * len(CHECKPOINT_FIELDS)})",
            [(run_id, 10.0 * b, 10.0 * b, 10 * b, 0, 0, 0, 0, 0, 0, 0.5, 0.5, 0.01, 0.1,
              0.01, 0.0, 0.5, 0.5) for b in range(1, checkpoints + 1)])
        conn.executemany(
            f"INSERT INTO answers (run_id, {', '.join(ANSWER_FIELDS)}) VALUES "
            f"(?{', ?' * len(ANSWER_FIELDS)})",
            [(run_id, p, "label", p, None, None, 1, 1) for p in range(answers)])
    conn.execute("COMMIT")
    conn.close()


def timed(open_once, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        open_once()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--checkpoints", type=int, default=32)
    parser.add_argument("--answers", type=int, default=320)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "store.sqlite"
        fill(path, args.runs, args.checkpoints, args.answers)
        print(f"store: {args.runs:,} runs x {args.checkpoints} checkpoints x {args.answers} "
              f"answers, {path.stat().st_size / 2**20:.0f} MiB")

        def pragma(name: str | None):
            def once():
                conn = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
                if name:
                    conn.execute(f"PRAGMA {name}").fetchall()
                conn.execute("SELECT COUNT(*) FROM runs").fetchone()
                conn.close()
            return once

        def palbench_open():
            ResultsStore(path, mode="read").close()

        for label, once in (("ResultsStore(mode='read') (integrity_check)", palbench_open),
                            ("integrity_check alone", pragma("integrity_check")),
                            ("quick_check alone", pragma("quick_check")),
                            ("no check", pragma(None))):
            print(f"{label:44s} {timed(once, args.repeat):7.3f} s (median of {args.repeat})")


if __name__ == "__main__":
    main()
