"""Stratified evaluation: exact pair integrals, their gradients, the stratified estimator and loss curves,
against independent references (tensor-grid quadrature, finite differences, brute-force NumPy sampling,
closed forms)."""

import numba
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import ccsolve as cc
from ccsolve import constructions, stratified
from reference import brute_force_loss

N, D = 20, 10


def _weights(seed, n=N, d=D, s_in=0.6, s_out=0.4):
    rng = np.random.default_rng(seed)
    return cc.Weights(rng.normal(size=(d, n)) * s_in, rng.normal(size=(n, d)) * s_out)


def _grid_pair(w, m, i, j, g):
    """Midpoint rule on a g x g grid of E||y_hat - y||^2 with features i, j active (plain NumPy)."""
    xs = (np.arange(g) + 0.5) / g * 2.0 - 1.0
    total = 0.0
    for s in np.array_split(xs, 8):
        ss, tt = np.meshgrid(s, xs, indexing="ij")
        ss, tt = ss.ravel(), tt.ravel()
        h = np.maximum(np.outer(w.W_in[:, i], ss) + np.outer(w.W_in[:, j], tt), 0.0)
        e = w.W_out @ h - np.outer(m[:, i], ss) - np.outer(m[:, j], tt)
        e[i] -= np.maximum(ss, 0.0)
        e[j] -= np.maximum(tt, 0.0)
        total += np.sum(e * e)
    return total / g**2


def _brute_stratum(w, m, k, n_samples, seed):
    """Plain NumPy E[||y_hat - y||^2 | k uniform active features]: (mean, stderr)."""
    rng = np.random.default_rng(seed)
    n = m.shape[0]
    idx = np.argsort(rng.random((n_samples, n)), axis=1)[:, :k]
    x = np.zeros((n_samples, n))
    np.put_along_axis(x, idx, rng.uniform(-1.0, 1.0, (n_samples, k)), axis=1)
    e = np.maximum(x @ w.W_in.T, 0.0) @ w.W_out.T - np.maximum(x, 0.0) - x @ m.T
    f = np.sum(e * e, axis=1)
    return f.mean(), f.std(ddof=1) / np.sqrt(n_samples)


# ------------------------------------------------------------------------------------------ pair integral


def test_pair_errors_against_tensor_grid():
    m = cc.mixing.random(N, 0.2, seed=1)
    w = _weights(2)  # dense, both signs: many sectors per pair
    exact = stratified.pair_errors(w, m)
    assert np.allclose(exact, exact.T) and np.all(np.diag(exact) == 0)
    for i, j in [(3, 17), (12, 5)]:
        grid = _grid_pair(w, m, i, j, 800)
        # midpoint rule, O(h^2) with h = 2/800; the kinks along the neurons' lines keep it O(h^2)
        assert abs(exact[i, j] - grid) < 2e-5 * max(1.0, grid), (i, j, exact[i, j], grid)


def test_pair_loss_is_mean_of_pairs_and_matches_two_active_sampling():
    m = cc.mixing.embedding(N, 60, seed=3)
    w = _weights(4)
    e2 = stratified.pair_loss(w, m)
    ref, se = _brute_stratum(w, m, 2, 200_000, seed=5)
    assert abs(e2 - ref) < 4 * se
    pe = stratified.pair_errors(w, m)
    assert np.isclose(e2, pe[np.triu_indices(N, 1)].mean(), rtol=1e-12)


@given(n=st.integers(2, 12), frac=st.floats(0.0, 1.0))
def test_pair_loss_naive_clean_closed_form(n, frac):
    # naive on the first f features, clean labels: a pair costs 0, 1/6 or 1/3 by how many are unrepresented
    f = int(round(frac * n))
    d = max(f, 1)
    task = cc.Task(cc.mixing.clean(n), d, 0.1)
    w = constructions.naive(task, features=np.arange(f))
    u = n - f
    expected = (u * (u - 1) / 2 / 3 + f * u / 6) / (n * (n - 1) / 2)
    assert np.isclose(stratified.pair_loss(w, task.mixing), expected, rtol=1e-12, atol=1e-15)


@given(seed=st.integers(0, 1000), scale=st.floats(0.1, 10.0))
def test_pair_loss_neuron_rescaling_invariance(seed, scale):
    # ReLU is positively homogeneous: W_in row a * c, W_out column a / c gives the same network
    w = _weights(seed, n=8, d=5)
    m = cc.mixing.random(8, 0.2, seed=seed + 1)
    w_in, w_out = w.W_in.copy(), w.W_out.copy()
    w_in[2] *= scale
    w_out[:, 2] /= scale
    perm = np.random.default_rng(seed).permutation(5)
    w2 = cc.Weights(w_in[perm], w_out[:, perm])
    assert np.isclose(stratified.pair_loss(w, m), stratified.pair_loss(w2, m), rtol=1e-10)


def _fd_check(fun, w, m, h=1e-6):
    value, g_in, g_out = fun(w, m, grad=True)
    assert value == fun(w, m)
    num_in = np.zeros_like(g_in)
    num_out = np.zeros_like(g_out)
    rng = np.random.default_rng(0)
    checked = [np.zeros(g_in.shape, bool), np.zeros(g_out.shape, bool)]
    for arr, num, which in ((w.W_in, num_in, 0), (w.W_out, num_out, 1)):
        cells = list(np.ndindex(arr.shape))
        for c in rng.choice(len(cells), 12, replace=False):  # a random subset keeps the test fast
            idx = cells[c]
            checked[which][idx] = True
            plus, minus = [w.W_in.copy(), w.W_out.copy()], [w.W_in.copy(), w.W_out.copy()]
            plus[which][idx] += h
            minus[which][idx] -= h
            num[idx] = (fun(cc.Weights(*plus), m) - fun(cc.Weights(*minus), m)) / (2 * h)
    scale = max(np.abs(g_in).max(), np.abs(g_out).max())
    checked_in, checked_out = checked
    assert np.abs(num_in - g_in)[checked_in].max() < 1e-6 * scale
    assert np.abs(num_out - g_out)[checked_out].max() < 1e-6 * scale


@pytest.mark.parametrize("fun", [stratified.pair_loss, stratified.single_loss])
def test_gradients_against_finite_differences(fun):
    w = _weights(6, n=7, d=4)
    m = cc.mixing.random(7, 0.2, seed=7)
    _fd_check(fun, w, m)


def test_single_loss_is_one_hot_loss():
    m = cc.mixing.random(N, 0.1, seed=8)
    w = _weights(9)
    assert np.isclose(stratified.single_loss(w, m), cc.one_hot_loss(w, m), rtol=1e-12)


# ------------------------------------------------------------------------------------------ strata


def test_stratum_losses_against_brute_force():
    m = cc.mixing.random(N, 0.15, seed=10)
    w = _weights(11)
    task = cc.Task(m, D, 0.1)
    est = stratified.stratum_losses(w, task, k_max=N, n_samples=20_000, seed=12)
    assert est.ks.tolist() == list(range(1, N + 1))
    assert est.stderrs[0] == est.stderrs[1] == 0
    for k in (3, 7, N):
        ref, se = _brute_stratum(w, m, k, 60_000, seed=13 + k)
        val, err = est.values[k - 1], est.stderrs[k - 1]
        assert 0 < err and abs(val - ref) < 4 * np.hypot(err, se), (k, val, ref)
    # the bound used for truncation holds for every stratum
    assert np.all(est.values <= est.slope * est.ks)


def test_naive_strata_are_additive_and_exact():
    # clean naive: errors of distinct features add, so E_k = k E_1 and the control variate removes all noise
    task = cc.Task(cc.mixing.clean(N), D, 0.1)
    w = constructions.naive(task)
    est = stratified.stratum_losses(w, task, k_max=8, n_samples=2000, seed=1)
    assert np.allclose(est.values, est.ks * (N - D) / (6 * N), rtol=1e-10)
    assert np.all(est.stderrs < 1e-8)  # rounding only (a typical stderr is ~1e-3)


@pytest.mark.parametrize("p", [0.001, 0.01, 0.1, 1.0])
def test_stratified_against_brute_force_monte_carlo(p):
    m = cc.mixing.random(N, 0.15, seed=20)
    w = _weights(21)
    task = cc.Task(m, D, p)
    est = cc.loss_per_feature(w, task, method="stratified", tol=2e-3, seed=22)
    assert est.method == "stratified" and est.details["stat_stderr"] <= 2.5e-3
    n_s = int(min(300_000, 20_000 / (N * p) + 20_000))
    ref = brute_force_loss(w.W_in, w.W_out, m, p, n_s, seed=23)
    assert abs(est.value - ref[0]) < 4 * np.hypot(est.stderr, ref[1])


@pytest.mark.parametrize("p", [0.001, 0.01, 0.1, 1.0])
def test_stratified_naive_offset_closed_form(embedding_m, p):
    task = cc.Task(embedding_m, 50, p)
    w = constructions.naive_offset(task, offset=0.02)
    est = cc.loss_per_feature(w, task, method="stratified", tol=2e-4, seed=24)
    assert est.details["truncation_bound"] < 1e-5
    assert abs(est.value - cc.naive_offset_loss(task, 0.02)) < 4 * est.stderr


def test_exact_method_at_tiny_p_and_its_refusal():
    m = cc.mixing.embedding(N, 60, seed=25)
    task = cc.Task(m, D, 1e-6)
    w = constructions.naive_offset(task, offset=0.03)
    est = cc.loss_per_feature(w, task, method="exact", tol=1e-6)
    assert est.method == "exact" and est.stderr <= 1e-6
    assert abs(est.value - cc.naive_offset_loss(task, 0.03)) <= est.stderr + 1e-12
    with pytest.raises(ValueError, match="tol"):
        cc.loss_per_feature(w, task.with_p(0.1), method="exact", tol=1e-6)


def test_auto_choices():
    m = cc.mixing.random(N, 0.1, seed=26)
    w = _weights(27)
    assert cc.loss_per_feature(w, cc.Task(m, D, one_hot=True), method="auto").method == "exact"
    assert cc.loss_per_feature(w, cc.Task(m, D, 1e-9), method="auto", tol=1e-6).method == "exact"
    assert cc.loss_per_feature(w, cc.Task(m, D, 0.05), method="auto", tol=1e-3).method == "stratified"
    big = cc.loss_per_feature(w, cc.Task(m, D, 0.8), method="stratified", tol=3e-3)
    assert big.method == "stratified" and big.details["stat_stderr"] < 3.6e-3
    mc = cc.loss_per_feature(w, cc.Task(m, D, 0.8), method="auto", tol=3e-3)
    assert mc.method == "monte_carlo" and mc.stderr < 3.6e-3
    assert abs(mc.value - big.value) < 4 * np.hypot(mc.stderr, big.stderr)


def test_same_seed_same_result_whatever_the_threads():
    m = cc.mixing.random(N, 0.1, seed=28)
    w = _weights(29)
    task = cc.Task(m, D, 0.05)
    old = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        a = cc.loss_per_feature(w, task, method="stratified", n_samples=30_000, seed=5)
        ea = stratified.pair_loss(w, m, grad=True)
        numba.set_num_threads(old)
        b = cc.loss_per_feature(w, task, method="stratified", n_samples=30_000, seed=5)
        eb = stratified.pair_loss(w, m, grad=True)
    finally:
        numba.set_num_threads(old)
    assert a.value == b.value and a.stderr == b.stderr
    assert ea[0] == eb[0] and np.array_equal(ea[1], eb[1]) and np.array_equal(ea[2], eb[2])
    c = cc.loss_per_feature(w, task, method="stratified", n_samples=30_000, seed=6)
    assert c.value != a.value


# ------------------------------------------------------------------------------------------ loss curves


def test_loss_curve_naive_offset_closed_form(embedding_m):
    ps = np.logspace(-3, 0, 12)
    task = cc.Task(embedding_m, 50, 0.1)
    w = constructions.naive_offset(task, offset=0.015)
    curve = cc.loss_curve(w, task, ps, tol=3e-4, seed=30)
    assert len(curve) == 12 and np.array_equal(curve.ps, ps)
    exact = np.array([cc.naive_offset_loss(task.with_p(p), 0.015) for p in ps])
    assert np.all(np.abs(curve.values - exact) < 4 * curve.stderrs)
    assert np.all(curve.stat_stderrs <= 3.6e-4) and np.all(curve.truncation_bounds <= 3e-6)


def test_loss_curve_matches_pointwise_evaluation():
    m = cc.mixing.random(N, 0.15, seed=31)
    w = _weights(32)
    ps = [0.002, 0.03, 0.3, 0.9]
    curve = cc.loss_curve(w, cc.Task(m, D, 0.1), ps, tol=3e-3, seed=33)
    for i, p in enumerate(ps):
        point = cc.loss_per_feature(w, cc.Task(m, D, p), method="stratified", tol=3e-3, seed=34)
        assert abs(curve.values[i] - point.value) < 4 * np.hypot(curve.stderrs[i], point.stderr)
        est = curve.estimate(i)
        assert est.value == curve.values[i] and est.p == p


# ------------------------------------------------------------------------------------------ validation


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (lambda w, t: cc.loss_curve(w, t, []), ValueError, "ps"),
        (lambda w, t: cc.loss_curve(w, t, [0.1, 0.0]), ValueError, "ps"),
        (lambda w, t: cc.loss_curve(w, t, [1.5]), ValueError, "ps"),
        (lambda w, t: cc.loss_curve(w, t, "0.1"), TypeError, "ps"),
        (lambda w, t: cc.loss_curve(w, t, [[0.1]]), ValueError, "ps"),
        (lambda w, t: cc.loss_curve(w, t, [0.1], tol=0.0), ValueError, "tol"),
        (lambda w, t: cc.loss_curve(w, t, [0.1], seed=-1), ValueError, "seed"),
        (lambda w, t: cc.loss_curve(w, "task", [0.1]), TypeError, "task"),
        (lambda w, t: stratified.stratum_losses(w, t, k_max=N + 1), ValueError, "k_max"),
        (lambda w, t: stratified.stratum_losses(w, t, k_max=0), ValueError, "k_max"),
        (lambda w, t: stratified.stratum_losses(w, t, n_samples=1), ValueError, "n_samples"),
        (lambda w, t: stratified.pair_loss(w, t, grad="yes"), TypeError, "grad"),
        (lambda w, t: stratified.pair_loss(w, np.zeros((N + 1, N + 1))), ValueError, "n_features"),
        (lambda w, t: stratified.pair_loss(w, np.zeros((N, N - 1))), ValueError, "square"),
        (lambda w, t: stratified.single_loss(w, t, grad=1), TypeError, "grad"),
        (lambda w, t: cc.loss_per_feature(w, t, method="stratified", tol=-1.0), ValueError, "tol"),
        (lambda w, t: cc.loss_per_feature(w, t.as_one_hot(), method="stratified"), ValueError, "one-hot"),
        (lambda w, t: cc.loss_per_feature(w, t, method="exact"), ValueError, "one-hot"),
        (lambda w, t: cc.loss_per_feature(w, t, method="exact", tol=1e-9), ValueError, "tol"),
    ],
)
def test_validation(call, exc, match):
    task = cc.Task(cc.mixing.clean(N), D, 0.1)
    with pytest.raises(exc, match=match):
        call(_weights(1), task)
