"""Benchmarks: figures printed, never asserted (timing is noisy on shared machines)."""


def dataset_table(name: str, n: int, n_test: int = 10000) -> dict:
    """A config's [dataset] table; `n` and `n_test` size Fashion-MNIST (the others are fixed)."""
    table = {"name": name}
    if name == "fashion_mnist":
        table.update(n_train=n, n_test=n_test)
    return table

# name -> (module with main(argv), what it measures); `palbench bench NAME` runs it
BENCHMARKS = {
    "overhead": ("palbench.perf.overhead",
                 "share of a run's wall time outside learner training (digits, Fashion-MNIST)"),
    "peers": ("palbench.perf.peers",
              "wall time and accuracy side by side with scikit-activeml and modAL"),
    "latency": ("palbench.perf.selection_latency",
                "selection latency of every strategy on a 60,000-image pool"),
    "ingest": ("palbench.perf.graph_ingest",
               "SimilarityGraph ingest rate and memory at N = 1,000,000"),
    "memory": ("palbench.perf.memory_soak", "resident memory over 200 checkpoints"),
    "answers": ("palbench.perf.same_answers",
                "learners fitted on the very same frozen answers: accuracy and fit time"),
    "scale": ("palbench.perf.scale",
              "every label strategy at 10^6 samples: seconds a round and peak memory"),
    "store_open": ("palbench.perf.store_open",
                   "what checking a store at every open costs (integrity_check, 10,000 runs)"),
    "batching": ("palbench.perf.batching",
                 "cells trained together against alone: fits per second, whole processes"),
    "gpu": ("palbench.perf.gpu_training",
            "PAL against cross-entropy training time on one GPU (Fashion-MNIST)"),
    "embed": ("palbench.perf.embed",
              "efficientnet_lite0's images and all_minilm_l6_v2's texts per second, and "
              "their second (cached) runs' times"),
}
