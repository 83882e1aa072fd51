"""The robustness study's page leads with its answer in one line and the gain of every pair in
every variant (mean paired gain over the variant's seeds, its interval and verdict), before
any figure; its figures keep their titles inside."""

from __future__ import annotations

import html
import re

import pytest

from palbench.cli import main
from palbench.reports.metrics import per_run
from palbench.reports.robustness import VERDICT_WORDS, analyse, load_study
from palbench.reports.robustness_report import plot_against_key, plot_win_shares, reading
from palbench.reports.stats import mean_ci
from palbench.results.store import ResultsStore
from tests.reports.test_figures import outside
from tests.reports.test_html_report import CHROMIUM, rendered

CONFIG = """
[experiment]
seeds = [0, 1, 2]
budgets = [6, 12]
batch_size = 3
probe = false
[dataset]
name = "blobs"
n_samples = 120
n_features = 4
n_classes = 3
[[strategy]]
name = "random"
[[strategy]]
name = "margin"
[[strategy]]
name = "entropy"
[learner]
name = "sklearn"
"""


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    folder = tmp_path_factory.mktemp("robust")
    (folder / "small.toml").write_text(CONFIG)
    assert main(["robustness", str(folder / "small.toml"), "--vary",
                 "experiment.batch_size=3,6", "--store", str(folder / "s.sqlite"), "--out",
                 str(folder / "out"), "--quiet"]) == 0
    return folder


def gain_rows(text: str) -> list[list[str]]:
    """The gain table's rows (markdown) as cells."""
    part = text.split("## Gain per variant", 1)[1].split("\n## ", 1)[0]
    return [[c.strip() for c in line.strip("|").split("|")]
            for line in part.splitlines() if line.startswith("| experiment.")]


def test_the_page_leads_with_the_answer_and_the_gain_table(study):
    page = (study / "out" / "index.html").read_text()
    with ResultsStore(study / "s.sqlite", mode="read") as store:
        _, units, _ = load_study(store, "small")
    answer = reading(analyse(units, None)["pairs"])
    first_figure = page.index("<img")
    assert page.index(html.escape(answer)) < page.index("Gain per variant") < first_figure
    assert page.index("<table") < first_figure  # the gain table, before any figure
    board = (study / "out" / "robustness.md").read_text()
    assert board.index(answer) < board.index("## Gain per variant") < board.index("## blobs")


def test_each_gain_is_the_mean_paired_difference_of_that_variants_runs(study):
    rows = gain_rows((study / "out" / "robustness.md").read_text())
    assert len(rows) == 2 * 3  # 2 variants x 3 pairs
    with ResultsStore(study / "s.sqlite", mode="read") as store:
        variants = {v.name: v for v in store.study("small")}
        frame = store.to_frame()
        verdicts = analyse(load_study(store, "small")[1], None)["verdicts"].set_index(
            ["variant", "a", "b"])["verdict"]
    for variant, dataset, a, b, seeds, gain, verdict in rows:
        runs = per_run(frame[frame["spec_hash"].isin(variants[variant].hashes)])
        aulc = runs.pivot_table(index="seed", columns="strategy", values="aulc")
        interval = mean_ci((aulc[a] - aulc[b]).to_numpy())
        assert seeds == "3" and dataset == "blobs"
        assert gain == f"{interval.point:+.3f} [{interval.low:+.3f}, {interval.high:+.3f}]"
        said = verdicts[(variant, a, b)]
        assert verdict == (f"{a} {VERDICT_WORDS[said]} {b}" if said else "no evidence")
    assert {(r[2], r[3]) for r in rows} == {("entropy", "margin"), ("entropy", "random"),
                                            ("margin", "random")}


def test_the_studys_figures_keep_their_titles_inside(study, tmp_path):
    with ResultsStore(study / "s.sqlite", mode="read") as store:
        _, units, _ = load_study(store, "small")
    analysis = analyse(units, None)
    for fig in (plot_win_shares(analysis["pairs"], tmp_path / "w.png"),
                plot_against_key(analysis["verdicts"], "experiment.batch_size",
                                 tmp_path / "k.png")):
        assert fig.axes and not outside(fig), outside(fig)
    assert re.search(r"Verdicts against experiment\.batch_size",
                     (study / "out" / "index.html").read_text())


@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (apt-get install chromium)")
def test_the_page_renders_whole_in_chromium(study, tmp_path):
    images, rows, cut = rendered(study / "out" / "index.html", tmp_path)
    assert images == 2 and cut == ""  # the heatmap and the batch-size plot, nothing cut
    assert rows >= 6 + 3 + 1  # the gain table, the counts, the provenance
