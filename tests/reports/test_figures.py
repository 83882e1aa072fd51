"""The report's figures, read back from their artists: no title runs off its figure (long
labels are wrapped), and every stop a [[stopping]] criterion observed is a marker on its run's
point, with a legend entry per criterion."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_rgb

import palbench
from palbench.reports.plots import plot_curves, plot_graph, plot_ranks
from palbench.results.schema import PANEL_KEYS

CONFIG = {
    "experiment": {"seeds": [0, 1, 2], "budgets": [6, 12, 18, 24], "batch_size": 3,
                   "probe": False},
    # two panels (two datasets) to rank over, with long labels for long titles
    "dataset": [{"name": "blobs", "n_samples": 150, "n_features": 4, "n_classes": 3,
                 "id": "blobs with a long name that a panel title has to carry along"},
                {"name": "circles", "n_samples": 150, "n_classes": 3}],
    "strategy": [{"name": "random"}, {"name": "margin"}, {"name": "entropy"}],
    "learner": {"name": "sklearn", "estimator": "sklearn.linear_model.LogisticRegression",
                "params": {"max_iter": 500, "C": 0.5}},
    "stopping": [{"name": "max_budget", "budget": 12},
                 {"name": "stabilizing_predictions", "window": 1, "kappa": 0.5}],
}


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    return palbench.run(CONFIG, store=tmp_path_factory.mktemp("figures") / "s.sqlite")


def outside(fig) -> list[str]:
    """The titles (of visible axes, and the figure's) whose box leaves the figure's."""
    renderer = FigureCanvasAgg(fig).get_renderer()  # the closed figure's, as saved
    box = fig.bbox
    titles = [ax.title for ax in fig.axes if ax.get_visible() and ax.get_title()]
    titles += [fig._suptitle] if fig._suptitle is not None else []
    out = []
    for title in titles:
        extent = title.get_window_extent(renderer)
        if extent.x0 < box.x0 - 0.5 or extent.x1 > box.x1 + 0.5 or extent.y1 > box.y1 + 0.5:
            out.append(title.get_text())
    return out


def test_no_title_runs_off_a_figure(results, tmp_path):
    frame = results.frame()
    figures = [plot_curves(frame, tmp_path / "c.png", "task_acc", "strategy", PANEL_KEYS),
               plot_graph(frame, tmp_path / "g.png", "strategy", PANEL_KEYS),
               plot_ranks(frame, tmp_path / "r.png", "task_acc", "strategy", "seed")]
    for fig in figures:
        assert fig.axes and not outside(fig), outside(fig)
    # the long panel title was wrapped to fit, not shrunk
    curves = figures[0]
    long = [ax.title for ax in curves.axes if "long name" in ax.get_title()]
    assert long and "\n" in long[0].get_text() and long[0].get_fontsize() == 9
    assert (tmp_path / "c.png").read_bytes()[:4] == b"\x89PNG"


def test_every_observed_stop_is_a_marker_on_its_runs_point(results, tmp_path):
    frame = results.frame()
    stops = results.stops()
    fired = stops[stops["stopped"].astype(bool)]
    criteria = sorted(fired["criterion"].unique())
    assert criteria == ["max_budget(budget=12)", "stabilizing_predictions(window=1,kappa=0.5)"]
    assert len(fired) < len(stops)  # some runs never stopped: they mark nothing
    fig = plot_curves(frame, tmp_path / "c.png", "task_acc", "strategy", PANEL_KEYS)
    for ax in fig.axes:
        on = "circles" if ax.get_title().startswith("circles") else "blobs with"
        mine = fired[fired["dataset"].str.startswith(on)]
        legend = ax.get_legend()
        handles, labels = legend.legend_handles, [t.get_text() for t in legend.get_texts()]
        assert labels[-2:] == [f"stopped: {c}" for c in criteria]
        color = {label: handle.get_color() for handle, label in zip(handles, labels)
                 if label in set(frame["strategy"])}
        markers = sorted((c for c in ax.collections if c.get_zorder() >= 5),
                         key=lambda c: c.get_zorder())  # one per criterion, in order
        assert len(markers) == 2
        for criterion, drawn in zip(criteria, markers):
            want = mine[mine["criterion"] == criterion].sort_values(["budget", "task_acc"])
            at = sorted(map(tuple, drawn.get_offsets()))
            assert np.allclose(at, list(zip(want["budget"], want["task_acc"])))
            faces = [tuple(np.round(f[:3], 6)) for f in drawn.get_facecolors()]
            order = np.lexsort((drawn.get_offsets()[:, 1], drawn.get_offsets()[:, 0]))
            assert [faces[i] for i in order] == [
                tuple(np.round(to_rgb(color[s]), 6)) for s in want["strategy"]]


def test_a_line_has_one_colour_in_every_panel(results, tmp_path):
    """A panel without one of the lines (a strategy run on one data set only) does not shift
    the others' colours: each line is read by its colour across panels."""
    frame = results.frame()
    frame = frame[~(frame["dataset"].str.startswith("blobs") & (frame["strategy"] == "entropy"))]
    fig = plot_curves(frame, tmp_path / "c.png", "task_acc", "strategy", PANEL_KEYS)
    seen: dict[str, set] = {}
    for ax in fig.axes:
        legend = ax.get_legend()
        if legend is None:
            continue
        for handle, text in zip(legend.legend_handles, legend.get_texts()):
            if text.get_text() in set(frame["strategy"]):
                seen.setdefault(text.get_text(), set()).add(to_rgb(handle.get_color()))
    assert set(seen) == {"random", "margin", "entropy"}
    assert all(len(colours) == 1 for colours in seen.values()), seen
