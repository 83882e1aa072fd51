"""Labelled texts (`name = "text"`): a .csv, .jsonl or .parquet file with a text column and a
label column, embedded by a sentence encoder ([dataset.encoder], default all_minilm_l6_v2).
The embeddings are the dataset's inputs (what learners train on and strategies measure), and
from there it is like any dataset; a features file may still give a second view.

Every text and label is checked before the encoder runs (one line naming the row), the texts
are fingerprinted (`fingerprint_texts`) and their embeddings cached on disk by that
fingerprint and the encoder's identity, so a second run never embeds them again.
"""

from __future__ import annotations

import difflib
import hashlib
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from palbench.datasets.base import DATASETS, SplitSource
from palbench.datasets.features import existing_file
from palbench.datasets.files import EXAMPLES
from palbench.errors import ConfigError, check
from palbench.fields import param

SUFFIXES = (".csv", ".jsonl", ".parquet")
DEFAULT_ENCODER = "all_minilm_l6_v2"


def fingerprint_texts(texts: list[str]) -> str:
    """The sha256 of the texts in order, each as its UTF-8 bytes after their count: what the
    embeddings of texts are cached by (a dataset's arrays go by `fingerprint_arrays`)."""
    digest = hashlib.sha256(b"texts\n")
    for text in texts:
        data = text.encode("utf-8", "surrogatepass")
        digest.update(len(data).to_bytes(8, "little"))
        digest.update(data)
    return digest.hexdigest()


@DATASETS.register("text")
@dataclass(frozen=True, kw_only=True)
class TextFile(SplitSource):
    """Texts with labels in a .csv, .jsonl (one JSON object a line) or .parquet file,
    embedded by `encoder`; the embeddings are the inputs."""
    examples = ({"path": str(EXAMPLES / "texts.csv"), "encoder": {
        "name": DEFAULT_ENCODER,
        "cache_dir": str(Path(tempfile.gettempdir()) / "palbench-examples")}},)

    # the file, relative to the config file (its texts' embeddings are fingerprinted, not
    # its path)
    path: str = param(results=False)
    text_column: str = "text"  # the column of texts
    label_column: str = "label"  # the column of labels
    # the sentence encoder ([dataset.encoder]: its name and parameters) whose embeddings of
    # the texts are the inputs, cached on disk by texts and encoder identity
    encoder: dict = param(default_factory=lambda: {"name": DEFAULT_ENCODER},
                          component="encoder")
    # standardise the embeddings with the training part's statistics; false: as the encoder
    # gives them (a sentence encoder's vectors are made for cosine distances)
    standardize: bool = False

    def validate(self, where):
        super().validate(where)
        check(bool(self.path), f"{where}.path", self.path, "a .csv, .jsonl or .parquet path "
              "is required")
        check(self.text_column != self.label_column, f"{where}.label_column",
              self.label_column, "is the text column too")

    def display_name(self) -> str:
        return Path(self.path).stem

    def load_raw(self, where):
        texts, labels = self.read(where)
        self.features_file(len(texts), None, where)  # a bad one refused before the encoder runs
        encoder = self.nested_components()["encoder"]
        field = f"{where}.encoder"
        X = encoder.features(texts, None, fingerprint_texts(texts), field, gives="texts")
        check(X.ndim == 2 and len(X) == len(texts), field, self.encoder.get("name"),
              f"gave embeddings of shape {list(X.shape)} for {len(texts)} texts")
        return X, labels, None

    def read(self, where: str) -> tuple[list[str], np.ndarray]:
        """The texts and labels, each row checked: a text is a string with a character other
        than white space, every row has a label, and there are two classes or more (rows
        counted from 1, a CSV's header not counted)."""
        frame = read_table(self.path, f"{where}.path")
        check(len(frame) > 0, f"{where}.path", self.path, "the file has no data rows")
        columns = [str(c) for c in frame.columns]
        for key in ("text_column", "label_column"):
            column = getattr(self, key)
            if column not in columns:
                close = difflib.get_close_matches(column, columns, n=1, cutoff=0.6)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise ConfigError(f"{where}.{key}", column, f"no such column{hint}; the "
                                  f"file's columns: {', '.join(columns) or 'none'}")
        texts = frame[self.text_column].tolist()
        for row, text in enumerate(texts, 1):
            if not isinstance(text, str):
                why = "is missing" if is_missing(text) else \
                    f"is {text!r} ({type(text).__name__}), not a string"
                raise ConfigError(f"{where}.text_column", self.text_column,
                                  f"the text of row {row} {why}")
            check(bool(text.strip()), f"{where}.text_column", self.text_column,
                  f"the text of row {row} is empty ({text!r})")
        labels = frame[self.label_column]
        for row, label in enumerate(labels.tolist(), 1):
            check(not is_missing(label), f"{where}.label_column", self.label_column,
                  f"the label of row {row} is missing")
            check(isinstance(label, (str, int, float, np.number)), f"{where}.label_column",
                  self.label_column, f"the label of row {row} is {label!r} "
                  f"({type(label).__name__}): a label is a string or a number")
        classes = sorted({str(label) for label in labels.tolist()})
        check(len(classes) >= 2, f"{where}.label_column", self.label_column,
              f"holds one class ({classes[0]!r}) in {len(texts)} rows; need at least two")
        return texts, labels.to_numpy()

    def features_of(self, X, ids, where, image_shape=None):
        """A features file's rows, when given: the encoder made the inputs, not this view
        (the file was checked once already, before the encoder ran: `load_raw`)."""
        return self.features_file(len(X), ids, where)


def is_missing(value) -> bool:
    """A cell pandas reads as missing (None, NaN, pd.NA of a nullable column); a list is a
    value, not missing."""
    import pandas as pd

    return pd.api.types.is_scalar(value) and bool(pd.isna(value))


def read_table(path: str, field: str):
    """The file as a pandas DataFrame, by its suffix (an empty file: no rows): a CSV's empty
    cells are missing values, every other cell kept as written (the text "NA" is a text); a
    JSON lines file's values as JSON has them; a Parquet file's as stored."""
    import pandas as pd

    found = existing_file(path, field)
    suffix = found.suffix.lower()
    check(suffix in SUFFIXES, field, path, f"a text dataset is a {', '.join(SUFFIXES)} file")
    try:
        if suffix == ".csv":
            return pd.read_csv(found, keep_default_na=False, na_values=[""])
        if suffix == ".jsonl":
            return pd.read_json(found, lines=True, dtype=False)
        return pd.read_parquet(found)
    except pd.errors.EmptyDataError:  # not even a header: no rows, as an empty JSON lines file
        return pd.DataFrame()
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError, OSError) as exc:
        kind = {".csv": "CSV", ".jsonl": "JSON lines file", ".parquet": "Parquet file"}[suffix]
        raise ConfigError(field, path, f"not a readable {kind}: "
                          f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") \
            from None


TOPICS = {  # topic: (subjects, verbs, objects) of its templated sentences
    "sport": (("the striker", "our goalkeeper", "the home team", "the coach", "the sprinter"),
              ("scored twice in", "trained hard before", "lost narrowly in",
               "celebrated after", "was injured during"),
              ("the cup final", "the derby", "the relay race", "the league match",
               "the penalty shootout")),
    "weather": (("a cold front", "heavy rain", "the morning fog", "a summer storm",
                 "strong wind"),
                ("swept across", "flooded", "settled over", "is expected over", "cooled"),
                ("the northern hills", "the coastal towns", "the valley", "the airport",
                 "the city centre")),
    "cooking": (("the chef", "my grandmother", "the bakery", "this recipe", "the kitchen team"),
                ("slowly roasted", "seasoned", "baked", "simmered", "whisked"),
                ("the garlic and onions", "a loaf of sourdough", "the tomato sauce",
                 "fresh pasta", "the chocolate cake")),
    "finance": (("the central bank", "investors", "the stock market", "the startup",
                 "bond yields"),
                ("raised rates for", "sold shares in", "rallied on news about",
                 "borrowed from", "reported profits for"),
                ("the third quarter", "the tech sector", "the pension fund",
                 "foreign lenders", "the annual budget")),
}
WHEN = ("", " yesterday", " this week", " again", " on Monday")


def topic_corpus(n: int, seed: int = 0, topics: int = 4) -> tuple[list[str], list[str]]:
    """`n` short templated sentences in `topics` topics (sport, weather, cooking, finance),
    the same for the same seed, and their topics as labels: a small labelled corpus for the
    tests, `palbench bench embed` and the guide."""
    rng = np.random.default_rng(seed)
    names = list(TOPICS)[:topics]
    texts, labels = [], []
    for i in range(n):
        topic = names[i % len(names)]
        subjects, verbs, objects = TOPICS[topic]
        sentence = (f"{rng.choice(subjects)} {rng.choice(verbs)} {rng.choice(objects)}"
                    f"{rng.choice(WHEN)}.")
        texts.append(sentence[0].upper() + sentence[1:])
        labels.append(topic)
    return texts, labels
