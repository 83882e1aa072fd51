"""TOML config -> validated plan: the tables read into sections of entries, the datasets loaded,
checked against the data, and the grid of cells (dataset x strategy x oracle x costs x learner x
seed).

Everything a run needs is checked before anything is written: keys (with "did you mean"),
types, values (the `[experiment]` table: bench/experiment.py; `with` pairing: bench/grid.py),
and the checks that need the data (bench/data_checks.py). Errors are ConfigError: one line
naming the field and the bad value.
"""

from __future__ import annotations

from pathlib import Path

from palbench.bench.data_checks import check_against_data, pool_cost
from palbench.bench.experiment import Experiment, read_experiment
from palbench.bench.grid import (
    Cell,
    Entry,
    Plan,
    check_pairing,
    combinations,
    paired_with,
    together,
    where_of,
)
from palbench.datasets import Dataset
from palbench.errors import ConfigError, check
from palbench.imports import add_roots, path_of
from palbench.kinds import KINDS
from palbench.oracles.costs import Costs
from palbench.params import build, coerce, read_toml, unknown_key_error
from palbench.protocol import name_of
from palbench.seeds import DATA_STREAM, SPLIT_STREAM, derived_seed

# each kind's section (palbench.kinds), and selection_learner: the learners strategies see
REGISTRIES = {kind.section: kind.registry_object() for kind in KINDS.values()
              if kind.top_level} | \
    {"selection_learner": KINDS["learner"].registry_object()}
# the config's tables in the order they are read: each kind's, [costs] after the oracle that
# charges them, [selection_learner] after the learner
FOLLOWERS = {"oracle": ("costs",), "learner": ("selection_learner",)}
SECTIONS = ("experiment", *(section for kind in KINDS.values() if kind.top_level
                            for section in (kind.section, *FOLLOWERS.get(kind.section, ()))))
DEFAULT_LEARNER = {"name": "mlp"}
DEFAULT_ORACLE = {"name": "exact"}
# the table a section left out stands for; a required section is refused when left out, any
# other holds no entries then
DEFAULTS = {"oracle": DEFAULT_ORACLE, "costs": {}, "learner": DEFAULT_LEARNER}
REQUIRED = ("dataset", "strategy")


def as_tables(raw: dict, section: str, default: dict | None) -> list[dict]:
    value = raw.get(section, default)
    if value is None:
        raise ConfigError(section, None, f"the [{section}] section is required")
    tables = [value] if isinstance(value, dict) else value
    check(isinstance(tables, list) and len(tables) > 0 and
          all(isinstance(t, dict) for t in tables), section, value,
          f"must be a table [{section}] or an array of tables [[{section}]]")
    return tables


def resolve_paths(table: dict, base_dir: Path) -> dict:
    """File paths in a dataset table are read relative to the config file."""
    table = dict(table)
    for key in ("path", "data_dir", "features"):
        if isinstance(table.get(key), str) and not Path(table[key]).is_absolute():
            table[key] = str((base_dir / table[key]).resolve())
    if isinstance(table.get("encoder"), dict):  # its module's files, and its cache folder
        table["encoder"] = resolve_paths_in(table["encoder"], ("path", "weights", "cache_dir"),
                                            base_dir)
        model = table["encoder"].get("model")  # a model's folder beside the config, else an id
        if isinstance(model, str) and model and (base_dir / model).is_dir():
            table["encoder"]["model"] = str((base_dir / model).resolve())
    return table


def resolve_paths_in(table: dict, keys: tuple[str, ...], base_dir: Path) -> dict:
    return {key: str((base_dir / value).resolve()) if key in keys and isinstance(value, str)
            and value and not Path(value).is_absolute() else value
            for key, value in table.items()}


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
    experiment = read_experiment(raw)
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


def drawn_per_run(component: Entry, experiment: Experiment) -> bool:
    """Whether each run seed draws or splits its own data (data_seed or split_seed = "run")."""
    return experiment.data_seed == "run" or component.obj.split_seed == "run"


def load_datasets(components: list[Entry], experiment: Experiment) -> dict[str, Dataset]:
    """Each dataset as the checks see it: a per-run dataset as its first seed's run sees it."""
    n = len(components)
    loaded = {}
    for i, c in enumerate(components):
        where = where_of("dataset", i, n)
        if drawn_per_run(c, experiment):
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
        for seed in experiment.seeds if drawn_per_run(d, experiment) else ():
            component = run_source(d, experiment, seed, where_of("dataset", i, n))
            data = component.obj.prepare(d.label, where_of("dataset", i, n))
            prepared[data.fingerprint] = data
            runs[d.label, seed] = (component, data.fingerprint)
    cells = []
    budgets = {d.label: experiment.for_dataset(pool_cost(sections, datasets[d.label]))
               for d in sections["dataset"]}
    for d, s, o, c, learner, selector, seed in combinations(sections, experiment.seeds):
        component, fingerprint = runs.get((d.label, seed), (d, datasets[d.label].fingerprint))
        cells.append(Cell(budgets[d.label], component, s, o, c, learner, seed, fingerprint,
                          selector, tuple(sections["stopping"])))
    if not cells:
        raise ConfigError("with", None, "the `with` keys leave no combination of the tables "
                          "to run: each entry's `with` must name labels it can be paired with")
    return Plan(experiment, cells, datasets, prepared)


def load_plan(path: str | Path) -> Plan:
    return plan_from_raw(read_toml(path), Path(path).resolve().parent)
