"""Images from disk: a folder with one sub-folder per class (PNG, JPEG, BMP and whatever else
Pillow reads), decoded to pixels that keep their shape, so that pal's augmentations,
pretraining and CNN encoders apply.

`train/` and `test/` sub-folders, when both are there, are the split; else the split protocol
of every SplitSource. Every file's header is read first (sizes, formats, the memory the pixels
need), then the pixels are decoded in chunks; the fingerprint is of the decoded pixels, so a
lossless re-encoding of a file leaves it unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from palbench.datasets.base import DATASETS, Dataset, SplitSource, encode_labels
from palbench.datasets.files import EXAMPLES, check_pool_fits
from palbench.errors import ConfigError, check
from palbench.fields import param

SPLIT_FOLDERS = ("train", "test")
MODES = {1: "L", 3: "RGB"}  # channels: Pillow's mode
CHUNK = 512  # images decoded between two updates of the progress bar


@dataclass(frozen=True)
class Listing:
    """The folder's image files (relative paths, sorted), their class names, and which are
    the given test set (None: no train/test sub-folders)."""

    root: Path
    files: list[str]
    labels: list[str]
    test: np.ndarray | None


@DATASETS.register("imagefolder")
@dataclass(frozen=True, kw_only=True)
class ImageFolder(SplitSource):
    """A folder of images with one sub-folder per class (class names sorted), or `train/` and
    `test/` folders of those; the images keep their shape (channels, height, width)."""
    examples = ({"path": str(EXAMPLES / "images"), "channels": 1},)

    # the folder, relative to the config file (its pixels are fingerprinted, not its path)
    path: str = param(results=False)
    # [height, width] every image is resized to (bilinear); []: as stored (all one size)
    size: tuple[int, ...] = param((), ge=1)
    # channels the images are converted to: 1 (grey) or 3 (RGB)
    channels: int = param(3, choices=(1, 3))

    shape_in_fingerprint = True

    def validate(self, where):
        super().validate(where)
        check(bool(self.path), f"{where}.path", self.path, "an image folder is required")
        check(len(self.size) in (0, 2), f"{where}.size", list(self.size),
              "must be [height, width] (or [] for the images as stored)")

    def display_name(self) -> str:
        return Path(self.path).name

    def resplit(self, seed: int) -> ImageFolder | None:
        return None if has_split_folders(Path(self.path)) else super().resplit(seed)

    def prepare(self, name: str, where: str) -> Dataset:
        listing = list_images(self.path, f"{where}.path")
        X, shape = self.decode(listing, where)
        codes, names = encode_labels(np.asarray(listing.labels), f"{where}.path")
        if listing.test is None:
            rows = self.split(np.arange(len(codes)), codes, where)
            train, test, y_train, y_test = rows
        else:
            train, test = np.flatnonzero(~listing.test), np.flatnonzero(listing.test)
            y_train, y_test = codes[train], codes[test]
            check(len(np.unique(y_train)) >= 2, f"{where}.path", self.path,
                  "train/ needs images of at least two classes")
        train, y_train, test, y_test = self.imbalanced(train, y_train, test, y_test, where)
        return self.finish_rows(name, X, (train, y_train, test, y_test), names, shape, where,
                                ids=listing.files)

    def decode(self, listing: Listing, where: str) -> tuple[np.ndarray, tuple[int, ...]]:
        """The pixels as float32 rows in [0, 1] (channel first) and (channels, height, width):
        headers read first (one size unless `size`, memory enough), then decoded in chunks."""
        from PIL import Image
        from tqdm import tqdm

        field = f"{where}.path"
        height, width = self.size or self.stored_size(listing, field)
        shape = (self.channels, height, width)
        check_pool_fits((len(listing.files), int(np.prod(shape))), field, self.path)
        X = np.empty((len(listing.files), int(np.prod(shape))), np.float32)
        bar = tqdm(total=len(listing.files), unit="img", desc=f"decoding {self.path}",
                   disable=None, leave=False)
        with bar:
            for start in range(0, len(listing.files), CHUNK):
                for i, rel in enumerate(listing.files[start:start + CHUNK], start):
                    with open_image(listing.root, rel, field) as image:
                        try:
                            image = image.convert(MODES[self.channels])
                            if image.size != (width, height):
                                image = image.resize((width, height), Image.Resampling.BILINEAR)
                            pixels = np.asarray(image, dtype=np.uint8)
                        except (OSError, ValueError) as exc:
                            raise ConfigError(field, self.path, f"{rel} cannot be decoded: "
                                              f"{exc}") from None
                    if pixels.ndim == 2:
                        pixels = pixels[:, :, None]
                    np.divide(pixels.transpose(2, 0, 1).reshape(-1), np.float32(255),
                              out=X[i])
                bar.update(min(CHUNK, len(listing.files) - start))
        return X, shape

    def stored_size(self, listing: Listing, field: str) -> tuple[int, int]:
        """(height, width) shared by every image, from the headers; mixed sizes are one line
        naming two files of different sizes."""
        first = None
        for rel in listing.files:
            with open_image(listing.root, rel, field) as image:
                size = image.size
            if first is None:
                first = (rel, size)
            check(size == first[1], field, self.path,
                  f"images differ in size: {first[0]} is {first[1][0]}x{first[1][1]}, {rel} "
                  f"is {size[0]}x{size[1]} (width x height); give size = [height, width]")
        return first[1][1], first[1][0]


def open_image(root: Path, rel: str, field: str):
    """The image `rel` of the folder opened by Pillow (its header only), or one line naming
    the file."""
    from PIL import Image, UnidentifiedImageError

    try:
        return Image.open(root / rel)
    except (UnidentifiedImageError, OSError) as exc:
        raise ConfigError(field, str(root), f"{rel} is not an image Pillow can read "
                          f"({type(exc).__name__})") from None


def has_split_folders(root: Path) -> bool:
    return all((root / part).is_dir() for part in SPLIT_FOLDERS)


def list_images(path: str, field: str) -> Listing:
    """The image files under `path` with their classes (hidden files skipped); one line for a
    missing folder, a file given as the folder, no classes or a class without files."""
    root = Path(path)
    check(root.exists(), field, path, "no such folder")
    check(root.is_dir(), field, path, "is a file, not a folder: name the folder of class "
          "sub-folders")
    parts = [(part, root / part) for part in SPLIT_FOLDERS] if has_split_folders(root) \
        else [("", root)]
    files, labels, is_test = [], [], []
    for part, folder in parts:
        classes = sorted(p.name for p in folder.iterdir() if p.is_dir()
                         and not p.name.startswith("."))
        check(bool(classes), field, path, f"{folder.relative_to(root.parent)} has no class "
              "sub-folders (one folder of images per class)")
        for name in classes:
            found = sorted(p.relative_to(root).as_posix() for p in (folder / name).rglob("*")
                           if p.is_file() and not p.name.startswith("."))
            check(bool(found), field, path, f"class folder {(folder / name).relative_to(root)}"
                  " holds no images")
            files += found
            labels += [name] * len(found)
            is_test += [part == "test"] * len(found)
    if len(parts) == 2:
        unknown = sorted(set(labels[i] for i, t in enumerate(is_test) if t) -
                         set(labels[i] for i, t in enumerate(is_test) if not t))
        check(not unknown, field, path, f"test/{unknown[0] if unknown else ''} is a class "
              "train/ does not have")
    check(len(set(labels)) >= 2, field, path, f"holds one class ({labels[0]}); need at least "
          "two class sub-folders")
    return Listing(root, files, labels, np.array(is_test) if len(parts) == 2 else None)
