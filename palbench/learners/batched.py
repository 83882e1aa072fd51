"""Several small MLPs trained as one batched model over a leading member axis: what makes a
grid's fits cheap (one `bmm` per layer instead of one small product per network), with every
member's numbers its own.

A member keeps its own seed (initial weights drawn exactly as `make_mlp` draws them under
`torch.manual_seed(seed)`, its minibatch order and dropout masks from generators of its own),
its own labelled set and number of steps, and its own AdamW state with its own step count: a
member whose schedule has no step left skips the optimiser step, not just its gradient (Adam
moves on a zero gradient). A solo fit is a batch of one through this very code, so a member
trained beside others is bit-identical to it trained alone on CPU
(`tests/learners/test_batched.py` compares every weight and prediction with `torch.equal`):
every operation is either per member (a `bmm` over the member axis, a row-wise loss) or
elementwise. Members are grouped at each step by minibatch size, so no member's products
ever see another's padding.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from palbench.learners.torch_common import make_mlp

BETAS, EPS = (0.9, 0.999), 1e-8  # torch.optim.AdamW's defaults, which `mlp` always used


@dataclass(frozen=True)
class Member:
    """One network to train: its labelled samples' features and labels, and its seed."""

    X: np.ndarray
    labels: np.ndarray
    seed: int


def schedule(n: int, batch_size: int, epochs: int, min_steps: int,
             generator: torch.Generator) -> list[torch.Tensor]:
    """A member's minibatches, in order: `epochs` shuffled passes over its n samples in
    batches of `batch_size` (at most n), at least `min_steps` steps (the schedule `mlp` has
    always had: torch_common.epoch_batches)."""
    batch = min(batch_size, n)
    per_epoch = -(-n // batch)
    steps = []
    for _ in range(max(epochs, -(-min_steps // per_epoch))):
        order = torch.randperm(n, generator=generator)
        steps += [order[start:start + batch] for start in range(0, n, batch)]
    return steps


class MaskStream:
    """A member's dropout keep-masks for one hidden layer, drawn from its own generator a
    block of rows at a time (one call per MASK_BLOCK rows instead of one a step): the masks a
    member gets depend only on its own steps, never on who trains beside it."""

    def __init__(self, generator: torch.Generator, width: int, rate: float):
        self.generator, self.width, self.rate = generator, width, rate
        self.buffer = torch.empty((0, width), dtype=torch.bool)

    def take(self, rows: int) -> torch.Tensor:
        if len(self.buffer) < rows:
            fresh = torch.rand((max(MASK_BLOCK, rows), self.width),
                               generator=self.generator) >= self.rate
            self.buffer = torch.cat([self.buffer, fresh])
        taken, self.buffer = self.buffer[:rows], self.buffer[rows:]
        return taken


MASK_BLOCK = 4096  # rows of keep-masks drawn at once


def steps_by_size(plans: list[list[torch.Tensor]]):
    """Per step, the members that take one, grouped by their minibatch's size:
    [(size, [member, ...]), ...]."""
    for step in range(max(len(p) for p in plans)):
        groups: dict[int, list[int]] = {}
        for i, plan in enumerate(plans):
            if step < len(plan):
                groups.setdefault(len(plan[step]), []).append(i)
        yield list(groups.items())


def initial_layers(n_in: int, hidden: tuple[int, ...], n_out: int, seed: int):
    """A member's (weight, bias) per Linear layer, drawn as `make_mlp` draws them after
    `torch.manual_seed(seed)`; the caller's torch random state is left as it was."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = make_mlp(n_in, hidden, n_out, 0.0)
    return [(m.weight.detach().clone(), m.bias.detach().clone())
            for m in net if isinstance(m, nn.Linear)]


class AdamW:
    """torch.optim.AdamW's update, elementwise, on every member's parameters as one (members,
    P) tensor, with a step count per member: only the members named at a step move (their
    moments, their count, their weights)."""

    def __init__(self, flat: torch.Tensor, lr: float, weight_decay: float):
        self.flat, self.lr, self.weight_decay = flat, lr, weight_decay
        self.m, self.v = torch.zeros_like(flat), torch.zeros_like(flat)
        self.steps = torch.zeros(len(flat), dtype=torch.float64, device=flat.device)

    @torch.no_grad()
    def step(self, members: torch.Tensor) -> None:
        self.steps[members] += 1
        beta1, beta2 = BETAS
        t = self.steps[members]
        step_size = (self.lr / (1 - beta1 ** t)).to(self.flat.dtype)[:, None]
        root = (1 - beta2 ** t).sqrt().to(self.flat.dtype)[:, None]
        everyone = len(members) == len(self.steps)
        p, m, v, g = (self.flat, self.m, self.v, self.flat.grad) if everyone else \
            (self.flat[members], self.m[members], self.v[members], self.flat.grad[members])
        p.mul_(1 - self.lr * self.weight_decay)
        m.lerp_(g, 1 - beta1)
        v.mul_(beta2).addcmul_(g, g, value=1 - beta2)
        p.sub_(step_size * m / (v.sqrt() / root + EPS))
        if not everyone:
            self.flat[members], self.m[members], self.v[members] = p, m, v


def unflatten(flat: torch.Tensor, shapes: list[tuple[tuple, tuple]]):
    """[(W, b), ...] per layer, as views of the (members, P) parameters."""
    layers, at = [], 0
    for w_shape, b_shape in shapes:
        w_size, b_size = int(np.prod(w_shape)), int(np.prod(b_shape))
        layers.append((flat[:, at:at + w_size].view(len(flat), *w_shape),
                       flat[:, at + w_size:at + w_size + b_size].view(len(flat), *b_shape)))
        at += w_size + b_size
    return layers


def forward(layers: list[tuple[torch.Tensor, torch.Tensor]], x: torch.Tensor,
            dropout: float, masks) -> torch.Tensor:
    """(G, B, n_in) -> (G, B, n_out) logits; `masks(i, shape)` gives hidden layer i's keep
    masks while training (None: no dropout)."""
    for i, (W, b) in enumerate(layers):
        x = torch.baddbmm(b.unsqueeze(1), x, W.transpose(1, 2))
        if i < len(layers) - 1:
            x = torch.relu(x)
            if dropout and masks is not None:
                x = x * masks(i, x.shape) / (1.0 - dropout)
    return x


def train(members: list[Member], n_classes: int, hidden: tuple[int, ...], *, epochs: int,
          min_steps: int, batch_size: int, lr: float, weight_decay: float,
          dropout: float = 0.0, device: torch.device | None = None) -> list[nn.Sequential]:
    """Train one MLP per member (each with at least one label) together; returns each
    member's network as `make_mlp` builds it, in eval mode, on `device` (default CPU).
    Initial weights, minibatch orders and dropout masks are drawn on the CPU whatever the
    device, so a member's draws do not depend on where it trains."""
    device = device or torch.device("cpu")
    n_in = members[0].X.shape[1]
    count = len(members)
    drawn = [initial_layers(n_in, hidden, n_classes, m.seed) for m in members]
    shapes = [(tuple(W.shape), tuple(b.shape)) for W, b in drawn[0]]
    flat = torch.stack([torch.cat([t.reshape(-1) for pair in d for t in pair]) for d in drawn])
    flat = flat.to(device).requires_grad_()
    optimizer = AdamW(flat, lr, weight_decay)
    orders = [torch.Generator().manual_seed(m.seed) for m in members]
    plans = [schedule(len(m.labels), batch_size, epochs, min_steps, g)
             for m, g in zip(members, orders)]
    noise = [[MaskStream(generator, width, dropout) for width in hidden]
             for generator in (torch.Generator().manual_seed(m.seed + 1) for m in members)] \
        if dropout else []
    # every member's samples in one padded tensor: a step gathers its rows in one indexing
    most = max(len(m.labels) for m in members)
    X = torch.zeros((count, most, n_in), dtype=torch.float32)
    Y = torch.zeros((count, most), dtype=torch.long)
    for i, m in enumerate(members):
        X[i, :len(m.labels)] = torch.as_tensor(m.X, dtype=torch.float32)
        Y[i, :len(m.labels)] = torch.as_tensor(m.labels, dtype=torch.long)
    X, Y = X.to(device), Y.to(device)
    everyone = torch.arange(count, device=device)
    for step, groups in enumerate(steps_by_size(plans)):
        flat.grad = None
        active = []
        for size, group in groups:
            index = everyone if len(group) == count else torch.tensor(group, device=device)
            own = unflatten(flat if len(group) == count else flat[index], shapes)
            rows = torch.stack([plans[i][step] for i in group]).to(device)
            x, y = X[index[:, None], rows], Y[index[:, None], rows]
            active += group

            def masks(layer, shape, group=group):
                return torch.stack([noise[i][layer].take(shape[1]) for i in group]).to(device)

            logits = forward(own, x, dropout, masks if dropout else None)
            losses = nn.functional.cross_entropy(logits.reshape(-1, n_classes), y.reshape(-1),
                                                 reduction="none").view(len(group), size)
            losses.mean(dim=1).sum().backward()
        optimizer.step(everyone if len(active) == count else
                       torch.tensor(sorted(active), device=device))
    nets = []
    layers = unflatten(flat.detach(), shapes)
    for i in range(count):
        net = make_mlp(n_in, hidden, n_classes, dropout).to(device)
        linear = [m for m in net if isinstance(m, nn.Linear)]
        with torch.no_grad():
            for module, (W, b) in zip(linear, layers):
                module.weight.copy_(W[i])
                module.bias.copy_(b[i])
        nets.append(net.eval())
    return nets
