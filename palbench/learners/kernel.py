"""`kernel_pal`: the closed-form kernel learner of the PAL paper's own experiments.

With K the kernel matrix of the pool and G the signed graph of known relations (+1 same
component, -1 known negative, 0 unknown), the embedding of the pool is the top `n_eigen`
eigenvectors Z of  G - lam * pinv(K); new points embed through the kernel,
phi(x) = k(x, X) pinv(K) Z. Dense n x n algebra: for pools of up to a few thousand samples.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.linalg import eigh
from scipy.spatial.distance import cdist

from palbench.errors import check
from palbench.fields import param
from palbench.graph_readers import GraphReader
from palbench.learners.base import LEARNERS, Learner
from palbench.learners.heads import ClassHead, HeadModel, fit_head

MAX_POOL = 5000


def kernel_matrix(A: np.ndarray, B: np.ndarray, kind: str, sigma: float) -> np.ndarray:
    if kind == "exponential":
        return np.exp(-cdist(A, B) / sigma)
    return np.exp(-cdist(A, B, "sqeuclidean") / (2 * sigma**2))


class KernelModel(HeadModel):
    """The pool's spectral embedding, extended to new points through the kernel."""

    def __init__(self, X, alpha, kind, sigma, head: ClassHead):
        self.X, self.alpha, self.kind, self.sigma, self.head = X, alpha, kind, sigma, head

    def embed(self, X):
        return kernel_matrix(np.asarray(X, np.float64), self.X, self.kind, self.sigma) @ \
            self.alpha


@LEARNERS.register("kernel_pal")
@dataclass(frozen=True, kw_only=True)
class KernelPAL(Learner):
    """Closed-form kernel spectral embedding of the known graph (the PAL paper's toy learner)."""
    examples = ({"sigma": 1.0},)

    sigma: float = param(0.2, gt=0)  # kernel width
    lam: float = param(1e-3, ge=0)  # ridge regularisation of the spectral problem
    n_eigen: int = param(5, ge=1)  # eigenvectors kept (the embedding's dimension)
    signed: bool = True  # use known negatives (-1 entries) as well as positives
    kernel: str = param("exponential", choices=("exponential", "gaussian"))  # its shape

    def validate_data(self, data, where):
        check(data.n_pool <= MAX_POOL, f"{where}.name", "kernel_pal",
              f"works on pools of at most {MAX_POOL} samples; {data.name!r} has {data.n_pool}")

    def fit(self, data, graph: GraphReader, *, seed):
        X = np.asarray(data.X, np.float64)
        n = len(X)
        K = kernel_matrix(X, X, self.kernel, self.sigma)
        values, vectors = eigh(K)
        keep = values > 1e-5 / n  # the paper's cutoff: pinvh(K, atol=1e-5 / n)
        K_pinv = (vectors[:, keep] / values[keep]) @ vectors[:, keep].T
        G = graph.signed_block(np.arange(n), signed=self.signed).astype(np.float64)
        k = min(self.n_eigen, n)
        _, Z = eigh(G - self.lam * K_pinv, subset_by_index=[n - k, n - 1])
        Z = Z[:, ::-1] * np.sqrt(n)
        Z *= np.where(Z[np.abs(Z).argmax(axis=0), np.arange(k)] < 0, -1, 1)  # fix signs
        alpha = K_pinv @ Z
        head = fit_head(K @ alpha, graph.known_labels(), data.n_classes, seed)
        return KernelModel(X, alpha, self.kernel, self.sigma, head)
