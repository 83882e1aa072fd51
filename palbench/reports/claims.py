"""Annotation-cost claims: a TOML file of claims -> PASS/FAIL per claim, checked against the store.

A claim names one cell (dataset, strategy, and as many of oracle, costs, learner,
selection_learner, experiment and tag as the store needs to tell its cells apart), a metric per
run (cost_to_reach a target accuracy, aulc, final_acc, a stopping criterion's stop), and a bound
that the far end of an interval over that cell's seeds must meet: at_most or at_least on the
Student-t interval of the mean, or ratio_at_most on Fieller's interval of the ratio to the cell
of another strategy in the same setting, paired on seeds. A verdict names the bound that held
or failed and by how much; a cell with fewer seeds than its interval needs is refused (exit 2).

A claim measures exactly one cell per side, or it is refused (bad input, exit 2) with the
values that tell the cells apart and the key to add: pooling cells would count their seeds
together and overstate the evidence. A name that no run in the store has is refused with "did
you mean"; a name the store has but with no run matching the other keys is a FAIL that says
which key left no run. Runs missing from the store are produced from the claim's `config`
unless told not to.
"""

from __future__ import annotations

import difflib
import json
import math
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from palbench.errors import ConfigError, check
from palbench.fields import param
from palbench.params import build, read_toml, unknown_key_error
from palbench.reports.cells import cell_keys, told_apart
from palbench.reports.metrics import per_run, stops_of
from palbench.reports.stats import (
    AT_LEAST_ZERO,
    INTERVAL_MIN_SEEDS,
    Interval,
    mean_ci,
    paired_method,
    ratio_ci,
    seeds_to_decide,
    smallest_p,
)
from palbench.results.schema import CELL_KEYS, METRIC_RANGES

CLAIM_METRICS = ("cost_to_reach", "aulc", "final_acc", "stop_cost", "stop_loss", "robust_wins")
ROBUST = "robust_wins"  # the share of a robustness study's variants won (reports/robustness.py)
STOP_METRICS = {"stop_cost": "cost", "stop_loss": "loss"}  # -> stops_of() columns
# the values each claim metric can take (task accuracy's range, or a cost's): interval limits
CLAIM_RANGES = {"aulc": METRIC_RANGES["task_acc"], "final_acc": METRIC_RANGES["task_acc"],
                "cost_to_reach": AT_LEAST_ZERO, "stop_cost": AT_LEAST_ZERO}
# the run columns a claim's keys select on, in the order a missing key is suggested
FILTERS = ("strategy", "dataset", "experiment", "oracle", "costs", "learner",
           "selection_learner", "tag")
STORED = "stored "  # + a cell key: its label as stored, before cells.told_apart


@dataclass(frozen=True)
class Claim:
    name: str = ""
    dataset: str = ""
    strategy: str = ""
    oracle: str | None = None
    learner: str | None = None
    costs: str | None = None
    selection_learner: str | None = None  # "self": the learner selected for itself
    experiment: str | None = None
    tag: str | None = None  # "" selects the untagged runs
    metric: str = param("cost_to_reach", choices=CLAIM_METRICS)
    target: float | None = None
    at_most: float | None = None
    at_least: float | None = None
    relative_to: str | None = None
    ratio_at_most: float | None = None
    confidence: float = param(0.95, gt=0, lt=1)
    config: str | None = None
    criterion: str | None = None  # the stopping criterion's label (stop_cost, stop_loss)
    study: str | None = None  # robust_wins: the study's name (palbench robustness --study)
    never_loses: bool = False  # robust_wins: and no variant where relative_to wins

    def validate(self, where):
        for field in ("name", "dataset", "strategy"):
            check(bool(getattr(self, field)), f"{where}.{field}", getattr(self, field),
                  "is required")
        check((self.metric in STOP_METRICS) == (self.criterion is not None),
              f"{where}.criterion", self.criterion,
              "stop_cost and stop_loss need the criterion's label, and only they take one")
        if self.metric == "cost_to_reach":
            check(self.target is not None and 0 < self.target <= 1, f"{where}.target",
                  self.target, "cost_to_reach needs a target accuracy in (0, 1]")
        check((self.metric == ROBUST) == (self.study is not None), f"{where}.study",
              self.study, "robust_wins needs the study's name, and only it takes one")
        check(self.metric == ROBUST or not self.never_loses, f"{where}.never_loses",
              self.never_loses, "only robust_wins takes never_loses")
        if self.metric == ROBUST:
            check(self.relative_to is not None, f"{where}.relative_to", self.relative_to,
                  "robust_wins needs the strategy it beats")
            check(self.at_least is not None and 0 < self.at_least <= 1 and
                  self.at_most is None and self.ratio_at_most is None, f"{where}.at_least",
                  self.at_least, "robust_wins takes at_least: the share of variants won, "
                  "in (0, 1]")
            return
        bounds = [b for b in ("at_most", "at_least", "ratio_at_most")
                  if getattr(self, b) is not None]
        check(len(bounds) == 1, f"{where}.at_most", self.at_most,
              "give exactly one bound: at_most, at_least, or relative_to with ratio_at_most")
        check((self.relative_to is None) == (self.ratio_at_most is None),
              f"{where}.relative_to", self.relative_to,
              "relative_to and ratio_at_most go together")

    def filters(self, strategy: str | None = None) -> dict:
        """The claim's keys that are set, in FILTERS order (`strategy` replaces its own)."""
        found = {k: getattr(self, k) for k in FILTERS if getattr(self, k) is not None}
        if strategy is not None:
            found["strategy"] = strategy
        return found


@dataclass(frozen=True)
class Verdict:
    claim: Claim
    passed: bool
    line: str


def load_claims(path: str | Path) -> list[Claim]:
    raw = read_toml(path)
    for key in raw:
        if key != "claim":
            raise unknown_key_error(key, key, "[...]", ["claim"])
    tables = raw.get("claim")
    check(isinstance(tables, list) and len(tables) > 0 and
          all(isinstance(t, dict) for t in tables), "claim", tables,
          "the file needs one or more [[claim]] tables")
    base = Path(path).resolve().parent
    claims = []
    for i, table in enumerate(tables):
        claim = build(Claim, table, f"claim[{i}]", reserved=())
        if claim.config is not None and not Path(claim.config).is_absolute():
            claim = Claim(**{**claim.__dict__, "config": str(base / claim.config)})
        if claim.config is not None:
            check(Path(claim.config).is_file(), f"claim[{i}].config", claim.config,
                  "no such file")
        claims.append(claim)
    names = [c.name for c in claims]
    for i, name in enumerate(names):
        check(names.index(name) == i, f"claim[{i}].name", name, "two claims share this name")
    return claims


def per_run_values(frame: pd.DataFrame, claim: Claim) -> pd.Series:
    """The claim's metric for each run, indexed by seed (one run per cell and seed)."""
    if claim.metric in STOP_METRICS:
        stops = stops_of(frame)
        stops = stops[stops["criterion"] == claim.criterion]
        return pd.Series(stops[STOP_METRICS[claim.metric]].to_numpy(float),
                         index=stops["seed"].to_numpy(), dtype=float)
    targets = {"cost_to_reach": claim.target} if claim.metric == "cost_to_reach" else None
    runs = per_run(frame, "task_acc", targets)
    column = {"final_acc": "final"}.get(claim.metric, claim.metric)
    return pd.Series(runs[column].to_numpy(float), index=runs["seed"].to_numpy(), dtype=float)


def describe_metric(claim: Claim) -> str:
    if claim.metric in STOP_METRICS:
        return f"{claim.metric}({claim.criterion})"
    return f"cost_to_reach({claim.target:g})" if claim.metric == "cost_to_reach" else claim.metric


def number_text(value: float) -> str:
    return "not reached" if math.isinf(value) else f"{value:.4g}"


def bound_held(interval: Interval, bound: float, side: str) -> tuple[bool, str]:
    """Whether the interval's far end (`side`: "upper" for at_most and ratio_at_most,
    "lower" for at_least) meets the bound, and that said: the bound that held, or the one
    that failed and by how much."""
    edge = interval.high if side == "upper" else interval.low
    name = f"{side} {interval.level:.0%} bound"
    if math.isnan(edge):
        return False, f"{name} undefined ({interval.why})"
    passed = bool(edge <= bound) if side == "upper" else bool(edge >= bound)
    op = {("upper", True): "<=", ("upper", False): ">", ("lower", True): ">=",
          ("lower", False): "<"}[side, passed]
    if math.isinf(edge):
        return passed, f"{name} unbounded {op} {bound:g}"
    return passed, f"{name} {edge:.4g} {op} {bound:g} {by(edge - bound)}"


def by(margin: float) -> str:
    """How far a value is from its bound, as a verdict says it."""
    return "(at the bound)" if margin == 0 else f"by {abs(margin):.2g}"


def measured(label: str, interval: Interval, values: np.ndarray) -> str:
    """The claim's value with its interval, or why it has none (runs never reached it)."""
    missed = int(np.isinf(values).sum())
    if missed:
        return f"{label} not reached in {missed} of {len(values)} seeds"
    if math.isinf(interval.high) and math.isinf(interval.low):
        return f"{label} = {number_text(interval.point)} ({interval.why})"
    return (f"{label} = {number_text(interval.point)} "
            f"[{number_text(interval.low)}, {number_text(interval.high)}]")


def enough_seeds(claim: Claim, n: int, where: str, shared: bool = False) -> None:
    """A claim's interval needs INTERVAL_MIN_SEEDS seeds (shared with the baseline's cell
    for a ratio): fewer is bad input, since no outcome of the check could mean anything."""
    if n < INTERVAL_MIN_SEEDS:
        kind = f"{claim.confidence:.0%} " + ("Fieller" if shared else "t") + " interval"
        has = (f"shares {n} seed(s) with {claim.relative_to!r}'s cell" if shared else
               f"has {n} seed(s) in its cell")
        raise ConfigError(where, claim.name, f"{claim.strategy!r} {has}; its {kind} needs at "
                          f"least {INTERVAL_MIN_SEEDS} (run more seeds)")


def evaluate(claim: Claim, frame: pd.DataFrame, baseline: pd.DataFrame | None,
             where: str = "claim") -> Verdict:
    """PASS when the far end of the interval meets the bound: the Student-t interval of the
    mean over the cell's seeds, or for a ratio Fieller's interval over the seeds paired with
    the baseline (stats.mean_ci, stats.ratio_ci). `frame` holds the runs of one cell, one run
    per seed (`baseline`: those of the relative_to cell). Too few seeds: ConfigError."""
    label = describe_metric(claim)
    values = per_run_values(frame, claim)
    if claim.metric in STOP_METRICS and values.empty:
        known = sorted(set(stops_of(frame)["criterion"]))
        return Verdict(claim, False, f"FAIL  {claim.name}: no run recorded the stopping "
                                     f"criterion {claim.criterion!r}; recorded: "
                                     f"{', '.join(known) or 'none'}")
    if claim.relative_to is not None:
        base = per_run_values(baseline, claim)
        censored = int(np.isinf(base).sum())
        if censored:  # counted at its last cost: can only overstate the ratio (conservative)
            last_cost = baseline.groupby("seed")["cost"].max()
            base = base.where(~np.isinf(base), last_cost.reindex(base.index))
        seeds = values.index.intersection(base.index)
        enough_seeds(claim, len(seeds), where, shared=True)
        mine = values[seeds].to_numpy()
        interval = ratio_ci(mine, base[seeds].to_numpy(), claim.confidence)
        passed, bound = bound_held(interval, claim.ratio_at_most, "upper")
        line = (f"{measured(f'{label} ratio {claim.strategy}/{claim.relative_to}', interval, mine)}"
                f", {bound} ({len(seeds)} seeds"
                + (f"; {claim.relative_to} never reached it in {censored}, counted at its "
                   "last cost" if censored else "") + ")")
    else:
        enough_seeds(claim, len(values), where)
        interval = mean_ci(values.to_numpy(), level=claim.confidence,
                           within=CLAIM_RANGES.get(claim.metric))
        if claim.at_most is not None:
            passed, bound = bound_held(interval, claim.at_most, "upper")
        else:
            passed, bound = bound_held(interval, claim.at_least, "lower")
        line = f"{measured(label, interval, values.to_numpy())}, {bound} ({len(values)} seeds)"
    head = "PASS" if passed else "FAIL"
    return Verdict(claim, passed, f"{head}  {claim.name}: {line}, {interval.name}")


def write_junit(verdicts: list[Verdict], path: Path) -> None:
    suite = ET.Element("testsuite", name="palbench claims", tests=str(len(verdicts)),
                       failures=str(sum(not v.passed for v in verdicts)))
    for verdict in verdicts:
        case = ET.SubElement(suite, "testcase", classname="palbench.claims",
                             name=verdict.claim.name)
        if not verdict.passed:
            ET.SubElement(case, "failure", message=verdict.line).text = verdict.line
        ET.SubElement(case, "system-out").text = verdict.line
    ET.ElementTree(suite).write(path, encoding="utf-8", xml_declaration=True)


def check_claims(claims: list[Claim], store, run_missing=None) -> list[Verdict]:
    """Evaluate every claim; with `run_missing` (the caller's runner: config path -> None;
    `palbench check` passes bench.session.run_missing_cells bound to this store), first run
    each claim's config's cells that the store lacks. Reports never import bench/: the caller
    passes the runner.
    A claim that cannot name one cell per side is a ConfigError (see `one_cell`)."""
    if run_missing is not None:
        for config in dict.fromkeys(c.config for c in claims if c.config):
            run_missing(config)
    with store.snapshot():  # every claim judged on one state of the store
        frame, runs = store.to_frame(), store.runs()
    if frame.empty:
        raise ConfigError("store", str(store.path), "holds no runs: nothing to check a claim "
                          "against (run the claims' configs first, or drop --no-run)")
    keys = cell_keys(runs)
    tag = frame["tag"].fillna("")  # a tag tells a cell's runs apart as its spec does
    # the report's labels, a cell each (cells.told_apart); a key may name the stored one too
    frame = told_apart(frame, runs).assign(
        cell=frame["run_id"].map(keys["cell"]) + "|" + tag,
        setting=frame["run_id"].map(keys["setting"]) + "|" + tag, tag=tag,
        **{STORED + k: frame[k] for k in CELL_KEYS})
    verdicts = []
    for i, claim in enumerate(claims):
        where = f"claim[{i}]"
        if claim.metric == ROBUST:
            verdicts.append(robust_verdict(claim, store, where))
            continue
        check_names(claim, frame, where)
        runs_of = one_cell(claim, frame, where, claim.strategy)
        if isinstance(runs_of, Verdict):
            verdicts.append(runs_of)
            continue
        baseline = None
        if claim.relative_to is not None:
            baseline = baseline_cell(claim, frame, runs_of, where)
            if isinstance(baseline, Verdict):
                verdicts.append(baseline)
                continue
        verdicts.append(evaluate(claim, runs_of, baseline, where))
    return verdicts


def robust_verdict(claim: Claim, store, where: str) -> Verdict:
    """PASS when the strategy significantly beats relative_to in at least the claimed share
    of the study's variants (and, with never_loses, loses in none), each variant's verdict
    as the robustness report gives it. A variant the store lacks runs of is a FAIL naming
    it; a name the study does not hold is bad input ("did you mean")."""
    from palbench.reports.robustness import analyse, load_study

    variants, units, missing = load_study(store, claim.study)
    if missing:
        return Verdict(claim, False, f"FAIL  {claim.name}: {len(missing)} of {len(variants)} "
                                     f"variants of study {claim.study!r} lack runs in the "
                                     f"store: {'; '.join(missing)} (run palbench robustness "
                                     "again to finish them)")
    for key, held in (("dataset", {u.dataset for u in units}),
                      ("strategy", {s for u in units for s in u.aulc.columns}),
                      ("relative_to", {s for u in units for s in u.aulc.columns})):
        value = getattr(claim, key)
        if value not in held:
            close = difflib.get_close_matches(str(value), sorted(held), n=1, cutoff=0.6)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ConfigError(f"{where}.{key}", value, f"study {claim.study!r} has no such "
                              f"{'strategy' if key == 'relative_to' else key}{hint}; it has: "
                              + ", ".join(sorted(held)))
    units = [u for u in units if u.dataset == claim.dataset]
    panels = sorted({u.panel for u in units})
    if len(panels) > 1:
        raise ConfigError(where, claim.name, f"the variants of study {claim.study!r} hold "
                          f"{len(panels)} panels on {claim.dataset} ({'; '.join(panels)}): a "
                          "robust_wins claim reads one; run the study on one oracle, costs "
                          "and learner")
    for unit in units:  # a variant whose seeds can never give a win: no verdict to count
        seeds, pairs = len(unit.aulc), len(unit.pairs())
        if seeds < seeds_to_decide(pairs):
            raise ConfigError(where, claim.name, f"variant {unit.name!r} of study "
                              f"{claim.study!r} has {seeds} seed(s); a win there needs at "
                              f"least {seeds_to_decide(pairs)} (sign-flip test: smallest p "
                              f"{smallest_p(seeds):.2g} at {seeds} seeds, Holm over {pairs} "
                              "pair(s), alpha 0.05)")
    rows = analyse(units, seed_counts=())["verdicts"]
    rows = rows[(rows["a"] == claim.strategy) & (rows["b"] == claim.relative_to)]
    wins, losses, n = int((rows["verdict"] > 0).sum()), int((rows["verdict"] < 0).sum()), \
        len(rows)
    won = wins / n if n else 0.0
    passed = n > 0 and won >= claim.at_least and not (claim.never_loses and losses)
    lost = ", loses in none" if not losses else \
        f", loses in {losses}: {'; '.join(rows.loc[rows['verdict'] < 0, 'variant'])}"
    seeds = int(rows["seeds"].min()) if n else 0
    line = (f"{claim.strategy} beats {claim.relative_to} in {wins} of {n} variants "
            f"({won:.2f}) {'>=' if won >= claim.at_least else '<'} {claim.at_least:g} "
            f"{by(won - claim.at_least)}{lost}"
            + (" (never_loses)" if claim.never_loses else "")
            + f"; study {claim.study!r} on {claim.dataset}, {paired_method(seeds)} over "
              f"{seeds} seeds on AULC, Holm-corrected in each variant")
    return Verdict(claim, passed, f"{'PASS' if passed else 'FAIL'}  {claim.name}: {line}")


def check_names(claim: Claim, frame: pd.DataFrame, where: str) -> None:
    """Every name the claim gives is one the store holds (else: bad input, "did you mean")."""
    for key, value in [*claim.filters().items(), ("relative_to", claim.relative_to)]:
        if value is None:
            continue
        column = "strategy" if key == "relative_to" else key
        held = sorted({str(v) for c in (column, STORED + column) if c in frame
                       for v in frame[c].unique()})
        if value not in held:
            close = difflib.get_close_matches(str(value), held, n=1, cutoff=0.6)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            shown = [v if v else '"" (untagged)' for v in held] if key == "tag" else held
            raise ConfigError(f"{where}.{key}", value, f"no run in the store has this "
                              f"{column}{hint}; the store holds: {', '.join(shown[:12])}"
                              + (f" and {len(held) - 12} more" if len(held) > 12 else ""))


def one_cell(claim: Claim, frame: pd.DataFrame, where: str,
             strategy: str) -> pd.DataFrame | Verdict:
    """The runs of the one cell the claim names for `strategy`, newest run per seed; a FAIL
    verdict when the keys leave no run (naming the key that emptied it); a ConfigError when
    they leave several cells (naming the values that tell them apart and the key to add)."""
    rows = frame
    for key, value in claim.filters(strategy).items():
        kept = rows[(rows[key] == value) | (rows.get(STORED + key, rows[key]) == value)]
        if kept.empty:
            return Verdict(claim, False, emptied(claim, rows, key, value, strategy))
        rows = kept
    if rows["cell"].nunique() > 1:
        raise ConfigError(where, claim.name, several_cells(rows, strategy))
    newest = rows.groupby("seed")["run_id"].transform("max")  # versions repeating a seed
    return rows[rows["run_id"] == newest]


def baseline_cell(claim: Claim, frame: pd.DataFrame, runs_of: pd.DataFrame,
                  where: str) -> pd.DataFrame | Verdict:
    """The relative_to strategy's cell in the setting of the claim's cell: the same spec but
    for the strategy (dataset, annotator, prices, learners, [experiment] protocol)."""
    setting = runs_of["setting"].iloc[0]
    found = one_cell(claim, frame[frame["setting"] == setting], where, claim.relative_to)
    if not isinstance(found, Verdict):
        return found
    elsewhere = one_cell(claim, frame, where, claim.relative_to)
    if isinstance(elsewhere, Verdict):
        return elsewhere
    mine, theirs = (json.loads(k.rpartition("|")[0]) for k in (setting,
                                                                elsewhere["setting"].iloc[0]))
    tables = sorted(t for t in {*mine, *theirs} if mine.get(t) != theirs.get(t))
    return Verdict(claim, False, f"FAIL  {claim.name}: the runs of {claim.relative_to!r} "
                                 f"that the keys name are not in the setting of "
                                 f"{claim.strategy!r}'s: they differ in "
                                 f"{', '.join(f'[{t}]' for t in tables)}")


def emptied(claim: Claim, rows: pd.DataFrame, key: str, value, strategy: str) -> str:
    """A FAIL line: which key left no run, and what the runs before it held instead."""
    held = sorted(str(v) for v in rows[key].unique())
    shown = ", ".join(repr(v) for v in held[:6]) + (" ..." if len(held) > 6 else "")
    return (f"FAIL  {claim.name}: no run of {strategy!r} has {key} = {value!r} among the "
            f"runs the keys before it select; those have {key} {shown}")


def several_cells(rows: pd.DataFrame, strategy: str) -> str:
    """Why a claim's keys name more than one cell, and what to add."""
    n = rows["cell"].nunique()
    differing = [k for k in FILTERS if k != "strategy" and rows[k].nunique() > 1]
    if differing:
        parts = [f"{k} ({', '.join(repr(v) for v in sorted(map(str, rows[k].unique())))})"
                 for k in differing]
        key = differing[0]
        choices = " or ".join(f'{key} = "{v}"' for v in sorted(map(str, rows[key].unique())))
        return (f"its keys match {n} cells of strategy {strategy!r}, which differ in "
                f"{' and '.join(parts)}: add {choices}")
    specs = [json.loads(c.rpartition("|")[0]) for c in rows["cell"].unique()]
    tables = sorted({t for spec in specs for t in spec
                     if any(spec.get(t) != other.get(t) for other in specs)})
    return (f"its keys match {n} cells of strategy {strategy!r} with the same names that "
            f"differ in their {', '.join(f'[{t}]' for t in tables)} tables; run them under "
            "different [experiment] names or --tag values and add experiment = ... or "
            "tag = ...")


__all__ = ["Claim", "ConfigError", "Verdict", "check_claims", "load_claims", "write_junit"]
