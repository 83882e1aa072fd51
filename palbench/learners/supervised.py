"""`mlp`: a PyTorch multilayer perceptron trained with cross-entropy on the acquired labels."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from palbench.errors import check
from palbench.learners.base import LEARNERS, ClassFrequencyModel, LabelLearner
from palbench.learners.torch_common import (
    TorchLearner,
    epoch_batches,
    make_mlp,
    resolve_device,
)


class TorchClassifier:
    """A trained network: probabilities from the last layer, embedding from the one before."""

    def __init__(self, net: nn.Sequential, device: torch.device, batch: int = 8192):
        self.net, self.device, self.batch = net.eval(), device, batch

    @torch.no_grad()
    def _forward(self, X: np.ndarray, upto: int | None) -> np.ndarray:
        body = self.net if upto is None else self.net[:upto]
        out = []
        for start in range(0, len(X), self.batch):
            xb = torch.as_tensor(X[start:start + self.batch], device=self.device)
            out.append(body(xb).float().cpu())
        return torch.cat(out).numpy() if out else np.empty((0, 0), np.float32)

    def predict_proba(self, X):
        logits = torch.as_tensor(self._forward(X, None), dtype=torch.float64)
        return torch.softmax(logits, dim=1).numpy()

    def embed(self, X):
        return self._forward(X, len(self.net) - 1)


@LEARNERS.register("mlp")
@dataclass(frozen=True)
class MLP(TorchLearner, LabelLearner):
    """MLP classifier; `epochs` passes over the labelled set, at least `min_steps` steps."""

    hidden: tuple[int, ...] = (128,)
    epochs: int = 100
    min_steps: int = 100
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 1e-4
    dropout: float = 0.0
    device: str = "auto"

    def validate(self, where):
        self.check_torch_params(where)
        for name in ("epochs", "batch_size"):
            check(getattr(self, name) > 0, f"{where}.{name}", getattr(self, name),
                  "must be positive")
        check(self.min_steps >= 0, f"{where}.min_steps", self.min_steps, "must be >= 0")
        check(0 <= self.dropout < 1, f"{where}.dropout", self.dropout, "must be within [0, 1)")

    def fit_labels(self, X, labels, n_classes, *, seed):
        if len(labels) == 0:
            return ClassFrequencyModel(labels, n_classes)
        device = resolve_device(self.device)
        generator = torch.Generator().manual_seed(seed)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            net = make_mlp(X.shape[1], self.hidden, n_classes, self.dropout).to(device)
        Xt = torch.as_tensor(X, dtype=torch.float32, device=device)
        yt = torch.as_tensor(labels, dtype=torch.long, device=device)
        optimizer = torch.optim.AdamW(net.parameters(), lr=self.lr,
                                      weight_decay=self.weight_decay)
        loss_fn = nn.CrossEntropyLoss()
        net.train()
        for idx in epoch_batches(len(labels), self.batch_size, self.epochs, self.min_steps,
                                 generator, device):
            optimizer.zero_grad(set_to_none=True)
            loss_fn(net(Xt[idx]), yt[idx]).backward()
            optimizer.step()
        return TorchClassifier(net, device)
