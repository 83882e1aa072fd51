"""The price list: `[costs] label = 1.0`, or a per-class table `label = { cat = 2.0, ... }`."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from palbench.errors import check
from palbench.params import unknown_key_error
from palbench.queries import PriceList


@dataclass(frozen=True)
class Costs:
    """Cost units charged per answer, on one axis for label and pair queries. A per-class label
    table may give `default` for unlisted classes; a captcha (one anchor, M candidates) costs
    captcha_base + M * captcha_item."""

    label: float | dict[str, float] = 1.0
    pair: float = 1.0
    captcha_base: float = 1.0
    captcha_item: float = 0.25

    def validate(self, where: str) -> None:
        check(self.pair > 0, f"{where}.pair", self.pair, "must be positive")
        check(self.captcha_base >= 0, f"{where}.captcha_base", self.captcha_base,
              "must be >= 0")
        check(self.captcha_item > 0, f"{where}.captcha_item", self.captcha_item,
              "must be positive")
        if isinstance(self.label, dict):
            check(bool(self.label), f"{where}.label", self.label, "per-class table is empty")
            for name, value in self.label.items():
                check(value > 0, f"{where}.label.{name}", value, "must be positive")
        else:
            check(self.label > 0, f"{where}.label", self.label, "must be positive")

    def price_list(self, class_names: tuple[str, ...], where: str = "costs") -> PriceList:
        return PriceList(self.label_costs(class_names, where), self.pair, self.captcha_base,
                         self.captcha_item)

    def label_costs(self, class_names: tuple[str, ...], where: str) -> np.ndarray:
        """Per-class label cost array in the dataset's class order."""
        if not isinstance(self.label, dict):
            return np.full(len(class_names), self.label, dtype=np.float64)
        table = dict(self.label)
        default = table.pop("default", None)
        for name in table:
            if name not in class_names:
                raise unknown_key_error(f"{where}.label.{name}", name, table[name],
                                        list(class_names) + ["default"])
        missing = [c for c in class_names if c not in table]
        check(not missing or default is not None, f"{where}.label", self.label,
              f"no cost for class {missing[0]!r} and no 'default'" if missing else "")
        return np.array([table.get(c, default) for c in class_names], dtype=np.float64)
