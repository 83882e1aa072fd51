"""Simulated annotators: they answer queries from the true labels, with noise, and charge costs.

Each built-in is named here and imported on first use (`Registry.lazy`); third-party oracles
come by entry point (group ``palbench.oracles``) or by import path.
"""

from palbench.oracles.base import ABSTAIN, ORACLES, Answers, Oracle, Truth

ORACLES.lazy(__name__, {
    "exact": ("exact",),
    "noisy": ("noisy_label", "confusion", "abstain"),
    "pairs": ("exact_pair", "noisy_pair", "corrupted_labels"),
    "practice": ("practice",),
    "people": ("asymmetric_pair", "fine_grained_pairs", "confusion_pair", "cifar10h_labels"),
    "workers": ("workers",),
})

__all__ = ["ABSTAIN", "ORACLES", "Answers", "Oracle", "Truth"]
