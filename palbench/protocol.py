"""The component protocol: what every kind of component (dataset source, strategy, oracle,
learner) is, and the checks a class passes before the harness uses it.

A component is a frozen keyword-only dataclass: its fields are its parameters (the TOML
keys), declared with what the spec hash needs to know (`palbench.fields`); facts about the
class are `ClassVar`, never fields. Each kind's base class derives from `Component` and
declares every hook the harness calls on it, with a default, so the harness never probes
with `hasattr` and a class can be checked against its base.
"""

from __future__ import annotations

import dataclasses
import difflib
import typing
from typing import Any, ClassVar

from palbench.errors import ConfigError
from palbench.kinds import KINDS


class Component:
    """Base of every component kind: a frozen keyword-only dataclass of parameters."""

    kind: ClassVar[str] = "component"  # a base's kind: a name of palbench.kinds.KINDS
    registry_name: ClassVar[str] = ""  # set when registered; "" for a class given directly
    # small parameters its contract check builds it from (tests/contracts runs every
    # registered component on each): declared where the defaults cannot run (a required
    # path or matrix) or are slow for a check; the defaults when it declares none
    examples: ClassVar[tuple[dict, ...]] = ({},)

    def validate(self, where: str) -> None:
        """Check what spans several parameters (their types, and the value rules each one
        declares with `param(..., ge=, choices=)`, are already checked); raise ConfigError
        naming `f"{where}.{field}"`. Runs once when a config is read; none by default."""

    def validate_data(self, data, where: str) -> None:
        """Checks that need the dataset (a matrix's size, the pool's size); none by default."""

    def display_name(self) -> str:
        """The component's label in results: its name plus every non-default parameter that
        can change results."""
        from palbench.fields import without_results
        from palbench.params import describe

        return describe(name_of(type(self)), self, hidden=without_results(self))

    def content_identity(self) -> dict:
        """What identifies its results beyond its parameters when it is nested in another
        component (an encoder's weights file, by sha256); nothing by default."""
        return {}

    def nested_components(self) -> dict[str, Any]:
        """Each parameter declared `component=KIND` (the table of another component: a
        wrapped oracle, an inner strategy), built as that kind's component, by field name
        (None where the table is None: an optional one left out); the spec hash holds their
        identities. Override where tables combine (a pool of
        workers over one base table)."""
        from palbench.fields import nested_kind, parameters

        return {f.name: None if getattr(self, f.name) is None else
                build_nested(nested_kind(f), getattr(self, f.name), f"{self.kind}.{f.name}")
                for f in parameters(self) if nested_kind(f)}


def build_nested(kind: str, table: dict, where: str) -> Component:
    """A component of `kind` from its table (`name` plus parameters), checked as a config's."""
    from palbench.params import build

    name = table.get("name")
    if name is None:
        raise ConfigError(f"{where}.name", None, f"the nested {kind} needs a name")
    return build(registry_of(kind).get(name, f"{where}.name"), table, where)


def registry_of(kind: str):
    """The registry of a kind (imported when first needed: registries import this module)."""
    return KINDS[kind].registry_object()


def name_of(cls: type) -> str:
    """A component class's name: its registry name, or its class name when given directly."""
    return cls.__dict__.get("registry_name") or cls.__name__


def class_vars(base: type) -> set[str]:
    """The names a base declares as ClassVar (with its ancestors)."""
    names = set()
    for klass in base.__mro__:
        for name, hint in vars(klass).get("__annotations__", {}).items():
            text = hint if isinstance(hint, str) else repr(hint)
            if text.startswith(("ClassVar", "typing.ClassVar")) or \
                    typing.get_origin(hint) is ClassVar:
                names.add(name)
    return names


def hooks(base: type) -> set[str]:
    """The hooks a base declares: its public methods and properties, with its ancestors'."""
    names = set()
    for klass in base.__mro__:
        if klass is object:
            continue
        for name, value in vars(klass).items():
            if not name.startswith("_") and (callable(value) or isinstance(value, property)):
                names.add(name)
    return names


def protocol_problems(cls: type, base: type) -> list[str]:
    """What keeps `cls` from being a component of `base`'s kind ([] when nothing): not a
    subclass, not a frozen keyword-only dataclass, a ClassVar of the protocol made a parameter by an
    annotation, a method whose name is a misspelt hook."""
    kind = getattr(base, "kind", "component")
    kind = KINDS[kind].display if kind in KINDS else kind
    if not (isinstance(cls, type) and issubclass(cls, base)):
        return [f"is not a palbench {kind}: it must subclass palbench.{base.__name__}"]
    problems = []
    if not dataclasses.is_dataclass(cls):
        return [f"{cls.__qualname__} must be a dataclass (@dataclass(frozen=True, "
                "kw_only=True)): its fields are its parameters"]
    if not cls.__dataclass_params__.frozen:
        problems.append(f"{cls.__qualname__} must be a frozen dataclass "
                        "(@dataclass(frozen=True, kw_only=True)): a component must not change "
                        "during a run")
    positional = [f.name for f in dataclasses.fields(cls) if f.init and not f.kw_only]
    if positional:
        problems.append(f"{cls.__qualname__} must be a keyword-only dataclass "
                        "(@dataclass(frozen=True, kw_only=True)): parameter "
                        f"{positional[0]!r} can be given by position, where a reordering "
                        "would silently swap values")
    fields = {f.name for f in dataclasses.fields(cls)}
    for name in sorted(fields & class_vars(base)):
        problems.append(f"{cls.__qualname__}.{name} is declared by {base.__name__} as a "
                        "ClassVar, but an annotation made it a parameter: write it without a "
                        "type (or as ClassVar)")
    for name in sorted(fields & hooks(base)):
        problems.append(f"{cls.__qualname__}.{name} is a hook of {base.__name__}, not a "
                        "parameter")
    from palbench.fields import nested_kind

    for f in dataclasses.fields(cls):
        kind = nested_kind(f)
        if kind is not None and kind not in KINDS:
            problems.append(f"{cls.__qualname__}.{f.name} is declared a nested {kind!r}, "
                            "which is no kind of component")
    declared = hooks(base) | class_vars(base)
    for name, value in vars(cls).items():
        if name.startswith("_") or name in declared or not callable(value):
            continue
        close = difflib.get_close_matches(name, sorted(declared), n=1, cutoff=0.85)
        if close:
            problems.append(f"{cls.__qualname__}.{name} is not a hook of {base.__name__} "
                            f"(did you mean {close[0]!r}?): the harness never calls it")
    return problems


def check_protocol(cls: type, base: type, field: str, value: Any) -> type:
    """`cls` itself, or a ConfigError naming the field for the first problem found."""
    problems = protocol_problems(cls, base)
    if problems:
        raise ConfigError(field, value, problems[0])
    return cls
