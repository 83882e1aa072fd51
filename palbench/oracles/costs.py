"""The price list: `[costs] label = 1.0`, or a per-class table `label = { cat = 2.0, ... }`, in
cost units; or `model = "seconds"`: annotator seconds from published measurements."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from palbench.errors import check
from palbench.fields import param
from palbench.params import unknown_key_error
from palbench.protocol import Component
from palbench.queries import PriceList

# Annotator seconds (docs/studies/annotators.md), least-squares fits:
# - a label: a + b x classes through CIFAR-10N (10 classes, median 4.2 s a label) and
#   CIFAR-100N (100 classes, 17.6 s): 2.71 + 0.149 C
# - a pair question: 3.36 s, the mean of the two-image radio-button medians (3.16 birds, 3.56
#   dogs; WWW 2025)
# - a captcha (anchor + m candidates, one click each, like the radio interface): the radio
#   medians at 2-4 images, 2.30 + 1.10 per candidate
# - a group question of M images (drag and drop): the birds and dogs medians at M = 2..8,
#   1.10 + 3.64 (M - 1); the rounded 2.5 + 3 (M - 1) of the design's notes is 0.3-1.3 s off
#   at M = 2 and 8, and overstates small questions, where pairs are compared with labels
SECONDS = {"label_base": 2.71, "label_per_class": 0.149, "pair": 3.36, "captcha_base": 2.30,
           "captcha_item": 1.10, "group_base": 1.10, "group_item": 3.64}
MODELS = ("units", "seconds")
UNIT = {"units": "cost units", "seconds": "annotator seconds"}


@dataclass(frozen=True, kw_only=True)
class Costs(Component):
    """Cost units charged per answer, on one axis for label and pair queries. A per-class label
    table may give `default` for unlisted classes; a captcha (one anchor, M candidates) costs
    captcha_base + M * captcha_item, a group question of M images group_base + group_item *
    (M - 1). With `model = "seconds"` every price is in annotator seconds from SECONDS
    (entries overridable in `seconds`), the label's from the number of classes."""

    # price of a label answer, or per class { name = price, default = ... }
    label: float | dict[str, float] = param(1.0, gt=0)
    pair: float = param(1.0, gt=0)  # price of a pair answer
    # a captcha of M candidates costs captcha_base + M x captcha_item
    captcha_base: float = param(1.0, ge=0)
    captcha_item: float = param(0.25, gt=0)  # price per candidate shown in a captcha
    # a group question of M images costs group_base + group_item x (M - 1)
    group_base: float = param(0.0, ge=0)
    group_item: float = param(1.0, gt=0)  # price per further image of a group question
    # "units" (these prices) or "seconds" (annotator seconds, docs/studies/annotators.md)
    model: str = param("units", choices=MODELS)
    # with model = "seconds": { label_base, pair, ... = seconds } over the measured defaults
    seconds: dict = param(default_factory=dict, ge=0, finite=True)
    kind = "costs"
    registry_name = "costs"  # the [costs] section is one class, not a registry

    def validate(self, where: str) -> None:
        check(self.label != {}, f"{where}.label", self.label, "per-class table is empty")
        for key, value in self.seconds.items():
            if key not in SECONDS:
                raise unknown_key_error(f"{where}.seconds.{key}", key, value, list(SECONDS))
        if self.model == "seconds":
            s = self.in_seconds
            for classes in (2, 1_000_000):  # linear in the classes: both ends decide
                price = s["label_base"] + s["label_per_class"] * classes
                check(price > 0, f"{where}.seconds", self.seconds,
                      f"gives a label price of {price:g} s at {classes} classes; every price "
                      "must be positive")
            for name in ("pair", "captcha_item", "group_item"):
                check(s[name] > 0, f"{where}.seconds.{name}", s[name], "must be positive")

    @property
    def in_seconds(self) -> dict:
        return {**SECONDS, **self.seconds}

    @property
    def unit(self) -> str:
        return UNIT[self.model]

    def price_list(self, class_names: tuple[str, ...], where: str = "costs") -> PriceList:
        label = self.label_costs(class_names, where)
        if self.model == "seconds":
            s = self.in_seconds
            return PriceList(label, s["pair"], s["captcha_base"], s["captcha_item"],
                             s["group_base"], s["group_item"])
        return PriceList(label, self.pair, self.captcha_base, self.captcha_item,
                         self.group_base, self.group_item)

    def label_costs(self, class_names: tuple[str, ...], where: str) -> np.ndarray:
        """Per-class label cost array in the dataset's class order."""
        if self.model == "seconds":
            s = self.in_seconds
            price = s["label_base"] + s["label_per_class"] * len(class_names)
            return np.full(len(class_names), price, dtype=np.float64)
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


def price_list_for(n_classes: int, label=None, **prices) -> PriceList:
    """The price list of `Costs(**prices)` on classes 0..n_classes-1, with `label` (an array
    of per-class prices) in place of the flat label price when given: for tests and
    benchmarks that build a Truth by hand."""
    made = Costs(**prices).price_list(tuple(str(c) for c in range(n_classes)))
    return made if label is None else replace(made, label=np.asarray(label, np.float64))
