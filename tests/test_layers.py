"""The package's imports run only from higher layers to lower ones, with no circle: the layers
docs/development.md draws, checked against every import statement (lazy ones included)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import networkx as nx

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "palbench"


def drawn_layers() -> list[set[str]]:
    """The layers as docs/development.md lists them, top first."""
    text = (ROOT / "docs" / "development.md").read_text()
    block = text.split("<!-- layers -->")[1].split("<!-- /layers -->")[0]
    return [set(re.split(r",\s*", line.split(":", 1)[1].strip()))
            for line in block.strip().splitlines()]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports() -> nx.DiGraph:
    """module -> every palbench module it imports (a `from palbench.x import y` that names a
    submodule counts as importing it); `typing.TYPE_CHECKING` blocks left out."""
    modules = {module_name(p) for p in PACKAGE.rglob("*.py")}
    graph = nx.DiGraph()
    for path in PACKAGE.rglob("*.py"):
        source = module_name(path)
        graph.add_node(source)
        tree = ast.parse(path.read_text())
        checking = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If)
                    and "TYPE_CHECKING" in ast.unparse(node.test)
                    for n in ast.walk(node)}
        for node in ast.walk(tree):
            if id(node) in checking:
                continue
            targets = []
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("palbench"):
                targets = [node.module] + [f"{node.module}.{a.name}" for a in node.names
                                           if f"{node.module}.{a.name}" in modules]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names if a.name.startswith("palbench")]
            for target in targets:
                if target != source and target != "palbench":  # the root: __version__ only
                    graph.add_edge(source, target)
    return graph


def part(module: str) -> str:
    """palbench.bench.loop -> bench; palbench.cli -> cli."""
    return module.split(".")[1]


def test_every_part_of_the_package_is_in_one_drawn_layer():
    layers = drawn_layers()
    assert len(layers) == 4
    named = [name for layer in layers for name in layer]
    assert len(named) == len(set(named)), "a part drawn in two layers"
    parts = {part(m) for m in imports().nodes if m != "palbench"}
    assert parts == set(named), f"drawn but absent: {set(named) - parts}; " \
                                f"present but not drawn: {parts - set(named)}"


def test_imports_run_downward_only():
    layers = drawn_layers()
    level = {name: i for i, layer in enumerate(layers) for name in layer}
    upward = [(a, b) for a, b in imports().edges if level[part(b)] < level[part(a)]]
    assert not upward, f"imports from a lower layer up: {upward}"


def test_no_import_circle():
    assert list(nx.simple_cycles(imports())) == []


def test_the_rules_within_a_layer():
    """Reports never import bench; no component package imports another, nor the store."""
    components = drawn_layers()[2]
    crossing = [(a, b) for a, b in imports().edges
                if (part(a), part(b)) == ("reports", "bench")
                or (part(a) in components and part(b) in components and part(a) != part(b))]
    assert not crossing, crossing


def test_the_check_sees_an_upward_import(tmp_path, monkeypatch):
    """The walk finds a lazy import inside a function (what a careless fix would add)."""
    (tmp_path / "palbench" / "graphs").mkdir(parents=True)
    (tmp_path / "palbench" / "__init__.py").write_text("")
    (tmp_path / "palbench" / "graphs" / "__init__.py").write_text(
        "def f():\n    from palbench.cli import main\n")
    (tmp_path / "palbench" / "cli.py").write_text("")
    monkeypatch.setattr(__import__(__name__, fromlist=["x"]), "ROOT", tmp_path)
    monkeypatch.setattr(__import__(__name__, fromlist=["x"]), "PACKAGE", tmp_path / "palbench")
    assert ("palbench.graphs", "palbench.cli") in imports().edges
