"""No process outlives its run: after SIGKILL of `palbench run --workers 2`, its worker
processes and multiprocessing's resource tracker end within seconds, and the caller's pipes
close (a CI step waiting on them does not hang)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

GRID = """
[experiment]
seeds = [0, 1, 2, 3, 4, 5, 6, 7]
budgets = [20, 40, 80, 160, 320]
batch_size = 10
probe = false
[dataset]
name = "digits"
[[strategy]]
name = "margin"
[learner]
name = "mlp"
"""


def children(pid: int) -> set[int]:
    found = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found |= {int(c) for c in (task / "children").read_text().split()}
        except OSError:
            pass
    return found


def descendants(pid: int) -> set[int]:
    found, todo = set(), [pid]
    while todo:
        for child in children(todo.pop()):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has ended; only its exit status is left


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux /proc")
def test_workers_and_the_resource_tracker_end_when_the_run_is_killed(tmp_path):
    config = tmp_path / "grid.toml"
    config.write_text(GRID)
    process = subprocess.Popen(
        [sys.executable, "-m", "palbench", "run", str(config), "--store",
         str(tmp_path / "s.sqlite"), "--workers", "2", "--quiet"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, "PYTHONPATH":
                                                              os.getcwd()})
    deadline = time.monotonic() + 120
    started: set[int] = set()
    while time.monotonic() < deadline and len(started) < 3:  # 2 workers and the tracker
        started = descendants(process.pid)
        time.sleep(0.1)
    assert len(started) >= 3, f"the run started {len(started)} processes"
    time.sleep(1.0)  # the workers are computing cells
    os.kill(process.pid, signal.SIGKILL)
    killed_at = time.monotonic()
    out, err = process.communicate(timeout=30)  # the pipes close: nobody holds them
    left = {pid for pid in started if alive(pid)}
    while left and time.monotonic() - killed_at < 10:
        time.sleep(0.1)
        left = {pid for pid in left if alive(pid)}
    assert not left, f"{len(left)} of {len(started)} processes outlived the run"
    print(f"{len(started)} processes ended {time.monotonic() - killed_at:.2f} s after the kill")
    assert process.returncode == -signal.SIGKILL
