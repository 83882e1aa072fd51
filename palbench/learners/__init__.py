"""Learners: retrained from scratch at every checkpoint on what the oracle said so far."""

from palbench.learners import kernel, pal, sklearn_adapter, supervised  # noqa: F401
from palbench.learners.base import LEARNERS, Learner, Model

__all__ = ["LEARNERS", "Learner", "Model"]
