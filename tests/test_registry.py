"""Registries and parameter building: duplicates refused, closest names first, types checked."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from palbench.errors import ConfigError
from palbench.params import build, describe
from palbench.registry import Registry
from palbench.strategies import STRATEGIES


def test_register_refuses_duplicates():
    registry = Registry("widgets")

    @registry.register("a")
    class A:
        pass

    with pytest.raises(ValueError, match="already registered"):
        registry.register("a")(A)


def test_unknown_name_lists_known_names_closest_first():
    with pytest.raises(ConfigError) as info:
        STRATEGIES.get("entropi", "strategy.name")
    message = str(info.value)
    assert "did you mean 'entropy'" in message
    assert message.index("known: entropy") > 0


@dataclass(frozen=True)
class Widget:
    size: int = 3
    ratio: float = 0.5
    tags: tuple[str, ...] = ()
    mode: float | str = "auto"

    def validate(self, where):
        pass


@pytest.mark.parametrize("table,field,words", [
    ({"size": True}, "w.size", "integer"),
    ({"size": 2.0}, "w.size", "integer"),
    ({"ratio": "x"}, "w.ratio", "number"),
    ({"tags": "a"}, "w.tags", "list"),
    ({"tags": [1]}, "w.tags[0]", "string"),
    ({"mode": [1]}, "w.mode", "a number or a string"),
    ({"sise": 1}, "w.sise", "did you mean 'size'"),
])
def test_build_checks_types_and_keys(table, field, words):
    with pytest.raises(ConfigError) as info:
        build(Widget, table, "w")
    assert info.value.field == field and words in str(info.value)


def test_build_converts_and_describe_shows_changes():
    widget = build(Widget, {"size": 4, "ratio": 1, "tags": ["x"], "name": "w"}, "w")
    assert widget == Widget(size=4, ratio=1.0, tags=("x",))
    assert describe("widget", widget) == "widget(size=4,ratio=1,tags=[x])"
    assert describe("widget", Widget()) == "widget"


def _install_plugin(folder, group: str, lines: str) -> None:
    """A real installed distribution (a .dist-info folder on sys.path) with entry points."""
    info = folder / "clashplug-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: clashplug\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[palbench.{group}]\n{lines}\n")
    (folder / "clashplug_mod.py").write_text("class Mine:\n    pass\n\n\nclass New:\n    pass\n")


def test_a_plugin_whose_name_clashes_is_a_warning_naming_both(tmp_path, monkeypatch):
    _install_plugin(tmp_path, "clashkinds", "random = clashplug_mod:Mine\n"
                                            "brand_new = clashplug_mod:New")
    monkeypatch.syspath_prepend(str(tmp_path))
    registry = Registry("clashkinds")

    @registry.register("random")
    class BuiltIn:
        pass

    with pytest.warns(UserWarning, match=r"clashplug_mod:Mine.*clashplug.*'random'.*BuiltIn"):
        names = registry.names()
    assert names == ["brand_new", "random"]
    assert registry.get("random") is BuiltIn
    assert registry.get("brand_new").__name__ == "New"
