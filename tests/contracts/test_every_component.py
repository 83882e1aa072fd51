"""Every registered component of every kind (plugins included) keeps its kind's contract
(palbench.testing's check for the kind, named by palbench.kinds) on each set of example
parameters it declares (`examples`; its defaults when it declares none). Nothing here names a
component: a new one is checked when it is registered."""

from __future__ import annotations

from pathlib import Path

import pytest

from palbench import testing
from palbench.kinds import KINDS


def registered() -> list[tuple[str, str]]:
    return [(kind, name) for kind in KINDS for name in KINDS[kind].registry_object().names()]


def check_registered(kind: str, name: str) -> None:
    """The kind's check on each example of the registered `name`."""
    cls = KINDS[kind].registry_object().get(name)
    check = getattr(testing, KINDS[kind].checker)
    options = {"n_classes": cls.preset_classes or 3} if kind == "oracle" else {}
    for params in cls.examples:
        check(cls, params=params, **options)


@pytest.mark.parametrize("kind,name", registered())
def test_every_registered_component_keeps_its_contract(kind, name):
    if name == "fashion_mnist" and not Path("/usr/share/datasets/fashion-mnist").is_dir():
        pytest.skip("Debian's dataset-fashion-mnist is not installed")
    check_registered(kind, name)
