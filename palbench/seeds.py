"""A run's seed and the independent streams spawned from it: one per random use, all
recorded with the run (DESIGN: randomness is always passed in)."""

from __future__ import annotations

import numpy as np

DATA_STREAM, SPLIT_STREAM = 0xDA7A, 0x5B17  # the spawn keys of a run's data and split seeds


def derived_seed(seed: int, stream: int) -> int:
    """A seed of its own for one use of a run's seed (its dataset's generator, its split):
    spawned apart from the run's other streams, below 2**32 as scikit-learn needs."""
    return int(np.random.SeedSequence([seed, stream]).generate_state(1, dtype=np.uint32)[0])


def seed_streams(seed: int) -> dict[str, int]:
    """One seed per run, spawned into independent streams, one per random use; recorded with
    every run. `labelling` fixes an oracle's answers drawn once per run (a corrupted labelling),
    apart from the `oracle` stream that draws each answer's noise. Spawned children do not
    depend on how many are spawned, so adding a stream leaves the others as they were."""
    names = ("strategy", "oracle", "learner", "labelling", "initial")
    children = np.random.SeedSequence(seed).spawn(len(names))
    return {n: int(c.generate_state(1, dtype=np.uint32)[0]) for n, c in zip(names, children)}

