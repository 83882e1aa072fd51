"""Messages that say what happens: `check` announces the cells it runs and how long they take
(and `--no-run` runs none); a `palbench` folder in the working folder never reaches a worker,
and a worker that would import another module than this process's is refused in one line
naming both paths; a folder given as a data file says so; and every default that `palbench
list` and the config reference state is the one a config gets when it leaves the key out."""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.util
import re
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import palbench
from palbench import ConfigError
from palbench.bench.config import SECTIONS, build_components, parse
from palbench.cli import main
from palbench.kinds import KINDS
from palbench.protocol import build_nested
from palbench.reference import kinds, parameters, tables, toml_value
from tests.conftest import SMALL_CONFIG

PALBENCH_CLI = str(Path(sys.executable).parent / "palbench")  # the console script


def grid(seeds: str) -> str:
    return SMALL_CONFIG.replace("seeds = [0, 1]", f"seeds = {seeds}")


CLAIMS = """
[[claim]]
name = "margin reaches 40% on blobs"
dataset = "blobs"
strategy = "margin"
experiment = "small"
metric = "final_acc"
at_least = 0.4
config = "grid.toml"
"""


def runs_in(store: Path) -> int:
    return sqlite3.connect(store).execute("SELECT COUNT(*) FROM runs").fetchone()[0]


def check_claims(tmp_path, capsys, seeds: str, *options: str) -> str:
    (tmp_path / "grid.toml").write_text(grid(seeds))
    (tmp_path / "claims.toml").write_text(CLAIMS)
    assert main(["check", str(tmp_path / "claims.toml"), "--store",
                 str(tmp_path / "s.sqlite"), *options]) == 0
    return capsys.readouterr().err


def test_check_says_how_many_cells_it_runs_and_how_long_before_running_them(tmp_path, capsys):
    said = check_claims(tmp_path, capsys, "[0, 1]")
    assert "4 of the 4 cells of" in said and "running them now on 1 worker(s)" in said
    assert "time unknown" in said and "--no-run never runs cells" in said
    assert runs_in(tmp_path / "s.sqlite") == 4
    said = check_claims(tmp_path, capsys, "[0, 1, 2]")  # two more cells, timed by the others
    assert "2 of the 6 cells of" in said
    assert re.search(r"\(about \d+ s, from the store's runs of the same cells under other "
                     r"seeds\)", said), said
    assert runs_in(tmp_path / "s.sqlite") == 6
    assert check_claims(tmp_path, capsys, "[0, 1, 2]") == ""  # nothing missing: nothing said


def test_the_time_estimate_is_the_stored_seconds_of_the_same_cells_spread_over_workers(
        tmp_path):
    from palbench.bench.config import load_plan
    from palbench.bench.session import cells_to_run, run_plan, stored_seconds, time_estimate
    from palbench.results.store import ResultsStore

    (tmp_path / "grid.toml").write_text(grid("[0, 1]"))
    with ResultsStore(tmp_path / "s.sqlite") as store:
        run_plan(load_plan(tmp_path / "grid.toml"), store, progress=False)
        (tmp_path / "grid.toml").write_text(grid("[0, 1, 2]"))
        plan = load_plan(tmp_path / "grid.toml")
        todo = cells_to_run(plan, store)
        checkpoints, runs = store.checkpoints(), store.runs()
        seconds = checkpoints.groupby("run_id")[["select_seconds", "fit_seconds",
                                                 "eval_seconds", "pretrain_seconds"]].sum()
        by_strategy = seconds.sum(axis=1).groupby(runs.set_index("run_id")["strategy"]).median()
        expected = [by_strategy[cell.strategy.label] for cell in todo]
        assert stored_seconds(todo, store) == pytest.approx(expected)
        assert stored_seconds(todo, ResultsStore(tmp_path / "empty.sqlite")) == [None, None]
        assert time_estimate(todo, store, workers=2).startswith("about ")


def test_check_no_run_runs_nothing_and_leaves_the_store_unchanged(tmp_path, capsys):
    check_claims(tmp_path, capsys, "[0, 1]")
    before = hashlib.sha256((tmp_path / "s.sqlite").read_bytes()).hexdigest()
    said = check_claims(tmp_path, capsys, "[0, 1, 2, 3]", "--no-run")
    assert "running them" not in said
    assert runs_in(tmp_path / "s.sqlite") == 4
    assert hashlib.sha256((tmp_path / "s.sqlite").read_bytes()).hexdigest() == before


PLUGIN = """
from dataclasses import dataclass

from palbench import Strategy
from palbench.authoring import random_choice


@dataclass(frozen=True, kw_only=True)
class AnyFree(Strategy):
    def select(self, ctx, k, rng):
        return random_choice(ctx.candidates, k, rng)
"""




@pytest.mark.parametrize("shadow", ["package", "bare folder"])
def test_a_palbench_folder_in_the_working_folder_never_reaches_the_workers(shadow, tmp_path):
    """`palbench run --workers 2` from a folder that holds a folder named `palbench` (and a
    plugin beside the config, which the workers must import from that same folder)."""
    (tmp_path / "palbench").mkdir()
    if shadow == "package":
        (tmp_path / "palbench" / "__init__.py").write_text("raise ImportError('the shadow')\n")
    (tmp_path / "mywork.py").write_text(PLUGIN)
    plugin_grid = grid("[0, 1]").replace('name = "margin"', 'name = "mywork:AnyFree"')
    (tmp_path / "grid.toml").write_text(plugin_grid)
    out = subprocess.run([PALBENCH_CLI, "run", "grid.toml", "--store", "s.sqlite", "--workers",
                          "2"], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert runs_in(tmp_path / "s.sqlite") == 4


SHADOWED_SCRIPT = """
import sys

import palbench

sys.path.insert(0, {folder!r})  # after palbench was imported: only the workers would see it
if __name__ == "__main__":
    try:
        palbench.run({grid!r}, store={store!r}, workers=2, progress=False)
    except palbench.ConfigError as exc:
        print(exc)
"""


def test_a_worker_that_would_import_another_palbench_is_refused_in_one_line(tmp_path):
    shadow = tmp_path / "project"
    (shadow / "palbench").mkdir(parents=True)
    (shadow / "palbench" / "__init__.py").write_text("")
    (tmp_path / "grid.toml").write_text(grid("[0, 1]"))
    script = tmp_path / "elsewhere" / "bench.py"
    script.parent.mkdir()
    script.write_text(SHADOWED_SCRIPT.format(folder=str(shadow), grid=str(tmp_path / "grid.toml"),
                                             store=str(tmp_path / "s.sqlite")))
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                         timeout=300, cwd=script.parent)
    assert out.returncode == 0, out.stderr
    assert out.stdout.count("\n") == 1 and "BrokenProcessPool" not in out.stderr
    assert f"would import module 'palbench' from {shadow / 'palbench'}" in out.stdout
    assert str(Path(palbench.__file__).parent) in out.stdout
    assert not (tmp_path / "s.sqlite").exists()  # refused before the store is created


def test_a_plugin_no_worker_can_find_is_refused_naming_its_module_and_path(tmp_path):
    """A module loaded from a file by hand (no folder on any search path holds it)."""
    path = tmp_path / "hidden" / "handmade.py"
    path.parent.mkdir()
    path.write_text(PLUGIN)
    spec = importlib.util.spec_from_file_location("handmade", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["handmade"] = module
    try:
        spec.loader.exec_module(module)
        config = {"experiment": {"seeds": [0, 1], "budgets": [6], "batch_size": 3,
                                 "probe": False},
                  "dataset": {"name": "blobs", "n_samples": 90},
                  "strategy": {"name": module.AnyFree}, "learner": {"name": "sklearn"}}
        with pytest.raises(ConfigError, match=f"module 'handmade' \\(loaded here from "
                                              f"{re.escape(str(path))}\\) is in no folder a "
                                              "worker process searches"):
            palbench.run(config, store=tmp_path / "s.sqlite", workers=2, progress=False)
        assert not (tmp_path / "s.sqlite").exists()
    finally:
        del sys.modules["handmade"]


FOLDER_SOURCES = ("imagefolder",)  # their path is a folder (tests/datasets/test_images.py)
FILE_SOURCES = [name for name in kinds()["dataset"].names()
                if "path" in {p.name for p in parameters(kinds()["dataset"].get(name))}
                and name not in FOLDER_SOURCES]


def test_the_file_sources_are_the_ones_with_a_path():
    assert {"csv", "npz"} <= set(FILE_SOURCES)


@pytest.mark.parametrize("source", FILE_SOURCES)
def test_a_folder_given_as_a_data_file_says_it_is_a_folder(source, tmp_path, capsys):
    (tmp_path / "data").mkdir()
    (tmp_path / "run.toml").write_text(textwrap.dedent(f"""
        [experiment]
        budgets = [6]
        [dataset]
        name = "{source}"
        path = "data"
        [strategy]
        name = "random"
    """))
    assert main(["run", str(tmp_path / "run.toml"), "--store", str(tmp_path / "s.sqlite")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert f"dataset.path = '{tmp_path / 'data'}': is a folder, not a file" in err
    assert not (tmp_path / "s.sqlite").exists()


def test_csv_labels_are_the_last_column_unless_named(tmp_path):
    from palbench.datasets.files import CsvFile

    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(60, 3)), columns=["a", "b", "c"])
    frame["kind"] = np.repeat(["x", "y", "z"], 20)
    frame.to_csv(tmp_path / "pool.csv", index=False)
    unnamed = CsvFile(path=str(tmp_path / "pool.csv")).prepare("pool", "dataset")
    named = CsvFile(path=str(tmp_path / "pool.csv"), label_column="kind").prepare("pool",
                                                                                    "dataset")
    assert unnamed.X.shape[1] == 3 and unnamed.class_names == ("x", "y", "z")
    assert np.array_equal(unnamed.X, named.X) and np.array_equal(unnamed.y, named.y)


# a value for each parameter declared without a default (a required one), valid for its check
REQUIRED = {"path": "pool.csv", "matrix": [[1.0]], "factory": "torch.nn:Flatten",
            "model": "bert-base-uncased"}
BASE = {"dataset": {"name": "blobs"}, "strategy": {"name": "random"}}  # for [experiment]


def every_table() -> list[tuple[str, str, type]]:
    """(config section, name, class) of [experiment], [costs] and every registered component
    of every kind, plugins included."""
    found = [(section, section, cls) for section, cls in tables().items()]
    return found + [(section, name, registry.get(name)) for section, registry in kinds().items()
                    for name in registry.names()]


def built_from(section: str, name: str, table: dict, tmp_path: Path):
    """The object a config gets for this table, built as a config's (data not loaded)."""
    if section == "experiment":
        return parse({**BASE, section: table}, tmp_path)[0]
    named = table if section == "costs" else {"name": name, **table}
    if section not in SECTIONS:  # a kind held inside another's table ([dataset.encoder])
        kind = next(k.name for k in KINDS.values() if k.section == section)
        return build_nested(kind, named, section)
    return build_components(section, [named], tmp_path)[0].obj


@pytest.mark.parametrize("section,name,cls", every_table(),
                         ids=[f"{s}.{n}" if s != n else s for s, n, _ in every_table()])
def test_every_stated_default_is_what_a_config_gets_when_it_leaves_the_key_out(
        section, name, cls, tmp_path):
    """`palbench list` and the config reference state each parameter's default (or that it is
    required); a config that leaves the key out gets exactly that (nothing refuses it or
    rewrites it), and leaving out a required one is one line naming it."""
    stated = {p.name: p.default for p in parameters(cls)}
    required = [key for key, default in stated.items() if default == "required"]
    missing = [key for key in required if key not in REQUIRED]
    assert not missing, f"give {missing} a valid value in REQUIRED"
    obj = built_from(section, name, {key: REQUIRED[key] for key in required}, tmp_path)
    got = {f.name: toml_value(getattr(obj, f.name)) for f in dataclasses.fields(obj)
           if f.init and f.name not in required}
    assert got == {key: default for key, default in stated.items() if key not in required}
    for key in required:
        with pytest.raises(ConfigError) as refused:
            built_from(section, name, {k: REQUIRED[k] for k in required if k != key},
                       tmp_path)
        assert refused.value.field == f"{section}.{key}", str(refused.value)


# a parameter's doc that states a default in words: a second statement of what the default
# column already says (from the field), which can drift from it, as "label_column: (default:
# the last one)" did while the field was "" and a run refused it
RESTATED = re.compile(r"\(default\b|\bdefault:|\bdefaults? to\b|\bby default\b", re.I)


@pytest.mark.parametrize("section,name,cls", every_table(),
                         ids=[f"{s}.{n}" if s != n else s for s, n, _ in every_table()])
def test_no_parameter_doc_restates_its_default_in_words(section, name, cls):
    restated = {p.name: p.doc for p in parameters(cls) if RESTATED.search(p.doc)}
    assert restated == {}, "say what a value means (`\"\": the last column`); the default " \
                           "itself is stated from the field"
