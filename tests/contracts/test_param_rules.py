"""Every declared value rule, refused where it is declared: for each rule of every registered
component of every kind (the registries, plugins included), of [experiment], of [costs] and
of a claims file's [[claim]], values just outside it (just below `ge`, at `gt`, just above
`le`, at `lt`, a name not among the choices, nan and inf where `finite`; nan and inf for every
number typed `float`) are read through the config path (the claims file's) and must be
refused by a ConfigError of one line naming the value's whole path and the value, saying
the rule. Nothing here is listed by hand: a new component's rules are tested when it is
registered. Per kind, `palbench run` on such a config exits 2 with that one line and writes
no store. No data is loaded and nothing trains: values are checked before either."""

from __future__ import annotations

import dataclasses
import json
import math
import types
import typing
from typing import Any

import pytest

from palbench.bench.config import parse
from palbench.bench.experiment import Experiment
from palbench.cli import main
from palbench.errors import ConfigError
from palbench.fields import Rule, default_of, parameters, rule_of
from palbench.kinds import KINDS
from palbench.oracles.costs import Costs
from palbench.protocol import registry_of
from palbench.reference import parameters as reference_parameters
from palbench.reports.claims import Claim, load_claims

BASE = {"dataset": {"name": "blobs"}, "strategy": {"name": "random"}}
WHERE = {"claim": "claim[0]", **{kind.name: kind.section for kind in KINDS.values()
                                 if not kind.top_level}}  # where it is not its name


def placed(section: str, table: dict) -> dict:
    """A config holding `table` as `section`: a nested kind's table inside the base
    dataset's ([dataset.encoder])."""
    if section in KINDS and not KINDS[section].top_level:
        outer, inner = KINDS[section].section.split(".")
        return {**BASE, outer: {**BASE[outer], inner: table}}
    return {**BASE, section: table}


def tables() -> list[tuple[str, str | None, type]]:
    """(section, registered name or None, class) of every table a config (or, for "claim", a
    claims file) can hold."""
    found = [(kind, name, registry_of(kind).get(name))
             for kind in KINDS for name in registry_of(kind).names()]
    return found + [("experiment", None, Experiment), ("costs", None, Costs),
                    ("claim", None, Claim)]


def forms(hint: Any) -> list[tuple[Any, str, Any]]:
    """Each way a field's type holds a plain value: (the value's type, the suffix of its path,
    a function that puts a value there); a list holds it as its first element, a table as
    the value of a key."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return [form for arg in typing.get_args(hint) for form in forms(arg)]
    if origin in (list, tuple):
        return [(leaf, f"[0]{suffix}", lambda v, put=put: (put(v),))
                for leaf, suffix, put in forms(typing.get_args(hint)[0])]
    if origin is dict or hint is dict:
        args = typing.get_args(hint)
        return [(leaf, f".k{suffix}", lambda v, put=put: {"k": put(v)})
                for leaf, suffix, put in forms(args[1] if args else Any)]
    if hint is type(None):
        return []
    return [(hint, "", lambda v: v)]


def outside(rule: Rule, leaf: Any) -> list[tuple[str, Any]]:
    """(what is broken, a value of type `leaf` just outside the rule)."""
    whole = leaf is int
    if leaf not in (int, float, Any):
        return [("not a choice", "not-a-choice")] if leaf is str and rule.choices else []
    if whole and rule.choices and not rule.bounded:  # a whole number among choices
        return [("not a choice", max(c for c in rule.choices if isinstance(c, int)) + 1)]
    below = (lambda b: b - 1) if whole else (lambda b: math.nextafter(float(b), -math.inf))
    above = (lambda b: b + 1) if whole else (lambda b: math.nextafter(float(b), math.inf))
    at = int if whole else float
    cases = []
    if rule.ge is not None:
        cases.append((f"below ge={rule.ge}", below(rule.ge)))
    if rule.gt is not None:
        cases.append((f"at gt={rule.gt}", at(rule.gt)))
    if rule.le is not None:
        cases.append((f"above le={rule.le}", above(rule.le)))
    if rule.lt is not None:
        cases.append((f"at lt={rule.lt}", at(rule.lt)))
    if rule.finite and not whole:
        cases += [("nan", math.nan), ("inf", math.inf), ("-inf", -math.inf)]
    return cases


def inside(rule: Rule | None, leaf: Any) -> Any:
    """A value of type `leaf` that keeps the rule: what a parameter without a default is
    given while another is broken."""
    if leaf is str:
        return rule.choices[0] if rule and rule.choices else "x"
    if rule is None:
        return 1
    low = rule.ge if rule.ge is not None else rule.gt + 1 if rule.gt is not None else None
    high = rule.le if rule.le is not None else rule.lt - 1 if rule.lt is not None else None
    value = low if low is not None else high if high is not None else 1
    return float(value) if leaf is float else value


def required(cls: type, hints: dict) -> dict:
    """A value for each parameter without a default, each keeping its own rule."""
    found = {}
    for f in parameters(cls):
        if default_of(f) is dataclasses.MISSING:
            leaf, _, put = forms(hints[f.name])[0]
            found[f.name] = put(inside(rule_of(f), leaf))
    return found


def cases() -> list[tuple[str, str, dict, str, Any, Rule | None]]:
    """(case id, section, the section's table, the value's path, the value, the rule it
    breaks: None for nan and inf where a number is typed `float`, which no float takes)."""
    found = []
    for section, name, cls in tables():
        hints = typing.get_type_hints(cls)
        given = {"name": name, **required(cls, hints)} if name else required(cls, hints)
        for f in parameters(cls):
            rule, seen = rule_of(f), set()
            for leaf, suffix, put in forms(hints[f.name]):
                broken = outside(rule, leaf) if rule else []
                if leaf is float and not (rule and rule.finite):
                    broken += [("nan by type", math.nan), ("inf by type", math.inf)]
                for what, value in broken:
                    if what in seen:  # the simplest form of the field breaks each bound
                        continue
                    seen.add(what)
                    table = {**given, f.name: put(value)}
                    found.append((f"{section}.{name or ''}.{f.name}:{what}", section, table,
                                  f"{WHERE.get(section, section)}.{f.name}{suffix}", value,
                                  None if "by type" in what else rule))
    return found


CASES = cases()


def same(a: Any, b: Any) -> bool:
    return (isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b)) \
        or a == b


def test_the_rules_are_found_for_every_kind_and_table():
    """The walk is not empty: every kind and both tables declare rules, and each rule gives
    at least one value outside it."""
    sections = {section for _, section, *_ in CASES}
    assert sections == set(KINDS) | {"experiment", "costs", "claim"}
    declared = {f"{section}.{name or ''}.{f.name}" for section, name, cls in tables()
                for f in parameters(cls) if rule_of(f)}
    tested = {case_id.rsplit(":", 1)[0] for case_id, *_, rule in CASES if rule is not None}
    assert declared == tested
    assert len(tested) >= 100


@pytest.mark.parametrize("section,table,path,value,rule", [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_a_value_outside_a_declared_rule_is_refused_naming_its_path(section, table, path,
                                                                    value, rule, tmp_path):
    with pytest.raises(ConfigError) as info:
        if section == "claim":
            claims = tmp_path / "claims.toml"
            claims.write_text(table_text("[[claim]]", table))
            load_claims(claims)
        else:
            parse(placed(section, table))
    message = str(info.value)
    assert info.value.field == path, message
    assert same(info.value.value, value), message
    assert message.startswith(f"{path} = {value!r}: ") and "\n" not in message
    if rule is not None:
        assert message.endswith(f": must be {rule}")


def leaves(value: Any) -> list[Any]:
    if isinstance(value, (list, tuple)):
        return [leaf for v in value for leaf in leaves(v)]
    if isinstance(value, dict):
        return [leaf for v in value.values() for leaf in leaves(v)]
    return [] if value is None else [value]


@pytest.mark.parametrize("section,name,cls", tables(),
                         ids=[f"{s}.{n or ''}" for s, n, _ in tables()])
def test_every_default_keeps_its_own_rule_and_the_reference_says_the_rule(section, name, cls):
    by_name = {p.name: p for p in reference_parameters(cls)}
    for f in parameters(cls):
        rule = rule_of(f)
        assert by_name[f.name].values == (str(rule) if rule else "")
        default = default_of(f)
        if rule is None or default is dataclasses.MISSING:
            continue
        assert all(rule.allows(leaf) for leaf in leaves(default)), \
            f"{section}.{f.name}: its default {default!r} breaks its own rule ({rule})"


@pytest.mark.parametrize("rule,said,inside,outside_", [
    (Rule(gt=0), "> 0", [1e-300, 5], [0, -1, 0.0]),
    (Rule(ge=1), ">= 1", [1, 2], [0, 0.999]),
    (Rule(ge=0, le=1), "within [0, 1]", [0, 1, 0.5], [-1e-9, 1.0000001]),
    (Rule(gt=0, lt=1), "within (0, 1)", [0.5], [0, 1]),
    (Rule(ge=0, lt=2**32), "within [0, 2**32)", [0, 2**32 - 1], [2**32, -1]),
    (Rule(choices=("a", "b")), 'one of "a", "b"', ["a", "b"], ["c", 1]),
    (Rule(gt=0, choices=("auto",)), '> 0 or "auto"', [0.5, "auto"], [0, "car"]),
    (Rule(ge=0, finite=True), "a finite number >= 0", [0, 3.5],
     [math.nan, math.inf, -1, "3"]),
    (Rule(ge=0, note="0: never"), ">= 0 (0: never)", [0], [-1]),
])
def test_a_rule_says_what_it_allows(rule, said, inside, outside_):
    assert str(rule) == said
    assert all(rule.allows(v) for v in inside)
    assert not any(rule.allows(v) for v in outside_)
    assert not Rule(ge=0).allows(True)  # a switch is no number


def toml(value: Any) -> str:
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {toml(v)}" for k, v in value.items()) + " }"
    return repr(value)  # repr(float) reads back exactly; nan, inf as TOML writes them


def table_text(header: str, table: dict) -> str:
    return header + "\n" + "".join(f"{k} = {toml(v)}\n" for k, v in table.items())


def config_text(raw: dict, prefix: str = "") -> str:
    """TOML of the tables in `raw`, a table inside a table as [outer.inner]."""
    return "".join(table_text(f"[{prefix}{section}]", {k: v for k, v in table.items()
                                                        if not isinstance(v, dict)})
                   + config_text({k: v for k, v in table.items() if isinstance(v, dict)},
                                 f"{prefix}{section}.")
                   for section, table in raw.items())


FIRST_PER_SECTION: dict[str, tuple] = {}  # each section's first case of a declared rule
for case in CASES:
    if case[-1] is not None:
        FIRST_PER_SECTION.setdefault(case[1], case)


@pytest.mark.parametrize("section", sorted(set(FIRST_PER_SECTION) - {"claim"}))
def test_palbench_run_refuses_it_in_one_line_and_writes_nothing(section, tmp_path, capsys):
    _, section, table, path, value, rule = FIRST_PER_SECTION[section]
    config = tmp_path / "bad.toml"
    config.write_text(config_text(placed(section, table)))
    store = tmp_path / "never.sqlite"
    assert main(["run", str(config), "--store", str(store)]) == 2
    err = capsys.readouterr().err
    assert err == f"palbench: error: {path} = {value!r}: must be {rule}\n"
    assert not store.exists() and list(tmp_path.iterdir()) == [config]


def test_palbench_list_prints_each_parameters_values(capsys):
    assert main(["list", "oracles", "noisy_label"]) == 0
    out = capsys.readouterr().out
    assert "  noise (float, default 0.1; in the spec hash: yes)\n" in out
    assert "      values: within [0, 1]\n" in out


def test_the_config_reference_has_a_values_column():
    from palbench.reference import markdown

    text = markdown()
    assert "| parameter | type | default | values | in the spec hash | what it is |" in text
    assert '| `delta` | `float \\| str` | `"auto"` | `> 0 or "auto"` | yes |' in text
