"""The Ray executor on a real local Ray cluster (loopback, no dashboard): the same rows as the
local executor, bit for bit on CPU."""

from __future__ import annotations

import pytest

from palbench.cli import main
from palbench.results.store import ResultsStore
from tests.test_end_to_end import RESULT_COLUMNS, SMALL_MLP

ray = pytest.importorskip("ray", reason="pip install 'palbench[ray]'")


def frame_of(store):
    with ResultsStore(store) as s:
        frame = s.to_frame()[RESULT_COLUMNS]
    return frame.sort_values(["strategy", "seed", "budget"]).reset_index(drop=True)


def test_ray_rows_equal_the_local_executors(write_config, tmp_path, monkeypatch):
    import pandas as pd

    monkeypatch.setenv("RAY_USAGE_STATS_ENABLED", "0")
    config = write_config(SMALL_MLP)
    assert main(["run", str(config), "--store", str(tmp_path / "local.sqlite"), "--quiet"]) == 0
    assert main(["run", str(config), "--store", str(tmp_path / "ray.sqlite"), "--quiet",
                 "--executor", "ray", "--workers", "2"]) == 0
    pd.testing.assert_frame_equal(frame_of(tmp_path / "local.sqlite"),
                                  frame_of(tmp_path / "ray.sqlite"))
    assert not ray.is_initialized()  # the executor shut down the cluster it started


def test_local_ray_cluster_stays_on_loopback(monkeypatch):
    from palbench.bench.ray_executor import run_cells_ray

    seen = {}

    def record(result):
        seen["nodes"] = [n["NodeManagerAddress"] for n in ray.nodes()]

    monkeypatch.setenv("RAY_USAGE_STATS_ENABLED", "0")
    from palbench.bench.config import plan_from_raw

    plan = plan_from_raw({"experiment": {"seeds": [0], "budgets": [4], "batch_size": 2,
                                         "probe": False},
                          "dataset": {"name": "blobs", "n_samples": 60},
                          "strategy": {"name": "random"}, "learner": {"name": "sklearn"}})
    run_cells_ray(plan.cells, plan.data, 1, record)
    assert seen["nodes"] == ["127.0.0.1"]


def test_address_without_ray_executor_is_refused(write_config, tmp_path, capsys):
    from tests.conftest import SMALL_CONFIG

    assert main(["run", str(write_config(SMALL_CONFIG)), "--store", str(tmp_path / "s.sqlite"),
                 "--address", "127.0.0.1:6379"]) == 2
    assert "--address" in capsys.readouterr().err


def test_each_dataset_goes_into_the_object_store_once(write_config, tmp_path, monkeypatch):
    """4 cells on one dataset: one ray.put of the prepared pool, and each task carries only its
    cell (a few KiB), not the pool's arrays."""
    import pickle

    from palbench.bench.config import load_plan
    from tests.conftest import SMALL_CONFIG

    monkeypatch.setenv("RAY_USAGE_STATS_ENABLED", "0")
    put, real_put = [], ray.put
    monkeypatch.setattr(ray, "put", lambda value, **k: put.append(value) or real_put(value, **k))
    plan = load_plan(write_config(SMALL_CONFIG))
    assert len(plan.cells) >= 4
    assert main(["run", str(write_config(SMALL_CONFIG)), "--store",
                 str(tmp_path / "ray.sqlite"), "--quiet", "--executor", "ray",
                 "--workers", "2"]) == 0
    assert len(put) == 1 and put[0].fingerprint == plan.cells[0].dataset_fingerprint
    task = pickle.dumps(plan.cells[0])
    assert len(task) < 8192 and put[0].X.tobytes()[:256] not in task


def test_a_strategy_beside_the_config_reaches_ray_workers(tmp_path, monkeypatch):
    """A module in the config's folder (not installed, not on sys.path) is found by Ray's
    workers as by the local executor's: the same rows."""
    import pandas as pd

    monkeypatch.setenv("RAY_USAGE_STATS_ENABLED", "0")
    folder = tmp_path / "work"
    folder.mkdir()
    (folder / "beside_config.py").write_text(
        "from dataclasses import dataclass\n"
        "import numpy as np\n"
        "import palbench\n\n"
        "@dataclass(frozen=True, kw_only=True)\n"
        "class FirstUnasked(palbench.Strategy):\n"
        "    def select(self, ctx, k, rng):\n"
        "        return np.flatnonzero(~ctx.queried)[:k]\n")
    config = folder / "grid.toml"
    config.write_text('[experiment]\nseeds = [0, 1]\nbudgets = [6, 12]\nbatch_size = 3\n'
                      'probe = false\n[dataset]\nname = "iris"\n[strategy]\n'
                      'name = "beside_config:FirstUnasked"\n[learner]\nname = "sklearn"\n'
                      'estimator = "sklearn.linear_model.LogisticRegression"\n')
    monkeypatch.chdir(tmp_path)  # the module is found by the config's folder alone
    assert main(["run", str(config), "--store", str(tmp_path / "local.sqlite"), "--quiet"]) == 0
    assert main(["run", str(config), "--store", str(tmp_path / "ray.sqlite"), "--quiet",
                 "--executor", "ray", "--workers", "1"]) == 0
    pd.testing.assert_frame_equal(frame_of(tmp_path / "local.sqlite"),
                                  frame_of(tmp_path / "ray.sqlite"))
