"""TOML config -> validated grid of cells (dataset x strategy x oracle x costs x learner x seed).

Everything a run needs is checked here, before anything is written: keys (with "did you mean"),
types, values, and the checks that need the data (a confusion matrix's size, per-class costs,
whether the pool can pay for the largest budget). Errors are ConfigError: one line naming the
field and the bad value.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import itertools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from palbench.datasets import Dataset
from palbench.errors import ConfigError, check
from palbench.fields import identity, param
from palbench.graph import CLOSURES, CONFLICT_RULES
from palbench.imports import add_roots, path_of
from palbench.kinds import KINDS
from palbench.oracles.costs import Costs
from palbench.params import build, coerce, read_toml, unknown_key_error
from palbench.protocol import name_of
from palbench.seeds import DATA_STREAM, SPLIT_STREAM, derived_seed

DATA_SEEDS = ("fixed", "run")
INITIAL_BY = ("random", "per_class")
# each kind's section (palbench.kinds), and selection_learner: the learners strategies see
REGISTRIES = {kind.section: kind.registry_object() for kind in KINDS.values()} | \
    {"selection_learner": KINDS["learner"].registry_object()}
# the config's tables in the order they are read: each kind's, [costs] after the oracle that
# charges them, [selection_learner] after the learner
FOLLOWERS = {"oracle": ("costs",), "learner": ("selection_learner",)}
SECTIONS = ("experiment", *(section for kind in KINDS.values()
                            for section in (kind.section, *FOLLOWERS.get(kind.section, ()))))
DEFAULT_LEARNER = {"name": "mlp"}
DEFAULT_ORACLE = {"name": "exact"}
# the table a section left out stands for; a required section is refused when left out, any
# other holds no entries then
DEFAULTS = {"oracle": DEFAULT_ORACLE, "costs": {}, "learner": DEFAULT_LEARNER}
REQUIRED = ("dataset", "strategy")


@dataclass(frozen=True, kw_only=True)
class Experiment:
    """The `[experiment]` table: seeds, cumulative cost budgets, queries per round."""

    # the experiment's name in results (runs.experiment)
    name: str = param("palbench", results=False)
    # one run per seed, or { start, stop } (both included); each cell's own seed is its spec's
    seeds: tuple[int, ...] = param((0,), results=False, ge=0, lt=2**63,
                                   note="the store keeps seeds as 64-bit integers")
    # cumulative costs to evaluate at, or { start, stop, step } (stop = "pool": to the whole pool)
    budgets: tuple[float, ...] = param((10.0, 20.0, 40.0), gt=0)
    # queries per round (fewer when the budget left cannot pay more)
    batch_size: int = param(10, ge=1)
    probe: bool = True  # also fit a linear probe on the learner's embedding (probe_acc)
    # how contradicting answers resolve: majority, first or drop
    conflict_rule: str = param("majority", choices=CONFLICT_RULES)
    # what learners see: the closure of the answers, or raw ones
    closure: str = param("transitive", choices=CLOSURES)
    # "run": generated datasets are drawn anew for every run seed
    data_seed: str = param("fixed", choices=DATA_SEEDS)
    # labels asked before the first round (Zhan et al., Lu et al.: 20)
    initial: int = param(0, late=True, ge=0)
    # or "per_class": `initial` samples of every class
    initial_by: str = param("random", late=True, choices=INITIAL_BY)
    # false: the initial labels are free (counted in n_free)
    initial_charged: bool = param(True, late=True)
    # true: each run also records the full-pool bound (full_pool_acc)
    full_pool: bool = param(False, late=True)
    # set by `budgets = { ..., stop = "pool" }` (never written as a key): the grid's step,
    # its budgets then running on to labelling each dataset's whole pool (see for_dataset,
    # which writes them into `budgets`, the field the spec holds)
    pool_step: float = param(0.0, results=False)

    def for_dataset(self, payable: float) -> Experiment:
        """This experiment with its budgets run on to `payable` (what labelling the whole
        pool costs) when the grid stops at "pool"; else itself."""
        if not self.pool_step:
            return self
        start, step = self.budgets[0], self.pool_step
        count = int(np.floor((payable - start) / step + 1e-9)) + 1
        grid = [start + i * step for i in range(max(count, 1))]
        if grid[-1] < payable - 1e-9:
            grid.append(payable)
        return dataclasses.replace(self, budgets=tuple(grid))

    def validate(self, where):
        """The rules across a list's elements (each element's range is declared)."""
        check(len(self.seeds) > 0, f"{where}.seeds", list(self.seeds), "needs at least one seed")
        check(len(set(self.seeds)) == len(self.seeds), f"{where}.seeds", list(self.seeds),
              "seeds must not repeat")
        check(len(self.budgets) > 0, f"{where}.budgets", list(self.budgets),
              "needs at least one budget")
        for i in range(1, len(self.budgets)):
            check(self.budgets[i] > self.budgets[i - 1], f"{where}.budgets[{i}]",
                  self.budgets[i], f"budgets are cumulative and must increase (previous: "
                  f"{self.budgets[i - 1]:g})")


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


def as_tables(raw: dict, section: str, default: dict | None) -> list[dict]:
    value = raw.get(section, default)
    if value is None:
        raise ConfigError(section, None, f"the [{section}] section is required")
    tables = [value] if isinstance(value, dict) else value
    check(isinstance(tables, list) and len(tables) > 0 and
          all(isinstance(t, dict) for t in tables), section, value,
          f"must be a table [{section}] or an array of tables [[{section}]]")
    return tables


def where_of(section: str, i: int, n: int) -> str:
    return f"{section}[{i}]" if n > 1 else section


def resolve_paths(table: dict, base_dir: Path) -> dict:
    """File paths in a dataset table are read relative to the config file."""
    table = dict(table)
    for key in ("path", "data_dir", "features"):
        if isinstance(table.get(key), str) and not Path(table[key]).is_absolute():
            table[key] = str((base_dir / table[key]).resolve())
    return table


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


def label_of(name: str, obj) -> str:
    """A component's label in results, as the config names it: its display name, with a
    class named by import path called by that path rather than its bare class name
    (`mywork.noise:ClassDependent(rate=0.2)`, never `ClassDependent(rate=0.2)`)."""
    shown = obj.display_name()
    bare = name_of(type(obj))
    if ":" in name and shown.startswith(bare):
        return name + shown[len(bare):]
    return shown


def build_components(section: str, tables: list[dict], base_dir: Path) -> list[Entry]:
    built = []
    for i, table in enumerate(tables):
        where = where_of(section, i, len(tables))
        if section == "costs":
            name, cls = "costs", Costs
        else:
            name = table.get("name")
            check(name is not None, f"{where}.name", None, "a name is required")
            cls = REGISTRIES[section].get(name, f"{where}.name")
            name = name if isinstance(name, str) else path_of(name)  # a class given in Python
        if section == "dataset":
            table = resolve_paths(table, base_dir)
        explicit_id = table.get("id")
        if explicit_id is not None:
            coerce(explicit_id, str, f"{where}.id")
        obj = build(cls, table, where)
        named = table["name"] if isinstance(table.get("name"), str) else ""  # not a class
        paired = paired_with(table.get("with"), section, f"{where}.with")
        table = {**table, "name": name}
        built.append(Entry(name, explicit_id or label_of(named, obj), table, obj, paired))
    labels = [c.label for c in built]
    for i, label in enumerate(labels):
        check(labels.index(label) == i, f"{where_of(section, i, len(built))}.id", label,
              f"two {section} entries share the name {label!r}; give each an 'id'")
    return built


def parse(raw: dict, base_dir: Path = Path(".")) -> tuple[Experiment, dict[str, list[Entry]]]:
    """Check the whole config without loading data. Components named by import path are
    looked for in the config's folder and the working folder too (palbench.imports)."""
    add_roots(base_dir, Path.cwd())
    for key in raw:
        if key not in SECTIONS:
            raise unknown_key_error(key, key, "[...]", list(SECTIONS))
    check(isinstance(raw.get("experiment", {}), dict), "experiment", raw.get("experiment"),
          "must be a single table [experiment]")
    table = dict(raw.get("experiment", {}))
    if "pool_step" in table:
        raise unknown_key_error("experiment.pool_step", "pool_step", table["pool_step"],
                                [f.name for f in dataclasses.fields(Experiment)
                                 if f.name != "pool_step"])
    if isinstance(table.get("budgets"), dict):
        grid = dict(table["budgets"])
        if grid.get("stop") == "pool" and "step" in grid:
            step = coerce(grid["step"], float, "experiment.budgets.step")
            grid["stop"] = coerce(grid.get("start", step), float, "experiment.budgets.start")
            table["pool_step"] = step
        table["budgets"] = budget_grid(grid, "experiment.budgets")
    if isinstance(table.get("seeds"), dict):
        table["seeds"] = seed_range(table["seeds"], "experiment.seeds")
    experiment = build(Experiment, table, "experiment", reserved=())
    sections = {section: build_components(section, as_tables(raw, section,
                                                             DEFAULTS.get(section)), base_dir)
                if section in raw or section in DEFAULTS or section in REQUIRED else []
                for section in SECTIONS[1:]}
    for i, entry in enumerate(sections["dataset"]):
        check(entry.obj.split_seed != "run" or entry.obj.resplit(0) is not None,
              f"{where_of('dataset', i, len(sections['dataset']))}.split_seed", "run",
              f"{entry.name!r} has an official test set; only datasets that palbench splits "
              "can be split anew per run")
    check_pairing(sections)
    for strategy in sections["strategy"]:
        for o, oracle in enumerate(sections["oracle"]):
            if not together({"strategy": strategy, "oracle": oracle}):
                continue
            kind, answered = strategy.obj.query_kind, oracle.obj.query_kinds
            check(kind in answered, where_of("oracle", o, len(sections["oracle"])) + ".name",
                  oracle.name, f"answers {' and '.join(answered)} queries, but strategy "
                  f"{strategy.label!r} asks {kind} queries")
            routes = strategy.obj.routes_workers
            routed = oracle.obj.routing_pool() is not None
            check(routes == routed, where_of("oracle", o, len(sections["oracle"])) + (
                  ".assign" if routed else ".name"), "strategy" if routed else oracle.name,
                  "needs every strategy to choose the workers (a \"routed\" strategy); "
                  f"{strategy.label!r} does not" if routed else
                  f"strategy {strategy.label!r} chooses the workers: it needs a \"workers\" "
                  "oracle with assign = \"strategy\"")
    return experiment, sections


BUDGET_GRID_KEYS = ("start", "stop", "step")


def budget_grid(table: dict, where: str) -> list[float]:
    """`budgets = { start = 21, stop = 426, step = 1 }`: every budget from start to stop;
    start defaults to step. `stop = "pool"` runs on to labelling each dataset's whole pool
    (one sample at a time to the end, as Zhan et al. and Lu et al. query). The spec holds the
    list, so it hashes as the same list written out."""
    for key in table:
        if key not in BUDGET_GRID_KEYS:
            raise unknown_key_error(f"{where}.{key}", key, table[key], list(BUDGET_GRID_KEYS))
    check("stop" in table and "step" in table, where, table, "a budget grid needs stop and "
          "step (start defaults to step)")
    step = coerce(table["step"], float, f"{where}.step")
    stop = coerce(table["stop"], float, f"{where}.stop")
    start = coerce(table.get("start", step), float, f"{where}.start")
    check(step > 0, f"{where}.step", step, "must be positive")
    check(start > 0, f"{where}.start", start, "must be positive")
    check(stop >= start, f"{where}.stop", stop, f"must be at least start ({start:g})")
    count = int(np.floor((stop - start) / step + 1e-9)) + 1
    check(count <= 100_000, where, table, f"makes {count:,} budgets; at most 100,000")
    return [start + i * step for i in range(count)]


def seed_range(table: dict, where: str) -> list[int]:
    """`seeds = { start = 0, stop = 149 }`: every seed from start to stop, both included (150
    trials, as Zhan et al. run them)."""
    for key in table:
        if key not in ("start", "stop"):
            raise unknown_key_error(f"{where}.{key}", key, table[key], ["start", "stop"])
    check("stop" in table, where, table, "a seed range needs stop (start defaults to 0)")
    start = coerce(table.get("start", 0), int, f"{where}.start")
    stop = coerce(table["stop"], int, f"{where}.stop")
    check(stop >= start, f"{where}.stop", stop, f"must be at least start ({start})")
    check(stop - start < 100_000, where, table, "at most 100,000 seeds")
    return list(range(start, stop + 1))


def pool_cost(sections: dict, data: Dataset) -> float:
    """What labelling the whole pool costs under the cheapest of the price lists."""
    n = len(sections["costs"])
    return min(float(costs.obj.label_costs(data.class_names, where_of("costs", c, n))[
        data.y].sum()) for c, costs in enumerate(sections["costs"]))


def check_against_data(base: Experiment, sections: dict, datasets: dict) -> None:
    """The checks that need the data: matrix sizes, per-class costs, affordable budgets."""
    n_costs = len(sections["costs"])
    for dataset_component in sections["dataset"]:
        data = datasets[dataset_component.label]
        experiment = base.for_dataset(pool_cost(sections, data))
        check_inputs(sections, data, dataset_component)
        for section in ("oracle", "learner", "selection_learner", "strategy"):
            for i, entry in enumerate(sections[section]):
                if together({"dataset": dataset_component, section: entry}):
                    entry.obj.validate_data(data.trained_on(entry.obj.input)
                                            if section.endswith("learner") else data,
                                            where_of(section, i, len(sections[section])))
        selecting = "selection_learner" if sections["selection_learner"] else "learner"
        for i, learner in enumerate(sections[selecting]):  # what the strategies will see
            can = learner.obj.capabilities(data.trained_on(learner.obj.input))
            for strategy in sections["strategy"]:
                if not together({"dataset": dataset_component, selecting: learner,
                                 "strategy": strategy}):
                    continue
                for capability in sorted(strategy.obj.requires() - can):
                    raise learner.obj.refuse(capability,
                                             where_of(selecting, i, len(sections[selecting])),
                                             strategy.label)
        check_initial(experiment, sections, data, dataset_component.label)
        asks_labels = any(s.obj.query_kind == "label" for s in sections["strategy"])
        for c, costs in enumerate(sections["costs"]):
            where = where_of("costs", c, n_costs)
            label_cost = costs.obj.label_costs(data.class_names, where)
            payable = float(label_cost[data.y].sum())
            check(not asks_labels or experiment.budgets[-1] <= payable + 1e-9,
                  "experiment.budgets",
                  experiment.budgets[-1],
                  f"larger than labelling the whole pool of {dataset_component.label!r} "
                  f"costs ({payable:g}: {data.n_pool} samples)")


def check_inputs(sections: dict, data: Dataset, dataset_component: Entry) -> None:
    """A learner trains on features only where the dataset has them, and a selection learner
    on the view its run's learner trains on (a run's models and strategies share one view)."""
    for section in ("learner", "selection_learner"):
        n = len(sections[section])
        for i, entry in enumerate(sections[section]):
            check(entry.obj.input == "inputs" or data.features is not None or
                  not together({"dataset": dataset_component, section: entry}),
                  f"{where_of(section, i, n)}.input", entry.obj.input,
                  f"dataset {dataset_component.label!r} has no features: give them with "
                  '[dataset] features = "file"')
    for i, selector in enumerate(sections["selection_learner"]):
        for learner in sections["learner"]:
            check(selector.obj.input == learner.obj.input or
                  not together({"dataset": dataset_component, "learner": learner,
                                "selection_learner": selector}),
                  f"{where_of('selection_learner', i, len(sections['selection_learner']))}"
                  ".input", selector.obj.input,
                  f"differs from learner {learner.label!r}'s input ({learner.obj.input}): a "
                  "run's models see one view of the samples")


def check_initial(experiment: Experiment, sections: dict, data: Dataset, label: str) -> None:
    """An initial labelled set must be answerable, drawable from the pool and, when charged,
    affordable by the first budget."""
    n = experiment.initial
    if n == 0:
        return
    for o, oracle in enumerate(sections["oracle"]):
        check("label" in oracle.obj.query_kinds,
              where_of("oracle", o, len(sections["oracle"])) + ".name", oracle.name,
              "answers only pair queries; an initial labelled set ([experiment] initial) "
              "needs label answers")
    total = n
    if experiment.initial_by == "per_class":
        counts = np.bincount(data.y, minlength=data.n_classes)
        check(counts.min() >= n, "experiment.initial", n, f"{n} per class, but class "
              f"{data.class_names[int(counts.argmin())]!r} of {label!r} has only "
              f"{counts.min()} samples in the pool")
        total = n * data.n_classes
    check(total <= data.n_pool, "experiment.initial", n, f"more than the pool of {label!r} "
          f"({data.n_pool} samples)")
    if not experiment.initial_charged:
        return
    for c, costs in enumerate(sections["costs"]):
        most = float(costs.obj.label_costs(data.class_names, where_of(
            "costs", c, len(sections["costs"]))).max()) * total
        check(most <= experiment.budgets[0] + 1e-9, "experiment.initial", n,
              f"its {total} labels may cost up to {most:g}, more than the first budget "
              f"({experiment.budgets[0]:g}); raise the budget or set initial_charged = false")


def run_source(component: Entry, experiment: Experiment, seed: int, where: str) -> Entry:
    """The dataset a run of `seed` uses: drawn anew (data_seed = "run": its generator seeded
    from the run, as the PAL notebooks redraw the circles every trial) and split anew
    (split_seed = "run": repeated random splits, as Lu et al. and ALiPy use), each from a
    stream of its own; else the component itself."""
    obj = component.obj
    if experiment.data_seed == "run":
        obj = obj.reseeded(derived_seed(seed, DATA_STREAM))
        check(obj is not None, "experiment.data_seed", "run", f"{where} ({component.name}) "
              "has no seed to follow: only generated datasets (blobs, circles) can be drawn "
              "anew per run")
    if obj.split_seed == "run":
        obj = obj.resplit(derived_seed(seed, SPLIT_STREAM))
    return component if obj is component.obj else \
        Entry(component.name, component.label, component.table, obj)


def per_run(component: Entry, experiment: Experiment) -> bool:
    return experiment.data_seed == "run" or component.obj.split_seed == "run"


def load_datasets(components: list[Entry], experiment: Experiment) -> dict[str, Dataset]:
    """Each dataset as the checks see it: a per-run dataset as its first seed's run sees it."""
    n = len(components)
    loaded = {}
    for i, c in enumerate(components):
        where = where_of("dataset", i, n)
        if per_run(c, experiment):
            c = run_source(c, experiment, experiment.seeds[0], where)
        loaded[c.label] = c.obj.prepare(c.label, where)
    return loaded


def plan_from_raw(raw: dict, base_dir: Path = Path(".")) -> Plan:
    experiment, sections = parse(raw, base_dir)
    datasets = load_datasets(sections["dataset"], experiment)
    check_against_data(experiment, sections, datasets)
    prepared = {data.fingerprint: data for data in datasets.values()}
    runs: dict[tuple[str, int], tuple[Entry, str]] = {}
    n = len(sections["dataset"])
    for i, d in enumerate(sections["dataset"]):
        for seed in experiment.seeds if per_run(d, experiment) else ():
            component = run_source(d, experiment, seed, where_of("dataset", i, n))
            data = component.obj.prepare(d.label, where_of("dataset", i, n))
            prepared[data.fingerprint] = data
            runs[d.label, seed] = (component, data.fingerprint)
    cells = []
    budgets = {d.label: experiment.for_dataset(pool_cost(sections, datasets[d.label]))
               for d in sections["dataset"]}
    for d, s, o, c, learner, selector, seed in itertools.product(
            sections["dataset"], sections["strategy"], sections["oracle"], sections["costs"],
            sections["learner"], sections["selection_learner"] or [None], experiment.seeds):
        if not together({"dataset": d, "strategy": s, "oracle": o, "costs": c,
                         "learner": learner, "selection_learner": selector}):
            continue
        component, fingerprint = runs.get((d.label, seed), (d, datasets[d.label].fingerprint))
        cells.append(Cell(budgets[d.label], component, s, o, c, learner, seed, fingerprint,
                          selector, tuple(sections["stopping"])))
    if not cells:
        raise ConfigError("with", None, "the `with` keys leave no combination of the tables "
                          "to run: each entry's `with` must name labels it can be paired with")
    return Plan(experiment, cells, datasets, prepared)


def load_plan(path: str | Path) -> Plan:
    return plan_from_raw(read_toml(path), Path(path).resolve().parent)
