"""The kinds of component, each described once: the table every other part reads.

The protocol (nested components, the checks a class passes), the config's sections, the
config reference, `palbench list KIND`, the entry-point groups and `palbench.testing` all
take a kind's names and places from its record here; nothing else spells the list of kinds.
A new kind is one record below, its package (a base class deriving from
`palbench.protocol.Component` with `kind = "<name>"`, its
`Registry(KINDS["<name>"].plural, Base)`, the lazy map of its built-ins in its `__init__.py`)
and its contract check in `palbench.testing`.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass


@dataclass(frozen=True)
class Kind:
    """One kind of component and where each of its facts lives."""

    name: str  # what a nested component names (`param(component=...)`), the base's `kind`
    section: str  # the config table that holds one or more of it: [strategy]; a dotted
    # one ("dataset.encoder") is a table inside another component's, never a config section
    plural: str  # `palbench list PLURAL`, the entry-point group palbench.PLURAL
    display: str  # the kind in messages: "stopping criterion"
    base: str  # "module:Class" of the base every component of the kind subclasses
    registry: str  # "module:NAME" of its Registry
    checker: str  # the function of palbench.testing that checks its contract

    @property
    def package(self) -> str:
        """The package of its built-ins, whose `__init__.py` names each lazily."""
        return self.registry.split(":")[0]

    @property
    def top_level(self) -> bool:
        """Whether the config holds it as a section of its own ([strategy]), not nested."""
        return "." not in self.section

    @property
    def entry_point_group(self) -> str:
        return f"palbench.{self.plural}"

    def registry_object(self):
        """Its Registry (imported on first use: the component packages import this module)."""
        return _load(self.registry)

    def base_class(self) -> type:
        return _load(self.base)


def _load(path: str):
    module, name = path.split(":")
    return getattr(importlib.import_module(module), name)


KINDS: dict[str, Kind] = {kind.name: kind for kind in (
    Kind("dataset", "dataset", "datasets", "dataset",
         "palbench.datasets.base:DatasetSource", "palbench.datasets:DATASETS", "check_dataset"),
    Kind("strategy", "strategy", "strategies", "strategy",
         "palbench.strategies.base:Strategy", "palbench.strategies:STRATEGIES",
         "check_strategy"),
    Kind("oracle", "oracle", "oracles", "oracle",
         "palbench.oracles.base:Oracle", "palbench.oracles:ORACLES", "check_oracle"),
    Kind("learner", "learner", "learners", "learner",
         "palbench.learners.base:Learner", "palbench.learners:LEARNERS", "check_learner"),
    Kind("stopping", "stopping", "stopping", "stopping criterion",
         "palbench.stopping.base:StoppingCriterion", "palbench.stopping:STOPPING",
         "check_stopping"),
    Kind("encoder", "dataset.encoder", "encoders", "encoder",
         "palbench.encoders.base:Encoder", "palbench.encoders:ENCODERS", "check_encoder"),
)}


def kind_of_plural(plural: str) -> Kind:
    """The kind `palbench list PLURAL` names."""
    return next(kind for kind in KINDS.values() if kind.plural == plural)
