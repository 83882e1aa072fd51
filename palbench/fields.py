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

Everything else is in the hash with its value, defaults included, so a changed default
changes the hash. `identity(obj)` is that rule, the only one: nothing is listed by hand.
A field's doc is the comment on its line (`palbench.reference`), or `doc=` here.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from palbench.imports import path_of

RESULTS, LATE, COMPONENT, DOC = "results", "late", "component", "doc"


def param(default: Any = dataclasses.MISSING, *, default_factory: Any = dataclasses.MISSING,
          results: bool = True, late: bool = False, component: str | None = None,
          doc: str | None = None) -> Any:
    """A dataclass field with its declaration (see the module's docstring)."""
    metadata: dict[str, Any] = {RESULTS: results, LATE: late}
    if component is not None:
        metadata[COMPONENT] = component
    if doc is not None:
        metadata[DOC] = doc
    return dataclasses.field(default=default, default_factory=default_factory,
                             metadata=metadata)


def changes_results(f: dataclasses.Field) -> bool:
    return f.metadata.get(RESULTS, True)


def is_late(f: dataclasses.Field) -> bool:
    return f.metadata.get(LATE, False)


def nested_kind(f: dataclasses.Field) -> str | None:
    return f.metadata.get(COMPONENT)


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


def named_identity(component: Any) -> Any:
    """A nested component (or a tuple of them, or None) as its name plus its identity."""
    if component is None:
        return None
    if isinstance(component, tuple):
        return [named_identity(c) for c in component]
    cls = type(component)
    return {"name": cls.__dict__.get("registry_name") or path_of(cls), **identity(component)}


def jsonable(value: Any) -> Any:
    """A parameter's value as the spec's JSON holds it (tuples as lists, keys sorted)."""
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in sorted(value.items())}
    return value
