"""ccsolve.analysis on hand-built weights with known answers, and against brute-force forward passes."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import ccsolve as cc
from ccsolve import analysis as an
from ccsolve.constructions import naive

N, D = 20, 10


def _task(m=None, d=D, p=0.05):
    return cc.Task(np.zeros((N, N)) if m is None else m, d, p)


def _random_m(seed, n=N, sigma=0.05, symmetric=False):
    return cc.mixing.random(n, sigma, seed=seed, symmetric=symmetric)


def _orthogonal(n, seed):
    q, r = np.linalg.qr(np.random.default_rng(seed).standard_normal((n, n)))
    return q * np.sign(np.diag(r))


def _random_weights(seed, n=N, d=D):
    g = np.random.default_rng(seed)
    return cc.Weights(g.normal(size=(d, n)), g.normal(size=(n, d)))


# ------------------------------------------------------------------------------- one-hot response


@pytest.mark.parametrize("m", [None, _random_m(3)])
def test_naive_one_hot_response(m):
    task = _task(m)
    r = an.one_hot_response(naive(task), task)
    t = np.linspace(-1, 1, 201)
    np.testing.assert_array_equal(r.values, t)
    assert r.response.shape == r.label.shape == (N, 201)
    np.testing.assert_allclose(r.response[:D], np.tile(np.maximum(t, 0), (D, 1)), atol=0)
    np.testing.assert_array_equal(r.response[D:], 0.0)
    np.testing.assert_array_equal(r.slope_pos, np.r_[np.ones(D), np.zeros(N - D)])
    np.testing.assert_array_equal(r.slope_neg, 0.0)
    m = task.mixing
    np.testing.assert_allclose(r.label, np.maximum(t, 0) + np.outer(np.diag(m), t), atol=1e-15)
    assert r.full_output is None and r.full_label is None


@pytest.mark.parametrize("seed", [0, 1])
def test_one_hot_response_matches_forward_pass(seed):
    task = _task(_random_m(seed))
    w = _random_weights(seed)
    values = np.array([-1.0, -0.3, 0.0, 0.2, 0.9, 2.5])
    r = an.one_hot_response(w, task, values, full=True)
    assert r.full_output.shape == r.full_label.shape == (N, N, values.size)
    for i in range(N):
        x = np.zeros((N, values.size))
        x[i] = values
        out = w(x)  # brute force: the network itself
        np.testing.assert_allclose(r.full_output[i], out, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(r.response[i], out[i], rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(r.full_label[i], cc.labels(task, x), atol=1e-15)
        np.testing.assert_allclose(r.label[i], cc.labels(task, x)[i], atol=1e-15)
    # slopes are the one-sided derivatives of the response
    np.testing.assert_allclose(r.slope_pos, w(np.eye(N)).diagonal(), rtol=1e-12)
    np.testing.assert_allclose(r.slope_neg, -w(-np.eye(N)).diagonal(), rtol=1e-12)


def test_one_hot_response_validation():
    task = _task()
    w = naive(task)
    with pytest.raises(ValueError, match="values"):
        an.one_hot_response(w, task, [])
    with pytest.raises(ValueError, match="values"):
        an.one_hot_response(w, task, [0.0, np.nan])
    with pytest.raises(TypeError, match="weights"):
        an.one_hot_response(w.W_in, task)
    with pytest.raises(ValueError, match="n_features"):
        an.one_hot_response(naive(_task(np.zeros((N + 1, N + 1)))), task)
    with pytest.raises(TypeError, match="full"):
        an.one_hot_response(w, task, full="yes")
    # a bare mixing matrix works like the task
    np.testing.assert_array_equal(an.one_hot_response(w, task.mixing).label,
                                  an.one_hot_response(w, task).label)


# ----------------------------------------------------------------------------------- weight bars


def test_naive_feature_weight_bars():
    task = _task()
    features = np.array([3, 17, 0, 8, 11, 5, 19, 2, 14, 9])
    b = an.feature_weight_bars(naive(task, features))
    assert b.contributions.shape == (N, D)
    expected = np.zeros((N, D))
    expected[features, np.arange(D)] = 1.0  # one neuron per represented feature, value 1
    np.testing.assert_array_equal(b.contributions, expected)
    np.testing.assert_array_equal(b.total, expected.sum(axis=1))
    assert set(np.flatnonzero(b.total)) == set(features)


def test_feature_weight_bars_brute_force():
    w = _random_weights(4)
    b = an.feature_weight_bars(w)
    for i in range(N):
        for a in range(D):
            assert b.contributions[i, a] == pytest.approx(w.W_out[i, a] * w.W_in[a, i], rel=1e-15)
            assert b.w_in[i, a] == w.W_in[a, i] and b.w_out[i, a] == w.W_out[i, a]
    np.testing.assert_allclose(b.total, np.diag(w.W_out @ w.W_in), rtol=1e-12)
    with pytest.raises(TypeError, match="weights"):
        an.feature_weight_bars((w.W_in, w.W_out))


# ------------------------------------------------------------------------------- eigen alignment


def test_full_rank_eigen_construction_aligns_exactly():
    """W_in = U^T, W_out = U with all n eigenvectors (k = n): every cosine is 1."""
    n = 12
    m = _random_m(5, n, symmetric=True)
    lam, vecs = np.linalg.eigh(m)
    u = vecs[:, np.argsort(lam)[::-1]]
    perm = np.random.default_rng(0).permutation(n)
    signs = np.where(np.arange(n) % 3 == 0, -1.0, 1.0)
    w = cc.Weights((u[:, perm] * signs).T, u[:, perm] * signs)  # neurons shuffled and sign-flipped
    e = an.eigen_alignment(w, m)
    np.testing.assert_allclose(e.values, np.sort(lam)[::-1], atol=1e-12)
    np.testing.assert_allclose(e.max_abs_cos_in, 1.0, atol=1e-12)
    np.testing.assert_allclose(e.max_abs_cos_out, 1.0, atol=1e-12)
    np.testing.assert_allclose(np.abs(e.cos_in[perm, np.arange(n)]), 1.0, atol=1e-12)
    np.testing.assert_allclose(e.in_fraction_top, 1.0, atol=1e-12)  # top = n_neurons = n
    np.testing.assert_allclose(e.gain, 1.0, atol=1e-12)  # W_out W_in = I
    np.testing.assert_allclose(e.rayleigh, 1.0, atol=1e-12)
    np.testing.assert_allclose(e.preservation_cos, 1.0, atol=1e-12)


@pytest.mark.parametrize("which", ["mixing", "identity_plus_mixing"])
def test_top_k_eigen_construction(which):
    """Known spectrum: 6 positive and 6 negative eigenvalues; the neurons span the positive ones."""
    n, k, c = 12, 6, 0.7
    q = _orthogonal(n, 1)
    lam = np.array([0.9, 0.7, 0.5, 0.4, 0.2, 0.1, -0.05, -0.15, -0.3, -0.45, -0.6, -0.8])
    m = q @ np.diag(lam) @ q.T
    scale = np.linspace(0.5, 2.0, k)  # neuron norms do not change cosines
    w = cc.Weights((q[:, :k] * scale).T, c * q[:, :k] / scale)
    e = an.eigen_alignment(w, cc.Task(m, k, 0.01), which=which)
    np.testing.assert_allclose(e.values, lam + (which != "mixing"), atol=1e-12)
    assert e.top == k and e.n_positive == (6 if which == "mixing" else 12)
    np.testing.assert_allclose(np.abs(e.cos_in), np.eye(n, k), atol=1e-12)
    np.testing.assert_allclose(np.abs(e.cos_out), np.eye(n, k), atol=1e-12)
    np.testing.assert_allclose(e.max_abs_cos_in, np.r_[np.ones(k), np.zeros(n - k)], atol=1e-12)
    np.testing.assert_allclose(e.in_fraction_top, 1.0, atol=1e-12)
    np.testing.assert_allclose(e.out_fraction_top, 1.0, atol=1e-12)
    np.testing.assert_allclose(e.in_fraction_positive, 1.0, atol=1e-12)
    expected_gain = np.r_[np.full(k, c), np.zeros(n - k)]  # W_out W_in = c Q_k Q_k^T
    np.testing.assert_allclose(e.gain, expected_gain, atol=1e-12)
    np.testing.assert_allclose(e.rayleigh, expected_gain, atol=1e-12)
    np.testing.assert_allclose(e.preservation_cos, np.r_[np.ones(k), np.zeros(n - k)], atol=1e-12)
    # a smaller top subspace holds only the neurons aligned with it
    e3 = an.eigen_alignment(w, m, which=which, top=3)
    np.testing.assert_allclose(e3.in_fraction_top, np.r_[np.ones(3), np.zeros(k - 3)], atol=1e-12)


def test_svd_construction_aligns_with_singular_vectors():
    """A = I + M = Q1 S Q2^T built with known factors; W_in = V_k^T, W_out = U_k S_k."""
    n, k = 12, 5
    q1, q2 = _orthogonal(n, 2), _orthogonal(n, 3)
    s = np.linspace(2.0, 0.2, n)
    m = q1 @ np.diag(s) @ q2.T - np.eye(n)
    w = cc.Weights(q2[:, :k].T, q1[:, :k] * s[:k])
    e = an.eigen_alignment(w, m, which="identity_plus_mixing", kind="svd")
    np.testing.assert_allclose(e.values, s, atol=1e-12)
    np.testing.assert_allclose(e.max_abs_cos_in, np.r_[np.ones(k), np.zeros(n - k)], atol=1e-12)
    np.testing.assert_allclose(e.max_abs_cos_out, np.r_[np.ones(k), np.zeros(n - k)], atol=1e-12)
    np.testing.assert_allclose(np.abs(e.rayleigh), np.r_[s[:k], np.zeros(n - k)], atol=1e-12)
    np.testing.assert_allclose(e.gain, np.r_[s[:k], np.zeros(n - k)], atol=1e-12)
    np.testing.assert_allclose(np.abs(e.target_cos), np.r_[np.ones(k), np.zeros(n - k)], atol=1e-12)
    np.testing.assert_allclose(e.in_fraction_top, 1.0, atol=1e-12)
    assert e.in_fraction_positive is None and e.out_fraction_positive is None


@given(seed=st.integers(0, 10_000), kind=st.sampled_from(["eig", "svd"]))
def test_alignment_shares_sum_to_one(seed, kind):
    m = _random_m(seed)
    g = np.random.default_rng(seed)
    w_in, w_out = g.normal(size=(D, N)), g.normal(size=(N, D))
    w_in[2] = 0.0  # a dead neuron
    w = cc.Weights(w_in, w_out)
    e = an.eigen_alignment(w, m, kind=kind)
    sq = e.cos_in**2
    live = np.arange(D) != 2
    np.testing.assert_allclose(sq[:, live].sum(axis=0), 1.0, atol=1e-10)
    assert np.all(e.cos_in[:, 2] == 0) and e.in_fraction_top[2] == 0
    for f in (e.in_fraction_top, e.out_fraction_top):
        assert np.all((f >= -1e-12) & (f <= 1 + 1e-12))
    assert np.all(np.diff(e.values) <= 1e-12)
    if kind == "eig":  # asymmetric M: the symmetric part's spectrum
        np.testing.assert_allclose(np.sort(e.values), np.linalg.eigvalsh((m + m.T) / 2), atol=1e-12)
    # brute force: cosine of one (vector, neuron) pair
    k, a = seed % N, seed % D
    if a != 2:
        r = w.W_in[a]
        assert e.cos_in[k, a] == pytest.approx(e.vectors_in[:, k] @ r / np.linalg.norm(r), abs=1e-12)


def test_alignment_validation():
    w = _random_weights(0)
    m = _random_m(0)
    with pytest.raises(ValueError, match="which"):
        an.eigen_alignment(w, m, which="M")
    with pytest.raises(ValueError, match="kind"):
        an.eigen_alignment(w, m, kind="qr")
    with pytest.raises(ValueError, match="top"):
        an.eigen_alignment(w, m, top=N + 1)
    with pytest.raises(ValueError, match="mixing"):
        an.eigen_alignment(w, m[:, :5])
    with pytest.raises(ValueError, match="n_features"):
        an.eigen_alignment(w, _random_m(0, N + 2))


# ---------------------------------------------------------------------------- product vs mixing


@given(c=st.floats(-3, 3).filter(lambda c: abs(c) > 0.05), b=st.floats(-1, 1), seed=st.integers(0, 1000))
def test_product_equal_to_scaled_mixing_plus_identity(c, b, seed):
    """W_out W_in = c M + b I exactly (W_in = I): every fit is recovered."""
    m = _random_m(seed)
    w = cc.Weights(np.eye(N), c * m + b * np.eye(N))
    f = an.product_vs_mixing(w, m)
    np.testing.assert_allclose(f.product, c * m + b * np.eye(N), atol=1e-14)
    assert f.offdiag_slope == pytest.approx(c, rel=1e-10)
    assert f.offdiag_fit_slope == pytest.approx(c, rel=1e-10)
    assert f.offdiag_fit_intercept == pytest.approx(0.0, abs=1e-12)
    assert f.offdiag_r == pytest.approx(np.sign(c), abs=1e-10)
    assert f.diag_slope == pytest.approx(c, rel=1e-10)
    assert f.diag_intercept == pytest.approx(b, abs=1e-10)
    assert f.diag_r == pytest.approx(np.sign(c), abs=1e-10)
    # the reference orientation: M = (1/c) P off the diagonal, M_ii = (1/c)(P_ii - b)
    assert f.reference_offdiag_slope == pytest.approx(1 / c, rel=1e-10)
    assert f.reference_diag_slope == pytest.approx(1 / c, rel=1e-10)
    assert f.reference_diag_x_intercept == pytest.approx(b, abs=1e-10)


def test_product_vs_mixing_matches_polyfit():
    m = _random_m(7)
    w = _random_weights(7)
    f = an.product_vs_mixing(w, cc.Task(m, D))
    p = w.W_out @ w.W_in
    off = ~np.eye(N, dtype=bool)
    slope, intercept = np.polyfit(m[off], p[off], 1)
    assert f.offdiag_fit_slope == pytest.approx(slope, rel=1e-9)
    assert f.offdiag_fit_intercept == pytest.approx(intercept, rel=1e-9, abs=1e-12)
    assert f.offdiag_r == pytest.approx(np.corrcoef(m[off], p[off])[0, 1], rel=1e-9)
    assert f.offdiag_slope == pytest.approx(np.linalg.lstsq(m[off][:, None], p[off], rcond=None)[0][0], rel=1e-9)
    ds, di = np.polyfit(np.diag(m), np.diag(p), 1)
    assert (f.diag_slope, f.diag_intercept) == (pytest.approx(ds, rel=1e-9), pytest.approx(di, rel=1e-9))
    assert set(f.to_dict()) >= {"offdiag_slope", "diag_slope", "diag_intercept", "reference_offdiag_slope"}


def test_product_vs_mixing_zero_diagonal_mixing():
    """Embedding-like M has M_ii = 0: the diagonal slope is undefined (nan), the intercept is the mean."""
    m = cc.mixing.embedding(N, 200, seed=0)
    w = cc.Weights(np.eye(N), 2.0 * m + 0.6 * np.eye(N))
    f = an.product_vs_mixing(w, m)
    assert np.isnan(f.diag_slope) and np.isnan(f.diag_r)
    assert f.diag_intercept == pytest.approx(0.6, rel=1e-12)
    assert f.offdiag_slope == pytest.approx(2.0, rel=1e-12)


# ------------------------------------------------------------------------- neuron contributions


def test_naive_neuron_contributions():
    m = _random_m(2)
    task = _task(m)
    c = an.neuron_contributions(naive(task), task)
    np.testing.assert_array_equal(c.positive, np.eye(N, D))
    np.testing.assert_array_equal(c.negative, 0.0)
    np.testing.assert_array_equal(c.effective_neurons, np.r_[np.ones(D), np.zeros(N - D)])
    np.testing.assert_allclose(c.label_positive, 1 + np.diag(m))
    np.testing.assert_allclose(c.label_negative, -np.diag(m))


def test_neuron_contributions_sum_to_forward_pass():
    task = _task(_random_m(1))
    w = _random_weights(1)
    c = an.neuron_contributions(w, task)
    np.testing.assert_allclose(c.positive.sum(axis=1), w(np.eye(N)).diagonal(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(c.negative.sum(axis=1), w(-np.eye(N)).diagonal(), rtol=1e-12, atol=1e-12)
    # labels: y_i(+e_i) and y_i(-e_i)
    np.testing.assert_allclose(c.label_positive, cc.labels(task, np.eye(N)).diagonal())
    np.testing.assert_allclose(c.label_negative, cc.labels(task, -np.eye(N)).diagonal())


def test_effective_neurons_counts_an_even_split():
    k = 4
    w_in, w_out = np.zeros((D, N)), np.zeros((N, D))
    w_in[:k, 0] = 3.0
    w_out[0, :k] = 1.0 / (2.0 * k)  # feature 0 shared evenly by k neurons, y_hat_0(e_0) = 1.5
    w_in[k, 0] = -1.0  # a neuron active only for negative inputs does not count
    w_out[0, k] = 5.0
    c = an.neuron_contributions(cc.Weights(w_in, w_out), _task())
    assert c.effective_neurons[0] == pytest.approx(k)
    assert c.positive[0].sum() == pytest.approx(1.5)
    assert c.negative[0].sum() == pytest.approx(5.0)
    np.testing.assert_array_equal(c.effective_neurons[1:], 0.0)
