"""Simulated annotators: they answer queries from the true labels, with noise, and charge costs."""

from palbench.oracles import exact, noisy, pairs, people  # noqa: F401  (registers them)
from palbench.oracles.base import ABSTAIN, ORACLES, Answers, Oracle, Truth

__all__ = ["ABSTAIN", "ORACLES", "Answers", "Oracle", "Truth"]
