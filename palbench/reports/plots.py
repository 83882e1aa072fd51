"""The report's figures: metric-vs-cost curves, what the graph revealed, mean ranks."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from palbench.reports.metrics import (  # noqa: E402
    ORACLE_MARK,
    full_pool_bounds,
    oracle_lines,
    panel_title,
)
from palbench.reports.ranks import rank_test  # noqa: E402
from palbench.reports.stats import t_band  # noqa: E402
from palbench.results.schema import METRICS  # noqa: E402


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


def cost_axis(panel: pd.DataFrame) -> str:
    """The x-axis label: the cost unit of the panel's runs (priced in seconds or in units)."""
    units = sorted(set(panel["cost_unit"])) if "cost_unit" in panel else ["cost units"]
    return "annotation cost spent (" + " or ".join(units) + ")"


def plot_curves(frame: pd.DataFrame, path: Path, metric: str, hue: str,
                keys: list[str]) -> None:
    """Oracle lines (strategies that read the truth) dashed and marked in the legend; the
    full-pool bound, when measured, a dotted horizontal line (it is test accuracy)."""
    oracles = oracle_lines(frame) if hue == "strategy" else set()
    if oracles:
        frame = frame.assign(**{hue: frame[hue].where(~frame[hue].isin(oracles),
                                                      frame[hue] + ORACLE_MARK)})
    bounds = full_pool_bounds(frame, keys)
    panels = list(frame.groupby(keys, sort=True))
    extra = _legend_width(frame, hue)
    fig, axes, _ = _grid(len(panels), legend_width=extra)
    for ax, (key, panel) in zip(axes.flat, panels):
        names = sorted(panel[hue].unique())
        sns.lineplot(data=panel, x="budget", y=metric, hue=hue, marker="o",
                     errorbar=t_band, ax=ax, hue_order=names,
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
        _place_legend(ax, extra > 0)
        ax.set_title(panel_title(keys, key), fontsize=9)
        ax.set_xlabel(cost_axis(panel))
        ax.set_ylabel(METRICS.get(metric, metric))
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(panels):]:
        ax.set_visible(False)
    fig.suptitle("Accuracy vs annotation cost: mean over seeds, 95% t band",
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
            sns.lineplot(data=panel, x="budget", y=column, hue=hue, errorbar=t_band,
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
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_ranks(frame: pd.DataFrame, path: Path, metric: str = "task_acc",
               hue: str = "strategy", blocks: str = "panel") -> None:
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
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
