"""The `practice` oracle: charges that follow its curve in stored runs, a pool worker's own
count, defaults traced to ANNOTATORS.md section 4, fatigue and drift off unless stated."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

import palbench
from palbench.oracles.base import Truth
from palbench.oracles.costs import price_list_for
from palbench.oracles.practice import PRESETS, SPREAD, Practice, speed
from palbench.queries import AnnotatorHistory, AnswerRow, LabelQueries
from palbench.results.store import ResultsStore
from palbench.seeds import seed_streams
from palbench.testing import check_oracle

ROOT = Path(__file__).resolve().parents[2]


def config_text(oracle: str) -> str:
    return f"""
[experiment]
seeds = [0]
budgets = [40, 90]
batch_size = 5
probe = false
[dataset]
name = "blobs"
n_samples = 200
n_features = 4
[[strategy]]
name = "random"
[oracle]
{oracle}
[costs]
label = 2.0
[learner]
name = "sklearn"
"""


def logs(store) -> list[list[AnswerRow]]:
    with ResultsStore(store, mode="read") as s:
        return [s.answer_log(int(r)) for r in s.to_frame().run_id.unique()]


@pytest.mark.parametrize("params, floor_rate, fatigue", [
    ('name = "practice"', PRESETS["cifar100n"], 0.0),
    ('name = "practice"\npreset = "cifar10n"\nfatigue = 0.5', PRESETS["cifar10n"], 0.5),
    ('name = "practice"\nfloor = 0.6\nrate = 0.3', (0.6, 0.3), 0.0),
])
def test_stored_charges_follow_the_curve(write_config, tmp_path, params, floor_rate, fatigue):
    """A lone annotator: its n-th answer is charged listed x speed(n) x (1 + fatigue n/100)."""
    palbench.run(write_config(config_text(params)), store=tmp_path / "s.sqlite",
                 progress=False)
    (log,) = logs(tmp_path / "s.sqlite")
    assert len(log) > 20 and [r.worker for r in log] == [None] * len(log)
    n = np.arange(len(log))
    listed = np.array([r.listed_seconds for r in log])
    expected = listed * speed(n, *floor_rate) * (1.0 + fatigue * n / 100)
    np.testing.assert_array_max_ulp(np.array([r.charged_seconds for r in log]), expected, 2)
    assert set(listed) == {2.0}
    assert (np.diff(expected)[-10:] > 0).all() == (fatigue > 0)  # fatigue outgrows practice


def test_a_pool_worker_is_charged_by_its_own_answers_and_its_own_speed(write_config, tmp_path):
    palbench.run(write_config(config_text("""name = "workers"
n_workers = 4
redundancy = 2
base = { name = "practice", preset = "cifar10n" }""")), store=tmp_path / "s.sqlite",
                 progress=False)
    (log,) = logs(tmp_path / "s.sqlite")
    factors = {}
    for w in range(4):
        mine = [(i, r) for i, r in enumerate(log) if r.worker == w]
        assert [i for i, _ in mine] != list(range(len(mine)))  # its count is not the run's
        own = np.array([r.charged_seconds / (r.listed_seconds * speed(k, *PRESETS["cifar10n"]))
                        for k, (_, r) in enumerate(mine)])
        np.testing.assert_allclose(own, own[0], rtol=1e-12)  # one speed for the whole run
        factors[w] = own[0]
    truth = Truth(np.zeros(1), 3, None, labelling_seed=seed_streams(0)["labelling"])
    assert factors == pytest.approx({w: Practice().worker_speed(truth, w) for w in range(4)},
                                    rel=1e-12)
    assert len(set(factors.values())) == 4  # a lognormal speed each, drawn once per run


@pytest.mark.parametrize("params", [
    {}, {"preset": "cifar10n"}, {"floor": 0.5, "rate": 1.0}, {"speed_spread": 0.0},
    {"fatigue": 0.3}, {"drift": 0.2, "base": {"name": "noisy_label", "noise": 0.1}},
    {"base": {"name": "exact_pair"}, "drift": 0.1, "fatigue": 0.1},
])
def test_each_option_keeps_the_contract(params):
    check_oracle(Practice, params=params)


def test_inside_a_pool_it_keeps_the_contract():
    check_oracle("workers", params={"base": {"name": "practice", "drift": 0.1, "fatigue": 0.2},
                                    "redundancy": 2})


def history(n: int, worker: int | None = None) -> AnnotatorHistory:
    return AnnotatorHistory.from_rows(AnswerRow(i, "label", i, None, worker, 0, 0, 1.0, 1.0)
                                      for i in range(n))


TRUTH = Truth(y=np.arange(3000) % 10, n_classes=10,
              prices=price_list_for(10, np.full(10, 2.0), pair=1.0), labelling_seed=3)
QUERIES = LabelQueries(np.arange(2000))


def test_fatigue_and_drift_off_leave_practice_alone():
    plain, stated = Practice(), Practice(fatigue=0.0, drift=0.0, base={"name": "exact"})
    for h in (history(0), history(250)):
        listed = TRUTH.price(QUERIES)
        a = plain.answer(QUERIES, TRUTH, h, np.random.default_rng(1))
        b = stated.answer(QUERIES, TRUTH, h, np.random.default_rng(1))
        np.testing.assert_array_equal(a.values, TRUTH.y[QUERIES.indices])  # as exact answers
        np.testing.assert_array_equal(a.values, b.values)
        np.testing.assert_array_equal(a.charged, b.charged)
        n = len(h) + np.arange(len(QUERIES))
        np.testing.assert_array_max_ulp(plain.charge(QUERIES, TRUTH, h, listed),
                                        listed * speed(n, *PRESETS["cifar100n"]), 2)


def test_drift_errs_at_its_stated_rate_with_another_class():
    """drift 0.5 per 100 answers after 100 given: an answer after n is wrong with probability
    0.5 n / 100, always from n = 200 on, and always a class."""
    drifting = Practice(drift=0.5)
    h = history(100)
    values = drifting.respond(QUERIES, TRUTH, h, np.random.default_rng(2))
    y = TRUTH.y[QUERIES.indices]
    rate = np.minimum(0.5 * (100 + np.arange(len(QUERIES))) / 100, 1.0)
    assert (values != y).sum() == pytest.approx(rate.sum(), rel=0.05)
    assert ((values >= 0) & (values < 10)).all()
    assert (values[100:] != y[100:]).all()


def load_fit():
    spec = importlib.util.spec_from_file_location("fit_practice",
                                                  ROOT / "tools" / "fit_practice.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_defaults_are_the_fit_to_annotators_md_section_4():
    fit = load_fit()
    # ANNOTATORS.md section 4 (CIFAR-N's per-worker sequences), "time / own median" by the
    # worker's batches 1-5, 6-10, 11-20, 21-40, 41-80, 81-160, 161-400; batches of 10 and 5
    cifar10n = fit.fit_practice((1.06, 1.03, 1.00, 1.00, 0.98, 1.00, 1.00), 10)
    cifar100n = fit.fit_practice((1.09, 1.06, 1.06, 1.02, 1.03, 0.97, 0.96), 5)
    for got, preset in ((cifar10n, "cifar10n"), (cifar100n, "cifar100n")):
        floor, rate = PRESETS[preset]  # printed as floor 3 decimals, rate 4
        assert round(got["floor"], 3) == floor and round(got["rate"], 4) == rate
    # section 4: median seconds of the first 5 batches for workers of 1-9, 10-39, 40-159 and
    # 160+ batches, 338 and 14 workers at the ends, 56 at 40 or more of 519
    spread = fit.fit_speed_spread((166, 120, 96, 73), (338, 519 - 338 - 56, 56 - 14, 14))
    assert round(spread["sigma"], 3) == SPREAD
    assert Practice().speed_spread == SPREAD and Practice().preset == "cifar100n"


@pytest.mark.parametrize("base", ["workers", "practice"])
def test_practice_is_one_annotator_s(base):
    from palbench.errors import ConfigError
    from palbench.params import build
    with pytest.raises(ConfigError, match="inside a pool"):
        build(Practice, {"base": {"name": base}}, "oracle")
