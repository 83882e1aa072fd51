"""Networks trained together are the networks trained alone: every weight and every
prediction equal (torch.equal), different labelled-set sizes, step counts and seeds
included."""

from __future__ import annotations

from functools import partial

import numpy as np
import pytest
import torch
from torch import nn

from palbench.bench.threads import single_threaded
from palbench.learners.batched import (
    Member,
    check_architecture,
    forward,
    member_bytes,
    seeded,
    train,
)
from palbench.learners.pal import make_cnn
from palbench.learners.supervised import MLP
from palbench.learners.torch_common import make_mlp


def members(sizes, seed=0, dims=8, classes=3):
    rng = np.random.default_rng(seed)
    return [Member(rng.normal(size=(n, dims)).astype(np.float32),
                   rng.integers(0, classes, n), 100 + i) for i, n in enumerate(sizes)]


SETTINGS = dict(epochs=4, min_steps=10, batch_size=16, lr=1e-2, weight_decay=1e-4)


def mlps(group, classes, hidden, dropout=0.0, **settings):
    """The members' MLPs, each drawn under its seed as `mlp` draws it, trained together."""
    build = partial(make_mlp, group[0].X.shape[1], hidden, classes, dropout)
    nets = [seeded(build, m.seed) for m in group]
    return train(group, nets, **(settings or SETTINGS))


@pytest.mark.parametrize("dropout", [0.0, 0.3])
def test_members_trained_together_equal_members_trained_alone(dropout):
    # batches of 16, of 7, a last one of 8; 1 label; two members whose last batch is one row
    group = members([40, 40, 7, 23, 1, 64, 17, 33])
    together = mlps(group, 3, (12, 6), dropout)
    probe = torch.as_tensor(np.random.default_rng(9).normal(size=(50, 8)), dtype=torch.float32)
    for member, net in zip(group, together):
        (alone,) = mlps([member], 3, (12, 6), dropout)
        for a, b in zip(net.parameters(), alone.parameters()):
            assert torch.equal(a, b)
        assert torch.equal(net(probe), alone(probe))


def test_a_member_trained_twice_differs_only_by_its_seed():
    a, b = members([30, 30])
    same = Member(a.X, a.labels, b.seed)
    nets = mlps([a, same], 3, (8,))
    assert not torch.equal(nets[0][0].weight, nets[1][0].weight)  # another seed: other weights
    (again,) = mlps([a], 3, (8,))
    assert torch.equal(nets[0][0].weight, again[0].weight)


def test_training_moves_the_networks_toward_their_labels():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 2)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int64)
    (net,) = mlps([Member(X, y, 0)], 2, (16,), epochs=30, min_steps=0, batch_size=32,
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


def cnn_members(sizes, seed=0, image=(1, 8, 8), classes=4):
    rng = np.random.default_rng(seed)
    features = int(np.prod(image))
    return [Member(rng.normal(size=(n, features)).astype(np.float32),
                   rng.integers(0, classes, n), 200 + i) for i, n in enumerate(sizes)]


def encoder_with_head(seed, image=(1, 8, 8), classes=4):
    """pal's CNN encoder and its linear class head, drawn under the member's seed."""
    return seeded(lambda: nn.Sequential(*make_cnn(image, 16, 6), nn.Linear(6, classes)), seed)


def test_cnn_members_trained_together_equal_cnn_members_trained_alone():
    """Convolutions, pooling, flatten and a head with no ReLU before it (pal's architecture):
    a member's weights and predictions are the same beside others as alone, at one thread as
    runs train (a grouped convolution would not be: cuDNN/oneDNN pick other kernels)."""
    group = cnn_members([20, 9, 33, 1, 17])  # last batches of 4, 1, 1, 1: one-row steps
    probe = torch.as_tensor(np.random.default_rng(4).normal(size=(10, 64)), dtype=torch.float32)
    settings = dict(epochs=2, min_steps=6, batch_size=8, lr=1e-2, weight_decay=1e-4)
    with single_threaded():
        together = train(group, [encoder_with_head(m.seed) for m in group], **settings)
        for member, net in zip(group, together):
            (alone,) = train([member], [encoder_with_head(member.seed)], **settings)
            for a, b in zip(net.parameters(), alone.parameters()):
                assert torch.equal(a, b)
            assert torch.equal(net(probe), alone(probe))
    assert not torch.equal(together[0][1].weight, encoder_with_head(200)[1].weight)  # trained


def test_the_batched_forward_computes_what_the_modules_compute():
    """The batched convolution (unfold and bmm), pooling and flatten give what the network's
    own modules give, to float rounding: the batched model is the same model."""
    net = encoder_with_head(0)
    x = torch.as_tensor(np.random.default_rng(1).normal(size=(5, 64)), dtype=torch.float32)
    params = [p.detach()[None] for p in net.parameters()]
    batched = forward(net, params, x[None], masks=None)[0]
    torch.testing.assert_close(batched, net(x), rtol=1e-5, atol=1e-5)


def test_a_module_the_batched_forward_does_not_know_is_refused():
    with pytest.raises(TypeError, match="BatchNorm1d cannot be trained batched"):
        check_architecture(nn.Sequential(nn.Linear(4, 4), nn.BatchNorm1d(4), nn.Linear(4, 2)))
    with pytest.raises(TypeError, match="groups=1"):
        check_architecture(nn.Sequential(nn.Conv2d(2, 2, 3, groups=2)))


def test_a_member_s_memory_counts_its_weights_samples_and_minibatch_activations():
    """What the executor sizes groups by: 16 bytes a weight (weights, gradients, two Adam
    moments), the padded samples, and activations that grow with the minibatch."""
    net = encoder_with_head(0)
    weights = sum(p.numel() for p in net.parameters())
    small, large = member_bytes(net, 64, 100, 8), member_bytes(net, 64, 100, 64)
    assert 16 * weights + 4 * 100 * 66 < small < large
    assert member_bytes(net, 64, 100, 200) == member_bytes(net, 64, 100, 100)  # batch <= pool
