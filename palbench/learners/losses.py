"""Graph SSL losses (PAL, Sec. 3): each one a small function of a minibatch's embeddings Z
(m x d) and its signed similarity block G (+1 same class, -1 known different, 0 unknown).

Given the two-view graph (views 2i and 2i+1 of one sample linked), `spectral_contrastive` and
`simclr` equal their usual two-view forms, and `vicreg`'s invariance term equals VICReg's; its
variance and covariance terms are statistics of the whole batch (tests/learners/test_losses.py).
`signed=False` callers pass G clipped at 0: known negatives then count as unknown.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def _off_diagonal(m: int, device) -> torch.Tensor:
    return ~torch.eye(m, dtype=torch.bool, device=device)


def spectral_contrastive(Z: torch.Tensor, G: torch.Tensor) -> torch.Tensor:
    """-2 sum_{i!=j} G_ij <z_i, z_j> / P  +  mean_{i!=j} <z_i, z_j>^2, P = #positive pairs.

    The graph form of HaoChen et al.'s spectral contrastive loss: pull known-same pairs
    together, push known-different pairs apart (signed G), keep all inner products small.
    Written with sums and diagonals rather than boolean masks: several times faster backward.
    """
    m = Z.shape[0]
    S = Z @ Z.T
    diag_S, diag_G = torch.diagonal(S), torch.diagonal(G)
    n_pos = ((G > 0).sum() - (diag_G > 0).sum()).clamp(min=1)
    attract = -2.0 * ((G * S).sum() - (diag_G * diag_S).sum()) / n_pos
    repel = ((S * S).sum() - (diag_S * diag_S).sum()) / (m * (m - 1))
    return attract + repel


def simclr(Z: torch.Tensor, G: torch.Tensor, temperature: float = 0.2) -> torch.Tensor:
    """Multi-positive InfoNCE (SupCon form) on cosine similarities: every known-same pair is a
    positive, every other sample in the batch a negative. Anchors without positives are skipped.
    Equal to SimCLR's NT-Xent given the two-view graph."""
    m = Z.shape[0]
    Zn = F.normalize(Z, dim=1)
    logits = (Zn @ Zn.T) / temperature
    off = _off_diagonal(m, Z.device)
    logits = logits.masked_fill(~off, float("-inf"))
    log_prob = logits - torch.logsumexp(logits, dim=1, keepdim=True)
    pos = (G > 0) & off
    n_pos = pos.sum(dim=1)
    has = n_pos > 0
    if not has.any():
        return Z.sum() * 0.0
    per_anchor = -(log_prob.masked_fill(~pos, 0.0)).sum(dim=1)[has] / n_pos[has]
    return per_anchor.mean()


def vicreg(Z: torch.Tensor, G: torch.Tensor, inv_weight: float = 25.0, var_weight: float = 25.0,
           cov_weight: float = 1.0, margin: float = 1.0) -> torch.Tensor:
    """VICReg over the graph: invariance = mean squared distance of known-same pairs (per
    dimension), variance hinge and covariance penalty over the batch; known-different pairs
    (signed G) add a hinge pushing their per-dimension RMS distance beyond `margin`."""
    m, d = Z.shape
    off = _off_diagonal(m, Z.device)
    pos = ((G > 0) & off).to(Z.dtype)
    squared = (Z * Z).sum(dim=1)
    diff2 = (squared[:, None] + squared[None, :] - 2.0 * (Z @ Z.T)).clamp(min=0) / d
    n_pos = pos.sum()
    invariance = (diff2 * pos).sum() / n_pos if n_pos > 0 else Z.sum() * 0.0
    std = torch.sqrt(Z.var(dim=0) + 1e-4)
    variance = F.relu(1.0 - std).mean()
    Zc = Z - Z.mean(dim=0)
    cov = (Zc.T @ Zc) / max(m - 1, 1)
    covariance = ((cov * cov).sum() - (torch.diagonal(cov) ** 2).sum()) / d
    loss = inv_weight * invariance + var_weight * variance + cov_weight * covariance
    neg = ((G < 0) & off).to(Z.dtype)
    n_neg = neg.sum()
    if n_neg > 0:
        hinge = F.relu(margin - torch.sqrt(diff2 + 1e-8)) ** 2
        loss = loss + inv_weight * (hinge * neg).sum() / n_neg
    return loss


LOSSES = {"spectral_contrastive": spectral_contrastive, "simclr": simclr, "vicreg": vicreg}
