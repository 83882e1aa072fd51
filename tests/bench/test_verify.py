"""`palbench verify` end to end on a small real store (blobs, a torch mlp that trains in a
blink, a model-based strategy and stopping verdicts): an untouched store re-runs to the same
bits; a tampered checkpoint, a moved count, a changed spec and another palbench version are
named; a value moved by less than one test prediction is within tolerance; a bundle round trip
verifies; the store given is never written."""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
import textwrap

import pytest

from palbench.bench.verify import TOLERANCES
from palbench.cli import main
from palbench.results.schema import CHECKPOINT_FIELDS

CONFIG = """
[experiment]
name = "audited"
seeds = [0, 1]
budgets = [6, 12]
batch_size = 3
[dataset]
name = "blobs"
n_samples = 240
n_features = 4
n_classes = 3
[[strategy]]
name = "random"
[[strategy]]
name = "margin"
[oracle]
name = "noisy_label"
noise = 0.1
[learner]
name = "mlp"
hidden = [8]
epochs = 5
min_steps = 5
[[stopping]]
name = "stabilizing_predictions"
"""
N_TEST = 60  # blobs' test share of 240 samples (checked below)
COMPARED = [name for name, t in TOLERANCES.items() if t.allowed is not None]


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """A store of 4 runs (2 strategies x 2 seeds, 2 checkpoints each), made once."""
    folder = tmp_path_factory.mktemp("verify")
    config = folder / "audited.toml"
    config.write_text(textwrap.dedent(CONFIG), encoding="utf-8")
    assert main(["run", str(config), "--store", str(folder / "made.sqlite"), "--quiet"]) == 0
    return folder / "made.sqlite"


@pytest.fixture
def store(made, tmp_path):
    """A copy of the made store that a test may tamper with."""
    return shutil.copy(made, tmp_path / "runs.sqlite")


def sha256(path) -> str:
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def sql(path, statement: str, params=()) -> list[tuple]:
    with sqlite3.connect(path) as conn:
        rows = conn.execute(statement, params).fetchall()
    conn.close()
    return rows


def verify(capsys, *args) -> tuple[int, list[str], str]:
    code = main(["verify", *map(str, args), "--quiet"])
    out, err = capsys.readouterr()
    return code, out.splitlines(), err


def one_cell_store(tmp_path, name: str, dataset: str, strategy: str, budgets: str):
    """A store of one cell run at seed 0 with logistic regression (`dataset`: the TOML of
    its [dataset] tables)."""
    config = tmp_path / f"{name}.toml"
    config.write_text(f"[experiment]\nseeds = [0]\nbudgets = {budgets}\n"
                      f"{textwrap.dedent(dataset).strip()}\n"
                      f"[strategy]\nname = \"{strategy}\"\n[learner]\nname = \"sklearn\"\n"
                      "estimator = \"sklearn.linear_model.LogisticRegression\"\n",
                      encoding="utf-8")
    store = tmp_path / f"{name}.sqlite"
    assert main(["run", str(config), "--store", str(store), "--quiet"]) == 0
    return store


def test_every_checkpoint_field_declares_its_tolerance():
    assert sorted(TOLERANCES) == sorted(CHECKPOINT_FIELDS)
    assert TOLERANCES["n_wrong"].rule == "exact" and TOLERANCES["cost"].rule == "exact"
    assert TOLERANCES["fit_seconds"].allowed is None  # wall-clock time: not compared


def test_an_untouched_store_re_runs_to_the_same_bits_and_is_not_written(store, capsys):
    before = sha256(store)
    code, lines, _ = verify(capsys, "--store", store)
    assert code == 0
    values = 4 * 2 * len(COMPARED) + 4 * 2  # and each run's full_pool_acc and stops
    assert lines == [f"palbench verify: 4 cells re-run (4 stored runs), 8 checkpoints: "
                     f"{values} values identical, 0 within tolerance, 0 different"]
    assert sha256(store) == before
    assert sql(store, "SELECT COUNT(*) FROM runs") == [(4,)]


def test_a_tampered_checkpoint_is_named_with_both_values(store, capsys):
    run_id, budget, acc = sql(store, "SELECT c.run_id, c.budget, c.task_acc FROM checkpoints c "
                                     "JOIN runs r USING (run_id) WHERE r.strategy = 'margin' "
                                     "AND r.seed = 1 AND c.budget = 12")[0]
    forged = acc + 0.25 if acc < 0.75 else acc - 0.25
    sql(store, "UPDATE checkpoints SET task_acc = ? WHERE run_id = ? AND budget = ?",
        (forged, run_id, budget))
    sql(store, "UPDATE checkpoints SET n_wrong = n_wrong + 1 WHERE run_id = ? AND budget = 6",
        (run_id,))
    before = sha256(store)
    code, lines, _ = verify(capsys, "--store", store)
    assert code == 1
    where = f"run {run_id} (blobs, margin, mlp(hidden=[8],epochs=5,min_steps=5), seed 1)"
    assert f"{where}, budget 12, task_acc: stored {forged!r}, re-run {acc!r} (tolerance: " \
           f"one test prediction (1 / test samples) = {1 / N_TEST:.3g})" in lines
    assert any(line.startswith(f"{where}, budget 6, n_wrong: stored ") and
               line.endswith("(tolerance: exact)") for line in lines)
    assert len(lines) == 3 and lines[-1].endswith(", 0 within tolerance, 2 different")
    assert sha256(store) == before


def test_less_than_one_test_prediction_is_within_tolerance(store, capsys):
    sql(store, "UPDATE checkpoints SET task_acc = task_acc + ? WHERE run_id = "
               "(SELECT MIN(run_id) FROM runs) AND budget = 6", (0.5 / N_TEST,))
    code, lines, _ = verify(capsys, "--store", store)
    assert code == 0 and len(lines) == 1
    assert ", 1 within tolerance, 0 different" in lines[0]
    sql(store, "UPDATE checkpoints SET task_acc = task_acc + ? WHERE run_id = "
               "(SELECT MIN(run_id) FROM runs) AND budget = 6", (1.0 / N_TEST,))
    code, lines, _ = verify(capsys, "--store", store)
    assert code == 1 and ", budget 6, task_acc: stored " in lines[0]


def test_the_test_set_is_the_size_the_tolerances_above_assume(store):
    from palbench.datasets import DATASETS

    data = DATASETS.get("blobs")(n_samples=240, n_features=4, n_classes=3).prepare("b", "d")
    assert len(data.y_test) == N_TEST
    assert TOLERANCES["task_acc"].allowed(data) == 1 / N_TEST


def test_a_metric_emptied_in_a_run_of_this_version_is_a_difference(store, capsys):
    sql(store, "UPDATE checkpoints SET macro_f1 = NULL WHERE run_id = 4 AND budget = 6")
    code, lines, _ = verify(capsys, "--store", store)
    assert code == 1 and ", budget 6, macro_f1: stored None, re-run " in lines[0]
    sql(store, "UPDATE runs SET palbench_version = '0.2.0' WHERE run_id = 4")  # before it
    code, lines, _ = verify(capsys, "--store", store)
    assert code == 0 and ", 1 not recorded by the stored run (older schema)" in lines[0]


def test_a_run_of_another_palbench_version_says_so(store, capsys):
    sql(store, "UPDATE runs SET palbench_version = '0.0.1' WHERE run_id = 1")
    sql(store, "UPDATE checkpoints SET cost = cost + 1 WHERE run_id = 1 AND budget = 12")
    code, lines, _ = verify(capsys, "--store", store)
    assert code == 1
    assert lines[0].startswith("run 1 (") and ", budget 12, cost: stored " in lines[0]
    assert "[stored by palbench 0.0.1, re-run by " in lines[0]
    assert lines[-1].endswith("; 1 of the stored runs made by another palbench version")


def test_a_sample_is_a_seeded_choice_of_cells(store, capsys):
    code, lines, _ = verify(capsys, "--store", store, "--sample", 1, "--seed", 3)
    assert code == 0 and lines[0].startswith("palbench verify: 1 cells re-run (1 stored runs), "
                                             "2 checkpoints: ")
    code, lines, _ = verify(capsys, "--store", store, "--sample", 9)  # more than the cells
    assert code == 0 and lines[0].startswith("palbench verify: 4 cells re-run")
    code, lines, _ = verify(capsys, "--store", store, "--sample", 2, "--workers", 2)
    assert code == 0 and lines[0].endswith(", 0 within tolerance, 0 different")


def test_the_sample_is_the_same_for_a_seed():
    from palbench.bench.verify import choose

    class Run:
        def __init__(self, spec_hash):
            self.spec_hash = spec_hash

    runs = [Run(f"{i:02d}") for i in range(20)]
    assert choose(runs, 5, 1) == choose(runs, 5, 1) != choose(runs, 5, 2)
    assert len(set(choose(runs, 5, 1))) == 5 and choose(runs, None, 0) == sorted(
        r.spec_hash for r in runs)


def test_a_bundle_round_trip_verifies(store, tmp_path, capsys):
    bundle = tmp_path / "submission.zip"
    assert main(["export", "--store", str(store), "--format", "bundle", "--out",
                 str(bundle)]) == 0
    imported = tmp_path / "imported.sqlite"
    assert main(["import", str(bundle), "--store", str(imported)]) == 0
    capsys.readouterr()
    before = sha256(imported)
    code, lines, _ = verify(capsys, "--store", imported)
    assert code == 0 and ", 0 within tolerance, 0 different" in lines[0]
    assert lines[0].startswith("palbench verify: 4 cells re-run (4 stored runs)")
    assert sha256(imported) == before


def test_an_altered_spec_is_named_and_not_re_run(store, capsys):
    spec = json.loads(sql(store, "SELECT spec_json FROM runs WHERE run_id = 2")[0][0])
    spec["learner"]["epochs"] = 50  # the spec changed, its hash kept: not the run it claims
    sql(store, "UPDATE runs SET spec_json = ? WHERE run_id = 2", (json.dumps(spec),))
    code, lines, _ = verify(capsys, "--store", store)
    assert code == 1
    assert lines[0].startswith("run 2 (blobs, ") and lines[0].endswith(
        ": its spec does not hash to its spec_hash (the row was altered after the run); not "
        "re-run")
    assert lines[1].startswith("palbench verify: 3 cells re-run (3 stored runs), 6 checkpoints")


def test_a_cell_this_palbench_cannot_rebuild_is_refused_before_running(store, capsys):
    """A spec of a parameter this palbench does not have (another version's), hashed as
    it is: one line naming the run and the key, exit 2, nothing run."""
    spec = json.loads(sql(store, "SELECT spec_json FROM runs WHERE run_id = 3")[0][0])
    spec["learner"]["momentum"] = 0.9
    text = json.dumps(spec, sort_keys=True, separators=(",", ":"))
    sql(store, "UPDATE runs SET spec_json = ?, spec_hash = ?, palbench_version = '9.9' "
               "WHERE run_id = 3", (text, hashlib.sha256(text.encode()).hexdigest()))
    code, lines, err = verify(capsys, "--store", store)
    assert code == 2 and lines == [] and len(err.strip().splitlines()) == 1
    assert "run 3" in err and "cannot be rebuilt here" in err and "momentum" in err
    assert "stored by palbench 9.9" in err


def test_a_file_dataset_is_verified_with_the_file_given(tmp_path, capsys):
    """A csv's path is in no spec (its data's fingerprint is): verify asks for the file,
    finds the one of the stored data among those given, and refuses a file of other data."""
    from sklearn.datasets import make_classification

    X, y = make_classification(120, n_features=4, n_informative=3, n_redundant=0,
                               n_classes=2, random_state=0)
    source, edited = tmp_path / "points.csv", tmp_path / "edited.csv"
    for path, first in ((source, X[0, 0]), (edited, X[0, 0] + 1.0)):
        rows = [[first, *X[0, 1:], y[0]], *(list(x) + [c] for x, c in zip(X[1:], y[1:]))]
        path.write_text("a,b,c,d,label\n" + "".join(
            ",".join(f"{v:.6f}" for v in row[:4]) + f",{int(row[4])}\n" for row in rows),
            encoding="utf-8")
    store = one_cell_store(tmp_path, "file", """
        [dataset]
        name = "csv"
        path = "points.csv"
        label_column = "label"
        """, "margin", "[10, 20]")
    capsys.readouterr()
    code, lines, err = verify(capsys, "--store", store)
    assert code == 2 and lines == [] and len(err.strip().splitlines()) == 1
    assert "is read from a file, whose path no spec holds" in err and "--data FILE" in err
    code, lines, err = verify(capsys, "--store", store, "--data", edited)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "'run 1': its cell cannot be rebuilt here: no --data file gives the data of " \
        "dataset" in err
    code, lines, _ = verify(capsys, "--store", store, "--data", edited, "--data", source)
    assert code == 0 and lines[0].startswith("palbench verify: 1 cells re-run (1 stored runs), "
                                             "2 checkpoints: ")
    code, _, err = verify(capsys, "--store", store, "--data", tmp_path / "none.csv")
    assert code == 2 and "--data" in err and "no such file" in err


def test_a_cell_with_an_encoder_is_rebuilt_from_its_spec(tmp_path, capsys):
    """An encoder's identity holds the sha256 of its weights (`content_identity`), which no config
    sets: verify rebuilds the cell without it, and the rebuilt encoder's own hash must match."""
    store = one_cell_store(tmp_path, "encoded", f"""
        [dataset]
        name = "digits"
        [dataset.encoder]
        name = "efficientnet_lite0"
        size = 32
        pixel_max = 16.0
        cache_dir = "{tmp_path / 'cache'}"
        """, "coreset", "[10, 20]")
    capsys.readouterr()
    spec = json.loads(sql(store, "SELECT spec_json FROM runs")[0][0])
    assert len(spec["dataset"]["encoder"]["content_identity"]["weights_sha256"]) == 64
    code, lines, err = verify(capsys, "--store", store)
    assert code == 0, err
    assert lines[0].startswith("palbench verify: 1 cells re-run (1 stored runs), 2 checkpoints")
    assert "0 different" in lines[0]


def test_a_cell_whose_encoder_read_a_file_says_why_it_cannot_be_rebuilt(tmp_path, capsys):
    from palbench.encoders.torch_modules import EXAMPLE

    store = one_cell_store(tmp_path, "scripted", f"""
        [dataset]
        name = "digits"
        [dataset.encoder]
        name = "torchscript"
        path = "{EXAMPLE}"
        cache_dir = "{tmp_path / 'cache'}"
        """, "random", "[10]")
    capsys.readouterr()
    code, lines, err = verify(capsys, "--store", store)
    assert code == 2 and lines == []
    assert err == ("palbench: error: store = 'run 1': its cell cannot be rebuilt here: its "
                   "encoder reads dataset.encoder.path, which no spec holds (only the files' "
                   "sha256); verify rebuilds cells whose encoder is built in (palbench list "
                   "encoders)\n")


@pytest.mark.parametrize("args, named", [
    (["--sample", "0"], "--sample"),
    (["--sample", "-2"], "--sample"),
    (["--seed", "-1"], "--seed"),
    (["--workers", "0"], "--workers"),
])
def test_bad_input_is_one_line(store, capsys, args, named):
    code, lines, err = verify(capsys, "--store", store, *args)
    assert code == 2 and lines == [] and len(err.strip().splitlines()) == 1
    assert named in err


def test_no_such_store_is_one_line_and_creates_nothing(tmp_path, capsys):
    missing = tmp_path / "absent.sqlite"
    code, lines, err = verify(capsys, "--store", missing)
    assert code == 2 and lines == [] and "no such store" in err
    assert len(err.strip().splitlines()) == 1 and not missing.exists()
