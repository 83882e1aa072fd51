"""The new label strategies against references on small fixed inputs: scikit-activeml's own
implementations (Core-Set, TypiClust) and closed forms (BADGE's gradient embedding, BALD's
mutual information, BatchBALD's joint entropy by enumeration)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from palbench.strategies.badge import badge_select, residuals
from palbench.strategies.bald import JointEntropy, bald_scores, batch_bald_select, entropy
from palbench.strategies.coreset import k_center_greedy
from palbench.strategies.typiclust import typiclust_select

skactiveml = pytest.importorskip("skactiveml")


def gradient_embedding(H: np.ndarray, proba: np.ndarray) -> np.ndarray:
    """BADGE's explicit N x (C * D) embedding: the reference the factored form is held to."""
    r = residuals(proba)
    return (r[:, :, None] * np.asarray(H, dtype=np.float64)[:, None, :]).reshape(len(r), -1)


def squared_distances_to(j: int, r_by_class: np.ndarray, H: np.ndarray,
                         sq_norm: np.ndarray) -> np.ndarray:
    """||g_i - g_j||^2 for every i, from the factors: |g_i|^2 + |g_j|^2 - 2 <r_i,r_j><h_i,h_j>
    (`r_by_class`: the residuals transposed, C x N), as `badge_select` evaluates it."""
    cross = r_by_class.T @ (2.0 * r_by_class[:, j])
    return (sq_norm + sq_norm[j]) - cross * (H @ H[j])


def with_each(joint: JointEntropy, P: np.ndarray) -> np.ndarray:
    """H(batch, y_c) for every candidate c; P is (n_samples, n_candidates, C)."""
    S, n, C = P.shape
    return joint.with_each_flat(P.reshape(S, n * C).astype(np.float32), n, C)


def test_coreset_picks_what_scikit_activeml_picks():
    from skactiveml.pool import CoreSet
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 5))
    labelled = rng.choice(200, 10, replace=False)
    y = np.full(200, np.nan)
    y[labelled] = rng.integers(0, 3, 10)
    theirs = CoreSet(random_state=0).query(X, y, batch_size=12)
    centers = ~np.isnan(y)
    ours = k_center_greedy(X, centers, ~centers, 12, np.random.default_rng(1))
    np.testing.assert_array_equal(ours, theirs)


def test_typiclust_picks_what_scikit_activeml_picks_on_the_same_clustering():
    from skactiveml.pool import TypiClust
    rng = np.random.default_rng(1)
    sizes = [40, 31, 25, 18, 12, 7]  # distinct sizes: no tie between clusters
    X = np.concatenate([rng.normal(loc=6 * c, size=(n, 3)) for c, n in enumerate(sizes)])
    clusters = np.repeat(np.arange(len(sizes)), sizes)

    class Fixed:  # the clustering both implementations are given
        def __init__(self, n_clusters):
            pass

        def fit_predict(self, X):
            return clusters

    y = np.full(len(X), np.nan)
    y[[0]] = 0  # cluster 0 is covered
    theirs = TypiClust(cluster_algo=Fixed, k=5, random_state=0).query(X, y, batch_size=5)
    ours = typiclust_select(X, clusters, ~np.isnan(y), 5, np.random.default_rng(0),
                            neighbours=5, min_cluster_size=1)
    np.testing.assert_array_equal(ours, theirs)
    assert [clusters[i] for i in ours] == [1, 2, 3, 4, 5]  # largest uncovered first


def test_badge_gradient_embedding_is_the_linear_softmax_gradient():
    rng = np.random.default_rng(2)
    H = rng.normal(size=(6, 4))
    W = torch.tensor(rng.normal(size=(3, 4)), requires_grad=True)
    proba = torch.softmax(torch.tensor(H) @ W.T, dim=1).detach().numpy()
    ours = gradient_embedding(H, proba)
    for i in range(6):
        W.grad = None
        logits = torch.tensor(H[i:i + 1]) @ W.T
        pseudo = torch.tensor([int(proba[i].argmax())])
        torch.nn.functional.cross_entropy(logits, pseudo).backward()
        np.testing.assert_allclose(ours[i], W.grad.numpy().ravel(), atol=1e-12)


def test_badge_factored_distances_equal_the_explicit_ones():
    rng = np.random.default_rng(3)
    H = rng.normal(size=(30, 7))
    proba = rng.dirichlet(np.ones(4), size=30)
    G = gradient_embedding(H, proba)
    r = residuals(proba)
    sq_norm = (r * r).sum(1) * (H * H).sum(1)
    for j in (0, 11, 29):
        np.testing.assert_allclose(squared_distances_to(j, np.ascontiguousarray(r.T), H, sq_norm),
                                   ((G - G[j]) ** 2).sum(1), atol=1e-10)
    picks = badge_select(H, proba, np.arange(100, 130), 10, np.random.default_rng(0))
    assert picks[0] == 100 + int(np.argmax((G ** 2).sum(1)))  # the largest gradient first
    assert len(set(picks)) == 10


def test_badge_on_the_whole_pool_picks_only_candidates():
    """Given the pool's rows and the candidates' positions (no copy of the pool), badge picks
    candidates only, the largest candidate gradient first, each once."""
    rng = np.random.default_rng(4)
    H = rng.normal(size=(400, 5)).astype(np.float32)
    proba = rng.dirichlet(np.ones(3), size=400)
    candidates = np.sort(rng.choice(400, 250, replace=False))
    G = gradient_embedding(H, proba)
    for seed in range(5):
        picks = badge_select(H, proba, candidates, 40, np.random.default_rng(seed),
                             rows=candidates)
        assert set(picks) <= set(candidates) and len(set(picks)) == 40
        assert picks[0] == candidates[np.argmax((G[candidates] ** 2).sum(1))]
    everything = badge_select(H, proba, candidates, 400, np.random.default_rng(0),
                              rows=candidates)
    assert sorted(everything) == sorted(candidates)  # k above the candidates: all, once


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_badge_pruned_picks_are_the_unpruned_ones(dtype):
    """Skipping the rows a pick cannot bring nearer changes no pick: a fitted linear model
    on blobs (most gradients near 0, as on real pools), several seeds, k up to the pool.
    The features are multiples of 1/8, so that <h_i, h_j> is exact in either dtype: the
    pruned path's product of the rows it keeps and the full path's product of every row are
    of different shapes, which BLAS may round in another order (docs/reliability.md); with
    exact products the picks must be the same bits, not merely close."""
    from sklearn.datasets import make_blobs
    from sklearn.linear_model import LogisticRegression

    X, y = make_blobs(3000, n_features=6, centers=5, random_state=0)
    X = (np.round(X * 8) / 8).astype(dtype)  # |8x| < 2^7: products and sums of 6 exact
    proba = LogisticRegression(max_iter=500).fit(X[:60], y[:60]).predict_proba(X)
    candidates = np.arange(60, 3000)
    for seed, k in ((0, 50), (1, 300), (2, 2940)):
        pruned, full = (badge_select(X, proba, candidates, k, np.random.default_rng(seed),
                                     rows=candidates, prune=prune) for prune in (True, False))
        assert np.array_equal(pruned, full), (dtype, seed, k)


def test_epig_is_the_kl_of_the_joint_from_its_marginals_and_at_most_bald():
    """EPIG against its definition, E_x* KL[p(y, y*) || p(y) p(y*)], computed the long way
    (the authors' epig_from_probs and the matmul form agreed with these scores to 1e-15 on
    the same inputs when this was written); and, by the data-processing inequality,
    I(y; y*) <= I(y; w): never above BALD."""
    from palbench.strategies.epig import epig_scores

    rng = np.random.default_rng(5)
    S, N, M, C = 12, 40, 9, 3
    P = rng.dirichlet(np.ones(C) * 0.7, size=(S, N + M))
    pool, targets = P[:, :N], P[:, N:]
    joint = np.einsum("snc,smd->nmcd", pool, targets) / S
    indep = pool.mean(0)[:, None, :, None] * targets.mean(0)[None, :, None, :]
    expected = (joint * np.log(joint / indep)).sum(axis=(2, 3)).mean(axis=1)
    ours = epig_scores(pool, targets)
    np.testing.assert_allclose(ours, expected, rtol=1e-10, atol=1e-13)
    assert np.all(ours <= bald_scores(pool) + 1e-12) and np.all(ours >= -1e-12)
    agree = np.repeat(P[:1], S, axis=0)  # every sampled model the same: nothing to learn
    np.testing.assert_allclose(epig_scores(agree[:, :N], agree[:, N:]), 0.0, atol=1e-12)


def float32_rounding_bound(net: torch.nn.Sequential, X: np.ndarray, dropout: float) -> float:
    """How far float32 rounding may move a logit of `net` (its dropout kept at 1/(1-p) on
    every unit): the classic bound for nested dot products, gamma_k * (|W_L| ... |W_1||x|),
    with k the roundings along the longest path (each layer's inner dimension and its bias,
    and the dropout's scaling). Products of another shape (50 rows or 10, another CPU's
    kernel) may round in another order, never further than this."""
    magnitude = torch.as_tensor(np.abs(X), dtype=torch.float64)
    k = 0
    for layer in net:
        if isinstance(layer, torch.nn.Linear):
            magnitude = magnitude @ layer.weight.detach().double().abs().T + \
                layer.bias.detach().double().abs()
            k += layer.in_features + 1
        elif isinstance(layer, torch.nn.Dropout):
            magnitude = magnitude / (1.0 - dropout)
            k += 1
    u = np.finfo(np.float32).eps / 2
    return k * u / (1 - k * u) * float(magnitude.max())


def dropout_masks(model, X: np.ndarray, consistent: bool) -> tuple[np.ndarray, np.ndarray]:
    """sample_proba's outputs and the masks it used: read off the input of the layer after
    the dropout (a dropped unit is 0 there; a unit is known where its ReLU is above 0)."""
    first = next(i for i, m in enumerate(model.net) if isinstance(m, torch.nn.Dropout))
    seen = []
    hook = model.net[first + 1].register_forward_pre_hook(
        lambda _module, args: seen.append(args[0].numpy().copy()))
    try:
        out = model.sample_proba(X, 6, seed=3, consistent=consistent)
    finally:
        hook.remove()
    before = model.embed(X) if first == len(model.net) - 2 else None
    assert before is not None  # one hidden layer: the dropout's input is the embedding
    kept = np.stack(seen) != 0  # (sample, row, unit)
    return out, np.where(before > 0, kept, -1)  # -1: not known (the ReLU gave 0)


def one_mask_per_sample(masks: np.ndarray) -> np.ndarray | None:
    """Each sample's one mask over the units (True: kept), or None when two rows of a sample
    were given different masks."""
    known = masks >= 0
    kept = (masks == 1).any(axis=1)
    dropped = ((masks == 0) & known).any(axis=1)
    return None if (kept & dropped).any() else kept


def test_consistent_dropout_is_one_network_per_sample_whatever_rows_are_asked():
    """EPIG's joint needs sample s to be the same network for candidates and targets: the
    same dropout mask for every row, whichever rows a call asks for. So the outputs are the
    same network's, equal up to float32 rounding: products of 50 rows and of 10 round in
    another order on some CPUs (2e-8 apart with AVX-512 and AMX; docs/reliability.md), never
    further than the rounding bound."""
    from palbench.datasets import DATASETS
    from palbench.graph import SimilarityGraph
    from palbench.learners import LEARNERS

    data = DATASETS.get("blobs")(n_samples=120).prepare("blobs", "dataset")
    graph = SimilarityGraph(len(data.X), int(data.y.max()) + 1)
    graph.add_labels(np.arange(30), data.y[:30])
    model = LEARNERS.get("mlp")(hidden=(16,), dropout=0.3, epochs=3, device="cpu").fit(
        data, graph, seed=0)
    whole, whole_masks = dropout_masks(model, data.X[:50], consistent=True)
    part, part_masks = dropout_masks(model, data.X[20:30], consistent=True)
    per_sample = one_mask_per_sample(whole_masks)
    assert per_sample is not None and (~per_sample).any() and per_sample.any(axis=1).all()
    both = (whole_masks[:, 20:30] >= 0) & (part_masks >= 0)
    assert both.any()
    np.testing.assert_array_equal(whole_masks[:, 20:30][both], part_masks[both])
    bound = float32_rounding_bound(model.net, data.X[:50], 0.3)
    assert 0 < bound < 1e-4
    np.testing.assert_allclose(whole[:, 20:30], part, rtol=0, atol=bound)
    loose, loose_masks = dropout_masks(model, data.X[:50], consistent=False)
    assert one_mask_per_sample(loose_masks) is None  # a mask per row: not one network
    assert np.abs(loose[:, 20:30] - part).max() > 1000 * bound


def test_bald_scores_equal_the_closed_form():
    disagree = np.array([[[1.0, 0.0]], [[0.0, 1.0]]])  # two sure samples that disagree
    agree = np.array([[[0.5, 0.5]], [[0.5, 0.5]]])  # unsure, but every sample agrees
    assert bald_scores(disagree)[0] == pytest.approx(np.log(2))
    assert bald_scores(agree)[0] == pytest.approx(0.0)
    p = np.array([[[0.9, 0.1]], [[0.3, 0.7]], [[0.6, 0.4]]])
    mean = np.array([0.6, 0.4])
    expected = -(mean * np.log(mean)).sum() + np.mean(
        [(q * np.log(q)).sum() for q in p[:, 0]])
    assert bald_scores(p)[0] == pytest.approx(expected)


def brute_joint_entropy(samples: np.ndarray, rows: list[int]) -> float:
    """H(y_rows) by enumerating every label configuration."""
    S, _, C = samples.shape
    total = 0.0
    for config in itertools.product(range(C), repeat=len(rows)):
        p = np.mean([np.prod([samples[s, r, c] for r, c in zip(rows, config)])
                     for s in range(S)])
        total -= p * np.log(p)
    return total


def test_batch_bald_exact_joint_entropy_matches_enumeration():
    rng = np.random.default_rng(4)
    samples = rng.dirichlet(np.ones(3), size=(5, 6))  # 5 samples, 6 points, 3 classes
    joint = JointEntropy(5, n_configs=10_000, rng=rng)
    for picked in ([], [2], [2, 4]):
        if picked:
            joint.add(samples[:, picked[-1]])
        got = with_each(joint, samples)
        for c in range(6):
            assert got[c] == pytest.approx(brute_joint_entropy(samples, picked + [c]), rel=1e-5)


def test_batch_bald_sampled_estimate_is_close_to_exact():
    rng = np.random.default_rng(5)
    samples = rng.dirichlet(np.ones(10) * 0.5, size=(8, 6))
    exact, sampled = JointEntropy(8, 100_000, rng), JointEntropy(8, 3000, rng)
    for j in (0, 1, 2, 3):  # 10^4 configurations: the second draws 3,000 of them
        exact.add(samples[:, j])
        sampled.add(samples[:, j])
    assert exact.exact and not sampled.exact
    np.testing.assert_allclose(with_each(sampled, samples), with_each(exact, samples), atol=0.05)


def test_batch_bald_first_pick_is_bald_and_mutual_information_adds_up():
    rng = np.random.default_rng(6)
    samples = rng.dirichlet(np.ones(4), size=(10, 40))
    picks, gains = batch_bald_select(samples, 3, 10_000, rng)
    assert picks[0] == np.argmax(bald_scores(samples))
    rows = list(picks)
    mi = brute_joint_entropy(samples, rows) - entropy(samples[:, rows]).mean(0).sum()
    assert gains[-1] == pytest.approx(mi, rel=1e-4)
