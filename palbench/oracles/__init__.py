"""Simulated annotators: they answer queries from the true labels, with noise, and charge costs."""

from palbench.oracles import (  # noqa: F401  (registers the oracles)
    exact,
    noisy,
    pairs,
    people,
    workers,
)
from palbench.oracles.base import ABSTAIN, ORACLES, Answers, Oracle, Truth

__all__ = ["ABSTAIN", "ORACLES", "Answers", "Oracle", "Truth"]
