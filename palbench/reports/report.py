"""Reports from the store.

curves.png: a metric (task_acc by default) against annotation cost, mean over seeds with a 95%
bootstrap band; graph.png: what the answers revealed (samples of known class, connected
components) against cost; leaderboard.md: final value and normalised AULC of the metric, mean
with 95% interval, best in bold. One panel per dataset x oracle x costs x learner; lines per
strategy (or per another field with `hue`).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from palbench.reports.stats import (  # noqa: E402
    bootstrap_ci,
    cost_to_reach,
    paired_against,
    per_run_summary,
)

GROUP_KEYS = ["dataset", "oracle", "costs", "learner", "strategy"]
METRICS = {"task_acc": "test accuracy (task_acc)", "probe_acc": "linear-probe accuracy (probe_acc)"}


def panel_keys(hue: str) -> list[str]:
    return [k for k in GROUP_KEYS if k != hue]


def with_line_column(frame: pd.DataFrame, panels: list[str]) -> tuple[pd.DataFrame, str]:
    """Panels by the given keys; one line per combination of the other keys that vary."""
    varying = [k for k in GROUP_KEYS if k not in panels and frame[k].nunique() > 1]
    varying = varying or [k for k in GROUP_KEYS if k not in panels][:1]
    name = " / ".join(varying)
    frame = frame.assign(**{name: frame[varying].astype(str).agg(" / ".join, axis=1)})
    return frame, name


def panel_title(keys: list[str], values: tuple) -> str:
    parts = [f"{k} {v}" if k != "dataset" else str(v)
             for k, v in zip(keys, values) if not (k == "costs" and v == "costs")]
    return " | ".join(parts)


def _grid(n: int, width: float = 5.5, height: float = 4.2, rows_per_panel: int = 1,
          legend_width: float = 0.0):
    cols = min(n, 3)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows * rows_per_panel, cols,
                             figsize=(max(7.0, width * cols) + legend_width,
                                      height * rows * rows_per_panel + 0.6), squeeze=False)
    return fig, axes, cols


def _legend_width(frame: pd.DataFrame, hue: str) -> float:
    """Room for a legend beside the panels when there are many or long line names."""
    names = frame[hue].astype(str).unique()
    return 0.0 if len(names) <= 3 and max(map(len, names)) <= 24 else \
        min(8.0, 1.0 + 0.075 * max(map(len, names)))


def _place_legend(ax, outside: bool) -> None:
    if outside and ax.get_legend() is not None:
        sns.move_legend(ax, "upper left", bbox_to_anchor=(1.02, 1.0), fontsize=8,
                        title_fontsize=8)


def plot_curves(frame: pd.DataFrame, path: Path, metric: str, hue: str,
                keys: list[str]) -> None:
    panels = list(frame.groupby(keys, sort=True))
    extra = _legend_width(frame, hue)
    fig, axes, _ = _grid(len(panels), legend_width=extra)
    for ax, (key, panel) in zip(axes.flat, panels):
        sns.lineplot(data=panel, x="budget", y=metric, hue=hue, marker="o",
                     errorbar=("ci", 95), n_boot=1000, seed=0, ax=ax)
        _place_legend(ax, extra > 0)
        ax.set_title(panel_title(keys, key), fontsize=9)
        ax.set_xlabel("annotation cost spent (cost units)")
        ax.set_ylabel(METRICS.get(metric, metric))
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(panels):]:
        ax.set_visible(False)
    fig.suptitle("Accuracy vs annotation cost: mean over seeds, 95% bootstrap band",
                 fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_graph(frame: pd.DataFrame, path: Path, hue: str, keys: list[str]) -> None:
    """Samples of known class and connected components against cost, per panel."""
    panels = list(frame.groupby(keys, sort=True))
    extra = _legend_width(frame, hue)
    fig, axes, cols = _grid(len(panels), height=3.3, rows_per_panel=2, legend_width=extra)
    for i, (key, panel) in enumerate(panels):
        row, col = divmod(i, cols)
        for offset, (column, label) in enumerate(
                [("n_labels", "samples of known class"), ("n_components", "connected components")]):
            ax = axes[2 * row + offset, col]
            sns.lineplot(data=panel, x="budget", y=column, hue=hue, errorbar=("ci", 95),
                         n_boot=500, seed=0, ax=ax, legend=offset == 0)
            _place_legend(ax, extra > 0)
            ax.set_ylabel(label)
            ax.set_xlabel("annotation cost spent (cost units)")
            ax.grid(alpha=0.3)
            if offset == 0:
                ax.set_title(panel_title(keys, key), fontsize=9)
    for i in range(len(panels), axes.shape[1] * (axes.shape[0] // 2)):
        row, col = divmod(i, cols)
        axes[2 * row, col].set_visible(False)
        axes[2 * row + 1, col].set_visible(False)
    fig.suptitle("What the answers revealed: mean over seeds, 95% bootstrap band", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def fmt(mean: float, low: float, high: float, digits: int = 3) -> str:
    if low != low:  # NaN: one seed
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} [{low:.{digits}f}, {high:.{digits}f}]"


def leaderboard_markdown(frame: pd.DataFrame, metric: str = "task_acc",
                         hue: str = "strategy", keys: list[str] | None = None) -> str:
    keys = keys or panel_keys(hue)
    summary = per_run_summary(frame, metric)
    if hue not in summary:
        summary = summary.merge(frame[["run_id", hue]].drop_duplicates(), on="run_id")
    lines = ["# palbench leaderboard", "",
             f"Metric: {METRICS.get(metric, metric)}. Mean over seeds with a 95% bootstrap "
             "interval (percentile, 2,000 resamples of the seeds, seeded). AULC: area under "
             "the metric-vs-cost curve between the first and last "
             "budget, divided by that range. Best mean in bold. Free: labelled exemplars "
             "given for free (pair strategies).", ""]
    for key, panel in summary.groupby(keys, sort=True):
        best = panel.groupby(hue)["final"].mean().max()
        reach = reach_costs(frame, keys, key, hue, metric, [0.8 * best, 0.9 * best])
        lines += [f"## {panel_title(keys, key)}", "",
                  f"| {hue} | seeds | final cost | free | final {metric} | AULC | "
                  f"cost to 80% of best ({0.8 * best:.3f}) | cost to 90% of best "
                  f"({0.9 * best:.3f}) |",
                  "|---|---:|---:|---:|---|---|---|---|"]
        rows = []
        for name, runs in panel.groupby(hue):
            rows.append((name, len(runs), runs["final_cost"].mean(), runs["n_free"].mean(),
                         bootstrap_ci(runs["final"], n_boot=2000),
                         bootstrap_ci(runs["aulc"], n_boot=2000)))
        best_final = max(r[4][0] for r in rows)
        best_aulc = max(r[5][0] for r in rows)
        for name, n, cost, free, final, area in sorted(rows, key=lambda r: -r[5][0]):
            final_s, area_s = fmt(*final), fmt(*area)
            if final[0] == best_final:
                final_s = f"**{final_s}**"
            if area[0] == best_aulc:
                area_s = f"**{area_s}**"
            lines.append(f"| {name} | {n} | {cost:g} | {free:g} | {final_s} | {area_s} | "
                         f"{reach[name][0]} | {reach[name][1]} |")
        lines += ["", budget_table(frame, keys, key, metric, hue), ""]
        if hue == "strategy" and "random" in set(panel["strategy"]):
            lines += [paired_table(panel), ""]
    return "\n".join(lines)


def paired_table(panel: pd.DataFrame) -> str:
    """Each strategy against random on AULC over shared seeds (paired t-test, Holm)."""
    verdicts = paired_against(panel, "aulc")
    if verdicts.empty:
        return ""
    out = ["Against random, AULC over shared seeds (paired t-test, Holm-corrected within this "
           "panel; a gain that is not significant at 0.05 is \"no evidence\", not a win):", "",
           "| strategy | seeds | mean gain | p | p (Holm) | verdict |",
           "|---|---:|---:|---:|---:|---|"]
    for row in verdicts.itertuples():
        out.append(f"| {row.strategy} | {row.seeds} | {row.gain:+.3f} | {row.p:.3g} | "
                   f"{row.p_holm:.3g} | {row.verdict} |")
    return "\n".join(out)


def reach_costs(frame: pd.DataFrame, keys: list[str], key: tuple, hue: str, metric: str,
                targets: list[float]) -> dict[str, list[str]]:
    """Per line, the cost to reach each target: bootstrap mean over seeds, or how many runs
    never reached it (censored runs are never averaged in as a number)."""
    panel = frame
    for k, v in zip(keys, key):
        panel = panel[panel[k] == v]
    found: dict[str, list[str]] = {}
    for name, runs in panel.groupby(hue):
        cells = []
        for target in targets:
            costs = np.array([cost_to_reach(run["cost"], run[metric], target)
                              for _, run in runs.sort_values("budget").groupby("run_id")])
            missed = int(np.isinf(costs).sum())
            if missed:
                cells.append(f"not reached in {missed}/{len(costs)}")
            else:
                cells.append(fmt(*bootstrap_ci(costs), digits=1))
        found[name] = cells
    return found


def budget_table(frame: pd.DataFrame, keys: list[str], key: tuple, metric: str,
                 hue: str) -> str:
    """The metric at every budget: mean [95% interval] over seeds, one column per line."""
    panel = frame
    for k, v in zip(keys, key):
        panel = panel[panel[k] == v]
    names = sorted(panel[hue].unique())
    out = [f"{metric} at each budget:", "", "| budget | " + " | ".join(names) + " |",
           "|---:|" + "---|" * len(names)]
    for budget, at in panel.groupby("budget"):
        cells = [fmt(*bootstrap_ci(at[at[hue] == n][metric], n_boot=2000))
                 if (at[hue] == n).any() else "-" for n in names]
        out.append(f"| {budget:g} | " + " | ".join(cells) + " |")
    return "\n".join(out)


def write_report(frame: pd.DataFrame, out_dir: Path, metric: str = "task_acc",
                 hue: str = "strategy", panels: list[str] | None = None,
                 runs: pd.DataFrame | None = None) -> list[Path]:
    """Write the report; `panels` (keys of GROUP_KEYS) overrides `hue`: lines are then the
    combinations of the other keys. With `runs` (the store's run rows), also index.html."""
    from palbench.reports.html import write_html
    from palbench.reports.ranks import plot_ranks

    out_dir.mkdir(parents=True, exist_ok=True)
    frame = frame.dropna(subset=[metric])
    ranked = frame
    if panels:
        frame, hue = with_line_column(frame, panels)
    keys = panels or panel_keys(hue)
    curves, graph, ranks, board = (out_dir / "curves.png", out_dir / "graph.png",
                                   out_dir / "ranks.png", out_dir / "leaderboard.md")
    plot_curves(frame, curves, metric, hue, keys)
    plot_graph(frame, graph, hue, keys)
    plot_ranks(ranked, ranks, metric)
    text = leaderboard_markdown(frame, metric, hue, keys)
    board.write_text(text, encoding="utf-8")
    written = [curves, graph, ranks, board]
    if runs is not None:
        runs = runs[runs["run_id"].isin(frame["run_id"])]
        written.append(write_html(out_dir, text, [
            (curves, f"{METRICS.get(metric, metric)} against annotation cost"),
            (graph, "What the answers revealed"),
            (ranks, "Mean rank across panels")], runs))
    return written
