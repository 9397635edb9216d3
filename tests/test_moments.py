"""Exact second moments (ccsolve.evaluation.moments) against independent references: a midpoint-rule quadrature
over every activity pattern (n = 2), long plain-NumPy Monte Carlo within 4 SE (weights of both signs,
several p), the stratified estimator and brute-force sampling of the loss, and finite differences."""

import numpy as np
import pytest

import ccsolve as cc
from ccsolve.evaluation.moments import moments_loss, second_moments


def _mc_moments(w, p, n_samples, seed):
    """Plain NumPy sample means and standard errors of h h^T, h x^T, h ReLU(x)^T, h."""
    rng = np.random.default_rng(seed)
    n = w.shape[1]
    x = rng.uniform(-1, 1, (n_samples, n)) * (rng.random((n_samples, n)) < p)
    h = np.maximum(x @ w.T, 0)
    out = {}
    for name, a, b in (("hh", h, h), ("hx", h, x), ("hr", h, np.maximum(x, 0))):
        prod = a[:, :, None] * b[:, None, :]
        out[name] = (prod.mean(0), prod.std(0) / np.sqrt(n_samples))
    out["h"] = (h.mean(0), h.std(0) / np.sqrt(n_samples))
    return out


@pytest.mark.parametrize("p", [0.5, 1.0])
def test_moments_match_long_monte_carlo(p):
    rng = np.random.default_rng(11)
    w = rng.normal(size=(4, 10)) * 0.6  # both signs
    w[0] = np.abs(w[0])  # one all-positive row, one all-negative row
    w[1] = -np.abs(w[1])
    mom = second_moments(w, p, tol=1e-10)
    ref = _mc_moments(w, p, 200_000, seed=5)
    for name in ("hh", "hx", "hr", "h"):
        mean, se = ref[name]
        got = getattr(mom, name)
        assert np.all(np.abs(got - mean) <= 4 * se + 1e-12), (name, np.max(np.abs(got - mean) / (se + 1e-300)))
        assert np.max(getattr(mom, name + "_err")) < 1e-6


def _quadrature_moments(w, p, g=1200):
    """n = 2: sum over the four activity patterns; the two-active one by a g x g midpoint rule."""
    t = (np.arange(g) + 0.5) / g * 2 - 1
    d = w.shape[0]
    hh, hx, hr = np.zeros((d, d)), np.zeros((d, 2)), np.zeros((d, 2))
    pats = {(0,): p * (1 - p), (1,): p * (1 - p), (0, 1): p * p}
    for act, prob in pats.items():
        if len(act) == 1:
            x = np.zeros((g, 2))
            x[:, act[0]] = t
        else:
            s1, s2 = np.meshgrid(t, t, indexing="ij")
            x = np.stack([s1.ravel(), s2.ravel()], 1)
        h = np.maximum(x @ w.T, 0)
        hh += prob * h.T @ h / len(x)
        hx += prob * h.T @ x / len(x)
        hr += prob * h.T @ np.maximum(x, 0) / len(x)
    return hh, hx, hr


def test_moments_match_quadrature_two_features():
    w = np.array([[0.7, -0.4], [-0.3, -0.9], [0.5, 0.8]])
    p = 0.6
    mom = second_moments(w, p, tol=1e-10)
    hh, hx, hr = _quadrature_moments(w, p)
    # midpoint rule on kinked integrands: error ~ 1 / g^2 ~ 1e-6
    assert np.max(np.abs(mom.hh - hh)) < 1e-5
    assert np.max(np.abs(mom.hx - hx)) < 1e-5
    assert np.max(np.abs(mom.hr - hr)) < 1e-5


def test_loss_matches_stratified_and_brute_force():
    rng = np.random.default_rng(3)
    n, d = 12, 5
    w = cc.Weights(rng.normal(size=(d, n)) * 0.5, rng.normal(size=(n, d)) * 0.4)
    task = cc.Task(rng.normal(size=(n, n)) * 0.05, d, 0.5)
    r = moments_loss(w, task, tol=1e-10)
    assert r.error < 1e-7
    st = cc.loss_per_feature(w, task, method="stratified", n_samples=100_000, seed=2)
    assert abs(r.value - st.value) <= 4 * st.stderr
    mc = cc.loss_per_feature(w, task, method="monte_carlo", n_samples=200_000, seed=4)
    assert abs(r.value - mc.value) <= 4 * mc.stderr


def test_loss_at_small_p_matches_stratified():
    rng = np.random.default_rng(8)
    n, d = 10, 4
    w = cc.Weights(rng.normal(size=(d, n)) * 0.5, rng.normal(size=(n, d)) * 0.4)
    task = cc.Task(rng.normal(size=(n, n)) * 0.05, d, 0.05)
    r = moments_loss(w, task, tol=1e-10)
    st = cc.loss_per_feature(w, task, method="stratified", n_samples=100_000, seed=2)
    assert abs(r.value - st.value) <= 4 * st.stderr + r.error


def test_grad_w_out_matches_finite_differences():
    rng = np.random.default_rng(4)
    n, d = 8, 3
    w = cc.Weights(rng.normal(size=(d, n)) * 0.5, rng.normal(size=(n, d)) * 0.4)
    task = cc.Task(rng.normal(size=(n, n)) * 0.05, d, 0.5)
    r = moments_loss(w, task, tol=1e-11, grad=True)
    eps = 1e-5
    for i, a in [(0, 0), (7, 2)]:
        wp, wm = w.W_out.copy(), w.W_out.copy()
        wp[i, a] += eps
        wm[i, a] -= eps
        fd = (moments_loss(cc.Weights(w.W_in, wp), task, tol=1e-11).value
              - moments_loss(cc.Weights(w.W_in, wm), task, tol=1e-11).value) / (2 * eps)
        assert abs(fd - r.grad_W_out[i, a]) < 1e-6


def test_bad_input():
    task = cc.Task(np.zeros((4, 4)), 2, 0.5)
    w = cc.Weights(np.ones((2, 4)), np.ones((4, 2)))
    with pytest.raises(ValueError, match="one_hot"):
        moments_loss(w, task.as_one_hot())
    with pytest.raises(ValueError, match="tol"):
        moments_loss(w, task, tol=-1.0)
    with pytest.raises(TypeError, match="grad"):
        moments_loss(w, task, grad="yes")
    with pytest.raises(ValueError, match="p"):
        second_moments(np.ones((2, 4)), 0.0)


def test_dead_neuron_gives_zero_rows():
    w = np.array([[0.0, 0.0, 0.0], [0.4, -0.7, 0.2]])
    mom = second_moments(w, 0.8, tol=1e-10)
    assert np.all(mom.hh[0] == 0) and np.all(mom.hx[0] == 0) and mom.h[0] == 0
    assert mom.hh[1, 1] > 0
    # all neurons dead: y_hat = 0, L/p = E||y||^2 / (n p) = (n + 2 tr M + 2 |M|_F^2) / (6 n)
    m = np.diag([0.1, -0.2, 0.0])
    r = moments_loss(cc.Weights(np.zeros((2, 3)), np.ones((3, 2))), cc.Task(m, 2, 0.3), tol=1e-9)
    assert r.value == pytest.approx((3 + 2 * -0.1 + 2 * 0.05) / 18, abs=1e-12)


def test_result_does_not_depend_on_damping_or_period(monkeypatch):
    """The damping c and the period T enter only through the exactly subtracted aliases: other choices
    must give the same moments (a wrong alias term would shift them by O(e^{-cT}))."""
    import ccsolve.evaluation.moments as mm

    rng = np.random.default_rng(2)
    w = rng.normal(size=(3, 9)) * 0.6
    base = second_moments(w, 0.8, tol=1e-11)
    for kappa, margin in ((1.0, 1.02), (4.0, 1.3)):
        monkeypatch.setattr(mm, "KAPPA", kappa)
        monkeypatch.setattr(mm, "T_MARGIN", margin)
        other = second_moments(w, 0.8, tol=1e-11)
        for name in ("hh", "hx", "hr", "h"):
            assert np.max(np.abs(getattr(other, name) - getattr(base, name))) < 1e-9, (name, kappa, margin)


def test_fast_kernels_match_reference_kernels():
    """The table-driven kernels (one_dim_fast, two_dim_fast) against the direct complex-exp ones on the
    same lattice and box (kmin = 2, full box)."""
    from ccsolve._kernels import moments as km

    rng = np.random.default_rng(6)
    w = rng.normal(size=(4, 9)) * 0.6
    w[1, 2] = 0.0  # an exact zero weight (z = 0 factors)
    p = 0.6
    t = 1.02 * np.abs(w).sum(axis=1)
    c = 2.0 / t
    k = np.array([20, 17, 25, 12], dtype=np.int64)
    tc, ts = km.trig_tables(w, t, 25)
    old = km.one_dim(w, p, c, t, k)
    new = km.one_dim_fast(w, p, c, t, k, tc, ts, 2)
    for a, b in zip(old, new):
        assert np.max(np.abs(a - b)) < 1e-12
    ia, ib = np.triu_indices(4, 1)
    ia, ib = ia.astype(np.int64), ib.astype(np.int64)
    ref = km.two_dim(w, p, c, t, k, ia, ib)
    assert np.max(np.abs(km.two_dim_fast(w, p, c, t, k, ia, ib, tc, ts, 2, 0.0)[:, :2] - ref)) < 1e-12


def test_two_dim_fast_zero_column_and_short_table():
    """two_dim_fast against two_dim where a coordinate is 0 in both rows of every pair (alpha_i = 0: the
    guarded factor, z = 0 at m1 = m2 = 0) and where the table is only as wide as the box (k_tab = K: the
    first rows cannot be padded), kmin = 2, full box."""
    from ccsolve._kernels import moments as km

    rng = np.random.default_rng(7)
    w = rng.normal(size=(3, 7)) * 0.7
    w[:, 4] = 0.0
    p = 0.5
    t = 1.02 * np.abs(w).sum(axis=1)
    c = 2.0 / t
    k = np.array([9, 6, 9], dtype=np.int64)
    tc, ts = km.trig_tables(w, t, 9)
    ia, ib = np.triu_indices(3, 1)
    ia, ib = ia.astype(np.int64), ib.astype(np.int64)
    ref = km.two_dim(w, p, c, t, k, ia, ib)
    out = km.two_dim_fast(w, p, c, t, k, ia, ib, tc, ts, 2, 0.0)
    assert np.max(np.abs(out[:, :2] - ref)) < 1e-12 * np.max(np.abs(ref))
    assert np.array_equal(out[:, 2], (k[ia] + 1) * (2 * k[ib] + 1))


def test_low_strata_routes_and_gradients_agree():
    """Stratum 2 inside the Fourier sums ("moments") or from the exact pair stratum ("exact"): same L/p
    and dL/dW_out within the error estimates."""
    rng = np.random.default_rng(9)
    n, d = 12, 4
    w = cc.Weights(rng.normal(size=(d, n)) * 0.5, rng.normal(size=(n, d)) * 0.4)
    task = cc.Task(rng.normal(size=(n, n)) * 0.05, d, 0.25)
    a = moments_loss(w, task, tol=1e-9, grad=True, low_strata="moments")
    b = moments_loss(w, task, tol=1e-9, grad=True, low_strata="exact")
    assert a.details["low_strata"] == "moments" and b.details["low_strata"] == "exact"
    assert abs(a.value - b.value) <= a.error + b.error + 1e-10
    assert np.max(np.abs(a.grad_W_out - b.grad_W_out)) < 1e-7


def test_shorter_period_and_cross_region_do_not_change_result(monkeypatch):
    """The Chernoff-shortened period (T < |w|_1) and the cross-shaped 2-D region against the full period and
    the full box: a wrong alias bound or a too-small region would move the loss."""
    import ccsolve.evaluation.moments as mm

    rng = np.random.default_rng(12)
    n, d = 40, 5
    w = cc.Weights(rng.normal(size=(d, n)) * 0.3, rng.normal(size=(n, d)) * 0.3)
    task = cc.Task(rng.normal(size=(n, n)) * 0.03, d, 0.5)
    fast = moments_loss(w, task, tol=1e-9)
    assert max(fast.details["periods"]) < 0.8 * np.abs(w.W_in).sum(axis=1).min()  # the short period is used
    monkeypatch.setattr(mm, "TAIL_PERIOD", False)
    monkeypatch.setattr(mm, "CROSS_THR", 0.0)
    full = moments_loss(w, task, tol=1e-9)
    assert abs(fast.value - full.value) <= fast.error + full.error + 1e-10


def test_exact_route_gradient_matches_finite_differences():
    rng = np.random.default_rng(5)
    n, d = 8, 3
    w = cc.Weights(rng.normal(size=(d, n)) * 0.5, rng.normal(size=(n, d)) * 0.4)
    task = cc.Task(rng.normal(size=(n, n)) * 0.05, d, 0.15)
    r = moments_loss(w, task, tol=1e-11, grad=True, low_strata="exact")
    eps = 1e-5
    for i, a in [(1, 0), (6, 2)]:
        wp, wm = w.W_out.copy(), w.W_out.copy()
        wp[i, a] += eps
        wm[i, a] -= eps
        fd = (moments_loss(cc.Weights(w.W_in, wp), task, tol=1e-11, low_strata="exact").value
              - moments_loss(cc.Weights(w.W_in, wm), task, tol=1e-11, low_strata="exact").value) / (2 * eps)
        assert abs(fd - r.grad_W_out[i, a]) < 1e-6


def test_loss_per_feature_moments_and_auto_dispatch():
    rng = np.random.default_rng(13)
    n, d = 10, 4
    w = cc.Weights(rng.normal(size=(d, n)) * 0.5, rng.normal(size=(n, d)) * 0.4)
    task = cc.Task(rng.normal(size=(n, n)) * 0.05, d, 0.6)
    est = cc.loss_per_feature(w, task, method="moments", tol=1e-8)
    assert est.method == "moments" and est.n_samples == 0 and est.stderr <= 1e-8
    assert est.value == pytest.approx(moments_loss(w, task, tol=1e-8).value, abs=1e-12)
    mc = cc.loss_per_feature(w, task, method="monte_carlo", n_samples=200_000, seed=3)
    assert abs(est.value - mc.value) <= 4 * mc.stderr
    # auto: moments for a tight tol at dense p; the samplers for a loose tol or small p; exact one-hot
    assert cc.loss_per_feature(w, task, method="auto", tol=1e-6).method == "moments"
    assert cc.loss_per_feature(w, task, method="auto", tol=1e-2).method == "monte_carlo"
    assert cc.loss_per_feature(w, cc.Task(task.mixing, d, 0.1), method="auto", tol=1e-3).method == "stratified"
    assert cc.loss_per_feature(w, task.as_one_hot(), method="auto").method == "exact"
    with pytest.raises(ValueError, match="Bernoulli"):
        cc.loss_per_feature(w, task.as_one_hot(), method="moments")


def test_auto_falls_back_when_moments_too_costly(monkeypatch):
    import ccsolve.evaluation.loss as lm

    rng = np.random.default_rng(14)
    w = cc.Weights(rng.normal(size=(3, 8)) * 0.5, rng.normal(size=(8, 3)) * 0.4)
    task = cc.Task(np.zeros((8, 8)), 3, 0.3)
    assert cc.loss_per_feature(w, task, method="auto", tol=1e-6).method == "moments"
    monkeypatch.setattr(lm, "AUTO_MOMENTS_MAX_EVALS", 1.0)  # every 2-D sum refused
    # the sampler it falls back to, stubbed (sampling to a 1e-6 standard error would take minutes)
    monkeypatch.setattr(lm, "stratified_loss", lambda *args: "stratified")
    assert cc.loss_per_feature(w, task, method="auto", tol=1e-6) == "stratified"


def _fd_w_in(w, task, entries, eps=1e-5, **kw):
    out = []
    for a, i in entries:
        wp, wm = w.W_in.copy(), w.W_in.copy()
        wp[a, i] += eps
        wm[a, i] -= eps
        out.append((moments_loss(cc.Weights(wp, w.W_out), task, **kw).value
                    - moments_loss(cc.Weights(wm, w.W_out), task, **kw).value) / (2 * eps))
    return np.array(out)


@pytest.mark.parametrize("p, low_strata", [(0.3, "moments"), (1.0, "moments"), (0.15, "exact")])
def test_grad_w_in_matches_finite_differences(p, low_strata):
    rng = np.random.default_rng(21)
    n, d = 8, 3
    w = cc.Weights(rng.normal(size=(d, n)) * 0.5, rng.normal(size=(n, d)) * 0.4)  # both signs
    task = cc.Task(rng.normal(size=(n, n)) * 0.05, d, p)
    kw = {"tol": 1e-10, "low_strata": low_strata}
    r = moments_loss(w, task, grad=True, **kw)
    entries = [(0, 0), (1, 3), (2, 7), (2, 2)]
    fd = _fd_w_in(w, task, entries, **kw)
    got = np.array([r.grad_W_in[a, i] for a, i in entries])
    assert np.max(np.abs(fd - got)) < 1e-8, np.abs(fd - got)
    assert np.max(np.abs(fd)) > 3e-3  # the entries are not trivially zero
    assert r.grad_W_in.shape == w.W_in.shape and r.details["grad_W_in_error"] < 1e-7


def test_grad_w_in_matches_long_monte_carlo():
    """dL/p / dW_in = 2 E[r_a 1{u_a > 0} x] / (n p), r = W_out^T (W_out h - y), against its sample mean."""
    rng = np.random.default_rng(22)
    n, d, p = 9, 4, 0.5
    w_in = rng.normal(size=(d, n)) * 0.6
    w_in[0] = np.abs(w_in[0])
    w_in[1] = -np.abs(w_in[1])
    w_in[3] = 0.0  # a dead neuron: zero gradient row
    w = cc.Weights(w_in, rng.normal(size=(n, d)) * 0.4)
    m = rng.normal(size=(n, n)) * 0.1
    r = moments_loss(w, cc.Task(m, d, p), tol=1e-9, grad=True)
    x = rng.uniform(-1, 1, (200_000, n)) * (rng.random((200_000, n)) < p)
    u = x @ w_in.T
    res = (np.maximum(u, 0) @ w.W_out.T - (np.maximum(x, 0) + x @ m.T)) @ w.W_out  # r^T per sample (N, d)
    g = 2 * (res * (u > 0))[:, :, None] * x[:, None, :] / (n * p)
    mean, se = g.mean(0), g.std(0) / np.sqrt(len(x))
    assert np.all(np.abs(r.grad_W_in - mean) <= 4 * se + 1e-12), np.max(np.abs(r.grad_W_in - mean) / (se + 1e-300))
    assert np.all(r.grad_W_in[3] == 0) and np.max(se[:3]) < 2e-3


@pytest.mark.parametrize("kmin, thr", [(2, 0.0), (3, 1e-9)])
def test_grad_two_dim_fast_matches_simple_kernel(kmin, thr):
    from ccsolve._kernels import moments as k

    rng = np.random.default_rng(23)
    w = rng.normal(size=(4, 9)) * 0.5
    w[1, 2] = 1e-5  # near-zero factors take the series branch
    w[2, 2] = -1e-5
    t_per = 1.02 * np.abs(w).sum(axis=1)
    c = 2.0 / t_per
    kmax = np.array([12, 9, 15, 7], dtype=np.int64)
    ia, ib = (x.astype(np.int64) for x in np.triu_indices(4, 1))
    tc, ts = k.trig_tables(w, t_per, 16)
    slow = k.grad_two_dim(w, 0.4, c, t_per, kmax, ia, ib, tc, ts, kmin, thr)
    fast = k.grad_two_dim_fast(w, 0.4, c, t_per, kmax, ia, ib, tc, ts, kmin, thr)
    for s, f in zip(slow, fast):
        assert np.allclose(s, f, rtol=1e-11, atol=1e-13)
    assert np.max(np.abs(slow[0])) > 1e-3
