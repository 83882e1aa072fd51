"""Does a verdict survive the protocol? The verdicts of every pair of strategies in each variant
of a study (a paired sign-flip test over seeds on AULC, Holm-corrected within the variant, as
the leaderboard does), how often they agree, which variants flip them, how alike the
strategies rank across variants (Kendall's W), and how likely a study with fewer seeds would
have said the same (resampling seeds without replacement).

A study's variants and the runs of each are recorded in the store by `palbench robustness`
(`ResultsStore.study`); nothing here infers a variant from a run's values.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from palbench.errors import ConfigError
from palbench.reports.metrics import panel_title, per_run, without_oracle_lines
from palbench.reports.stats import holm, sign_flip_p
from palbench.results.schema import PANEL_KEYS
from palbench.results.study import Variant

ALPHA = 0.05
SEED_COUNTS = (3, 5, 10)  # the n-seed studies whose agreement is estimated (and the study's)
RESAMPLES = 1000  # seed subsets drawn per n (all of them when there are fewer)
BETTER, NONE, WORSE = 1, 0, -1  # a verdict of A against B
VERDICT_WORDS = {BETTER: "beats", NONE: "no evidence", WORSE: "loses to"}


def dataset_group(label: str) -> str:
    """The dataset a variant's runs are compared on, whatever parameters the variant gives
    it: the label without its parameters ("blobs(imbalance=0.1)" -> "blobs")."""
    return label.split("(", 1)[0]


def verdicts_of(differences: np.ndarray, alpha: float = ALPHA) -> np.ndarray:
    """BETTER / NONE / WORSE per pair from per-seed differences (..., pairs, seeds): the
    leaderboard's paired sign-flip test per pair, Holm-adjusted over the pairs; no evidence
    unless the adjusted p-value is below alpha."""
    adjusted = holm(sign_flip_p(differences))
    sign = np.sign(np.nanmean(differences, axis=-1)) if differences.shape[-1] else 0
    return np.where(adjusted < alpha, sign, NONE).astype(int)


def seed_subsets(n_seeds: int, n: int, resamples: int, rng: np.random.Generator) -> np.ndarray:
    """Subsets of n of n_seeds seeds without replacement: all of them when there are at
    most `resamples`, else `resamples` drawn at random (rows of seed positions)."""
    if math.comb(n_seeds, n) <= resamples:
        return np.array(list(itertools.combinations(range(n_seeds), n)), dtype=np.int64)
    return np.argsort(rng.random((resamples, n_seeds)), axis=1)[:, :n]


def same_verdict_share(differences: np.ndarray, n: int, alpha: float = ALPHA,
                       resamples: int = RESAMPLES, seed: int = 0) -> np.ndarray:
    """Per pair, the probability that a study of n of these seeds reaches the verdict all of
    them reach (Holm over the pairs in each resampled study too); NaN when n exceeds the
    seeds. Below stats.seeds_to_decide(pairs) seeds a study can only say "no evidence", so
    the share is then 1 or 0: whether all the seeds say that too. `differences`: (pairs,
    seeds)."""
    pairs, n_seeds = differences.shape
    if n > n_seeds or n < 1:
        return np.full(pairs, np.nan)
    full = verdicts_of(differences, alpha)
    subsets = seed_subsets(n_seeds, n, resamples, np.random.default_rng(seed))
    resampled = differences[:, subsets].transpose(1, 0, 2)  # (resamples, pairs, n)
    return (verdicts_of(resampled, alpha) == full).mean(axis=0)


def kendalls_w(table: pd.DataFrame) -> float:
    """Kendall's coefficient of concordance of the columns' ranks across the rows (1: every
    row ranks the columns alike, 0: no agreement), corrected for ties; NaN below 2 rows or 2
    columns."""
    m, n = table.shape
    if m < 2 or n < 2:
        return float("nan")
    ranks = table.rank(axis=1, ascending=False).to_numpy()
    spread = ((ranks.sum(axis=0) - m * (n + 1) / 2) ** 2).sum()
    ties = sum(((counts ** 3) - counts).sum() for counts in
               (np.unique(row, return_counts=True)[1] for row in ranks))
    denominator = m ** 2 * (n ** 3 - n) - m * ties
    return float(12 * spread / denominator) if denominator > 0 else float("nan")


@dataclass
class Unit:
    """The runs of one variant on one dataset in one panel: AULC per seed and strategy
    (only the seeds every strategy ran), and their pairs' verdicts."""

    dataset: str
    variant: Variant
    panel: str
    aulc: pd.DataFrame  # seeds x strategies

    @property
    def name(self) -> str:
        return self.variant.name + (f" [{self.panel}]" if self.panel else "")

    def pairs(self) -> list[tuple[str, str]]:
        return list(itertools.combinations(sorted(self.aulc.columns), 2))

    def differences(self) -> np.ndarray:
        return np.array([(self.aulc[a] - self.aulc[b]).to_numpy() for a, b in self.pairs()])


def study_units(frame: pd.DataFrame, variants: list[Variant],
                metric: str = "task_acc") -> list[Unit]:
    """Per variant, dataset and panel (when a variant's grid has several, e.g. two oracles):
    the AULC of every strategy on the seeds all of them ran. `frame`: the store's rows of
    this palbench version and tag."""
    frame = without_oracle_lines(frame)
    units = []
    for variant in variants:
        rows = frame[frame["spec_hash"].isin(variant.hashes)]
        if rows.empty:
            continue
        summary = per_run(rows, metric)
        summary = summary.assign(group=summary["dataset"].map(dataset_group))
        keys = [k for k in PANEL_KEYS if k != "dataset" and summary[k].nunique() > 1]
        for key, part in summary.groupby(["group", *keys], sort=True):
            key = key if isinstance(key, tuple) else (key,)
            wide = part.pivot_table(index="seed", columns="strategy", values="aulc").dropna()
            if wide.shape[1] >= 2 and len(wide):
                units.append(Unit(key[0], variant, panel_title(keys, key[1:]), wide))
    return units


def load_study(store, study: str, metric: str = "task_acc"):
    """(variants, units, names of the variants some of whose runs the store lacks) of a
    study recorded in the store; only complete variants make units."""
    import palbench

    variants = store.study(study)
    if not variants:
        known = store.studies()
        raise ConfigError("study", study, "the store records no such study; it records: "
                          + (", ".join(known) if known else "none (run palbench robustness)"))
    done = store.complete_hashes()
    missing = [v.name for v in variants if not v.hashes <= done]
    frame = store.to_frame()
    frame = frame[(frame["palbench_version"] == palbench.__version__) & frame["tag"].isna()]
    units = study_units(frame, [v for v in variants if v.hashes <= done], metric)
    return variants, units, missing


def reference_verdicts(verdicts: pd.DataFrame, base: str | None) -> pd.Series:
    """Per (dataset, a, b): the base variant's verdict when the study has one, else the most
    common verdict (a tie: no evidence)."""
    def pick(group: pd.DataFrame) -> int:
        if base is not None and (group["variant"] == base).any():
            return int(group.loc[group["variant"] == base, "verdict"].iloc[0])
        counts = group["verdict"].value_counts()
        top = counts[counts == counts.max()]
        return int(top.index[0]) if len(top) == 1 else NONE
    return verdicts.groupby(["dataset", "a", "b"]).apply(pick, include_groups=False)


def analyse(units: list[Unit], base: str | None = None, alpha: float = ALPHA,
            seed_counts=SEED_COUNTS, resamples: int = RESAMPLES) -> dict[str, pd.DataFrame]:
    """`verdicts`: one row per unit and ordered pair; `pairs`: one row per dataset and
    ordered pair (the CSV); `concordance`: Kendall's W per dataset."""
    rows = []
    for unit in units:
        differences = unit.differences()
        verdicts = verdicts_of(differences, alpha)
        counts = sorted({*seed_counts, len(unit.aulc)})
        shares = {n: same_verdict_share(differences, n, alpha, resamples) for n in counts}
        for i, (a, b) in enumerate(unit.pairs()):
            for first, second, sign in ((a, b, 1), (b, a, -1)):
                rows.append({"dataset": unit.dataset, "unit": unit.name,
                             "variant": unit.variant.name, "values": unit.variant.values,
                             "a": first, "b": second, "seeds": len(unit.aulc),
                             "gain": sign * float(differences[i].mean()),
                             "verdict": sign * int(verdicts[i]),
                             **{f"same_{n}": float(shares[n][i]) for n in counts},
                             "same_n": float(shares[len(unit.aulc)][i])})
    verdicts = pd.DataFrame(rows)
    if verdicts.empty:
        return {"verdicts": verdicts, "pairs": pd.DataFrame(), "concordance": pd.DataFrame()}
    reference = reference_verdicts(verdicts, base)
    pair_rows = []
    for (dataset, a, b), group in verdicts.groupby(["dataset", "a", "b"], sort=True):
        ref = int(reference[(dataset, a, b)])
        flips = group.loc[group["verdict"] != ref, "unit"].tolist()
        pair_rows.append({
            "dataset": dataset, "a": a, "b": b, "variants": len(group),
            "a_wins": int((group["verdict"] == BETTER).sum()),
            "b_wins": int((group["verdict"] == WORSE).sum()),
            "no_evidence": int((group["verdict"] == NONE).sum()),
            "win_share": float((group["verdict"] == BETTER).mean()),
            "reference": VERDICT_WORDS[ref], "flipped_by": "; ".join(flips),
            "mean_gain": float(group["gain"].mean()),
            **{f"same_verdict_{n}": float(group[f"same_{n}"].mean())
               for n in seed_counts if f"same_{n}" in group},
            "study_seeds": int(group["seeds"].min()),
            "same_verdict_study": float(group["same_n"].mean())})
    concordance = []
    for dataset in sorted({u.dataset for u in units}):
        means = pd.DataFrame({u.name: u.aulc.mean() for u in units if u.dataset == dataset}).T
        means = means.dropna(axis=1)
        concordance.append({"dataset": dataset, "variants": len(means),
                            "strategies": means.shape[1], "kendalls_w": kendalls_w(means)})
    return {"verdicts": verdicts, "pairs": pd.DataFrame(pair_rows),
            "concordance": pd.DataFrame(concordance)}
