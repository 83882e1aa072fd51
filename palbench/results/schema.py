"""The store's columns, defined once: the SQL schema, the store's queries, the exports and the
report's metric choices are all derived from the dataclass and the lists below.

Adding a checkpoint metric = one field on `Checkpoint` (with `metric(...)` metadata when the
report should offer it) plus a migration in migrations.py that adds its column to older stores.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field

from palbench.queries import AnswerRow

SCHEMA_VERSION = 11

# what names a cell (selection_learner: the learner whose models the strategy saw, SELF when
# the evaluated learner selected for itself)
SELF = "self"
CELL_KEYS = ["dataset", "oracle", "costs", "learner", "selection_learner", "strategy"]
PANEL_KEYS = CELL_KEYS[:-1]  # a report's panel: a cell but for the strategy


UNIT = (0.0, 1.0)  # an accuracy or a score between 0 and 1


def metric(label: str, within: tuple[float, float] | None = None,
           **default) -> dataclasses.Field:
    """A checkpoint field that reports can plot and rank (label: its axis title; within: the
    values it can take, which its intervals are cut to); a metric added after runs were
    stored takes `default=None` (NULL for those runs)."""
    return field(metadata={"metric": label, "within": within, "export": True}, **default)


def exported() -> dataclasses.Field:
    return field(metadata={"export": True})


@dataclass
class Checkpoint:
    """One evaluation of a run: what was spent and known at a budget, and how good it was."""

    budget: float = exported()
    cost: float = exported()
    n_queries: int = exported()
    n_free: int
    n_labels: int  # samples whose class the graph knows
    n_abstain: int
    n_wrong: int
    n_components: int
    n_conflicts: int
    task_acc: float = metric("test accuracy (task_acc)", UNIT)
    probe_acc: float | None = metric("linear-probe accuracy (probe_acc)", UNIT)
    select_seconds: float
    fit_seconds: float  # training at this checkpoint, pretraining excluded
    eval_seconds: float
    pretrain_seconds: float = 0.0  # self-supervised pretraining on the pool (once per run)
    # schema 8: for imbalanced data (NULL for the runs before)
    balanced_acc: float | None = metric("balanced test accuracy (balanced_acc)", UNIT,
                                          default=None)
    macro_f1: float | None = metric("macro-F1 on the test set (macro_f1)", UNIT, default=None)


# runs: (column, SQL type and constraint); run_id first
RUN_SCHEMA: list[tuple[str, str]] = [
    ("run_id", "INTEGER PRIMARY KEY"),
    ("spec_hash", "TEXT NOT NULL"),
    ("experiment", "TEXT NOT NULL"),
    ("dataset", "TEXT NOT NULL"),
    ("strategy", "TEXT NOT NULL"),
    ("oracle", "TEXT NOT NULL"),
    ("costs", "TEXT NOT NULL"),
    ("learner", "TEXT NOT NULL"),
    ("seed", "INTEGER NOT NULL"),
    ("spec_json", "TEXT NOT NULL"),
    ("dataset_fingerprint", "TEXT NOT NULL"),
    ("seeds_json", "TEXT NOT NULL"),
    ("palbench_version", "TEXT NOT NULL"),
    ("git_commit", "TEXT"),
    ("library_versions_json", "TEXT NOT NULL"),
    ("device", "TEXT NOT NULL"),
    ("finished_at", "TEXT NOT NULL"),
    ("wall_seconds", "REAL NOT NULL"),
    ("tag", "TEXT"),
    ("run_uid", "TEXT NOT NULL"),
    ("selection_learner", "TEXT"),  # schema 6; SELF when the learner selected for itself
    ("stops_json", "TEXT"),  # schema 7; per stopping criterion, where it would have stopped
    # schema 9: 1 for a reference line that reads the truth by design (greedy_oracle), kept
    # out of ranks and verdicts; the task learner's accuracy on every pool label (the
    # full-pool bound, when [experiment] full_pool = true)
    ("reads_truth", "INTEGER NOT NULL DEFAULT 0"),
    ("full_pool_acc", "REAL"),
]
# what a run row added after older bundles were written holds for those runs
RUN_DEFAULTS = {"selection_learner": SELF, "stops_json": None, "reads_truth": 0,
                "full_pool_acc": None}
RUN_COLUMNS = [name for name, _ in RUN_SCHEMA]
# the run columns joined to every checkpoint row of to_frame()
FRAME_RUN_COLUMNS = ["run_id", "experiment", "dataset", "strategy", "oracle", "costs", "learner",
                     "selection_learner", "seed", "spec_hash", "dataset_fingerprint",
                     "palbench_version", "tag", "git_commit", "device", "stops_json",
                     "reads_truth", "full_pool_acc"]
RUN_FILTERS = {"run_id", "experiment", "dataset", "strategy", "oracle", "costs", "learner",
               "selection_learner", "seed", "spec_hash", "palbench_version", "tag"}
# What identifies a complete cell: one run per key, whatever process finishes it.
COMPLETE_KEY = "spec_hash, palbench_version, IFNULL(tag, '')"

CHECKPOINT_FIELDS = [f.name for f in dataclasses.fields(Checkpoint)]
METRICS = {f.name: f.metadata["metric"] for f in dataclasses.fields(Checkpoint)
           if "metric" in f.metadata}
# the values each metric can take (a mean of them, and an AULC, too): its intervals' limits
METRIC_RANGES = {f.name: f.metadata["within"] for f in dataclasses.fields(Checkpoint)
                 if "metric" in f.metadata}
EXPORT_COLUMNS = ["run_id", "experiment", "dataset", "strategy", "oracle", "costs", "learner",
                  "selection_learner", "seed", "tag", "palbench_version"] + \
    [f.name for f in dataclasses.fields(Checkpoint) if f.metadata.get("export")]


def _sql_type(tp) -> str:
    """REAL / INTEGER, NOT NULL unless the annotation admits None."""
    hints = typing.get_args(tp) if typing.get_origin(tp) in (typing.Union, types.UnionType) \
        else (tp,)
    base = next(h for h in hints if h is not type(None))
    sql = {float: "REAL", int: "INTEGER", str: "TEXT"}[base]
    return sql if type(None) in hints else f"{sql} NOT NULL"


def _nullable(name: str) -> bool:
    return type(None) in typing.get_args(typing.get_type_hints(Checkpoint)[name])


def checkpoint_columns() -> list[tuple[str, str]]:
    hints = typing.get_type_hints(Checkpoint)
    return [(name, _sql_type(hints[name])) for name in CHECKPOINT_FIELDS]


# The run's answer log: one row per answer heard (per worker when a pool answered), in the order
# asked; `verdict` is what the graph was given for that query (the aggregate of its workers).
# answers: one row per AnswerRow (queries.py), the SQL type of each of its fields
ANSWER_SQL = {"position": "INTEGER NOT NULL", "kind": "TEXT NOT NULL", "a": "INTEGER NOT NULL",
              "b": "INTEGER", "worker": "INTEGER", "value": "INTEGER NOT NULL",
              "verdict": "INTEGER NOT NULL", "listed_seconds": "REAL", "charged_seconds": "REAL"}
ANSWER_FIELDS = list(AnswerRow._fields)
# schema 11: what an answer row added after older bundles were written holds for those runs
ANSWER_DEFAULTS = {"listed_seconds": None, "charged_seconds": None}
ANSWER_SCHEMA = [(name, ANSWER_SQL[name]) for name in ANSWER_FIELDS]


def answers_statements() -> list[str]:
    columns = ",\n    ".join(f"{name} {sql}" for name, sql in ANSWER_SCHEMA)
    return [f"CREATE TABLE IF NOT EXISTS answers (\n    run_id INTEGER NOT NULL REFERENCES "
            f"runs (run_id) ON DELETE CASCADE,\n    {columns}\n)",
            "CREATE INDEX IF NOT EXISTS answers_by_run ON answers (run_id, position)"]


# schema 10: the variants of each robustness study and the specs of their runs, recorded
# when the study starts (a run may belong to several variants and studies); base: 1 for the
# variant that is the config as written
STUDY_STATEMENTS = [
    "CREATE TABLE IF NOT EXISTS studies (\n    study TEXT NOT NULL,\n    variant TEXT NOT "
    "NULL,\n    values_json TEXT NOT NULL,\n    base INTEGER NOT NULL,\n    spec_hash TEXT "
    "NOT NULL,\n    PRIMARY KEY (study, variant, spec_hash)\n)",
]


def create_statements() -> list[str]:
    """The statements that create an empty store of SCHEMA_VERSION."""
    runs = ",\n    ".join(f"{name} {sql}" for name, sql in RUN_SCHEMA)
    checkpoints = ",\n    ".join(f"{name} {sql}" for name, sql in checkpoint_columns())
    return [
        "CREATE TABLE schema_version (version INTEGER NOT NULL)",
        f"CREATE TABLE runs (\n    {runs}\n)",
        "CREATE INDEX runs_by_spec ON runs (spec_hash)",
        "CREATE UNIQUE INDEX runs_by_uid ON runs (run_uid)",
        f"CREATE UNIQUE INDEX runs_complete ON runs ({COMPLETE_KEY})",
        "CREATE TABLE checkpoints (\n    run_id INTEGER NOT NULL REFERENCES runs (run_id) "
        f"ON DELETE CASCADE,\n    {checkpoints},\n    PRIMARY KEY (run_id, budget)\n)",
        *answers_statements(),
        *STUDY_STATEMENTS,
    ]


NULLABLE_METRICS = [name for name in METRICS if _nullable(name)]  # NULL for some runs
