"""Writes the tables of docs/studies/representations.md from the study's store: per dataset,
each strategy's AULC in each representation (which strategy wins where), each strategy
against random within a representation, and each representation against raw pixels for the
same strategy, all paired over seeds with the leaderboard's statistics (Student-t intervals
cut to [0, 1], the exact sign-flip test, Holm's correction).

    bash configs/representations/run_all.sh STORE     # runs the study (it calls this)
    python tools/representation_study.py STORE        # the tables and figure from a store

Representations are the runs' learner labels (configs/representations/*.toml); a strategy's
name is its line without its space (`coreset(space=pretrained)` is coreset, in pal's
self-supervised embedding, where the `pal ssl` arm selects).
"""

from __future__ import annotations

import re
import sys
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

from palbench.reports.metrics import per_run
from palbench.reports.stats import holm, mean_ci, paired_method, sign_flip_p
from palbench.results.schema import METRIC_RANGES
from palbench.results.store import ResultsStore

DOCS = Path(__file__).resolve().parents[1] / "docs"
PAGE = DOCS / "studies" / "representations.md"
FIGURE = DOCS / "images" / "representations.png"  # the page's curves
BEGIN, END = "<!-- tables: begin (tools/representation_study.py) -->", "<!-- tables: end -->"
DATASETS = {"representations-digits": "Digits", "representations-fashion": "Fashion-MNIST"}
ARMS = ("pixels", "select in efficientnet, learn on pixels", "efficientnet", "pal ssl")
STRATEGIES = ("random", "margin", "coreset", "typiclust", "pal_ordered")
BASE_ARM = "pixels"
ALPHA = 0.05
UNIT = METRIC_RANGES["task_acc"]


def checkpoints_of(store: str, experiment: str) -> pd.DataFrame:
    with ResultsStore(store, mode="read") as results:
        frame = results.to_frame(experiment=experiment)
    frame["strategy"] = frame["strategy"].map(lambda s: re.sub(r"\(space=\w+\)$", "", s))
    return frame


def runs_of(store: str, experiment: str) -> pd.DataFrame:
    """One row per run: its arm, strategy (space dropped), seed, AULC and the accuracy at the
    first and last budget."""
    frame = checkpoints_of(store, experiment)
    runs = per_run(frame)
    first = frame.sort_values("budget").groupby("run_id")["task_acc"].first()
    runs["first"] = runs["run_id"].map(first)
    runs["arm"] = runs["learner"]
    return runs


def figure(store: str, path: Path = FIGURE) -> None:
    """Accuracy against questions: a row per dataset, a panel per representation, a line
    per strategy in one colour throughout, the 95% t band over seeds."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import seaborn as sns

    from palbench.reports.stats import t_band

    colours = dict(zip(STRATEGIES, sns.color_palette("tab10", len(STRATEGIES))))
    fig, axes = plt.subplots(len(DATASETS), len(ARMS), figsize=(4 * len(ARMS), 3.4 * len(DATASETS)),
                             sharex=True, sharey="row", squeeze=False)
    for row, (experiment, title) in enumerate(DATASETS.items()):
        frame = checkpoints_of(store, experiment)
        for col, arm in enumerate(ARMS):
            ax = axes[row, col]
            sns.lineplot(data=frame[frame["learner"] == arm], x="budget", y="task_acc",
                         hue="strategy", hue_order=STRATEGIES, palette=colours, marker="o",
                         errorbar=partial(t_band, within=UNIT), ax=ax,
                         legend=row == 0 and col == len(ARMS) - 1)
            ax.set_title(f"{title}: {arm}", fontsize=9)
            ax.set_xlabel("questions (10 = 1 a class)")
            ax.set_ylabel("test accuracy")
            ax.grid(alpha=0.3)
    axes[0, -1].legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def interval(values) -> str:
    point, low, high = mean_ci(values, within=UNIT)
    return f"{point:.3f} [{low:.3f}, {high:.3f}]"


def wins_table(runs: pd.DataFrame) -> str:
    """AULC (and accuracy at 1 and 10 labels a class) per strategy and representation."""
    lines = ["| strategy | " + " | ".join(ARMS) + " |", "|---|" + "---|" * len(ARMS)]
    best = {arm: runs[runs["arm"] == arm].groupby("strategy")["aulc"].mean().max()
            for arm in ARMS}
    for strategy in STRATEGIES:
        cells = []
        for arm in ARMS:
            line = runs[(runs["arm"] == arm) & (runs["strategy"] == strategy)]
            text = interval(line["aulc"])
            cells.append(f"**{text}**" if np.isclose(line["aulc"].mean(), best[arm]) else text)
        lines.append(f"| {strategy} | " + " | ".join(cells) + " |")
    for column, label in (("first", "accuracy at 1 label a class, best line"),
                          ("final", "accuracy at 10 labels a class, best line")):
        cells = []
        for arm in ARMS:
            means = runs[runs["arm"] == arm].groupby("strategy")[column].mean()
            cells.append(f"{means.max():.3f} ({means.idxmax()})")
        lines.append(f"| *{label}* | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def paired(runs: pd.DataFrame, pairs: list[tuple[dict, dict]]) -> list[dict]:
    """For each (mine, baseline) selection of runs: the mean paired AULC gain over the seeds
    both ran, its sign-flip p and Holm's adjustment over all the pairs given."""
    found = []
    for mine, base in pairs:
        a = select(runs, mine).set_index("seed")["aulc"]
        b = select(runs, base).set_index("seed")["aulc"]
        seeds = a.index.intersection(b.index)
        gain = (a[seeds] - b[seeds]).to_numpy()
        found.append({"gain": float(gain.mean()), "p": float(sign_flip_p(gain)),
                      "seeds": len(seeds)})
    for row, adjusted in zip(found, holm(np.array([r["p"] for r in found]))):
        row["p_holm"] = float(adjusted)
        row["verdict"] = "no evidence" if adjusted >= ALPHA else \
            "better" if row["gain"] > 0 else "worse"
    return found


def select(runs: pd.DataFrame, where: dict) -> pd.DataFrame:
    mask = np.ones(len(runs), bool)
    for key, value in where.items():
        mask &= (runs[key] == value).to_numpy()
    return runs[mask]


def against_random_table(runs: pd.DataFrame) -> str:
    """Each strategy against random in the same representation (Holm within each)."""
    lines = ["| strategy | " + " | ".join(ARMS) + " |", "|---|" + "---|" * len(ARMS)]
    cells = {}
    for arm in ARMS:
        others = [s for s in STRATEGIES if s != "random"]
        rows = paired(runs, [({"arm": arm, "strategy": s}, {"arm": arm, "strategy": "random"})
                             for s in others])
        for strategy, row in zip(others, rows):
            cells[strategy, arm] = verdict_text(row)
    for strategy in STRATEGIES[1:]:
        lines.append(f"| {strategy} | " + " | ".join(cells[strategy, arm] for arm in ARMS) + " |")
    return "\n".join(lines)


def against_pixels_table(runs: pd.DataFrame) -> str:
    """Each representation against raw pixels for the same strategy (Holm within each)."""
    arms = [arm for arm in ARMS if arm != BASE_ARM]
    lines = ["| strategy | " + " | ".join(arms) + " |", "|---|" + "---|" * len(arms)]
    for strategy in STRATEGIES:
        rows = paired(runs, [({"arm": arm, "strategy": strategy},
                              {"arm": BASE_ARM, "strategy": strategy}) for arm in arms])
        lines.append(f"| {strategy} | " + " | ".join(verdict_text(r) for r in rows) + " |")
    return "\n".join(lines)


def verdict_text(row: dict) -> str:
    return f"{row['gain']:+.3f}, {row['verdict']} (Holm p {row['p_holm']:.3g})"


def section(runs: pd.DataFrame, title: str) -> str:
    n = int(runs.groupby(["arm", "strategy"])["seed"].nunique().min())
    return "\n\n".join([
        f"### {title}",
        f"AULC of test accuracy over 1-10 labels a class (budgets 10-100), mean over {n} "
        "seeds [95% t interval, cut to [0, 1]]; the best line of each representation in bold. "
        "The last two rows: the best line's mean accuracy at the first and last budget.",
        wins_table(runs),
        f"Against random in the same representation: the mean paired AULC gain over the "
        f"{n} seeds, {paired_method(n)}, Holm-corrected over the 4 strategies of a column.",
        against_random_table(runs),
        "Against raw pixels for the same strategy: the mean paired AULC gain of each "
        "representation over the `pixels` arm, Holm-corrected over the 3 representations of "
        "a row.",
        against_pixels_table(runs)])


def tables(store: str) -> str:
    return "\n\n".join(section(runs_of(store, experiment), title)
                       for experiment, title in DATASETS.items())


def write(store: str, page: Path = PAGE) -> None:
    text = page.read_text()
    head, rest = text.split(BEGIN)
    _, tail = rest.split(END)
    page.write_text(f"{head}{BEGIN}\n\n{tables(store)}\n\n{END}{tail}")


if __name__ == "__main__":
    store = sys.argv[1] if len(sys.argv) > 1 else "representations.sqlite"
    write(store)
    figure(store)
    print(f"wrote the tables of {PAGE} and {FIGURE}")
