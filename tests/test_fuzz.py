"""Hostile input, generated (hypothesis): configs, dataset files, claim files and damaged store
files. Every case ends in success or in exactly one "palbench: error:" line with exit status 2
(after a run's notices, if any): never a traceback (it would fail the test), a hang, or a
store written by a refused run."""

from __future__ import annotations

import io
import shutil
import string
import tempfile
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from palbench.cli import main

CASES = settings(max_examples=300, deadline=None, derandomize=True, database=None,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def run_cli(argv: list[str]) -> tuple[int, str]:
    err, out = io.StringIO(), io.StringIO()
    with redirect_stderr(err), redirect_stdout(out):
        code = main(argv)
    return code, err.getvalue()


def assert_clean(code: int, err: str, allowed=(0, 2)) -> None:
    event(f"exit {code}")
    assert code in allowed, err
    if code == 2:  # one error line, last; notices before it (a run's "already complete")
        lines = err.splitlines()
        assert lines and lines[-1].startswith("palbench: error: "), err
        assert sum(x.startswith("palbench: error: ") for x in lines) == 1, err
        assert all(x.startswith("palbench: ") for x in lines), err


def toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, float):
        if value != value:
            return "nan"
        if value in (float("inf"), float("-inf")):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + " }"
    return str(value)


words = st.text(alphabet=string.ascii_lowercase + "_", min_size=1, max_size=12)
unicode = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=0,
                  max_size=8)
huge = st.sampled_from([10**18, -10**18, 2**63, -(2**63) - 1, 10**300, 1e308, -1e308, 5e-324])
scalars = st.one_of(st.integers(-5, 400), st.floats(allow_nan=True, allow_infinity=True),
                    st.booleans(), words, unicode, huge)


def deep(depth: int, inner):
    """A value nested `depth` levels deep, tables and arrays alternating."""
    for level in range(depth):
        inner = {"k": inner} if level % 2 else [inner]
    return inner


nested = st.builds(deep, st.integers(2, 300), scalars)
values = st.one_of(scalars, st.lists(scalars, max_size=4), st.just([]), st.just({}), nested)


def section(name: str, fixed: dict, optional: dict):
    """A TOML table: some known keys with fitting values, some with any value, some junk."""
    return st.tuples(
        st.sampled_from(fixed[name]) if name in fixed else words,
        st.dictionaries(st.sampled_from(sorted(optional)), st.one_of(values, st.just(None)),
                        max_size=3),
        st.dictionaries(words, values, max_size=1),
    ).map(lambda t: (name, t[0], {**{k: v for k, v in t[1].items() if v is not None},
                                  **t[2]}))


NAMES = {"dataset": ["blobs", "circles", "digitz"],
         "strategy": ["random", "margin", "entropy", "graph_coverage", "random_pairs",
                      "pal_active", "nope"],
         "oracle": ["exact", "noisy_label", "exact_pair", "noisy_pair", "abstain", "confusion"],
         "learner": ["sklearn", "kernel_pal", "lerner"]}
OPTIONAL = {"dataset": {"n_samples": 1, "n_classes": 1, "test_fraction": 1, "noise": 1},
            "strategy": {"delta": 1, "captcha": 1, "exemplars": 1},
            "oracle": {"noise": 1, "rate": 1, "matrix": 1},
            "learner": {"n_eigen": 1, "sigma": 1, "params": 1}}


BASE = {
    "experiment": {"seeds": [0], "budgets": [4, 8], "batch_size": 2, "probe": False},
    "dataset": {"name": "blobs", "n_samples": 60},
    "strategy": {"name": "random"},
    "oracle": {"name": "exact"},
    "learner": {"name": "sklearn"},
}
VALID_STRATEGIES = ["random", "margin", "entropy", "least_confident", "graph_coverage"]


def toml_key(key: str) -> str:
    return key if key and all(c.isascii() and (c.isalnum() or c in "_-") for c in key) \
        else toml_value(key)


def render(config: dict) -> str:
    lines = []
    for name, table in config.items():
        lines.append(f"[{toml_key(name)}]")
        lines += [f"{toml_key(key)} = {toml_value(value)}" for key, value in table.items()]
    return "\n".join(lines) + "\n"


@st.composite
def configs(draw) -> str:
    """A valid base config (a real run) with 0-3 mutations: a key set to any value, a key or
    section dropped, a name changed, a section renamed."""
    config = {k: dict(v) for k, v in BASE.items()}
    config["strategy"]["name"] = draw(st.sampled_from(VALID_STRATEGIES))
    for _ in range(draw(st.integers(0, 3))):
        name = draw(st.sampled_from(sorted(config)))
        kind = draw(st.integers(0, 4))
        if kind == 0:
            key = draw(st.sampled_from(sorted(config[name]) + sorted(OPTIONAL.get(name, {}))))
            config[name][key] = draw(values)
        elif kind == 1 and config[name]:
            config[name].pop(draw(st.sampled_from(sorted(config[name]))))
        elif kind == 2 and name in NAMES:
            config[name]["name"] = draw(st.sampled_from(NAMES[name]))
        elif kind == 3:
            config[draw(st.one_of(words, unicode))] = config.pop(name)
        else:
            config[name][draw(st.one_of(words, unicode))] = draw(values)
    if isinstance(config.get("dataset", {}).get("n_samples"), int):
        config["dataset"]["n_samples"] = min(config["dataset"]["n_samples"], 150)
    return render(config)


def run_generated_config(text: str) -> None:
    """Exit 0, or one error line and exit 2 with no store created."""
    with tempfile.TemporaryDirectory() as folder:
        path, store = Path(folder) / "c.toml", Path(folder) / "s.sqlite"
        path.write_text(text, encoding="utf-8")
        code, err = run_cli(["run", str(path), "--store", str(store), "--quiet"])
        assert_clean(code, err)
        if code == 2:
            assert not store.exists()


@CASES
@given(text=configs())
def test_generated_configs(text):
    run_generated_config(text)


@pytest.mark.slow
@settings(CASES, max_examples=3000)
@given(text=configs())
def test_generated_configs_at_length(text):
    run_generated_config(text)


cells = st.one_of(st.integers(-3, 3), st.floats(allow_nan=True, allow_infinity=True,
                                                width=32),
                  st.sampled_from(["", "a", "1e308", "NaN", "x,y", '"q']))


@st.composite
def csv_files(draw) -> str:
    """Mostly well-formed numeric tables with a label column (one class, one row, a constant
    or a text column among them), then damaged cells and headers."""
    n_cols = draw(st.integers(0, 3))
    n_rows = draw(st.integers(0, 16))
    header = [f"f{i}" for i in range(n_cols)] + ["label"]
    classes = draw(st.sampled_from([["a", "b", "c"], ["a"], ["ü", "名"]]))
    constant = draw(st.one_of(st.none(), st.integers(0, max(n_cols - 1, 0))))
    text_column = draw(st.one_of(st.none(), st.integers(0, max(n_cols - 1, 0))))
    rows = [[str(draw(st.integers(-9, 9))) for _ in range(n_cols)] +
            [draw(st.sampled_from(classes))] for _ in range(n_rows)]
    for row in rows:
        if constant is not None and n_cols:
            row[constant] = "7"
        if text_column is not None and n_cols and draw(st.booleans()):
            row[text_column] = draw(st.sampled_from(["x", "1,5", "ünï", " ", "inf", "-1e400"]))
    for _ in range(draw(st.integers(0, 3))):
        if rows and draw(st.booleans()):
            r, c = draw(st.integers(0, len(rows) - 1)), draw(st.integers(0, n_cols))
            rows[r][c] = toml_value(draw(cells)) if draw(st.booleans()) else str(draw(cells))
        else:
            header[draw(st.integers(0, n_cols))] = draw(st.sampled_from(["", "target", "a"]))
    return "\n".join(",".join(r) for r in [header, *rows]) + "\n"


DATA_CONFIG = """
[experiment]
seeds = [0]
budgets = [2]
batch_size = 1
probe = false
[dataset]
name = "{kind}"
path = "data.{kind}"
{extra}
[strategy]
name = "random"
[learner]
name = "sklearn"
"""


@CASES
@given(text=csv_files())
def test_generated_csv_files(text):
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        (folder / "data.csv").write_text(text, encoding="utf-8")
        (folder / "c.toml").write_text(DATA_CONFIG.format(kind="csv",
                                                          extra='label_column = "label"'))
        code, err = run_cli(["run", str(folder / "c.toml"), "--store",
                             str(folder / "s.sqlite"), "--quiet"])
        assert_clean(code, err)
        if code == 2:
            assert not (folder / "s.sqlite").exists()


@st.composite
def npz_arrays(draw) -> dict:
    n = draw(st.integers(0, 10))
    d = draw(st.integers(0, 3))
    kind = draw(st.sampled_from(["float", "int", "object", "str", "complex", "3d"]))
    rng = np.random.default_rng(draw(st.integers(0, 9)))
    X = {"float": lambda: rng.normal(size=(n, d)) * draw(st.sampled_from([1, 1e300, np.nan])),
         "int": lambda: rng.integers(-5, 5, size=(n, d)),
         "object": lambda: np.array([[{"a": 1}] * d] * n, dtype=object),
         "str": lambda: np.array([["x"] * d] * n),
         "complex": lambda: rng.normal(size=(n, d)) + 1j,
         "3d": lambda: rng.normal(size=(n, d, 2))}[kind]()
    y = rng.integers(0, draw(st.integers(1, 3)), size=draw(st.sampled_from([n, max(n - 1, 0)])))
    arrays = {"X": X, "y": y}
    if draw(st.integers(0, 5)) == 0:
        arrays.pop(draw(st.sampled_from(["X", "y"])))
    return arrays


@CASES
@given(arrays=npz_arrays())
def test_generated_npz_files(arrays):
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        np.savez(folder / "data.npz", **arrays)
        (folder / "c.toml").write_text(DATA_CONFIG.format(kind="npz", extra=""))
        code, err = run_cli(["run", str(folder / "c.toml"), "--store",
                             str(folder / "s.sqlite"), "--quiet"])
        assert_clean(code, err)


@pytest.fixture(scope="module")
def small_store(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fuzzstore")
    (folder / "c.toml").write_text(DATA_CONFIG.replace('path = "data.{kind}"\n{extra}', "")
                                   .format(kind="blobs").replace("budgets = [2]",
                                                                 "budgets = [2, 4]")
                                   .replace("seeds = [0]", "seeds = [0, 1]"))
    store = folder / "s.sqlite"
    assert main(["run", str(folder / "c.toml"), "--store", str(store), "--quiet"]) == 0
    return store


CLAIM_KEYS = ["name", "dataset", "strategy", "metric", "target", "at_most", "at_least",
              "relative_to", "ratio_at_most", "confidence", "oracle", "tag", "config"]


@st.composite
def claim_files(draw) -> str:
    lines = []
    for i in range(draw(st.integers(0, 2))):
        lines.append("[[claim]]" if draw(st.integers(0, 5)) else "[claim]")
        lines.append(f'name = "c{i}"')
        lines.append(f'dataset = {toml_value(draw(st.sampled_from(["blobs", "blobz", 3])))}')
        lines.append(f'strategy = {toml_value(draw(st.sampled_from(["random", "randon"])))}')
        metric = draw(st.sampled_from(["cost_to_reach", "aulc", "final_acc", "speed"]))
        lines.append(f"metric = {toml_value(metric)}")
        for key in draw(st.lists(st.sampled_from(CLAIM_KEYS[4:] + ["junk"]), max_size=3,
                                 unique=True)):
            lines.append(f"{key} = {toml_value(draw(values))}")
        if draw(st.booleans()):
            lines.append(f"target = {toml_value(draw(st.floats(-1, 2)))}")
    return "\n".join(lines) + "\n"


@CASES
@given(text=claim_files())
def test_generated_claim_files(text, small_store):
    """Whatever a claims file holds, checking it never changes the store."""
    before = small_store.read_bytes()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "claims.toml"
        path.write_text(text, encoding="utf-8")
        code, err = run_cli(["check", str(path), "--store", str(small_store), "--no-run"])
        assert_clean(code, err, allowed=(0, 1, 2))
    assert small_store.read_bytes() == before


damage = dict(cuts=st.lists(st.tuples(st.integers(0, 40_000), st.binary(min_size=1, max_size=64)),
                           max_size=4),
              truncate=st.one_of(st.none(), st.integers(0, 40_000)))


def damaged_copy(store: Path, folder: Path, cuts, truncate) -> Path:
    damaged = folder / "s.sqlite"
    shutil.copy(store, damaged)
    data = bytearray(damaged.read_bytes())
    for offset, junk in cuts:
        data[offset:offset + len(junk)] = junk
    if truncate is not None:
        data = data[:truncate]
    damaged.write_bytes(bytes(data))
    return damaged


@CASES
@given(**damage)
def test_damaged_store_files(cuts, truncate, small_store):
    with tempfile.TemporaryDirectory() as folder:
        damaged = damaged_copy(small_store, Path(folder), cuts, truncate)
        for argv in (["export", "--store", str(damaged), "--out", str(Path(folder) / "o.csv")],
                     ["compare", "--store", str(damaged), "--baseline", "a", "--candidate",
                      "b"]):
            code, err = run_cli(argv)
            assert_clean(code, err)


@pytest.fixture(scope="module")
def store_inputs(small_store):
    """Beside the small store: a grid with one cell more than it holds (a run reads what is
    complete and writes the new cell), a bundle of it, and a claim about it."""
    folder = small_store.parent
    grid = (folder / "c.toml").read_text().replace("seeds = [0, 1]", "seeds = [0, 1, 2]")
    (folder / "more.toml").write_text(grid)
    assert main(["export", "--store", str(small_store), "--format", "bundle", "--out",
                 str(folder / "b.zip")]) == 0
    (folder / "claims.toml").write_text('[[claim]]\nname = "c"\ndataset = "blobs"\n'
                                        'strategy = "random"\nmetric = "final_acc"\n'
                                        'at_least = 0.1\n')
    return folder


STORE_PATHS = settings(CASES, max_examples=100)  # each case runs a cell and writes a report


@STORE_PATHS
@given(**damage)
def test_damaged_store_files_on_every_path(cuts, truncate, small_store, store_inputs):
    """run (complete_hashes, write_run), import, report, check and a bundle export on a
    damaged store: success, or one line and exit 2 (a claim may fail: exit 1)."""
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        damaged = damaged_copy(small_store, folder, cuts, truncate)
        store = ["--store", str(damaged)]
        for argv, allowed in (
                (["run", str(store_inputs / "more.toml"), *store, "--quiet"], (0, 2)),
                (["import", str(store_inputs / "b.zip"), *store], (0, 2)),
                (["report", *store, "--out", str(folder / "report")], (0, 2)),
                (["check", str(store_inputs / "claims.toml"), *store, "--no-run"], (0, 1, 2)),
                (["export", *store, "--format", "bundle", "--out", str(folder / "o.zip")],
                 (0, 2))):
            code, err = run_cli(argv)
            assert_clean(code, err, allowed)
