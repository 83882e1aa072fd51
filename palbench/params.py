"""Build a registered component (a dataclass) from a TOML table, checking keys and types.

A component's dataclass fields are its parameters. This module turns ``{"noise": 0.1}`` into
``NoisyLabel(noise=0.1)`` with "did you mean" for unknown keys and a field-named error for a
wrong type; then the value rules its fields declare (``param(0.1, ge=0, le=1)``) are checked,
and last the object's own ``validate(where)``, which keeps the rules that span several fields.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import sys
import types
import typing
from pathlib import Path
from typing import Any

from palbench.errors import ConfigError, check
from palbench.fields import Rule, nested_kind, parameters, rule_of

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

RESERVED_KEYS = ("name", "id", "with")  # the harness's keys, not parameters


def _type_name(tp: Any) -> str:
    if tp is type(None):
        return "nothing"
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type_name(a) for a in typing.get_args(tp))
    if origin in (list, tuple):
        return "a list"
    if origin is dict or tp is dict:
        return "a table"
    return {int: "an integer", float: "a number", str: "a string", bool: "true/false"}.get(
        tp, getattr(tp, "__name__", str(tp))
    )


def coerce(value: Any, tp: Any, field: str) -> Any:
    """Return value converted to type tp (int -> float, list -> tuple), or raise ConfigError."""
    origin = typing.get_origin(tp)
    if tp is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(tp):
            try:
                return coerce(value, arg, field)
            except ConfigError:
                continue
        raise ConfigError(field, value, f"must be {_type_name(tp)}")
    if tp is type(None):
        if value is None:
            return None
        raise ConfigError(field, value, "must be empty")
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(field, value, "must be true or false")
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise ConfigError(field, value, "must be an integer")
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if not math.isfinite(value):
                raise ConfigError(field, value, "must be a finite number")
            return float(value)
        raise ConfigError(field, value, "must be a number")
    if tp is str:
        if isinstance(value, str):
            return value
        raise ConfigError(field, value, "must be a string")
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(field, value, "must be a list")
        (inner,) = typing.get_args(tp)[:1] or (Any,)
        return tuple(coerce(v, inner, f"{field}[{i}]") for i, v in enumerate(value))
    if origin is dict or tp is dict:
        if not isinstance(value, dict):
            raise ConfigError(field, value, "must be a table")
        args = typing.get_args(tp)
        inner = args[1] if len(args) == 2 else Any
        return {str(k): coerce(v, inner, f"{field}.{k}") for k, v in value.items()}
    raise TypeError(f"palbench cannot check parameters of type {tp!r} ({field})")


def unknown_key_error(field: str, key: str, value: Any, known: list[str]) -> ConfigError:
    hint = difflib.get_close_matches(key, known, n=1, cutoff=0.5)
    why = "unknown key"
    if hint:
        why += f" (did you mean {hint[0]!r}?)"
    why += "; known keys: " + (", ".join(sorted(known)) or "none")
    return ConfigError(field, value, why)


def parameter_names(cls: type) -> list[str]:
    return [f.name for f in dataclasses.fields(cls) if f.init]


def build(cls: type, table: dict, where: str, reserved: tuple[str, ...] = RESERVED_KEYS) -> Any:
    """Instantiate dataclass cls from a config table (keys in `reserved` are the caller's)
    and validate it."""
    return validated(construct(cls, table, where, reserved), where)


def validated(obj: Any, where: str) -> Any:
    """`obj` once its declared value rules, its own `validate` and its nested components
    (each built and checked as a config's) have passed."""
    check_rules(obj, where)
    obj.validate(where)
    if any(nested_kind(f) for f in parameters(obj)):
        obj.nested_components()
    return obj


def check_rules(obj: Any, where: str) -> None:
    """Every value rule `obj`'s fields declare (palbench.fields.Rule), field by field; each
    element of a list or table on its own. A ConfigError names the value's whole path
    (`oracle.noise`, `experiment.budgets[0]`, `costs.label.cat`)."""
    for f in parameters(obj):
        rule = rule_of(f)
        if rule is not None:
            _check_value(rule, getattr(obj, f.name), f"{where}.{f.name}")


def _check_value(rule: Rule, value: Any, field: str) -> None:
    if value is None:  # unset
        return
    if isinstance(value, (list, tuple)):
        for i, element in enumerate(value):
            _check_value(rule, element, f"{field}[{i}]")
    elif isinstance(value, dict):
        for key, element in value.items():
            _check_value(rule, element, f"{field}.{key}")
    elif not rule.allows(value):
        raise ConfigError(field, value, f"must be {rule}")


def construct(cls: type, table: dict, where: str,
              reserved: tuple[str, ...] = RESERVED_KEYS) -> Any:
    """Instantiate dataclass cls from a config table: every key known, every value of its
    field's type, every field without a default given; not yet validated."""
    hints = typing.get_type_hints(cls)
    known = parameter_names(cls)
    kwargs = {}
    for key, value in table.items():
        if key in reserved:
            continue
        if key not in known:
            raise unknown_key_error(f"{where}.{key}", key, value, known + list(reserved))
        kwargs[key] = coerce(value, hints[key], f"{where}.{key}")
    for f in dataclasses.fields(cls):  # required: a parameter declared without a default
        if f.init and f.name not in kwargs and f.default is dataclasses.MISSING and \
                f.default_factory is dataclasses.MISSING:
            raise ConfigError(f"{where}.{f.name}", None, "is required (it has no default)")
    return cls(**kwargs)


def describe(name: str, obj: Any, hidden: tuple[str, ...] = ()) -> str:
    """A label for results: the name plus every non-default parameter (but the `hidden`
    ones). A table's `id` replaces the label where the config reads it."""
    changed = []
    for f in dataclasses.fields(obj):
        if not f.init or f.name in hidden:
            continue
        default = f.default
        if default is dataclasses.MISSING and f.default_factory is not dataclasses.MISSING:
            default = f.default_factory()
        value = getattr(obj, f.name)
        if value != default:
            changed.append(f"{f.name}={_short(value)}")
    return f"{name}({','.join(changed)})" if changed else name


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, dict):
        return "{" + ",".join(f"{k}:{_short(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_short(v) for v in value) + "]"
    return str(value)


def read_toml(path: str | Path) -> dict:
    path = Path(path)
    check(path.is_file(), "config", str(path), "no such file")
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("config", str(path), f"not valid TOML: {exc}") from None
    except UnicodeDecodeError:
        raise ConfigError("config", str(path), "not a UTF-8 text file") from None
    except RecursionError:
        raise ConfigError("config", str(path), "nested too deeply to read (tables or arrays "
                          "inside each other hundreds of levels deep)") from None
