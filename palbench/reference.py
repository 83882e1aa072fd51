"""The config reference, generated from the components themselves.

A component's parameters are its dataclass fields, declared once (`palbench.fields`): each
one's description is its `doc=` declaration, else the comment on its line (`noise: float =
0.1  # probability of a wrong answer`) or in the comment lines right above it, or, failing
that, a mention in its class docstring as `` `noise` ``; whether it enters the spec hash, and
the values it takes (`within [0, 1]`, `one of "a", "b"`), come from the same declaration. The
reference
page of the documentation is built from this module at every docs build, and a test fails
when a parameter has no description, so a parameter cannot be undocumented.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import re
import typing

from palbench.fields import DOC, changes_results, is_late, rule_of

FIELD_COMMENT = re.compile(r"^\s+(\w+)\s*:\s*[^#]*?#\s*(.+?)\s*$")
FIELD_LINE = re.compile(r"^\s+(\w+)\s*:\s*\S")


@dataclasses.dataclass(frozen=True)
class Parameter:
    name: str
    type: str
    default: str
    doc: str
    identity: str = "yes"  # in the spec hash: yes; "when set" (added late); "no"
    values: str = ""  # its declared rule (`> 0`, `within [0, 1]`, `one of "a", "b"`); "": any


def _comments(cls: type) -> dict[str, str]:
    """The trailing comment of each field's line, the class's own before its bases'."""
    found: dict[str, str] = {}
    for klass in cls.__mro__:
        if not dataclasses.is_dataclass(klass):
            continue
        try:
            source = inspect.getsource(klass)
        except (OSError, TypeError):
            continue
        lines = source.splitlines()
        for i, line in enumerate(lines):
            match = FIELD_COMMENT.match(line)
            if match and "ClassVar" not in line:
                found.setdefault(match.group(1), match.group(2))
                continue
            field = FIELD_LINE.match(line)
            above = []
            for previous in reversed(lines[:i]):  # a comment block right above the field
                if not previous.strip().startswith("#"):
                    break
                above.insert(0, previous.strip().lstrip("#").strip())
            if field and above and "ClassVar" not in line:
                found.setdefault(field.group(1), " ".join(above))
    return found


def toml_value(value) -> str:
    """A default as a config would write it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + " }" \
            if value else "{}"
    if value is None:
        return "(unset)"
    return f"{value:g}" if isinstance(value, float) else str(value)


def _default(f: dataclasses.Field) -> str:
    if f.default is not dataclasses.MISSING:
        return toml_value(f.default)
    if f.default_factory is not dataclasses.MISSING:
        return toml_value(f.default_factory())
    return "required"


def _type(cls: type, f: dataclasses.Field) -> str:
    try:
        hint = typing.get_type_hints(cls).get(f.name, f.type)
    except (NameError, TypeError):
        hint = f.type
    if isinstance(hint, str):
        return hint
    if typing.get_origin(hint) is None and hasattr(hint, "__name__"):
        return hint.__name__
    return str(hint).replace("typing.", "")


def parameters(cls: type) -> list[Parameter]:
    """Every parameter of a component (or the experiment / costs table) with its doc ("" when
    it has none)."""
    comments = _comments(cls)
    found = []
    for f in dataclasses.fields(cls):
        if not f.init:
            continue
        doc = f.metadata.get(DOC) or comments.get(f.name, "")  # its own line, nothing else
        hashed = "no" if not changes_results(f) else "when set" if is_late(f) else "yes"
        rule = rule_of(f)
        found.append(Parameter(f.name, _type(cls, f), _default(f), doc, hashed,
                               str(rule) if rule else ""))
    return found


def kinds() -> dict[str, object]:
    """Each registry by its config section (palbench.kinds)."""
    from palbench.kinds import KINDS

    return {kind.section: kind.registry_object() for kind in KINDS.values()}


def tables() -> dict[str, type]:
    """The tables that are not components: [experiment] and [costs]."""
    from palbench.bench.experiment import Experiment
    from palbench.oracles.costs import Costs

    return {"experiment": Experiment, "costs": Costs}


def built_ins(registry) -> list[str]:
    """The names palbench itself registers (plugins document themselves)."""
    return [name for name in registry.names()
            if registry.get(name).__module__.startswith("palbench.")]


def undocumented() -> list[str]:
    """`section.name.parameter` of every built-in parameter without a description."""
    missing = [f"{section}.{p.name}" for section, cls in tables().items()
               for p in parameters(cls) if not p.doc and p.name != "pool_step"]
    for section, registry in kinds().items():
        for name in built_ins(registry):
            missing += [f"{section}.{name}.{p.name}" for p in parameters(registry.get(name))
                        if not p.doc]
    return missing


def summary(cls: type) -> str:
    doc = inspect.getdoc(cls) or ""
    return doc.split("\n\n")[0].replace("\n", " ").strip()


def _table(params: list[Parameter]) -> list[str]:
    if not params:
        return ["No parameters.", ""]
    rows = ["| parameter | type | default | values | in the spec hash | what it is |",
            "|:--|:--|:--|:--|:--|:--|"]
    for p in params:
        doc = p.doc.replace("|", "\\|")
        values = _code(p.values) if p.values else "any"
        rows.append(f"| `{p.name}` | {_code(p.type)} | {_code(p.default)} | {values} "
                    f"| {p.identity} | {doc} |")
    return rows + [""]


def _code(text: str) -> str:
    return "`" + text.replace("|", "\\|") + "`"


def markdown() -> str:
    """The whole reference: [experiment], [costs], then every registered name of each kind."""
    from palbench.protocol import name_of

    lines = []
    for section, cls in tables().items():
        lines += [f"## [{section}]", "", summary(cls), ""]
        lines += _table([p for p in parameters(cls) if p.name != "pool_step"])
    for section, registry in kinds().items():
        lines += [f"## [{section}]", ""]
        for name in built_ins(registry):
            cls = registry.get(name)
            lines += [f"### `{name}`", "", summary(cls) or name_of(cls), ""]
            lines += _table(parameters(cls))
    return "\n".join(lines)
