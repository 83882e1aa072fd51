"""Graph SSL losses: equal to their usual two-view forms on the two-view graph, invariant to a
joint permutation, a hand-computed case, and falling over 20 steps on a toy problem."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from palbench.learners.losses import LOSSES, simclr, spectral_contrastive, vicreg


def two_view_graph(n: int) -> torch.Tensor:
    """Views 0..n-1 then n..2n-1; view i and view n+i are the same sample."""
    sample = torch.arange(n).repeat(2)
    return (sample[:, None] == sample[None, :]).float()


@pytest.fixture
def views():
    torch.manual_seed(0)
    return torch.randn(8, 5, dtype=torch.float64), torch.randn(8, 5, dtype=torch.float64)


def test_spectral_contrastive_equals_its_two_view_form(views):
    z1, z2 = views
    n = len(z1)
    Z = torch.cat([z1, z2])
    attract = -2 * (z1 * z2).sum(dim=1).mean()
    products = [(Z[u] @ Z[v]) ** 2 for u in range(2 * n) for v in range(2 * n) if u != v]
    reference = attract + torch.stack(products).mean()
    assert torch.allclose(spectral_contrastive(Z, two_view_graph(n)), reference)


def test_simclr_equals_nt_xent(views):
    z1, z2 = views
    n, temperature = len(z1), 0.5
    Z = F.normalize(torch.cat([z1, z2]), dim=1)
    sim = Z @ Z.T / temperature
    sim.fill_diagonal_(float("-inf"))
    targets = torch.cat([torch.arange(n, 2 * n), torch.arange(n)])
    reference = F.cross_entropy(sim, targets)  # SimCLR's NT-Xent over 2n views
    assert torch.allclose(simclr(torch.cat([z1, z2]), two_view_graph(n), temperature), reference)


def test_vicreg_invariance_equals_the_two_view_mse(views):
    z1, z2 = views
    Z = torch.cat([z1, z2])
    only_invariance = vicreg(Z, two_view_graph(len(z1)), 1.0, 0.0, 0.0)
    assert torch.allclose(only_invariance, F.mse_loss(z1, z2))


def test_spectral_contrastive_by_hand():
    Z = torch.tensor([[1.0, 0.0], [1.0, 1.0], [0.0, 2.0]])
    G = torch.tensor([[1.0, 1.0, -1.0], [1.0, 1.0, 0.0], [-1.0, 0.0, 1.0]])
    # inner products: <0,1> = 1, <0,2> = 0, <1,2> = 2; one positive pair (0,1), both orders
    # attract = -2 * (2 * 1 + 2 * (-1) * 0) / 2 = -2
    # repel = mean over 6 ordered pairs of squares = (1 + 0 + 4) * 2 / 6 = 5 / 3
    assert spectral_contrastive(Z, G).item() == pytest.approx(-2 + 5 / 3)


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_losses_are_invariant_to_a_joint_permutation(name):
    torch.manual_seed(1)
    Z = torch.randn(10, 4, dtype=torch.float64)
    labels = torch.tensor([0, 0, 1, 1, 1, 2, 2, 3, 3, 3])
    G = (labels[:, None] == labels[None, :]).double()
    G[0, 9] = G[9, 0] = -1.0
    perm = torch.randperm(10)
    loss = LOSSES[name](Z, G)
    permuted = LOSSES[name](Z[perm], G[perm][:, perm])
    assert torch.allclose(loss, permuted)


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_loss_falls_over_20_steps(name):
    torch.manual_seed(0)
    X = torch.randn(64, 6)
    labels = torch.arange(64) % 4
    G = (labels[:, None] == labels[None, :]).float()
    G[G == 0] = -1.0
    net = torch.nn.Sequential(torch.nn.Linear(6, 32), torch.nn.ReLU(), torch.nn.Linear(32, 8))
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-2)
    losses = []
    for _ in range(20):
        loss = LOSSES[name](net(X), G)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]
