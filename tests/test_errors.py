"""palbench's error types: each rebuilt whole across a process boundary, each mapped to one
exit status in the CLI, and that mapping is the table docs/troubleshooting.md shows."""

from __future__ import annotations

import inspect
import pickle
import re
from pathlib import Path

import pytest

import palbench
from palbench import errors
from palbench.cli import EXIT_CODES, exit_code

ROOT = Path(__file__).resolve().parents[1]
TYPES = [cls for _, cls in inspect.getmembers(errors, inspect.isclass)
         if issubclass(cls, errors.PalbenchError) and cls.__module__ == errors.__name__]
EXAMPLES = [errors.ConfigError("experiment.batch_size", 0, "must be >= 1"),
            errors.StoreError(Path("/tmp/s.sqlite"), "the store is damaged"),
            errors.TrainingDiverged("gave non-finite probabilities", "learner", "mlp(lr=1e+30)"),
            errors.ComponentError("strategy 'mine' raised KeyError", "frames", "traceback"),
            errors.ContractError("strategy Mine returned sample 17 twice"),
            errors.WorkerDied("a worker process ended without a result"),
            errors.PalbenchError("a plugin's own")]


@pytest.mark.parametrize("error", EXAMPLES, ids=lambda e: type(e).__name__)
def test_each_error_crosses_a_process_boundary_whole(error):
    back = pickle.loads(pickle.dumps(error))
    assert type(back) is type(error) and str(back) == str(error)
    assert vars(back) == vars(error) and back.args == error.args


def test_every_type_has_an_example_and_an_exit_status():
    assert {type(e) for e in EXAMPLES} == set(TYPES)
    assert set(EXIT_CODES) == set(TYPES)
    assert all(getattr(palbench, cls.__name__) is cls for cls in TYPES)  # the public names


def test_the_exit_statuses_are_the_documented_table():
    text = (ROOT / "docs" / "troubleshooting.md").read_text()
    block = text.split("<!-- exit codes -->")[1].split("<!-- /exit codes -->")[0]
    documented = {name: int(code) for name, code in
                  re.findall(r"^\| `(\w+)` \| (\d+) \|", block, flags=re.MULTILINE)}
    assert documented == {cls.__name__: code for cls, code in EXIT_CODES.items()}


def test_today_s_statuses_and_lines_are_kept():
    """Bad input, a store and a diverged learner exit 2; a bug and a lost worker exit 1; a
    message without a field is its reason alone; a store's line names it as before."""
    assert [exit_code(e) for e in EXAMPLES] == [2, 2, 2, 1, 1, 1, 1]
    assert str(EXAMPLES[1]) == "store = '/tmp/s.sqlite': the store is damaged"
    assert str(errors.TrainingDiverged("gave a non-finite embedding")) == \
        "gave a non-finite embedding"
    assert not isinstance(EXAMPLES[1], errors.ConfigError)  # `except ConfigError`: input only


def test_a_contract_error_is_still_an_assertion_error():
    """Users call the checks inside their own tests: a broken rule fails as an assertion."""
    from palbench.testing import ContractError

    assert ContractError is errors.ContractError and issubclass(ContractError, AssertionError)
