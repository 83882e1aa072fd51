"""Every registered strategy passes palbench.testing.check_strategy: the one definition of the
selection contract, run with the loop's own CellState, ledger and graph."""

from __future__ import annotations

import pytest

from palbench.strategies import STRATEGIES
from palbench.testing import check_strategy

NAMES = STRATEGIES.names()
# fewer candidates for the greedy oracle: it trains a model per candidate and pick
PARAMS = {"greedy_oracle": {"candidates": 3}}


@pytest.mark.parametrize("name", NAMES)
def test_every_registered_strategy_keeps_the_contract(name, blobs):
    check_strategy(STRATEGIES.get(name), params=PARAMS.get(name), data=blobs)
