"""A robustness study: one config run under several protocols. `--vary KEY=V1,V2` gives a
dotted config key (`experiment.batch_size`, `oracle.noise`, `learner.name`, ...) the values to
try; the variants are their cross product, or with one_at_a_time the config itself plus each
value of each key changed alone. Every variant is an ordinary grid run into the same store (so
a study resumes, and reuses any cell already there); the variants and the specs of their runs
are recorded in the store under the study's name before anything runs."""

from __future__ import annotations

import copy
import itertools
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import tomllib

from palbench.bench.config import SECTIONS, plan_from_raw
from palbench.bench.grid import Plan
from palbench.bench.session import cells_to_run, run_plan, time_estimate
from palbench.errors import ConfigError, check
from palbench.params import read_toml, unknown_key_error
from palbench.results.study import Variant, variant_name


@dataclass(frozen=True)
class Vary:
    """One --vary: a dotted key and the values it takes."""

    key: str
    values: tuple

    @property
    def table(self) -> str:
        return self.key.split(".", 1)[0]

    @property
    def field(self) -> str:
        return self.key.split(".", 1)[1]


def parse_value(text: str):
    """A value as TOML reads it (5, 0.1, true, "knn"); a bare word is a string."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def parse_vary(text: str) -> Vary:
    """KEY=V1,V2[,...] -> Vary; a malformed one is one line naming it."""
    key, sep, values = text.partition("=")
    key = key.strip()
    check(bool(sep) and "." in key and all(key.split(".")), "--vary", text,
          "must be KEY=V1,V2,... with a dotted config key (e.g. experiment.batch_size=5,10)")
    check(key.count(".") == 1, "--vary", text, "the key must be TABLE.FIELD "
          "(e.g. oracle.noise)")
    parsed = tuple(parse_value(v.strip()) for v in values.split(",") if v.strip())
    check(len(parsed) >= 1, "--vary", text, "give at least one value after '='")
    check(len(set(map(json.dumps, parsed))) == len(parsed), "--vary", text,
          "a value is given twice")
    return Vary(key, parsed)


def base_value(raw: dict, vary: Vary):
    """The value the config itself gives the key (None when it leaves it to the default)."""
    table = raw.get(vary.table, {})
    tables = table if isinstance(table, list) else [table]
    found = {json.dumps(t.get(vary.field)) for t in tables}
    return json.loads(found.pop()) if len(found) == 1 else None


def with_value(raw: dict, vary: Vary, value) -> dict:
    """The config with the key set to value (in every table of an array of tables)."""
    table = raw.setdefault(vary.table, {})
    for entry in table if isinstance(table, list) else [table]:
        entry[vary.field] = value
    return raw


def variant_values(varies: list[Vary], raw: dict, one_at_a_time: bool) -> list[dict]:
    """Each variant's values of the varied keys, in order: the cross product, or the
    config's own values first and then each value of each key changed alone."""
    for vary in varies:
        if vary.table not in SECTIONS:
            raise unknown_key_error("--vary", vary.table, vary.key, list(SECTIONS))
        check(vary.table == "experiment" or vary.table in raw, "--vary", vary.key,
              f"the config has no [{vary.table}] table (it runs the default); write one, "
              f"with its name, to vary {vary.key}")
    keys = [v.key for v in varies]
    check(len(set(keys)) == len(keys), "--vary", keys, "a key is varied twice")
    if not one_at_a_time:
        return [dict(zip(keys, combo)) for combo in
                itertools.product(*(v.values for v in varies))]
    base = {v.key: base_value(raw, v) for v in varies}
    found = [base]
    for vary in varies:
        for value in vary.values:
            if value != base[vary.key]:
                found.append({**base, vary.key: value})
    return found


def study_plans(raw: dict, base_dir: Path, varies: list[Vary],
                one_at_a_time: bool = False) -> list[tuple[Variant, Plan]]:
    """Every variant's validated plan, before anything runs: a bad key or value is one line
    naming the --vary and the variant."""
    plans = []
    base = {vary.key: base_value(raw, vary) for vary in varies}
    for values in variant_values(varies, raw, one_at_a_time):
        variant_raw = copy.deepcopy(raw)
        for vary in varies:
            if values[vary.key] is not None:  # None: the config leaves it to its default
                with_value(variant_raw, vary, values[vary.key])
        name = variant_name(values)
        try:
            plan = plan_from_raw(variant_raw, base_dir)
        except ConfigError as exc:
            shown = next((f"{v.key}={','.join(map(str, v.values))}" for v in varies
                          if exc.field.startswith(v.table)), name)
            raise ConfigError("--vary", shown, f"variant {name}: {exc}") from None
        plans.append((Variant(name, values, frozenset(c.spec_hash() for c in plan.cells),
                              base=values == base), plan))
    return plans


def merged_plan(plans: list[tuple[Variant, Plan]]) -> Plan:
    """One plan of every variant's cells, each cell once (variants may share cells): one
    progress bar, one resume, one Ctrl-C for the whole study."""
    cells, datasets, seen = [], {}, set()
    for _, plan in plans:
        for cell in plan.cells:
            datasets.setdefault(cell.dataset_fingerprint, plan.data(cell))
            if cell.spec_hash() not in seen:
                seen.add(cell.spec_hash())
                cells.append(cell)
    return Plan(plans[0][1].experiment, cells, {}, datasets)


def estimate(store, plan: Plan, workers: int) -> str:
    """What the study will cost: runs to do, and about how long, as `palbench check` says it
    (session.time_estimate: the store's timings of the same cells under other seeds, so a
    variant is never timed by the runs of another batch size or noise)."""
    todo = cells_to_run(plan, store)
    line = f"{len(plan.cells)} runs, {len(todo)} to do"
    if not todo:
        return line + " (all in the store)"
    return f"{line}; {time_estimate(todo, store, workers)}"


def prepare_study(config: str | Path, varies: list[str], *, study: str | None = None,
                  one_at_a_time: bool = False) -> tuple[str, list[tuple[Variant, Plan]]]:
    """The study's name (default: the config's file name) and every variant's validated
    plan: all bad input is found here, before a store is opened."""
    check(len(varies) >= 1, "--vary", varies, "give at least one --vary KEY=V1,V2")
    raw = read_toml(config)
    plans = study_plans(raw, Path(config).resolve().parent, [parse_vary(v) for v in varies],
                        one_at_a_time)
    name = study or Path(config).stem
    check(bool(name.strip()), "--study", name, "must not be empty")
    return name, plans


def run_study(name: str, plans: list[tuple[Variant, Plan]], store, *, workers: int = 1,
              progress: bool = True):
    """Record the study's variants in the store and run every cell it lacks (one progress
    bar over all variants; a Ctrl-C keeps what finished, and the same command resumes)."""
    plan = merged_plan(plans)
    print(f"palbench: study {name!r}: {len(plans)} variants, {estimate(store, plan, workers)}",
          file=sys.stderr)
    store.record_study(name, [v for v, _ in plans])
    return run_plan(plan, store, workers=workers, progress=progress)
