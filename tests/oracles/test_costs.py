"""Prices in annotator seconds and multi-image questions: the fitted price model, group
questions priced once for all their pairs, pal_group end to end with the report's axis in
seconds, and the bad input of each, one line."""

from __future__ import annotations

import numpy as np
import pytest

from palbench.cli import main
from palbench.errors import ConfigError
from palbench.oracles import Truth
from palbench.oracles.costs import SECONDS, Costs
from palbench.params import build
from palbench.queries import PairQueries


def costs(**params) -> Costs:
    return build(Costs, params, "costs")


def test_seconds_model_reproduces_the_measured_figures():
    ten = costs(model="seconds").price_list(tuple(str(c) for c in range(10)))
    hundred = costs(model="seconds").price_list(tuple(str(c) for c in range(100)))
    assert ten.label[0] == pytest.approx(4.2, abs=0.01)  # CIFAR-10N median
    assert hundred.label[0] == pytest.approx(17.6, abs=0.01)  # CIFAR-100N median
    assert ten.pair == SECONDS["pair"]
    assert ten.group(2) == pytest.approx(4.74) and ten.group(8) == pytest.approx(26.58)
    assert costs(model="seconds", seconds={"pair": 5.0}).price_list(("a", "b")).pair == 5.0
    assert costs().unit == "cost units" and costs(model="seconds").unit == "annotator seconds"


def test_a_group_question_is_priced_once_for_all_its_pairs():
    prices = costs(group_base=1.0, group_item=2.0).price_list(("a", "b"))
    truth = Truth(np.array([0, 1, 0, 1, 0]), 2, prices)
    i, j = np.triu_indices(4, 1)  # one question of 4 images: 6 pairs
    question = PairQueries(i, j, np.zeros(6, np.int64), question="group")
    assert truth.price(question).sum() == pytest.approx(1.0 + 2.0 * 3)
    captcha = PairQueries(np.array([1, 2, 3]), np.zeros(3, np.int64), np.zeros(3, np.int64))
    assert truth.price(captcha).sum() == pytest.approx(prices.captcha(3))


@pytest.mark.parametrize("params,field", [
    ({"model": "minutes"}, "costs.model"),
    ({"model": "seconds", "seconds": {"label_base": 0.0, "label_per_class": 0.0}},
     "costs.seconds"),
    ({"model": "seconds", "seconds": {"label_base": -5.0}}, "costs.seconds.label_base"),
    ({"model": "seconds", "seconds": {"pair": float("inf")}}, "costs.seconds.pair"),
    ({"model": "seconds", "seconds": {"pair": 0.0}}, "costs.seconds.pair"),
    ({"model": "seconds", "seconds": {"lable_base": 3.0}}, "costs.seconds.lable_base"),
    ({"group_item": 0.0}, "costs.group_item"),
])
def test_bad_price_models_name_the_field(params, field):
    with pytest.raises(ConfigError) as error:
        costs(**params)
    assert error.value.field == field


GROUPS = """
[experiment]
seeds = [0]
budgets = [30, 60]
batch_size = 2
probe = false
[dataset]
name = "blobs"
n_samples = 120
[[strategy]]
name = "pal_group"
images = {images}
[oracle]
name = "fine_grained_pairs"
[costs]
model = "seconds"
[learner]
name = "sklearn"
"""


def test_pal_group_runs_in_seconds_and_the_report_says_so(write_config, tmp_path):
    store = str(tmp_path / "s.sqlite")
    assert main(["run", str(write_config(GROUPS.format(images=4))), "--store", store,
                 "--quiet"]) == 0
    assert main(["report", "--store", store, "--out", str(tmp_path / "r")]) == 0
    board = (tmp_path / "r" / "leaderboard.md").read_text()
    assert "Costs and budgets in annotator seconds." in board
    from palbench.results.store import ResultsStore
    with ResultsStore(store) as s:
        frame = s.to_frame()
    assert set(frame.cost_unit) == {"annotator seconds"}
    # 60 s buy 4 questions of 4 images (12.02 s each: 48.1 s) plus one more to pass 60 s
    assert frame.cost.max() == pytest.approx(5 * (1.10 + 3 * 3.64), abs=0.01)


@pytest.mark.parametrize("images,why", [(1, ">= 2"), (500, "larger than the pool")])
def test_pal_group_sizes_are_checked(images, why, write_config, tmp_path, capsys):
    assert main(["run", str(write_config(GROUPS.format(images=images))), "--store",
                 str(tmp_path / "s.sqlite"), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("palbench: error: strategy.images") and why in err
    assert not (tmp_path / "s.sqlite").exists()
