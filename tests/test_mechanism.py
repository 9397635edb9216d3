"""ccsolve.analysis.mechanism and ccsolve.optimize.parametric on hand-built weights with known answers."""

import numpy as np
import pytest

import ccsolve as cc
from ccsolve.analysis import mechanism as me
from ccsolve.constructions import naive
from ccsolve.optimize.parametric import parametric, parametric_weights


def _sym_m(n, seed, sigma=0.1):
    return cc.mixing.random(n, sigma, seed=seed, symmetric=True)


def test_input_sign_hand_computed():
    w = cc.Weights(np.array([[1.0, -1.0], [2.0, 0.0]]), np.ones((2, 2)))
    s = me.input_sign(w)
    assert s["positive_share_abs"] == pytest.approx(3 / 4)
    assert s["positive_share_sq"] == pytest.approx(5 / 6)
    assert s["positive_fraction"] == pytest.approx(0.5)


def test_participation_ratio_known_vectors():
    x = np.array([[0, 0, 3.0, 0], [1, 1, 1, 1.0], [1, -1, 0, 0.0], [0, 0, 0, 0.0]])
    np.testing.assert_allclose(me.participation_ratio(x, axis=1), [1, 4, 2, 0])
    # naive: every neuron reads and writes one feature, every read feature is read by one neuron
    task = cc.Task(np.zeros((6, 6)), 3, 0.1)
    p = me.participation(naive(task))
    assert p["pr_in_rows"] == pytest.approx(1) and p["pr_out_cols"] == pytest.approx(1)
    assert p["pr_in_cols"] == pytest.approx(1)


def test_product_fit_exact_scaled_mixing():
    n = 5
    m = _sym_m(n, 0)
    np.fill_diagonal(m, 0.0)
    c0, s = 0.7, 2.5
    w = cc.Weights(np.eye(n), c0 * np.eye(n) + s * m)  # W_out W_in = c0 I + s M
    f = me.product_fit(w, m)
    assert f["offdiag_slope"] == pytest.approx(s)
    assert f["diag_intercept"] == pytest.approx(c0) and np.isnan(f["diag_slope"])
    assert f["residual_fit"] == pytest.approx(0, abs=1e-12)
    ipm = np.eye(n) + m
    want = np.linalg.norm((c0 - 1) * np.eye(n) + (s - 1) * m) / np.linalg.norm(ipm)
    assert f["residual_identity_plus_mixing"] == pytest.approx(want)


def test_subspace_overlap_eigenvectors():
    n, k = 12, 4
    m = _sym_m(n, 1)
    vals, vecs = np.linalg.eigh(m)
    top, bottom = vecs[:, ::-1][:, :k], vecs[:, :k]
    g = np.random.default_rng(0)
    mix = g.normal(size=(k, k))  # any basis of the same span
    o = me.subspace_overlap(cc.Weights(mix @ top.T, np.ones((n, k))), m)
    assert o["rank_in"] == k
    assert o["eig_top"] == pytest.approx(1) and o["eig_bottom"] == pytest.approx(0, abs=1e-12)
    o = me.subspace_overlap(cc.Weights(mix @ bottom.T, np.ones((n, k))), m)
    assert o["eig_bottom"] == pytest.approx(1) and o["eig_top"] == pytest.approx(0, abs=1e-12)
    # symmetric M: right singular vectors of I + M are its eigenvectors ordered by |1 + lambda|
    with pytest.raises(ValueError, match="k must be"):
        me.subspace_overlap(cc.Weights(top.T, np.ones((n, k))), m, k=n + 1)


def test_one_hot_gain_naive_and_brute_force():
    task = cc.Task(np.zeros((4, 4)), 2, 0.1)
    g = me.one_hot_gain(naive(task), task)
    assert g["self_slope_mean"] == pytest.approx(0.5) and g["explained_mean"] == pytest.approx(0.5)
    assert g["explained_min"] == pytest.approx(0) and g["explained_max"] == pytest.approx(1)
    assert g["n_explained_half"] == 2
    # random weights against forward passes
    n, d = 6, 3
    rng = np.random.default_rng(2)
    w = cc.Weights(rng.normal(size=(d, n)), rng.normal(size=(n, d)))
    m = _sym_m(n, 3)
    expl, slope = [], []
    for i in range(n):
        e = np.eye(n)[:, i]
        yp, ym = w(e), w(-e)
        err = np.sum((yp - (e + m @ e)) ** 2) + np.sum((ym + m @ e) ** 2)
        lab = np.sum((e + m @ e) ** 2) + np.sum((m @ e) ** 2)
        expl.append(1 - err / lab)
        slope.append(yp[i])
    g = me.one_hot_gain(w, m)
    assert g["explained_mean"] == pytest.approx(np.mean(expl))
    assert g["explained_sd"] == pytest.approx(np.std(expl))
    assert g["self_slope_min"] == pytest.approx(np.min(slope))


def test_interference_two_features_one_neuron():
    # y_hat = ReLU(s + t) (1, 1), y = (ReLU(s), ReLU(t)): interference 0 on ++ and --,
    # -1/12 on +- (hand integral: int_0^1 int_0^s 2u(u - s) du ds), total -1/24
    w = cc.Weights(np.array([[1.0, 1.0]]), np.array([[1.0], [1.0]]))
    r = me.interference(w, np.zeros((2, 2)), n_samples=1 << 15, seed=1)
    assert r.total == pytest.approx(-1 / 24, abs=1e-12)
    assert r.pair[0, 1] == pytest.approx(-1 / 24, abs=1e-12) and r.pair[0, 0] == 0
    assert abs(r.by_signs["++"]) < 1e-12 and abs(r.by_signs["--"]) < 1e-12
    assert abs(r.by_signs["+-"] + 1 / 12) < 4 * r.by_signs_stderr["+-"]
    assert np.isnan(r.by_mixing_sign["M>0"])


def test_interference_separate_neurons_is_zero_and_mc_matches_exact():
    task = cc.Task(np.zeros((4, 4)), 2, 0.1)
    r = me.interference(naive(task), task, n_samples=512)
    assert r.total == pytest.approx(0, abs=1e-12) and np.allclose(r.pair, 0, atol=1e-12)
    # random weights and M: the sign-combination Monte Carlo agrees with the exact total
    n, d = 8, 4
    rng = np.random.default_rng(5)
    w = cc.Weights(rng.normal(size=(d, n)), 0.5 * rng.normal(size=(n, d)))
    m = _sym_m(n, 4)
    r = me.interference(w, m, n_samples=1 << 15, seed=3)
    mc = (r.by_signs["++"] + 2 * r.by_signs["+-"] + r.by_signs["--"]) / 4
    se = np.sqrt(r.by_signs_stderr["++"] ** 2 + 4 * r.by_signs_stderr["+-"] ** 2 + r.by_signs_stderr["--"] ** 2) / 4
    assert abs(mc - r.total) < 4 * se
    off = ~np.eye(n, dtype=bool)
    assert r.pair[off].mean() == pytest.approx(r.total)  # mean over ordered pairs = uniform pair
    with pytest.raises(TypeError, match="seed"):
        me.interference(w, m, seed=1.5)


def test_neuron_split_known():
    task = cc.Task(np.zeros((4, 4)), 2, 0.1)
    s = me.neuron_split(naive(task))
    assert s["features_per_neuron"] == pytest.approx(1) and s["top_share"] == pytest.approx(1)
    assert s["negative_share"] == 0 and s["silent_neurons"] == 0
    w = cc.Weights(np.array([[1.0, 1.0, 0.0], [-1.0, 0.0, 0.0]]), np.array([[1.0, 0], [-1.0, 0], [0, 0]]))
    s = me.neuron_split(w)
    assert s["features_per_neuron"] == pytest.approx(2) and s["top_share"] == pytest.approx(0.5)
    assert s["negative_share"] == pytest.approx(0.5) and s["silent_neurons"] == 1


def test_mechanism_summary_flat_floats():
    n, d = 8, 4
    rng = np.random.default_rng(6)
    w = cc.Weights(rng.normal(size=(d, n)), rng.normal(size=(n, d)))
    s = me.mechanism_summary(w, _sym_m(n, 6), n_samples=256)
    assert all(isinstance(val, float) for val in s.values())
    with pytest.raises(ValueError):
        me.mechanism_summary(w, np.zeros((n + 1, n + 1)))


# ------------------------------------------------------------------------------------------ parametric


def test_parametric_clean_one_hot_never_below_naive():
    # clean M: the one-hot loss of ANY weights is >= (n - d)/(6 n) = 1/12 here (Eckart-Young, n = 20, d = 10)
    task = cc.Task(np.zeros((20, 20)), 10, 0.01, one_hot=True)
    starts = (None, {"a": 1.0, "lam": 0.2, "c": 0.0}, {"a": 3.0, "lam": 0.01, "c": 1.0},
              {"a": 1.0, "lam": 0.05, "c": 0.3, "mu": 2.0}, {"a": 0.5, "lam": 0.001, "c": -0.2, "mu": 0.1})
    for start in starts:
        r = parametric(task, start=start, max_evals=8)
        assert r.one_hot_loss >= 1 / 12 - 1e-12
        assert cc.one_hot_loss(r.weights, task.mixing) == pytest.approx(r.one_hot_loss)
        assert ("mu" in r.parameters) == (start is None or "mu" in start)


def test_parametric_parameters_reproduce_weights():
    import json

    task = cc.Task(_sym_m(20, 7, sigma=0.05), 10, 0.05)
    r = parametric(task, max_evals=10)
    assert set(r.parameters) == {"a", "lam", "c", "mu"} and len(r.parameters) <= 8
    w = parametric_weights(task, r.parameters)
    assert w == r.weights  # bit-identical (np.array_equal on both matrices)
    d = r.to_dict()
    assert d["parameters"] == r.parameters and "ccsolve_version" in d
    # through JSON (what a user would store) the rebuild is still bit-identical
    assert parametric_weights(task, json.loads(json.dumps(d))["parameters"]) == r.weights
    # fit=False builds exactly parametric_weights at the start; the unrefined 3-scalar form too
    for start in ({"a": 1.2, "lam": 0.04, "c": 0.2, "mu": 0.5}, {"a": 1.2, "lam": 0.04, "c": 0.2}):
        r0 = parametric(task, start=start, fit=False)
        assert r0.parameters == start and r0.weights == parametric_weights(task, start)
    # the refinement changes W_in (mu is a real parameter, not ignored)
    assert not np.array_equal(parametric_weights(task, {"a": 1.2, "lam": 0.04, "c": 0.2}).W_in,
                              parametric_weights(task, {"a": 1.2, "lam": 0.04, "c": 0.2, "mu": 0.5}).W_in)


def test_parametric_bad_input():
    task = cc.Task(_sym_m(20, 7, sigma=0.05), 10, 0.05)
    with pytest.raises(ValueError, match="missing"):
        parametric_weights(task, {"a": 1.0})
    with pytest.raises(TypeError, match="parameters"):
        parametric_weights(task, [1.0, 0.1, 0.0])
    with pytest.raises(ValueError, match="unknown keys"):
        parametric_weights(task, {"a": 1.0, "lam": 0.1, "c": 0.0, "b": 1.0})
    with pytest.raises(ValueError, match="lam"):
        parametric_weights(task, {"a": 1.0, "lam": -0.1, "c": 0.0})
    with pytest.raises(ValueError, match="mu"):
        parametric_weights(task, {"a": 1.0, "lam": 0.1, "c": 0.0, "mu": -1.0})
    with pytest.raises(ValueError, match="c must be finite"):
        parametric_weights(task, {"a": 1.0, "lam": 0.1, "c": float("nan")})
    with pytest.raises(TypeError, match="a must be a real number"):
        parametric_weights(task, {"a": "1", "lam": 0.1, "c": 0.0})
    with pytest.raises(ValueError, match="start needs"):
        parametric(task, start={"a": 1.0, "lam": 0.1, "c": 0.0, "mu": 0.0})
    with pytest.raises(ValueError, match="max_evals"):
        parametric(task, max_evals=0)
    with pytest.raises(TypeError, match="progress"):
        parametric(task, progress="yes")
    with pytest.raises(TypeError):
        parametric("not a task")
