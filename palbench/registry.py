"""One registry per kind of component (datasets, strategies, oracles, learners), and one way to
register for every kind.

Built-ins are named lazily: `lazy(name, module)` names a class whose module is imported only
when the name is first used (a learner that needs torch must not make every run import torch),
and the module registers the class with `@REGISTRY.register(name)`. Third parties register
through entry points in the group ``palbench.<kind>`` (``palbench.strategies``, ...), or are
named in a config by import path, ``name = "mypackage.module:MyClass"``; in Python a class
can also be given directly. Every class is checked against the kind's base
(`palbench.protocol.protocol_problems`) before it is used. `register(name)` refuses
duplicates; an unknown name gets an error that lists the known names, closest first.
"""

from __future__ import annotations

import difflib
import importlib
import warnings
from collections.abc import Callable
from importlib.metadata import entry_points

from palbench.errors import ConfigError
from palbench.imports import path_of, resolve
from palbench.protocol import check_protocol


class Registry:
    def __init__(self, kind: str, base: type | None = None):
        self.kind = kind
        self.base = base  # the kind's protocol: every class must subclass it
        self._items: dict[str, type] = {}
        self._lazy: dict[str, str] = {}  # name -> module that registers it when imported
        self.built_ins: dict[str, str] = {}  # every lazily named built-in -> its module
        self._plugins_loaded = False

    @classmethod
    def for_base(cls, base: type) -> Registry:
        """The registry of the kind `base` declares (its entry-point group from palbench.kinds)."""
        from palbench.kinds import KINDS

        return cls(KINDS[base.kind].plural, base)

    @property
    def singular(self) -> str:
        if self.kind.endswith("ies"):  # strategies -> strategy
            return self.kind[:-3] + "y"
        return self.kind[:-1] if self.kind.endswith("s") else self.kind

    def register(self, name: str) -> Callable[[type], type]:
        def decorator(cls: type) -> type:
            self._lazy.pop(name, None)
            if name in self._items:
                raise ValueError(f"{self.kind} {name!r} is already registered")
            if self.base is not None:
                problems_of(cls, self.base, name)
            self._items[name] = cls
            cls.registry_name = name
            return cls

        return decorator

    def lazy(self, package: str, modules: dict[str, tuple[str, ...]]) -> None:
        """Name the built-ins of `package` without importing them: `modules` maps each
        module (relative to the package) to the names it registers with `@register`, and a
        name's module is imported on its first use. (tests/test_kinds.py imports every
        module of each kind's package and holds this map equal to what registered.)"""
        for module, names in modules.items():
            for name in names:
                if name in self._items or name in self._lazy:
                    raise ValueError(f"{self.kind} {name!r} is already registered")
                self._lazy[name] = self.built_ins[name] = f"{package}.{module}"

    def _resolve(self, name: str) -> None:
        if name in self._lazy:
            module = self._lazy[name]
            importlib.import_module(module)
            if name not in self._items:
                raise RuntimeError(f"{module} did not register {self.kind} {name!r}")

    def _load_plugins(self) -> None:
        if self._plugins_loaded:
            return
        self._plugins_loaded = True
        for ep in entry_points(group=f"palbench.{self.kind}"):
            if ep.name in self._items or ep.name in self._lazy:
                self._resolve(ep.name)
                built_in = self._items[ep.name]
                warnings.warn(f"palbench: plugin {ep.value!r} (from {_dist_name(ep)}) is not "
                              f"loaded: its {self.singular} name {ep.name!r} is taken by "
                              f"{built_in.__module__}.{built_in.__qualname__}",
                              stacklevel=2)
                continue
            try:
                self.register(ep.name)(ep.load())
            except TypeError as exc:  # a plugin that breaks the protocol is left out, said once
                warnings.warn(f"palbench: plugin {ep.value!r} (from {_dist_name(ep)}) is not "
                              f"loaded: {exc}", stacklevel=2)

    def names(self) -> list[str]:
        self._load_plugins()
        return sorted([*self._items, *self._lazy])

    def get(self, name: object, field: str = "name") -> type:
        """The class a config names: a registered name, an import path "module:Class", or
        (from Python) the class itself, named by its registered name when it has one (plugins
        are loaded first, so the name never depends on what ran before)."""
        self._load_plugins()
        if isinstance(name, type):
            return self.checked(name, field, path_of(name))
        if isinstance(name, str) and (name in self._items or name in self._lazy):
            self._resolve(name)
            return self._items[name]
        if isinstance(name, str) and ":" in name:
            return self.checked(resolve(name, field), field, name)
        known = self.names()
        close = difflib.get_close_matches(str(name), known, n=len(known), cutoff=0.0)
        hint = difflib.get_close_matches(str(name), known, n=1, cutoff=0.6)
        why = f"unknown {self.singular}"
        if hint:
            why += f" (did you mean {hint[0]!r}?)"
        elif isinstance(name, str) and "." in name:
            why += " (an import path is written \"module:Class\")"
        why += "; known: " + ", ".join(close)
        raise ConfigError(field, name, why)

    def checked(self, cls: type, field: str, value: object) -> type:
        """`cls` when it is a component of this kind, else one line naming the field."""
        if self.base is None:
            return cls
        return check_protocol(cls, self.base, field, value)

    def __contains__(self, name: str) -> bool:
        self._load_plugins()
        return name in self._items or name in self._lazy

    def items(self) -> list[tuple[str, type]]:
        return [(n, self.get(n)) for n in self.names()]


def problems_of(cls: type, base: type, name: str) -> None:
    """Registration refuses a class that breaks the protocol (a TypeError: the plugin's bug)."""
    from palbench.protocol import protocol_problems

    problems = protocol_problems(cls, base)
    if problems:
        raise TypeError(f"cannot register {name!r}: {problems[0]}")


def _dist_name(ep) -> str:
    dist = getattr(ep, "dist", None)
    return f"package {dist.name!r}" if dist is not None else "an entry point"
