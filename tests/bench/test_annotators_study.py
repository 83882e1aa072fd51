"""The practice study's config (configs/annotators/digits.toml, docs/studies/practice.md)
makes the cells its page describes: labels under all three annotators, pair questions only
under the lone ones, 8 seeds each (loaded, not run)."""

from collections import Counter
from pathlib import Path

from palbench.bench.config import load_plan

CONFIG = Path(__file__).resolve().parents[2] / "configs" / "annotators" / "digits.toml"


def test_the_practice_study_makes_the_cells_its_page_describes():
    plan = load_plan(CONFIG)
    cells = Counter((c.oracle.label, c.strategy.label) for c in plan.cells)
    lone = {(o, s): 8 for o in ("fixed", "practiced")
            for s in ("random", "margin", "random_pairs", "pal_ordered")}
    pool = {("practiced pool", s): 8 for s in ("random", "margin")}
    assert cells == Counter({**lone, **pool})
    assert {c.costs.label for c in plan.cells} == {"annotator seconds"}
    practiced = next(c.oracle.obj for c in plan.cells if c.oracle.label == "practiced")
    assert practiced.preset == "cifar10n" and practiced.base == {"name": "cifar10h_labels"}
