"""`practice`: an annotator who gets faster as it works, from CIFAR-N's per-worker sequences
(shared ANNOTATORS.md section 4; the fit: tools/fit_practice.py). It answers as its `base`
oracle does and charges the base's seconds times a speed-up curve of the answers given so
far: the worker's own inside a `workers` pool (which hands each worker its own history), the
run's otherwise. Workers differ in speed too (`speed_spread`), and fatigue and drift are
options that default off, since the data show neither.

    [oracle]
    name = "workers"
    n_workers = 10
    base = { name = "practice", preset = "cifar100n", base = { name = "noisy_label" } }
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from palbench.errors import check
from palbench.fields import param
from palbench.oracles.base import ABSTAIN, ORACLES, WrapperOracle
from palbench.queries import LabelQueries

# (floor, rate) fitted to section 4's "time / own median" table by tools/fit_practice.py
PRESETS = {"cifar10n": (0.501, 0.8198), "cifar100n": (0.0, 0.0256)}
SPREAD = 0.305  # sigma of log seconds among CIFAR-100N's workers (tools/fit_practice.py)


def speed(n, floor: float, rate: float) -> np.ndarray:
    """The seconds of a worker's answer after n others, over a fresh worker's."""
    return floor + (1.0 - floor) * (np.asarray(n, dtype=np.float64) + 1.0) ** -rate


@ORACLES.register("practice")
@dataclass(frozen=True, kw_only=True)
class Practice(WrapperOracle):
    """Answers as `base`; charges its seconds x speed(n) x the worker's speed x fatigue, with
    n the answers given before (ANNOTATORS.md section 4: 7% faster on CIFAR-10N, 14% on
    CIFAR-100N between a worker's first and last 20 batches; workers differ in speed)."""

    # the annotator who practises (its answers and its seconds when fresh)
    base: dict = param(default_factory=lambda: {"name": "exact"}, component="oracle")
    # whose speed-up: CIFAR-10N's (10 classes) or CIFAR-100N's (100: slower, longer learning)
    preset: str = param("cifar100n", choices=tuple(PRESETS))
    # the fraction of a fresh worker's seconds left after long practice (None: the preset's)
    floor: float | None = param(None, ge=0, le=1)
    # how fast the seconds fall towards the floor: (n + 1) ** -rate (None: the preset's)
    rate: float | None = param(None, ge=0, le=5)
    # sigma of a pool worker's log speed, drawn once per run (CIFAR-100N's 0.305; 0: alike)
    speed_spread: float = param(SPREAD, ge=0, le=3)
    # seconds added per 100 answers given, as a fraction of the practised seconds (0: none)
    fatigue: float = param(0.0, ge=0, le=10)
    # error rate added per 100 answers given: a label becomes another class, a pair flips
    drift: float = param(0.0, ge=0, le=1)

    def validate(self, where):
        name = self.base.get("name")
        check(name not in ("workers", "practice"), f"{where}.base.name", name,
              "practice is one annotator's: put it inside a pool (workers.base), once")
        self.inner(where)


    @property
    def curve(self) -> tuple[float, float]:
        """(floor, rate): the ones set, else the preset's."""
        floor, rate = PRESETS[self.preset]
        return (floor if self.floor is None else self.floor,
                rate if self.rate is None else self.rate)

    def given(self, queries, history) -> np.ndarray:
        """Answers given before each of these: this worker's (a pool hands each worker its
        own history) or the run's, then the batch's in order. A pool charges a worker's
        questions in one call; with redundancy > 1 it asks them copy by copy, so drift counts
        the batch's answers from each copy's first (at most one batch off)."""
        return len(history) + np.arange(len(queries))

    def worker_speed(self, truth, worker: int | None) -> float:
        """A pool worker's seconds over the listed ones, lognormal with median 1, drawn once
        per run from the labelling seed; 1 for a lone annotator (the listed one)."""
        if worker is None or self.speed_spread == 0:
            return 1.0
        draws = np.random.default_rng([truth.labelling_seed, 2]).standard_normal(worker + 1)
        return float(np.exp(self.speed_spread * draws[worker]))

    def respond(self, queries, truth, history, rng):
        values = np.asarray(self.inner().respond(queries, truth, history, rng), dtype=np.int64)
        if self.drift == 0:
            return values
        wrong = (rng.random(len(values)) < np.minimum(
            self.drift * self.given(queries, history) / 100, 1.0)) & (values != ABSTAIN)
        if isinstance(queries, LabelQueries):
            shift = rng.integers(1, truth.n_classes, size=len(values))
            return np.where(wrong, (values + shift) % truth.n_classes, values)
        return np.where(wrong, 1 - values, values)

    def charge(self, queries, truth, history, listed):
        n = self.given(queries, history)
        fresh = np.asarray(self.inner().charge(queries, truth, history, listed),
                           dtype=np.float64)
        return (fresh * speed(n, *self.curve) * (1.0 + self.fatigue * n / 100)
                * self.worker_speed(truth, history.worker))
