"""Networks trained together are the networks trained alone: every weight and every
prediction equal (torch.equal), different labelled-set sizes, step counts and seeds
included."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from palbench.learners.batched import Member, train
from palbench.learners.supervised import MLP


def members(sizes, seed=0, dims=8, classes=3):
    rng = np.random.default_rng(seed)
    return [Member(rng.normal(size=(n, dims)).astype(np.float32),
                   rng.integers(0, classes, n), 100 + i) for i, n in enumerate(sizes)]


SETTINGS = dict(epochs=4, min_steps=10, batch_size=16, lr=1e-2, weight_decay=1e-4)


@pytest.mark.parametrize("dropout", [0.0, 0.3])
def test_members_trained_together_equal_members_trained_alone(dropout):
    group = members([40, 40, 7, 23, 1, 64])  # batches of 16, of 7, a last one of 8; 1 label
    together = train(group, 3, (12, 6), dropout=dropout, **SETTINGS)
    probe = torch.as_tensor(np.random.default_rng(9).normal(size=(50, 8)), dtype=torch.float32)
    for member, net in zip(group, together):
        (alone,) = train([member], 3, (12, 6), dropout=dropout, **SETTINGS)
        for a, b in zip(net.parameters(), alone.parameters()):
            assert torch.equal(a, b)
        assert torch.equal(net(probe), alone(probe))


def test_a_member_trained_twice_differs_only_by_its_seed():
    a, b = members([30, 30])
    same = Member(a.X, a.labels, b.seed)
    nets = train([a, same], 3, (8,), **SETTINGS)
    assert not torch.equal(nets[0][0].weight, nets[1][0].weight)  # another seed: other weights
    (again,) = train([a], 3, (8,), **SETTINGS)
    assert torch.equal(nets[0][0].weight, again[0].weight)


def test_training_moves_the_networks_toward_their_labels():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 2)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int64)
    (net,) = train([Member(X, y, 0)], 2, (16,), epochs=30, min_steps=0, batch_size=32,
                   lr=1e-2, weight_decay=0.0)
    predicted = net(torch.as_tensor(X)).argmax(1).numpy()
    assert (predicted == y).mean() > 0.95


def test_mlp_fit_labels_batch_gives_each_set_its_solo_model():
    learner = MLP(hidden=(16,), epochs=3, min_steps=5, device="cpu")
    group = members([30, 12, 0, 45])
    sets = [(m.X, m.labels) for m in group]
    models = learner.fit_labels_batch(sets, 3, seeds=[m.seed for m in group])
    probe = np.random.default_rng(3).normal(size=(20, 8)).astype(np.float32)
    for (X, labels), model, member in zip(sets, models, group):
        alone = learner.fit_labels(X, labels, 3, seed=member.seed)
        assert np.array_equal(model.predict_proba(probe), alone.predict_proba(probe))
