"""Certified lower bounds (ccsolve.bounds) against brute-force moments, closed forms and real weights."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import ccsolve as cc
from ccsolve import bounds, constructions
from reference import brute_force_loss, naive_weights


def _random_mixing(n, kind, seed):
    if kind == "clean":
        return cc.mixing.clean(n)
    if kind == "embedding":
        return cc.mixing.embedding(n, 3 * n, seed=seed)
    if kind == "symmetric":
        return cc.mixing.random(n, 0.2, seed=seed, symmetric=True)
    return cc.mixing.random(n, 0.2, seed=seed)


@pytest.mark.parametrize("p", [0.05, 0.4, 1.0])
def test_second_moment_against_monte_carlo(p):
    # E[y y^T] / p entry by entry from plain NumPy samples, within 4 SE (the SE of each entry's mean)
    n, n_s = 5, 400_000
    m = cc.mixing.random(n, 0.5, seed=7)
    rng = np.random.default_rng(3)
    x = rng.uniform(-1, 1, (n_s, n)) * (rng.random((n_s, n)) < p)
    y = np.maximum(x, 0) + x @ m.T
    prod = y[:, :, None] * y[:, None, :] / p
    mean, se = prod.mean(axis=0), prod.std(axis=0, ddof=1) / np.sqrt(n_s)
    got = bounds.second_moment(cc.Task(m, 2, p))
    assert np.all(np.abs(got - mean) < 4 * se + 1e-12)


def test_second_moment_one_hot_against_monte_carlo():
    n, n_s = 5, 400_000
    m = cc.mixing.random(n, 0.5, seed=8)
    rng = np.random.default_rng(4)
    x = np.zeros((n_s, n))
    x[np.arange(n_s), rng.integers(0, n, n_s)] = rng.uniform(-1, 1, n_s)
    y = np.maximum(x, 0) + x @ m.T
    # one-hot: the p -> 0 limit of E[y y^T] / p is n E_one_hot[y y^T] (one feature active instead of n p)
    prod = n * y[:, :, None] * y[:, None, :]
    mean, se = prod.mean(axis=0), prod.std(axis=0, ddof=1) / np.sqrt(n_s)
    got = bounds.second_moment(cc.Task(m, 2, one_hot=True))
    assert np.all(np.abs(got - mean) < 4 * se + 1e-12)


@given(n=st.integers(2, 12), frac=st.floats(0.05, 0.95), seed=st.integers(0, 10_000),
       kind=st.sampled_from(["random", "symmetric", "embedding"]))
def test_one_hot_limit_is_eckart_young(n, frac, seed, kind):
    m = _random_mixing(n, kind, seed)
    d = max(1, int(frac * n))
    ey = cc.one_hot_lower_bound(m, d)  # singular values of [I + M, -M]: an independent computation
    assert bounds.subspace_bound(cc.Task(m, d, one_hot=True)).value == pytest.approx(ey, rel=1e-9, abs=1e-12)
    # the Bernoulli bound is continuous in p and tends to the one-hot one
    assert bounds.subspace_bound(cc.Task(m, d, 1e-9)).value == pytest.approx(ey, rel=1e-6, abs=1e-10)


@given(n=st.integers(2, 40), frac=st.floats(0.0, 1.0), p=st.floats(1e-4, 1.0))
def test_clean_closed_form(n, frac, p):
    # M = 0: E[y y^T]/p = (1/6 - p/16) I + (p/16) 1 1^T, so the n - d smallest eigenvalues are 1/6 - p/16
    d = max(1, min(n, int(round(frac * n))))
    got = bounds.subspace_bound(cc.Task(cc.mixing.clean(n), d, p)).value
    assert got == pytest.approx((n - d) * (1 / 6 - p / 16) / n, rel=1e-9, abs=1e-13)
    one_hot = bounds.subspace_bound(cc.Task(cc.mixing.clean(n), d, one_hot=True)).value
    assert one_hot == pytest.approx((n - d) / (6 * n), rel=1e-12)


def test_clean_one_hot_is_tight_at_naive():
    # 1/12 for d = n/2: the naive model reaches it exactly, so the bound cannot be improved there
    task = cc.Task(cc.mixing.clean(100), 50, one_hot=True)
    b = bounds.lower_bound(task)
    assert b.value == pytest.approx(1 / 12, rel=1e-12)
    assert cc.naive_loss(task) == pytest.approx(1 / 12, rel=1e-12)


@given(n=st.integers(3, 8), frac=st.floats(0.2, 0.8), seed=st.integers(0, 10_000),
       kind=st.sampled_from(["random", "symmetric", "embedding", "clean"]))
def test_one_hot_never_above_any_weights(n, frac, seed, kind):
    # exact one-hot losses: random, naive, SNMF and the best of minimize_one_hot
    m = _random_mixing(n, kind, seed)
    d = max(1, int(frac * n))
    task = cc.Task(m, d, one_hot=True)
    b = bounds.lower_bound(task).value
    rng = np.random.default_rng(seed)
    tol = 1e-10
    assert b <= cc.one_hot_loss(cc.Weights(rng.normal(size=(d, n)), rng.normal(size=(n, d))), m) + tol
    assert b <= cc.naive_loss(task) + tol
    assert b <= cc.one_hot_loss(constructions.snmf(task, seed=seed).weights, m) + tol
    best = constructions.minimize_one_hot(task, init=["svd", "random"], seed=seed, max_iter=300)
    assert b <= cc.one_hot_loss(best.weights, m) + tol


@given(n=st.integers(3, 7), frac=st.floats(0.2, 0.8), p=st.floats(0.02, 1.0), seed=st.integers(0, 10_000),
       kind=st.sampled_from(["random", "symmetric", "embedding"]))
def test_bernoulli_never_below_loss_minus_4se(n, frac, p, seed, kind):
    # L/p of real weights by plain NumPy Monte Carlo (tests/reference.py): bound <= value + 4 SE
    m = _random_mixing(n, kind, seed)
    d = max(1, int(frac * n))
    task = cc.Task(m, d, p)
    b = bounds.subspace_bound(task).value
    n_s = int(min(60_000, 6_000 / (n * p) + 6_000))
    assert b <= cc.naive_loss(task) + 1e-12  # exact closed form
    rng = np.random.default_rng(seed)
    cands = [(0.5 * rng.normal(size=(d, n)), 0.5 * rng.normal(size=(n, d))), naive_weights(n, d, offset=0.05)]
    one_hot_best = constructions.minimize_one_hot(task.as_one_hot(), init=["svd"], max_iter=200).weights
    cands.append((one_hot_best.W_in, one_hot_best.W_out))
    # the eigenvector construction: W_in = W_out^T = top-d eigenvectors of E[y y^T] (a linear-ish model)
    ev, vec = np.linalg.eigh(bounds.second_moment(task))
    q = vec[:, -d:]
    cands.append((q.T, q))
    for k, (w_in, w_out) in enumerate(cands):
        val, se = brute_force_loss(w_in, w_out, m, p, n_s, seed=seed + k)
        assert b <= val + 4 * se


def test_trained_weights_above_bound():
    # a short training run on the embedding task at p = 0.05 (stratified loss with its stderr)
    m = cc.mixing.embedding(20, 60, seed=2)
    task = cc.Task(m, 10, 0.05)
    res = cc.train(task, steps=400, batch_size=256, lr=1e-2, seed=0, progress=False)
    est = cc.loss_per_feature(res.weights, task, method="stratified", n_samples=1 << 15, seed=1)
    b = bounds.lower_bound(task)
    assert b.value <= est.value + 4 * est.stderr
    # a non-trivial check: training got within a factor 2 of the bound (so the bound is not vacuous)
    assert est.value < 2.0 * b.value


def test_result_dataclass_and_errors():
    task = cc.Task(cc.mixing.random(6, 0.1, seed=0), 3, 0.1)
    b = bounds.lower_bound(task)
    d = b.to_dict()
    assert d["name"] == "subspace" and d["p"] == 0.1 and d["value"] == b.value
    assert "value=" in repr(b) and "subspace" in repr(b)
    assert set(d["details"]["all_bounds"]) == set(bounds.BOUNDS)
    assert float(b) == b.value
    assert bounds.subspace_bound(task.as_one_hot()).p is None
    # d >= n: nothing is discarded, the bound is 0
    assert bounds.subspace_bound(cc.Task(cc.mixing.random(4, 0.3, seed=1), 4, 0.5)).value == 0.0
    with pytest.raises(TypeError, match="task"):
        bounds.subspace_bound(np.eye(3))
    with pytest.raises(TypeError, match="task"):
        bounds.lower_bound("task")
