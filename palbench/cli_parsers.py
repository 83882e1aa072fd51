"""The command line's grammar: every command, its arguments and its help (what `palbench
--help` shows), built around the handlers that cli.py passes in. Nothing here runs a command;
argparse only reads the words."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from importlib.resources import files
from pathlib import Path

from palbench import __version__
from palbench.kinds import KINDS
from palbench.results.schema import CELL_KEYS, METRICS

PANEL_FIELDS = tuple(CELL_KEYS)  # the fields that name a cell (results/schema.py)
REPORT_METRICS = tuple(METRICS)  # the metric fields of results/schema.py


def panel_list(text: str) -> list[str]:
    """--panels: comma-separated fields of a cell."""
    keys = [k.strip() for k in text.split(",") if k.strip()]
    bad = [k for k in keys if k not in PANEL_FIELDS]
    if bad or not keys:
        raise argparse.ArgumentTypeError(
            f"{bad[0] if bad else text!r} is not a field; choose from {', '.join(PANEL_FIELDS)}")
    return keys


def demo_config() -> Path:
    """The demo's config, shipped inside the package."""
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


def add_list(sub) -> None:
    p = sub.add_parser("list", help="list the registered components of one kind",
                       description="Every registered component of KIND (plugins included) "
                                   "with its summary and parameters; with NAME, each "
                                   "parameter's type, default, whether it enters the spec "
                                   "hash, what it is and the values it takes (the config "
                                   "reference's source).")
    p.add_argument("kind", choices=[kind.plural for kind in KINDS.values()])
    p.add_argument("name", nargs="?", help="one component's name, for its parameters in full")


def add_export(sub) -> None:
    p = sub.add_parser("export", help="export checkpoint rows, or a bundle to share",
                       description="csv / parquet: one row per checkpoint with the run's cell, "
                                   "seed, tag and palbench version and the checkpoint's budget, "
                                   "cost, queries and metrics. bundle: a zip of every run with "
                                   "its metadata, for 'palbench import'.")
    _store_arg(p)
    p.add_argument("--format", choices=("csv", "parquet", "bundle"), default="csv")
    p.add_argument("--out", required=True, metavar="FILE", help="file to write")


def add_import(sub) -> None:
    p = sub.add_parser("import", help="add the runs of a bundle to the store",
                       description="Add a bundle's runs (from 'palbench export --format "
                                   "bundle') that the store lacks; importing twice adds "
                                   "nothing twice.")
    p.add_argument("bundle", help="bundle file (.zip)")
    _store_arg(p)


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
    p.add_argument("--baseline", metavar="STRATEGY",
                   help="the strategy every other one is tested against, paired over seeds, "
                        "one of the store's (default random, when the store holds it; e.g. "
                        "margin to ask 'is mine better than margin?')")
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


COMMANDS = (add_run, add_demo, add_check, add_compare, add_list, add_export, add_import,
            add_report, add_robustness, add_bench, add_verify)


def build_parser(handlers: dict[str, Callable[[argparse.Namespace], int]]) -> \
        argparse.ArgumentParser:
    """Every command's parser, each handing its arguments to handlers[command] (cli.py's
    cmd_*: `args.handler`)."""
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
    for command, p in sub.choices.items():
        p.set_defaults(handler=handlers[command])
    return parser

