"""tools/representation_study.py, which writes docs/studies/representations.md's tables: its
paired verdicts are the sign-flip test and Holm's correction on the seeds both lines ran,
its intervals are cut to [0, 1], and it rewrites only the page's marked section."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from palbench.reports.stats import holm, sign_flip_p

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def study():
    spec = importlib.util.spec_from_file_location(
        "representation_study", ROOT / "tools" / "representation_study.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def fake_runs(study, seeds=8) -> pd.DataFrame:
    """Every arm and strategy, `seeds` seeds, AULCs drawn from a seeded generator."""
    rng = np.random.default_rng(0)
    rows = [{"arm": arm, "strategy": strategy, "seed": seed,
             "aulc": 0.6 + 0.05 * i + 0.02 * rng.normal(), "first": 0.5, "final": 0.9}
            for arm in study.ARMS for i, strategy in enumerate(study.STRATEGIES)
            for seed in range(seeds)]
    return pd.DataFrame(rows)


def test_paired_verdicts_are_the_sign_flip_test_holm_corrected(study):
    runs = fake_runs(study)
    runs = runs[~((runs["strategy"] == "margin") & (runs["seed"] == 7))]  # a seed missing
    pairs = [({"arm": "pixels", "strategy": s}, {"arm": "pixels", "strategy": "random"})
             for s in ("margin", "typiclust")]
    found = study.paired(runs, pairs)
    gains = []
    for strategy in ("margin", "typiclust"):
        mine = runs[(runs.arm == "pixels") & (runs.strategy == strategy)].set_index("seed")
        base = runs[(runs.arm == "pixels") & (runs.strategy == "random")].set_index("seed")
        seeds = mine.index.intersection(base.index)
        gains.append((mine.loc[seeds, "aulc"] - base.loc[seeds, "aulc"]).to_numpy())
    assert [f["seeds"] for f in found] == [7, 8]
    expected = holm(np.array([sign_flip_p(g) for g in gains]))
    assert [f["p_holm"] for f in found] == pytest.approx(list(expected))
    assert [f["verdict"] for f in found] == ["better" if p < 0.05 else "no evidence"
                                             for p in expected]


def test_intervals_stay_in_zero_one_at_two_seeds(study):
    assert study.interval([0.2, 0.99]) == "0.595 [0.000, 1.000]"


def test_only_the_marked_section_is_rewritten(study, tmp_path, monkeypatch):
    page = tmp_path / "page.md"
    page.write_text(f"# Head\nprose\n{study.BEGIN}\nold tables\n{study.END}\nafter\n")
    monkeypatch.setattr(study, "tables", lambda store: "NEW")
    study.write("unused.sqlite", page)
    assert page.read_text() == f"# Head\nprose\n{study.BEGIN}\n\nNEW\n\n{study.END}\nafter\n"
