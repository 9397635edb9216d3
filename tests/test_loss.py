"""The Monte Carlo evaluator against closed forms and an independent brute-force sampler."""

import numba
import numpy as np
import pytest

import ccsolve as cc
from ccsolve import constructions
from ccsolve.evaluation.montecarlo import DENSE_P, dense_numpy_loss
from reference import brute_force_loss

N, D = 30, 12


def _random_weights(seed, n=N, d=D, scale=0.5):
    rng = np.random.default_rng(seed)
    return cc.Weights(rng.normal(size=(d, n)) * scale, rng.normal(size=(n, d)) * scale)


@pytest.mark.parametrize("p", [0.003, 0.05, 0.2, DENSE_P, 0.7, 1.0])
def test_monte_carlo_against_brute_force(p):
    m = cc.mixing.random(N, 0.1, seed=1)
    w = _random_weights(2)
    task = cc.Task(m, D, p)
    n_s = int(min(400_000, 30_000 / (N * p) + 30_000))
    ours = cc.loss_per_feature(w, task, n_samples=n_s, seed=3)
    ref = brute_force_loss(w.W_in, w.W_out, m, p, n_s, seed=4)
    assert ours.method == "monte_carlo" and ours.n_samples == n_s
    assert abs(ours.value - ref[0]) < 4 * np.hypot(ours.stderr, ref[1])
    # the standard errors estimate the same quantity
    assert 0.8 < ours.stderr / ref[1] < 1.25


def test_dense_samples_use_direct_path_correctly():
    # many active features per sample exercises the dense-sample branch of the sparse kernel
    import ccsolve.evaluation.montecarlo as L

    m = cc.mixing.random(N, 0.1, seed=1)
    w = _random_weights(5)
    task = cc.Task(m, D, 0.8)
    old = L.DENSE_P
    try:
        L.DENSE_P = 2.0  # force the Numba kernel
        ours = cc.loss_per_feature(w, task, n_samples=100_000, seed=1)
        assert ours.details["path"] == "sparse_numba"
    finally:
        L.DENSE_P = old
    ref = brute_force_loss(w.W_in, w.W_out, m, 0.8, 100_000, seed=2)
    assert abs(ours.value - ref[0]) < 4 * np.hypot(ours.stderr, ref[1])


@pytest.mark.parametrize("p", [0.01, 0.1, 1.0])
def test_monte_carlo_against_closed_form_naive_offset(embedding_m, p):
    task = cc.Task(embedding_m, 50, p)
    w = constructions.naive_offset(task, offset=0.02)
    est = cc.loss_per_feature(w, task, n_samples=400_000, seed=5)
    assert abs(est.value - cc.naive_offset_loss(task, 0.02)) < 4 * est.stderr


def test_one_hot_monte_carlo_and_exact():
    m = cc.mixing.embedding(N, 100, seed=6)
    w = _random_weights(7)
    task = cc.Task(m, D, one_hot=True)
    exact = cc.loss_per_feature(w, task, method="exact")
    assert exact.stderr == 0 and exact.value == cc.one_hot_loss(w, m)
    mc = cc.loss_per_feature(w, task, n_samples=300_000, seed=8)
    assert abs(mc.value - exact.value) < 4 * mc.stderr
    ref = brute_force_loss(w.W_in, w.W_out, m, None, 300_000, seed=9, one_hot=True)
    assert abs(ref[0] - exact.value) < 4 * ref[1]


def test_dense_numpy_baseline_agrees():
    m = cc.mixing.random(N, 0.1, seed=1)
    w = _random_weights(3)
    task = cc.Task(m, D, 0.1)
    a = dense_numpy_loss(w, task, 200_000, seed=1)
    b = brute_force_loss(w.W_in, w.W_out, m, 0.1, 200_000, seed=2)
    assert abs(a.value - b[0]) < 4 * np.hypot(a.stderr, b[1])


@pytest.mark.parametrize("p", [0.01, 1.0])
def test_same_seed_same_estimate_any_thread_count(p):
    task = cc.Task(cc.mixing.random(N, 0.1, seed=1), D, p)
    w = _random_weights(10)
    n_s = 3 * (1 << 15) + 17  # several chunks, ragged last chunk
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = cc.loss_per_feature(w, task, n_samples=n_s, seed=42)
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
        many = cc.loss_per_feature(w, task, n_samples=n_s, seed=42)
    finally:
        numba.set_num_threads(before)
    assert one.value == many.value and one.stderr == many.stderr
    other = cc.loss_per_feature(w, task, n_samples=n_s, seed=43)
    assert other.value != one.value


@pytest.mark.parametrize("p", [0.02, 1.0])
def test_monte_carlo_invariant_under_permutation_and_rescaling(p):
    task = cc.Task(cc.mixing.random(N, 0.1, seed=1), D, p)
    w = _random_weights(11)
    rng = np.random.default_rng(0)
    perm = rng.permutation(D)
    c = rng.uniform(0.2, 5.0, D)
    w2 = cc.Weights(c[perm, None] * w.W_in[perm], w.W_out[:, perm] / c[perm])
    a = cc.loss_per_feature(w, task, n_samples=50_000, seed=3)
    b = cc.loss_per_feature(w2, task, n_samples=50_000, seed=3)
    # same samples, same function: equal up to rounding
    assert np.isclose(a.value, b.value, rtol=1e-9)


def test_empty_samples_count_in_the_mean():
    # at tiny p almost all samples are empty; the estimate must still be unbiased for L/p
    task = cc.Task(cc.mixing.clean(N), D, 1e-4)
    w = constructions.naive(task)
    est = cc.loss_per_feature(w, task, n_samples=2_000_000, seed=1)
    assert est.details["nonempty_samples"] < 0.01 * est.n_samples
    assert abs(est.value - (N - D) / (6 * N)) < 4 * est.stderr


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        (dict(method="bogus"), ValueError, "method"),
        (dict(n_samples=0), ValueError, "n_samples"),
        (dict(n_samples=1.5), TypeError, "n_samples"),
        (dict(seed=-3), ValueError, "seed"),
        (dict(seed="a"), TypeError, "seed"),
        (dict(method="exact"), ValueError, "one-hot"),
    ],
)
def test_loss_bad_arguments(kwargs, exc, match):
    task = cc.Task(cc.mixing.clean(N), D, 0.1)
    with pytest.raises(exc, match=match):
        cc.loss_per_feature(_random_weights(1), task, **kwargs)


def test_loss_mismatched_sizes():
    task = cc.Task(cc.mixing.clean(N + 1), D, 0.1)
    with pytest.raises(ValueError, match="n_features"):
        cc.loss_per_feature(_random_weights(1), task)
    with pytest.raises(TypeError, match="weights"):
        cc.loss_per_feature((np.zeros((D, N)), np.zeros((N, D))), task)
    with pytest.raises(TypeError, match="task"):
        cc.loss_per_feature(_random_weights(1), np.zeros((N, N)))


def _kernel_arrays(w, m):
    from ccsolve.closed_forms import one_hot_feature_errors

    w_out = np.ascontiguousarray(w.W_out)
    return (
        np.ascontiguousarray(w.W_in.T),
        w_out,
        w_out.T @ w_out,
        np.ascontiguousarray(m.T @ w_out),
        np.ascontiguousarray(m.T),
        m.T @ m,
        *one_hot_feature_errors(w, m),
    )


@pytest.mark.parametrize("n, d", [(30, 12), (10, 30), (100, 50), (20, 70)])  # d > 64: no bit mask
def test_sample_error_equals_the_error_vector_norm(n, d):
    # every branch of the per-sample kernel (one-hot table, k = 2 fused pass, Gram expansion with
    # scattered or vector label terms, direct error vector) against ||W_out ReLU(W_in x) - ReLU(x) - M x||^2
    from ccsolve._kernels import montecarlo as K

    rng = np.random.default_rng(n + d)
    m = rng.normal(0.0, 0.2, (n, n))
    w = cc.Weights(rng.normal(0.0, 0.4, (d, n)), rng.normal(0.0, 0.3, (n, d)))
    arrays = _kernel_arrays(w, m)
    h, act, e = np.empty(d), np.empty(d, dtype=np.int64), np.empty(n)
    lv = K.LABEL_VECTOR_MIN_ACTIVE
    ks = sorted({1, 2, 3, lv - 1, lv, K.GRAM_MAX_ACTIVE, K.GRAM_MAX_ACTIVE + 1, n} & set(range(1, n + 1)))
    for k in ks:
        for _ in range(20):
            idx = np.zeros(n, dtype=np.int64)
            idx[:k] = rng.choice(n, k, replace=False)
            val = np.zeros(n)
            val[:k] = rng.uniform(-1.0, 1.0, k)
            x = np.zeros(n)
            x[idx[:k]] = val[:k]
            err = w.W_out @ np.maximum(w.W_in @ x, 0.0) - np.maximum(x, 0.0) - m @ x
            expected = err @ err
            # _sample_error: the called entry point to the inlined sample_error, same code
            got = K._sample_error(idx, val, k, *arrays, h, act, e)
            assert got == pytest.approx(expected, rel=1e-10, abs=1e-12), k


@pytest.mark.parametrize("p", [0.05, 0.3, 1.0])
def test_dense_inputs_are_independent_bernoulli_uniform(p):
    from ccsolve._kernels.montecarlo import dense_inputs
    from ccsolve._kernels.rng import new_state

    n, b = 40, 50_000
    x = np.full((b, n), np.nan)  # every entry must be written
    dense_inputs(x, np.log1p(-p) if p < 1 else -np.inf, new_state(7))
    assert np.all(np.isfinite(x)) and np.all(x >= -1.0) and np.all(x < 1.0)
    active = x != 0.0
    k = active.sum(axis=1)
    # active count per sample ~ Binomial(n, p): mean and variance (independence across features)
    assert abs(k.mean() - n * p) < 4 * np.sqrt(n * p * (1 - p) / b) + 1e-12
    if p < 1:
        var_se = n * p * (1 - p) * np.sqrt(2.0 / b) * 1.2
        assert abs(k.var(ddof=1) - n * p * (1 - p)) < 4 * var_se
    per_feature = active.mean(axis=0)
    assert np.all(np.abs(per_feature - p) < 5 * np.sqrt(p * (1 - p) / b) + 1e-12)
    vals = x[active]
    assert abs(vals.mean()) < 4 * np.sqrt(1 / 3 / vals.size)
    assert abs((vals**2).mean() - 1 / 3) < 4 * np.sqrt(4 / 45 / vals.size)


def test_dense_numpy_one_hot_matches_exact():
    m = cc.mixing.random(N, 0.1, seed=4)
    w = _random_weights(12)
    task = cc.Task(m, D, one_hot=True)
    est = dense_numpy_loss(w, task, 200_000, seed=3)
    assert est.method == "dense_numpy" and est.p is None
    assert abs(est.value - cc.one_hot_loss(w, m)) < 4 * est.stderr


@pytest.mark.parametrize("batch, exc", [(0, ValueError), (2.5, TypeError)])
def test_dense_numpy_bad_batch(batch, exc):
    task = cc.Task(cc.mixing.clean(N), D, 0.1)
    with pytest.raises(exc, match="batch"):
        dense_numpy_loss(_random_weights(1), task, 100, batch=batch)
