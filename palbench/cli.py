"""Command line: parse and dispatch only. Bad input -> one line on stderr, exit status 2."""

from __future__ import annotations

import argparse
import os
import sys
from importlib.resources import files
from pathlib import Path

from palbench import __version__
from palbench.errors import ConfigError

KINDS = ("datasets", "strategies", "oracles", "learners")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="palbench",
        description="Benchmark active-learning query strategies against simulated annotators: "
                    "accuracy versus annotation cost, stored in a versioned SQLite results store.",
        epilog="Start with 'palbench demo'. Store location: --store PATH, else $PALBENCH_STORE, "
               "else ./palbench.sqlite.")
    parser.add_argument("--version", action="version", version=f"palbench {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def store_arg(p):
        p.add_argument("--store", metavar="PATH",
                       help="results store (SQLite file); default $PALBENCH_STORE or "
                            "./palbench.sqlite")

    run = sub.add_parser("run", help="run every cell of a config's grid into the store",
                         description="Run the grid dataset x strategy x oracle x costs x learner "
                                     "x seed of a TOML config. Cells already complete in the "
                                     "store are skipped, so an interrupted run resumes.")
    run.add_argument("config", help="TOML config file (see README: Config format)")
    store_arg(run)
    run.add_argument("--workers", type=int, default=1, metavar="N",
                     help="parallel worker processes (or local Ray CPUs), one cell each "
                          "(default 1)")
    run.add_argument("--executor", choices=("local", "ray"), default="local",
                     help="local: this machine's process pool; ray: one Ray task per cell "
                          "(pip install 'palbench[ray]')")
    run.add_argument("--address", metavar="ADDR",
                     help="Ray cluster to join (default: start a local one on 127.0.0.1)")
    run.add_argument("--force", action="store_true",
                     help="re-run cells that are already complete, replacing their rows")
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    run.add_argument("--tag", help="label these results (e.g. a branch or a baseline); runs of "
                                   "another tag or palbench version are kept side by side")

    demo = sub.add_parser("demo", help="the built-in benchmark on digits, with a report",
                          description="Run random, margin and graph_coverage on scikit-learn's "
                                      "digits with a 10%%-noise annotator and the mlp learner, "
                                      "3 seeds; write the store and the report to --out.")
    demo.add_argument("--out", default="palbench-demo", metavar="DIR",
                      help="folder for results.sqlite, curves.png, leaderboard.md "
                           "(default ./palbench-demo)")
    demo.add_argument("--workers", type=int, default=os.cpu_count() or 1, metavar="N",
                      help="parallel worker processes (default: all cores)")
    demo.add_argument("--quiet", action="store_true", help="no progress bar")

    checker = sub.add_parser(
        "check", help="check annotation-cost claims against the store (exit 1 on a failure)",
        description="Evaluate each [[claim]] of a TOML file against the store: one PASS/FAIL "
                    "line per claim with the measured value, its bootstrap interval over seeds "
                    "and the bound. Cells missing from the store are run from each claim's "
                    "config first (--no-run: never). Exit 0: all pass; 1: a claim fails; "
                    "2: a bad file.")
    checker.add_argument("claims", help="TOML file of [[claim]] tables (see README: Claims)")
    store_arg(checker)
    checker.add_argument("--no-run", action="store_true", help="never run missing cells")
    checker.add_argument("--junit", metavar="FILE", help="also write JUnit XML to FILE")
    checker.add_argument("--workers", type=int, default=1, metavar="N",
                         help="worker processes for missing cells (default 1)")

    comparer = sub.add_parser(
        "compare", help="compare two tags or palbench versions cell by cell",
        description="Per dataset x oracle x costs x learner x strategy: the candidate's change "
                    "in final accuracy, AULC and cost to reach --target, paired over shared "
                    "seeds with bootstrap 95%% intervals; significant regressions are flagged.")
    store_arg(comparer)
    comparer.add_argument("--baseline", required=True, metavar="TAG_OR_VERSION")
    comparer.add_argument("--candidate", required=True, metavar="TAG_OR_VERSION")
    comparer.add_argument("--target", type=float, default=0.9,
                          help="accuracy for cost-to-reach (default 0.9)")
    comparer.add_argument("--fail-on-regression", action="store_true",
                          help="exit 1 when any regression is flagged")

    lister = sub.add_parser("list", help="list the registered components of one kind")
    lister.add_argument("kind", choices=KINDS)

    export = sub.add_parser("export", help="export checkpoint rows, or a bundle to share",
                            description="csv / parquet: one row per checkpoint with the columns "
                                        "run_id, dataset, strategy, oracle, learner, seed, "
                                        "budget, cost, n_queries, task_acc, probe_acc. bundle: "
                                        "a zip of every run with its metadata, for "
                                        "'palbench import'.")
    store_arg(export)
    export.add_argument("--format", choices=("csv", "parquet", "bundle"), default="csv")
    export.add_argument("--out", required=True, metavar="FILE", help="file to write")

    importer = sub.add_parser("import", help="add the runs of a bundle to the store",
                              description="Add a bundle's runs (from 'palbench export --format "
                                          "bundle') that the store lacks; importing twice adds "
                                          "nothing twice.")
    importer.add_argument("bundle", help="bundle file (.zip)")
    store_arg(importer)

    report = sub.add_parser("report", help="index.html, leaderboard.md and plots",
                            description="Plots and a leaderboard from the store: one panel per "
                                        "dataset x oracle x costs x learner, one line per "
                                        "strategy (or per --hue).")
    store_arg(report)
    report.add_argument("--out", required=True, metavar="DIR", help="folder to write into")
    report.add_argument("--metric", choices=("task_acc", "probe_acc"), default="task_acc",
                        help="task_acc: the learner trained on acquired answers (default); "
                             "probe_acc: linear probe of its representation on all labels")
    report.add_argument("--hue", choices=("strategy", "learner", "oracle", "dataset", "costs"),
                        default="strategy", help="which field the lines compare")
    report.add_argument("--panels", metavar="KEYS", type=panel_list,
                        help="comma-separated fields that make the panels, e.g. "
                             "'dataset,oracle'; lines are then the combinations of the other "
                             "fields that vary (overrides --hue)")
    report.add_argument("--experiment", metavar="NAME",
                        help="only the runs of this [experiment] name")
    from palbench.perf import BENCHMARKS

    bench = sub.add_parser(
        "bench", help="performance benchmarks (figures printed, nothing asserted)",
        description="Run one benchmark of palbench.perf; arguments after its name go to "
                    "it ('palbench bench NAME --help' lists them).\n\n" + "\n".join(
                        f"  {name:<10} {text}" for name, (_, text) in BENCHMARKS.items()),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    bench.add_argument("benchmark", choices=list(BENCHMARKS), metavar="NAME",
                       help=", ".join(BENCHMARKS))
    bench.add_argument("args", nargs=argparse.REMAINDER, help="the benchmark's own arguments")
    return parser


PANEL_FIELDS = ("dataset", "oracle", "costs", "learner", "strategy")


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


def do_run(config_path, store_arg, workers, force, quiet, raw=None, base_dir=None,
           tag=None, executor="local", address=None) -> int:
    from tqdm import tqdm

    from palbench.bench.config import load_plan, plan_from_raw
    from palbench.bench.executors import run_cells, run_cells_ray
    from palbench.results.store import ResultsStore, store_path

    workers = positive_workers(workers)
    plan = plan_from_raw(raw, base_dir) if raw is not None else load_plan(config_path)
    path = store_path(store_arg)
    with ResultsStore(path) as store:
        done = set() if force else store.complete_hashes(tag)
        todo = [c for c in plan.cells if c.spec_hash() not in done]
        skipped = len(plan.cells) - len(todo)
        if skipped:
            print(f"palbench: {skipped} of {len(plan.cells)} runs already complete in {path}; "
                  "skipping them (--force re-runs)", file=sys.stderr)
        written = 0
        bar = tqdm(total=len(todo) * len(plan.experiment.budgets), unit="ckpt",
                   desc=f"{plan.experiment.name}: {len(todo)} runs", disable=quiet or None,
                   file=sys.stderr)

        def on_result(result):
            nonlocal written
            store.write_run(result, replace=force, tag=tag)
            written += 1
            bar.set_postfix_str(f"{written}/{len(todo)} runs")

        try:
            if executor == "ray":
                run_cells_ray(todo, workers, on_result, lambda: bar.update(), address)
            else:
                run_cells(todo, plan.datasets, workers, on_result,
                          on_checkpoint=lambda: bar.update())
        except KeyboardInterrupt:
            bar.close()
            print(f"palbench: interrupted; {written} finished runs are in {path}. Run the same "
                  "command again to resume: complete runs are skipped.", file=sys.stderr)
            return 130
        bar.close()
    print(f"palbench: {written} runs written, {skipped} skipped; store: {path}")
    return 0


def do_demo(out, workers, quiet) -> int:
    from palbench.bench.config import read_toml

    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    config = Path(str(files("palbench.bench") / "demo.toml"))
    print(f"palbench demo: digits, strategies random / margin / graph_coverage, noisy annotator "
          f"(10%), mlp learner, 3 seeds, {workers} workers")
    code = do_run(None, str(out_dir / "results.sqlite"), workers, False, quiet,
                  raw=read_toml(config), base_dir=config.parent)
    if code:
        return code
    do_report(str(out_dir / "results.sqlite"), str(out_dir))
    print((out_dir / "leaderboard.md").read_text(encoding="utf-8"))
    return 0


def do_check(claims_path, store_arg, no_run, junit, workers) -> int:
    from palbench.reports.claims import check_claims, load_claims, write_junit
    from palbench.results.store import ResultsStore, store_path

    claims = load_claims(claims_path)
    workers = positive_workers(workers)
    if junit and not Path(junit).resolve().parent.is_dir():
        raise ConfigError("--junit", junit, "its folder does not exist")

    def run_config(path):
        code = do_run(path, store_arg, workers, False, True)
        if code:
            raise KeyboardInterrupt

    path = store_path(store_arg)
    with ResultsStore(path, create=not no_run) as store:
        verdicts = check_claims(claims, store, None if no_run else run_config)
    for verdict in verdicts:
        print(verdict.line)
    if junit:
        write_junit(verdicts, Path(junit))
    failed = sum(not v.passed for v in verdicts)
    print(f"palbench check: {len(verdicts) - failed} passed, {failed} failed")
    return 1 if failed else 0


def do_compare(store_arg, baseline, candidate, target, fail_on_regression) -> int:
    from palbench.reports.compare import compare, markdown

    if not 0 < target <= 1:
        raise ConfigError("--target", target, "must be an accuracy in (0, 1]")
    with open_existing(store_arg) as store:
        frame = store.to_frame()
    table = compare(frame, baseline, candidate, target)
    if table.empty:
        raise ConfigError("--candidate", candidate, f"shares no cell and seed with {baseline!r}")
    print(markdown(table, baseline, candidate, target))
    flagged = int((table["regression"] != "").sum())
    print(f"\npalbench compare: {len(table)} cells, {flagged} with a significant regression")
    return 1 if flagged and fail_on_regression else 0


def do_list(kind: str) -> int:
    from palbench.datasets import DATASETS
    from palbench.learners import LEARNERS
    from palbench.oracles import ORACLES
    from palbench.params import parameter_names
    from palbench.strategies import STRATEGIES

    registry = {"datasets": DATASETS, "strategies": STRATEGIES, "oracles": ORACLES,
                "learners": LEARNERS}[kind]
    for name, cls in registry.items():
        doc = (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""
        params = ", ".join(parameter_names(cls)) or "-"
        print(f"{name:16s} {doc}\n{'':16s} parameters: {params}")
    return 0


def open_existing(store_arg):
    from palbench.results.store import ResultsStore, store_path

    return ResultsStore(store_path(store_arg), create=False)


def do_export(store_arg, out, fmt="csv") -> int:
    from palbench.results.export import export_bundle, export_rows

    with open_existing(store_arg) as store:
        if fmt == "bundle":
            n = export_bundle(store, Path(out))
            print(f"palbench: {n} runs written to {out}")
        else:
            n = export_rows(store, Path(out), fmt)
            print(f"palbench: {n} rows written to {out}")
    return 0


def do_import(bundle, store_arg) -> int:
    from palbench.results.export import import_bundle, read_bundle
    from palbench.results.store import ResultsStore, store_path

    read_bundle(Path(bundle))  # check it before the store is created
    with ResultsStore(store_path(store_arg)) as store:
        added, skipped = import_bundle(store, Path(bundle))
    print(f"palbench: {added} runs imported, {skipped} already in the store")
    return 0


def do_report(store_arg, out, metric="task_acc", hue="strategy", experiment=None,
              panels=None) -> int:
    from palbench.reports.report import write_report

    with open_existing(store_arg) as store:
        frame = store.to_frame(**({"experiment": experiment} if experiment else {}))
        runs = store.runs()
    if frame.empty:
        if experiment:
            raise ConfigError("--experiment", experiment, "no runs of that experiment in the "
                              "store")
        raise ConfigError("store", store_arg, "holds no runs yet; nothing to report")
    if frame[metric].isna().all():
        raise ConfigError("--metric", metric, "no run recorded it (probe_acc needs a learner "
                          "with an embedding and [experiment] probe = true)")
    paths = write_report(frame, Path(out), metric, hue, panels, runs)
    print("palbench: wrote " + ", ".join(str(p) for p in paths))
    return 0


def do_bench(name: str, args: list[str]) -> int:
    import importlib

    from palbench.perf import BENCHMARKS

    module = importlib.import_module(BENCHMARKS[name][0])
    sys.argv[0] = f"palbench bench {name}"  # its --help names the command that ran it
    module.main(args)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "run":
            if args.address and args.executor != "ray":
                raise ConfigError("--address", args.address, "only with --executor ray")
            return do_run(args.config, args.store, args.workers, args.force, args.quiet,
                          tag=args.tag, executor=args.executor, address=args.address)
        if args.command == "demo":
            return do_demo(args.out, args.workers, args.quiet)
        if args.command == "check":
            return do_check(args.claims, args.store, args.no_run, args.junit, args.workers)
        if args.command == "compare":
            return do_compare(args.store, args.baseline, args.candidate, args.target,
                              args.fail_on_regression)
        if args.command == "list":
            return do_list(args.kind)
        if args.command == "export":
            return do_export(args.store, args.out, args.format)
        if args.command == "import":
            return do_import(args.bundle, args.store)
        if args.command == "bench":
            return do_bench(args.benchmark, args.args)
        if args.command == "report":
            return do_report(args.store, args.out, args.metric, args.hue, args.experiment,
                             args.panels)
    except ConfigError as exc:
        print(f"palbench: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("palbench: interrupted before anything was written. Run the same command again "
              "to resume: complete runs are skipped.", file=sys.stderr)
        return 130
    return 2
