"""The pal learner's training against plain cross-entropy training of the same network, on one
device.

    python -m palbench.perf.gpu_training [--device auto] [--n 60000] [--labels 1000]
        [--encoder cnn] [--graph-weight 0.3] [--repeat 3]

Fashion-MNIST pool (all 60,000 images by default); `--labels` random samples answered by an
exact annotator make the similarity graph. Timed side by side, interleaved, median of
`--repeat`: (1) the pal learner's self-supervised pretraining on the pool (once per run, then
cached), in steps per second; (2) a pal fit as the loop runs it at a checkpoint, from the cached
pretraining (cross-entropy on the known samples plus the graph loss at `--graph-weight`); (3)
cross-entropy training of the same encoder and class layer on the same schedule (the pal
learner with no pretraining and no graph term). Prints seconds and the ratio pal / cross-entropy.
Meant for a GPU (`--device cuda`); on a CPU the figures say little about a GPU.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import time

import numpy as np
import torch

from palbench.bench.ledger import Ledger
from palbench.learners.pal import PAL
from palbench.learners.pretrain import forget
from palbench.learners.torch_common import resolve_device
from palbench.perf.selection_latency import load
from palbench.queries import Answers, LabelQueries


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def labelled_graph(data, n_labels: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    ledger = Ledger(data, "majority")
    picked = rng.choice(data.n_pool, size=n_labels, replace=False)
    ledger.add(Answers(LabelQueries(picked), data.y[picked], np.ones(n_labels)), data.y)
    return ledger.graph


def timed_fit(learner: PAL, data, graph, device, seed: int) -> tuple[float, float]:
    """(seconds of the whole fit, of which pretraining seconds)."""
    synchronize(device)
    start = time.perf_counter()
    model = learner.fit(data, graph, seed=seed)
    synchronize(device)
    return time.perf_counter() - start, model.pretrain_seconds


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda[:N]")
    parser.add_argument("--dataset", default="fashion_mnist", choices=("fashion_mnist", "digits"),
                        help="digits (with --encoder mlp): a quick smoke run")
    parser.add_argument("--n", type=int, default=60000, help="pool size (fashion_mnist)")
    parser.add_argument("--labels", type=int, default=1000)
    parser.add_argument("--encoder", default="cnn", choices=("cnn", "mlp"))
    parser.add_argument("--graph-weight", type=float, default=0.3)
    parser.add_argument("--pretrain-steps", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    device = resolve_device(args.device)
    data = load(args.dataset, args.n)
    graph = labelled_graph(data, args.labels)
    pal = PAL(encoder=args.encoder, pretrain="on", pretrain_steps=args.pretrain_steps,
              graph_weight=args.graph_weight, device=str(device))
    plain = dataclasses.replace(pal, pretrain="off", graph_weight=0.0)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    print(f"{args.dataset} pool {data.n_pool:,}, {args.labels} labels; {args.encoder} encoder; "
          f"device {name}")
    pretrain, fits, plains = [], [], []
    for r in range(args.repeat + 1):  # the first round warms up kernels and caches
        forget()
        total, pre = timed_fit(pal, data, graph, device, seed=r)  # pretrains, then fits
        fit, _ = timed_fit(pal, data, graph, device, seed=r)  # from the cache, as later fits
        ce, _ = timed_fit(plain, data, graph, device, seed=r)
        if r:
            pretrain.append(pre)
            fits.append(fit)
            plains.append(ce)
    pre_s, fit_s, ce_s = (statistics.median(v) for v in (pretrain, fits, plains))
    print(f"pretraining on the pool (once per run) {pre_s:8.2f} s  "
          f"{args.pretrain_steps / pre_s:8.1f} steps/s (2 views x {pal.pretrain_batch})")
    print(f"pal fit at a checkpoint (cached)       {fit_s:8.2f} s")
    print(f"cross-entropy, same network            {ce_s:8.2f} s")
    print(f"ratio PAL training / cross-entropy: {fit_s / ce_s:.2f}x")


if __name__ == "__main__":
    main()
