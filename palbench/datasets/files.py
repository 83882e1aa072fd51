"""The user's own data: CSV files with a label column (the last one unless named), NumPy .npz
archives (no pickles)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from palbench.datasets.base import DATASETS, SplitSource, physical_memory
from palbench.datasets.features import existing_file
from palbench.errors import ConfigError, check
from palbench.fields import param
from palbench.params import unknown_key_error

EXAMPLES = Path(__file__).parent / "examples"  # the small files its contract check reads


@DATASETS.register("csv")
@dataclass(frozen=True, kw_only=True)
class CsvFile(SplitSource):
    """A CSV file with a header row: numeric feature columns plus one label column."""
    examples = ({"path": str(EXAMPLES / "pool.csv"), "label_column": "label"},)

    # the file, relative to the config file (its data are fingerprinted, not its path)
    path: str = param(results=False)
    label_column: str = ""  # the column holding the labels; "": the last column

    def validate(self, where):
        super().validate(where)
        check(bool(self.path), f"{where}.path", self.path, "a CSV path is required")

    def load_raw(self, where):
        import pandas as pd

        path = existing_file(self.path, f"{where}.path")
        try:
            check_pool_fits(csv_shape(path), f"{where}.path", self.path,
                            bytes_per_value=CSV_BYTES_PER_VALUE)
            frame = pd.read_csv(path)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{where}.path", self.path,
                              f"not a readable CSV: {str(exc).splitlines()[0]}") from None
        label = self.label_column or frame.columns[-1]
        if label not in frame.columns:
            raise unknown_key_error(f"{where}.label_column", label, label,
                                    [str(c) for c in frame.columns])
        check(len(frame) > 0, f"{where}.path", self.path, "the file has no data rows")
        y = frame[label]
        if y.isna().any():
            row = int(np.flatnonzero(y.isna().to_numpy())[0]) + 2  # 1-based, after the header
            raise ConfigError(f"{where}.label_column", label, f"label missing in line {row}")
        features = frame.drop(columns=[label])
        bad = [c for c in features.columns if not pd.api.types.is_numeric_dtype(features[c])]
        if bad:
            raise ConfigError(f"{where}.path", self.path, f"column {bad[0]!r} is not numeric")
        check(features.shape[1] > 0, f"{where}.path", self.path, "no feature columns")
        return features.to_numpy(dtype=np.float64), y.to_numpy(), None

    def display_name(self) -> str:
        return Path(self.path).stem


def stored_shape(archive, name: str) -> tuple[int, ...]:
    """An array's shape from its .npy header inside the archive, without reading the array."""
    with archive.zip.open(f"{name}.npy") as member:
        version = np.lib.format.read_magic(member)
        read = np.lib.format.read_array_header_1_0 if version == (1, 0) else \
            np.lib.format.read_array_header_2_0
        return read(member)[0]


CSV_BYTES_PER_VALUE = 16  # pandas parses into float64, and its frame is copied once into X


def csv_shape(path: Path) -> tuple[int, int]:
    """(data rows, feature columns) of a CSV, from its header and a count of its line ends
    (a pass over the bytes in blocks, no parsing): what reading it will take, before it is read."""
    import pandas as pd

    columns = len(pd.read_csv(path, nrows=0).columns)
    lines, last = 0, b"\n"
    with open(path, "rb") as stream:
        while block := stream.read(1 << 22):
            lines += block.count(b"\n")
            last = block[-1:]
    lines += last != b"\n"  # a last line without its line end
    return max(lines - 1, 0), max(columns - 1, 0)


def check_pool_fits(shape: tuple[int, ...], field: str, value: object,
                    bytes_per_value: int = 0) -> None:
    """One line before any work when a pool cannot be run in this machine's memory: about 3 x
    its float32 features + 0.5 GB (`palbench bench scale`: 0.82-1.22 GB at 256 MB), or what
    loading it takes (`bytes_per_value`) when that is more."""
    n_values = int(np.prod(shape, dtype=np.float64)) if shape else 0
    need = max(3 * 4, bytes_per_value) * n_values + 0.5e9
    have = physical_memory()
    shown = " x ".join(f"{d:,}" for d in shape)
    check(need <= have, field, value, f"a pool of {shown} features ({4 * n_values / 1e9:,.1f} GB "
          f"as float32) needs about {need / 1e9:,.1f} GB of memory to run; this machine has "
          f"{have / 1e9:,.1f} GB")


@DATASETS.register("npz")
@dataclass(frozen=True, kw_only=True)
class NpzFile(SplitSource):
    """A NumPy .npz archive with arrays X and y (labels); no pickles. X is samples x features,
    or images of shape (n, H, W) or (n, H, W, C), which keep their shape."""
    examples = ({"path": str(EXAMPLES / "pool.npz")},)

    # the file, relative to the config file (its data are fingerprinted, not its path)
    path: str = param(results=False)
    # [channels, height, width] of a flat X's images (channel first); []: not images
    image_shape: tuple[int, ...] = param((), late=True, ge=1)

    shape_in_fingerprint = True

    def validate(self, where):
        super().validate(where)
        check(bool(self.path), f"{where}.path", self.path, "an .npz path is required")

    def load_raw(self, where):
        path = existing_file(self.path, f"{where}.path")
        try:
            with np.load(path, allow_pickle=False) as archive:
                missing = [k for k in ("X", "y") if k not in archive.files]
                if missing:
                    raise ConfigError(f"{where}.path", self.path,
                                      f"archive lacks array {missing[0]!r}; has "
                                      f"{', '.join(archive.files) or 'none'}")
                check_pool_fits(stored_shape(archive, "X"), f"{where}.path", self.path)
                X, y = archive["X"], archive["y"]
        except ConfigError:
            raise
        except (ValueError, OSError, EOFError) as exc:
            raise ConfigError(f"{where}.path", self.path,
                              f"not a readable .npz archive: {exc}") from None
        check(X.ndim >= 1 and len(X) > 0, f"{where}.path", self.path,
              f"array X holds no samples (shape {X.shape})")
        return X, y, None

    def display_name(self) -> str:
        return Path(self.path).stem
