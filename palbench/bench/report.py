"""Reports from the store: curves.png (accuracy vs cost, mean and 95% band over seeds) and
leaderboard.md (final accuracy and normalised AULC, mean with 95% interval, best in bold)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from palbench.bench.stats import mean_ci, per_run_summary  # noqa: E402

PANEL_KEYS = ["dataset", "oracle", "costs", "learner"]


def panel_title(key: tuple) -> str:
    dataset, oracle, costs, learner = key
    title = f"{dataset} | oracle {oracle} | learner {learner}"
    return title if costs == "costs" else f"{title} | {costs}"


def plot_curves(frame: pd.DataFrame, path: Path) -> None:
    panels = list(frame.groupby(PANEL_KEYS, sort=True))
    n = len(panels)
    cols = min(n, 3)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(max(7.0, 5.5 * cols), 4.2 * rows + 0.6),
                             squeeze=False)
    for ax, (key, panel) in zip(axes.flat, panels):
        sns.lineplot(data=panel, x="budget", y="task_acc", hue="strategy", marker="o",
                     errorbar=("ci", 95), n_boot=1000, seed=0, ax=ax)
        ax.set_title(panel_title(key), fontsize=9)
        ax.set_xlabel("annotation cost spent (cost units)")
        ax.set_ylabel("test accuracy (task_acc)")
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[n:]:
        ax.set_visible(False)
    fig.suptitle("Accuracy vs annotation cost: mean over seeds, 95% bootstrap band",
                 fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def fmt(mean: float, low: float, high: float) -> str:
    if low != low:  # NaN: one seed
        return f"{mean:.3f}"
    return f"{mean:.3f} [{low:.3f}, {high:.3f}]"


def leaderboard_markdown(frame: pd.DataFrame) -> str:
    summary = per_run_summary(frame)
    lines = ["# palbench leaderboard", "",
             "Mean over seeds with 95% Student-t interval. AULC: area under the "
             "accuracy-vs-cost curve between the first and last budget, divided by that range. "
             "Best mean in bold.", ""]
    for key, panel in summary.groupby(PANEL_KEYS, sort=True):
        lines += [f"## {panel_title(key)}", "",
                  "| strategy | seeds | final cost | final accuracy | AULC |",
                  "|---|---:|---:|---|---|"]
        rows = []
        for strategy, runs in panel.groupby("strategy"):
            rows.append((strategy, len(runs), runs["final_cost"].mean(),
                         mean_ci(runs["final_acc"]), mean_ci(runs["aulc"])))
        best_final = max(r[3][0] for r in rows)
        best_aulc = max(r[4][0] for r in rows)
        for strategy, n, cost, final, area in sorted(rows, key=lambda r: -r[4][0]):
            final_s, area_s = fmt(*final), fmt(*area)
            if final[0] == best_final:
                final_s = f"**{final_s}**"
            if area[0] == best_aulc:
                area_s = f"**{area_s}**"
            lines.append(f"| {strategy} | {n} | {cost:g} | {final_s} | {area_s} |")
        lines.append("")
    return "\n".join(lines)


def write_report(frame: pd.DataFrame, out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    curves, board = out_dir / "curves.png", out_dir / "leaderboard.md"
    plot_curves(frame, curves)
    board.write_text(leaderboard_markdown(frame), encoding="utf-8")
    return [curves, board]
