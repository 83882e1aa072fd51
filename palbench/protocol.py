"""The component protocol: what every kind of component (dataset source, strategy, oracle,
learner) is, and the checks a class passes before the harness uses it.

A component is a frozen dataclass: its fields are its parameters (the TOML keys, and what the
spec hash covers); facts about the class are `ClassVar`, never fields. Each kind's base class
derives from `Component` and declares every hook the harness calls on it, with a default, so
the harness never probes with `hasattr` and a class can be checked against its base.
"""

from __future__ import annotations

import dataclasses
import difflib
import typing
from typing import Any, ClassVar

from palbench.errors import ConfigError


class Component:
    """Base of every component kind: a frozen dataclass of parameters."""

    kind: ClassVar[str] = "component"  # "strategy", "oracle", "learner", "dataset"
    registry_name: ClassVar[str] = ""  # set when registered; "" for a class given directly
    hidden_params: ClassVar[tuple[str, ...]] = ()  # fields that cannot change results (paths)
    # fields added after runs were stored: in the spec only when set, so that the runs that
    # do not use them keep their spec hashes
    late_params: ClassVar[tuple[str, ...]] = ()

    def validate(self, where: str) -> None:
        """Check the parameters' values (their types are already checked); raise ConfigError
        naming `f"{where}.{field}"`. Runs once when a config is read."""

    def validate_data(self, data, where: str) -> None:
        """Checks that need the dataset (a matrix's size, the pool's size); none by default."""

    def display_name(self) -> str:
        """The component's label in results: its name plus every non-default parameter."""
        from palbench.params import describe

        return describe(name_of(type(self)), self, hidden=self.hidden_params)


def name_of(cls: type) -> str:
    """A component class's name: its registry name, or its class name when given directly."""
    return cls.__dict__.get("registry_name") or cls.__name__


def path_of(cls: type) -> str:
    """`module:QualName`, the import path a config can name the class by."""
    return f"{cls.__module__}:{cls.__qualname__}"


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
    subclass, not a frozen dataclass, a ClassVar of the protocol made a parameter by an
    annotation, a method whose name is a misspelt hook."""
    kind = getattr(base, "kind", "component")
    if not (isinstance(cls, type) and issubclass(cls, base)):
        return [f"is not a palbench {kind}: it must subclass palbench.{base.__name__}"]
    problems = []
    if not dataclasses.is_dataclass(cls):
        return [f"{cls.__qualname__} must be a dataclass (@dataclass(frozen=True)): its fields "
                "are its parameters"]
    if not cls.__dataclass_params__.frozen:
        problems.append(f"{cls.__qualname__} must be a frozen dataclass "
                        "(@dataclass(frozen=True)): a component must not change during a run")
    fields = {f.name for f in dataclasses.fields(cls)}
    for name in sorted(fields & class_vars(base)):
        problems.append(f"{cls.__qualname__}.{name} is declared by {base.__name__} as a "
                        "ClassVar, but an annotation made it a parameter: write it without a "
                        "type (or as ClassVar)")
    for name in sorted(fields & hooks(base)):
        problems.append(f"{cls.__qualname__}.{name} is a hook of {base.__name__}, not a "
                        "parameter")
    for name in sorted(set(cls.hidden_params) - fields):
        problems.append(f"{cls.__qualname__}.hidden_params names {name!r}, which is not one "
                        "of its parameters")
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
