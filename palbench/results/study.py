"""A robustness study's variant as the store records it (`palbench robustness` writes it,
reports and claims read it): the values it gives the varied keys and its runs' specs."""

from __future__ import annotations

import json
from dataclasses import dataclass


@dataclass(frozen=True)
class Variant:
    """One protocol of a study: the values it gives the varied keys, and its runs' specs."""

    name: str
    values: dict
    hashes: frozenset
    base: bool = False  # the config as written (the verdicts a flip is measured against)

    @property
    def values_json(self) -> str:
        return json.dumps(self.values, sort_keys=True)


def variant_name(values: dict) -> str:
    """How a variant is named everywhere: its key=value pairs in the order given."""
    return ", ".join(f"{key}={json.dumps(value) if isinstance(value, str) else value}"
                     for key, value in values.items())
