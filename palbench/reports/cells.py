"""What a cell is, and labels that never merge two of them.

A run's cell is its spec without the seed (runs.spec_json: every parameter that can change
results). Labels are shorter (`pts`, `mlp(epochs=60)`) and two specs can share them: the same
file run with `standardize = true` and `false`, another `[experiment]` protocol, other
`[[stopping]]` criteria, a default changed between palbench versions. Reports, compare and
claims read the store's rows through `told_apart`, which adds to a label the parameters that
tell its cells apart (only those that differ among the runs read, so the common case stays
short); one label then names one cell, and one_run_per_seed leaves out only the same cell run
again (another palbench version or tag).
"""

from __future__ import annotations

import hashlib
import json

import pandas as pd

from palbench.reports.metrics import with_cell_keys
from palbench.results.schema import CELL_KEYS
from palbench.seeds import SPLIT_STREAM, derived_seed

# the spec tables of the protocol: their differences are said in brackets after the dataset's
# label, which titles the panel (a component's are said in its own label)
PROTOCOL = ("experiment", "stopping")
FINGERPRINT = ("dataset", "fingerprint")  # said only when no parameter tells cells apart
SPEC = ("spec",)  # the cell's hash, said when nothing else tells two cells apart
UNSET = "unset"  # a parameter one spec has and another lacks (added later, or left default)


def shown_value(value) -> str:
    """A spec's value as component labels write theirs (params.describe): `0.1`, `True`,
    `[6,12]`."""
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list):
        return "[" + ",".join(map(shown_value, value)) + "]"
    return "{}" if value == {} else str(value)


def cell_spec(spec_json: str) -> dict:
    """A run's cell: its spec without the seed and without what the seed drew. A run records
    the data and split seeds it used (data_seed = "run": the generator's `seed`; split_seed =
    "run": `split_seed`, derived from the run's seed) and that data's fingerprint; its cell
    says "run" for those seeds and holds no fingerprint, so its seeds are one cell."""
    spec = json.loads(spec_json)
    seed = spec.pop("seed", None)
    dataset = spec.get("dataset", {})
    drawn = spec.get("experiment", {}).get("data_seed") == "run"
    if drawn and "seed" in dataset:
        dataset["seed"] = "run"
    split = seed is not None and dataset.get("split_seed") in (
        "run", derived_seed(seed, SPLIT_STREAM))
    if split:
        dataset["split_seed"] = "run"
    if drawn or split:
        dataset.pop("fingerprint", None)
    return spec


def cell_keys(runs: pd.DataFrame) -> pd.DataFrame:
    """Per run_id: `cell`, what makes a run one of its cell's seeds (cell_spec as text); and
    `setting`, the same without the strategy (the cell a baseline must share)."""
    cells, settings = {}, {}
    for run_id, spec_json in zip(runs["run_id"], runs["spec_json"]):
        spec = cell_spec(spec_json)
        cells[run_id] = json.dumps(spec, sort_keys=True)
        spec.pop("strategy", None)
        settings[run_id] = json.dumps(spec, sort_keys=True)
    return pd.DataFrame({"cell": cells, "setting": settings})


def flat(spec: dict) -> dict[tuple, object]:
    """A cell spec as (table, parameter path...) -> value; nested tables are walked, lists are
    values, and [[stopping]] entries are keyed by their name."""
    found: dict[tuple, object] = {}

    def walk(prefix: tuple, value) -> None:
        if isinstance(value, dict) and value:
            for key, inner in value.items():
                walk((*prefix, str(key)), inner)
        else:
            found[prefix] = value

    for table, value in spec.items():
        if table == "stopping":
            names = [entry.get("name", str(i)) for i, entry in enumerate(value)]
            found[("stopping",)] = "+".join(names) or "none"
            for name, entry in zip(names, value):
                for key, inner in entry.items():
                    if key != "name":
                        walk(("stopping", name, key), inner)
        else:
            walk((table,), value)
    found.setdefault(("stopping",), "none")
    return found


def runs_criterion(spec: dict[tuple, object], path: tuple) -> bool:
    """Whether `path` is one this spec could hold: anything but a parameter of a [[stopping]]
    criterion the spec does not run (which `stopping=` says)."""
    return path[0] != "stopping" or len(path) <= 2 or any(p[:2] == path[:2] for p in spec)


def differing(specs: list[dict[tuple, object]]) -> set[tuple]:
    """The paths whose values (or presence) differ among flat specs; a criterion's
    parameter, among the specs that run it."""
    paths = {p for spec in specs for p in spec}
    return {p for p in paths if len({json.dumps(s.get(p, UNSET), sort_keys=True)
                                     for s in specs if runs_criterion(s, p)}) > 1}


def extended(label: str, parts: list[str], protocol: bool = False) -> str:
    """`label` with `parts`: inside its parameter list (`mlp(epochs=60,hidden=64)`), or in
    brackets for the protocol (`pts [batch_size=2]`)."""
    if not parts:
        return label
    if protocol:
        return f"{label} [{'; '.join(parts)}]"
    if label.endswith(")") and "(" in label:
        return f"{label[:-1]},{','.join(parts)})"
    return f"{label}({','.join(parts)})"


def part(path: tuple, spec: dict[tuple, object]) -> str | None:
    """One difference as a label says it; None for a parameter of a [[stopping]] criterion
    this cell does not run (`stopping=` says which it runs)."""
    if not runs_criterion(spec, path):
        return None
    name = ".".join(path[1:]) or path[0]
    if path == FINGERPRINT:
        return f"data={str(spec.get(path, UNSET))[:8]}"
    if path not in spec:
        return f"{name} {UNSET}"
    return f"{name}={shown_value(spec[path])}"


def labels_of(spec: dict[tuple, object], labels: dict[str, str], paths: set[tuple]) -> tuple:
    """The cell keys' labels of one cell with the differences in `paths` added."""
    parts: dict[str, list[str]] = {}
    protocol: list[str] = []
    for path in sorted(paths):
        said = part(path, spec)
        if said is None:
            continue
        if path[0] in PROTOCOL:
            protocol.append(said)
        else:
            parts.setdefault(path[0] if path[0] in CELL_KEYS else "dataset", []).append(said)
    new = {key: extended(label, parts.get(key, [])) for key, label in labels.items()}
    new["dataset"] = extended(new["dataset"], protocol, protocol=True)
    return tuple(new[key] for key in CELL_KEYS)


def told_apart(frame: pd.DataFrame, runs: pd.DataFrame,
               within: tuple[str, ...] = ()) -> pd.DataFrame:
    """`frame` (rows with run_id and the cell keys) with every cell under labels of its own:
    where runs under the same labels have different cell specs, each label adds the
    parameters that differ (a changed data file: `data=` and its fingerprint's first
    characters, when no parameter tells them apart). `runs`: the store's runs (run_id,
    spec_json). `within`: columns (e.g. palbench_version) inside whose groups cells are told
    apart, so a difference only across those groups (a default changed between two versions
    that compare pairs up) stays unsaid."""
    if frame.empty:
        return frame
    frame = with_cell_keys(frame)
    shown = frame.drop_duplicates("run_id")[["run_id", *CELL_KEYS, *within]]
    shown = shown.merge(runs[["run_id", "spec_json"]], on="run_id")
    shown["cell"] = [json.dumps(cell_spec(s), sort_keys=True) for s in shown["spec_json"]]
    renamed: dict[int, tuple] = {}
    for labels, group in shown.groupby(CELL_KEYS, sort=False, dropna=False):
        if group["cell"].nunique() < 2:
            continue
        specs = {cell: flat(json.loads(cell)) for cell in group["cell"].unique()}
        sides = [cells.unique() for _, cells in group.groupby(list(within), dropna=False)[
            "cell"]] if within else [group["cell"].unique()]
        paths = set().union(*(differing([specs[c] for c in cells]) for cells in sides))
        named = dict(zip(CELL_KEYS, labels))
        # the fewest words that tell them apart: the parameters, then the data's fingerprint,
        # then (nothing said differs) the cell's own hash
        for said in (paths - {FINGERPRINT}, paths, paths | {SPEC}):
            new = {c: labels_of({**s, SPEC: hashlib.sha256(c.encode()).hexdigest()[:8]},
                                named, said) for c, s in specs.items()}
            if all(len({new[c] for c in cells}) == len(cells) for cells in sides):
                break
        for run_id, cell in zip(group["run_id"], group["cell"]):
            renamed[run_id] = new[cell]
    if not renamed:
        return frame
    ids = frame["run_id"].map(renamed)
    hit = ids.notna().to_numpy()
    frame = frame.copy()
    for i, key in enumerate(CELL_KEYS):
        frame.loc[hit, key] = [labels[i] for labels in ids[hit]]
    return frame


__all__ = ["cell_keys", "cell_spec", "told_apart"]
