"""Sections -> entries -> cells: an entry of a section, the `with` keys that pair entries, the
combinations they leave, and the cell (one run) with its spec."""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import itertools
import json
from dataclasses import dataclass
from typing import Any

from palbench.bench.experiment import Experiment
from palbench.datasets import Dataset
from palbench.errors import ConfigError, check
from palbench.fields import identity
from palbench.oracles.costs import Costs
from palbench.params import unknown_key_error


@dataclass(frozen=True)
class Entry:
    """One entry of a section: its name (registered, or the class's import path), its label in
    results, its table and the built component."""

    name: str
    label: str
    table: dict
    obj: Any
    # its `with` key: section -> the labels it runs with (absent: every entry of that section)
    paired: dict[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)

    def goes_with(self, section: str, other: Entry | None, own_section: str) -> bool:
        """Whether a cell may hold this entry and `other` (of `section`): neither's `with`
        key excludes the other."""
        if other is None:
            return True
        return (section not in self.paired or other.label in self.paired[section]) and \
            (own_section not in other.paired or self.label in other.paired[own_section])

    def public_table(self) -> dict:
        """Its name and its identity (palbench.fields.identity: every parameter that can
        change results, defaults included, nested components built)."""
        return {"name": self.name, **identity(self.obj)}


@dataclass(frozen=True)
class Cell:
    """One run: a dataset, strategy, oracle, price list, learner and seed."""

    experiment: Experiment
    dataset: Entry
    strategy: Entry
    oracle: Entry
    costs: Entry
    learner: Entry
    seed: int
    dataset_fingerprint: str
    selection_learner: Entry | None = None  # what model-based strategies see; None: learner
    stopping: tuple[Entry, ...] = ()  # criteria that observe the run (never change it)

    @property
    def selector(self) -> Entry:
        """The learner whose models the strategy sees."""
        return self.selection_learner or self.learner

    def spec(self) -> dict:
        """What identifies the run: each table's identity (one rule, palbench.fields), the
        dataset's label and data fingerprint, and the seed."""
        selection = {"selection_learner": self.selection_learner.public_table()} \
            if self.selection_learner else {}
        if self.stopping:
            selection["stopping"] = [s.public_table() for s in self.stopping]
        return {
            "experiment": identity(self.experiment),
            "dataset": {**self.dataset.public_table(), "label": self.dataset.label,
                        "fingerprint": self.dataset_fingerprint},
            "strategy": self.strategy.public_table(),
            "oracle": self.oracle.public_table(),
            "costs": self.costs.public_table(),
            "learner": self.learner.public_table(),
            **selection,
            "seed": self.seed,
        }

    def spec_json(self) -> str:
        return json.dumps(self.spec(), sort_keys=True, separators=(",", ":"))

    def spec_hash(self) -> str:
        return hashlib.sha256(self.spec_json().encode()).hexdigest()


def cell_for(data: Dataset, *, strategy, oracle, learner, costs: Costs | None = None,
             seed: int = 0, experiment: Experiment | None = None, selection_learner=None,
             label: str = "") -> Cell:
    """A cell of components already built, on a dataset already prepared: what the contract
    checks and the benchmarks drive through `CellState`, as `palbench run` drives a config's
    cells. Each entry is named by its class; such a cell is run, never stored."""
    def entry(obj, given: str = "") -> Entry:
        name = given or type(obj).__qualname__
        return Entry(name, name, {}, obj)

    return Cell(experiment or Experiment(seeds=(seed,)),
                Entry(data.name, data.name, {}, None), entry(strategy, label), entry(oracle),
                entry(costs or Costs()), entry(learner), seed, data.fingerprint,
                entry(selection_learner) if selection_learner is not None else None)


@dataclass(frozen=True)
class Plan:
    """The validated grid, with the datasets loaded once for the checks (by label) and every
    dataset a cell runs on (by fingerprint: one per run seed with data_seed = "run")."""

    experiment: Experiment
    cells: list[Cell]
    datasets: dict[str, Dataset]
    by_fingerprint: dict[str, Dataset] = dataclasses.field(default_factory=dict)

    def data(self, cell: Cell) -> Dataset:
        return self.by_fingerprint.get(cell.dataset_fingerprint) or \
            self.datasets[cell.dataset.label]


def where_of(section: str, i: int, n: int) -> str:
    return f"{section}[{i}]" if n > 1 else section


PAIRABLE = ("dataset", "strategy", "oracle", "costs", "learner", "selection_learner")


def paired_with(value, section: str, where: str) -> dict[str, tuple[str, ...]]:
    """A `with` key as section -> labels: `with = { dataset = "digits" }` or
    `{ dataset = ["digits", "wine"], oracle = "exact" }` (labels are checked once every
    section is built: check_pairing)."""
    if value is None:
        return {}
    check(isinstance(value, dict) and len(value) > 0, where, value,
          "must be a table { section = label or [labels] }, e.g. { dataset = \"digits\" }")
    found = {}
    for key, labels in value.items():
        if key not in PAIRABLE or key == section:
            raise unknown_key_error(f"{where}.{key}", key, labels,
                                    [s for s in PAIRABLE if s != section])
        labels = [labels] if isinstance(labels, str) else labels
        check(isinstance(labels, list) and len(labels) > 0 and
              all(isinstance(label, str) for label in labels), f"{where}.{key}", value[key],
              "must be a label or a list of labels")
        found[key] = tuple(labels)
    return found


def check_pairing(sections: dict[str, list[Entry]]) -> None:
    """Every label a `with` key names exists in its section (else "did you mean")."""
    for section, entries in sections.items():
        for i, entry in enumerate(entries):
            for other, labels in entry.paired.items():
                known = [e.label for e in sections[other]] if sections.get(other) else []
                for label in labels:
                    if label not in known:
                        hint = difflib.get_close_matches(label, known, n=1, cutoff=0.6)
                        raise ConfigError(f"{where_of(section, i, len(entries))}.with.{other}",
                                          label, f"no {other} is labelled {label!r}" +
                                          (f" (did you mean {hint[0]!r}?)" if hint else "") +
                                          "; labels: " + (", ".join(known) or "none"))


def together(entries: dict[str, Entry | None]) -> bool:
    """Whether these entries (by section) may form a cell: no `with` key excludes a pair."""
    items = [(s, e) for s, e in entries.items() if e is not None]
    return all(a.goes_with(sb, b, sa) for i, (sa, a) in enumerate(items)
               for sb, b in items[i + 1:])


def combinations(sections: dict[str, list[Entry]], seeds: tuple[int, ...]):
    """Every (dataset, strategy, oracle, costs, learner, selection learner or None, seed) that
    no `with` key excludes, in the order the tables are written."""
    for d, s, o, c, learner, selector, seed in itertools.product(
            sections["dataset"], sections["strategy"], sections["oracle"], sections["costs"],
            sections["learner"], sections["selection_learner"] or [None], seeds):
        if together({"dataset": d, "strategy": s, "oracle": o, "costs": c,
                     "learner": learner, "selection_learner": selector}):
            yield d, s, o, c, learner, selector, seed
