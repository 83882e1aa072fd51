"""Annotators as people are (docs/studies/annotators.md): asymmetric pair noise that depends on how
many images a question shows, one annotator's label confusions seen through pair questions, and
named presets with their sources. Presets ship parameters, never the source data sets' files.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from palbench.errors import check
from palbench.fields import param
from palbench.oracles.base import ORACLES, Oracle, same_class
from palbench.oracles.noisy import Confusion


def rate_at(rate: float | dict, images: np.ndarray) -> np.ndarray:
    """A rate, or a table {images shown: rate} linearly interpolated (flat beyond its ends)."""
    if not isinstance(rate, dict):
        return np.full(len(images), float(rate))
    sizes = np.array(sorted(int(k) for k in rate), dtype=float)
    values = np.array([rate[str(int(s))] if str(int(s)) in rate else rate[int(s)]
                       for s in sizes], dtype=float)
    return np.interp(images, sizes, values)


def check_rate_table(rate, field_name: str) -> None:
    """A table of rates is keyed by images shown (>= 2); each rate's range is declared."""
    if isinstance(rate, dict):
        check(bool(rate), field_name, rate, "the table of rates by images shown is empty")
        for key in rate:
            check(str(key).isdigit() and int(key) >= 2, f"{field_name}.{key}", key,
                  "keys are the images a question shows (integers >= 2)")


@ORACLES.register("asymmetric_pair")
@dataclass(frozen=True, kw_only=True)
class AsymmetricPair(Oracle):
    """Says "same" to a same-class pair with probability p_yes_same and "different" to a
    different-class pair with p_no_different; each may be a table by images shown."""

    # P("same" | same class): a number, or a table by images shown
    p_yes_same: float | dict = param(0.9, ge=0, le=1)
    # P("different" | different classes), likewise
    p_no_different: float | dict = param(0.9, ge=0, le=1)
    query_kinds = ("pair",)

    def validate(self, where):
        check_rate_table(self.p_yes_same, f"{where}.p_yes_same")
        check_rate_table(self.p_no_different, f"{where}.p_no_different")

    def respond(self, queries, truth, history, rng):
        same = same_class(queries, truth.y).astype(bool)
        shown = queries.images_per_pair()
        u = rng.random(len(queries))
        yes_if_same = u < rate_at(self.p_yes_same, shown)
        yes_if_different = u >= rate_at(self.p_no_different, shown)
        return np.where(same, yes_if_same, yes_if_different).astype(np.int64)


# WWW 2025 "Query design for crowdsourced clustering", drag and drop, mean of the birds (5
# species) and dogs (3 breeds) rows, by images shown (docs/studies/annotators.md)
FINE_GRAINED_YES_SAME = {"2": 0.512, "4": 0.611, "8": 0.6305}
FINE_GRAINED_NO_DIFFERENT = {"2": 0.8875, "4": 0.8915, "8": 0.8415}


@ORACLES.register("fine_grained_pairs")
@dataclass(frozen=True, kw_only=True)
class FineGrainedPairs(AsymmetricPair):
    """Preset: fine-grained pair answers by images shown (WWW 2025, crowdsourced clustering).

    Drag-and-drop rows of birds and dogs, averaged: P(yes | same) 0.51 / 0.61 / 0.63 and
    P(no | different) 0.89 / 0.89 / 0.84 at 2 / 4 / 8 images a question."""

    # P("same" | same class) by images shown (WWW 2025)
    p_yes_same: float | dict = param(default_factory=lambda: dict(FINE_GRAINED_YES_SAME),
                                     ge=0, le=1)
    # P("different" | different classes) by images shown
    p_no_different: float | dict = param(
        default_factory=lambda: dict(FINE_GRAINED_NO_DIFFERENT), ge=0, le=1)


@ORACLES.register("confusion_pair")
@dataclass(frozen=True, kw_only=True)
class ConfusionPair(Confusion):
    """One annotator with a label confusion `matrix`: a label query is one draw from the
    sample's row; a pair question is answered "same" when two independent draws, one per
    sample, agree. Labels and pairs are then compared under one annotator."""

    query_kinds = ("label", "pair")

    def respond(self, queries, truth, history, rng):
        if queries.kind == "label":
            return super().respond(queries, truth, history, rng)
        return (self.draw(truth.y[queries.a], rng) == self.draw(truth.y[queries.b], rng)
                ).astype(np.int64)


def cifar10h_matrix() -> tuple[tuple[float, ...], ...]:
    """CIFAR-10H (Peterson et al. 2019) as a 10-class noise pattern, class index to class index
    (docs/studies/annotators.md): agreement 0.917 for class 4 (deer), 0.975 for 1
    (automobile) and 7 (horse), 0.954 (1 - the 4.6% overall disagreement) where the source
    gives none; the named confusions cat->dog 0.040, dog->cat 0.032, deer->horse 0.033,
    truck->automobile 0.024, airplane->ship 0.020 placed; the rest of each row spread evenly."""
    agreement = np.full(10, 0.954)
    agreement[[4, 1, 7]] = [0.917, 0.975, 0.975]
    named = {(3, 5): 0.040, (5, 3): 0.032, (4, 7): 0.033, (9, 1): 0.024, (0, 8): 0.020}
    matrix = np.zeros((10, 10))
    for i in range(10):
        rest = 1.0 - agreement[i] - sum(p for (a, _), p in named.items() if a == i)
        others = [j for j in range(10) if j != i and (i, j) not in named]
        matrix[i, others] = rest / len(others)
        for (a, b), p in named.items():
            if a == i:
                matrix[i, b] = p
        matrix[i, i] = agreement[i]
    return tuple(tuple(float(v) for v in row) for row in matrix)


@ORACLES.register("cifar10h_labels")
@dataclass(frozen=True, kw_only=True)
class Cifar10hLabels(ConfusionPair):
    """Preset: CIFAR-10 human label confusions as a noise pattern (CIFAR-10H, ICCV 2019).

    Applied class index to class index on any 10-class data, for labels and pairs alike; a
    pattern of human confusions, not CIFAR-10 itself (cifar10h_matrix says how it is built)."""
    examples = ({},)  # its own 10 x 10 matrix: checked on 10 classes
    preset_classes = 10

    matrix: tuple[tuple[float, ...], ...] = param(default_factory=cifar10h_matrix, ge=0)
