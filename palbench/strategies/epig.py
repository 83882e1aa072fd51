"""EPIG (Bickford Smith, Kirsch, Farquhar, Gal and Foster, AISTATS 2023): expected predictive
information gain, the target-aware BALD. A candidate's score is how much its label would tell
about the labels of target inputs x* drawn from the input distribution, not about the weights:

    EPIG(x) = E_{x*} I(y; y* | x, x*) = H[p(y|x)] + E_{x*} H[p(y*|x*)] - E_{x*} H[p(y, y*|x, x*)]

with p(y, y*|x, x*) = mean_s p_s(y|x) p_s(y*|x*) over `n_samples` models drawn by consistent
MC dropout (sample s is one network for candidates and targets alike), and `targets` target
inputs drawn from the pool (the authors' setting without a separate target set). The joint
entropy is one matrix product per block of candidates, as in the authors' `epig_from_probs_
using_matmul`; `tests/strategies/test_references.py` checks the scores against the definition
(the KL divergence of the joint from the product of its marginals).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import xlogy

from palbench.fields import param
from palbench.strategies.bald import BLOCK_ROWS, MCDropoutStrategy, entropy
from palbench.strategies.base import STRATEGIES, random_choice, top_k

JOINT_ENTRIES = 1 << 22  # candidate x class x target x class entries held at once


def epig_scores(pool: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """EPIG per candidate from (n_samples, N, C) candidate and (n_samples, M, C) target
    predictions of the same sampled models."""
    S, N, C = pool.shape
    M = targets.shape[1]
    by_target = targets.reshape(S, M * C)  # (S, M C)
    target_entropy = float(entropy(targets.mean(axis=0)).mean())
    joint_entropy = np.empty(N)
    rows = max(1, JOINT_ENTRIES // (C * M * C))
    for start in range(0, N, rows):
        block = pool[:, start:start + rows].transpose(1, 2, 0)  # (n, C, S)
        joint = block @ by_target / S  # p(y, y*) per candidate, class, target and class
        joint_entropy[start:start + rows] = -xlogy(joint, joint).sum(axis=(1, 2)) / M
    return entropy(pool.mean(axis=0)) + target_entropy - joint_entropy


@STRATEGIES.register("epig")
@dataclass(frozen=True, kw_only=True)
class EPIG(MCDropoutStrategy):
    """Top-k expected predictive information gain about pool targets (MC dropout)."""

    targets: int = param(100, ge=1)  # target inputs drawn from the pool each round

    def select(self, ctx, k, rng):
        candidates = ctx.candidates
        if not self.can_sample(ctx):
            return random_choice(candidates, k, rng)
        n = len(ctx.X)
        drawn = np.sort(rng.choice(n, size=min(self.targets, n), replace=False))
        seed = int(rng.integers(2**31))  # one seed: the same networks for every call

        def sampled(rows):
            return ctx.model.sample_proba(ctx.X[rows], self.n_samples, seed=seed,
                                          consistent=True)

        targets = sampled(drawn)
        scores = np.concatenate([epig_scores(sampled(candidates[s:s + BLOCK_ROWS]), targets)
                                 for s in range(0, len(candidates), BLOCK_ROWS)])
        return top_k(scores, candidates, k, rng)
