"""Re-run stored cells and compare what they measured: `palbench verify`, the audit of a store
(a leaderboard submission, a bundle from elsewhere) against this machine's re-run.

A stored run is rebuilt from its own spec (the JSON its spec hash is made of: every parameter
that changes a result, defaults included, the data's fingerprint and the seed) as a config of
one grid, through the same `plan_from_raw` a TOML config goes through, and run through
`session.run_plan` into a scratch store in a temporary folder, as `palbench run` and `palbench
check` run cells. The rebuilt cell must have the stored spec hash, else the run cannot be
rebuilt here (another palbench's defaults, a plugin missing, a file dataset whose path no spec
holds) and verify says why before running anything. The store given is only read.

Every checkpoint value is then identical, within its metric's tolerance (TOLERANCES, declared
once below), or different. What differs across machines (docs/reliability.md): runs train in
float32 at one thread, so on the same machine kind, thread count and library versions every
value is the same bits; another instruction set (AVX2 against AVX-512), CUDA, or another
torch rounds float32 products of other shapes in another order, and a test prediction near a
tie may flip. The tolerances therefore allow one test prediction's worth on the accuracy-like
metrics; counts and costs are exact (integers, and prices summed in float64 in the order
asked: no product of shapes); wall-clock times are not compared.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import palbench
from palbench.bench.config import plan_from_raw
from palbench.bench.grid import Plan
from palbench.bench.session import run_plan
from palbench.datasets import DATASETS, Dataset
from palbench.errors import ConfigError
from palbench.fields import CONTENT, as_table, without_results
from palbench.results.schema import CHECKPOINT_FIELDS
from palbench.results.store import ResultsStore


@dataclass(frozen=True)
class Tolerance:
    """How far a re-run may move a value and still agree with the stored one: `allowed(data)`
    on the cell's dataset (None: the value is not compared)."""

    rule: str  # as a difference's line and docs/reliability.md say it
    allowed: Callable[[Dataset], float] | None


def smallest_support(data: Dataset) -> int:
    """The test set's smallest class that has any sample."""
    support = np.bincount(data.y_test, minlength=data.n_classes)
    return int(support[support > 0].min())


EXACT = Tolerance("exact", lambda data: 0.0)
ONE_PREDICTION = Tolerance("one test prediction (1 / test samples)",
                           lambda data: 1.0 / len(data.y_test))
NOT_COMPARED = Tolerance("not compared (wall-clock time)", None)

# One entry per checkpoint field (a test holds them equal). One test prediction that flips
# moves accuracy by 1/n_test, balanced accuracy (mean recall over the K classes present) by at
# most 1/(K x the smallest class's support), and macro-F1 (2TP / (support + predicted) per
# class, over every class) by at most 2/support for each of the two classes it touches: at
# most 4/(K x the smallest support).
TOLERANCES: dict[str, Tolerance] = {
    "budget": EXACT, "cost": EXACT, "n_queries": EXACT, "n_free": EXACT, "n_labels": EXACT,
    "n_abstain": EXACT, "n_wrong": EXACT, "n_components": EXACT, "n_conflicts": EXACT,
    "task_acc": ONE_PREDICTION, "probe_acc": ONE_PREDICTION,
    "balanced_acc": Tolerance(
        "one test prediction (1 / (classes x the smallest class's test samples))",
        lambda data: 1.0 / (np.count_nonzero(np.bincount(data.y_test)) *
                            smallest_support(data))),
    "macro_f1": Tolerance(
        "one test prediction (4 / (classes x the smallest class's test samples))",
        lambda data: 4.0 / (data.n_classes * smallest_support(data))),
    "select_seconds": NOT_COMPARED, "fit_seconds": NOT_COMPARED,
    "eval_seconds": NOT_COMPARED, "pretrain_seconds": NOT_COMPARED,
}
# what a run records beside its checkpoints: the full-pool bound, and the stopping verdicts
RUN_TOLERANCES: dict[str, Tolerance] = {"full_pool_acc": ONE_PREDICTION, "stops_json": EXACT}


@dataclass(frozen=True)
class StoredRun:
    """A run as the store holds it, with what verify compares."""

    run_id: int
    spec_hash: str
    spec: dict
    experiment: str
    labels: dict[str, str]  # section -> its label in results
    version: str
    libraries: dict[str, str]
    device: str
    checkpoints: dict[float, dict]  # budget -> field -> value
    results: dict[str, object]  # RUN_TOLERANCES' fields
    intact: bool  # its spec_hash is the hash of its spec's text (else the row was edited)

    def describe(self) -> str:
        return (f"run {self.run_id} ({self.labels['dataset']}, {self.labels['strategy']}, "
                f"{self.labels['learner']}, seed {self.spec['seed']})")

    def provenance(self, here: StoredRun) -> str:
        """What differs between where the run was made and the re-run: palbench, libraries,
        device ('' when nothing)."""
        notes = []
        if self.version != here.version:
            notes.append(f"stored by palbench {self.version}, re-run by {here.version}")
        notes += [f"{name} {version} there, {here.libraries[name]} here"
                  for name, version in sorted(self.libraries.items())
                  if name in here.libraries and here.libraries[name] != version]
        if self.device != here.device:
            notes.append(f"device {self.device} there, {here.device} here")
        return f" [{'; '.join(notes)}]" if notes else ""


@dataclass
class Verification:
    """What a verify found: one line per value that differs, counts for the summary."""

    cells: int
    runs: int
    checkpoints: int = 0
    identical: int = 0
    within: int = 0
    unrecorded: int = 0
    other_versions: int = 0
    differences: list[str] = field(default_factory=list)
    interrupted: bool = False

    def summary(self) -> str:
        text = (f"palbench verify: {self.cells} cells re-run ({self.runs} stored runs), "
                f"{self.checkpoints} checkpoints: {self.identical} values identical, "
                f"{self.within} within tolerance, {len(self.differences)} different")
        if self.unrecorded:
            text += f", {self.unrecorded} not recorded by the stored run (older schema)"
        if self.other_versions:
            text += (f"; {self.other_versions} of the stored runs made by another palbench "
                     "version")
        return text


def read_runs(store: ResultsStore) -> list[StoredRun]:
    """Every stored run with its checkpoints, in run id order."""
    runs = store.runs()
    checkpoints = store.checkpoints()
    by_run: dict[int, dict[float, dict]] = {}
    for row in checkpoints.to_dict("records"):
        by_run.setdefault(int(row["run_id"]), {})[float(row["budget"])] = {
            name: plain(row[name]) for name in CHECKPOINT_FIELDS}
    found = []
    for row in runs.to_dict("records"):
        run_id = int(row["run_id"])
        found.append(StoredRun(
            run_id, row["spec_hash"], json.loads(row["spec_json"]), row["experiment"],
            {s: row[s] for s in ("dataset", "strategy", "oracle", "costs", "learner",
                                 "selection_learner")},
            row["palbench_version"], json.loads(row["library_versions_json"]), row["device"],
            by_run.get(run_id, {}), {name: plain(row.get(name)) for name in RUN_TOLERANCES},
            hashlib.sha256(row["spec_json"].encode()).hexdigest() == row["spec_hash"]))
    return found


def plain(value):
    """A value as SQLite held it: None for NULL (pandas' NaN), Python numbers."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return value.item() if isinstance(value, np.generic) else value


def choose(runs: list[StoredRun], sample: int | None, seed: int) -> list[str]:
    """The spec hashes (cells) to re-run: all, or `sample` of them drawn with `seed`."""
    cells = sorted({run.spec_hash for run in runs})
    if sample is None or sample >= len(cells):
        return cells
    picked = np.random.default_rng(seed).choice(len(cells), size=sample, replace=False)
    return [cells[i] for i in sorted(picked)]


def config_of(spec: dict, experiment: str, labels: dict[str, str], seeds: list[int]) -> dict:
    """A config (as TOML would give it) whose grid is the spec's cell at each seed: each table
    is the spec's identity of that section, with its label as the id."""
    spec = as_table(spec)
    raw = {"experiment": {**spec["experiment"], "name": experiment, "seeds": seeds}}
    dataset = {k: v for k, v in spec["dataset"].items() if k not in ("label", "fingerprint")}
    raw["dataset"] = {**dataset, "id": spec["dataset"]["label"]}
    for section in ("strategy", "oracle", "costs", "learner", "selection_learner"):
        if section in spec:
            raw[section] = {**spec[section], "id": labels[section]}
    if "stopping" in spec:
        raw["stopping"] = spec["stopping"]
    return raw


def first_difference(stored, rebuilt, where: str = "") -> str:
    """The first key path at which two specs differ, said as a line's tail."""
    if isinstance(stored, dict) and isinstance(rebuilt, dict):
        for key in sorted(set(stored) | set(rebuilt)):
            path = f"{where}.{key}" if where else key
            if key not in rebuilt:
                return f"{path} is {json.dumps(stored[key])} in the store, absent here"
            if key not in stored:
                return f"{path} is {json.dumps(rebuilt[key])} here, absent from the store"
            if stored[key] != rebuilt[key]:
                return first_difference(stored[key], rebuilt[key], path)
        return "the specs differ"
    return f"{where} is {json.dumps(stored)} in the store, {json.dumps(rebuilt)} here"


def rebuild(runs: list[StoredRun], hashes: list[str], data_files: list[Path]) -> Plan:
    """One plan of the chosen cells, each rebuilt from its stored spec and proved to have its
    stored hash; a cell that cannot be rebuilt here is bad input naming its run and why."""
    first = {}
    for run in runs:
        first.setdefault(run.spec_hash, run)
    groups: dict[str, list[StoredRun]] = {}
    for spec_hash in hashes:
        run = first[spec_hash]
        rest = json.dumps({k: v for k, v in run.spec.items() if k != "seed"}, sort_keys=True)
        groups.setdefault(json.dumps([rest, run.experiment, run.labels]), []).append(run)
    cells, datasets, by_fingerprint = [], {}, {}
    for group in groups.values():
        plan = group_plan(group, data_files)
        made = {cell.spec_hash(): cell for cell in plan.cells}
        cells += [made[stored.spec_hash] for stored in group]
        datasets.update(plan.datasets)
        by_fingerprint.update(plan.by_fingerprint)
    experiment = dataclasses.replace(cells[0].experiment, name="verify")
    return Plan(experiment, cells, datasets, by_fingerprint)


def group_plan(group: list[StoredRun], data_files: list[Path]) -> Plan:
    """The plan of one spec's stored seeds, holding each stored hash. A dataset read from a
    file is rebuilt with each of `data_files` as its path in turn, until one gives the stored
    data: a path is in no spec (it changes no result; the data's fingerprint is there)."""
    run = group[0]
    raw = config_of(run.spec, run.experiment, run.labels, sorted(r.spec["seed"] for r in group))
    try:
        reads_file = "path" in without_results(DATASETS.get(raw["dataset"]["name"],
                                                                "dataset.name"))
    except ConfigError as exc:
        raise cannot_rebuild(run, f"({exc})") from None
    unread = encoder_files(run.spec["dataset"].get("encoder"))
    if unread:
        raise cannot_rebuild(run, f": its encoder reads {unread}, which no spec holds (only "
                             "the files' sha256); verify rebuilds cells whose encoder is "
                             "built in (palbench list encoders)")
    label = run.labels["dataset"]
    if reads_file and not data_files:
        raise cannot_rebuild(run, f": dataset {label!r} is read from a file, whose path no "
                             "spec holds; give the file with --data FILE")
    tries = [{**raw, "dataset": {**raw["dataset"], "path": str(f)}} for f in data_files] \
        if reads_file else [raw]
    why = failed = ""
    for attempt in tries:
        try:
            plan = plan_from_raw(attempt)
        except ConfigError as exc:
            why = failed = f" ({exc})"
            continue
        made = {cell.spec_hash(): cell for cell in plan.cells}
        missing = [stored for stored in group if stored.spec_hash not in made]
        if not missing:
            return plan
        cell = next(c for c in plan.cells if c.seed == missing[0].spec["seed"])
        why = ": " + first_difference(missing[0].spec, cell.spec())
        run = missing[0]
    if reads_file:
        why = (f": no --data file gives the data of dataset {label!r} (fingerprint "
               f"{run.spec['dataset']['fingerprint'][:12]}...)"
               f"{failed if len(tries) == 1 else ''}")
    raise cannot_rebuild(run, why)


def encoder_files(encoder: dict | None) -> str:
    """The parameters naming the files a stored encoder read ("" when none: no encoder, or
    one whose files come with its package): paths, which no spec holds."""
    if not encoder or CONTENT not in encoder:
        return ""
    from palbench.encoders import ENCODERS

    try:
        cls = ENCODERS.get(encoder["name"], "dataset.encoder.name")
    except ConfigError:
        return ""  # group_plan's rebuild names the unknown encoder
    named = [name for name in without_results(cls) if name != "cache_dir"]
    return " and ".join(f"dataset.encoder.{name}" for name in named)


def cannot_rebuild(run: StoredRun, why: str) -> ConfigError:
    return ConfigError("store", f"run {run.run_id}", f"its cell cannot be rebuilt here{why}"
                       f"{version_note(run)}")


def version_note(run: StoredRun) -> str:
    return "" if run.version == palbench.__version__ else \
        f" (stored by palbench {run.version}; this is {palbench.__version__})"


def compare_value(name: str, tolerance: Tolerance, stored, rerun, data: Dataset,
                  where: str, report: Verification, older: bool) -> None:
    """Count one value as identical, within tolerance or not recorded (NULL in a run of
    another palbench version: a metric its schema had not yet), or add its line."""
    if tolerance.allowed is None:
        return
    if stored == rerun:
        report.identical += 1
        return
    if stored is None and older and name in TOLERANCES:
        report.unrecorded += 1
        return
    allowed = tolerance.allowed(data)
    if isinstance(stored, (int, float)) and isinstance(rerun, (int, float)) and \
            abs(stored - rerun) <= allowed + 1e-12:
        report.within += 1
        return
    bound = f" = {allowed:.3g}" if allowed else ""
    report.differences.append(f"{where}, {name}: stored {stored!r}, re-run {rerun!r} "
                              f"(tolerance: {tolerance.rule}{bound})")


def compare(stored: StoredRun, rerun: StoredRun, data: Dataset, report: Verification) -> None:
    """Every checkpoint value and run result of a stored run against its re-run."""
    where = stored.describe()
    note = stored.provenance(rerun)
    older = stored.version != rerun.version
    before = len(report.differences)
    for budget in sorted(set(stored.checkpoints) | set(rerun.checkpoints)):
        if budget not in rerun.checkpoints or budget not in stored.checkpoints:
            side = "stored but not re-run" if budget in stored.checkpoints else \
                "re-run but not stored"
            report.differences.append(f"{where}, budget {budget:g}: {side}")
            continue
        report.checkpoints += 1
        for name, tolerance in TOLERANCES.items():
            compare_value(name, tolerance, stored.checkpoints[budget][name],
                          rerun.checkpoints[budget][name], data,
                          f"{where}, budget {budget:g}", report, older)
    for name, tolerance in RUN_TOLERANCES.items():
        compare_value(name, tolerance, stored.results[name], rerun.results[name], data, where,
                      report, older)
    report.differences[before:] = [line + note for line in report.differences[before:]]


def verify_store(store: ResultsStore, *, sample: int | None = None, seed: int = 0,
                 data_files: list[str | Path] = (), workers: int = 1,
                 progress: bool = True) -> Verification:
    """Re-run the store's cells (all, or `sample` of them drawn with `seed`) into a scratch
    store and compare every stored run of each with its re-run; `data_files`: the files that
    datasets read from files may be read from. `store` is only read (open it with
    mode="read": then nothing can write it)."""
    data_files = [Path(f).resolve() for f in data_files]
    for f in data_files:
        if not f.is_file():
            raise ConfigError("--data", str(f), "no such file")
    if sample is not None and sample < 1:
        raise ConfigError("--sample", sample, "must be at least 1 (leave it out to verify "
                          "every cell)")
    if seed < 0:
        raise ConfigError("--seed", seed, "must be >= 0")
    with store.snapshot():
        runs = read_runs(store)
    if not runs:
        raise ConfigError("store", str(store.path), "holds no runs; nothing to verify")
    altered = [run for run in runs if not run.intact]
    runs = [run for run in runs if run.intact]
    hashes = choose(runs, sample, seed)
    plan = rebuild(runs, hashes, data_files) if hashes else None
    chosen = [run for run in runs if run.spec_hash in set(hashes)]
    report = Verification(cells=len(hashes), runs=len(chosen),
                          other_versions=sum(r.version != palbench.__version__ for r in chosen))
    report.differences += [f"{run.describe()}: its spec does not hash to its spec_hash (the "
                           "row was altered after the run); not re-run" for run in altered]
    if plan is None:
        return report
    with tempfile.TemporaryDirectory(prefix="palbench-verify-") as scratch_dir:
        with ResultsStore(Path(scratch_dir) / "verify.sqlite") as scratch:
            summary = run_plan(plan, scratch, workers=workers, progress=progress)
            rerun = {run.spec_hash: run for run in read_runs(scratch)}
    if summary.interrupted:
        report.interrupted = True
        return report
    cells = {cell.spec_hash(): cell for cell in plan.cells}
    for run in chosen:
        compare(run, rerun[run.spec_hash], plan.data(cells[run.spec_hash]), report)
    return report
