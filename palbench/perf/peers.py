"""palbench side by side with scikit-activeml 1.0.1 and modAL 0.4.2.1 (pip install
'palbench[peers]').

    python -m palbench.perf.peers [--dataset digits|fashion_mnist] [--n 60000]
        [--strategies random,margin,entropy] [--budgets 20,40,80,160,320] [--batch 10]
        [--seeds 0,1,2,3,4] [--repeat 5]

Every framework gets the same pool and test split, the same scikit-learn learner
(LogisticRegression(max_iter=1000)), the same strategy, batch size and budgets, and the same
seeds; the first batch of an uncertainty strategy is drawn at random in all three (palbench's
cold start). Each peer runs the loop its documentation shows, with no avoidable refit:
scikit-activeml fits at checkpoints and lets `query` refit only when labels changed since;
modAL's ActiveLearner refits in `teach`, as it must. palbench runs exactly what
`palbench run` runs (`run_cell`, one thread, the run written to a throwaway SQLite store).
Everything is pinned to one BLAS thread.

Timing: `--repeat` rounds, the frameworks interleaved in a rotating order in this one process;
a round's time for a framework is the sum over seeds. Printed: the median ratio palbench / peer
per strategy, and the accuracy agreement: per budget, mean accuracy over seeds with Student-t
95% intervals, and the palbench - peer difference of AULC with a Welch 95% interval.

`--processes N` then times whole processes, as a user feels them: `palbench run CONFIG` (serial
and with `--workers 2`) against a script per peer that imports only its library and
scikit-learn, prepares the same split and runs the same loop as above (the very functions of
this module, copied into the script), for every strategy and seed; N interleaved rounds in a
rotating order, median per command, ratio palbench / faster peer. Budgets then go up one batch
at a time (a checkpoint, hence a refit, every round), as in "retrain each round".
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from scipy import stats
from sklearn.linear_model import LogisticRegression

from palbench.bench.config import plan_from_raw
from palbench.bench.loop import run_cell
from palbench.bench.threads import single_threaded
from palbench.perf import dataset_table
from palbench.reports.metrics import aulc
from palbench.reports.stats import mean_ci
from palbench.results.store import ResultsStore

ESTIMATOR = {"max_iter": 1000}
FRAMEWORKS = ("palbench", "scikit-activeml", "modAL")


def steps(budgets: list[int], batch: int):
    """(batch size, checkpoint reached?) for labelling one batch at a time up to each budget,
    as palbench's loop sizes them."""
    labelled = 0
    for budget in budgets:
        while labelled < budget:
            k = min(batch, budget - labelled)
            labelled += k
            yield k, labelled == budget


def run_palbench(cell, data, store) -> list[float]:
    result = run_cell(cell, data)
    store.write_run(result)
    return [c.task_acc for c in result.checkpoints]


def run_skactiveml(data, strategy: str, seed: int, budgets, batch) -> list[float]:
    from skactiveml.classifier import SklearnClassifier
    from skactiveml.pool import RandomSampling, UncertaintySampling
    from skactiveml.utils import MISSING_LABEL

    classes = np.arange(data.n_classes)
    clf = SklearnClassifier(LogisticRegression(**ESTIMATOR), classes=classes, random_state=seed)
    first = RandomSampling(random_state=seed)
    method = {"margin": "margin_sampling", "entropy": "entropy",
              "least_confident": "least_confident"}.get(strategy)
    qs = first if method is None else UncertaintySampling(method=method, random_state=seed)
    y = np.full(data.n_pool, MISSING_LABEL)
    accuracies, fitted = [], False
    for k, checkpoint in steps(budgets, batch):
        if method is None or np.isnan(y).all():
            idx = first.query(X=data.X, y=y, batch_size=k)
        else:
            idx = qs.query(X=data.X, y=y, clf=clf, fit_clf=not fitted, batch_size=k)
        y[idx] = data.y[idx]
        fitted = False
        if checkpoint:
            clf.fit(data.X, y)
            fitted = True
            accuracies.append(float((clf.predict(data.X_test) == data.y_test).mean()))
    return accuracies


def modal_compat() -> None:
    """modAL 0.4.2.1 calls check_X_y(force_all_finite=...), an argument scikit-learn 1.6
    renamed ensure_all_finite and 1.8 removed: translate it (no effect on older versions)."""
    import inspect

    import modAL.models.learners as learners
    from sklearn.utils import check_X_y

    if "force_all_finite" in inspect.signature(check_X_y).parameters:
        return

    def compatible_check_X_y(*args, force_all_finite=True, **kwargs):
        return check_X_y(*args, ensure_all_finite=force_all_finite, **kwargs)

    learners.check_X_y = compatible_check_X_y


def run_modal(data, strategy: str, seed: int, budgets, batch) -> list[float]:
    from modAL.models import ActiveLearner
    from modAL.uncertainty import entropy_sampling, margin_sampling, uncertainty_sampling

    modal_compat()
    rng = np.random.default_rng(seed)

    def random_sampling(classifier, X_pool, n_instances=1):
        return rng.choice(len(X_pool), size=n_instances, replace=False)

    query = {"margin": margin_sampling, "entropy": entropy_sampling,
             "least_confident": uncertainty_sampling}.get(strategy, random_sampling)
    pool = np.arange(data.n_pool)
    learner, accuracies = None, []
    for k, checkpoint in steps(budgets, batch):
        if learner is None:  # cold start: a random first batch trains the first model
            picked = rng.choice(len(pool), size=k, replace=False)
            learner = ActiveLearner(estimator=LogisticRegression(**ESTIMATOR),
                                    query_strategy=query, X_training=data.X[pool[picked]],
                                    y_training=data.y[pool[picked]])
        else:
            picked, _ = learner.query(data.X[pool], n_instances=k)
            learner.teach(data.X[pool[picked]], data.y[pool[picked]])
        pool = np.delete(pool, picked)
        if checkpoint:
            accuracies.append(float(learner.score(data.X_test, data.y_test)))
    return accuracies


def build_plan(dataset: str, strategies, budgets, batch, seeds, n: int = 60000):
    table = dataset_table(dataset, n)
    return plan_from_raw({
        "experiment": {"name": "peers", "seeds": seeds, "budgets": budgets,
                       "batch_size": batch},
        "dataset": table, "strategy": [{"name": s} for s in strategies],
        "oracle": {"name": "exact"},
        "learner": {"name": "sklearn", "estimator": "sklearn.linear_model.LogisticRegression",
                    "params": ESTIMATOR}})


def one_round(framework, plan, data, strategies, seeds, budgets, batch, store):
    """Seconds per strategy (summed over seeds) and accuracy curves per (strategy, seed)."""
    seconds, curves = {}, {}
    for strategy in strategies:
        t0 = time.perf_counter()
        for seed in seeds:
            if framework == "palbench":
                cell = next(c for c in plan.cells
                            if c.strategy.label == strategy and c.seed == seed)
                curves[strategy, seed] = run_palbench(cell, data, store)
            elif framework == "scikit-activeml":
                curves[strategy, seed] = run_skactiveml(data, strategy, seed, budgets, batch)
            else:
                curves[strategy, seed] = run_modal(data, strategy, seed, budgets, batch)
        seconds[strategy] = time.perf_counter() - t0
    return seconds, curves


def welch_diff(a, b, level=0.95) -> tuple[float, float, float]:
    a, b = np.asarray(a, float), np.asarray(b, float)
    diff = a.mean() - b.mean()
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    se = np.sqrt(va + vb)
    if se == 0:
        return diff, diff, diff
    dof = (va + vb) ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1))
    half = stats.t.ppf(0.5 + level / 2, dof) * se
    return diff, diff - half, diff + half


def report(times, curves, strategies, seeds, budgets):
    print("\nwall time, median over rounds (ratio = palbench / peer; < 1: palbench faster)")
    print(f"{'strategy':<10} {'palbench':>9} {'skactiveml':>11} {'modAL':>9} "
          f"{'vs skactiveml':>14} {'vs modAL':>9} {'vs faster peer':>15}")
    for s in strategies:
        med = {f: statistics.median(t[s] for t in times[f]) for f in FRAMEWORKS}
        ratios = {f: statistics.median(p[s] / t[s] for p, t in zip(times["palbench"], times[f]))
                  for f in FRAMEWORKS[1:]}
        faster = min(FRAMEWORKS[1:], key=lambda f: med[f])
        print(f"{s:<10} {med['palbench']:>8.2f}s {med['scikit-activeml']:>10.2f}s "
              f"{med['modAL']:>8.2f}s {ratios['scikit-activeml']:>13.2f}x "
              f"{ratios['modAL']:>8.2f}x {ratios[faster]:>10.2f}x ({faster})")
    print("\naccuracy: mean over seeds [95% t-interval] per budget; AULC difference "
          "palbench - peer [Welch 95%]")
    for s in strategies:
        for f in FRAMEWORKS:
            cells = []
            for i in range(len(budgets)):
                mean, lo, hi = mean_ci([curves[f][s, seed][i] for seed in seeds])
                cells.append(f"{mean:.3f} [{lo:.3f}, {hi:.3f}]")
            print(f"{s:<10} {f:<16} " + "  ".join(cells))
        pal = [aulc(np.array(budgets), curves["palbench"][s, seed]) for seed in seeds]
        for f in FRAMEWORKS[1:]:
            peer = [aulc(np.array(budgets), curves[f][s, seed]) for seed in seeds]
            diff, lo, hi = welch_diff(pal, peer)
            verdict = "agree" if lo <= 0 <= hi else "DIFFER"
            print(f"{s:<10} AULC palbench - {f}: {diff:+.4f} [{lo:+.4f}, {hi:+.4f}] {verdict}")


PEER_SCRIPT = """
import sys, time
import numpy as np
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from types import SimpleNamespace

ESTIMATOR = {estimator!r}
{functions}

def digits():
    d = load_digits()
    X, X_test, y, y_test = train_test_split(d.data, d.target, test_size={test_size},
                                            stratify=d.target, random_state=0)
    mean, std = X.mean(axis=0), X.std(axis=0)
    std[std == 0] = 1.0
    return SimpleNamespace(X=((X - mean) / std).astype(np.float32), y=y,
                           X_test=((X_test - mean) / std).astype(np.float32), y_test=y_test,
                           n_pool=len(y), n_classes=10)

data = digits()
final = [{runner}(data, strategy, seed, {budgets!r}, {batch})[-1]
         for strategy in {strategies!r} for seed in {seeds!r}]
print(f"mean final accuracy {{np.mean(final):.4f}}")
"""


def peer_script(framework: str, strategies, budgets, batch, seeds) -> str:
    """A standalone script running the peer's loop of this module: it imports neither palbench
    nor anything palbench imports beyond scikit-learn and the peer."""
    import inspect

    runner = {"scikit-activeml": run_skactiveml, "modAL": run_modal}[framework]
    parts = [steps, runner] + ([modal_compat] if framework == "modAL" else [])
    test_size = round(0.25 * 1797)  # palbench's digits: test_fraction 0.25, split_seed 0
    return PEER_SCRIPT.format(estimator=ESTIMATOR, runner=runner.__name__, budgets=budgets,
                              test_size=test_size,
                              batch=batch, strategies=list(strategies), seeds=list(seeds),
                              functions="\n\n".join(inspect.getsource(f) for f in parts))


def whole_processes(strategies, budgets, batch, seeds, rounds: int) -> dict[str, float]:
    """Median wall seconds of each command over interleaved rounds (see the module doc)."""
    import subprocess
    import sys

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        config = tmp / "peers.toml"
        config.write_text(config_toml(strategies, budgets, batch, seeds))
        commands = {}
        for workers in (1, 2):
            commands[f"palbench --workers {workers}"] = [
                sys.executable, "-m", "palbench", "run", str(config), "--quiet", "--workers",
                str(workers), "--store"]
        for framework in FRAMEWORKS[1:]:
            script = tmp / f"peer_{framework.replace('-', '_').lower()}.py"  # not the package
            script.write_text(peer_script(framework, strategies, budgets, batch, seeds))
            commands[framework] = [sys.executable, str(script)]
        names = list(commands)
        times: dict[str, list[float]] = {n: [] for n in names}
        accuracy: dict[str, float] = {}
        for r in range(rounds):
            for name in names[r % len(names):] + names[:r % len(names)]:
                argv = commands[name] + ([str(tmp / f"r{r}-{len(times[name])}.sqlite")]
                                         if name.startswith("palbench") else [])
                t0 = time.perf_counter()
                done = subprocess.run(argv, capture_output=True, text=True)
                times[name].append(time.perf_counter() - t0)
                if done.returncode:
                    raise SystemExit(f"{name} failed: {done.stderr[-2000:]}")
                accuracy[name] = final_accuracy(done.stdout, argv[-1])
            print(f"process round {r + 1}/{rounds}: " + ", ".join(
                f"{n} {times[n][-1]:.2f}s" for n in names), flush=True)
    print("mean final accuracy of the last round (the same work done): " + ", ".join(
        f"{n} {a:.4f}" for n, a in accuracy.items()))
    return {n: statistics.median(t) for n, t in times.items()}


def final_accuracy(stdout: str, store: str) -> float:
    """A peer script prints it; palbench's is read from the store it wrote."""
    import re
    import sqlite3

    found = re.search(r"mean final accuracy ([\d.]+)", stdout)
    if found:
        return float(found.group(1))
    with sqlite3.connect(store) as conn:
        return conn.execute("SELECT AVG(task_acc) FROM checkpoints WHERE budget = "
                            "(SELECT MAX(budget) FROM checkpoints)").fetchone()[0]


def config_toml(strategies, budgets, batch, seeds) -> str:
    return (f'[experiment]\nname = "peers"\nseeds = {list(seeds)}\nbudgets = {list(budgets)}\n'
            f'batch_size = {batch}\nprobe = false\n[dataset]\nname = "digits"\n' +
            "".join(f'[[strategy]]\nname = "{s}"\n' for s in strategies) +
            '[oracle]\nname = "exact"\n[learner]\nname = "sklearn"\n'
            'estimator = "sklearn.linear_model.LogisticRegression"\n'
            f'params = {{ max_iter = {ESTIMATOR["max_iter"]} }}\n')


def report_processes(medians: dict[str, float]) -> None:
    faster = min(FRAMEWORKS[1:], key=lambda f: medians[f])
    print("\nwhole processes, median wall seconds (ratio = palbench / faster peer, "
          f"{faster}; < 1: palbench faster)")
    for name, seconds in medians.items():
        ratio = f"{seconds / medians[faster]:.2f}x" if name.startswith("palbench") else ""
        print(f"{name:<20} {seconds:>7.2f}s {ratio:>7}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="digits", choices=("digits", "fashion_mnist"))
    parser.add_argument("--n", type=int, default=60000, help="pool size (fashion_mnist)")
    parser.add_argument("--strategies", default="random,margin,entropy")
    parser.add_argument("--budgets", default="20,40,80,160,320")
    parser.add_argument("--batch", type=int, default=10)
    parser.add_argument("--seeds", default="0,1,2,3,4")
    parser.add_argument("--repeat", type=int, default=5, help="interleaved timing rounds")
    parser.add_argument("--processes", type=int, default=0, metavar="N",
                        help="also time whole processes over N interleaved rounds (digits); "
                             "budgets then go up one batch at a time")
    args = parser.parse_args(argv)
    strategies = args.strategies.split(",")
    budgets = [int(b) for b in args.budgets.split(",")]
    seeds = [int(s) for s in args.seeds.split(",")]
    plan = build_plan(args.dataset, strategies, budgets, args.batch, seeds, args.n)
    data = next(iter(plan.datasets.values()))
    print(f"{args.dataset}: pool {data.n_pool:,} x {data.X.shape[1]}, test {len(data.y_test)}; "
          f"LogisticRegression({ESTIMATOR}); budgets {budgets}, batch {args.batch}, seeds "
          f"{seeds}; {args.repeat} interleaved rounds, one thread")
    times = {f: [] for f in FRAMEWORKS}
    curves = {}
    with tempfile.TemporaryDirectory() as tmp, ResultsStore(Path(tmp) / "p.sqlite") as store, \
            single_threaded():
        for r in range(args.repeat):
            order = FRAMEWORKS[r % 3:] + FRAMEWORKS[:r % 3]
            for framework in order:
                seconds, curves[framework] = one_round(framework, plan, data, strategies,
                                                       seeds, budgets, args.batch, store)
                times[framework].append(seconds)
            print(f"round {r + 1}/{args.repeat}: " + ", ".join(
                f"{f} {sum(times[f][-1].values()):.2f}s" for f in FRAMEWORKS), flush=True)
    report(times, curves, strategies, seeds, budgets)
    if args.processes:
        if args.dataset != "digits":
            raise SystemExit("--processes times the digits experiment only")
        every_round = list(range(args.batch, budgets[-1] + 1, args.batch))
        report_processes(whole_processes(strategies, every_round, args.batch, seeds,
                                         args.processes))


if __name__ == "__main__":
    main()
