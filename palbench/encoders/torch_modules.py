"""A user's own torch module as an encoder: a TorchScript file, or a factory function named by
import path with an optional state dict. Identity: the file's sha256, never its path."""

from __future__ import annotations

import pickle
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from palbench.encoders.base import ENCODERS, Encoder, file_sha256
from palbench.errors import ConfigError, check, first_line
from palbench.fields import param
from palbench.imports import resolve

# the module its contract check runs: torch.nn.Flatten, scripted
EXAMPLE = Path(__file__).parent / "examples" / "flatten.pt"


@ENCODERS.register("torchscript")
@dataclass(frozen=True, kw_only=True)
class TorchScript(Encoder):
    """A module saved with `torch.jit.save`, run as it is on the dataset's inputs."""
    examples = ({"path": str(EXAMPLE)},)

    # the TorchScript file (its sha256 is the encoder's identity, not its path)
    path: str = param(results=False)

    def validate(self, where):
        check(bool(self.path), f"{where}.path", self.path, "name a TorchScript file")

    def weights_hash(self) -> str:
        return file_sha256(self.path, "dataset.encoder.path")

    def module(self, where):
        import torch

        try:
            return torch.jit.load(self.path, map_location="cpu")
        except (RuntimeError, ValueError, OSError) as exc:
            raise ConfigError(f"{where}.path", self.path,
                              f"is not a TorchScript file ({str(exc).splitlines()[0]})") from None


@ENCODERS.register("factory")
@dataclass(frozen=True, kw_only=True)
class Factory(Encoder):
    """The module a function returns (`factory = "pkg.module:make_encoder"`, called with the
    keyword `arguments`), with the state dict in `weights` loaded into it when given: how a
    library's model by name runs, e.g. `factory = "timm:create_model"`, `arguments =
    { model_name = "resnet18", num_classes = 0 }` and its weights file."""
    examples = ({"factory": "torch.nn:Flatten"},)

    factory: str = param()  # "pkg.module:function" that returns a torch.nn.Module
    # keyword arguments the factory is called with (a model's name, its sizes)
    arguments: dict = param(default_factory=dict, late=True)
    # a state dict file loaded into the module (.safetensors, or torch.save's .pt / .pth);
    # "": the factory's own weights
    weights: str = param("", results=False)
    # false: the file may lack keys of the module or hold others (a classifier head left out)
    strict: bool = param(True, late=True)

    def weights_hash(self) -> str:
        return file_sha256(self.weights, "dataset.encoder.weights") if self.weights else ""

    def module(self, where):
        import torch

        make = resolve(self.factory, f"{where}.factory")
        try:
            model = make(**self.arguments)
        except Exception as exc:  # noqa: BLE001  (a factory may raise anything: timm's
            # unknown model is a RuntimeError, a bad size a ValueError)
            raise ConfigError(f"{where}.arguments", self.arguments,
                              f"{self.factory} failed with them ({type(exc).__name__}: "
                              f"{first_line(exc)})") from None
        check(isinstance(model, torch.nn.Module), f"{where}.factory", self.factory,
              f"returned {type(model).__name__}, not a torch.nn.Module")
        if self.weights:
            state = read_state(self.weights, f"{where}.weights")
            try:
                model.load_state_dict(state, strict=self.strict)
            except RuntimeError as exc:
                raise ConfigError(f"{where}.weights", self.weights, "cannot be loaded into the "
                                  f"module ({str(exc).splitlines()[0]})") from None
        return model


def read_state(path: str, field: str) -> dict:
    """A state dict from a .safetensors file or torch.save's file (tensors only)."""
    import torch

    try:
        if Path(path).suffix == ".safetensors":
            try:
                from safetensors import SafetensorError
                from safetensors.torch import load_file
            except ImportError:
                raise ConfigError(field, path, "a .safetensors file needs the package "
                                  "safetensors (pip install safetensors)") from None
            try:
                return load_file(path)
            except SafetensorError as exc:
                raise ConfigError(field, path, f"is not a safetensors file ({exc})") from None
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, OSError, ValueError, pickle.UnpicklingError) as exc:
        raise ConfigError(field, path, f"is not a state dict ({str(exc).splitlines()[0]})") \
            from None
    check(isinstance(state, Mapping), field, path, f"holds a {type(state).__name__}, not a "
          "state dict (names to tensors)")
    return state
