"""Declared parameters, and the one rule that turns them into a run's identity.

Every table of a config (`[experiment]`, `[costs]`, each component, each component nested in
another) is a frozen dataclass whose fields are its parameters. A field declares, beside its
type and default, what the spec hash needs to know (`param(...)` metadata):

- `results=False`: it cannot change a result (a file's path, whose data is fingerprinted
  instead; a cache folder; the experiment's name). Out of the hash and out of labels.
- `late=True`: it was added after stores existed. In the hash only when set away from its
  default, so that cells that do not use it keep the hashes their stored runs have.
- `component="oracle"` (a kind): its value is the table of another component of that kind
  (a wrapped oracle, an inner strategy), built as that component; the hash holds the built
  component's identity, its defaults included, never the raw table.

Beside the type, a field may declare the values it takes (`Rule`): `ge=`, `gt=`, `le=`, `lt=`
bounds, `choices=`, `finite=`; `palbench.params.check_rules` checks them all when a table is
read, before the component's own `validate`, and the reference prints them. A rule never
enters the hash.

Everything else is in the hash with its value, defaults included, so a changed default
changes the hash. `identity(obj)` is that rule, the only one: nothing is listed by hand.
A field's doc is the comment on its line (`palbench.reference`), or `doc=` here.
"""

from __future__ import annotations

import dataclasses
import json
import math
from typing import Any

from palbench.imports import path_of

RESULTS, LATE, COMPONENT, DOC, RULE = "results", "late", "component", "doc", "rule"


@dataclasses.dataclass(frozen=True)
class Rule:
    """The values a parameter takes beyond what its type says: a number within the bounds
    (`ge`/`gt` below, `le`/`lt` above; `finite`: no nan or inf, for a value typed `Any`), or
    one of `choices`; with both, either (`delta` is > 0 or "auto"). Declared on a list or a
    table, it holds for each element (each value); an unset value (None) is not checked.
    `note` says what an edge value means, in messages and the reference ("0: never")."""

    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    lt: float | None = None
    choices: tuple = ()
    finite: bool = False
    note: str = ""

    @property
    def bounded(self) -> bool:
        return self.finite or any(b is not None for b in (self.ge, self.gt, self.le, self.lt))

    def allows(self, value: Any) -> bool:
        if isinstance(value, (str, int, float)) and value in self.choices:
            return True
        if not self.bounded or not is_number(value):
            return False
        return not ((self.finite and not math.isfinite(value)) or
                    (self.ge is not None and not value >= self.ge) or
                    (self.gt is not None and not value > self.gt) or
                    (self.le is not None and not value <= self.le) or
                    (self.lt is not None and not value < self.lt))

    def __str__(self) -> str:
        """What the values must be, as a message and the reference say it: `> 0`,
        `within [0, 1)`, `one of "a", "b"`, `> 0 or "auto"`, `>= 0 (0: never)`."""
        interval = self.interval()
        if self.finite:
            interval = f"a finite number {interval}".strip()
        shown = [json.dumps(c) if isinstance(c, str) else number(c) for c in self.choices]
        listed = shown[0] if len(shown) == 1 else "one of " + ", ".join(shown) if shown else ""
        said = " or ".join(part for part in (interval, listed) if part)
        return f"{said} ({self.note})" if self.note else said

    def interval(self) -> str:
        sides = [(op, bound) for op, bound in ((">=", self.ge), (">", self.gt),
                                               ("<=", self.le), ("<", self.lt))
                 if bound is not None]
        if len(sides) < 2:
            return " ".join(f"{op} {number(bound)}" for op, bound in sides)
        (low_op, low), (high_op, high) = sides
        return (f"within {'[' if low_op == '>=' else '('}{number(low)}, "
                f"{number(high)}{']' if high_op == '<=' else ')'}")


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def number(value: float) -> str:
    """A bound as written in a rule: 2**32 for a large power of two, else as TOML has it."""
    if isinstance(value, int) and value >= 2**16 and value & (value - 1) == 0:
        return f"2**{value.bit_length() - 1}"
    return f"{value:g}" if isinstance(value, float) else str(value)


def param(default: Any = dataclasses.MISSING, *, default_factory: Any = dataclasses.MISSING,
          results: bool = True, late: bool = False, component: str | None = None,
          doc: str | None = None, ge: float | None = None, gt: float | None = None,
          le: float | None = None, lt: float | None = None, choices: tuple = (),
          finite: bool = False, note: str = "") -> Any:
    """A dataclass field with its declaration (see the module's docstring)."""
    metadata: dict[str, Any] = {RESULTS: results, LATE: late}
    if component is not None:
        metadata[COMPONENT] = component
    if doc is not None:
        metadata[DOC] = doc
    if (ge is not None and gt is not None) or (le is not None and lt is not None):
        raise TypeError("a rule has one lower bound (ge or gt) and one upper (le or lt)")
    rule = Rule(ge, gt, le, lt, tuple(choices), finite, note)
    if rule != Rule():
        metadata[RULE] = rule
    return dataclasses.field(default=default, default_factory=default_factory,
                             metadata=metadata)


def changes_results(f: dataclasses.Field) -> bool:
    return f.metadata.get(RESULTS, True)


def is_late(f: dataclasses.Field) -> bool:
    return f.metadata.get(LATE, False)


def nested_kind(f: dataclasses.Field) -> str | None:
    return f.metadata.get(COMPONENT)


def rule_of(f: dataclasses.Field) -> Rule | None:
    return f.metadata.get(RULE)


def default_of(f: dataclasses.Field) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return dataclasses.MISSING


def parameters(obj_or_cls: Any) -> list[dataclasses.Field]:
    """The declared parameters: the dataclass fields a config sets."""
    return [f for f in dataclasses.fields(obj_or_cls) if f.init]


def without_results(obj_or_cls: Any) -> tuple[str, ...]:
    """The parameters that cannot change a result (kept out of hashes and labels)."""
    return tuple(f.name for f in parameters(obj_or_cls) if not changes_results(f))


def identity(obj: Any) -> dict:
    """What identifies `obj`'s results: every parameter that changes results, by its value
    (defaults included); a late one only when set away from its default; a nested component
    as its own identity, built through the object's `nested_components()`."""
    nested = obj.nested_components() if any(nested_kind(f) for f in parameters(obj)) else {}
    found = {}
    for f in parameters(obj):
        if not changes_results(f):
            continue
        value = getattr(obj, f.name)
        if is_late(f) and value == default_of(f):
            continue
        if nested_kind(f):
            found[f.name] = named_identity(nested[f.name])
        else:
            found[f.name] = jsonable(value)
    return found


CONTENT = "content_identity"  # a nested identity's key for what content_identity() says


def named_identity(component: Any) -> Any:
    """A nested component (or a tuple of them, or None) as its name plus its identity (and
    its `content_identity`: the files it reads, by hash)."""
    if component is None:
        return None
    if isinstance(component, tuple):
        return [named_identity(c) for c in component]
    cls = type(component)
    content = component.content_identity()
    return {"name": cls.__dict__.get("registry_name") or path_of(cls), **identity(component),
            **({CONTENT: content} if content else {})}


def as_table(identity_of: Any) -> Any:
    """A spec's identity as the config table that builds it again: nested components
    without their `content` (the hashes of the files they read, which no config sets)."""
    if isinstance(identity_of, list):
        return [as_table(v) for v in identity_of]
    if not isinstance(identity_of, dict):
        return identity_of
    return {k: as_table(v) for k, v in identity_of.items() if k != CONTENT}


def jsonable(value: Any) -> Any:
    """A parameter's value as the spec's JSON holds it (tuples as lists, keys sorted)."""
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in sorted(value.items())}
    return value
