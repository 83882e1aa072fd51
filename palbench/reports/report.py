"""Reports from the store.

curves.png: a metric (task_acc by default) against annotation cost, mean over seeds with a 95%
t band; graph.png: what the answers revealed (samples of known class, connected
components) against cost; ranks.png: mean ranks across panels; leaderboard.md and index.html:
final value and normalised AULC of the metric, mean with 95% interval, best in bold, rendered
from the same tables. One panel per dataset x oracle x costs x learner; lines per strategy (or
per another field with `hue`). A cell is a spec: cells that share labels are labelled apart
by the parameters that differ (cells.told_apart), and one run counts per cell and seed
(metrics.one_run_per_seed).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from palbench.reports.cells import told_apart
from palbench.reports.metrics import (
    CELL_KEYS,
    ORACLE_MARK,
    full_pool_bounds,
    one_run_per_seed,
    oracle_lines,
    panel_title,
    per_run,
    stops_of,
    total_costs,
    without_oracle_lines,
)
from palbench.reports.stats import (
    AT_LEAST_ZERO,
    mean_ci,
    paired_against,
    paired_method,
    ratio_ci,
    seeds_to_decide,
    smallest_p,
)
from palbench.reports.tables import Block, Heading, Paragraph, Table, to_markdown
from palbench.results.schema import METRIC_RANGES, METRICS


def panel_keys(hue: str) -> list[str]:
    return [k for k in CELL_KEYS if k != hue]


def with_line_column(frame: pd.DataFrame, panels: list[str]) -> tuple[pd.DataFrame, str]:
    """Panels by the given keys; one line per combination of the other keys that vary."""
    varying = [k for k in CELL_KEYS if k not in panels and frame[k].nunique() > 1]
    varying = varying or [k for k in CELL_KEYS if k not in panels][:1]
    name = " / ".join(varying)
    frame = frame.assign(**{name: frame[varying].astype(str).agg(" / ".join, axis=1)})
    return frame, name


def interval_text(mean: float, low: float, high: float, digits: int = 3) -> str:
    if low != low:  # NaN: one seed
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} [{low:.{digits}f}, {high:.{digits}f}]"


def _panel(frame: pd.DataFrame, keys: list[str], key: tuple) -> pd.DataFrame:
    mask = np.ones(len(frame), dtype=bool)
    for k, v in zip(keys, key):
        mask &= (frame[k] == v).to_numpy()
    return frame[mask]


def leaderboard_blocks(frame: pd.DataFrame, metric: str = "task_acc", hue: str = "strategy",
                       keys: list[str] | None = None, baseline: str = "random") -> list[Block]:
    keys = keys or panel_keys(hue)
    summary = per_run(frame, metric)
    if hue not in summary:
        summary = summary.merge(frame[["run_id", hue]].drop_duplicates(), on="run_id")
    blocks: list[Block] = [
        Heading("palbench leaderboard", 1),
        Paragraph(f"Metric: {METRICS.get(metric, metric)}. Mean over seeds [95% t interval "
                  "of the mean; none below 2 seeds] (docs/statistics.md). AULC: area under "
                  "the metric-vs-cost curve between the first and last budget, divided by that "
                  "range. Best mean in bold. Free: labelled exemplars given for free (pair "
                  "strategies).")]
    oracles = oracle_lines(frame) if hue == "strategy" else set()
    bounds = full_pool_bounds(frame, keys)
    if oracles:
        blocks.append(Paragraph(
            "Oracle lines (" + ", ".join(sorted(oracles)) + ") read the true labels by design: "
            "reference lines above the strategies, kept out of bold, ranks and verdicts. Share "
            "of the oracle's gain: a strategy's AULC gain over the baseline as a share of the "
            "oracle line's, per seed pair, ratio of the mean gains with a 95% Fieller "
            "interval."))
    within = METRIC_RANGES.get(metric)
    for key, panel in summary.groupby(keys, sort=True):
        ordinary = panel[~panel[hue].isin(oracles)] if oracles else panel
        best = ordinary.groupby(hue)["final"].mean().max()
        targets = {"to80": 0.8 * best, "to90": 0.9 * best}
        reach = reach_costs(_panel(frame, keys, key), hue, metric, targets)
        rows = []
        for name, runs in panel.groupby(hue):
            rows.append((name, len(runs), runs["final_cost"].mean(), runs["n_free"].mean(),
                         tuple(mean_ci(runs["final"], within=within)),
                         tuple(mean_ci(runs["aulc"], within=within))))
        rows.sort(key=lambda r: (r[0] in oracles, -r[5][0]))  # oracle lines last
        mine = [r for r in rows if r[0] not in oracles]
        best_final = max(r[4][0] for r in mine) if mine else None
        best_aulc = max(r[5][0] for r in mine) if mine else None
        final_col, aulc_col = f"final {metric}", "AULC"
        table = pd.DataFrame(
            [(name + (ORACLE_MARK if name in oracles else ""), n, f"{cost:g}", f"{free:g}",
              interval_text(*final), interval_text(*area), *reach[name])
             for name, n, cost, free, final, area in rows],
            columns=[hue, "seeds", "final cost", "free", final_col, aulc_col,
                     f"cost to 80% of best ({targets['to80']:.3f})",
                     f"cost to 90% of best ({targets['to90']:.3f})"])
        if hue == "strategy" and baseline in set(panel["strategy"]):
            share = label_shares(_panel(frame, keys, key), metric, baseline)
            table[f"share of {baseline}'s cost to its final"] = [share.get(r[0], "-")
                                                                 for r in rows]
            for oracle in sorted(oracles & set(panel["strategy"])):
                gains = oracle_gain_shares(panel, baseline, oracle)
                table[f"share of {oracle}'s gain"] = [
                    gains.get(r[0], "-") if r[0] not in oracles else "-" for r in rows]
        bold = {(i, final_col) for i, r in enumerate(rows)
                if r[4][0] == best_final and r[0] not in oracles} | \
            {(i, aulc_col) for i, r in enumerate(rows)
             if r[5][0] == best_aulc and r[0] not in oracles}
        panel_rows = _panel(frame, keys, key)
        units = sorted(set(panel_rows["cost_unit"])) if "cost_unit" in panel_rows else []
        blocks += [Heading(panel_title(keys, key))]
        if units == ["annotator seconds"]:
            blocks.append(Paragraph("Costs and budgets in annotator seconds."))
        blocks += [Table(table, bold, right=("seeds", "final cost", "free"))]
        bound = _panel(bounds, keys, key)["full_pool_acc"] if len(bounds) else []
        if len(bound):
            blocks.append(Paragraph(
                "Full-pool bound (the learner trained on the true label of every pool sample), "
                f"test accuracy over {len(bound)} seed(s): "
                f"{interval_text(*mean_ci(bound, within=METRIC_RANGES['task_acc']))}."))
        blocks += [Paragraph(f"{metric} at each budget:"),
                   budget_table(_panel(frame, keys, key), metric, hue)]
        if hue == "strategy" and baseline in set(panel["strategy"]):
            blocks += paired_blocks(ordinary, baseline)
    return blocks


def paired_blocks(panel: pd.DataFrame, baseline: str = "random") -> list[Block]:
    """Each strategy against the baseline on AULC over shared seeds (sign-flip test, Holm)."""
    verdicts = paired_against(panel, "aulc", baseline)
    if verdicts.empty:
        return []
    fewest, most = int(verdicts["seeds"].min()), int(verdicts["seeds"].max())
    needed = seeds_to_decide(len(verdicts))
    floor = (f" With {fewest} seed{'s' * (fewest != 1)} the smallest possible p is "
             f"{smallest_p(fewest):.2g}: no gain can be significant below {needed} seeds."
             if fewest < needed else "")
    table = pd.DataFrame({"strategy": verdicts["strategy"], "seeds": verdicts["seeds"],
                          "mean gain": verdicts["gain"].map("{:+.3f}".format),
                          "p": verdicts["p"].map("{:.3g}".format),
                          "p (Holm)": verdicts["p_holm"].map("{:.3g}".format),
                          "verdict": verdicts["verdict"]})
    return [Paragraph(f"Against {baseline}, AULC over shared seeds ({paired_method(most)}, "
                      "two-sided, Holm-corrected within this panel; a gain that is not "
                      f"significant at 0.05 is \"no evidence\", not a win).{floor}"),
            Table(table, right=("seeds", "mean gain", "p", "p (Holm)"))]


def oracle_gain_shares(panel: pd.DataFrame, baseline: str, oracle: str) -> dict[str, str]:
    """Per strategy, its AULC gain over the baseline as a share of the oracle line's gain,
    over the seeds all three ran: the ratio of the mean gains, with a 95% Fieller interval
    over those seeds (1 = as good as the oracle, 0 = no better than the baseline)."""
    wide = panel.pivot_table(index="seed", columns="strategy", values="aulc")
    if baseline not in wide or oracle not in wide:
        return {}
    found = {}
    for name in wide.columns.drop([baseline, oracle]):
        pair = wide[[name, baseline, oracle]].dropna()
        if pair.empty:
            continue
        gain = (pair[name] - pair[baseline]).to_numpy()
        ceiling = (pair[oracle] - pair[baseline]).to_numpy()
        if ceiling.mean() <= 0:
            found[name] = "oracle no better than " + baseline
            continue
        share = ratio_ci(gain, ceiling)
        if np.isinf(share.high):  # Fieller's set is unbounded
            found[name] = f"{share.point:.2f} (no interval: the oracle's gain over " \
                          f"{baseline} is not resolved in these seeds)"
        else:
            found[name] = interval_text(*share, digits=2)
    return found


def one_line_reading(frame: pd.DataFrame, pair_runs: set | None,
                     metric: str = "task_acc") -> str:
    """The report in one sentence: the best line by AULC (oracle lines left out), the best
    line asking pair questions when some did, and the verdict of the first against random.
    Printed by `palbench report` and the demo, and at the top of index.html."""
    runs = per_run(without_oracle_lines(frame.dropna(subset=[metric])), metric)
    lines = runs.groupby(["strategy", "learner"])["aulc"].mean().sort_values(ascending=False)
    (strategy, learner), best = lines.index[0], lines.iloc[0]
    text = f"best by AULC of {metric}: {strategy} with {learner} ({best:.3f})"
    if pair_runs:
        asked = runs[runs["run_id"].isin(pair_runs)]
        if not asked.empty:
            pairs = asked.groupby(["strategy", "learner"])["aulc"].mean().sort_values(
                ascending=False)
            (p_strategy, p_learner), p_best = pairs.index[0], pairs.iloc[0]
            text += f"; best asking pair questions: {p_strategy} with {p_learner} " \
                    f"({p_best:.3f})"
    verdicts = paired_against(runs[runs["learner"] == learner], "aulc", "random")
    row = verdicts[verdicts["strategy"] == strategy] if not verdicts.empty else verdicts
    if not row.empty:
        seeds = int(row['seeds'].iloc[0])
        text += f"; {strategy} against random: {row['gain'].iloc[0]:+.3f}, " \
                f"{row['verdict'].iloc[0]} over {seeds} seeds ({paired_method(seeds)}, " \
                "Holm-corrected)"
    return text[0].upper() + text[1:] + "."


def label_shares(panel: pd.DataFrame, metric: str, baseline: str) -> dict[str, str]:
    """Per strategy, the share of the baseline's cost it needs to reach the baseline's final
    value on the same seed (Kath et al.'s speed-up, as a fraction: 0.5 = half the labels),
    mean over the seeds both ran with a 95% interval, or how many runs never reached it."""
    shares: dict[str, list[float]] = {}
    for _, runs in panel.groupby("seed"):
        base = per_run(runs[runs["strategy"] == baseline], metric)
        if base.empty:
            continue
        reached = per_run(runs, metric, {"reach": float(base["final"].iloc[0])})
        for name, cost in zip(reached["strategy"], reached["reach"]):
            shares.setdefault(name, []).append(cost / float(base["final_cost"].iloc[0]))
    found = {}
    for name, values in shares.items():
        values = np.asarray(values)
        missed = int(np.isinf(values).sum())
        found[name] = f"not reached in {missed}/{len(values)}" if missed else \
            interval_text(*mean_ci(values, within=AT_LEAST_ZERO), digits=2)
    return found


def reach_costs(panel: pd.DataFrame, hue: str, metric: str,
                targets: dict[str, float]) -> dict[str, list[str]]:
    """Per line, the cost to reach each target: mean over seeds [95% t interval], or how many runs
    never reached it (censored runs are never averaged in as a number); "at the first budget"
    when every run was there already at its first checkpoint (the cost says nothing then)."""
    runs = per_run(panel, metric, targets)
    if hue not in runs:
        runs = runs.merge(panel[["run_id", hue]].drop_duplicates(), on="run_id")
    found: dict[str, list[str]] = {}
    for name, line in runs.groupby(hue):
        cells = []
        for target in targets:
            costs = line[target].to_numpy(float)
            missed = int(np.isinf(costs).sum())
            first = line["first_cost"].to_numpy(float)
            if missed:
                cells.append(f"not reached in {missed}/{len(costs)}")
            elif np.all(costs <= first + 1e-9):
                cells.append("at the first budget "
                             f"({interval_text(*mean_ci(costs, within=AT_LEAST_ZERO), digits=1)})")
            else:
                cells.append(interval_text(*mean_ci(costs, within=AT_LEAST_ZERO), digits=1))
        found[name] = cells
    return found


def budget_table(panel: pd.DataFrame, metric: str, hue: str) -> Table:
    """The metric at every budget: mean [95% interval] over seeds, one column per line."""
    names = sorted(panel[hue].unique())
    rows = []
    for budget, at in panel.groupby("budget"):
        rows.append([f"{budget:g}"] + [
            interval_text(*mean_ci(at[at[hue] == n][metric], within=METRIC_RANGES.get(metric)))
            if (at[hue] == n).any() else "-" for n in names])
    return Table(pd.DataFrame(rows, columns=["budget"] + names), right=("budget",))


def rank_blocks_of(frame: pd.DataFrame, metric: str, hue: str, blocks: str) -> list:
    """The mean ranks as a table, with the Friedman test and the Nemenyi critical
    difference (Demsar 2006; exact where the blocks are few), when there are at least two
    blocks."""
    from palbench.reports.ranks import rank_test
    test = rank_test(frame, metric, hue, blocks)
    ranks, n = test.ranks, test.n
    if n < 2 or len(ranks) < 3:
        return []
    unit = "panel x seed blocks" if blocks == "seed" else "panels"
    return [Heading(f"Mean ranks by AULC of {metric} over {n} {unit}"),
            Paragraph(test.sentence(unit)),
            Table(pd.DataFrame({hue: list(ranks.index),
                                "mean rank": [f"{r:.2f}" for r in ranks.values]}),
                  right=("mean rank",))]


def write_report(frame: pd.DataFrame, out_dir: Path, metric: str = "task_acc",
                 hue: str = "strategy", panels: list[str] | None = None,
                 runs: pd.DataFrame | None = None, rank_blocks: str = "panel",
                 baseline: str = "random", pair_runs: set | None = None,
                 published: pd.DataFrame | None = None,
                 mistake_cost: float | None = None) -> list[Path]:
    """Write the report; `panels` (keys of CELL_KEYS) overrides `hue`: lines are then the
    combinations of the other keys. With `runs` (the store's run rows), cells that share
    labels are told apart (cells.told_apart) and index.html is written too.
    The paired tests compare every strategy with `baseline`. graph.png shows the panels with
    a run in `pair_runs` (run ids that asked pair questions; None: every panel), and
    ranks.png appears only when there is something to rank. With `published` (rows of
    palbench.reports.published.PUBLISHED_COLUMNS), a section sets them beside the runs; with
    `mistake_cost`, the stopping table prices each stop by Pullar-Strecker et al.'s model."""
    from palbench.reports.page import write_html
    from palbench.reports.plots import plot_curves, plot_graph, plot_ranks

    out_dir.mkdir(parents=True, exist_ok=True)
    if runs is not None:
        frame = told_apart(frame, runs)
    frame = frame_all = frame.dropna(subset=[metric])
    kept = one_run_per_seed(frame)
    dropped = frame["run_id"].nunique() - kept["run_id"].nunique()
    # rows in cell, seed and budget order: intervals do not depend on which worker finished first
    frame = kept.sort_values(CELL_KEYS + ["seed", "budget"], kind="stable")
    if panels:
        frame, hue = with_line_column(frame, panels)
    keys = panels or panel_keys(hue)
    curves, graph, ranks, board = (out_dir / "curves.png", out_dir / "graph.png",
                                   out_dir / "ranks.png", out_dir / "leaderboard.md")
    for stale in (graph, ranks):  # a figure this report has no reason to draw is not left
        stale.unlink(missing_ok=True)
    plot_curves(frame, curves, metric, hue, keys)
    figures = [(curves, f"{METRICS.get(metric, metric)} against annotation cost")]
    with_pairs = panels_with_pairs(frame, keys, pair_runs)
    if not with_pairs.empty:
        plot_graph(with_pairs, graph, hue, keys)
        figures.append((graph, "What the answers revealed (panels with pair questions)"))
    ranked = without_oracle_lines(frame) if hue == "strategy" else frame
    rank_table = rank_blocks_of(ranked, metric, hue, rank_blocks)
    if rank_table:
        plot_ranks(ranked, ranks, metric, hue, rank_blocks)
        figures.append((ranks, "Mean rank across " + ("panels and seeds" if rank_blocks ==
                                                      "seed" else "panels")))
    blocks = leaderboard_blocks(frame, metric, hue, keys, baseline) + rank_table + \
        stopping_blocks(frame, hue, keys, mistake_cost)
    if published is not None:
        from palbench.reports.published import published_blocks
        blocks += published_blocks(kept, published)
    blocks.insert(1, Paragraph("In one line: " + one_line_reading(kept, pair_runs, metric)))
    if dropped:
        blocks.insert(3, Paragraph(left_out_note(frame_all, kept)))
    board.write_text(to_markdown(blocks), encoding="utf-8")
    written = [path for path, _ in figures] + [board]
    if runs is not None:
        runs = runs[runs["run_id"].isin(frame["run_id"])]
        written.append(write_html(out_dir, blocks, figures, runs, lead=2))
    return written


def left_out_note(frame: pd.DataFrame, kept: pd.DataFrame) -> str:
    """Why runs of a cell and seed were left out for a newer one: the same cell run again
    under another tag or another palbench version, or re-run (a changed spec is a cell of its
    own, under labels of its own: cells.told_apart)."""
    columns = CELL_KEYS + ["seed", "run_id", "palbench_version", "tag"]
    runs = frame[[c for c in columns if c in frame]].drop_duplicates("run_id")
    newest = runs[runs["run_id"].isin(set(kept["run_id"]))]
    pairs = runs[~runs["run_id"].isin(set(kept["run_id"]))].merge(
        newest, on=CELL_KEYS + ["seed"], suffixes=("", "_kept"))
    reasons = {"under another tag": 0, "under another palbench version": 0,
               "run again under the same version and tag": 0}
    for row in pairs.itertuples():
        if (row.tag if row.tag == row.tag else None) != \
                (row.tag_kept if row.tag_kept == row.tag_kept else None):
            reasons["under another tag"] += 1
        elif row.palbench_version != row.palbench_version_kept:
            reasons["under another palbench version"] += 1
        else:
            reasons["run again under the same version and tag"] += 1
    why = "; ".join(f"{n} {reason}" for reason, n in reasons.items() if n)
    return (f"{len(pairs)} older run(s) left out for a newer run of the same cell and seed "
            f"({why}): each seed counts once.")


def stopping_blocks(frame: pd.DataFrame, hue: str, keys: list[str],
                    mistake_cost: float | None = None) -> list[Block]:
    """Where each stopping criterion would have stopped, per panel and line: cost at the
    stop, task accuracy there and the loss against the run's final accuracy (mean over seeds
    with a 95% interval); with `mistake_cost`, also the total cost of Pullar-Strecker et
    al.'s model and its excess over the run's cost-optimal checkpoint. Empty when no run
    recorded a criterion."""
    stops = stops_of(frame)
    if stops.empty or hue not in stops:
        return []
    if mistake_cost is not None:
        stops = total_costs(stops, frame, mistake_cost)
    blocks: list[Block] = [Heading("Stopping criteria"), Paragraph(
        "Where each criterion would have stopped the run (it observes, never changes it): "
        "cost and test accuracy at the stop, and the loss against the run's final accuracy; "
        "a criterion that never fired counts at the last checkpoint (stopped: seeds where "
        "it fired).")]
    for key, panel in stops.groupby(keys, sort=True):
        rows = []
        for (line, criterion), runs in panel.groupby([hue, "criterion"], sort=True):
            row = [line, criterion, f"{int(runs['stopped'].sum())}/{len(runs)}",
                   "{:g} [{:g}, {:g}]".format(*mean_ci(runs["cost"], within=AT_LEAST_ZERO)),
                   interval_text(*mean_ci(runs["task_acc"], within=METRIC_RANGES["task_acc"])),
                   interval_text(*mean_ci(runs["loss"], within=AT_LEAST_ZERO))]
            if mistake_cost is not None:
                row += [interval_text(*mean_ci(runs[c]), digits=1) for c in ("total", "excess")]
            rows.append(row)
        columns = [hue, "criterion", "stopped", "cost at stop", "accuracy at stop", "loss"]
        if mistake_cost is not None:
            columns += ["total cost", "over the optimum"]
        table = pd.DataFrame(rows, columns=columns)
        blocks += [Heading(panel_title(keys, key), 3),
                   Table(table, right=tuple(columns[2:]))]
    if mistake_cost is not None:
        blocks.insert(2, Paragraph(
            f"Total cost (Pullar-Strecker et al. 2024): the cost at the stop plus "
            f"{mistake_cost:g} x the test error there (mistake_cost: the price of a mistake "
            "times the predictions the model will make); \"over the optimum\": its excess "
            "over the run's cheapest checkpoint by the same measure."))
    return blocks


def panels_with_pairs(frame: pd.DataFrame, keys: list[str], pair_runs: set | None):
    """The rows of the panels where some run asked pair questions (all rows when unknown)."""
    if pair_runs is None:
        return frame
    asked = frame["run_id"].isin(pair_runs)
    panel_has = asked.groupby([frame[k] for k in keys]).transform("any")
    return frame[panel_has.to_numpy()]
