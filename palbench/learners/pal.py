"""`pal`: a PyTorch encoder trained with a graph SSL loss on the similarity graph (PAL).

Every step draws a minibatch in which known-same pairs appear (a share `positive_fraction` of
the batch is drawn as pairs from the same component), builds its signed block G_B from the
graph's component ids, and minimises the chosen loss. Optional augmentation positives (two noisy
views of each sample, weight `alpha`) mix in the usual self-supervised signal. The class head is
a logistic regression on the embeddings of the samples whose class the graph knows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from palbench.errors import check
from palbench.learners.base import LEARNERS, Learner
from palbench.learners.heads import ClassHead, HeadModel, fit_head
from palbench.learners.losses import LOSSES
from palbench.learners.torch_common import TorchLearner, make_mlp, resolve_device


def make_cnn(image_shape: tuple[int, ...], hidden: int, dim: int) -> nn.Sequential:
    """Two conv blocks and a projection: small enough for CPU tests, fine for 28x28 images."""
    channels, height, width = image_shape
    pooled = (height // 4) * (width // 4)
    return nn.Sequential(
        nn.Unflatten(1, image_shape),
        nn.Conv2d(channels, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(64 * pooled, hidden), nn.ReLU(), nn.Linear(hidden, dim))


class BatchSampler:
    """Minibatches in which same-component pairs appear (no duplicates). The grouping of the
    pool by component is computed once per fit: redoing it every step (an argsort of the whole
    pool) cost ~4 ms a step at N = 60,000."""

    def __init__(self, roots: np.ndarray):
        self.n = n = len(roots)
        self.order = np.argsort(roots, kind="stable")
        sorted_roots = roots[self.order]
        self.starts = np.flatnonzero(np.r_[True, sorted_roots[1:] != sorted_roots[:-1]])
        self.sizes = np.diff(np.r_[self.starts, n])
        self.comp_of_pos = np.repeat(np.arange(len(self.starts)), self.sizes)
        self.eligible = np.flatnonzero(self.sizes[self.comp_of_pos] > 1)  # positions in order

    def draw(self, size: int, positive_fraction: float, rng: np.random.Generator) -> np.ndarray:
        n_pairs = int(size * positive_fraction) // 2
        parts = []
        if len(self.eligible) and n_pairs:
            anchors = rng.choice(self.eligible, size=min(n_pairs, len(self.eligible)),
                                 replace=False)
            comp = self.comp_of_pos[anchors]
            start, z = self.starts[comp], self.sizes[comp]
            offset = rng.integers(1, z)  # another member of the same component
            partners = start + (anchors - start + offset) % z
            parts += [self.order[anchors], self.order[partners]]
        parts.append(rng.choice(self.n, size=min(size, self.n), replace=False))
        batch = np.concatenate(parts)
        _, first = np.unique(batch, return_index=True)
        return batch[np.sort(first)][:size]


def sample_batch(roots: np.ndarray, size: int, positive_fraction: float,
                 rng: np.random.Generator) -> np.ndarray:
    """One minibatch (see BatchSampler)."""
    return BatchSampler(roots).draw(size, positive_fraction, rng)


class PalModel(HeadModel):
    """Trained encoder plus a class head fitted on the known-class samples."""

    def __init__(self, net, device, head: ClassHead):
        self.net, self.device, self.head = net.eval(), device, head

    def embed(self, X):
        return encode(self.net, X, self.device)


@torch.no_grad()
def encode(net: nn.Module, X: np.ndarray, device: torch.device) -> np.ndarray:
    """The network's output on X, in chunks of 8,192 rows."""
    out = [net(torch.as_tensor(X[s:s + 8192], device=device)).float().cpu()
           for s in range(0, len(X), 8192)]
    return torch.cat(out).numpy()


@LEARNERS.register("pal")
@dataclass(frozen=True)
class PAL(TorchLearner, Learner):
    """Encoder (MLP for vectors, small CNN for images) trained with a graph SSL loss."""

    loss: str = "spectral_contrastive"
    signed: bool = True
    encoder: str = "auto"
    hidden: tuple[int, ...] = (256,)
    dim: int = 32
    steps: int = 300
    batch_size: int = 256
    positive_fraction: float = 0.5
    lr: float = 1e-3
    weight_decay: float = 1e-4
    temperature: float = 0.2
    alpha: float = 0.0
    aug_noise: float = 0.1
    device: str = "auto"

    def validate(self, where):
        check(self.loss in LOSSES, f"{where}.loss", self.loss,
              "must be one of " + ", ".join(sorted(LOSSES)))
        check(self.encoder in ("auto", "mlp", "cnn"), f"{where}.encoder", self.encoder,
              "must be \"auto\", \"mlp\" or \"cnn\"")
        self.check_torch_params(where)
        for name in ("dim", "steps"):
            check(getattr(self, name) > 0, f"{where}.{name}", getattr(self, name),
                  "must be positive")
        check(self.batch_size >= 4, f"{where}.batch_size", self.batch_size, "must be >= 4")
        check(0 <= self.positive_fraction <= 1, f"{where}.positive_fraction",
              self.positive_fraction, "must be within [0, 1]")
        check(self.temperature > 0, f"{where}.temperature", self.temperature, "must be positive")
        check(0 <= self.alpha <= 1, f"{where}.alpha", self.alpha, "must be within [0, 1]")

    def validate_data(self, data, where):
        check(self.encoder != "cnn" or bool(data.image_shape), f"{where}.encoder", self.encoder,
              f"needs an image dataset; {data.name!r} is not one")

    def build(self, data) -> nn.Module:
        use_cnn = self.encoder == "cnn" or (self.encoder == "auto" and data.image_shape)
        if use_cnn:
            return make_cnn(tuple(data.image_shape), self.hidden[0], self.dim)
        return make_mlp(data.X.shape[1], self.hidden, self.dim, 0.0)

    def loss_fn(self, Z, G):
        if self.loss == "simclr":
            return LOSSES["simclr"](Z, G, self.temperature)
        return LOSSES[self.loss](Z, G)

    def fit(self, data, graph, *, seed):
        device = resolve_device(self.device)
        rng = np.random.default_rng(seed)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            net = self.build(data).to(device)
        noise_gen = torch.Generator(device=device).manual_seed(seed)
        X = torch.as_tensor(data.X, device=device)
        sampler = BatchSampler(graph.component_ids())
        optimizer = torch.optim.AdamW(net.parameters(), lr=self.lr,
                                      weight_decay=self.weight_decay)
        net.train()
        for _ in range(self.steps):
            idx = sampler.draw(self.batch_size, self.positive_fraction, rng)
            G = torch.as_tensor(graph.signed_block(idx, signed=self.signed), device=device)
            xb = X[torch.as_tensor(idx, device=device)]
            loss = self.loss_fn(net(xb), G)
            if self.alpha > 0:
                views = torch.cat([xb, xb]) + self.aug_noise * torch.randn(
                    (2 * len(xb), xb.shape[1]), generator=noise_gen, device=device)
                pair = torch.arange(len(xb), device=device).repeat(2)
                G_aug = (pair[:, None] == pair[None, :]).float()
                loss = (1 - self.alpha) * loss + self.alpha * self.loss_fn(net(views), G_aug)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        net.eval()
        head = fit_head(encode(net, data.X, device), graph.known_labels(), data.n_classes, seed)
        return PalModel(net, device, head)
