"""Hand-built constructions against independent references: closed forms, Eckart-Young, plain NumPy
projected gradients, cvxpy / scipy NNLS oracles, central finite differences, brute-force Monte Carlo."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import ccsolve as cc
from ccsolve import constructions as C
from ccsolve.constructions import semi_nmf
from ccsolve.constructions.readout import ls_readout, readout_moments
from reference import brute_force_loss, naive_weights

N, D = 20, 10


def _mixings():
    return {
        "embedding": cc.mixing.embedding(N, 200, seed=2),
        "random": cc.mixing.random(N, 0.05, seed=3),
        "symmetric": cc.mixing.random(N, 0.05, seed=4, symmetric=True),
    }


def _projected_gradient_residual(w_in, w_out, t):
    """Plain NumPy KKT residual of min ||A B - T||^2, B >= 0 (the definition in docs/math.md)."""
    r = w_out @ w_in - t
    g_b = w_out.T @ r
    g_a = r @ w_in.T
    pg = g_b.copy()
    pg[w_in == 0] = np.minimum(g_b[w_in == 0], 0.0)
    nt = np.sqrt(np.sum(t * t))
    return max(np.sqrt(np.sum(pg**2)) / (np.sqrt(np.sum(w_out**2)) * nt),
               np.sqrt(np.sum(g_a**2)) / (np.sqrt(np.sum(w_in**2)) * nt))


# ---------------------------------------------------------------------------------------- naive


@pytest.mark.parametrize("p", [0.1, 1.0])
def test_naive_offset_optimal_offset_and_loss_on_clean_labels(p):
    task = cc.Task(cc.mixing.clean(N), D, p)
    b_star = p / (8.0 / 3.0 + (D - 1) * p)
    w = C.naive_offset(task)
    w_in, w_out = naive_weights(N, D, offset=b_star)
    np.testing.assert_allclose(w.W_in, w_in, rtol=0, atol=0)
    np.testing.assert_allclose(w.W_out, w_out, rtol=1e-13, atol=0)
    est, se = brute_force_loss(w_in, w_out, task.mixing, p, 200_000, seed=21)
    assert abs(cc.naive_offset_loss(task, b_star) - est) < 4 * se
    # b* is the minimiser: the loss is larger on both sides
    for db in (-1e-3, 1e-3):
        assert cc.naive_offset_loss(task, b_star + db) > cc.naive_offset_loss(task, b_star)
    assert cc.naive_offset_loss(task, b_star) < 1 / 12


# ------------------------------------------------------------------------------------------ SVD


@pytest.mark.parametrize("target", ["identity_plus_mixing", "mixing_plus_alpha", "mixing"])
@pytest.mark.parametrize("kind", ["random", "embedding"])
def test_svd_full_rank_reproduces_target_and_truncation_is_eckart_young(kind, target):
    m = _mixings()[kind]
    t = {"identity_plus_mixing": np.eye(N) + m, "mixing_plus_alpha": m + 0.3 * np.eye(N), "mixing": m}[target]
    full = C.svd(cc.Task(m, N, one_hot=True), target=target, alpha=0.3)
    np.testing.assert_allclose(full.W_out @ full.W_in, t, atol=1e-12)
    ref = C.svd(cc.Task(m, N, one_hot=True), target=target, alpha=0.3, reference_orientation=True)
    np.testing.assert_allclose(ref.W_out @ ref.W_in, t.T, atol=1e-12)
    w = C.svd(cc.Task(m, D, one_hot=True), target=target, alpha=0.3)
    s = np.linalg.svd(t, compute_uv=False)
    assert np.isclose(np.sum((w.W_out @ w.W_in - t) ** 2), np.sum(s[D:] ** 2), rtol=1e-10)
    # sign rule: every neuron's largest-magnitude input weight is positive
    rows = np.arange(D)
    assert np.all(w.W_in[rows, np.argmax(np.abs(w.W_in), axis=1)] > 0)


def test_svd_optimal_readout_one_hot_is_better_than_svd_readout():
    task = cc.Task(_mixings()["embedding"], D, one_hot=True)
    plain = C.svd(task)
    opt = C.svd(task, readout="optimal")
    np.testing.assert_array_equal(plain.W_in, opt.W_in)
    assert cc.one_hot_loss(opt, task) <= cc.one_hot_loss(plain, task) + 1e-15


# ----------------------------------------------------------------------------------------- SNMF


@pytest.mark.parametrize("init", ["svd", "nndsvd", "random"])
@pytest.mark.parametrize("size", [(N, D), (100, 50)])
def test_snmf_clean_reaches_exactly_one_twelfth(size, init):
    n, d = size
    task = cc.Task(cc.mixing.clean(n), d, one_hot=True)
    r = C.snmf(task, init=init, seed=5)
    assert abs(r.one_hot_loss - 1 / 12) < 1e-12
    assert r.one_hot_loss >= cc.one_hot_lower_bound(task) - 1e-12
    assert np.all(r.weights.W_in >= 0)
    assert r.converged


# SNMF cases whose alternation converges to a bounded KKT point (many do not: see the degeneracy test)
_CONVERGING = {
    "embedding_60": lambda: cc.mixing.embedding(N, 60, seed=0),
    "embedding_200": lambda: cc.mixing.embedding(N, 200, seed=1),
    "symmetric": lambda: cc.mixing.random(N, 0.05, seed=0, symmetric=True),
}


@pytest.mark.parametrize("kind", sorted(_CONVERGING))
def test_snmf_properties(kind):
    m = _CONVERGING[kind]()
    task = cc.Task(m, D, one_hot=True)
    t = np.eye(N) + m
    r = C.snmf(task, tol=1e-7, seed=1)
    w = r.weights
    assert np.all(w.W_in >= 0)
    assert r.converged and r.kkt_residual <= 1e-7
    # independent residual and objective
    assert _projected_gradient_residual(w.W_in, w.W_out, t) <= 1e-7
    assert np.isclose(r.objective, np.sum((w.W_out @ w.W_in - t) ** 2), rtol=1e-12)
    assert np.isclose(r.history[-1], r.objective, rtol=1e-12)
    # the objective never increases (rounding allowance only)
    assert np.all(np.diff(r.history) <= 1e-12 * r.history[0])
    assert r.history.size == r.n_iter + 1
    # W_in >= 0: the one-hot loss is (objective + ||M||^2) / (6n), never below the bound
    assert np.isclose(r.one_hot_loss, (r.objective + np.sum(m * m)) / (6 * N), rtol=1e-12)
    assert r.one_hot_loss >= cc.one_hot_lower_bound(task) - 1e-12
    assert np.isclose(r.gap, r.one_hot_loss - r.lower_bound)
    # balanced neurons, bounded weights
    np.testing.assert_allclose(np.linalg.norm(w.W_out, axis=0), np.linalg.norm(w.W_in, axis=1), rtol=1e-10)
    assert r.max_abs_weight < 10
    # plain alternation (no extrapolation) is monotone too and heads for the same stationary value here
    plain = C.snmf(task, tol=1e-7, accelerate=False, max_iter=1500, seed=1)
    assert np.all(np.diff(plain.history) <= 1e-12 * plain.history[0])
    assert plain.n_accelerated == 0
    assert r.objective <= plain.objective * (1 + 1e-9) and np.isclose(plain.objective, r.objective, rtol=1e-3)


def test_snmf_infimum_not_attained_on_a_degenerate_case():
    """Random asymmetric M, n=20, d=10: the objective keeps decreasing while the weights grow and the
    rows of W_in line up along one common non-negative direction (docs/math.md, Constructions)."""
    task = cc.Task(cc.mixing.random(N, 0.05, seed=0), D, one_hot=True)
    short = C.snmf(task, max_iter=300, tol=1e-12)
    long = C.snmf(task, max_iter=3000, tol=1e-12)
    assert not long.converged
    assert np.all(np.diff(long.history) <= 1e-12 * long.history[0])
    assert long.objective < short.objective
    assert long.max_abs_weight > 2 * short.max_abs_weight > 10
    rows = long.weights.W_in / np.linalg.norm(long.weights.W_in, axis=1, keepdims=True)
    assert np.min(rows @ rows.T) > 0.99
    assert long.one_hot_loss >= cc.one_hot_lower_bound(task)


def test_snmf_revives_dead_neurons(monkeypatch):
    task = cc.Task(cc.mixing.embedding(N, 60, seed=0), D, one_hot=True)
    init = C.naive(task, features=np.arange(D - 3))  # three neurons with zero input weights
    r = C.snmf(task, init=init, max_iter=200)
    assert r.n_revived >= 3
    assert np.all(np.linalg.norm(r.weights.W_in, axis=1) > 0)
    assert np.all(np.diff(r.history) <= 1e-12 * r.history[0])
    monkeypatch.setattr(semi_nmf, "_REVIVE", False)
    stuck = C.snmf(task, init=init, max_iter=200)
    assert np.sum(np.linalg.norm(stuck.weights.W_in, axis=1) == 0) == 3
    assert r.objective < stuck.objective


def _random_subproblems():
    """(A, T, B_warm) triples met along an SNMF run and from random data."""
    rng = np.random.default_rng(7)
    out = []
    m = _mixings()["embedding"]
    t = np.eye(N) + m
    b = np.abs(rng.standard_normal((D, N)))
    for _ in range(3):
        a = ls_readout(b, t)
        out.append((a, t, b))
        b = semi_nmf._b_step(a, t, b, "scipy")
    a = rng.standard_normal((N, D))
    out.append((a, rng.standard_normal((N, N)), np.zeros((D, N))))
    a[:, 3] = 0.0  # a dead neuron
    out.append((a, rng.standard_normal((N, N)), np.abs(rng.standard_normal((D, N)))))
    return out


@pytest.mark.parametrize("case", range(5))
def test_nnls_paths_agree_on_subproblems(case):
    a, t, b0 = _random_subproblems()[case]
    fast = semi_nmf._b_step(a, t, b0, "nnls")
    oracle = semi_nmf._b_step(a, t, b0, "cvxpy")
    scipy_ = semi_nmf._b_step(a, t, b0, "scipy")
    assert np.all(fast >= 0)
    np.testing.assert_allclose(fast, oracle, atol=1e-6)
    np.testing.assert_allclose(fast, scipy_, atol=1e-9)
    # KKT of each column: gradient >= 0 where b = 0, = 0 where b > 0
    g = a.T @ (a @ fast - t)
    scale = np.abs(a.T @ t).max()
    assert np.all(g[fast == 0] >= -1e-9 * scale)
    assert np.all(np.abs(g[fast > 0]) <= 1e-9 * scale)


@given(st.integers(0, 10_000), st.integers(1, 8), st.integers(1, 12))
def test_nnls_gram_kernel_matches_scipy(seed, d, m):
    from scipy.optimize import nnls

    from ccsolve._kernels.nnls import nnls_gram

    rng = np.random.default_rng(seed)
    a = rng.standard_normal((d + 3, d))
    t = rng.standard_normal((d + 3, m))
    b = np.abs(rng.standard_normal((d, m))) * (rng.random((d, m)) < 0.5)
    _, status = nnls_gram(a.T @ a, np.ascontiguousarray(a.T @ t), b, 1e-12, 1000)
    ref = np.column_stack([nnls(a, t[:, j])[0] for j in range(m)])
    assert np.all(status == 0)
    np.testing.assert_allclose(b, ref, atol=1e-9)


def test_snmf_cvxpy_path_matches_nnls_path():
    m = cc.mixing.embedding(12, 60, seed=3)
    task = cc.Task(m, 6, one_hot=True)
    fast = C.snmf(task, max_iter=15, accelerate=False, tol=0.0)
    oracle = C.snmf(task, solver="cvxpy", max_iter=15, accelerate=False, tol=0.0)
    np.testing.assert_allclose(oracle.history, fast.history, rtol=1e-6)
    np.testing.assert_allclose(oracle.weights.W_in, fast.weights.W_in, atol=1e-5)


def test_snmf_restarts_return_the_best_and_are_reproducible():
    task = cc.Task(_mixings()["random"], D, one_hot=True)
    r = C.snmf(task, restarts=3, seed=11, max_iter=200)
    assert len(r.restart_objectives) == 3
    assert r.objective == min(r.restart_objectives)
    again = C.snmf(task, restarts=3, seed=11, max_iter=200)
    assert again.weights == r.weights
    w0 = C.snmf(task, init=r.weights, max_iter=5)
    assert w0.objective <= r.objective * (1 + 1e-9)


def test_snmf_reference_recipe_is_transposed_and_positive():
    m = _mixings()["random"]  # asymmetric
    task = cc.Task(m, D, one_hot=True)
    r = C.snmf(task, recipe="reference", seed=42)
    w = r.weights
    t = np.eye(N) + m
    assert np.all(w.W_in >= 1e-8)
    # its own objective is measured in the transposed orientation: the network fits (I + M)^T
    assert np.isclose(r.history[-1], np.sum((w.W_out @ w.W_in - t.T) ** 2), rtol=1e-12)
    assert np.isclose(r.objective, np.sum((w.W_out @ w.W_in - t) ** 2), rtol=1e-12)
    assert not r.converged and r.n_iter == 500
    exact = C.snmf(task)
    assert exact.objective < r.objective
    assert r.one_hot_loss >= cc.one_hot_lower_bound(task)


# ------------------------------------------------------------------------------- optimal readout


def test_optimal_readout_one_hot_is_stationary_and_minimal():
    m = _mixings()["random"]
    task = cc.Task(m, D, one_hot=True)
    rng = np.random.default_rng(3)
    w_in = rng.standard_normal((D, N))
    w = C.optimal_readout(w_in, task)
    base = cc.one_hot_loss(w, m)
    # central finite differences of the closed-form one-hot loss vanish at W_out*
    h = 1e-6
    for _ in range(20):
        o, k = rng.integers(N), rng.integers(D)
        e = np.zeros((N, D))
        e[o, k] = h
        up = cc.one_hot_loss(cc.Weights(w_in, w.W_out + e), m)
        dn = cc.one_hot_loss(cc.Weights(w_in, w.W_out - e), m)
        assert abs(up - dn) / (2 * h) < 1e-8
    for _ in range(5):
        assert cc.one_hot_loss(cc.Weights(w_in, w.W_out + 1e-3 * rng.standard_normal((N, D))), m) > base


def test_optimal_readout_silent_neuron_gets_zero_readout():
    task = cc.Task(_mixings()["random"], D, one_hot=True)
    w_in = np.abs(np.random.default_rng(0).standard_normal((D, N)))
    w_in[2] = 0.0
    w = C.optimal_readout(w_in, task)
    assert np.all(np.abs(w.W_out[:, 2]) < 1e-12)
    assert np.all(np.isfinite(w.W_out))


def test_optimal_readout_bernoulli_moments_against_brute_force():
    m = _mixings()["embedding"]
    p = 0.1
    task = cc.Task(m, D, p)
    rng = np.random.default_rng(4)
    w_in = rng.standard_normal((D, N))
    g, y = readout_moments(w_in, task, 1 << 19, seed=0)
    # brute force: dense Bernoulli samples, all strata, plain NumPy
    n_s = 100_000
    x = rng.uniform(-1, 1, (n_s, N)) * (rng.random((n_s, N)) < p)
    # einsum, not BLAS: a threaded BLAS is very slow on a loaded machine (docs/benchmarks.md)
    h = np.maximum(np.einsum("si,ai->sa", x, w_in), 0.0)
    lab = np.maximum(x, 0.0) + np.einsum("si,oi->so", x, m)
    gh = np.einsum("sa,sb->sab", h[:10_000], h[:10_000])  # per-sample terms for the standard error
    g_bf = np.einsum("sa,sb->ab", h, h) / n_s
    y_bf = np.einsum("sa,so->ao", h, lab) / n_s
    # standard errors: brute force, plus ccsolve's own k >= 2 Monte Carlo part (at most as large per sample)
    both = np.sqrt(1.0 / n_s + 1.0 / (1 << 19))
    se_g = np.std(gh, axis=0, ddof=1) * both
    assert np.all(np.abs(g - g_bf) <= 4 * se_g + 1e-12)
    hy = np.einsum("sa,so->sao", h[:10_000], lab[:10_000])
    se_y = np.std(hy, axis=0, ddof=1) * both
    assert np.all(np.abs(y - y_bf) <= 4 * se_y + 1e-12)
    # the readout itself is the normal-equation solution of those moments
    w = C.optimal_readout(w_in, task, n_samples=1 << 19, seed=0)
    np.testing.assert_allclose(w.W_out @ g, y.T, atol=1e-10 * np.abs(y).max())


def test_optimal_readout_bernoulli_tends_to_one_hot_readout_and_is_seeded():
    m = _mixings()["random"]
    w_in = np.random.default_rng(5).standard_normal((D, N))
    tiny = C.optimal_readout(w_in, cc.Task(m, D, 1e-7), n_samples=1000)
    one_hot = C.optimal_readout(w_in, cc.Task(m, D, one_hot=True))
    np.testing.assert_allclose(tiny.W_out, one_hot.W_out, rtol=1e-4, atol=1e-6)
    a = C.optimal_readout(w_in, cc.Task(m, D, 0.2), n_samples=5000, seed=9)
    b = C.optimal_readout(w_in, cc.Task(m, D, 0.2), n_samples=5000, seed=9)
    assert a == b


# ---------------------------------------------------------------------------- minimize_one_hot


def test_one_hot_gradient_against_finite_differences():
    m = _mixings()["embedding"]
    rng = np.random.default_rng(8)
    w_in = rng.standard_normal((D, N))
    w_in[np.abs(w_in) < 0.05] = 0.3  # keep away from the ReLU kink
    w_out = rng.standard_normal((N, D))
    loss, g_in, g_out = C.one_hot_loss_and_gradient(w_in, w_out, m)
    assert np.isclose(loss, cc.one_hot_loss(cc.Weights(w_in, w_out), m), rtol=1e-13)
    h = 1e-6
    for _ in range(15):
        a, i = rng.integers(D), rng.integers(N)
        e = np.zeros((D, N))
        e[a, i] = h
        fd = (cc.one_hot_loss(cc.Weights(w_in + e, w_out), m) - cc.one_hot_loss(cc.Weights(w_in - e, w_out), m)) / (2 * h)
        assert abs(fd - g_in[a, i]) < 1e-7 * (1 + abs(fd))
        o, k = rng.integers(N), rng.integers(D)
        e = np.zeros((N, D))
        e[o, k] = h
        fd = (cc.one_hot_loss(cc.Weights(w_in, w_out + e), m) - cc.one_hot_loss(cc.Weights(w_in, w_out - e), m)) / (2 * h)
        assert abs(fd - g_out[o, k]) < 1e-7 * (1 + abs(fd))
    # the reduced loss (readout eliminated): Danskin's gradient against finite differences
    task = cc.Task(m, D, one_hot=True)

    def reduced(wi):
        return cc.one_hot_loss(C.optimal_readout(wi, task), m)

    loss_r, g_r, _ = C.reduced_one_hot_loss_and_gradient(w_in, m)
    assert np.isclose(loss_r, reduced(w_in), rtol=1e-12)
    for _ in range(10):
        a, i = rng.integers(D), rng.integers(N)
        e = np.zeros((D, N))
        e[a, i] = h
        fd = (reduced(w_in + e) - reduced(w_in - e)) / (2 * h)
        assert abs(fd - g_r[a, i]) < 1e-6 * (1 + abs(fd))


def test_minimize_one_hot_clean_reaches_exactly_one_twelfth():
    task = cc.Task(cc.mixing.clean(N), D, one_hot=True)
    r = C.minimize_one_hot(task, init="random", n_inits=2, seed=3, max_iter=200)
    assert abs(r.one_hot_loss - 1 / 12) < 1e-9
    assert r.one_hot_loss >= cc.one_hot_lower_bound(task) - 1e-12
    assert len(r.runs) == 2 and all(run["init"] == "random" for run in r.runs)
    assert np.isclose(r.one_hot_loss, cc.one_hot_loss(r.weights, task))


@pytest.mark.parametrize("kind", ["embedding", "random"])
def test_every_construction_respects_the_bound_and_snmf_minimize_beat_naive(kind):
    m = {"embedding": _CONVERGING["embedding_60"](), "random": _mixings()["random"]}[kind]
    task = cc.Task(m, D, 0.01, one_hot=True)
    bound = cc.one_hot_lower_bound(task)
    snmf = C.snmf(task, max_iter=300)
    mini = C.minimize_one_hot(task, init="svd", max_iter=120, seed=0)
    polished = C.minimize_one_hot(task, init=snmf.weights, max_iter=20, seed=0)
    built = {
        "naive": C.naive(task),
        "naive_offset": C.naive_offset(task),
        "svd": C.svd(task),
        "svd_optimal": C.svd(task, readout="optimal"),
        "svd_mixing_plus_alpha": C.svd(task, target="mixing_plus_alpha"),
        "snmf": snmf.weights,
        "snmf_reference": C.snmf(task, recipe="reference").weights,
        "minimize_one_hot": mini.weights,
        "minimize_one_hot_from_snmf": polished.weights,
    }
    for name, w in built.items():
        assert cc.one_hot_loss(w, m) >= bound - 1e-12, name
        assert _gap_consistent(w, task), name
    assert snmf.one_hot_loss < 1 / 12
    assert mini.one_hot_loss < 1 / 12
    assert bound <= polished.one_hot_loss < snmf.one_hot_loss  # quasi-Newton from the SNMF point improves it
    assert all(run["one_hot_loss"] <= run["start_loss"] + 1e-12 for run in mini.runs + polished.runs)


def _gap_consistent(w, task):
    s = C.summarize(w, task)
    return s.gap >= -1e-12 and np.isclose(s.gap, s.one_hot_loss - s.lower_bound)


def test_full_size_embedding_snmf_and_minimize_beat_naive(embedding_m):
    task = cc.Task(embedding_m, 50, one_hot=True)
    bound = cc.one_hot_lower_bound(task)
    snmf = C.snmf(task)
    assert snmf.converged
    assert bound <= snmf.one_hot_loss < 1 / 12
    mini = C.minimize_one_hot(task, init=snmf.weights, max_iter=30)
    assert bound <= mini.one_hot_loss < snmf.one_hot_loss


# ----------------------------------------------------------------------------------- summaries


def test_summarize_and_result_summary():
    m = _mixings()["embedding"]
    task = cc.Task(m, D, 0.05)
    r = C.snmf(task)
    s = C.summarize(r, task)
    assert s.one_hot_loss == cc.one_hot_loss(r.weights, m) and s.lower_bound == cc.one_hot_lower_bound(task)
    assert s.loss_per_feature is None
    s2 = r.summary(task, at_p=True, n_samples=200_000, seed=3)
    est = cc.loss_per_feature(r.weights, task, n_samples=200_000, seed=3)
    assert s2.loss_per_feature == est.value and s2.stderr == est.stderr and s2.p == 0.05
    bf, se = brute_force_loss(r.weights.W_in, r.weights.W_out, m, 0.05, 200_000, seed=4)
    assert abs(s2.loss_per_feature - bf) < 4 * np.hypot(se, s2.stderr)


def test_kkt_residual_is_scale_invariant_and_zero_at_stationary_points():
    task = cc.Task(_CONVERGING["symmetric"](), D, one_hot=True)
    w = C.snmf(task, tol=1e-9).weights
    assert C.kkt_residual(w, task) <= 1e-9
    c = np.linspace(0.5, 2.0, D)
    scaled = cc.Weights(w.W_in * c[:, None], w.W_out / c[None, :])
    assert C.kkt_residual(scaled, task) <= 1e-8
    naive = C.naive(task)
    assert C.kkt_residual(naive, task) > 1e-3


# ---------------------------------------------------------------------------------- validation


def test_validation_errors():
    task = cc.Task(_mixings()["random"], D, one_hot=True)
    with pytest.raises(ValueError, match="target"):
        C.svd(task, target="nope")
    with pytest.raises(ValueError, match="readout"):
        C.svd(task, readout="best")
    with pytest.raises(TypeError, match="alpha"):
        C.svd(task, target="mixing_plus_alpha", alpha="x")
    with pytest.raises(TypeError, match="task"):
        C.svd(np.eye(N))
    with pytest.raises(ValueError, match="solver"):
        C.snmf(task, solver="magic")
    with pytest.raises(ValueError, match="recipe"):
        C.snmf(task, recipe="other")
    with pytest.raises(ValueError, match="init"):
        C.snmf(task, init="kmeans")
    with pytest.raises(ValueError, match=">= 0"):
        C.snmf(task, init=C.svd(task, target="mixing"))
    with pytest.raises(ValueError, match="restarts"):
        C.snmf(task, restarts=0)
    with pytest.raises(ValueError, match="tol"):
        C.snmf(task, tol=-1.0)
    with pytest.raises(TypeError, match="progress"):
        C.snmf(task, progress="yes")
    with pytest.raises(ValueError, match="cvxpy"):
        C.snmf(cc.Task(cc.mixing.clean(100), 50, one_hot=True), solver="cvxpy")
    with pytest.raises(TypeError, match="seed"):
        C.snmf(task, recipe="reference", seed=1.5)
    with pytest.raises(ValueError, match="W_in"):
        C.optimal_readout(np.ones((D, N + 1)), task)
    with pytest.raises(ValueError, match="NaN"):
        C.optimal_readout(np.full((D, N), np.nan), task)
    with pytest.raises(ValueError, match="n_samples"):
        C.optimal_readout(np.ones((D, N)), task.with_p(0.1), n_samples=0)
    with pytest.raises(ValueError, match="method"):
        C.minimize_one_hot(task, method="Nelder-Mead")
    with pytest.raises(ValueError, match="init"):
        C.minimize_one_hot(task, init=[])
    with pytest.raises(ValueError, match="init"):
        C.minimize_one_hot(task, init="best")
    with pytest.raises(TypeError, match="init"):
        C.minimize_one_hot(task, init=5)
    with pytest.raises(ValueError, match="n_neurons"):
        C.minimize_one_hot(task, init=C.naive(cc.Task(task.mixing, D - 1)))
    with pytest.raises(ValueError, match="negative"):
        C.kkt_residual(C.svd(task, target="mixing"), task)
    with pytest.raises(TypeError, match="at_p"):
        C.summarize(C.naive(task), task, at_p="yes")
