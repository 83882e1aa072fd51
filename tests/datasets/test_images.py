"""Images from disk and arrays that keep their shape: an image folder written with Pillow from
scikit-learn's digits, decoded, split, fingerprinted by its pixels; its bad inputs, each one
line; npz images of shape (n, H, W) and a flat X that declares image_shape."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from sklearn.datasets import load_digits

from palbench.bench.config import plan_from_raw
from palbench.bench.loop import run_cell
from palbench.datasets.files import NpzFile
from palbench.datasets.images import ImageFolder
from palbench.errors import ConfigError


def digit_images(classes: int = 3, per_class: int = 12) -> list[tuple[int, np.ndarray]]:
    """(class, 8x8 uint8 image) of the first `per_class` digits of each class."""
    d = load_digits()
    return [(c, (image * 15).astype(np.uint8)) for c in range(classes)
            for image in d.images[d.target == c][:per_class]]


def write_folder(root, images, suffix=".png", split=None) -> None:
    """One sub-folder per class (`split`: under train/ and test/, every fourth image a test
    image)."""
    for i, (c, pixels) in enumerate(images):
        part = root if split is None else root / ("test" if i % 4 == 0 else "train")
        folder = part / f"digit{c}"
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(pixels).save(folder / f"{i:03d}{suffix}")


@pytest.fixture
def folder(tmp_path):
    write_folder(tmp_path / "digits", digit_images())
    return tmp_path / "digits"


def test_an_image_folder_keeps_its_pixels_and_shape(folder):
    data = ImageFolder(path=str(folder), channels=1, standardize=False).prepare("d", "dataset")
    assert data.class_names == ("digit0", "digit1", "digit2")
    assert data.image_shape == (1, 8, 8) and data.X.shape[1] == 64
    assert len(data.X) + len(data.X_test) == 36
    pixels = {tuple(np.round(p.reshape(-1) / 255, 6)) for _, p in digit_images()}
    assert all(tuple(np.round(row, 6)) in pixels for row in data.X.astype(np.float64))
    rgb = ImageFolder(path=str(folder), channels=3).prepare("d", "dataset")
    assert rgb.image_shape == (3, 8, 8) and rgb.X.shape[1] == 192


def test_the_fingerprint_is_of_the_decoded_pixels(folder, tmp_path):
    before = ImageFolder(path=str(folder), channels=1).prepare("d", "dataset").fingerprint
    for path in folder.rglob("*.png"):  # re-encoded losslessly, with other compression
        Image.open(path).save(path, compress_level=0)
    assert ImageFolder(path=str(folder), channels=1).prepare("d", "dataset").fingerprint == \
        before
    first = sorted(folder.rglob("*.png"))[0]
    pixels = np.asarray(Image.open(first)).copy()
    pixels[0, 0] ^= 1  # one pixel changed
    Image.fromarray(pixels).save(first)
    assert ImageFolder(path=str(folder), channels=1).prepare("d", "dataset").fingerprint != \
        before


def test_train_and_test_folders_are_the_split(tmp_path):
    write_folder(tmp_path / "split", digit_images(), split=True)
    source = ImageFolder(path=str(tmp_path / "split"), channels=1)
    data = source.prepare("d", "dataset")
    assert (len(data.X), len(data.X_test)) == (27, 9)
    assert source.resplit(1) is None  # a given test set is not redrawn


def test_size_resizes_and_jpeg_and_bmp_are_read(tmp_path):
    images = digit_images()
    write_folder(tmp_path / "mixed", images[:18], ".jpg")
    write_folder(tmp_path / "mixed", images[18:], ".bmp")
    big = tmp_path / "mixed" / "digit0" / "big.png"
    Image.fromarray(np.kron(images[0][1], np.ones((2, 2), np.uint8))).save(big)
    with pytest.raises(ConfigError) as refused:
        ImageFolder(path=str(tmp_path / "mixed")).prepare("d", "dataset")
    message = str(refused.value)
    assert "\n" not in message and "differ in size" in message and "big.png" in message
    data = ImageFolder(path=str(tmp_path / "mixed"), size=(6, 5)).prepare("d", "dataset")
    assert data.image_shape == (3, 6, 5) and len(data.X) + len(data.X_test) == 37


def refusal(source) -> str:
    with pytest.raises(ConfigError) as refused:
        source.prepare("d", "dataset")
    message = str(refused.value)
    assert "\n" not in message
    return message


def test_bad_folders_are_one_line_each(tmp_path, folder):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert "no class sub-folders" in refusal(ImageFolder(path=str(empty)))
    one = tmp_path / "one"
    write_folder(one, digit_images(classes=1))
    assert "one class" in refusal(ImageFolder(path=str(one)))
    assert "no such folder" in refusal(ImageFolder(path=str(tmp_path / "absent")))
    a_file = folder / "digit0" / "000.png"
    assert "is a file, not a folder" in refusal(ImageFolder(path=str(a_file)))
    (folder / "digit1" / "notes.txt").write_text("not an image")
    message = refusal(ImageFolder(path=str(folder)))
    assert "digit1/notes.txt is not an image" in message
    (folder / "digit1" / "notes.txt").unlink()
    broken = folder / "digit2" / "broken.png"
    broken.write_bytes((folder / "digit2" / sorted(
        p.name for p in (folder / "digit2").iterdir())[0]).read_bytes()[:60])
    assert "digit2/broken.png" in refusal(ImageFolder(path=str(folder), size=(8, 8)))


def test_a_class_folder_without_images_is_named(tmp_path):
    write_folder(tmp_path / "gap", digit_images(classes=2))
    (tmp_path / "gap" / "zzz").mkdir()
    assert "class folder zzz holds no images" in refusal(ImageFolder(path=str(tmp_path / "gap")))


def test_npz_images_keep_their_shape(tmp_path):
    d = load_digits()
    np.savez(tmp_path / "images.npz", X=d.images[:300], y=d.target[:300])
    np.savez(tmp_path / "flat.npz", X=d.data[:300], y=d.target[:300])
    np.savez(tmp_path / "rgb.npz", X=np.repeat(d.images[:300, :, :, None], 3, axis=3),
             y=d.target[:300])
    images = NpzFile(path=str(tmp_path / "images.npz")).prepare("i", "dataset")
    flat = NpzFile(path=str(tmp_path / "flat.npz")).prepare("f", "dataset")
    declared = NpzFile(path=str(tmp_path / "flat.npz"), image_shape=(1, 8, 8)).prepare(
        "f", "dataset")
    rgb = NpzFile(path=str(tmp_path / "rgb.npz")).prepare("r", "dataset")
    assert (images.image_shape, flat.image_shape, declared.image_shape, rgb.image_shape) == \
        ((1, 8, 8), None, (1, 8, 8), (3, 8, 8))
    np.testing.assert_array_equal(images.X, declared.X)  # the same rows, channel first
    np.testing.assert_array_equal(rgb.X.reshape(-1, 3, 64)[:, 1], images.X)
    assert images.fingerprint == declared.fingerprint != flat.fingerprint  # shape is data
    assert "describes 63 values" in refusal(NpzFile(path=str(tmp_path / "flat.npz"),
                                                    image_shape=(1, 7, 9)))


IMAGE_RUN = """
[experiment]
seeds = [0]
budgets = [6, 12]
batch_size = 3
[dataset]
name = "{name}"
path = "{path}"
{extra}
[strategy]
name = "margin"
[learner]
name = "pal"
hidden = [16]
dim = 8
encoder = "cnn"
epochs = 2
min_steps = 2
pretrain = "off"
device = "cpu"
"""


@pytest.mark.parametrize("kind", ["imagefolder", "npz"])
def test_a_run_on_images_from_disk_uses_the_cnn(kind, tmp_path, folder):
    import tomllib
    import torch

    if kind == "npz":
        d = load_digits()
        np.savez(tmp_path / "images.npz", X=d.images[:120], y=d.target[:120])
        path, extra = tmp_path / "images.npz", ""
    else:
        path, extra = folder, "channels = 1"
    plan = plan_from_raw(tomllib.loads(IMAGE_RUN.format(name=kind, path=path, extra=extra)))
    cell = plan.cells[0]
    data = plan.data(cell)
    assert data.image_shape == (1, 8, 8)
    assert isinstance(cell.learner.obj.build(data)[0], torch.nn.Unflatten)  # the CNN
    result = run_cell(cell, data)
    assert [c.budget for c in result.checkpoints] == [6, 12]
    assert all(0 <= c.task_acc <= 1 for c in result.checkpoints)
