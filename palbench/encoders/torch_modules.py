"""A user's own torch module as an encoder: a TorchScript file, or a factory function named by
import path with an optional state dict. Identity: the file's sha256, never its path."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from palbench.encoders.base import ENCODERS, Encoder, file_sha256
from palbench.errors import ConfigError, check
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
    """The module a function returns (`factory = "pkg.module:make_encoder"`, called with no
    arguments), with the state dict in `weights` loaded into it when given."""
    examples = ({"factory": "torch.nn:Flatten"},)

    factory: str = param()  # "pkg.module:function" that returns a torch.nn.Module
    # a state dict file (torch.save) loaded into the module; "": the factory's own weights
    weights: str = param("", results=False)

    def weights_hash(self) -> str:
        return file_sha256(self.weights, "dataset.encoder.weights") if self.weights else ""

    def module(self, where):
        import torch

        make = resolve(self.factory, f"{where}.factory")
        model = make()
        check(isinstance(model, torch.nn.Module), f"{where}.factory", self.factory,
              f"returned {type(model).__name__}, not a torch.nn.Module")
        if self.weights:
            try:
                state = torch.load(self.weights, map_location="cpu", weights_only=True)
                model.load_state_dict(state)
            except (RuntimeError, OSError, ValueError) as exc:
                raise ConfigError(f"{where}.weights", self.weights, "cannot be loaded into the "
                                  f"module ({str(exc).splitlines()[0]})") from None
        return model
