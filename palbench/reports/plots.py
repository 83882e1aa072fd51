"""The report's figures: metric-vs-cost curves, what the graph revealed, mean ranks. Each is
saved through `saved`, which wraps every title to the width it has: none runs off a figure."""

from __future__ import annotations

import textwrap
from functools import partial
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402

from palbench.reports.metrics import (  # noqa: E402
    ORACLE_MARK,
    full_pool_bounds,
    oracle_lines,
    panel_title,
    stops_of,
)
from palbench.reports.ranks import rank_test  # noqa: E402
from palbench.reports.stats import AT_LEAST_ZERO, t_band  # noqa: E402
from palbench.results.schema import METRIC_RANGES, METRICS  # noqa: E402

STOP_MARKERS = ("v", "s", "D", "^", "P", "X", "*", "h")  # one per stopping criterion


def wrap_to(text, width: float, renderer) -> None:
    """Break a title into lines no wider than `width` pixels (words kept whole)."""
    words = " ".join(text.get_text().split())
    text.set_text(words)
    chars = len(words)
    while chars > 8 and text.get_window_extent(renderer).width > width:
        chars = int(chars * 0.9)
        text.set_text(textwrap.fill(words, chars, break_long_words=False))


def fit_titles(fig: Figure) -> None:
    """Each axes' title wrapped to its axes' width, the figure's title to the figure's, then
    the layout tightened (twice: tightening narrows the axes)."""
    for _ in range(2):
        renderer = fig.canvas.get_renderer()
        for ax in fig.axes:
            if ax.get_visible() and ax.get_title():
                wrap_to(ax.title, ax.get_window_extent(renderer).width, renderer)
        if fig._suptitle is not None:
            wrap_to(fig._suptitle, 0.95 * fig.bbox.width, renderer)
        fig.tight_layout()


def saved(fig: Figure, path: Path) -> Figure:
    """Titles fitted, saved (a tight box: nothing outside the figure is cut), closed; the
    figure is returned for a test to read its artists."""
    fit_titles(fig)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return fig


def line_colors(names: list[str]) -> dict[str, tuple]:
    """A colour per line, as seaborn picks them (the colour cycle, husl beyond ten); given
    to the plot so that the stop markers match their line."""
    palette = sns.color_palette(None if len(names) <= 10 else "husl", len(names))
    return dict(zip(names, palette))


def observed_stops(frame: pd.DataFrame, metric: str, hue: str) -> pd.DataFrame:
    """Where each run's stopping criteria stopped it (stopped runs only: a criterion that
    never fired marks nothing): run_id, the line, criterion, budget and the run's `metric`
    there."""
    stops = stops_of(frame)
    stops = stops[stops["stopped"].astype(bool)][["run_id", "criterion", "budget"]]
    at = frame[["run_id", "budget", hue, metric]].drop_duplicates(["run_id", "budget"])
    return stops.merge(at, on=["run_id", "budget"])


def mark_stops(ax, stops: pd.DataFrame, colors: dict, criteria: list[str], hue: str,
               metric: str) -> list[Line2D]:
    """A marker per observed stop on its run's point, in its line's colour, one shape per
    criterion, each smaller than the one before (stops at one point stay visible); returns
    the legend entries (one per criterion)."""
    entries = []
    for i, (criterion, marker) in enumerate(zip(criteria, STOP_MARKERS * len(criteria))):
        mine = stops[stops["criterion"] == criterion]
        if mine.empty:
            continue
        ax.scatter(mine["budget"], mine[metric], marker=marker, s=max(20, 110 - 30 * i),
                   zorder=5 + i,
                   c=[colors[name] for name in mine[hue]], edgecolors="black", linewidths=0.8)
        entries.append(Line2D([], [], marker=marker, linestyle="", color="0.6",
                              markeredgecolor="black", label=f"stopped: {criterion}"))
    return entries


def _grid(n: int, width: float = 5.5, height: float = 4.2, rows_per_panel: int = 1,
          legend_width: float = 0.0):
    """Panels in up to 3 columns; `legend_width`: room for the legend beside each column's
    panel."""
    cols = min(n, 3)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows * rows_per_panel, cols,
                             figsize=(max(7.0, width * cols) + legend_width * cols,
                                      height * rows * rows_per_panel + 0.6), squeeze=False)
    return fig, axes, cols


def _legend_width(frame: pd.DataFrame, hue: str, more: tuple[str, ...] = ()) -> float:
    """Room for a legend beside the panels when there are many or long entries (line names,
    and `more`)."""
    names = [*frame[hue].astype(str).unique(), *more]
    return 0.0 if len(names) <= 3 and max(map(len, names)) <= 24 else \
        min(6.0, 0.6 + 0.06 * max(map(len, names)))  # about 0.06 inch a character at 8 pt


def _place_legend(ax, outside: bool) -> None:
    if outside and ax.get_legend() is not None:
        sns.move_legend(ax, "upper left", bbox_to_anchor=(1.02, 1.0), fontsize=8,
                        title_fontsize=8)


def cost_axis(panel: pd.DataFrame) -> str:
    """The x-axis label: the cost unit of the panel's runs (priced in seconds or in units)."""
    units = sorted(set(panel["cost_unit"])) if "cost_unit" in panel else ["cost units"]
    return "annotation cost spent (" + " or ".join(units) + ")"


def plot_curves(frame: pd.DataFrame, path: Path, metric: str, hue: str,
                keys: list[str]) -> Figure:
    """Oracle lines (strategies that read the truth) dashed and marked in the legend; the
    full-pool bound, when measured, a dotted horizontal line (it is test accuracy); where a
    [[stopping]] criterion stopped a run, a marker on that run's point (one shape per
    criterion, in the line's colour)."""
    oracles = oracle_lines(frame) if hue == "strategy" else set()
    if oracles:
        frame = frame.assign(**{hue: frame[hue].where(~frame[hue].isin(oracles),
                                                      frame[hue] + ORACLE_MARK)})
    bounds = full_pool_bounds(frame, keys)
    stops = observed_stops(frame, metric, hue)
    criteria = sorted(stops["criterion"].unique())
    panels = list(frame.groupby(keys, sort=True))
    extra = _legend_width(frame, hue, tuple(f"stopped: {c}" for c in criteria))
    fig, axes, _ = _grid(len(panels), legend_width=extra)
    every_color = line_colors(sorted(frame[hue].unique()))  # a line's colour in every panel
    for ax, (key, panel) in zip(axes.flat, panels):
        names = sorted(panel[hue].unique())
        colors = {name: every_color[name] for name in names}
        sns.lineplot(data=panel, x="budget", y=metric, hue=hue, marker="o", palette=colors,
                     errorbar=partial(t_band, within=METRIC_RANGES.get(metric)), ax=ax,
                     hue_order=names,
                     style=hue if oracles else None, style_order=names if oracles else None,
                     dashes={n: (4, 2) if n.endswith(ORACLE_MARK) else "" for n in names}
                     if oracles else True)
        bound = bounds
        for k, v in zip(keys, key if isinstance(key, tuple) else (key,)):
            bound = bound[bound[k] == v]
        if len(bound) and metric == "task_acc":
            ax.axhline(float(bound["full_pool_acc"].mean()), color="0.3", linestyle=":",
                       label="full-pool bound")
            ax.legend(fontsize=8)
        marked = mark_stops(ax, stops[stops["run_id"].isin(panel["run_id"])], colors,
                            criteria, hue, metric)
        if marked:
            handles, labels = ax.get_legend_handles_labels()
            title = ax.get_legend().get_title().get_text() if ax.get_legend() else None
            ax.legend(handles=handles + marked, labels=labels + [m.get_label() for m in marked],
                      title=title, fontsize=8)
        _place_legend(ax, extra > 0)
        ax.set_title(panel_title(keys, key), fontsize=9)
        ax.set_xlabel(cost_axis(panel))
        ax.set_ylabel(METRICS.get(metric, metric))
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(panels):]:
        ax.set_visible(False)
    fig.suptitle("Accuracy vs annotation cost: mean over seeds, 95% t band",
                 fontsize=11)
    return saved(fig, path)


def plot_graph(frame: pd.DataFrame, path: Path, hue: str, keys: list[str]) -> Figure:
    """Samples of known class and connected components against cost, per panel."""
    panels = list(frame.groupby(keys, sort=True))
    extra = _legend_width(frame, hue)
    fig, axes, cols = _grid(len(panels), height=3.3, rows_per_panel=2, legend_width=extra)
    for i, (key, panel) in enumerate(panels):
        row, col = divmod(i, cols)
        for offset, (column, label) in enumerate(
                [("n_labels", "samples of known class"), ("n_components", "connected components")]):
            ax = axes[2 * row + offset, col]
            sns.lineplot(data=panel, x="budget", y=column, hue=hue,
                         errorbar=partial(t_band, within=AT_LEAST_ZERO),
                         ax=ax, legend=offset == 0)
            _place_legend(ax, extra > 0)
            ax.set_ylabel(label)
            ax.set_xlabel(cost_axis(panel))
            ax.grid(alpha=0.3)
            if offset == 0:
                ax.set_title(panel_title(keys, key), fontsize=9)
    for i in range(len(panels), axes.shape[1] * (axes.shape[0] // 2)):
        row, col = divmod(i, cols)
        axes[2 * row, col].set_visible(False)
        axes[2 * row + 1, col].set_visible(False)
    fig.suptitle("What the answers revealed: mean over seeds, 95% t band", fontsize=11)
    return saved(fig, path)


def plot_ranks(frame: pd.DataFrame, path: Path, metric: str = "task_acc",
               hue: str = "strategy", blocks: str = "panel") -> Figure:
    """Mean ranks of the lines named by `hue`; the Nemenyi critical difference is drawn only
    when the Friedman test rejects equal ranks at 0.05 (Demsar's procedure) and some
    difference of mean ranks is rare enough to tell a pair apart."""
    test = rank_test(frame, metric, hue, blocks)
    ranks, n = test.ranks, test.n
    k = len(ranks)
    unit = "panel x seed block" if blocks == "seed" else "panel"
    fig, ax = plt.subplots(figsize=(7.5, 1.2 + 0.35 * max(k, 1)))
    if k == 0:
        ax.text(0.5, 0.5, f"no {hue} ran in every panel", ha="center", va="center")
        ax.set_axis_off()
    else:
        p, cd = test.p, test.cd
        ax.scatter(ranks.values, np.arange(k), color="C0", zorder=3)
        for y, (name, rank) in enumerate(ranks.items()):
            ax.annotate(f"{name} ({rank:.2f})", (rank, y), xytext=(8, -4),
                        textcoords="offset points", fontsize=9)
        if p < 0.05 and np.isfinite(cd):
            ax.plot([1, 1 + cd], [k - 0.4, k - 0.4], color="k", lw=2)
            ax.text(1 + cd / 2, k - 0.2, f"CD = {cd:.2f}", ha="center", fontsize=8)
            title = (f"{test.method} p = {p:.2g}: ranks differ; lines whose mean ranks "
                     "differ by less than CD are not told apart "
                     f"({'exact ' if test.exact else ''}Nemenyi, 0.05)")
        elif np.isnan(p):
            title = (f"Ranks of {hue}: the Friedman test needs at least 3 lines and 2 {unit}s "
                     f"({k} and {n} here), so the ranks are not tested")
        elif p < 0.05:
            title = (f"Ranks of {hue}: {test.method} p = {p:.2g}, the ranks differ, but no "
                     f"pair can be told apart with {n} {unit}s")
        else:
            title = f"Ranks of {hue}: {test.method} p = {p:.2g}, no evidence that the ranks differ"
        ax.set_xlim(0.5, max(k, 2) + 0.9)
        ax.set_ylim(-0.8, k + 0.2)
        ax.set_yticks([])
        ax.set_xlabel(f"mean rank by AULC of {metric} over {n} {unit}(s) (1 = best)")
        ax.grid(axis="x", alpha=0.3)
        ax.set_title(title, fontsize=8)
    return saved(fig, path)
