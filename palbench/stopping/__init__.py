"""Stopping criteria: when would a practitioner have stopped asking? They observe a run at each
checkpoint and never change it; every run records, per criterion, where it would have stopped.

Each built-in is named here and imported on first use (`Registry.lazy`); third-party criteria
come by entry point (group ``palbench.stopping``) or by import path.
"""

from palbench.stopping.base import STOPPING, Observation, StoppingCriterion, first_stop

STOPPING.lazy(__name__, {
    "criteria": ("stabilizing_predictions", "classification_change", "overall_uncertainty",
                 "performance_plateau", "max_budget"),
})

__all__ = ["STOPPING", "Observation", "StoppingCriterion", "first_stop"]
