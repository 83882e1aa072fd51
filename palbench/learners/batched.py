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
    """torch.optim.AdamW's update, elementwise, with a step count per member: only the
    members named at a step move (their moments, their count, their weights)."""

    def __init__(self, params: list[torch.Tensor], members: int, lr: float,
                 weight_decay: float, device: torch.device):
        self.params, self.lr, self.weight_decay = params, lr, weight_decay
        self.m = [torch.zeros_like(p) for p in params]
        self.v = [torch.zeros_like(p) for p in params]
        self.steps = torch.zeros(members, dtype=torch.float64, device=device)

    @torch.no_grad()
    def step(self, members: torch.Tensor) -> None:
        self.steps[members] += 1
        beta1, beta2 = BETAS
        t = self.steps[members]
        correction1 = (1 - beta1 ** t)
        correction2_sqrt = (1 - beta2 ** t).sqrt()
        everyone = len(members) == len(self.steps)
        for p, m, v in zip(self.params, self.m, self.v):
            shape = (-1,) + (1,) * (p.dim() - 1)
            step_size = (self.lr / correction1).to(p.dtype).view(shape)
            root = correction2_sqrt.to(p.dtype).view(shape)
            pp, mm, vv, g = (p, m, v, p.grad) if everyone else \
                (p[members], m[members], v[members], p.grad[members])
            pp.mul_(1 - self.lr * self.weight_decay)
            mm.lerp_(g, 1 - beta1)
            vv.mul_(beta2).addcmul_(g, g, value=1 - beta2)
            pp.sub_(step_size * mm / (vv.sqrt() / root + EPS))
            if not everyone:
                p[members], m[members], v[members] = pp, mm, vv


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
    layers = [(torch.stack([d[i][0] for d in drawn]).to(device).requires_grad_(),
               torch.stack([d[i][1] for d in drawn]).to(device).requires_grad_())
              for i in range(len(drawn[0]))]
    optimizer = AdamW([t for pair in layers for t in pair], count, lr, weight_decay, device)
    orders = [torch.Generator().manual_seed(m.seed) for m in members]
    plans = [schedule(len(m.labels), batch_size, epochs, min_steps, g)
             for m, g in zip(members, orders)]
    noise = [torch.Generator().manual_seed(m.seed + 1) for m in members] if dropout else []
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
        for p in optimizer.params:
            p.grad = None
        active = []
        for size, group in groups:
            index = everyone if len(group) == count else torch.tensor(group, device=device)
            own = layers if len(group) == count else \
                [(W[index], b[index]) for W, b in layers]
            rows = torch.stack([plans[i][step] for i in group]).to(device)
            x, y = X[index[:, None], rows], Y[index[:, None], rows]
            active += group

            def masks(layer, shape, group=group):
                return torch.stack([torch.rand(shape[1:], generator=noise[i]) >= dropout
                                    for i in group]).to(device)

            logits = forward(own, x, dropout, masks if dropout else None)
            losses = nn.functional.cross_entropy(logits.reshape(-1, n_classes), y.reshape(-1),
                                                 reduction="none").view(len(group), size)
            losses.mean(dim=1).sum().backward()
        optimizer.step(everyone if len(active) == count else
                       torch.tensor(sorted(active), device=device))
    nets = []
    for i in range(count):
        net = make_mlp(n_in, hidden, n_classes, dropout).to(device)
        linear = [m for m in net if isinstance(m, nn.Linear)]
        with torch.no_grad():
            for module, (W, b) in zip(linear, layers):
                module.weight.copy_(W[i])
                module.bias.copy_(b[i])
        nets.append(net.eval())
    return nets
