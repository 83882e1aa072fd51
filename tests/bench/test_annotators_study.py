"""The practice study's configs (configs/annotators/, docs/studies/practice.md) make the cells
its page describes: labels under all three annotators, pair questions only under the lone
ones, 8 seeds each (loaded, not run)."""

from collections import Counter
from pathlib import Path

import pytest

from palbench.bench.config import load_plan

CONFIGS = Path(__file__).resolve().parents[2] / "configs" / "annotators"


@pytest.mark.parametrize("study", ["digits", "fashion"])
def test_the_practice_study_makes_the_cells_its_page_describes(study):
    if study == "fashion" and not Path("/usr/share/datasets/fashion-mnist").is_dir():
        pytest.skip("Debian's dataset-fashion-mnist is not installed")
    plan = load_plan(CONFIGS / f"{study}.toml")
    cells = Counter((c.oracle.label, c.strategy.label) for c in plan.cells)
    lone = {(o, s): 8 for o in ("fixed", "practiced")
            for s in ("random", "margin", "random_pairs", "pal_ordered")}
    pool = {("practiced pool", s): 8 for s in ("random", "margin")}
    assert cells == Counter({**lone, **pool})
    assert {c.costs.label for c in plan.cells} == {"annotator seconds"}
    practiced = next(c.oracle.obj for c in plan.cells if c.oracle.label == "practiced")
    assert practiced.preset == "cifar10n" and practiced.base == {"name": "cifar10h_labels"}
