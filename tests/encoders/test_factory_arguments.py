"""A library's model by name through `factory`: keyword `arguments` build it (how timm's
`create_model("resnet18", num_classes=0)` would be written), weights come from a .safetensors
or torch.save file, `strict = false` lets a file hold keys the module lacks (a classifier
head), and every refusal is one line naming the field."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from palbench.datasets import DATASETS
from palbench.errors import ConfigError

LINEAR = "torch.nn:Linear"


def weights(tmp_path, name: str, extra: bool = False) -> tuple[str, torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    W, b = torch.randn(3, IN, generator=generator), torch.randn(3, generator=generator)
    state = {"weight": W, "bias": b} | ({"head.weight": torch.zeros(2, 3)} if extra else {})
    path = tmp_path / name
    save_file(state, str(path)) if name.endswith(".safetensors") else torch.save(state, path)
    return str(path), W, b


WINE = DATASETS.get("wine")  # 13 features a sample, flat rows: what a Linear module takes
IN = 13


def features(tmp_path, **encoder):
    source = WINE(standardize=False, encoder={
        "name": "factory", "factory": LINEAR, "arguments": {"in_features": IN, "out_features": 3},
        "cache_dir": str(tmp_path / "cache"), **encoder})
    return source.prepare("d", "dataset")


@pytest.mark.parametrize("suffix", [".safetensors", ".pt"])
def test_arguments_build_the_module_and_the_file_gives_its_weights(tmp_path, suffix):
    path, W, b = weights(tmp_path, "w" + suffix)
    data = features(tmp_path, weights=path)
    expected = data.X.astype(np.float64) @ W.double().numpy().T + b.double().numpy()
    np.testing.assert_allclose(data.features, expected, rtol=1e-5, atol=1e-4)


def test_strict_false_leaves_the_keys_the_module_lacks(tmp_path):
    path, W, _ = weights(tmp_path, "head.safetensors", extra=True)
    with pytest.raises(ConfigError) as refused:
        features(tmp_path, weights=path)
    assert str(refused.value).startswith("dataset.encoder.weights = ")
    assert "cannot be loaded into the module" in str(refused.value)
    assert features(tmp_path, weights=path, strict=False).features.shape[1] == 3


def test_the_arguments_are_part_of_the_identity(tmp_path):
    one = WINE(encoder={"name": "factory", "factory": LINEAR,
                        "arguments": {"in_features": IN, "out_features": 3}})
    two = WINE(encoder={"name": "factory", "factory": LINEAR,
                        "arguments": {"in_features": IN, "out_features": 4}})
    from palbench.fields import identity
    assert identity(one) != identity(two)
    plain = WINE(encoder={"name": "factory", "factory": "torch.nn:Flatten"})
    assert "arguments" not in str(identity(plain))  # unset: the spec hashes of 0.3 stay


@pytest.mark.parametrize("bad, field, words", [
    ({"arguments": {"in_features": IN, "out_features": 3, "colour": 1}}, "arguments",
     "failed with them (TypeError: "),
    ({"arguments": {"in_features": -1, "out_features": 3}}, "arguments",
     "failed with them (RuntimeError: "),
    ({"weights": "tensor.pt"}, "weights", "holds a Tensor, not a state dict"),
    ({"weights": "garbage.safetensors"}, "weights", "is not a safetensors file"),
    ({"weights": "garbage.pt"}, "weights", "is not a state dict"),
])
def test_bad_arguments_or_weights_are_one_line(tmp_path, bad, field, words):
    for name in ("garbage.safetensors", "garbage.pt"):
        (tmp_path / name).write_bytes(b"not a state dict at all")
    torch.save(torch.zeros(3), tmp_path / "tensor.pt")
    bad = {k: str(tmp_path / v) if k == "weights" else v for k, v in bad.items()}
    with pytest.raises(ConfigError) as refused:
        features(tmp_path, **bad)
    message = str(refused.value)
    assert message.startswith(f"dataset.encoder.{field} = ") and words in message
    assert "\n" not in message


def test_a_module_that_cannot_take_the_inputs_is_one_line(tmp_path):
    """A Linear of the wrong width on wine's 13 features: the shape and torch's reason."""
    with pytest.raises(ConfigError) as refused:
        features(tmp_path, arguments={"in_features": 64, "out_features": 3})
    message = str(refused.value)
    assert message.startswith("dataset.encoder.name = 'factory': failed on a batch of shape "
                              "[178, 13]: mat1 and mat2 shapes cannot be multiplied")
    assert "\n" not in message
