"""Each kind of component is described once (palbench.kinds), and each package's lazy map of
built-ins is what its modules register."""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

import pytest

from palbench import testing
from palbench.kinds import KINDS
from palbench.protocol import Component

PACKAGE = Path(__file__).resolve().parents[1] / "palbench"


@pytest.mark.parametrize("kind", KINDS.values(), ids=lambda kind: kind.name)
def test_each_record_points_at_what_exists(kind):
    base = kind.base_class()
    registry = kind.registry_object()
    assert issubclass(base, Component) and base.kind == kind.name
    assert registry.base is base and registry.kind == kind.plural
    assert callable(getattr(testing, kind.checker))
    assert kind.checker in testing.__all__
    assert importlib.import_module(kind.package).__name__ == kind.registry.split(":")[0]


@pytest.mark.parametrize("kind", KINDS.values(), ids=lambda kind: kind.name)
def test_the_lazy_map_is_what_the_modules_register(kind):
    """Every module of the kind's package imported: the names registered by palbench's own
    modules are exactly those its __init__.py names, each in the module that registers it."""
    registry = kind.registry_object()
    package = importlib.import_module(kind.package)
    for module in pkgutil.walk_packages(package.__path__, f"{kind.package}."):
        importlib.import_module(module.name)
    registered = {name: cls.__module__ for name, cls in registry._items.items()
                  if cls.__module__.startswith(f"{kind.package}.")}
    assert registered == registry.built_ins


def sequences_of_names(tree: ast.AST, names: set[str]) -> list[int]:
    """Lines of each literal tuple, list, set or dict (its keys) holding every one of `names`."""
    found = []
    for node in ast.walk(tree):
        items = node.keys if isinstance(node, ast.Dict) else \
            node.elts if isinstance(node, ast.Tuple | ast.List | ast.Set) else []
        strings = {item.value for item in items
                   if isinstance(item, ast.Constant) and isinstance(item.value, str)}
        if names <= strings:
            found.append(node.lineno)
    return found


def test_no_second_copy_of_the_kind_table():
    """No literal collection of the kinds' names (or their plurals) outside palbench.kinds."""
    copies = []
    for path in PACKAGE.rglob("*.py"):
        if path.name == "kinds.py" and path.parent == PACKAGE:
            continue
        tree = ast.parse(path.read_text())
        for names in ({k.name for k in KINDS.values()}, {k.plural for k in KINDS.values()}):
            copies += [f"{path.relative_to(PACKAGE.parent)}:{line}"
                       for line in sequences_of_names(tree, names)]
    assert not copies, f"a second copy of the kind table: {copies}"


def test_the_grep_sees_a_copy(tmp_path):
    tree = ast.parse('SECTIONS = ("experiment", "dataset", "strategy", "oracle", "learner",\n'
                     '            "stopping", "encoder")\nREG = {"datasets": 1, "strategies": 2}\n')
    assert sequences_of_names(tree, {k.name for k in KINDS.values()}) == [1]
    assert sequences_of_names(tree, {k.plural for k in KINDS.values()}) == []
