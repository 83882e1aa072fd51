"""The same work as a palbench run, written by hand with scikit-learn alone, and the two timed
side by side as whole processes (what a user waits for).

    palbench bench overhead --versus-hand-loop [--dataset breast_cancer] [--repeats 3]

The work: margin sampling with a logistic regression, 20 random initial labels, one sample a
round to the whole pool, the model refitted after every label and evaluated on the test set
at every budget. The hand loop splits and scales as palbench does (stratified 25% test split,
seed 0; standardised on the pool). `python -m palbench.perf.hand_loop DATASET` runs the hand
loop alone.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

LOADERS = {"breast_cancer": "load_breast_cancer", "wine": "load_wine", "iris": "load_iris",
           "digits": "load_digits"}
INITIAL = 20


def hand_loop(dataset: str, seed: int = 0) -> list[float]:
    """Test accuracy at every budget from INITIAL to the whole pool."""
    import sklearn.datasets
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split

    d = getattr(sklearn.datasets, LOADERS[dataset])()
    n_test = max(int(round(0.25 * len(d.target))), len(np.unique(d.target)))
    X, X_test, y, y_test = train_test_split(d.data, d.target, test_size=n_test,
                                            stratify=d.target, random_state=0)
    mean, std = X.mean(axis=0), X.std(axis=0)
    std[std == 0] = 1.0
    X, X_test = (X - mean) / std, (X_test - mean) / std
    rng = np.random.default_rng(seed)
    labelled = np.zeros(len(y), dtype=bool)
    labelled[rng.choice(len(y), size=INITIAL, replace=False)] = True
    accuracies = []
    while True:
        model = LogisticRegression(max_iter=1000).fit(X[labelled], y[labelled])
        accuracies.append(float((model.predict(X_test) == y_test).mean()))
        pool = np.flatnonzero(~labelled)
        if len(pool) == 0:
            return accuracies
        top2 = np.sort(model.predict_proba(X[pool]), axis=1)[:, -2:]
        labelled[pool[np.argmin(top2[:, 1] - top2[:, 0])]] = True


def palbench_config(dataset: str, pool: int) -> str:
    return f"""
[experiment]
seeds = [0]
budgets = {{ start = {INITIAL}, stop = {pool}, step = 1 }}
batch_size = 1
probe = false
initial = {INITIAL}
[dataset]
name = "{dataset}"
[strategy]
name = "margin"
[oracle]
name = "exact"
[learner]
name = "sklearn"
params = {{ max_iter = 1000 }}
"""


def timed(argv: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True)
    return time.perf_counter() - t0


def compare(dataset: str, repeats: int) -> None:
    from palbench.datasets import DATASETS

    pool = DATASETS.get(dataset)().prepare(dataset, "dataset").n_pool
    print(f"{dataset}: pool {pool}, margin + logistic regression, {INITIAL} initial labels, "
          f"one sample a round to the whole pool ({pool - INITIAL + 1} checkpoints); whole "
          f"processes, interleaved, {repeats} repeats")
    walls = {"palbench run": [], "hand loop": []}
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "c.toml"
        config.write_text(palbench_config(dataset, pool))
        for i in range(repeats):
            store = Path(tmp) / f"s{i}.sqlite"
            walls["palbench run"].append(timed([sys.executable, "-m", "palbench", "run",
                                                str(config), "--store", str(store),
                                                "--quiet"]))
            walls["hand loop"].append(timed([sys.executable, "-m", "palbench.perf.hand_loop",
                                             dataset]))
    for name, values in walls.items():
        print(f"{name:<13} median {statistics.median(values):6.2f} s   "
              f"({', '.join(f'{v:.2f}' for v in values)})")
    ratio = statistics.median(walls["palbench run"]) / statistics.median(walls["hand loop"])
    print(f"palbench / hand loop: {ratio:.2f}x (goal: at most 1.2x)")


if __name__ == "__main__":
    accuracies = hand_loop(sys.argv[1] if len(sys.argv) > 1 else "breast_cancer")
    print(f"{len(accuracies)} checkpoints, final accuracy {accuracies[-1]:.4f}")
