"""A robustness study's pages: robustness.md, robustness.csv (its columns documented in
docs/guide/robustness.md), a heatmap of win shares, one plot of the verdicts against each varied
key, and index.html with all of it. Both pages lead with the study's answer in one line and the
gain of every pair in every variant, before any figure."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from palbench.reports.page import write_html  # noqa: E402
from palbench.reports.plots import saved  # noqa: E402
from palbench.reports.robustness import (  # noqa: E402
    SEED_COUNTS,
    VERDICT_WORDS,
    Unit,
    verdicts_of,
)
from palbench.reports.stats import mean_ci, paired_method  # noqa: E402
from palbench.reports.tables import Heading, Paragraph, Table, to_markdown  # noqa: E402

CSV_COLUMNS = ["dataset", "a", "b", "variants", "a_wins", "b_wins", "no_evidence", "win_share",
               "reference", "flipped_by", "mean_gain",
               *[f"same_verdict_{n}" for n in SEED_COUNTS], "study_seeds", "same_verdict_study"]


def share(value: float) -> str:
    return "-" if pd.isna(value) else f"{value:.2f}"


def reading(pairs: pd.DataFrame) -> str:
    """The study's answer in one line: the pair verdict that holds in most variants."""
    wins = pairs[pairs["a_wins"] > 0].sort_values(["win_share", "a_wins"], ascending=False)
    if wins.empty:
        return "No strategy beats another in any variant (paired over seeds, Holm-corrected)."
    top = wins.iloc[0]
    losses = int(top["b_wins"])
    return (f"{top['a']} beats {top['b']} on {top['dataset']} in {int(top['a_wins'])} of "
            f"{int(top['variants'])} variants ({top['win_share']:.2f})"
            + (f", loses in {losses}" if losses else ", never loses")
            + f"; a study of {top['study_seeds']} seeds repeats each variant's verdict "
              f"with probability {share(top['same_verdict_study'])}, one of 3 seeds "
              f"{share(top.get('same_verdict_3', np.nan))}.")


def gain(interval) -> str:
    """A mean paired gain with its interval, or why it has none."""
    if interval.low == interval.low:  # not NaN
        return f"{interval.point:+.3f} [{interval.low:+.3f}, {interval.high:+.3f}]"
    return f"{interval.point:+.3f} ({interval.why or 'no interval'})"


def gain_blocks(units: list[Unit]) -> list:
    """Per variant (and dataset and panel) and pair of strategies: A's mean paired gain in
    AULC over B across the variant's seeds with its interval (stats.mean_ci), and the
    variant's verdict (the one the counts below are made of)."""
    rows = []
    for unit in units:
        differences = unit.differences()
        for (a, b), d, verdict in zip(unit.pairs(), differences, verdicts_of(differences)):
            interval = mean_ci(d)
            rows.append({"variant": unit.name, "dataset": unit.dataset, "A": a, "B": b,
                         "seeds": str(len(d)), "gain of A over B": gain(interval),
                         "verdict": f"{a} {VERDICT_WORDS[verdict]} {b}"
                         if verdict else VERDICT_WORDS[verdict]})
    if not rows:
        return []
    first = units[0].differences()[0]
    return [Heading("Gain per variant", 2), Paragraph(
        f"A's AULC minus B's, mean over the variant's seeds with its {mean_ci(first).name} "
        f"(paired: the same seeds on both sides), and the variant's verdict: an "
        f"{paired_method(len(first))} per pair, Holm-corrected over the variant's pairs, "
        "alpha 0.05."),
        Table(pd.DataFrame(rows), right=("seeds", "gain of A over B"))]


def blocks_of(study: str, analysis: dict, base: str | None, missing: list[str],
              units: list[Unit]) -> tuple[list, int]:
    """The page's blocks and how many lead it (before the figures): the title, the answer
    in one line and the gain table; then the counts per pair."""
    pairs, concordance = analysis["pairs"], analysis["concordance"]
    blocks: list = [Heading(f"Robustness study {study!r}", 1), Paragraph(reading(pairs)),
                    *gain_blocks(units)]
    lead = len(blocks)
    if missing:
        blocks.append(Paragraph("Variants without all their runs in the store (left out): "
                                + "; ".join(missing)))
    against = (f"the config's own protocol ({base})" if base else
               "the verdict most variants reach")
    blocks.append(Paragraph(
        "Per dataset and ordered pair (A, B): in how many variants A beats B, B beats A, or "
        "neither (paired sign-flip test over seeds on AULC, Holm-corrected over the pairs of each "
        f"variant, alpha 0.05); the variants whose verdict differs from {against}; and the "
        "probability that a study of n seeds, drawn without replacement from each variant's "
        "seeds, reaches the verdict all of them reach (mean over variants)."))
    for dataset, part in pairs.groupby("dataset", sort=True):
        part = part[part["a"] < part["b"]]  # each pair once here; the CSV has both orders
        seeds = [n for n in SEED_COUNTS if f"same_verdict_{n}" in part]
        table = pd.DataFrame({
            "A": part["a"], "B": part["b"], "variants": part["variants"].astype(str),
            "A wins": part["a_wins"].astype(str), "B wins": part["b_wins"].astype(str),
            "no evidence": part["no_evidence"].astype(str),
            "reference": part["reference"], "flipped by": part["flipped_by"].replace("", "-"),
            **{f"same at {n} seeds": part[f"same_verdict_{n}"].map(share) for n in seeds},
            "same at the study's seeds": [f"{share(v)} ({n})" for v, n in
                                          zip(part["same_verdict_study"], part["study_seeds"])],
        })
        w = concordance.loc[concordance["dataset"] == dataset].iloc[0]
        blocks += [Heading(str(dataset), 2),
                   Paragraph(f"Kendall's W of the strategies' ranks (mean AULC) across the "
                             f"{int(w['variants'])} variants: {share(w['kendalls_w'])} (1: every "
                             "variant ranks them alike)."),
                   Table(table.reset_index(drop=True), right=tuple(
                       c for c in table.columns if c not in ("A", "B", "reference",
                                                             "flipped by")))]
    return blocks, lead


def plot_win_shares(pairs: pd.DataFrame, path: Path) -> Figure:
    """Per dataset, the share of variants in which the row's strategy beats the column's."""
    datasets = sorted(pairs["dataset"].unique())
    fig, axes = plt.subplots(1, len(datasets), figsize=(5.5 * len(datasets) + 1, 4.6),
                             squeeze=False)
    for ax, dataset in zip(axes[0], datasets):
        part = pairs[pairs["dataset"] == dataset]
        grid = part.pivot(index="a", columns="b", values="win_share")
        sns.heatmap(grid, ax=ax, vmin=0, vmax=1, annot=True, fmt=".2f", cmap="Greens",
                    cbar=ax is axes[0][-1], square=True)
        ax.set(title=f"{dataset}: share of variants in which the row beats the column",
               xlabel="", ylabel="")
        ax.title.set_fontsize(9)
    return saved(fig, path)


def plot_against_key(verdicts: pd.DataFrame, key: str, path: Path) -> Figure:
    """Per dataset, each strategy's significant wins minus losses against the others, mean
    over the variants that give `key` each value: where a protocol knob moves the verdict."""
    rows = verdicts.assign(value=verdicts["values"].map(lambda v: str(v.get(key))))
    net = rows.groupby(["dataset", "unit", "value", "a"])["verdict"].sum().reset_index()
    mean = net.groupby(["dataset", "value", "a"])["verdict"].mean().reset_index()
    datasets = sorted(mean["dataset"].unique())
    fig, axes = plt.subplots(1, len(datasets), figsize=(5.5 * len(datasets) + 2, 4.2),
                             squeeze=False)
    order = [str(v) for v in dict.fromkeys(rows["values"].map(lambda v: v.get(key)))]
    for ax, dataset in zip(axes[0], datasets):
        part = mean[mean["dataset"] == dataset]
        sns.pointplot(part, x="value", y="verdict", hue="a", order=order, ax=ax)
        ax.axhline(0, color="#999", lw=0.8)
        ax.set(title=dataset, xlabel=key, ylabel="significant wins - losses (mean)")
        sns.move_legend(ax, "upper left", bbox_to_anchor=(1.02, 1.0), fontsize=8,
                        title="strategy", title_fontsize=8)
    return saved(fig, path)


def write_robustness(out_dir: Path, study: str, analysis: dict, keys: list[str],
                     base: str | None, missing: list[str], runs: pd.DataFrame,
                     units: list[Unit]) -> list[Path]:
    """robustness.md, robustness.csv, the figures and index.html into out_dir; `units`: the
    study's (reports.robustness.load_study), `analysis` made of them."""
    out_dir.mkdir(parents=True, exist_ok=True)
    pairs = analysis["pairs"]
    csv = out_dir / "robustness.csv"
    pairs.reindex(columns=CSV_COLUMNS).to_csv(csv, index=False)
    blocks, lead = blocks_of(study, analysis, base, missing, units)
    md = out_dir / "robustness.md"
    md.write_text(to_markdown(blocks), encoding="utf-8")
    images = [(out_dir / "robustness_win_shares.png", "Win shares across variants")]
    plot_win_shares(pairs, images[0][0])
    for key in keys:
        path = out_dir / f"robustness_{key.replace('.', '_')}.png"
        plot_against_key(analysis["verdicts"], key, path)
        images.append((path, f"Verdicts against {key}"))
    page = write_html(out_dir, blocks, images, runs, lead=lead)
    return [md, csv, *(p for p, _ in images), page]


__all__ = ["CSV_COLUMNS", "write_robustness"]
