"""The checks that need the data, before anything is written: matrix sizes, per-class costs,
the inputs a learner trains on, an initial labelled set, and budgets the pool can pay."""

from __future__ import annotations

import numpy as np

from palbench.bench.experiment import Experiment
from palbench.bench.grid import Entry, together, where_of
from palbench.datasets import Dataset
from palbench.errors import check


def pool_cost(sections: dict, data: Dataset) -> float:
    """What labelling the whole pool costs under the cheapest of the price lists."""
    n = len(sections["costs"])
    return min(float(costs.obj.label_costs(data.class_names, where_of("costs", c, n))[
        data.y].sum()) for c, costs in enumerate(sections["costs"]))


def check_against_data(base: Experiment, sections: dict, datasets: dict) -> None:
    """The checks that need the data: matrix sizes, per-class costs, affordable budgets."""
    n_costs = len(sections["costs"])
    for dataset_component in sections["dataset"]:
        data = datasets[dataset_component.label]
        experiment = base.for_dataset(pool_cost(sections, data))
        check_inputs(sections, data, dataset_component)
        for section in ("oracle", "learner", "selection_learner", "strategy"):
            for i, entry in enumerate(sections[section]):
                if together({"dataset": dataset_component, section: entry}):
                    entry.obj.validate_data(data.trained_on(entry.obj.input)
                                            if section.endswith("learner") else data,
                                            where_of(section, i, len(sections[section])))
        selecting = "selection_learner" if sections["selection_learner"] else "learner"
        for i, learner in enumerate(sections[selecting]):  # what the strategies will see
            if not together({"dataset": dataset_component, selecting: learner}):
                continue
            can = learner.obj.capabilities(data.trained_on(learner.obj.input))
            for strategy in sections["strategy"]:
                if not together({"dataset": dataset_component, selecting: learner,
                                 "strategy": strategy}):
                    continue
                for capability in sorted(strategy.obj.requires() - can):
                    raise learner.obj.refuse(capability,
                                             where_of(selecting, i, len(sections[selecting])),
                                             strategy.label)
        check_initial(experiment, sections, data, dataset_component.label)
        asks_labels = any(s.obj.query_kind == "label" for s in sections["strategy"])
        for c, costs in enumerate(sections["costs"]):
            where = where_of("costs", c, n_costs)
            label_cost = costs.obj.label_costs(data.class_names, where)
            payable = float(label_cost[data.y].sum())
            check(not asks_labels or experiment.budgets[-1] <= payable + 1e-9,
                  "experiment.budgets",
                  experiment.budgets[-1],
                  f"larger than labelling the whole pool of {dataset_component.label!r} "
                  f"costs ({payable:g}: {data.n_pool} samples)")


def check_inputs(sections: dict, data: Dataset, dataset_component: Entry) -> None:
    """A learner trains on features only where the dataset has them, and a selection learner
    on the view its run's learner trains on (a run's models and strategies share one view)."""
    for section in ("learner", "selection_learner"):
        n = len(sections[section])
        for i, entry in enumerate(sections[section]):
            check(entry.obj.input == "inputs" or data.features is not None or
                  not together({"dataset": dataset_component, section: entry}),
                  f"{where_of(section, i, n)}.input", entry.obj.input,
                  f"dataset {dataset_component.label!r} has no features: give them with "
                  '[dataset] features = "file"')
    for i, selector in enumerate(sections["selection_learner"]):
        for learner in sections["learner"]:
            check(selector.obj.input == learner.obj.input or
                  not together({"dataset": dataset_component, "learner": learner,
                                "selection_learner": selector}),
                  f"{where_of('selection_learner', i, len(sections['selection_learner']))}"
                  ".input", selector.obj.input,
                  f"differs from learner {learner.label!r}'s input ({learner.obj.input}): a "
                  "run's models see one view of the samples")


def check_initial(experiment: Experiment, sections: dict, data: Dataset, label: str) -> None:
    """An initial labelled set must be answerable, drawable from the pool and, when charged,
    affordable by the first budget."""
    n = experiment.initial
    if n == 0:
        return
    for o, oracle in enumerate(sections["oracle"]):
        check("label" in oracle.obj.query_kinds,
              where_of("oracle", o, len(sections["oracle"])) + ".name", oracle.name,
              "answers only pair queries; an initial labelled set ([experiment] initial) "
              "needs label answers")
    total = n
    if experiment.initial_by == "per_class":
        counts = np.bincount(data.y, minlength=data.n_classes)
        check(counts.min() >= n, "experiment.initial", n, f"{n} per class, but class "
              f"{data.class_names[int(counts.argmin())]!r} of {label!r} has only "
              f"{counts.min()} samples in the pool")
        total = n * data.n_classes
    check(total <= data.n_pool, "experiment.initial", n, f"more than the pool of {label!r} "
          f"({data.n_pool} samples)")
    if not experiment.initial_charged:
        return
    for c, costs in enumerate(sections["costs"]):
        most = float(costs.obj.label_costs(data.class_names, where_of(
            "costs", c, len(sections["costs"]))).max()) * total
        check(most <= experiment.budgets[0] + 1e-9, "experiment.initial", n,
              f"its {total} labels may cost up to {most:g}, more than the first budget "
              f"({experiment.budgets[0]:g}); raise the budget or set initial_charged = false")
