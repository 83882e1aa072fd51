"""Claims at 1, 2 and 3 seeds, on real runs: a cell with fewer seeds than its interval needs
is bad input (exit 2) naming the seeds needed and present; at 2 seeds the bound is checked
against Student's t (12.7 half-ranges wide), not the two values' range a bootstrap returned
before 0.3.0; a verdict names the bound that held or failed and by how much, in the terminal
and in the JUnit file alike."""

from __future__ import annotations

import math
import textwrap
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from scipy import stats

from palbench.cli import main
from palbench.reports.claims import bound_held
from palbench.reports.metrics import per_run
from palbench.reports.stats import mean_ci, ratio_ci
from palbench.results.store import ResultsStore

GRID = """
[experiment]
name = "small"
seeds = {seeds}
budgets = [6, 12, 24]
batch_size = 3
probe = false
[dataset]
name = "blobs"
n_samples = 120
n_features = 4
n_classes = 3
cluster_std = 3.0
[[strategy]]
name = "random"
[[strategy]]
name = "margin"
[oracle]
name = "noisy_label"
noise = 0.2
[learner]
name = "sklearn"
"""
TAGS = {"one": [0], "two": [0, 1], "three": [0, 1, 2]}  # a tag is a cell of its own


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    folder = tmp_path_factory.mktemp("small_n")
    path = folder / "s.sqlite"
    for tag, seeds in TAGS.items():
        config = folder / f"{tag}.toml"
        config.write_text(GRID.format(seeds=seeds))
        assert main(["run", str(config), "--store", str(path), "--quiet", "--tag", tag]) == 0
    return path


def aulcs(store, tag: str, strategy: str) -> np.ndarray:
    with ResultsStore(store, mode="read") as s:
        frame = s.to_frame()
    rows = frame[(frame["tag"] == tag) & (frame["strategy"] == strategy)]
    return per_run(rows).sort_values("seed")["aulc"].to_numpy()


def check(store, tmp_path, capsys, claims: str, junit: bool = False):
    path = tmp_path / "claims.toml"
    path.write_text(textwrap.dedent(claims))
    argv = ["check", str(path), "--store", str(store), "--no-run"]
    if junit:
        argv += ["--junit", str(tmp_path / "claims.xml")]
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def claim(name: str, tag: str, bound: str, metric: str = "aulc") -> str:
    return (f'[[claim]]\nname = "{name}"\ndataset = "blobs"\nstrategy = "margin"\n'
            f'tag = "{tag}"\nmetric = "{metric}"\n{bound}\n')


def test_one_seed_is_refused_naming_the_seeds_needed(store, tmp_path, capsys):
    code, out, err = check(store, tmp_path, capsys, claim("lone", "one", "at_least = 0.1"))
    assert code == 2 and out == "" and err.count("\n") == 1
    assert err == ("palbench: error: claim[0] = 'lone': 'margin' has 1 seed(s) in its cell; "
                   "its 95% t interval needs at least 2 (run more seeds)\n")


def test_one_shared_seed_is_refused_for_a_ratio(store, tmp_path, capsys):
    code, out, err = check(store, tmp_path, capsys, claim(
        "lone ratio", "one", 'relative_to = "random"\nratio_at_most = 2'))
    assert code == 2 and out == ""
    assert "'margin' shares 1 seed(s) with 'random''s cell; its 95% Fieller interval needs " \
           "at least 2" in err


def test_two_seeds_are_checked_against_students_t_and_a_fail_names_the_margin(
        store, tmp_path, capsys):
    """A bound between the two values' maximum and the t interval's upper end: the old
    bootstrap (whose interval was the range) passed it; it fails, saying by how much."""
    values = aulcs(store, "two", "margin")
    assert len(values) == 2 and values[0] != values[1]
    half = stats.t.ppf(0.975, 1) * values.std(ddof=1) / math.sqrt(2)
    upper = min(values.mean() + half, 1.0)  # an AULC of accuracy is at most 1
    bound = round((values.max() + upper) / 2, 4)
    assert values.max() < bound < upper
    code, out, _ = check(store, tmp_path, capsys, claim("two seeds", "two", f"at_most = {bound}"),
                         junit=True)
    assert code == 1
    line = out.splitlines()[0]
    low = max(values.mean() - half, 0.0)
    assert line == (f"FAIL  two seeds: aulc = {values.mean():.4g} [{low:.4g}, {upper:.4g}], "
                    f"upper 95% bound {upper:.4g} > {bound:g} by {upper - bound:.2g} "
                    "(2 seeds), 95% t interval")
    (failure,) = ET.parse(tmp_path / "claims.xml").getroot().iter("failure")
    assert failure.get("message") == line and failure.text == line


def test_a_pass_names_the_bound_that_held(store, tmp_path, capsys):
    values = aulcs(store, "three", "margin")
    interval = mean_ci(values, within=(0.0, 1.0))  # an AULC of accuracy: in [0, 1]
    at_least = round(interval.low - 0.01, 3)
    code, out, _ = check(store, tmp_path, capsys, claim(
        "three seeds", "three", f"at_least = {at_least}"), junit=True)
    assert code == 0
    assert out.splitlines()[0] == (
        f"PASS  three seeds: aulc = {interval.point:.4g} [{interval.low:.4g}, "
        f"{interval.high:.4g}], lower 95% bound {interval.low:.4g} >= {at_least:g} by "
        f"{interval.low - at_least:.2g} (3 seeds), 95% t interval")
    case = next(ET.parse(tmp_path / "claims.xml").getroot().iter("testcase"))
    assert case.find("failure") is None and case.find("system-out").text == out.splitlines()[0]


def test_a_ratio_over_three_seeds_is_fiellers(store, tmp_path, capsys):
    margin, random = aulcs(store, "three", "margin"), aulcs(store, "three", "random")
    interval = ratio_ci(margin, random)
    code, out, _ = check(store, tmp_path, capsys, claim(
        "ratio", "three", 'relative_to = "random"\nratio_at_most = 0.5'))
    assert code == 1
    assert out.splitlines()[0] == (
        f"FAIL  ratio: aulc ratio margin/random = {interval.point:.4g} [{interval.low:.4g}, "
        f"{interval.high:.4g}], upper 95% bound {interval.high:.4g} > 0.5 by "
        f"{interval.high - 0.5:.2g} (3 seeds), 95% Fieller interval")


def test_runs_that_never_reached_leave_the_upper_bound_unbounded():
    assert bound_held(mean_ci([10.0, np.inf, 12.0]), 40, "upper") == \
        (False, "upper 95% bound unbounded > 40")
    assert bound_held(mean_ci([10.0, np.inf, 12.0]), 5, "lower") == \
        (False, "lower 95% bound undefined (infinite in 1 of 3 seeds: the mean is unbounded)")
    assert bound_held(mean_ci([0.8, 0.8]), 0.8, "lower") == \
        (True, "lower 95% bound 0.8 >= 0.8 (at the bound)")


def test_a_robust_wins_claim_on_too_few_seeds_to_win_is_refused(tmp_path, capsys):
    """3 seeds per variant: a sign-flip p is at least 2/2^3 = 0.25, so no variant can be
    won and the claim could never pass: bad input naming the 6 seeds a win needs."""
    config = tmp_path / "g.toml"
    config.write_text(GRID.format(seeds=[0, 1, 2]))
    assert main(["robustness", str(config), "--vary", "oracle.noise=0,0.2", "--study", "s",
                 "--store", str(tmp_path / "s.sqlite"), "--out", str(tmp_path / "out"),
                 "--quiet"]) == 0
    capsys.readouterr()
    code, out, err = check(tmp_path / "s.sqlite", tmp_path, capsys, """
        [[claim]]
        name = "robust"
        metric = "robust_wins"
        study = "s"
        dataset = "blobs"
        strategy = "margin"
        relative_to = "random"
        at_least = 0.5
    """)
    assert code == 2 and out == "" and err.count("\n") == 1
    assert "claim[0] = 'robust': variant 'oracle.noise=0' of study 's' has 3 seed(s); a win " \
           "there needs at least 6 (sign-flip test: smallest p 0.25 at 3 seeds, Holm over 1 " \
           "pair(s), alpha 0.05)" in err
