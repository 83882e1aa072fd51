"""What the torch learners share: the device rule, parameter checks, the MLP builder."""

from __future__ import annotations

import warnings

import numpy as np
import torch
from torch import nn

from palbench.errors import check


def resolve_device(device: str) -> torch.device:
    """"auto" = CUDA when present, else CPU."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def check_device(device: str, field: str) -> None:
    """"auto", "cpu", or a CUDA device this machine has (checked here, not at fit time)."""
    if device in ("auto", "cpu"):
        return
    index = device.removeprefix("cuda").removeprefix(":")
    check(device.startswith("cuda") and (index == "" or index.isdigit()) and
          device != "cuda:", field, device, 'must be "auto", "cpu" or "cuda[:N]"')
    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    check(count > 0, field, device, 'no CUDA device on this machine; use "auto" (CUDA when '
          'present) or "cpu"')
    check(int(index or 0) < count, field, device,
          f"this machine has {count} CUDA device(s): cuda:0 to cuda:{count - 1}")


def as_tensor(X: np.ndarray, device) -> torch.Tensor:
    """torch.as_tensor, without torch's warning for read-only arrays: strategies hand models
    read-only views of the pool, and these tensors are only read."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
        return torch.as_tensor(X, device=device)


def make_mlp(n_in: int, hidden: tuple[int, ...], n_out: int, dropout: float) -> nn.Sequential:
    layers: list[nn.Module] = []
    for width in hidden:
        layers += [nn.Linear(n_in, width), nn.ReLU()]
        if dropout:
            layers.append(nn.Dropout(dropout))
        n_in = width
    layers.append(nn.Linear(n_in, n_out))
    return nn.Sequential(*layers)


class TorchLearner:
    """Mixin for dataclass learners with `hidden` and `device` fields (each width's range,
    like the learning rate's, is declared on the field)."""

    def check_torch_params(self, where: str) -> None:
        check(len(self.hidden) > 0, f"{where}.hidden", list(self.hidden),
              "must be a non-empty list of positive layer widths")
        check_device(self.device, f"{where}.device")

    @property
    def device_name(self) -> str:
        device = resolve_device(self.device)
        return torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"


def epoch_batches(n: int, batch_size: int, epochs: int, min_steps: int,
                  generator: torch.Generator, device: torch.device):
    """The supervised schedule `mlp` and `pal` share: `epochs` shuffled passes over n samples
    in batches of `batch_size` (at most n), at least `min_steps` steps; yields index tensors."""
    batch = min(batch_size, n)
    per_epoch = -(-n // batch)
    for _ in range(max(epochs, -(-min_steps // per_epoch))):
        order = torch.randperm(n, generator=generator).to(device)
        for start in range(0, n, batch):
            yield order[start:start + batch]
