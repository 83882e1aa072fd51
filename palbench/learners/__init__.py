"""Learners: retrained from scratch at every checkpoint on what the oracle said so far.

Each is imported when a config first names it: `sklearn` and `kernel_pal` runs never import
torch (about 1.3 s of a short run's start-up).
"""

from palbench.learners.base import LEARNERS, Learner, Model

LEARNERS.lazy("mlp", "palbench.learners.supervised")
LEARNERS.lazy("pal", "palbench.learners.pal")
LEARNERS.lazy("kernel_pal", "palbench.learners.kernel")
LEARNERS.lazy("sklearn", "palbench.learners.sklearn_adapter")

__all__ = ["LEARNERS", "Learner", "Model"]
