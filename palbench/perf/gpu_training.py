"""PAL training against plain cross-entropy training of the same network, on one device.

    python -m palbench.perf.gpu_training [--device auto] [--n 60000] [--labels 1000]
        [--encoder cnn] [--steps 300] [--batch 256] [--repeat 3]

Fashion-MNIST pool (all 60,000 images by default); `--labels` random samples answered by an
exact annotator make the similarity graph. Timed side by side, interleaved, median of
`--repeat`: (1) one `pal` learner fit as the loop runs it at a checkpoint (encoder training for
`--steps` steps, then embedding the pool and fitting the class head), and its training loop
alone; (2) cross-entropy training of the same encoder with a class layer for the same steps and
batch size on the labelled samples. Prints seconds, the ratio PAL / cross-entropy, samples per
second, and what crosses from host to device per step. Meant for a GPU (`--device cuda`); it
also runs on CPU, where the figures say little about a GPU.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch
from torch import nn

from palbench.bench.loop import Ledger
from palbench.learners.heads import fit_head
from palbench.learners.pal import PAL, BatchSampler
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


def train_cross_entropy(learner: PAL, data, graph, device, seed: int) -> float:
    """The PAL learner's encoder plus a class layer, trained with cross-entropy on the known
    labels for the same steps and batch size; returns seconds."""
    known = graph.known_labels()
    idx = np.flatnonzero(known >= 0)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = nn.Sequential(learner.build(data), nn.Linear(learner.dim, data.n_classes))
    net = net.to(device)
    X = torch.as_tensor(data.X[idx], device=device)
    y = torch.as_tensor(known[idx], device=device)
    optimizer = torch.optim.AdamW(net.parameters(), lr=learner.lr,
                                  weight_decay=learner.weight_decay)
    generator = torch.Generator(device=device).manual_seed(seed)
    loss_fn = nn.CrossEntropyLoss()
    synchronize(device)
    start = time.perf_counter()
    for _ in range(learner.steps):
        batch = torch.randint(0, len(idx), (min(learner.batch_size, len(idx)),),
                              generator=generator, device=device)
        optimizer.zero_grad(set_to_none=True)
        loss_fn(net(X[batch]), y[batch]).backward()
        optimizer.step()
    synchronize(device)
    return time.perf_counter() - start


def fit_pal(learner: PAL, data, graph, device, seed: int) -> tuple[float, float]:
    """Seconds of a whole PAL fit, and of its part after the training loop (embed + head)."""
    synchronize(device)
    start = time.perf_counter()
    model = learner.fit(data, graph, seed=seed)
    synchronize(device)
    total = time.perf_counter() - start
    start = time.perf_counter()
    fit_head(model.embed(data.X), graph.known_labels(), data.n_classes, seed)
    synchronize(device)
    return total, time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda[:N]")
    parser.add_argument("--dataset", default="fashion_mnist", choices=("fashion_mnist", "digits"),
                        help="digits (with --encoder mlp): a quick smoke run")
    parser.add_argument("--n", type=int, default=60000, help="pool size (fashion_mnist)")
    parser.add_argument("--labels", type=int, default=1000)
    parser.add_argument("--encoder", default="cnn", choices=("cnn", "mlp"))
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    device = resolve_device(args.device)
    data = load(args.dataset, args.n)
    graph = labelled_graph(data, args.labels)
    learner = PAL(encoder=args.encoder, steps=args.steps, batch_size=args.batch,
                  device=str(device))
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    print(f"{args.dataset} pool {data.n_pool:,}, {args.labels} labels; {args.encoder} encoder, "
          f"{args.steps} steps x batch {args.batch}; device {name}")
    fit_head(np.zeros((10, 2)), np.zeros(10, np.int64), 2, 0)  # warm up imports
    pal_total, pal_after, ce = [], [], []
    for r in range(args.repeat + 1):  # the first round warms up kernels and caches
        total, after = fit_pal(learner, data, graph, device, seed=r)
        seconds = train_cross_entropy(learner, data, graph, device, seed=r)
        if r:
            pal_total.append(total)
            pal_after.append(after)
            ce.append(seconds)
    total, after, ce_s = (statistics.median(v) for v in (pal_total, pal_after, ce))
    train = total - after
    samples = args.steps * args.batch
    print(f"PAL fit (as at a checkpoint)   {total:8.2f} s")
    print(f"  training loop                {train:8.2f} s  {samples / train:>10,.0f} samples/s")
    print(f"  embed pool + class head      {after:8.2f} s")
    print(f"cross-entropy, same network    {ce_s:8.2f} s  {samples / ce_s:>10,.0f} samples/s")
    print(f"ratio PAL training / cross-entropy: {train / ce_s:.2f}x "
          f"(whole fit: {total / ce_s:.2f}x)")
    sampler = BatchSampler(graph.component_ids())
    idx = sampler.draw(args.batch, learner.positive_fraction, np.random.default_rng(0))
    block = graph.signed_block(idx)
    print(f"data on device: the pool ({data.X.nbytes / 2**20:.0f} MiB) is copied once per fit; "
          f"each step sends the batch indices ({idx.nbytes / 1024:.1f} KiB) and G_B "
          f"({block.nbytes / 1024:.0f} KiB) from the host")


if __name__ == "__main__":
    main()
