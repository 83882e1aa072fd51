"""Command line: argparse with one handler per command (set_defaults), nothing else.

Exit status: 0 done; 1 a claim or comparison failed, or a component raised (a bug in its
code: one line naming the component and the run, then the component's own traceback frames;
`--traceback` prints the whole traceback); 2 bad input (one line on stderr naming the field);
130 interrupted. Heavy libraries are imported inside the handlers that use them, so `palbench
--help` and a scikit-learn-only run start fast.
"""

from __future__ import annotations

import argparse
import os
import sys
from functools import partial
from importlib.resources import files
from pathlib import Path

from palbench import __version__
from palbench.errors import (
    ComponentError,
    ConfigError,
    ContractError,
    PalbenchError,
    StoreError,
    TrainingDiverged,
    WorkerDied,
)
from palbench.results.schema import CELL_KEYS, METRICS

KINDS = ("datasets", "strategies", "oracles", "learners", "stopping")
PANEL_FIELDS = tuple(CELL_KEYS)  # the fields that name a cell (results/schema.py)
REPORT_METRICS = tuple(METRICS)  # the metric fields of results/schema.py


def panel_list(text: str) -> list[str]:
    keys = [k.strip() for k in text.split(",") if k.strip()]
    bad = [k for k in keys if k not in PANEL_FIELDS]
    if bad or not keys:
        raise argparse.ArgumentTypeError(
            f"{bad[0] if bad else text!r} is not a field; choose from {', '.join(PANEL_FIELDS)}")
    return keys


def positive_workers(n: int) -> int:
    if n < 1:
        raise ConfigError("--workers", n, "must be at least 1")
    return n


def open_store(store_arg, mode: str = "write"):
    """The store to write into (run, import) or to read (every other command: never written,
    read-only media included)."""
    from palbench.results.connection import store_path
    from palbench.results.store import ResultsStore

    return ResultsStore(store_path(store_arg), mode=mode)


def run_into_store(config, store_arg, *, workers=1, force=False, quiet=False, tag=None,
                   executor="local", address=None, verbose=False, batch_cells=None) -> int:
    """Run a config (a path, or a (raw table, base folder) pair) into the store; print the
    summary line. Exit status 130 when interrupted."""
    from palbench.bench.config import load_plan, plan_from_raw
    from palbench.bench.executors import batch_size_for
    from palbench.bench.session import run_plan

    workers = positive_workers(workers)
    plan = plan_from_raw(*config) if isinstance(config, tuple) else load_plan(config)
    batch_size_for(plan.cells, plan.data, workers, batch_cells)  # bad sizes: before the store
    with open_store(store_arg) as store:
        summary = run_plan(plan, store, workers=workers, force=force, tag=tag,
                           executor=executor, address=address, progress=not quiet,
                           verbose=verbose, batch_cells=batch_cells)
        path = store.path
    if summary.interrupted:
        print(f"palbench: interrupted; {summary.written} finished runs are in {path}. Run the "
              "same command again to resume: complete runs are skipped.", file=sys.stderr)
        return 130
    print(summary.line(path))
    return 0


def cmd_run(args) -> int:
    if args.address and args.executor != "ray":
        raise ConfigError("--address", args.address, "only with --executor ray")
    return run_into_store(args.config, args.store, workers=args.workers, force=args.force,
                          quiet=args.quiet, tag=args.tag, executor=args.executor,
                          address=args.address, verbose=args.verbose,
                          batch_cells=args.batch_cells)


def cmd_robustness(args) -> int:
    from palbench.bench.study import prepare_study, run_study
    from palbench.reports.robustness import analyse, load_study
    from palbench.reports.robustness_report import reading, write_robustness

    workers = positive_workers(args.workers)
    name, plans = prepare_study(args.config, args.vary, study=args.study,
                                one_at_a_time=args.one_at_a_time)
    with open_store(args.store) as store:
        summary = run_study(name, plans, store, workers=workers, progress=not args.quiet)
        if summary.interrupted:
            print(f"palbench: interrupted; {summary.written} finished runs are in "
                  f"{store.path}. Run the same command again to resume.", file=sys.stderr)
            return 130
        variants, units, missing = load_study(store, name)
        runs = store.runs()
    base = next((v.name for v in variants if v.base), None)
    analysis = analyse(units, base)
    if analysis["pairs"].empty:
        raise ConfigError("--vary", args.vary, "no variant has two strategies with shared "
                          "seeds to compare: give the config at least two strategies")
    keys = [v.partition("=")[0].strip() for v in args.vary]
    written = write_robustness(Path(args.out), name, analysis, keys, base, missing, runs,
                               units)
    print(reading(analysis["pairs"]))
    print(f"palbench: wrote {', '.join(p.name for p in written)} into {args.out}")
    return 0


def demo_config() -> Path:
    return Path(str(files("palbench.bench") / "demo.toml"))


def demo_summary() -> str:
    """What the demo runs, read from demo.toml itself (so --help cannot go stale)."""
    from palbench.params import read_toml

    raw = read_toml(demo_config())

    def labels(section: str) -> str:
        tables = raw.get(section, [])
        tables = tables if isinstance(tables, list) else [tables]
        return ", ".join(t.get("id", t.get("name", "?")) for t in tables)

    experiment = raw["experiment"]
    unit = "annotator seconds" if raw.get("costs", {}).get("model") == "seconds" else \
        "cost units"
    return (f"dataset {labels('dataset')}; strategies {labels('strategy')}; annotator "
            f"{labels('oracle')}; learners {labels('learner')}; budgets "
            f"{', '.join(f'{b:g}' for b in experiment['budgets'])} {unit}; seeds "
            f"{', '.join(map(str, experiment['seeds']))}")


def cmd_demo(args) -> int:
    from palbench.params import read_toml

    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    config = demo_config()
    print(f"palbench demo: {demo_summary()}; {args.workers} workers")
    store = str(out_dir / "results.sqlite")
    code = run_into_store((read_toml(config), config.parent), store, workers=args.workers,
                          quiet=args.quiet)
    if code:
        return code
    write_report_files(store, str(out_dir))  # prints the report's one-line reading
    print(f"palbench demo: report in {out_dir / 'index.html'} (and leaderboard.md, "
          "curves.png)")
    return 0


def run_missing_cells(config, store, workers: int) -> None:
    """Run a claim's config's cells that the store lacks (complete cells are skipped), saying
    first how many and about how long, with `palbench run`'s progress bar."""
    from palbench.bench.config import load_plan
    from palbench.bench.session import cells_to_run, run_plan, time_estimate

    plan = load_plan(config)
    todo = cells_to_run(plan, store)
    if not todo:
        return
    print(f"palbench check: {len(todo)} of the {len(plan.cells)} cells of {config} are not in "
          f"the store; running them now on {workers} worker(s) ("
          f"{time_estimate(todo, store, workers)}). --no-run never runs cells.",
          file=sys.stderr)
    if run_plan(plan, store, workers=workers, say_skipped=False).interrupted:
        raise KeyboardInterrupt


def cmd_check(args) -> int:
    from palbench.reports.claims import check_claims, load_claims, write_junit

    claims = load_claims(args.claims)
    workers = positive_workers(args.workers)
    if args.junit and not Path(args.junit).resolve().parent.is_dir():
        raise ConfigError("--junit", args.junit, "its folder does not exist")
    runs_missing = not args.no_run and any(c.config for c in claims)
    with open_store(args.store, "write" if runs_missing else "read") as store:
        verdicts = check_claims(claims, store, None if not runs_missing else
                                partial(run_missing_cells, store=store, workers=workers))
    for verdict in verdicts:
        print(verdict.line)
    if args.junit:
        write_junit(verdicts, Path(args.junit))
    failed = sum(not v.passed for v in verdicts)
    print(f"palbench check: {len(verdicts) - failed} passed, {failed} failed")
    return 1 if failed else 0


def cmd_verify(args) -> int:
    from palbench.bench.verify import verify_store

    workers = positive_workers(args.workers)
    with open_store(args.store, mode="read") as store:  # only read: never written
        report = verify_store(store, sample=args.sample, seed=args.seed,
                              data_files=args.data, workers=workers, progress=not args.quiet)
    if report.interrupted:
        print("palbench verify: interrupted; nothing was compared (the store is unchanged)",
              file=sys.stderr)
        return 130
    for line in report.differences:
        print(line)
    print(report.summary())
    return 1 if report.differences else 0


def cmd_compare(args) -> int:
    from palbench.reports.cells import told_apart
    from palbench.reports.compare import compare, markdown

    if not 0 < args.target <= 1:
        raise ConfigError("--target", args.target, "must be an accuracy in (0, 1]")
    with open_store(args.store, mode="read") as store:  # a cell per spec within each side
        frame = told_apart(store.to_frame(), store.runs(), within=("palbench_version", "tag"))
    table = compare(frame, args.baseline, args.candidate, args.target)
    if table.empty:
        raise ConfigError("--candidate", args.candidate,
                          f"shares no cell and seed with {args.baseline!r}")
    print(markdown(table, args.baseline, args.candidate, args.target))
    flagged = int((table["regression"] != "").sum())
    print(f"\npalbench compare: {len(table)} cells, {flagged} with a significant regression")
    return 1 if flagged and args.fail_on_regression else 0


def cmd_list(args) -> int:
    import textwrap

    from palbench.reference import kinds, parameters, summary

    registry = kinds()[{"datasets": "dataset", "strategies": "strategy", "oracles": "oracle",
                        "learners": "learner", "stopping": "stopping"}[args.kind]]
    if args.name is not None:  # one component: every parameter, as the config reference
        cls = registry.get(args.name, "NAME")
        print(f"{args.name}: {summary(cls)}\n")
        for p in parameters(cls):
            default = p.default if p.default == "required" else f"default {p.default}"
            print(f"  {p.name} ({p.type}, {default}; in the spec hash: {p.identity})")
            print(textwrap.fill(p.doc or "-", width=96, initial_indent="      ",
                                subsequent_indent="      "))
            if p.values:
                print(f"      values: {p.values}")
        if not parameters(cls):
            print("  no parameters")
        return 0
    for name, cls in registry.items():
        print(textwrap.fill(f"{name}: {summary(cls)}", width=96, subsequent_indent="    "))
        listed = ", ".join(f"{p.name} = {p.default}" for p in parameters(cls)) or "none"
        print(textwrap.fill(f"parameters: {listed}", width=96, initial_indent="    ",
                            subsequent_indent="      "))
    print(f"\n`palbench list {args.kind} NAME`: each parameter's type, default, values and "
          "what it is")
    return 0


def cmd_export(args) -> int:
    from palbench.results.export import export_bundle, export_rows

    with open_store(args.store, mode="read") as store:
        if args.format == "bundle":
            n = export_bundle(store, Path(args.out))
            print(f"palbench: {n} runs written to {args.out}")
        else:
            n = export_rows(store, Path(args.out), args.format)
            print(f"palbench: {n} rows written to {args.out}")
    return 0


def cmd_import(args) -> int:
    from palbench.results.export import read_bundle

    tables = read_bundle(Path(args.bundle))  # checked whole before the store is created
    with open_store(args.store) as store:
        added, skipped = store.add_runs(*tables)
    print(f"palbench: {added} runs imported, {skipped} already in the store")
    return 0


def write_report_files(store_arg, out, metric="task_acc", hue="strategy", experiment=None,
                       panels=None, rank_blocks="panel", baseline="random",
                       published=None, mistake_cost=None) -> int:
    from palbench.reports.cells import told_apart
    from palbench.reports.report import write_report

    with open_store(store_arg, mode="read") as store, store.snapshot():
        runs = store.runs()  # a cell per spec, whatever its labels (one line each)
        frame = told_apart(store.to_frame(**({"experiment": experiment} if experiment else {})),
                           runs)
        pair_runs = store.pair_runs()
    if frame.empty:
        if experiment:
            raise ConfigError("--experiment", experiment, "no runs of that experiment in the "
                              "store")
        raise ConfigError("store", store_arg, "holds no runs yet; nothing to report")
    if frame[metric].isna().all():
        raise ConfigError("--metric", metric, "no run recorded it (probe_acc needs a learner "
                          "with an embedding and [experiment] probe = true)")
    if baseline != "random" and baseline not in set(frame["strategy"]):
        raise ConfigError("--baseline", baseline, "is not a strategy in the store; known: " +
                          ", ".join(sorted(frame["strategy"].unique())))
    if published is not None:
        from palbench.reports.published import read_published
        published = read_published(published)
    if mistake_cost is not None and not mistake_cost > 0:
        raise ConfigError("--mistake-cost", mistake_cost, "must be > 0 (cost units per unit "
                          "of test error over the model's life)")
    from palbench.reports.report import one_line_reading

    paths = write_report(frame, Path(out), metric, hue, panels, runs, rank_blocks, baseline,
                         pair_runs, published, mistake_cost)
    print("palbench: wrote " + ", ".join(str(p) for p in paths))
    print(one_line_reading(frame, pair_runs, metric))
    return 0


def cmd_report(args) -> int:
    return write_report_files(args.store, args.out, args.metric, args.hue, args.experiment,
                              args.panels, args.rank_blocks, args.baseline, args.published,
                              args.mistake_cost)


def cmd_bench(args) -> int:
    import importlib

    from palbench.perf import BENCHMARKS

    module = importlib.import_module(BENCHMARKS[args.benchmark][0])
    sys.argv[0] = f"palbench bench {args.benchmark}"  # its --help names the command that ran it
    module.main(args.args)
    return 0


def _store_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--store", metavar="PATH",
                   help="results store (SQLite file); default $PALBENCH_STORE or "
                        "./palbench.sqlite")


def add_run(sub) -> None:
    p = sub.add_parser("run", help="run every cell of a config's grid into the store",
                       description="Run the grid dataset x strategy x oracle x costs x learner x "
                                   "seed of a TOML config. Cells already complete in the store "
                                   "are skipped, so an interrupted run resumes; a cell that an "
                                   "overlapping run finished first is not stored twice.")
    p.add_argument("config", help="TOML config file (docs/guide/config.md; 'palbench list "
                                  "KIND' shows each component's parameters)")
    _store_arg(p)
    p.add_argument("--workers", type=int, default=1, metavar="N",
                   help="parallel worker processes (or local Ray CPUs), one group of cells "
                        "each (default 1)")
    p.add_argument("--batch-cells", type=int, default=None, metavar="N",
                   help="cells of one dataset, learner and checkpoint schedule that advance "
                        "in lockstep, their fits trained as one batch (mlp); the rows are the "
                        "same whatever N is (default: chosen from the learner, the workers "
                        "and the memory; 1 for learners that do not batch)")
    p.add_argument("--executor", choices=("local", "ray"), default="local",
                   help="local: this machine's process pool; ray: one Ray task per group of "
                        "cells (pip install 'palbench[ray]')")
    p.add_argument("--address", metavar="ADDR",
                   help="Ray cluster to join: auto, HOST:PORT (the head's GCS port) or "
                        "ray://HOST:PORT (Ray Client); a cluster started by `ray start` needs "
                        "RAY_AUTH_MODE=token and its token here (default: start a local one "
                        "on 127.0.0.1)")
    p.add_argument("--verbose", action="store_true",
                   help="show Ray's own log lines (kept out of the terminal by default)")
    p.add_argument("--force", action="store_true",
                   help="re-run cells that are already complete, replacing their rows")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--tag", help="label these results (e.g. a branch or a baseline); runs of "
                                 "another tag or palbench version are kept side by side")
    p.set_defaults(handler=cmd_run)


def add_robustness(sub) -> None:
    p = sub.add_parser(
        "robustness", help="does a verdict survive the protocol? one config under variants",
        description="Run a config under several protocols (--vary: a dotted config key and "
                    "its values; the variants are their cross product, or --one-at-a-time "
                    "the config plus each value changed alone), each an ordinary grid in the "
                    "same store (resumable; cells already there are reused), then report, per "
                    "dataset and pair of strategies, in how many variants each beats the other "
                    "(paired over seeds on AULC, Holm-corrected), the variants that flip the "
                    "verdict, Kendall's W of the ranks, and the probability that 3, 5 or 10 "
                    "seeds reach the all-seed verdict. Guide: docs/guide/robustness.md.")
    p.add_argument("config", help="TOML config file with at least two strategies")
    p.add_argument("--vary", action="append", default=[], metavar="KEY=V1,V2",
                   help="a dotted config key and the values it takes, e.g. "
                        "experiment.batch_size=5,20 or oracle.noise=0,0.2 (repeatable; every "
                        "table of an array of tables gets the value)")
    p.add_argument("--one-at-a-time", action="store_true",
                   help="the config as written plus each value of each key changed alone, "
                        "instead of the cross product")
    p.add_argument("--study", metavar="NAME",
                   help="the name the store records the study under, for claims "
                        "(metric = \"robust_wins\"; default: the config's file name)")
    _store_arg(p)
    p.add_argument("--out", default="robustness", metavar="DIR",
                   help="where robustness.md, robustness.csv, the figures and index.html go "
                        "(default ./robustness)")
    p.add_argument("--workers", type=int, default=1, metavar="N",
                   help="parallel worker processes, one cell each (default 1)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(handler=cmd_robustness)


def add_demo(sub) -> None:
    p = sub.add_parser("demo", help="the built-in benchmark on digits, with a report",
                       description="Label questions and pair questions on one axis of "
                                   f"annotator seconds: {demo_summary()}. Writes the store "
                                   "and the report (index.html, leaderboard.md, curves.png) "
                                   "to --out and prints the report's one-line reading.")
    p.add_argument("--out", default="palbench-demo", metavar="DIR",
                   help="folder for results.sqlite, curves.png, leaderboard.md "
                        "(default ./palbench-demo)")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1, metavar="N",
                   help="parallel worker processes (default: all cores)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(handler=cmd_demo)


def add_check(sub) -> None:
    p = sub.add_parser(
        "check", help="check annotation-cost claims against the store (exit 1 on a failure)",
        description="Evaluate each [[claim]] of a TOML file against the store: one PASS/FAIL "
                    "line per claim with the measured value, its t (or, for a ratio, Fieller) "
                    "interval over seeds and the bound that held or failed, by how much; a "
                    "cell with fewer seeds than its interval needs is bad input. Cells "
                    "missing from the store are run from each claim's config first "
                    "(--no-run: never). Exit 0: all pass; 1: a claim fails; 2: a bad file or "
                    "too few seeds.")
    p.add_argument("claims", help="TOML file of [[claim]] tables (docs/guide/claims-in-ci.md)")
    _store_arg(p)
    p.add_argument("--no-run", action="store_true", help="never run missing cells")
    p.add_argument("--junit", metavar="FILE", help="also write JUnit XML to FILE")
    p.add_argument("--workers", type=int, default=1, metavar="N",
                   help="worker processes for missing cells (default 1)")
    p.set_defaults(handler=cmd_check)


def add_verify(sub) -> None:
    p = sub.add_parser(
        "verify", help="re-run stored cells and compare every checkpoint (exit 1 on a "
                       "difference)",
        description="Audit a store (a leaderboard submission, an imported bundle): re-run its "
                    "cells, each rebuilt from its stored spec, into a scratch store (the store "
                    "given is only read) and compare every checkpoint value: identical, within "
                    "its metric's tolerance (accuracies: one test prediction; counts and costs "
                    "exact; times not compared), or different (one line each: run, budget, "
                    "metric, stored and re-run values). Exit 0: none different; 1: a value "
                    "differs; 2: bad input. docs/reliability.md says what agrees across "
                    "machines.")
    _store_arg(p)
    p.add_argument("--sample", type=int, metavar="N",
                   help="re-run N cells drawn with --seed (default: every cell)")
    p.add_argument("--seed", type=int, default=0, metavar="K",
                   help="the seed of the --sample draw (default 0)")
    p.add_argument("--data", action="append", default=[], metavar="FILE",
                   help="a file that a stored dataset (csv, npz) was read from: no spec holds "
                        "a path, only the data's fingerprint, so each file given is tried "
                        "until one gives the stored data (repeatable)")
    p.add_argument("--workers", type=int, default=1, metavar="N",
                   help="parallel worker processes (default 1); the values are the same "
                        "whatever N is")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(handler=cmd_verify)


def add_compare(sub) -> None:
    p = sub.add_parser(
        "compare", help="compare two tags or palbench versions cell by cell",
        description="Per dataset x oracle x costs x learner x strategy: the candidate's change "
                    "in final accuracy, AULC and cost to reach --target, paired over shared "
                    "seeds with 95% t intervals; significant regressions are flagged.")
    _store_arg(p)
    p.add_argument("--baseline", required=True, metavar="TAG_OR_VERSION")
    p.add_argument("--candidate", required=True, metavar="TAG_OR_VERSION")
    p.add_argument("--target", type=float, default=0.9,
                   help="accuracy for cost-to-reach (default 0.9)")
    p.add_argument("--fail-on-regression", action="store_true",
                   help="exit 1 when any regression is flagged")
    p.set_defaults(handler=cmd_compare)


def add_list(sub) -> None:
    p = sub.add_parser("list", help="list the registered components of one kind",
                       description="Every registered component of KIND (plugins included) "
                                   "with its summary and parameters; with NAME, each "
                                   "parameter's type, default, whether it enters the spec "
                                   "hash and what it is (the config reference's source).")
    p.add_argument("kind", choices=KINDS)
    p.add_argument("name", nargs="?", help="one component's name, for its parameters in full")
    p.set_defaults(handler=cmd_list)


def add_export(sub) -> None:
    p = sub.add_parser("export", help="export checkpoint rows, or a bundle to share",
                       description="csv / parquet: one row per checkpoint with the run's cell, "
                                   "seed, tag and palbench version and the checkpoint's budget, "
                                   "cost, queries and metrics. bundle: a zip of every run with "
                                   "its metadata, for 'palbench import'.")
    _store_arg(p)
    p.add_argument("--format", choices=("csv", "parquet", "bundle"), default="csv")
    p.add_argument("--out", required=True, metavar="FILE", help="file to write")
    p.set_defaults(handler=cmd_export)


def add_import(sub) -> None:
    p = sub.add_parser("import", help="add the runs of a bundle to the store",
                       description="Add a bundle's runs (from 'palbench export --format "
                                   "bundle') that the store lacks; importing twice adds "
                                   "nothing twice.")
    p.add_argument("bundle", help="bundle file (.zip)")
    _store_arg(p)
    p.set_defaults(handler=cmd_import)


def add_report(sub) -> None:
    p = sub.add_parser("report", help="index.html, leaderboard.md and plots",
                       description="Plots and a leaderboard from the store: one panel per "
                                   "dataset x oracle x costs x learner, one line per strategy "
                                   "(or per --hue). Each cell and seed counts once (the newest "
                                   "run when tags or versions repeat it).")
    _store_arg(p)
    p.add_argument("--out", required=True, metavar="DIR", help="folder to write into")
    p.add_argument("--metric", choices=REPORT_METRICS, default="task_acc",
                   help="task_acc: the learner trained on acquired answers (default); "
                        "probe_acc: linear probe of its representation on all labels")
    p.add_argument("--hue", choices=PANEL_FIELDS, default="strategy",
                   help="which field the lines (and the rank plot) compare")
    p.add_argument("--panels", metavar="KEYS", type=panel_list,
                   help="comma-separated fields that make the panels, e.g. 'dataset,oracle'; "
                        "lines are then the combinations of the other fields that vary "
                        "(overrides --hue)")
    p.add_argument("--experiment", metavar="NAME", help="only the runs of this [experiment] "
                                                        "name")
    p.add_argument("--baseline", default="random", metavar="STRATEGY",
                   help="the strategy every other one is tested against, paired over seeds "
                        "(default random; e.g. margin to ask 'is mine better than margin?')")
    p.add_argument("--rank-blocks", choices=("panel", "seed"), default="panel",
                   help="what the rank test blocks on: a panel (default), or each seed of a "
                        "panel (many seeds on few data sets)")
    p.add_argument("--published", metavar="CSV",
                   help="a published table to set beside the runs (columns dataset, strategy, "
                        "source_name, statistic = aulc | mean_acc | final, mean, std, n; see "
                        "configs/literature/)")
    p.add_argument("--mistake-cost", type=float, metavar="C",
                   help="price each stopping criterion's stop by Pullar-Strecker et al.'s cost "
                        "model: cost spent + C x test error (C: a mistake's price times the "
                        "predictions the model will make), beside the run's cost-optimal "
                        "checkpoint")
    p.set_defaults(handler=cmd_report)


def add_bench(sub) -> None:
    from palbench.perf import BENCHMARKS

    p = sub.add_parser(
        "bench", help="performance benchmarks (figures printed, nothing asserted)",
        description="Run one benchmark of palbench.perf; arguments after its name go to it "
                    "('palbench bench NAME --help' lists them).\n\n" + "\n".join(
                        f"  {name:<10} {text}" for name, (_, text) in BENCHMARKS.items()),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("benchmark", choices=list(BENCHMARKS), metavar="NAME",
                   help=", ".join(BENCHMARKS))
    p.add_argument("args", nargs=argparse.REMAINDER, help="the benchmark's own arguments")
    p.set_defaults(handler=cmd_bench)


COMMANDS = (add_run, add_demo, add_check, add_compare, add_list, add_export, add_import,
            add_report, add_robustness, add_bench, add_verify)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="palbench",
        description="Benchmark active-learning query strategies against simulated annotators: "
                    "accuracy versus annotation cost, stored in a versioned SQLite results store.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Start with 'palbench demo'. Store location: --store PATH, else $PALBENCH_STORE, "
               "else ./palbench.sqlite.\nExit status: 0 done; 1 a claim or comparison failed, "
               "or a component raised (its frames are shown; --traceback: all frames); 2 bad "
               "input (one line naming the field); 130 interrupted.")
    parser.add_argument("--version", action="version", version=f"palbench {__version__}")
    parser.add_argument("--traceback", action="store_true",
                        help="when a component raises, print the whole traceback (default: "
                             "the component's own frames)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in COMMANDS:
        add(sub)
    return parser


# The exit status of each error palbench raises, mapped here only (docs/troubleshooting.md
# lists it): 2 the input (config, store, a learner's parameters), 1 a bug or a lost worker.
EXIT_CODES = {ConfigError: 2, StoreError: 2, TrainingDiverged: 2, ComponentError: 1,
              ContractError: 1, WorkerDied: 1, PalbenchError: 1}


def exit_code(exc: PalbenchError) -> int:
    """The status of the nearest type in EXIT_CODES (a subclass exits as its base)."""
    return next(EXIT_CODES[kind] for kind in type(exc).__mro__ if kind in EXIT_CODES)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except ComponentError as exc:
        shown = exc.traceback if args.traceback else exc.frames
        print(f"palbench: error: {exc.summary}. Finished runs are stored; run again to "
              "resume.", file=sys.stderr)
        if shown:
            print(("Traceback (most recent call last):\n" if not args.traceback else "") +
                  shown.rstrip("\n") + ("" if args.traceback else
                                         "\n(palbench --traceback ... shows every frame)"),
                  file=sys.stderr)
        return exit_code(exc)
    except PalbenchError as exc:
        print(f"palbench: error: {exc}", file=sys.stderr)
        return exit_code(exc)
    except KeyboardInterrupt:
        print("palbench: interrupted. Run the same command again to resume: complete runs are "
              "skipped.", file=sys.stderr)
        return 130
