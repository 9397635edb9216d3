"""ccsolve.residual against independent references: the one-layer case against ccsolve.Task, the
one-hot closed form against numerical integration of the dense residual-stream forward, Monte
Carlo against an independent NumPy sampler, gradients against finite differences, the fast trainer
against the dense baseline, and bad input."""

import math

import numpy as np
import pytest

import ccsolve as cc
import ccsolve.residual as R
from ccsolve._kernels import residual as K
from ccsolve.residual import trainer as T


def _random_weights(task, rng, scale=1.0):
    w_in = [rng.normal(size=(d, task.d_embed)) * scale / math.sqrt(task.d_embed) for d in task.d_mlp]
    w_out = [rng.normal(size=(task.d_embed, d)) * scale / math.sqrt(d) for d in task.d_mlp]
    return R.ResidualWeights(w_in, w_out)


def _brute_sq(weights, task, x_cols):
    """||y_hat - y||^2 per sample from the dense residual-stream forward (ResidualWeights.__call__)."""
    err = weights(x_cols, task) - task.labels(x_cols)
    return np.sum(err * err, axis=0)


# --- one layer: identical to ccsolve.Task -------------------------------------------------------

def test_one_layer_reduces_to_ccsolve_task():
    task = R.ResidualTask(n_features=20, d_embed=60, n_layers=1, d_mlp=8, p=0.05, seed=3)
    # same seed, same draw: M = I - E^T E is ccsolve.mixing.embedding's sign=-1 matrix, bit for bit
    m_ref = cc.mixing.embedding(20, 60, seed=3, sign=-1)
    assert np.array_equal(task.to_task().mixing, m_ref)
    assert np.allclose(np.linalg.norm(task.embedding, axis=0), 1.0, atol=1e-14)
    w = _random_weights(task, np.random.default_rng(0), scale=2.0)
    cw, ct = w.to_weights(task), task.to_task()
    # the error vectors agree sample by sample
    x = task.sample_inputs(50, seed=1)
    err_res = w(x, task) - task.labels(x)
    err_cc = cw(x) - cc.labels(ct, x)
    assert np.allclose(err_res, err_cc, atol=1e-12)
    # exact one-hot loss and per-feature errors
    one_hot = task.as_one_hot()
    assert R.one_hot_loss(w, one_hot) == pytest.approx(cc.one_hot_loss(cw, ct.mixing), rel=1e-12)
    ref = cc.closed_forms.one_hot_feature_errors(cw, ct.mixing)
    for a, b in zip(R.one_hot_feature_errors(w, task), ref):
        assert np.allclose(a, b, rtol=1e-11)
    assert R.loss_per_feature(w, one_hot, method="exact").value == pytest.approx(
        cc.loss_per_feature(cw, ct.as_one_hot(), method="exact").value, rel=1e-12)
    # Bernoulli: residual Monte Carlo vs ccsolve's stratified estimator (independent code and sampler)
    ours = R.loss_per_feature(w, task, method="monte_carlo", n_samples=1 << 17, seed=5)
    theirs = cc.loss_per_feature(cw, ct, method="stratified", n_samples=1 << 15, seed=6)
    assert abs(ours.value - theirs.value) < 4 * math.hypot(ours.stderr, theirs.stderr)


# --- exact one-hot at depth ------------------------------------------------------------------------

@pytest.mark.parametrize("label_type, coefficients", [("act_plus_resid", "trivial"), ("act_plus_resid", "random"),
                                                      ("abs", "random")])
def test_multilayer_one_hot_closed_form_matches_integration(label_type, coefficients):
    task = R.ResidualTask(n_features=9, d_embed=40, n_layers=3, d_mlp=(5, 3, 4), seed=2, n_active=1,
                          label_type=label_type, coefficients=coefficients)
    w = _random_weights(task, np.random.default_rng(1), scale=3.0)
    # brute force: the dense forward at t e_i for a midpoint grid of t in [-1, 1], no homogeneity used
    q = 4000
    t = -1.0 + (np.arange(q) + 0.5) * (2.0 / q)
    total = 0.0
    for i in range(task.n_features):
        x = np.zeros((task.n_features, q))
        x[i] = t
        total += np.mean(_brute_sq(w, task, x))  # E over t ~ U[-1, 1]
    brute = total / task.n_features
    assert R.one_hot_loss(w, task) == pytest.approx(brute, rel=1e-5)
    mc = R.loss_per_feature(w, task, method="monte_carlo", n_samples=1 << 16, seed=0)
    assert abs(mc.value - brute) < 4 * mc.stderr


def test_monte_carlo_matches_independent_sampler():
    rng = np.random.default_rng(4)
    for task in (R.ResidualTask(n_features=12, d_embed=30, n_layers=2, d_mlp=6, p=0.15, seed=1),
                 R.ResidualTask(n_features=12, d_embed=30, n_layers=2, d_mlp=6, seed=1, n_active=2)):
        w = _random_weights(task, rng, scale=2.0)
        x = task.sample_inputs(40_000, seed=9)  # numpy Generator, dense forward in the residual stream
        per = _brute_sq(w, task, x) / task.expected_active
        ref, ref_se = per.mean(), per.std(ddof=1) / math.sqrt(per.size)
        est = R.loss_per_feature(w, task, method="monte_carlo", n_samples=1 << 17, seed=2)
        assert abs(est.value - ref) < 4 * math.hypot(est.stderr, ref_se)
        if task.n_active is None:
            st = R.loss_per_feature(w, task, method="stratified", n_samples=1 << 15, seed=3)
            assert abs(st.value - ref) < 4 * math.hypot(st.stderr, ref_se)
            assert st.details["p_one"] == pytest.approx(12 * 0.15 * 0.85**11)


def test_sampler_law():
    n, size = 10, 200_000
    task = R.ResidualTask(n_features=n, d_embed=n, n_layers=1, d_mlp=2, p=0.2, seed=0)
    x = np.empty((size, n))
    base = np.empty((size, n))
    lpos, lneg = task.label_slopes
    cdf = R.evaluation.binomial_cdf(n, 0.2)
    m = K.draw_rows(n, cdf, np.uint64(7), size, np.ascontiguousarray(task.gram), lpos, lneg, x, base, np.zeros(n, bool))
    assert abs(m / size - (1 - 0.8**n)) < 4 * math.sqrt(0.9 * 0.1 / size)
    active = x[:m] != 0
    assert np.all(np.abs(active.mean(axis=0) * m / size - 0.2) < 4 * math.sqrt(0.16 / size))
    vals = x[:m][active]
    assert abs(vals.mean()) < 4 * math.sqrt(1 / 3 / vals.size) and np.all(np.abs(vals) <= 1)
    # base = X G - Y exactly
    xs = x[:50]
    assert np.allclose(base[:50], xs @ task.gram - task.labels(xs.T).T, atol=1e-13)


# --- gradients -------------------------------------------------------------------------------------

def test_gradients_match_finite_differences():
    rng = np.random.default_rng(8)
    task = R.ResidualTask(n_features=7, d_embed=11, n_layers=3, d_mlp=(4, 2, 3), seed=5, coefficients="random")
    w = _random_weights(task, rng, scale=2.5)
    batch = 40
    x = task.sample_inputs(batch, seed=3)
    x[:, :3] = 0.0  # empty samples count in the mean
    x[:, 3:6] = rng.uniform(-1, 1, (task.n_features, 3))  # dense ones too
    keep = np.any(x != 0, axis=0)
    xr = np.ascontiguousarray(x[:, keep].T)
    base = xr @ task.gram - task.labels(xr.T).T
    w_in, w_out = [np.array(a) for a in w.W_in], [np.array(b) for b in w.W_out]

    def mse():
        ww = R.ResidualWeights(w_in, w_out)
        return float(np.sum(_brute_sq(ww, task, x))) / (batch * task.n_features)

    sq, g_in, g_out = T.feature_space_gradients(xr, base, w_in, w_out, task.embedding, batch)
    sq_d, gd_in, gd_out = T.dense_gradients(np.ascontiguousarray(x.T), task.labels(x).T, w_in, w_out,
                                            task.embedding)
    assert sq / (batch * task.n_features) == pytest.approx(mse(), rel=1e-12)
    assert sq_d == pytest.approx(sq, rel=1e-12)
    h = 1e-6
    for params, grads, dgrads in ((w_in, g_in, gd_in), (w_out, g_out, gd_out)):
        for arr, g, gd in zip(params, grads, dgrads):
            fd = np.empty_like(arr)
            for idx in np.ndindex(arr.shape):
                old = arr[idx]
                arr[idx] = old + h
                up = mse()
                arr[idx] = old - h
                fd[idx] = (up - mse()) / (2 * h)
                arr[idx] = old
            assert np.allclose(g, fd, rtol=1e-5, atol=1e-9)
            assert np.allclose(gd, g, rtol=1e-10, atol=1e-14)


# --- optimiser, schedule, trainer --------------------------------------------------------------------

def test_adamw_and_schedule_by_hand():
    p = np.array([[1.0, -2.0]])
    g = np.array([[0.5, 1e-3]])
    m, v = np.zeros_like(p), np.zeros_like(p)
    K.adamw(p, g, m, v, 0.1, 0.01, 0.9, 0.999, 1e-8, 1)
    # first step: p (1 - lr wd) - lr g / (|g| + eps) (bias corrections cancel)
    want = np.array([[1.0, -2.0]]) * (1 - 0.1 * 0.01) - 0.1 * g / (np.abs(g) + 1e-8)
    assert np.allclose(p, want, rtol=1e-12)
    assert np.allclose(T.spd_cosine_lr(1.0, 5), [1.0, (1 + math.cos(math.pi / 4)) / 2, 0.5,
                                                  (1 + math.cos(3 * math.pi / 4)) / 2, 0.0])


def test_trainer_equals_dense_baseline_and_is_deterministic():
    task = R.ResidualTask(n_features=15, d_embed=40, n_layers=2, d_mlp=5, p=0.1, seed=1)
    a = R.train(task, steps=30, batch_size=128, seed=4, progress=False)
    b = R.train_dense_numpy(task, steps=30, batch_size=128, seed=4, progress=False)
    c = R.train(task, steps=30, batch_size=128, seed=4, progress=False)
    assert a.weights == c.weights
    for x, y in zip(a.weights.W_in + a.weights.W_out, b.weights.W_in + b.weights.W_out):
        assert np.allclose(x, y, atol=1e-10)
    assert np.allclose(a.losses, b.losses, rtol=1e-9)
    init = R.linear_default_init(task, np.random.default_rng(np.random.SeedSequence(4).spawn(2)[0]))
    assert a.losses[0] * task.expected_active == pytest.approx(
        float(np.mean(_brute_sq(init, task, task.sample_inputs(200_000, seed=0)))), rel=0.3)
    # the init bounds are nn.Linear's
    assert np.abs(init.W_in[0]).max() <= 1 / math.sqrt(40) and np.abs(init.W_out[0]).max() <= 1 / math.sqrt(5)


def test_training_lowers_the_exact_one_hot_loss():
    task = R.ResidualTask(n_features=20, d_embed=50, n_layers=2, d_mlp=6, seed=0, n_active=1)
    init = R.linear_default_init(task, 0)
    res = R.train(task, steps=300, batch_size=256, seed=0, init=init, progress=False)
    assert R.one_hot_loss(res.weights, task) < 0.8 * R.one_hot_loss(init, task)


# --- loaders and presets ---------------------------------------------------------------------------

def test_state_dict_layouts():
    task = R.ResidualTask(n_features=6, d_embed=10, n_layers=2, d_mlp=3, seed=0)
    w = _random_weights(task, np.random.default_rng(2))
    spd = {"W_E": task.embedding.T, "W_U": task.embedding}
    apd = {"W_E": task.embedding.T[None], "W_U": task.embedding[None]}
    for l in range(2):
        spd[f"layers.{l}.mlp_in.weight"] = w.W_in[l]
        spd[f"layers.{l}.mlp_out.weight"] = w.W_out[l]
        apd[f"layers.{l}.mlp_in.weight"] = np.stack([w.W_in[l].T, 0 * w.W_in[l].T])
        apd[f"layers.{l}.mlp_out.weight"] = np.stack([w.W_out[l].T, 0 * w.W_out[l].T])
    assert R.ResidualWeights.from_spd_state_dict(spd) == w
    # spd's forward, row convention, written from its models.py: resid = x @ W_E; resid += mlp_out(relu(mlp_in(resid)))
    x = task.sample_inputs(7, seed=0).T
    resid = x @ spd["W_E"]
    for l in range(2):
        resid = resid + np.maximum(resid @ spd[f"layers.{l}.mlp_in.weight"].T, 0.0) @ spd[f"layers.{l}.mlp_out.weight"].T
    assert np.allclose(resid @ spd["W_U"], w(x.T, task).T, atol=1e-12)
    # APD's: x @ W per layer, instance 0
    resid = x @ apd["W_E"][0]
    for l in range(2):
        resid = resid + np.maximum(resid @ apd[f"layers.{l}.mlp_in.weight"][0], 0.0) @ apd[f"layers.{l}.mlp_out.weight"][0]
    assert np.allclose(resid @ apd["W_U"][0], w(x.T, task).T, atol=1e-12)
    assert R.ResidualWeights.from_apd_state_dict(apd, instance=0) == w
    spd["layers.0.mlp_in.bias"] = np.ones(3)
    with pytest.raises(ValueError, match="bias"):
        R.ResidualWeights.from_spd_state_dict(spd)


def test_presets_and_save_load(tmp_path):
    t3 = R.ResidualTask.from_preset("resid_mlp3", seed=1)
    assert (t3.n_features, t3.d_embed, t3.n_layers, t3.d_mlp, t3.p) == (102, 1000, 3, (17, 17, 17), 0.01)
    assert np.all(t3.coefficients == 1.0)
    w = R.linear_default_init(t3, 0)
    w.save(tmp_path / "w.npz", note="x")
    assert R.ResidualWeights.load(tmp_path / "w.npz") == w


# --- bad input -------------------------------------------------------------------------------------

def test_bad_input():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match=r"W_in\[1\] must have shape"):
        R.ResidualWeights([rng.normal(size=(3, 10)), rng.normal(size=(3, 11))],
                          [rng.normal(size=(10, 3)), rng.normal(size=(10, 3))])
    with pytest.raises(ValueError, match=r"W_out\[0\] must have shape"):
        R.ResidualWeights([rng.normal(size=(3, 10))], [rng.normal(size=(10, 4))])
    with pytest.raises(ValueError, match="W_in has 2 layers but W_out has 1"):
        R.ResidualWeights([rng.normal(size=(3, 10))] * 2, [rng.normal(size=(10, 3))])
    with pytest.raises(TypeError, match="W_in must be a list"):
        R.ResidualWeights(rng.normal(size=(3, 10)), [rng.normal(size=(10, 3))])
    task = R.ResidualTask(n_features=5, d_embed=10, n_layers=3, d_mlp=3, seed=0)
    two = R.ResidualWeights([rng.normal(size=(3, 10))] * 2, [rng.normal(size=(10, 3))] * 2)
    with pytest.raises(ValueError, match="n_layers=2 but the task has n_layers=3"):
        R.one_hot_loss(two, task)
    wide = R.ResidualWeights([rng.normal(size=(4, 10))] * 3, [rng.normal(size=(10, 4))] * 3)
    with pytest.raises(ValueError, match="d_mlp"):
        R.loss_per_feature(wide, task)
    with pytest.raises(ValueError, match="coefficients must be > 0"):
        R.ResidualTask(n_features=3, d_embed=4, coefficients=[1.0, -0.5, 1.0])
    with pytest.raises(ValueError, match=r"coefficients must have shape \(3,\)"):
        R.ResidualTask(n_features=3, d_embed=4, coefficients=[1.0, 1.0])
    with pytest.raises(ValueError, match="d_mlp has 2 entries but n_layers=3"):
        R.ResidualTask(n_features=3, d_embed=4, n_layers=3, d_mlp=(2, 2))
    with pytest.raises(ValueError, match="n_active must be <= n_features"):
        R.ResidualTask(n_features=3, d_embed=4, n_active=4)
    with pytest.raises(ValueError, match="label_type"):
        R.ResidualTask(n_features=3, d_embed=4, label_type="gelu")
    with pytest.raises(ValueError, match="p must be in"):
        R.ResidualTask(n_features=3, d_embed=4, p=0.0)
    w3 = R.ResidualWeights([rng.normal(size=(3, 10))] * 3, [rng.normal(size=(10, 3))] * 3)
    with pytest.raises(ValueError, match="method='exact' needs a one-hot task"):
        R.loss_per_feature(w3, task, method="exact")
    with pytest.raises(ValueError, match="pass steps"):
        R.train(task, progress=False)
    with pytest.raises(TypeError, match="task must be a ccsolve.residual.ResidualTask"):
        R.train("resid_mlp1")
    with pytest.raises(ValueError, match="to_task needs n_layers=1"):
        task.to_task()


def test_two_active_sector_fan_matches_grid_and_monte_carlo():
    task = R.ResidualTask(n_features=5, d_embed=20, n_layers=3, d_mlp=(5, 3, 4), seed=2, n_active=2,
                          coefficients="random")
    w = _random_weights(task, np.random.default_rng(1), scale=3.0)
    from ccsolve.residual import pairs

    lpos, lneg = task.label_slopes
    prods = R.evaluation._model.products(w.W_in, w.W_out, task.embedding)
    # one pair against a 500 x 500 midpoint grid of the dense residual-stream forward
    q = 500
    g = -1.0 + (np.arange(q) + 0.5) * (2.0 / q)
    s_, t_ = np.meshgrid(g, g)
    x = np.zeros((task.n_features, q * q))
    x[1], x[3] = s_.ravel(), t_.ravel()
    grid = float(np.mean(_brute_sq(w, task, x)))
    exact, n_sectors = pairs.pair_expectation(1, 3, prods, task.gram, lpos, lneg, task.n_layers)
    assert n_sectors > 8  # the fan was refined beyond the axes and diagonals
    assert exact == pytest.approx(grid, rel=2e-5)
    # all pairs against Monte Carlo with exactly two active
    e = R.loss_per_feature(w, task, method="exact")
    mc = R.loss_per_feature(w, task, method="monte_carlo", n_samples=1 << 17, seed=0)
    assert abs(e.value - mc.value) < 4 * mc.stderr


def test_results_follow_the_result_protocol():
    import json

    from ccsolve.core.results import Result

    task = R.ResidualTask(n_features=6, d_embed=10, n_layers=2, d_mlp=(3, 2), seed=0)
    res = R.train(task, steps=3, batch_size=64, progress=False)
    est = R.loss_per_feature(res.weights, task, method="monte_carlo", n_samples=1000)
    for r in (res, est):
        assert isinstance(r, Result)
        json.dumps(r.to_dict())
    assert len(res.to_dict()["weights"]["W_in"]) == 2 and "value=" in repr(est)
    assert importlib_residual() is R


def importlib_residual():
    import ccsolve

    return ccsolve.residual
