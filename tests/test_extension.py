"""An extension touches one file: a strategy in a package of its own (written here to a
temporary folder and installed as a distribution with an entry point, the way a plugin is) is
run by the contract tests on the example parameters it declares and listed by `palbench list`,
with no file of palbench or of its tests touched."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

STRATEGY = '''
from dataclasses import dataclass

from palbench import Strategy
from palbench.authoring import random_choice
from palbench.fields import param


@dataclass(frozen=True, kw_only=True)
class Lowest(Strategy):
    """The candidates with the lowest first feature, after a random `warmup`."""

    warmup: int = param(ge=0)  # random picks first (required: no default)
    examples = ({"warmup": 2},)

    def select(self, ctx, k, rng):
        candidates = ctx.candidates
        if int(ctx.queried.sum()) < self.warmup:
            return random_choice(candidates, k, rng)
        return candidates[ctx.X[candidates, 0].argsort(kind="stable")[:k]]
'''


def install(folder: Path) -> None:
    (folder / "lowest_strategy.py").write_text(STRATEGY)
    info = folder / "lowest_strategy-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: lowest-strategy\n"
                                   "Version: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[palbench.strategies]\nlowest = lowest_strategy:Lowest\n")


def run(args: list[str], folder: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(folder), str(ROOT)])}
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=600)


def test_a_plugin_strategy_is_checked_and_listed_with_no_other_file(tmp_path):
    install(tmp_path)
    before = subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True,
                            text=True).stdout
    tests = run(["-m", "pytest", "-q", "tests/contracts/test_every_component.py",
                 "-k", "strategy-lowest", "-p", "no:cacheprovider"], tmp_path)
    assert "1 passed" in tests.stdout, tests.stdout + tests.stderr
    listed = run(["-m", "palbench", "list", "strategies"], tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert "lowest: The candidates with the lowest first feature" in listed.stdout
    assert "warmup = required" in listed.stdout
    one = run(["-m", "palbench", "list", "strategies", "lowest"], tmp_path)
    assert "warmup (int, required" in one.stdout, one.stdout
    after = subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True,
                           text=True).stdout
    assert after == before


def test_the_contract_tests_fail_a_plugin_that_breaks_the_contract(tmp_path):
    """The same route refuses a strategy that returns a sample twice (so the pass above
    means something)."""
    install(tmp_path)
    broken = STRATEGY.replace('candidates[ctx.X[candidates, 0].argsort(kind="stable")[:k]]',
                              "[candidates[0]] * k")
    (tmp_path / "lowest_strategy.py").write_text(broken)
    tests = run(["-m", "pytest", "-q", "tests/contracts/test_every_component.py",
                 "-k", "strategy-lowest", "-p", "no:cacheprovider"], tmp_path)
    assert "1 failed" in tests.stdout and "twice" in tests.stdout, tests.stdout
