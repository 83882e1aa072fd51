"""Command line: one handler per command, each reading its arguments (parsed by cli_parsers.py)
and calling what the Python API calls too (palbench.api.run, palbench.api.report), and main.

Exit status: 0 done; 1 a claim or comparison failed, or a component raised (a bug in its
code: one line naming the component and the run, then the component's own traceback frames;
`--traceback` prints the whole traceback); 2 bad input (one line on stderr naming the field);
130 interrupted. Heavy libraries are imported inside the handlers that use them, so `palbench
--help` and a scikit-learn-only run start fast.
"""

from __future__ import annotations

import argparse
import sys
from functools import partial
from pathlib import Path

from palbench import cli_parsers
from palbench.errors import (
    ComponentError,
    ConfigError,
    ContractError,
    PalbenchError,
    StoreError,
    TrainingDiverged,
    WorkerDied,
)


def positive_workers(n: int) -> int:
    """--workers, checked here so that the message names the flag (palbench.run: `workers`)."""
    if n < 1:
        raise ConfigError("--workers", n, "must be at least 1")
    return n


def flag(name: str) -> str:
    """An option as the command line spells it: mistake_cost -> --mistake-cost."""
    return "--" + name.replace("_", "-")


def open_store(store_arg, mode: str = "write"):
    """The store to write into (import, robustness, check's missing cells) or to read (every
    other command: never written, read-only media included); run and demo open theirs in
    palbench.api.run."""
    from palbench.results.connection import store_path
    from palbench.results.store import ResultsStore

    return ResultsStore(store_path(store_arg), mode=mode)


def print_summary(results) -> int:
    """A run's summary line (or, interrupted, what was kept and how to resume); its status."""
    summary = results.summary
    if summary.interrupted:
        print(f"palbench: interrupted; {summary.written} finished runs are in {results.store}. "
              "Run the same command again to resume: complete runs are skipped.",
              file=sys.stderr)
        return 130
    print(summary.line(results.store))
    return 0


def cmd_run(args) -> int:
    from palbench.api import run

    if args.address and args.executor != "ray":
        raise ConfigError("--address", args.address, "only with --executor ray")
    results = run(args.config, store=args.store, workers=positive_workers(args.workers),
                  force=args.force, tag=args.tag, executor=args.executor, address=args.address,
                  progress=not args.quiet, verbose=args.verbose, batch_cells=args.batch_cells)
    return print_summary(results)


def cmd_robustness(args) -> int:
    from palbench.bench.session import check_before_store
    from palbench.bench.study import prepare_study, run_study
    from palbench.reports.robustness import analyse, load_study
    from palbench.reports.robustness_report import reading, write_robustness

    workers = positive_workers(args.workers)
    name, plans = prepare_study(args.config, args.vary, study=args.study,
                                one_at_a_time=args.one_at_a_time)
    for _, plan in plans:
        check_before_store(plan, workers=workers)
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


def cmd_demo(args) -> int:
    from palbench.api import run

    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    print(f"palbench demo: {cli_parsers.demo_summary()}; {args.workers} workers")
    store = out_dir / "results.sqlite"
    results = run(cli_parsers.demo_config(), store=store, workers=positive_workers(args.workers),
                  progress=not args.quiet)
    code = print_summary(results)
    if code:
        return code
    print_report(store, out_dir)
    print(f"palbench demo: report in {out_dir / 'index.html'} (and leaderboard.md, "
          "curves.png)")
    return 0


def cmd_check(args) -> int:
    from palbench.bench.session import run_missing_cells
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

    from palbench.kinds import kind_of_plural
    from palbench.reference import parameters, summary

    registry = kind_of_plural(args.kind).registry_object()
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


def print_report(store, out, **options) -> None:
    """Write the store's report (palbench.api.report, options named by their flags in any
    message) and print the files written and the report's one-line reading."""
    from palbench.api import report

    written = report(store, out, spell=flag, **options)
    print("palbench: wrote " + ", ".join(str(p) for p in written.paths))
    print(written.reading)


def cmd_report(args) -> int:
    print_report(args.store, args.out, metric=args.metric, hue=args.hue, panels=args.panels,
                 experiment=args.experiment, rank_blocks=args.rank_blocks,
                 baseline=args.baseline, published=args.published,
                 mistake_cost=args.mistake_cost)
    return 0


def cmd_bench(args) -> int:
    import importlib

    from palbench.perf import BENCHMARKS

    module = importlib.import_module(BENCHMARKS[args.benchmark][0])
    sys.argv[0] = f"palbench bench {args.benchmark}"  # its --help names the command that ran it
    module.main(args.args)
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The command line's parser (cli_parsers.py), each command handed to its handler here."""
    return cli_parsers.build_parser({
        "run": cmd_run, "demo": cmd_demo, "check": cmd_check, "compare": cmd_compare,
        "list": cmd_list, "export": cmd_export, "import": cmd_import, "report": cmd_report,
        "robustness": cmd_robustness, "bench": cmd_bench, "verify": cmd_verify})


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
