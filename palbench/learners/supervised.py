"""`mlp`: a PyTorch multilayer perceptron trained with cross-entropy on the acquired labels."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import numpy as np
import torch
from torch import nn

from palbench.errors import ConfigError
from palbench.fields import param
from palbench.learners.base import LEARNERS, ClassFrequencyModel, LabelLearner, Model
from palbench.learners.batched import Member, member_bytes, seeded, train
from palbench.learners.torch_common import TorchLearner, as_tensor, make_mlp, resolve_device


class TorchClassifier(Model):
    """A trained network: probabilities from the last layer, embedding from the one before."""

    offers = frozenset({"last_layer", "sample_proba"})

    def __init__(self, net: nn.Sequential, device: torch.device, batch: int = 8192):
        self.net, self.device, self.batch = net.eval(), device, batch

    @torch.no_grad()
    def _forward(self, X: np.ndarray, upto: int | None) -> np.ndarray:
        body = self.net if upto is None else self.net[:upto]
        out = []
        for start in range(0, len(X), self.batch):
            xb = as_tensor(X[start:start + self.batch], self.device)
            out.append(body(xb).float().cpu())
        return torch.cat(out).numpy() if out else np.empty((0, 0), np.float32)

    def predict_proba(self, X):
        logits = torch.as_tensor(self._forward(X, None), dtype=torch.float64)
        return torch.softmax(logits, dim=1).numpy()

    def embed(self, X):
        return self._forward(X, len(self.net) - 1)

    @torch.no_grad()
    def last_layer(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The last layer's input and the probabilities it gives (BADGE)."""
        H = self.embed(X)
        logits = self.net[-1](torch.as_tensor(H, device=self.device)).double()
        return H, torch.softmax(logits, dim=1).cpu().numpy()

    @torch.no_grad()
    def sample_proba(self, X: np.ndarray, n_samples: int, seed: int, *,
                     consistent: bool = False) -> np.ndarray:
        """n_samples predictions with dropout left on (MC dropout, Gal and Ghahramani):
        an (n_samples, len(X), n_classes) array, the same again for the same seed. The layers
        before the first dropout are deterministic: they run once, not n_samples times. The
        masks come from numpy's PCG64 (float32), 6x faster here than torch's CPU dropout,
        which was most of BALD's time on a 60,000-sample pool. `consistent`: one mask per
        sample for every row (consistent MC dropout, Kirsch et al. 2019), so that sample s is
        one network whatever rows are asked, in one call or several with the same seed: what
        a joint prediction over two inputs (EPIG) needs."""
        first = next(i for i, m in enumerate(self.net) if isinstance(m, nn.Dropout))
        H = torch.as_tensor(self._forward(X, first), device=self.device)
        rng = np.random.default_rng(seed)
        out = np.empty((n_samples, len(X), self.net[-1].out_features))
        masks: dict = {}  # consistent: (sample, layer) -> its one mask, drawn in that order
        for s in range(n_samples):
            for start in range(0, len(H), self.batch):
                x = H[start:start + self.batch]
                for layer in self.net[first:]:
                    if isinstance(layer, nn.Dropout):
                        if consistent:
                            keep = masks.setdefault((s, id(layer)), rng.random(
                                (1, x.shape[1]), dtype=np.float32) >= layer.p)
                        else:
                            keep = rng.random(tuple(x.shape), dtype=np.float32) >= layer.p
                        x = x * torch.as_tensor(keep, device=self.device) / (1.0 - layer.p)
                    else:
                        x = layer(x)
                out[s, start:start + self.batch] = torch.softmax(x.double(), 1).cpu().numpy()
        return out


@LEARNERS.register("mlp")
@dataclass(frozen=True, kw_only=True)
class MLP(TorchLearner, LabelLearner):
    """MLP classifier; `epochs` passes over the labelled set, at least `min_steps` steps."""
    examples = ({"hidden": [16], "epochs": 5, "min_steps": 10, "dropout": 0.2, "device": "cpu"},)

    hidden: tuple[int, ...] = param((128,), ge=1)  # hidden layer widths
    epochs: int = param(100, ge=1)  # passes over the labelled set at each fit
    min_steps: int = param(100, ge=0)  # at least this many optimiser steps per fit
    batch_size: int = param(64, ge=1)  # minibatch size
    lr: float = param(1e-3, gt=0)  # Adam learning rate
    weight_decay: float = param(1e-4, ge=0)  # Adam weight decay
    dropout: float = param(0.0, ge=0, lt=1)  # dropout rate (> 0 for BALD's MC dropout)
    device: str = "auto"  # auto (a GPU when present), cpu or cuda

    def batches_fits(self, data):
        return True

    def network(self, n_in: int, n_classes: int) -> nn.Sequential:
        """The untrained network (its weights drawn from torch's global generator)."""
        return make_mlp(n_in, self.hidden, n_classes, self.dropout)

    def batch_member_bytes(self, data):
        n_in = data.X.shape[1]
        return member_bytes(self.network(n_in, data.n_classes), n_in, data.n_pool,
                            self.batch_size)

    def validate(self, where):
        self.check_torch_params(where)

    def capabilities(self, data):
        return super().capabilities(data) | {"last_layer"} | (
            {"sample_proba"} if self.dropout > 0 else set())

    def refuse(self, capability, where, strategy):
        if capability == "sample_proba":
            return ConfigError(f"{where}.dropout", self.dropout,
                               f"must be > 0: strategy {strategy!r} samples predictions by MC "
                               "dropout")
        return super().refuse(capability, where, strategy)

    def fit_labels(self, X, labels, n_classes, *, seed):
        return self.fit_labels_batch([(X, labels)], n_classes, seeds=[seed])[0]

    def fit_labels_batch(self, sets, n_classes, *, seeds):
        """One network per (X, labels) set, trained together as one batched model
        (learners.batched): each the same, bit for bit, as when trained alone."""
        members = [Member(X, labels, seed) for (X, labels), seed in zip(sets, seeds)
                   if len(labels)]
        device = resolve_device(self.device)
        build = partial(self.network, sets[0][0].shape[1], n_classes)
        nets = [seeded(build, m.seed) for m in members]
        trained = iter(train(members, nets, epochs=self.epochs, min_steps=self.min_steps,
                             batch_size=self.batch_size, lr=self.lr,
                             weight_decay=self.weight_decay, device=device)
                       if members else ())
        return [TorchClassifier(next(trained), device) if len(labels) else
                ClassFrequencyModel(labels, n_classes) for _, labels in sets]
