"""One registry per kind of component (datasets, strategies, oracles, learners).

Names map to classes; `register(name)` refuses duplicates; `lazy(name, module)` names a class
whose module is imported only when the name is first used (a learner that needs torch must not
make every run import torch); an unknown name gets an error that
lists the known names, closest first. Third-party plugins register through entry points in the
group ``palbench.<kind>`` (for example ``palbench.strategies``).
"""

from __future__ import annotations

import difflib
import importlib
import warnings
from collections.abc import Callable
from importlib.metadata import entry_points

from palbench.errors import ConfigError


class Registry:
    def __init__(self, kind: str):
        self.kind = kind
        self._items: dict[str, type] = {}
        self._lazy: dict[str, str] = {}  # name -> module that registers it when imported
        self._plugins_loaded = False

    def register(self, name: str) -> Callable[[type], type]:
        def decorator(cls: type) -> type:
            self._lazy.pop(name, None)
            if name in self._items:
                raise ValueError(f"{self.kind} {name!r} is already registered")
            self._items[name] = cls
            cls.registry_name = name
            return cls

        return decorator

    def lazy(self, name: str, module: str) -> None:
        """Register `name` as defined in `module`, imported on first use of the name."""
        if name in self._items or name in self._lazy:
            raise ValueError(f"{self.kind} {name!r} is already registered")
        self._lazy[name] = module

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
                              f"loaded: its {self.kind[:-1]} name {ep.name!r} is taken by "
                              f"{built_in.__module__}.{built_in.__qualname__}",
                              stacklevel=2)
                continue
            self.register(ep.name)(ep.load())

    def names(self) -> list[str]:
        self._load_plugins()
        return sorted([*self._items, *self._lazy])

    def get(self, name: object, field: str = "name") -> type:
        self._load_plugins()
        if isinstance(name, str) and (name in self._items or name in self._lazy):
            self._resolve(name)
            return self._items[name]
        known = self.names()
        close = difflib.get_close_matches(str(name), known, n=len(known), cutoff=0.0)
        hint = difflib.get_close_matches(str(name), known, n=1, cutoff=0.6)
        why = f"unknown {self.kind[:-1] if self.kind.endswith('s') else self.kind}"
        if hint:
            why += f" (did you mean {hint[0]!r}?)"
        why += "; known: " + ", ".join(close)
        raise ConfigError(field, name, why)

    def __contains__(self, name: str) -> bool:
        self._load_plugins()
        return name in self._items or name in self._lazy

    def items(self) -> list[tuple[str, type]]:
        return [(n, self.get(n)) for n in self.names()]


def _dist_name(ep) -> str:
    dist = getattr(ep, "dist", None)
    return f"package {dist.name!r}" if dist is not None else "an entry point"
