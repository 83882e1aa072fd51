"""Several small networks trained as one batched model over a leading member axis: what makes
a grid's fits cheap (one `bmm` per layer instead of one small product per network), with every
member's numbers its own.

The networks are `nn.Sequential`s of one architecture built of the modules in `BATCHED`
(`mlp`'s perceptrons, `pal`'s MLP and CNN encoders with their class head); each member brings
its own initial network (its seed's draw, or `pal`'s pretrained weights), and keeps its own
minibatch order and dropout masks (generators of its own), its own labelled set and number of
steps, and its own AdamW state with its own step count: a member whose schedule has no step
left skips the optimiser step, not just its gradient (Adam moves on a zero gradient). A solo
fit is a batch of one through this very code, so a member trained beside others is
bit-identical to it trained alone on CPU at one thread, as runs train
(`tests/learners/test_batched.py` compares every weight and prediction with `torch.equal`):
every operation is either per member (a `bmm` over the member axis, a convolution as unfold
and `bmm`, a row-wise loss) or elementwise. Members are grouped at each step by minibatch
size, so no member's products ever see another's padding. A minibatch of one row is computed
as two (the row twice, the copy's output unused): BLAS rounds a one-row product differently
by where its operands lie in memory, which a member's place in the batch changes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import parameters_to_vector, vector_to_parameters

BETAS, EPS = (0.9, 0.999), 1e-8  # torch.optim.AdamW's defaults, which `mlp` always used
BATCHED = (nn.Linear, nn.ReLU, nn.Dropout, nn.Conv2d, nn.MaxPool2d, nn.Flatten, nn.Unflatten)


@dataclass(frozen=True)
class Member:
    """One network to train: its labelled samples' features and labels, and its seed (its
    minibatch order and dropout masks)."""

    X: np.ndarray
    labels: np.ndarray
    seed: int


def seeded(build: Callable[[], nn.Sequential], seed: int) -> nn.Sequential:
    """`build()` after `torch.manual_seed(seed)` (a member's initial weights), leaving the
    caller's torch random state as it was."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build()


def check_architecture(net: nn.Sequential) -> None:
    """Refuse a network the batched forward cannot compute exactly (TypeError): a module it
    does not know would otherwise be skipped, or computed as something else, silently."""
    for module in net:
        if not isinstance(module, BATCHED):
            raise TypeError(f"{type(module).__name__} cannot be trained batched; "
                            f"batched networks are built of {[m.__name__ for m in BATCHED]}")
        if isinstance(module, (nn.Linear, nn.Conv2d)) and module.bias is None:
            raise TypeError(f"{module} has no bias; batched layers have one")
        if isinstance(module, nn.Conv2d) and (module.groups != 1 or isinstance(
                module.padding, str) or module.padding_mode != "zeros"):
            raise TypeError(f"{module}: batched convolutions have groups=1 and zero padding "
                            "given as numbers")
        if isinstance(module, nn.Flatten) and (module.start_dim, module.end_dim) != (1, -1):
            raise TypeError(f"{module}: batched Flatten flattens all but the batch dimension")
        if isinstance(module, nn.Unflatten) and module.dim != 1:
            raise TypeError(f"{module}: batched Unflatten unflattens the feature dimension")


def schedule(n: int, batch_size: int, epochs: int, min_steps: int,
             generator: torch.Generator) -> list[torch.Tensor]:
    """A member's minibatches, in order: `epochs` shuffled passes over its n samples in
    batches of `batch_size` (at most n), at least `min_steps` steps (the schedule `mlp` and
    `pal` have always had: torch_common.epoch_batches)."""
    batch = min(batch_size, n)
    per_epoch = -(-n // batch)
    steps = []
    for _ in range(max(epochs, -(-min_steps // per_epoch))):
        order = torch.randperm(n, generator=generator)
        steps += [order[start:start + batch] for start in range(0, n, batch)]
    return steps


class MaskStream:
    """A member's dropout keep-masks for one dropout layer, drawn from its own generator a
    block of rows at a time (one call per MASK_BLOCK rows instead of one a step): the masks a
    member gets depend only on its own steps, never on who trains beside it."""

    def __init__(self, generator: torch.Generator, rate: float):
        self.generator, self.rate = generator, rate
        self.buffer: torch.Tensor | None = None

    def take(self, rows: int, width: int) -> torch.Tensor:
        if self.buffer is None:
            self.buffer = torch.empty((0, width), dtype=torch.bool)
        if len(self.buffer) < rows:
            fresh = torch.rand((max(MASK_BLOCK, rows), width),
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


def unflatten(flat: torch.Tensor, shapes: list[torch.Size]) -> list[torch.Tensor]:
    """Each parameter as a (members, *shape) view of the (members, P) parameters. One split,
    not a slice per parameter: a slice's backward fills a whole (members, P) gradient of
    zeros, a split's backward is one concatenation."""
    sizes = [int(np.prod(shape)) for shape in shapes]
    return [part.view(len(flat), *shape)
            for part, shape in zip(flat.split(sizes, dim=1), shapes)]


def convolve(x: torch.Tensor, W: torch.Tensor, b: torch.Tensor, conv: nn.Conv2d) -> torch.Tensor:
    """(G, B, C, H, W) -> (G, B, O, H', W'): each member's Conv2d as unfold and one `bmm` per
    member (a grouped convolution is not bit-identical to the same member alone)."""
    G, B, C, height, width = x.shape
    cols = F.unfold(x.reshape(G * B, C, height, width), conv.kernel_size,
                    dilation=conv.dilation, padding=conv.padding, stride=conv.stride)
    positions = cols.shape[-1]
    cols = cols.view(G, B, -1, positions).transpose(2, 3).reshape(G, B * positions, -1)
    out = torch.baddbmm(b.unsqueeze(1), cols, W.reshape(G, len(W[0]), -1).transpose(1, 2))
    size = [(n + 2 * p - d * (k - 1) - 1) // s + 1 for n, p, d, k, s in zip(
        (height, width), conv.padding, conv.dilation, conv.kernel_size, conv.stride)]
    return out.view(G, B, positions, -1).transpose(2, 3).reshape(G, B, -1, *size)


def forward(architecture: nn.Sequential, params: list[torch.Tensor], x: torch.Tensor,
            masks: Callable[[int, int, int], torch.Tensor] | None) -> torch.Tensor:
    """(G, B, n_in) -> (G, B, n_out): the architecture's modules computed with each member's
    own parameters (`params`, as `unflatten` gives them); `masks(k, rows, width)` gives
    dropout layer k's keep masks while training (None: dropout off)."""
    weights = iter(params)
    dropout_layer = 0
    for module in architecture:
        if isinstance(module, nn.Linear):
            W, b = next(weights), next(weights)
            x = torch.baddbmm(b.unsqueeze(1), x, W.transpose(1, 2))
        elif isinstance(module, nn.Conv2d):
            x = convolve(x, next(weights), next(weights), module)
        elif isinstance(module, nn.ReLU):
            x = torch.relu(x)
        elif isinstance(module, nn.Dropout):
            if masks is not None:
                x = x * masks(dropout_layer, x.shape[1], x.shape[2]) / (1.0 - module.p)
            dropout_layer += 1
        elif isinstance(module, nn.MaxPool2d):
            G, B = x.shape[:2]
            pooled = F.max_pool2d(x.reshape(G * B, *x.shape[2:]), module.kernel_size,
                                  module.stride, module.padding, module.dilation,
                                  ceil_mode=module.ceil_mode)
            x = pooled.view(G, B, *pooled.shape[1:])
        elif isinstance(module, nn.Flatten):
            x = x.flatten(2)
        elif isinstance(module, nn.Unflatten):
            x = x.unflatten(2, module.unflattened_size)
    return x


def member_bytes(net: nn.Sequential, n_in: int, n_pool: int, batch_size: int) -> int:
    """Memory one member of a batch takes at most: weights, gradients and two Adam moments in
    float32, its samples padded to the pool (its labelled set can grow to the whole pool), and
    a minibatch's activations (convolutions' unfolded inputs included) kept for the backward
    pass and their gradients."""
    floats = 0
    with torch.no_grad():
        x = torch.zeros(1, n_in)
        for module in net:
            if isinstance(module, nn.Conv2d):
                floats += module.in_channels * int(np.prod(module.kernel_size)) * int(
                    np.prod(x.shape[2:]))
            x = module.eval()(x)
            floats += x.numel()
    weights = sum(p.numel() for p in net.parameters())
    return 16 * weights + 4 * n_pool * (n_in + 2) + 4 * 2 * min(batch_size, n_pool) * floats


def train(members: list[Member], nets: list[nn.Sequential], *, epochs: int, min_steps: int,
          batch_size: int, lr: float, weight_decay: float,
          device: torch.device | None = None) -> list[nn.Sequential]:
    """Train each member's network (`nets[i]`, its initial weights; one architecture, each
    member with at least one label) together on cross-entropy: the networks are trained in
    place and returned, in eval mode, on `device` (default CPU). Minibatch orders and dropout
    masks are drawn on the CPU whatever the device, so a member's draws do not depend on
    where it trains."""
    device = device or torch.device("cpu")
    architecture = nets[0]
    check_architecture(architecture)
    shapes = [p.shape for p in architecture.parameters()]
    count = len(members)
    flat = torch.stack([parameters_to_vector(net.parameters()).detach().to(device)
                        for net in nets]).requires_grad_()
    optimizer = AdamW(flat, lr, weight_decay)
    plans = [schedule(len(m.labels), batch_size, epochs, min_steps,
                      torch.Generator().manual_seed(m.seed)) for m in members]
    rates = [module.p for module in architecture if isinstance(module, nn.Dropout)]
    noise = [[MaskStream(generator, rate) for rate in rates]
             for generator in (torch.Generator().manual_seed(m.seed + 1) for m in members)]
    # every member's samples in one padded tensor: a step gathers its rows in one indexing
    n_in, most = members[0].X.shape[1], max(len(m.labels) for m in members)
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
            if size == 1:  # a one-row product rounds by where its operands lie in memory
                rows = rows.repeat(1, 2)  # (checked: two rows do not): a duplicate, unused
            x, y = X[index[:, None], rows], Y[index[:, None], rows[:, :size]]
            active += group

            def masks(layer, n_rows, width, group=group):
                return torch.stack([noise[i][layer].take(n_rows, width)
                                    for i in group]).to(device)

            logits = forward(architecture, own, x, masks if rates else None)[:, :size]
            losses = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1),
                                     reduction="none").view(len(group), size)
            losses.mean(dim=1).sum().backward()
        optimizer.step(everyone if len(active) == count else
                       torch.tensor(sorted(active), device=device))
    trained = flat.detach()
    for net, weights in zip(nets, trained):
        net.to(device)
        with torch.no_grad():
            vector_to_parameters(weights.clone(), net.parameters())
    return [net.eval() for net in nets]
