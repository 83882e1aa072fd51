"""Harness overhead: the share of a run's wall time spent outside learner training.

    python -m palbench.perf.overhead [--dataset digits|fashion_mnist] [--n 60000]
        [--strategies random,margin] [--budgets 100,200,400] [--batch 50] [--seeds 0]
        [--no-probe]

Runs real cells (torch `mlp` learner, exact oracle) exactly as `palbench run` does, writes each
into a throwaway results store, and splits the wall time into learner training, the strategy's
selection, evaluation (test predictions and, unless --no-probe, the linear probe), the store
write and the rest (oracle, graph, ledger, contract checks, setup). "Outside training" is
everything but training; "bookkeeping" is the part the harness itself adds (everything but
training, selection and evaluation).
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

from palbench.bench.config import plan_from_raw
from palbench.bench.loop import run_cell
from palbench.perf import dataset_table
from palbench.results.store import ResultsStore


def plan_for(dataset: str, n: int, strategies: list[str], budgets: list[int], batch: int,
             seeds: list[int], probe: bool = True):
    table = dataset_table(dataset, n)
    return plan_from_raw({
        "experiment": {"name": "overhead", "seeds": seeds, "budgets": budgets,
                       "batch_size": batch, "probe": probe},
        "dataset": table, "strategy": [{"name": s} for s in strategies],
        "oracle": {"name": "exact"}, "learner": {"name": "mlp", "device": "cpu"}})


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=("digits", "fashion_mnist", "breast_cancer",
                                              "wine", "iris"),
                        help="default digits; breast_cancer with --versus-hand-loop")
    parser.add_argument("--n", type=int, default=60000, help="pool size (fashion_mnist)")
    parser.add_argument("--strategies", default="random,margin")
    parser.add_argument("--budgets", default="100,200,400")
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--seeds", default="0")
    parser.add_argument("--no-probe", action="store_true",
                        help="evaluate task accuracy only (the linear probe is an extra metric)")
    parser.add_argument("--versus-hand-loop", action="store_true",
                        help="time a whole `palbench run` against a hand-written scikit-learn "
                             "loop doing the same work (margin, logistic regression, batch 1, "
                             "to the whole pool); --dataset breast_cancer, wine, iris or digits")
    parser.add_argument("--repeats", type=int, default=3, help="with --versus-hand-loop")
    args = parser.parse_args(argv)
    if args.versus_hand_loop:
        from palbench.perf.hand_loop import compare

        compare(args.dataset or "breast_cancer", args.repeats)
        return
    args.dataset = args.dataset or "digits"
    plan = plan_for(args.dataset, args.n, args.strategies.split(","),
                    [int(b) for b in args.budgets.split(",")], args.batch,
                    [int(s) for s in args.seeds.split(",")], probe=not args.no_probe)
    data = next(iter(plan.datasets.values()))
    print(f"{args.dataset}: pool {data.n_pool:,} x {data.X.shape[1]}, test {len(data.y_test):,}; "
          f"budgets {args.budgets}, batch {args.batch}; mlp on cpu, one thread; linear probe "
          f"{'off' if args.no_probe else 'on'}")
    print(f"{'strategy':<10} {'wall s':>7} {'train':>7} {'select':>7} {'eval':>7} {'store':>7} "
          f"{'rest':>7} {'outside training':>17} {'bookkeeping':>12}")
    with tempfile.TemporaryDirectory() as tmp, ResultsStore(Path(tmp) / "o.sqlite") as store:
        for cell in plan.cells:
            t0 = time.perf_counter()
            result = run_cell(cell, data)
            t1 = time.perf_counter()
            store.write_run(result)
            wall = time.perf_counter() - t0
            store_s = wall - (t1 - t0)
            train = sum(c.fit_seconds for c in result.checkpoints)
            select = sum(c.select_seconds for c in result.checkpoints)
            evaluate = sum(c.eval_seconds for c in result.checkpoints)
            rest = wall - train - select - evaluate - store_s
            print(f"{cell.strategy.label:<10} {wall:>7.3f} {train:>7.3f} {select:>7.3f} "
                  f"{evaluate:>7.3f} {store_s:>7.3f} {rest:>7.3f} "
                  f"{(wall - train) / wall:>16.1%} {(rest + store_s) / wall:>11.1%}", flush=True)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of this process: {peak:,.0f} MiB")


if __name__ == "__main__":
    main()
