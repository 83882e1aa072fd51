"""Reports from the store.

curves.png: a metric (task_acc by default) against annotation cost, mean over seeds with a 95%
bootstrap band; graph.png: what the answers revealed (samples of known class, connected
components) against cost; ranks.png: mean ranks across panels; leaderboard.md and index.html:
final value and normalised AULC of the metric, mean with 95% interval, best in bold, rendered
from the same tables. One panel per dataset x oracle x costs x learner; lines per strategy (or
per another field with `hue`). One run counts per cell and seed (metrics.one_run_per_seed).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from palbench.reports.metrics import CELL_KEYS, one_run_per_seed, per_run
from palbench.reports.stats import bootstrap_ci, paired_against
from palbench.reports.tables import Block, Heading, Paragraph, Table, to_markdown
from palbench.results.schema import METRICS


def panel_keys(hue: str) -> list[str]:
    return [k for k in CELL_KEYS if k != hue]


def panel_title(keys: list[str], values: tuple) -> str:
    parts = [f"{k} {v}" if k != "dataset" else str(v)
             for k, v in zip(keys, values) if not (k == "costs" and v == "costs")]
    return " | ".join(parts)


def with_line_column(frame: pd.DataFrame, panels: list[str]) -> tuple[pd.DataFrame, str]:
    """Panels by the given keys; one line per combination of the other keys that vary."""
    varying = [k for k in CELL_KEYS if k not in panels and frame[k].nunique() > 1]
    varying = varying or [k for k in CELL_KEYS if k not in panels][:1]
    name = " / ".join(varying)
    frame = frame.assign(**{name: frame[varying].astype(str).agg(" / ".join, axis=1)})
    return frame, name


def fmt(mean: float, low: float, high: float, digits: int = 3) -> str:
    if low != low:  # NaN: one seed
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} [{low:.{digits}f}, {high:.{digits}f}]"


def _panel(frame: pd.DataFrame, keys: list[str], key: tuple) -> pd.DataFrame:
    mask = np.ones(len(frame), dtype=bool)
    for k, v in zip(keys, key):
        mask &= (frame[k] == v).to_numpy()
    return frame[mask]


def leaderboard_blocks(frame: pd.DataFrame, metric: str = "task_acc", hue: str = "strategy",
                       keys: list[str] | None = None) -> list[Block]:
    keys = keys or panel_keys(hue)
    summary = per_run(frame, metric)
    if hue not in summary:
        summary = summary.merge(frame[["run_id", hue]].drop_duplicates(), on="run_id")
    blocks: list[Block] = [
        Heading("palbench leaderboard", 1),
        Paragraph(f"Metric: {METRICS.get(metric, metric)}. Mean over seeds with a 95% bootstrap "
                  "interval (percentile, 2,000 resamples of the seeds, seeded). AULC: area under "
                  "the metric-vs-cost curve between the first and last budget, divided by that "
                  "range. Best mean in bold. Free: labelled exemplars given for free (pair "
                  "strategies).")]
    for key, panel in summary.groupby(keys, sort=True):
        best = panel.groupby(hue)["final"].mean().max()
        targets = {"to80": 0.8 * best, "to90": 0.9 * best}
        reach = reach_costs(_panel(frame, keys, key), hue, metric, targets)
        rows = []
        for name, runs in panel.groupby(hue):
            rows.append((name, len(runs), runs["final_cost"].mean(), runs["n_free"].mean(),
                         bootstrap_ci(runs["final"], n_boot=2000),
                         bootstrap_ci(runs["aulc"], n_boot=2000)))
        rows.sort(key=lambda r: -r[5][0])
        best_final = max(r[4][0] for r in rows)
        best_aulc = max(r[5][0] for r in rows)
        final_col, aulc_col = f"final {metric}", "AULC"
        table = pd.DataFrame(
            [(name, n, f"{cost:g}", f"{free:g}", fmt(*final), fmt(*area), *reach[name])
             for name, n, cost, free, final, area in rows],
            columns=[hue, "seeds", "final cost", "free", final_col, aulc_col,
                     f"cost to 80% of best ({targets['to80']:.3f})",
                     f"cost to 90% of best ({targets['to90']:.3f})"])
        bold = {(i, final_col) for i, r in enumerate(rows) if r[4][0] == best_final} | \
            {(i, aulc_col) for i, r in enumerate(rows) if r[5][0] == best_aulc}
        panel_rows = _panel(frame, keys, key)
        units = sorted(set(panel_rows["cost_unit"])) if "cost_unit" in panel_rows else []
        blocks += [Heading(panel_title(keys, key))]
        if units == ["annotator seconds"]:
            blocks.append(Paragraph("Costs and budgets in annotator seconds."))
        blocks += [Table(table, bold, right=("seeds", "final cost", "free")),
                   Paragraph(f"{metric} at each budget:"),
                   budget_table(_panel(frame, keys, key), metric, hue)]
        if hue == "strategy" and "random" in set(panel["strategy"]):
            blocks += paired_blocks(panel)
    return blocks


def leaderboard_markdown(frame: pd.DataFrame, metric: str = "task_acc",
                         hue: str = "strategy", keys: list[str] | None = None) -> str:
    return to_markdown(leaderboard_blocks(frame, metric, hue, keys))


def paired_blocks(panel: pd.DataFrame) -> list[Block]:
    """Each strategy against random on AULC over shared seeds (paired t-test, Holm)."""
    verdicts = paired_against(panel, "aulc")
    if verdicts.empty:
        return []
    table = pd.DataFrame({"strategy": verdicts["strategy"], "seeds": verdicts["seeds"],
                          "mean gain": verdicts["gain"].map("{:+.3f}".format),
                          "p": verdicts["p"].map("{:.3g}".format),
                          "p (Holm)": verdicts["p_holm"].map("{:.3g}".format),
                          "verdict": verdicts["verdict"]})
    return [Paragraph("Against random, AULC over shared seeds (paired t-test, Holm-corrected "
                      "within this panel; a gain that is not significant at 0.05 is \"no "
                      "evidence\", not a win):"),
            Table(table, right=("seeds", "mean gain", "p", "p (Holm)"))]


def reach_costs(panel: pd.DataFrame, hue: str, metric: str,
                targets: dict[str, float]) -> dict[str, list[str]]:
    """Per line, the cost to reach each target: bootstrap mean over seeds, or how many runs
    never reached it (censored runs are never averaged in as a number)."""
    runs = per_run(panel, metric, targets)
    if hue not in runs:
        runs = runs.merge(panel[["run_id", hue]].drop_duplicates(), on="run_id")
    found: dict[str, list[str]] = {}
    for name, line in runs.groupby(hue):
        cells = []
        for target in targets:
            costs = line[target].to_numpy(float)
            missed = int(np.isinf(costs).sum())
            cells.append(f"not reached in {missed}/{len(costs)}" if missed else
                         fmt(*bootstrap_ci(costs), digits=1))
        found[name] = cells
    return found


def budget_table(panel: pd.DataFrame, metric: str, hue: str) -> Table:
    """The metric at every budget: mean [95% interval] over seeds, one column per line."""
    names = sorted(panel[hue].unique())
    rows = []
    for budget, at in panel.groupby("budget"):
        rows.append([f"{budget:g}"] + [
            fmt(*bootstrap_ci(at[at[hue] == n][metric], n_boot=2000))
            if (at[hue] == n).any() else "-" for n in names])
    return Table(pd.DataFrame(rows, columns=["budget"] + names), right=("budget",))


def rank_blocks_of(frame: pd.DataFrame, metric: str, hue: str, blocks: str) -> list:
    """The mean ranks as a table, with the Friedman p-value and the Nemenyi critical
    difference (Demsar 2006), when there are at least two blocks."""
    from palbench.reports.ranks import critical_difference, friedman, mean_ranks
    ranks, n = mean_ranks(frame, metric, hue, blocks)
    if n < 2 or len(ranks) < 3:
        return []
    p = friedman(frame, metric, hue, blocks)
    cd = critical_difference(len(ranks), n)
    unit = "panel x seed blocks" if blocks == "seed" else "panels"
    verdict = (f"Friedman p = {p:.2g}: the ranks differ; mean ranks closer than the critical "
               f"difference CD = {cd:.2f} (Nemenyi, 0.05) are not distinguishable."
               if p < 0.05 else f"Friedman p = {p:.2g}: no evidence that the ranks differ.")
    return [Heading(f"Mean ranks by AULC of {metric} over {n} {unit}"), Paragraph(verdict),
            Table(pd.DataFrame({hue: list(ranks.index),
                                "mean rank": [f"{r:.2f}" for r in ranks.values]}),
                  right=("mean rank",))]


def write_report(frame: pd.DataFrame, out_dir: Path, metric: str = "task_acc",
                 hue: str = "strategy", panels: list[str] | None = None,
                 runs: pd.DataFrame | None = None, rank_blocks: str = "panel") -> list[Path]:
    """Write the report; `panels` (keys of CELL_KEYS) overrides `hue`: lines are then the
    combinations of the other keys. With `runs` (the store's run rows), also index.html."""
    from palbench.reports.html import write_html
    from palbench.reports.plots import plot_curves, plot_graph, plot_ranks

    out_dir.mkdir(parents=True, exist_ok=True)
    frame = frame.dropna(subset=[metric])
    kept = one_run_per_seed(frame)
    dropped = frame["run_id"].nunique() - kept["run_id"].nunique()
    # rows in cell, seed and budget order: intervals do not depend on which worker finished first
    frame = kept.sort_values(CELL_KEYS + ["seed", "budget"], kind="stable")
    if panels:
        frame, hue = with_line_column(frame, panels)
    keys = panels or panel_keys(hue)
    curves, graph, ranks, board = (out_dir / "curves.png", out_dir / "graph.png",
                                   out_dir / "ranks.png", out_dir / "leaderboard.md")
    plot_curves(frame, curves, metric, hue, keys)
    plot_graph(frame, graph, hue, keys)
    plot_ranks(frame, ranks, metric, hue, rank_blocks)
    blocks = leaderboard_blocks(frame, metric, hue, keys) + rank_blocks_of(frame, metric, hue,
                                                                          rank_blocks)
    if dropped:
        blocks.insert(2, Paragraph(
            f"{dropped} older run(s) of a cell and seed that the store also holds in a newer "
            "run (another tag or palbench version) are left out: each seed counts once."))
    board.write_text(to_markdown(blocks), encoding="utf-8")
    written = [curves, graph, ranks, board]
    if runs is not None:
        runs = runs[runs["run_id"].isin(frame["run_id"])]
        written.append(write_html(out_dir, blocks, [
            (curves, f"{METRICS.get(metric, metric)} against annotation cost"),
            (graph, "What the answers revealed"),
            (ranks, "Mean rank across " + ("panels and seeds" if rank_blocks == "seed"
                                           else "panels"))], runs))
    return written
