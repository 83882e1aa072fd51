"""A dataset's second view: a user's file of features (embeddings) for its samples, row for
row (.npy, .npz or .csv), read and checked before any run starts; and the check that a
user's path names a file (this module imports no other part of palbench.datasets).

A CSV may carry an `id` column naming each row's sample (an image folder's file, as its path
relative to the folder): its rows are then matched to the samples by name, in any order.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from palbench.errors import ConfigError, check

ID_COLUMN = "id"  # a features CSV's column of sample names
SUFFIXES = (".npy", ".npz", ".csv")


def existing_file(path: str, field: str) -> Path:
    """`path` as a Path when it is a file; else one line saying what it is instead (a folder
    is named as one, not as a missing file)."""
    found = Path(path)
    check(not found.is_dir(), field, path, "is a folder, not a file: name the file itself")
    check(found.is_file(), field, path, "no such file")
    return found


def read_features(path: str, n: int, ids: list[str] | None, field: str) -> np.ndarray:
    """The (n, d) features of the file at `path`, in the samples' order (`ids`: each
    sample's name, for a CSV with an id column; None: the source's samples have no names),
    as stored: the caller checks their values (`base.check_features`)."""
    found = existing_file(path, field)
    suffix = found.suffix.lower()
    check(suffix in SUFFIXES, field, path, f"a features file is {', '.join(SUFFIXES)}")
    if suffix == ".csv":
        F = csv_features(found, ids, field, path)
    else:
        F = array_features(found, field, path)
    check(F.ndim == 2, field, path, f"features must be 2-D (samples x features), not of "
          f"shape {list(F.shape)}")
    check(len(F) == n, field, path, f"has {len(F)} rows; the dataset has {n} samples")
    return F


def array_features(found: Path, field: str, path: str) -> np.ndarray:
    """A .npy array, or an .npz archive's `features` array (or its only one)."""
    try:
        loaded = np.load(found, allow_pickle=False)
        if isinstance(loaded, np.ndarray):
            return loaded
        with loaded as archive:
            names = archive.files
            key = "features" if "features" in names else names[0] if len(names) == 1 else None
            check(key is not None, field, path, "an .npz of features holds an array named "
                  f"'features' (or only one); it has {', '.join(names) or 'none'}")
            return archive[key]
    except ConfigError:
        raise
    except (ValueError, OSError, EOFError) as exc:
        raise ConfigError(field, path, f"not a readable NumPy file: {exc}") from None


def csv_features(found: Path, ids: list[str] | None, field: str, path: str) -> np.ndarray:
    """A CSV's numeric columns; with an id column, its rows put in the samples' order."""
    import pandas as pd

    try:
        frame = pd.read_csv(found)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise ConfigError(field, path, f"not a readable CSV: {str(exc).splitlines()[0]}") \
            from None
    if ID_COLUMN in frame.columns:
        check(ids is not None, field, path, f"has an {ID_COLUMN!r} column, but the dataset's "
              "samples have no names (ids match an image folder's files)")
        frame = in_sample_order(frame, ids, field, path)
    bad = [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])]
    check(not bad, field, path, f"column {bad[0]!r} is not numeric" if bad else "")
    return frame.to_numpy(dtype=np.float64)


def in_sample_order(frame, ids: list[str], field: str, path: str):
    """The rows of `frame` reordered to `ids` by its id column, without the column: every
    id names exactly one sample, and every sample has a row."""
    names = frame[ID_COLUMN].astype(str).str.replace("\\", "/", regex=False)
    repeated = names[names.duplicated()]
    check(repeated.empty, field, path,
          f"id {repeated.iloc[0]!r} is on more than one row" if not repeated.empty else "")
    position = {name: i for i, name in enumerate(names)}
    known = set(ids)
    stray = [name for name in names if name not in known]
    check(not stray, field, path, f"id {stray[0]!r} matches no file of the dataset"
          if stray else "")
    missing = [i for i in ids if i not in position]
    check(not missing, field, path, f"no row for file {missing[0]!r}" if missing else "")
    return frame.drop(columns=[ID_COLUMN]).iloc[[position[i] for i in ids]]
