"""Fits the `practice` oracle's defaults to ANNOTATORS.md section 4 (CIFAR-N's per-worker
sequences) and prints them; tests/oracles/test_practice.py runs it again and finds the
defaults in palbench/oracles/practice.py to the printed precision.

    python tools/fit_practice.py

Speed-up: a worker's n-th answer (n answers given before it, from 0) takes
`floor + (1 - floor) * (n + 1) ** -rate` of a fresh worker's seconds. The table gives time
relative to each worker's own median by bucket of the worker's batches; n counts answers
(one image each), so a bucket of batches a..b is placed at its midpoint in answers: batch k
(from 1) of m images has (k - 1) * m answers before it and its images (m - 1) / 2 more on
average, n = ((a + b) / 2 - 1) * m + (m - 1) / 2, with m = 10 (CIFAR-10N) or 5 (CIFAR-100N).
The table is relative to each worker's own median, an unknown point of its curve, so the fit
is of the table relative to its first bucket (1-5 batches: a fresh worker, who is charged the
listed price) against speed(n) / speed(n of the first bucket), by least squares
(scipy.optimize.curve_fit, floor in [0, 1]). CIFAR-100N's times fall evenly in log n up to
400 batches, with no plateau: its fitted floor is 0 (a power law; 0.84 of a fresh worker's
seconds after 1,000 answers, 0.79 after 10,000).

Speed spread: on CIFAR-100N the median seconds of a worker's first 5 batches are 166, 120, 96
and 73 for workers who did 1-9, 10-39, 40-159 and 160+ batches. Workers who go on longer are
faster, so the groups are taken as slices of one lognormal speed distribution ordered by
speed: each group's median sits at the normal quantile of its slice's midpoint, and
log(seconds) = mu + sigma * z is fitted by least squares (scipy.stats.linregress); sigma is
the spread's default. Group sizes: 338 and 14 are given; 56 workers did 40 or more batches
(the table's header), so 40-159 has 56 - 14 = 42 and 10-39 the rest, 519 - 338 - 56 = 125.
"""

from __future__ import annotations

import numpy as np
from scipy import optimize, stats

BUCKETS = ((1, 5), (6, 10), (11, 20), (21, 40), (41, 80), (81, 160), (161, 400))
TIME_OVER_MEDIAN = {  # ANNOTATORS.md section 4, "time / own median" by worker's batches
    "cifar10n": (1.06, 1.03, 1.00, 1.00, 0.98, 1.00, 1.00),
    "cifar100n": (1.09, 1.06, 1.06, 1.02, 1.03, 0.97, 0.96),
}
IMAGES_PER_BATCH = {"cifar10n": 10, "cifar100n": 5}
FIRST_BATCHES_SECONDS = (166.0, 120.0, 96.0, 73.0)  # CIFAR-100N, by the groups below
GROUP_SIZES = (338, 125, 42, 14)  # 1-9, 10-39, 40-159, 160+ batches (see above)


def speed(n, floor, rate):
    """A worker's seconds for its answer after n, over a fresh worker's."""
    return floor + (1.0 - floor) * (np.asarray(n, dtype=np.float64) + 1.0) ** -rate


def answers_before(images_per_batch: int) -> np.ndarray:
    """Each bucket's midpoint in answers given before (see the module's docstring)."""
    m = images_per_batch
    middle = np.array([(a + b) / 2 for a, b in BUCKETS])
    return (middle - 1) * m + (m - 1) / 2


def fit_practice(time_over_median, images_per_batch: int) -> dict[str, float]:
    """floor and rate by least squares on the bucket midpoints, relative to the first."""
    n, ratio = answers_before(images_per_batch), np.asarray(time_over_median)
    (floor, rate), _ = optimize.curve_fit(
        lambda n, floor, rate: speed(n, floor, rate) / speed(n[0], floor, rate), n,
        ratio / ratio[0], p0=(0.9, 0.5), bounds=((0.0, 0.0), (1.0, 5.0)))
    return {"floor": float(floor), "rate": float(rate)}


def fit_speed_spread(seconds=FIRST_BATCHES_SECONDS, sizes=GROUP_SIZES) -> dict[str, float]:
    """sigma (and mu, log seconds) of the lognormal the groups' medians are slices of."""
    sizes = np.asarray(sizes[::-1], dtype=np.float64)  # fastest group first
    middle = (np.cumsum(sizes) - sizes / 2) / sizes.sum()
    fit = stats.linregress(stats.norm.ppf(middle), np.log(np.asarray(seconds)[::-1]))
    return {"sigma": float(fit.slope), "mu": float(fit.intercept)}


def main() -> None:
    for preset in TIME_OVER_MEDIAN:
        m = IMAGES_PER_BATCH[preset]
        fit = fit_practice(TIME_OVER_MEDIAN[preset], m)
        # what the fit says of a worker's first 20 batches against its batches 141-160
        first = speed(np.arange(20 * m), fit["floor"], fit["rate"]).mean()
        last = speed(np.arange(140 * m, 160 * m), fit["floor"], fit["rate"]).mean()
        print(f"{preset}: floor = {fit['floor']:.3f}, rate = {fit['rate']:.4f}; "
              f"batches 141-160 against 1-20: "
              f"{1 - last / first:.0%} less time")
    spread = fit_speed_spread()
    print(f"speed spread: sigma = {spread['sigma']:.3f} (median {np.exp(spread['mu']):.0f} s "
          "for a first batch of 5)")


if __name__ == "__main__":
    main()
