"""PAL learners: the torch encoder with graph losses, and the closed-form kernel learner."""

from __future__ import annotations

import numpy as np
import pytest

from palbench.bench.evaluation import probe_accuracy
from palbench.datasets.synthetic import Circles
from palbench.errors import ConfigError
from palbench.graph import SimilarityGraph
from palbench.learners.augment import resolve
from palbench.learners.kernel import KernelPAL
from palbench.learners.pal import PAL, BatchSampler
from palbench.learners.pretrain import forget
from palbench.params import build


def labelled_graph(data, fraction, seed=0):
    rng = np.random.default_rng(seed)
    g = SimilarityGraph(data.n_pool, data.n_classes)
    chosen = rng.choice(data.n_pool, int(fraction * data.n_pool), replace=False)
    g.add_labels(chosen, data.y[chosen])
    return g


def accuracy(model, data):
    return (model.predict_proba(data.X_test).argmax(axis=1) == data.y_test).mean()


@pytest.mark.parametrize("loss", ["spectral_contrastive", "simclr", "vicreg"])
def test_pal_learns_blobs_from_the_graph(loss, blobs):
    learner = PAL(loss=loss, graph_weight=0.5, hidden=(32,), dim=8, pretrain="on",
                  pretrain_steps=50, device="cpu")
    model = learner.fit(blobs, labelled_graph(blobs, 0.3), seed=0)
    assert accuracy(model, blobs) > 0.85
    assert model.embed(blobs.X).shape == (blobs.n_pool, 8)


def test_pal_is_repeatable_on_cpu_cached_or_not(blobs):
    """The second fit of a run starts from the cached pretraining; it must give what a fresh
    process (nothing cached) gives."""
    learner = PAL(hidden=(16,), dim=4, pretrain="on", pretrain_steps=30, graph_weight=0.3,
                  epochs=5, device="cpu")
    graph = labelled_graph(blobs, 0.2)
    forget()
    first = learner.fit(blobs, graph, seed=3)
    again = learner.fit(blobs, graph, seed=3)
    assert first.pretrain_seconds > 0 and again.pretrain_seconds == 0
    np.testing.assert_array_equal(first.embed(blobs.X_test), again.embed(blobs.X_test))


def test_pretraining_is_cached_on_disk_and_a_damaged_entry_is_recomputed(blobs, tmp_path):
    learner = PAL(hidden=(16,), dim=4, pretrain="on", pretrain_steps=20, epochs=2,
                  cache_dir=str(tmp_path), device="cpu")
    graph = labelled_graph(blobs, 0.2)
    forget()
    reference = learner.fit(blobs, graph, seed=1).embed(blobs.X_test)
    (entry,) = tmp_path.glob("pal-pretrain-*.pt")
    forget()
    cached = learner.fit(blobs, graph, seed=1)
    assert cached.pretrain_seconds == 0  # read from the folder
    np.testing.assert_array_equal(cached.embed(blobs.X_test), reference)
    entry.write_bytes(b"not a torch file")
    forget()
    recomputed = learner.fit(blobs, graph, seed=1)
    assert recomputed.pretrain_seconds > 0
    np.testing.assert_array_equal(recomputed.embed(blobs.X_test), reference)


def test_a_cache_entry_of_other_parameters_is_refused(blobs, tmp_path):
    import torch

    learner = PAL(hidden=(16,), dim=4, pretrain="on", pretrain_steps=5, epochs=1,
                  cache_dir=str(tmp_path), device="cpu")
    forget()
    learner.fit(blobs, labelled_graph(blobs, 0.2), seed=1)
    (entry,) = tmp_path.glob("pal-pretrain-*.pt")
    torch.save({"key": "another", "state": {}}, entry)
    forget()
    with pytest.raises(ConfigError, match="other code or parameters"):
        learner.fit(blobs, labelled_graph(blobs, 0.2), seed=1)


def test_pal_pretrains_on_image_augmentations(digits):
    """On images the encoder pretrains on crops and affine jitter of the pool (no flips for
    digits) and the class head then beats the same network trained without pretraining."""
    graph = labelled_graph(digits, 0.02)

    def fit(pretrain):
        return PAL(pretrain=pretrain, pretrain_steps=300, device="cpu").fit(digits, graph,
                                                                            seed=0)

    assert resolve("auto", digits) == "crop"
    pretrained, plain = fit("auto"), fit("off")
    assert pretrained.pretrain_seconds > 0 and plain.pretrain_seconds == 0
    assert accuracy(pretrained, digits) > accuracy(plain, digits)


@pytest.mark.parametrize("table,field,why", [
    ({"augment": "crop"}, "learner.augment", "need an image dataset"),
    ({"augment": "rotate"}, "learner.augment", "must be one of"),
    ({"encoder": "transformer"}, "learner.encoder", "must be"),
    ({"pretrain": "always"}, "learner.pretrain", "must be"),
])
def test_bad_pal_settings_are_one_line(table, field, why, blobs):
    with pytest.raises(ConfigError, match=why) as caught:
        learner = build(PAL, table, "learner")
        learner.validate_data(blobs, "learner")
    assert str(caught.value).startswith(field)


def test_an_unwritable_cache_folder_is_a_config_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ConfigError, match="cannot write the cache folder"):
        build(PAL, {"cache_dir": str(blocker / "cache")}, "learner")


def test_pal_cnn_encoder_learns_on_images(digits):
    """The CNN encoder is built for images and its training helps: 30 epochs on the known
    samples beat the same network after one."""
    graph = labelled_graph(digits, 0.1)

    def fit(epochs):
        return PAL(encoder="cnn", epochs=epochs, min_steps=0, hidden=(32,), dim=8,
                   pretrain="off", device="cpu").fit(digits, graph, seed=0)

    trained, untrained = fit(30), fit(1)
    assert any(type(m).__name__ == "Conv2d" for m in trained.net.modules())
    assert trained.predict_proba(digits.X_test[:5]).shape == (5, 10)
    assert accuracy(trained, digits) > accuracy(untrained, digits) + 0.1


def test_cnn_on_vectors_is_a_config_error(blobs):
    with pytest.raises(ConfigError, match="needs an image dataset"):
        build(PAL, {"encoder": "cnn"}, "learner").validate_data(blobs, "learner")


def test_minibatches_contain_known_positive_pairs():
    roots = np.arange(1000)
    roots[:20] = 0  # one component of 20 samples among 980 singletons
    batch = BatchSampler(roots).draw(64, 0.5, np.random.default_rng(0))
    assert len(np.unique(batch)) == len(batch) <= 64
    assert (roots[batch] == 0).sum() >= 2


def test_kernel_pal_with_the_full_graph_separates_the_rings():
    data = Circles(n_samples=400, n_classes=4, noise=0.1).prepare("circles", "dataset")
    graph = labelled_graph(data, 1.0)
    model = KernelPAL(sigma=0.2, lam=1e-3, n_eigen=5).fit(data, graph, seed=0)
    assert accuracy(model, data) > 0.95 and probe_accuracy(model, data) > 0.95
    assert model.embed(data.X_test).shape == (len(data.X_test), 5)


def test_kernel_pal_refuses_large_pools(digits):
    learner = build(KernelPAL, {}, "learner")
    learner.validate_data(digits, "learner")  # 1,348 samples: fine
    big = Circles(n_samples=8000).prepare("circles", "dataset")
    with pytest.raises(ConfigError, match="at most 5000"):
        learner.validate_data(big, "learner")


@pytest.mark.gpu
def test_pal_trains_on_cuda(blobs):
    import torch

    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    model = PAL(pretrain="on", graph_weight=0.5, device="auto").fit(
        blobs, labelled_graph(blobs, 0.3), seed=0)
    assert model.device.type == "cuda" and accuracy(model, blobs) > 0.85


def test_pal_at_its_defaults_keeps_up_with_mlp_on_the_same_answers(digits):
    """The check before any pairs-versus-labels claim: the pal learner and a plain mlp fitted on
    the very same frozen answers (pal_ordered asking exact pair questions on digits). palbench
    0.1's pal scored 0.13-0.34 here where the mlp scored 0.58-0.84; pal must now be at least
    level (3 seeds: within 0.02 of the mlp's mean at every budget)."""
    from palbench.learners.supervised import MLP
    from palbench.perf.same_answers import frozen_graphs

    budgets, seeds = [60.0, 240.0], [0, 1, 2]
    graphs = frozen_graphs(digits, "pal_ordered", "exact_pair", budgets, seeds, batch=30)
    for budget in budgets:
        means = {}
        for name, learner in (("mlp", MLP(device="cpu")), ("pal", PAL(device="cpu"))):
            means[name] = np.mean([accuracy(learner.fit(digits, graphs[s, budget], seed=s),
                                            digits) for s in seeds])
        assert means["pal"] >= means["mlp"] - 0.02, (budget, means)


@pytest.mark.parametrize("settings", [
    dict(encoder="cnn", hidden=(16,), dim=6, pretrain="off"),  # images: conv, pool, head
    dict(encoder="mlp", hidden=(12,), dim=4, pretrain="on", pretrain_steps=10),  # pretrained
])
def test_pal_fits_of_several_cells_together_are_each_cell_s_fit_alone(settings, digits):
    """fit_batch trains the cells' encoders and heads as one batched model: each model is the
    one its own fit gives (weights and predictions equal), an empty labelled set included."""
    import torch

    from palbench.bench.threads import single_threaded

    learner = PAL(epochs=2, min_steps=4, device="cpu", **settings)
    graphs = [labelled_graph(digits, f, seed=s) for s, f in ((0, 0.05), (1, 0.02), (2, 0.08))]
    graphs.append(SimilarityGraph(digits.n_pool, digits.n_classes))  # nothing known yet
    seeds = [5, 6, 7, 8]
    forget()
    with single_threaded():
        together = learner.fit_batch(digits, graphs, seeds=seeds)
        alone = [learner.fit(digits, g, seed=s) for g, s in zip(graphs, seeds)]
    assert learner.batches_fits(digits)
    for a, b in zip(together, alone):
        assert type(a) is type(b)
        np.testing.assert_array_equal(a.predict_proba(digits.X_test),
                                      b.predict_proba(digits.X_test))
        for p, q in zip(a.net.parameters(), b.net.parameters()):
            assert torch.equal(p, q)


def test_pal_with_the_graph_loss_fits_one_cell_after_another(blobs):
    """The graph loss draws each cell's minibatches of relations from its own graph: those
    fits are not batched, and the executor runs such cells alone."""
    learner = PAL(graph_weight=0.5, hidden=(8,), dim=4, epochs=2, device="cpu")
    assert not learner.batches_fits(blobs) and PAL().batches_fits(blobs)
    graphs = [labelled_graph(blobs, 0.2, seed=s) for s in (0, 1)]
    together = learner.fit_batch(blobs, graphs, seeds=[0, 1])
    for graph, seed, model in zip(graphs, (0, 1), together):
        alone = learner.fit(blobs, graph, seed=seed)
        np.testing.assert_array_equal(model.predict_proba(blobs.X_test),
                                      alone.predict_proba(blobs.X_test))
