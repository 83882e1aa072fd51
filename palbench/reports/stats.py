"""Statistics over seeds, each defined at the n it gets (docs/statistics.md lists them with
their minimum n and the test that pins each): the Student-t interval of a mean, Fieller's
interval of a ratio of paired means, the paired sign-flip test and Holm's correction. Per-run
values come from metrics.py; rank tests are in ranks.py."""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from palbench.reports.metrics import with_cell_keys
from palbench.results.schema import PANEL_KEYS

LEVEL = 0.95
ALPHA = 0.05
INTERVAL_MIN_SEEDS = 2  # a t (or Fieller) interval needs a spread: two seeds at least
EXACT_FLIP_MAX_SEEDS = 12  # up to 2^12 = 4,096 sign patterns: every one of them
RANDOM_FLIPS = 9_999  # above: this many seeded random patterns, p = (1 + hits) / (1 + 9,999)
FLIP_SEED = 0
AT_LEAST_ZERO = (0.0, math.inf)  # a cost, a share of one, a count, a loss: interval limits


@dataclass(frozen=True)
class Interval:
    """A point estimate over n seeds and its two-sided interval at `level`; low and high are
    NaN where the interval is not defined, and `why` says why. Unpacks as (point, low,
    high)."""

    point: float
    low: float
    high: float
    n: int
    level: float = LEVEL
    method: str = "t"  # "t": Student-t of a mean; "Fieller": a ratio of paired means
    why: str = ""

    def __iter__(self):
        return iter((self.point, self.low, self.high))

    @property
    def name(self) -> str:
        """The method as a report prints it: "95% t interval"."""
        return f"{self.level:.0%} {self.method} interval"


def too_few(n: int, what: str = "an interval") -> str:
    return f"too few seeds for {what}: n = {n}, needs >= {INTERVAL_MIN_SEEDS}"


def mean_ci(values, level: float = LEVEL, within: tuple[float, float] | None = None) -> Interval:
    """Mean and Student-t interval across seeds (exact for normal values at any n >= 2).
    Below 2 seeds no interval. Runs that never reached a target count as +inf: the mean is
    then unbounded above, the upper end +inf and the lower end undefined (all +inf: both
    ends +inf). `within`: the range the values can take (an accuracy's [0, 1]); the interval
    is cut to it, which keeps its coverage (the mean lies in that range) and never prints
    an accuracy of 1.15 at 2 seeds."""
    values = np.asarray(values, float)
    n = len(values)
    if n == 0:
        return Interval(float("nan"), float("nan"), float("nan"), 0, level, why=too_few(0))
    infinite = np.isinf(values)
    if infinite.any():
        signs = set(np.sign(values[infinite]))
        if len(signs) > 1:
            return Interval(float("nan"), float("nan"), float("nan"), n, level,
                            why="infinite values of both signs: no mean")
        edge = float(signs.pop()) * math.inf
        k = int(infinite.sum())
        if k == n and n >= INTERVAL_MIN_SEEDS:
            return Interval(edge, edge, edge, n, level)
        why = f"infinite in {k} of {n} seeds: the mean is unbounded"
        low, high = (float("nan"), edge) if edge > 0 else (edge, float("nan"))
        return Interval(edge, low, high, n, level, why=why)
    mean = float(values.mean())
    if n < INTERVAL_MIN_SEEDS:
        return Interval(mean, float("nan"), float("nan"), n, level, why=too_few(n))
    spread = float(values.std(ddof=1))
    half = spread / math.sqrt(n) * float(stats.t.ppf(0.5 + level / 2, n - 1))
    low, high = mean - half, mean + half
    if within is not None and within[0] <= mean <= within[1]:  # a mean outside: no limits
        low, high = max(low, within[0]), min(high, within[1])
    return Interval(mean, low, high, n, level)


def ratio_ci(numerator, denominator, level: float = LEVEL) -> Interval:
    """mean(numerator) / mean(denominator) over paired seeds, with Fieller's interval: the
    ratios r whose paired differences numerator - r * denominator a t-test does not reject
    (exact for bivariate normal pairs at any n >= 2). When the denominator's mean is not
    resolved from 0 at `level`, that set is unbounded: low -inf and high +inf, said in `why`."""
    a, b = np.asarray(numerator, float), np.asarray(denominator, float)
    n = len(a)
    nan = float("nan")
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        if np.all(np.isfinite(b)) and b.mean() > 0 and not np.isneginf(a).any():
            k = int(np.isinf(a).sum())
            return Interval(math.inf, nan, math.inf, n, level, "Fieller",
                            f"infinite in {k} of {n} seeds: the ratio is unbounded")
        return Interval(nan, nan, nan, n, level, "Fieller", "infinite values: no ratio")
    with np.errstate(divide="ignore", invalid="ignore"):
        point = float(a.mean() / b.mean()) if n else nan
    if n < INTERVAL_MIN_SEEDS:
        return Interval(point, nan, nan, n, level, "Fieller", too_few(n))
    t2 = float(stats.t.ppf(0.5 + level / 2, n - 1)) ** 2 / n
    cov = np.cov(a, b, ddof=1)
    s_aa, s_ab, s_bb = cov[0, 0], cov[0, 1], cov[1, 1]
    # (mean_a - r mean_b)^2 <= t^2 (s_aa - 2 r s_ab + r^2 s_bb) / n: a quadratic in r
    qa = b.mean() ** 2 - t2 * s_bb
    qb = a.mean() * b.mean() - t2 * s_ab
    qc = a.mean() ** 2 - t2 * s_aa
    if qa <= 0:
        return Interval(point, -math.inf, math.inf, n, level, "Fieller",
                        f"the denominator's mean is not resolved from 0 at {level:.0%}: "
                        "the interval is unbounded")
    root = math.sqrt(max(qb * qb - qa * qc, 0.0))
    return Interval(point, (qb - root) / qa, (qb + root) / qa, n, level, "Fieller")


def holm(p_values) -> np.ndarray:
    """Holm-Bonferroni adjusted p-values along the last axis (step-down, monotone, capped at
    1); NaN entries are left out of the count and stay NaN."""
    p = np.asarray(p_values, float)
    valid = ~np.isnan(p)
    m = valid.sum(axis=-1, keepdims=True)
    order = np.argsort(np.where(valid, p, np.inf), axis=-1, kind="stable")
    ranked = np.take_along_axis(p, order, axis=-1)
    scaled = (m - np.arange(p.shape[-1])) * ranked
    scaled = np.minimum(1.0, np.maximum.accumulate(np.nan_to_num(scaled, nan=0.0), axis=-1))
    adjusted = np.empty_like(p)
    np.put_along_axis(adjusted, order, scaled, axis=-1)
    return np.where(valid, adjusted, np.nan)


@functools.cache
def flip_patterns(n: int) -> tuple[np.ndarray, bool]:
    """The sign patterns a sign-flip test over n seeds weighs (rows of +-1, read-only), and
    whether they are all 2^n of them (else RANDOM_FLIPS patterns drawn with FLIP_SEED)."""
    if n <= EXACT_FLIP_MAX_SEEDS:
        signs = 1.0 - 2.0 * ((np.arange(2 ** n)[:, None] >> np.arange(n)) & 1)
    else:
        signs = np.random.default_rng(FLIP_SEED).choice([-1.0, 1.0], size=(RANDOM_FLIPS, n))
    signs.flags.writeable = False
    return signs, n <= EXACT_FLIP_MAX_SEEDS


def sign_flip_p(differences) -> np.ndarray | float:
    """Two-sided p-value of the paired sign-flip (randomization) test of a zero mean
    difference, along the last axis (seeds): the share of sign patterns whose |sum| is at
    least the observed one. Valid whenever the two sides are exchangeable within a seed (no
    normality needed); exact over all 2^n patterns up to EXACT_FLIP_MAX_SEEDS seeds, with
    seeded random patterns above. Its smallest value is 2/2^n (smallest_p). NaN with no seed
    or an infinite difference."""
    d = np.asarray(differences, float)
    n = d.shape[-1]
    if n == 0:
        return float("nan") if d.ndim == 1 else np.full(d.shape[:-1], np.nan)
    flat = d.reshape(-1, n)
    p = np.full(len(flat), np.nan)
    finite = np.isfinite(flat).all(axis=1)
    if finite.any():
        signs, exact = flip_patterns(n)
        rows = flat[finite]
        observed = np.abs(rows.sum(axis=1))
        slack = 64 * np.finfo(float).eps * np.abs(rows).sum(axis=1)  # equal sums, other order
        hits = np.empty(len(rows))
        step = max(1, 2 ** 22 // len(signs))  # rows per chunk: at most ~4M sums at once
        for start in range(0, len(rows), step):
            part = slice(start, start + step)
            sums = np.abs(rows[part] @ signs.T)
            hits[part] = (sums >= (observed[part] - slack[part])[:, None]).sum(axis=1)
        p[finite] = hits / len(signs) if exact else (hits + 1) / (len(signs) + 1)
    p = p.reshape(d.shape[:-1])
    return float(p) if p.ndim == 0 else p


def smallest_p(n: int) -> float:
    """The smallest two-sided p-value a sign-flip test over n seeds can give."""
    return 2.0 / 2 ** n if n <= EXACT_FLIP_MAX_SEEDS else 1.0 / (RANDOM_FLIPS + 1)


def seeds_to_decide(tests: int = 1, alpha: float = ALPHA) -> int:
    """The fewest seeds at which a sign-flip test, Holm-corrected over `tests` tests, can
    reject at alpha (tests * 2/2^n < alpha): 6 for one test at 0.05."""
    n = 1
    while tests * smallest_p(n) >= alpha:
        n += 1
    return n


def paired_method(n: int) -> str:
    """How the paired test weighs n seeds, as the reports print it."""
    if n <= EXACT_FLIP_MAX_SEEDS:
        return "exact sign-flip test"
    return f"sign-flip test over {RANDOM_FLIPS:,} seeded random sign patterns"


def paired_against(summary: pd.DataFrame, value: str, baseline: str = "random",
                   alpha: float = ALPHA) -> pd.DataFrame:
    """Each strategy against `baseline` over the seeds both ran, per panel: mean paired gain,
    sign-flip p-value, Holm-adjusted within the panel, and a verdict. A gain whose adjusted
    p-value is not below alpha is "no evidence", never a win; below seeds_to_decide seeds
    nothing can be better."""
    keys = PANEL_KEYS
    rows = []
    for key, panel in with_cell_keys(summary).groupby(keys, sort=True):
        wide = panel.pivot_table(index="seed", columns="strategy", values=value)
        if baseline not in wide:
            continue
        found = []
        for strategy in wide.columns.drop(baseline):
            pair = wide[[strategy, baseline]].dropna()
            gain = (pair[strategy] - pair[baseline]).to_numpy()
            found.append({**dict(zip(keys, key)), "strategy": strategy, "baseline": baseline,
                          "seeds": len(gain), "gain": float(np.mean(gain)) if len(gain) else
                          float("nan"), "p": sign_flip_p(gain),
                          "method": paired_method(len(gain))})
        if found:
            adjusted = holm(np.array([f["p"] for f in found]))
            for f, p_adj in zip(found, adjusted):
                f["p_holm"] = p_adj
                if np.isnan(p_adj) or p_adj >= alpha:
                    f["verdict"] = "no evidence"
                else:
                    f["verdict"] = "better" if f["gain"] > 0 else "worse"
            rows += found
    return pd.DataFrame(rows)


def t_band(values, within: tuple[float, float] | None = None) -> tuple[float, float]:
    """The 95% t interval of a mean as (low, high), cut to `within` as mean_ci does: a plot's
    band (seaborn's `errorbar`, with `within` bound by functools.partial); (NaN, NaN), no
    band, below 2 seeds."""
    interval = mean_ci(values, within=within)
    return interval.low, interval.high
