"""`pal`: Positive Active Learning's learner (Cabannes et al., ICCV 2023) as a PyTorch encoder.

Every answer is an edge of the similarity graph; augmentations add "two views of one sample are
alike" edges. The learner uses both, in two phases:

1. Pretraining on the whole pool with augmentation positives only (the graph of views; the
   chosen SSL loss), once per run and cached (pretrain.py): unlabelled data is free in pool-based
   active learning. On by default for images, where real augmentations (crops, flips where the
   classes allow them, affine jitter) carry the signal; off for feature vectors, where Gaussian
   noise views did not help (README: the measurements).
2. At every checkpoint, from the pretrained weights (never from a previous checkpoint): a linear
   class head and the encoder trained with cross-entropy on every sample whose class the graph
   names (labels and the transitive closure of pair answers: edges to class nodes), on the
   schedule of the `mlp` learner; plus, with `graph_weight` > 0, the graph loss on batches of
   known relations only (components with known positives, and known negatives when signed),
   through a projection head. Without the graph loss, the fits of cells in lockstep train as
   one batched model (learners.batched), each the same, bit for bit, as alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from palbench.errors import ConfigError, check
from palbench.fields import param
from palbench.graph_readers import GraphReader
from palbench.learners.augment import AUGMENTATIONS, Augmenter, check_for, resolve
from palbench.learners.base import LEARNERS, ClassFrequencyModel, Learner, Model
from palbench.learners.batched import Member, member_bytes, train
from palbench.learners.losses import LOSSES
from palbench.learners.pretrain import cache_key, check_cache_dir, pretrained
from palbench.learners.torch_common import (
    TorchLearner,
    as_tensor,
    epoch_batches,
    make_mlp,
    resolve_device,
)


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

    def draw_related(self, size: int, rng: np.random.Generator) -> np.ndarray:
        """Pairs of samples of one component only (no unrelated filler): a batch of known
        relations. Empty when no component has two members."""
        if not len(self.eligible):
            return np.empty(0, np.int64)
        anchors = rng.choice(self.eligible, size=min(size // 2, len(self.eligible)),
                             replace=False)
        comp = self.comp_of_pos[anchors]
        start, z = self.starts[comp], self.sizes[comp]
        partners = start + (anchors - start + rng.integers(1, z)) % z
        batch = np.concatenate([self.order[anchors], self.order[partners]])
        _, first = np.unique(batch, return_index=True)
        return batch[np.sort(first)]


class PalModel(Model):
    """The trained encoder and its class head; `embed` is the encoder's output."""

    offers = frozenset({"last_layer"})

    def __init__(self, net: nn.Module, head: nn.Module, device, pretrain_seconds: float):
        self.net, self.head, self.device = net.eval(), head.eval(), device
        self.pretrain_seconds = pretrain_seconds

    def embed(self, X):
        return encode(self.net, X, self.device)

    @torch.no_grad()
    def predict_proba(self, X):
        return self.last_layer(X)[1]

    @torch.no_grad()
    def last_layer(self, X):
        """The embedding (the linear head's input) and the head's probabilities."""
        Z = self.embed(X)
        logits = self.head(torch.as_tensor(Z, device=self.device)).double()
        return Z, torch.softmax(logits, dim=1).cpu().numpy()


class PriorModel(ClassFrequencyModel):
    """No class known yet: class frequencies, with the pretrained encoder as the embedding."""

    def __init__(self, labels, n_classes, net, device, pretrain_seconds):
        super().__init__(labels, n_classes)
        self.net, self.device, self.pretrain_seconds = net.eval(), device, pretrain_seconds

    def embed(self, X):
        return encode(self.net, X, self.device)


def own_rng(device: torch.device):
    """torch's random state forked for the block (the device's too, on CUDA): a fit draws from
    its own seeds and leaves the caller's streams as they were."""
    return torch.random.fork_rng(devices=[device] if device.type == "cuda" else [])


@torch.no_grad()
def encode(net: nn.Module, X: np.ndarray, device: torch.device) -> np.ndarray:
    """The network's output on X, in chunks of 8,192 rows."""
    out = [net(as_tensor(X[s:s + 8192], device)).float().cpu()
           for s in range(0, len(X), 8192)]
    return torch.cat(out).numpy()


def two_view_graph(m: int, device) -> torch.Tensor:
    pair = torch.arange(m, device=device).repeat(2)
    return (pair[:, None] == pair[None, :]).float()


@LEARNERS.register("pal")
@dataclass(frozen=True, kw_only=True)
class PAL(TorchLearner, Learner):
    """Encoder pretrained on the pool's augmentations, trained on every edge the answers give."""
    examples = ({"hidden": [16], "dim": 8, "epochs": 2, "min_steps": 2, "device": "cpu"},)

    # spectral_contrastive, vicreg or simclr, on the similarity graph
    loss: str = param("spectral_contrastive", choices=sorted(LOSSES))
    signed: bool = True  # use known negatives as well as positives
    encoder: str = param("mlp", choices=("auto", "mlp", "cnn"))  # mlp, cnn (images) or auto
    hidden: tuple[int, ...] = param((256,), ge=1)  # hidden layer widths of the mlp encoder
    dim: int = param(64, ge=1)  # embedding dimension
    # augmentations: auto, crop, crop_flip, noise or none
    augment: str = param("auto", choices=AUGMENTATIONS)
    aug_noise: float = param(0.1, ge=0)  # standard deviation of the noise augmentation
    # self-supervised pretraining on the pool: auto, on or off
    pretrain: str = param("auto", choices=("auto", "on", "off"))
    pretrain_steps: int = param(500, ge=1)  # pretraining steps
    pretrain_batch: int = param(256, ge=2)  # pretraining batch size
    epochs: int = param(100, ge=1)  # epochs over the answered samples at each fit
    min_steps: int = param(100, ge=0)  # at least this many steps per fit
    batch_size: int = param(64, ge=1)  # minibatch size
    # weight of the loss on the pool's answer graph beside the label head
    graph_weight: float = param(0.0, ge=0)
    graph_batch: int = param(128, ge=4)  # samples per minibatch of that graph loss
    lr: float = param(1e-3, gt=0)  # Adam learning rate
    weight_decay: float = param(1e-4, ge=0)  # Adam weight decay
    temperature: float = param(0.2, gt=0)  # temperature of the simclr loss
    # where pretrained encoders are cached ("": no cache); where it lives changes no result
    cache_dir: str = param("", results=False)
    device: str = "auto"  # auto (a GPU when present), cpu or cuda

    def validate(self, where):
        self.check_torch_params(where)
        check_cache_dir(self.cache_dir, f"{where}.cache_dir")

    def validate_data(self, data, where):
        check(self.encoder != "cnn" or bool(data.image_shape), f"{where}.encoder", self.encoder,
              f"needs an image dataset; {data.name!r} is not one")
        check_for(self.augment, data, f"{where}.augment")

    def build(self, data) -> nn.Module:
        use_cnn = self.encoder == "cnn" or (self.encoder == "auto" and data.image_shape)
        if use_cnn:
            return make_cnn(tuple(data.image_shape), self.hidden[0], self.dim)
        return make_mlp(data.X.shape[1], self.hidden, self.dim, 0.0)

    def loss_fn(self, Z, G):
        if self.loss == "simclr":
            return LOSSES["simclr"](Z, G, self.temperature)
        return LOSSES[self.loss](Z, G)

    def pretrains(self, kind: str) -> bool:
        return self.pretrain == "on" or (self.pretrain == "auto" and kind in ("crop",
                                                                              "crop_flip"))

    def pretrain_params(self, kind: str) -> dict:
        return {"loss": self.loss, "encoder": self.encoder, "hidden": list(self.hidden),
                "dim": self.dim, "augment": kind, "aug_noise": self.aug_noise,
                "steps": self.pretrain_steps, "batch": self.pretrain_batch, "lr": self.lr,
                "weight_decay": self.weight_decay, "temperature": self.temperature}

    def _pretrain(self, net: nn.Module, data, views: Augmenter, device, seed: int) -> dict:
        """SSL on the pool: each batch's two augmented views are the only positives."""
        torch.manual_seed(seed)
        X = torch.as_tensor(data.X, device=device)
        size = min(self.pretrain_batch, len(X))
        G = two_view_graph(size, device)
        optimizer = torch.optim.AdamW(net.parameters(), lr=self.lr,
                                      weight_decay=self.weight_decay)
        net.train()
        for _ in range(self.pretrain_steps):
            xb = X[torch.randperm(len(X), device=device)[:size]]
            loss = self.loss_fn(net(torch.cat([views(xb), views(xb)])), G)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        return net.state_dict()

    def capabilities(self, data):
        pretrained = self.pretrains(resolve(self.augment, data))
        return frozenset({"last_layer"} | ({"pool_embedding"} if pretrained else set()))

    def refuse(self, capability, where, strategy):
        if capability == "pool_embedding":
            return ConfigError(f"{where}.pretrain", self.pretrain,
                               f"must be \"on\" (or \"auto\" on images): strategy "
                               f"{strategy!r} uses the self-supervised pool embedding")
        return super().refuse(capability, where, strategy)

    def pool_embedding(self, data, *, seed: int) -> np.ndarray:
        """The pool through the encoder pretrained on it (no answers involved: the same at
        every checkpoint, from the same cache entry as `fit`)."""
        device = resolve_device(self.device)
        net, _ = self._initial(data, resolve(self.augment, data), device, seed)
        return encode(net.eval(), data.X, device)

    def _initial(self, data, kind: str, device, seed: int) -> tuple[nn.Module, float]:
        """The encoder a fit starts from, and the seconds its pretraining took: drawn under
        the seed, then the pool's pretrained weights when it pretrains (every weight the same
        whether cached or not)."""
        with own_rng(device):
            torch.manual_seed(seed)
            net = self.build(data).to(device)
            if not self.pretrains(kind):
                return net, 0.0
            views = Augmenter(kind, data.image_shape, self.aug_noise, device)
            key = cache_key(data.fingerprint, self.pretrain_params(kind), seed)
            state, seconds = pretrained(
                key, self.cache_dir, lambda: self._pretrain(net, data, views, device, seed))
            net.load_state_dict(state)
        return net, seconds

    def batches_fits(self, data):
        """Fits batch unless the graph loss is on: its minibatches of relations come from
        each cell's own graph (those fits run one after another)."""
        return self.graph_weight == 0

    def batch_member_bytes(self, data):
        net = nn.Sequential(*self.build(data), nn.Linear(self.dim, data.n_classes))
        return member_bytes(net, data.X.shape[1], data.n_pool, self.batch_size)

    def fit(self, data, graph: GraphReader, *, seed):
        return self.fit_batch(data, [graph], seeds=[seed])[0]

    def fit_batch(self, data, graphs: list[GraphReader], *, seeds):
        """Each cell's encoder starts from its own (pretrained) weights and a class head drawn
        under seed + 1; the cross-entropy training of all of them is one batched model
        (learners.batched), each cell's bit-identical to it trained alone, unless the graph
        loss is on (then one after another)."""
        device = resolve_device(self.device)
        kind = resolve(self.augment, data)
        models, members, nets = [], [], []
        for graph, seed in zip(graphs, seeds):
            known = graph.known_labels()
            idx = np.flatnonzero(known >= 0)
            net, seconds = self._initial(data, kind, device, seed)
            if len(idx) == 0:
                models.append(PriorModel(known[idx], data.n_classes, net, device, seconds))
                continue
            with own_rng(device):
                torch.manual_seed(seed + 1)  # fine-tuning draws the same, cached or not
                head = nn.Linear(self.dim, data.n_classes).to(device)
                if self.graph_weight:
                    self._train(net, head, data, graph, idx, known[idx], device, seed)
                else:
                    members.append(Member(data.X[idx], known[idx], seed))
                    nets.append(nn.Sequential(*net, head))  # the same modules, trained below
            models.append(PalModel(net, head, device, seconds))
        if members:
            train(members, nets, epochs=self.epochs, min_steps=self.min_steps,
                  batch_size=self.batch_size, lr=self.lr, weight_decay=self.weight_decay,
                  device=device)
        return models

    def _train(self, net, head, data, graph, idx, labels, device, seed) -> None:
        """With the graph loss on: cross-entropy on the samples of known class, on the `mlp`
        learner's schedule, plus the graph loss on batches of known relations."""
        projector = nn.Sequential(nn.ReLU(), nn.Linear(self.dim, self.dim)).to(device)
        params = list(net.parameters()) + list(head.parameters())
        if self.graph_weight:
            params += list(projector.parameters())
            sampler = BatchSampler(graph.component_ids())
            rng = np.random.default_rng(seed)
            X_all = torch.as_tensor(data.X, device=device)
        optimizer = torch.optim.AdamW(params, lr=self.lr, weight_decay=self.weight_decay)
        X = torch.as_tensor(data.X[idx], device=device)
        y = torch.as_tensor(labels, dtype=torch.long, device=device)
        generator = torch.Generator().manual_seed(seed)
        net.train()
        for rows in epoch_batches(len(idx), self.batch_size, self.epochs, self.min_steps,
                                  generator, device):
            loss = F.cross_entropy(head(net(X[rows])), y[rows])
            if self.graph_weight:
                related = sampler.draw_related(self.graph_batch, rng)
                if len(related) >= 4:
                    G = torch.as_tensor(graph.signed_block(related, signed=self.signed),
                                        device=device)
                    Z = projector(net(X_all[torch.as_tensor(related, device=device)]))
                    loss = loss + self.graph_weight * self.loss_fn(Z, G)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        net.eval()
