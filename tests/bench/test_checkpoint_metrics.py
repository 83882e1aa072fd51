"""A checkpoint's metrics are copied from the evaluation's Scores by field name: every metric
the schema declares is measured, under its own name."""

from __future__ import annotations

import dataclasses

from palbench.bench.evaluation import Scores
from palbench.results.schema import METRICS


def test_every_declared_metric_is_a_field_of_the_scores():
    assert set(METRICS) <= {f.name for f in dataclasses.fields(Scores)}

