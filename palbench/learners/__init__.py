"""Learners: retrained from scratch at every checkpoint on what the oracle said so far.

Each is imported when a config first names it: `sklearn` and `kernel_pal` runs never import
torch (about 1.3 s of a short run's start-up).
"""

from palbench.learners.base import LEARNERS, Learner, Model

LEARNERS.lazy(__name__, {
    "supervised": ("mlp",),
    "pal": ("pal",),
    "kernel": ("kernel_pal",),
    "sklearn_adapter": ("sklearn",),
})

__all__ = ["LEARNERS", "Learner", "Model"]
