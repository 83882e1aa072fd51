"""BALD and BatchBALD by MC dropout (Gal et al. 2017; Kirsch, van Amersfoort and Gal 2019).

BALD scores each sample by the mutual information between its label and the model's weights,
I(y; w) = H[mean_s p_s] - mean_s H[p_s], from `n_samples` dropout predictions; the top k form
the batch. BatchBALD picks greedily the sample that most raises the mutual information of the
whole batch, I(y_1..y_n; w) = H(y_1..y_n) - sum_i E_w H(y_i | w). The joint entropy is exact
while the label configurations of the batch so far number at most `n_configs`, then estimated
from `n_configs` configurations drawn from the joint (the paper's estimator). Candidates are
first cut to the `max_candidates` highest BALD scores, as practical implementations do:
evaluating every pool sample at every greedy step is N x n_configs x n_samples x C work.

Large pools are sampled a block of BLOCK_ROWS rows at a time: (n_samples, rows, C) floats in
memory, never the pool's (10^6 samples x 20 x 10 classes would be 1.6 GB). A pool of one block
is sampled exactly as before; each further block draws its dropout masks from a seed of its
own, spawned from the round's.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import xlogy

from palbench.fields import param
from palbench.strategies.base import STRATEGIES, Strategy, random_choice, top_k


def entropy(p: np.ndarray, axis: int = -1) -> np.ndarray:
    return -xlogy(p, p).sum(axis=axis)


def bald_scores(samples: np.ndarray) -> np.ndarray:
    """Mutual information per sample from (n_samples, N, C) sampled probabilities."""
    return entropy(samples.mean(axis=0)) - entropy(samples).mean(axis=0)


class JointEntropy:
    """The entropy of the labels of the batch so far joined with each candidate's label.

    `W[m, s]` is the probability of label configuration m of the batch under sample s: every
    configuration (exact) until there would be more than `n_configs`, then `n_configs` drawn
    from the joint, each row scaled to sum 1 (the scale only shifts every candidate's
    entropy by the same constant, which `offset` keeps). The per-step work, n_configs x
    candidates x classes, runs in float32: one matrix product, one log, one matrix-vector sum.
    """

    def __init__(self, n_samples: int, n_configs: int, rng: np.random.Generator):
        self.W = np.ones((1, n_samples))
        self.exact, self.n_configs, self.rng, self.offset = True, n_configs, rng, 0.0

    def with_each_flat(self, flat: np.ndarray, n: int, C: int) -> np.ndarray:
        """H(batch, y_c) for every candidate c; `flat` is (n_samples, n x C) float32."""
        S = flat.shape[0]
        joint = (self.W.astype(np.float32) / S) @ flat  # p(config m, y_c): (m, n * C)
        plogp = np.maximum(joint, np.float32(1e-30))
        np.log(plogp, out=plogp)
        plogp *= joint  # in place: three passes over n_configs x n x C floats, no copies
        weights = np.ones(len(joint), np.float32)  # exact: sum over every configuration
        if not self.exact:  # drawn configurations: their mean, plus the scales' constant
            weights /= len(joint)
        plogp = weights @ plogp
        return -plogp.reshape(n, C).sum(axis=1, dtype=np.float64) + self.offset

    def add(self, p: np.ndarray) -> None:
        """Join the picked sample's labels; p is (n_samples, C)."""
        S, C = p.shape
        if self.exact and len(self.W) * C <= self.n_configs:
            self.W = (self.W[:, None, :] * p.T[None, :, :]).reshape(-1, S)
            return
        if self.exact:  # switch: draw configurations from the exact joint
            prior = self.W.sum(axis=1) / S
            rows = self.rng.choice(len(self.W), size=self.n_configs, p=prior / prior.sum())
            self.W, self.exact = self.W[rows], False
            self._rescale()
        cond = self.W @ p  # (m, C): p(config m, y) up to scale
        cond /= cond.sum(axis=1, keepdims=True)
        u = self.rng.random(len(cond))[:, None]
        y = np.minimum((cond.cumsum(axis=1) < u).sum(axis=1), C - 1)
        self.W = self.W * p[:, y].T
        self._rescale()

    def _rescale(self) -> None:
        scale = self.W.sum(axis=1) / self.W.shape[1]
        self.offset -= float(np.log(scale).mean())
        self.W = self.W / scale[:, None]


def batch_bald_select(samples: np.ndarray, k: int, n_configs: int,
                      rng: np.random.Generator) -> tuple[np.ndarray, list[float]]:
    """Greedy BatchBALD over the given samples (n_samples, n, C): the k positions picked and
    the batch's mutual information after each pick."""
    S, n, C = samples.shape
    k = min(k, n)
    conditional = entropy(samples).mean(axis=0)
    flat = np.ascontiguousarray(samples.reshape(S, n * C), dtype=np.float32)
    joint = JointEntropy(S, n_configs, rng)
    chosen, gains, spent = [], [], 0.0
    open_ = np.ones(n, dtype=bool)
    for _ in range(k):
        mi = joint.with_each_flat(flat, n, C) - conditional - spent
        mi[~open_] = -np.inf
        j = int(np.argmax(mi))
        chosen.append(j)
        gains.append(float(mi[j]))
        open_[j] = False
        spent += conditional[j]
        joint.add(samples[:, j, :])
    return np.array(chosen, dtype=np.int64), gains


BLOCK_ROWS = 65536  # pool rows whose dropout predictions are held at once


@dataclass(frozen=True, kw_only=True)
class MCDropoutStrategy(Strategy):
    needs_model = True

    n_samples: int = param(20, ge=2)  # MC-dropout predictions sampled per round

    def requires(self):
        return frozenset({"sample_proba"})

    def can_sample(self, ctx) -> bool:
        """False at the cold start, or while fewer than two classes are known."""
        return ctx.model is not None and "sample_proba" in ctx.model.offers

    def sampled_blocks(self, ctx, rows: np.ndarray, rng):
        """(start, (n_samples, block, C) predictions) for each block of `rows`: the first
        block from the round's seed (all of a small pool, as one call), the others from seeds
        spawned from it."""
        seed = int(rng.integers(2**31))
        for b, start in enumerate(range(0, len(rows), BLOCK_ROWS)):
            own = seed if b == 0 else int(np.random.SeedSequence([seed, b]).generate_state(1)[0])
            yield start, ctx.model.sample_proba(ctx.X[rows[start:start + BLOCK_ROWS]],
                                                self.n_samples, seed=own)


@STRATEGIES.register("bald")
@dataclass(frozen=True, kw_only=True)
class BALD(MCDropoutStrategy):
    """Top-k mutual information of label and weights, by MC dropout (mlp with dropout > 0)."""

    def select(self, ctx, k, rng):
        candidates = ctx.candidates
        if not self.can_sample(ctx):
            return random_choice(candidates, k, rng)
        scores = np.concatenate([bald_scores(samples) for _, samples in
                                 self.sampled_blocks(ctx, candidates, rng)])
        return top_k(scores, candidates, k, rng)


@STRATEGIES.register("batch_bald")
@dataclass(frozen=True, kw_only=True)
class BatchBALD(MCDropoutStrategy):
    """Greedy joint mutual information of the batch (MC dropout)."""

    # joint label configurations sampled to estimate the batch's entropy
    n_configs: int = param(500, ge=1)
    # most uncertain samples considered per round (by BALD score)
    max_candidates: int = param(1000, ge=1)

    def select(self, ctx, k, rng):
        candidates = ctx.candidates
        if not self.can_sample(ctx):
            return random_choice(candidates, k, rng)
        most = max(self.max_candidates, k)
        kept, samples = np.empty(0, dtype=np.int64), None
        for start, block in self.sampled_blocks(ctx, candidates, rng):
            positions = start + np.arange(block.shape[1])
            if samples is not None:  # the most uncertain so far, joined with this block's
                positions = np.concatenate([kept, positions])
                block = np.concatenate([samples, block], axis=1)
            if len(positions) > most:
                keep = top_k(bald_scores(block), np.arange(len(positions)), most, rng)
                positions, block = positions[keep], block[:, keep]
            kept, samples = positions, block
        candidates = candidates[kept]
        return candidates[batch_bald_select(samples, k, self.n_configs, rng)[0]]
