"""The trainer: hand-written gradients against finite differences, AdamW and the schedule against
hand-computed values, the init bounds, path agreement, determinism, and the published outcomes."""

import math

import numba
import numpy as np
import pytest

import ccsolve as cc
from ccsolve import training as T  # noqa: E402
from ccsolve.training import trainer as _trainer  # noqa: E402
from ccsolve._kernels import train as K


def _batch(rng, batch, n, p):
    x = rng.uniform(-1.0, 1.0, (batch, n)) * (rng.random((batch, n)) < p)
    return x


def _brute_loss(x, wt, wo, sigma, g):
    """sum_s ||W_out ReLU(W_in x_s) - ReLU(x_s) - sigma G x_s||^2 in plain NumPy, row convention."""
    e = np.maximum(x @ wt, 0.0) @ wo.T - np.maximum(x, 0.0) - sigma * (x @ g.T)
    return float(np.sum(e * e))


def _central(f, arr, i, j, h=1e-6):
    old = arr[i, j]
    arr[i, j] = old + h
    up = f()
    arr[i, j] = old - h
    down = f()
    arr[i, j] = old
    return (up - down) / (2 * h)


@pytest.mark.parametrize("which", ["sparse", "dense"])
@pytest.mark.parametrize("p, has_g", [(0.25, True), (0.03, True), (0.25, False)])
def test_gradients_match_finite_differences(which, p, has_g):
    rng = np.random.default_rng(11)
    n, d, batch = 12, 6, 60
    x = _batch(rng, batch, n, p)
    x[0] = 0.0
    x[1] = 0.0
    x[1, 3] = 0.7  # one-feature samples of both signs, and an empty one
    x[2] = 0.0
    x[2, 5] = -0.4
    g = rng.normal(size=(n, n)) if has_g else np.zeros((n, n))
    sigma = 0.4
    wt = rng.normal(size=(n, d)) * 0.6
    wo = rng.normal(size=(n, d)) * 0.6
    if which == "sparse":
        loss, gwt, gwo, dsig = _trainer.sparse_gradients(x, wt, wo, sigma, g, has_g)
    else:
        loss, gwt, gwo, dsig = _trainer.dense_gradients(x, wt, wo, sigma, np.ascontiguousarray(g.T), has_g)
    assert loss == pytest.approx(_brute_loss(x, wt, wo, sigma, g), rel=1e-12)
    # the kernels return sums with d(sum ||e||^2)/dW = 2 * g and d/dsigma = -2 * dsig
    f = lambda: _brute_loss(x, wt, wo, sigma, g)  # noqa: E731
    for arr, grad in ((wt, gwt), (wo, gwo)):
        fd = np.array([[_central(f, arr, i, j) for j in range(d)] for i in range(n)])
        np.testing.assert_allclose(2.0 * grad, fd, rtol=1e-6, atol=1e-6 * np.abs(fd).max())
    if has_g:
        h = 1e-6
        fd_sig = (_brute_loss(x, wt, wo, sigma + h, g) - _brute_loss(x, wt, wo, sigma - h, g)) / (2 * h)
        assert -2.0 * dsig == pytest.approx(fd_sig, rel=1e-6)


@pytest.mark.parametrize("p", [0.01, 0.3])
def test_sparse_and_dense_paths_same_gradient_full_size(p):
    rng = np.random.default_rng(3)
    m = cc.mixing.embedding(100, 1000, seed=0)
    w = T.kaiming_uniform_init(100, 50, seed=2)
    wt, wo = np.ascontiguousarray(w.W_in.T), np.ascontiguousarray(w.W_out)
    x = _batch(rng, 2048, 100, p)
    a = _trainer.sparse_gradients(x, wt, wo, 1.3, m, True)
    b = _trainer.dense_gradients(x, wt, wo, 1.3, np.ascontiguousarray(m.T), True)
    assert a[0] == pytest.approx(b[0], rel=1e-12)
    for u, v in zip(a[1:3], b[1:3]):
        np.testing.assert_allclose(u, v, rtol=1e-9, atol=1e-12 * np.abs(v).max())
    assert a[3] == pytest.approx(b[3], rel=1e-10)


@pytest.mark.parametrize("p", [0.01, 0.2, K.GATE_P + 0.05, 1.0, "one_hot"])
def test_drawn_batches_have_the_input_law(p):
    # independent Bernoulli(p) gates per feature with U[-1, 1] values (one-hot: exactly one feature)
    n, batch = 10, 200_000
    one_hot = p == "one_hot"
    q = 1.0 / n if one_hot else p
    sizes = np.array([70_000, 70_000, 60_000])
    indptr, indices, values = np.empty(batch + 1, np.int64), np.empty(batch * n, np.int64), np.empty(batch * n)
    nnz = K.draw_batch(1.0 if one_hot else p, K.binomial_cdf(n, 1.0 if one_hot else p), one_hot, n, sizes,
                       np.array([5, 6, 7], np.uint64), indptr, indices, values, np.zeros(n, bool))
    x = np.zeros((batch, n))
    K.csr_to_dense(indptr, indices, values, x)
    act = x != 0
    assert act.sum() == nnz  # no feature drawn twice in a sample
    se = np.sqrt(q * (1 - q) / batch)
    assert np.all(np.abs(act.mean(axis=0) - q) < 4.5 * se + 1e-12)
    k = act.sum(axis=1)
    if one_hot:
        assert np.all(k == 1)
    else:
        assert abs(k.var() - n * p * (1 - p)) < 0.05 * n * p * (1 - p) + 1e-12
        pair = (act[:, 0] & act[:, 1]).mean()  # independence of two features
        assert abs(pair - p * p) < 4.5 * np.sqrt(p * p * (1 - p * p) / batch) + 1e-12
    v = values[:nnz]
    assert v.min() >= -1 and v.max() < 1
    assert abs(v.mean()) < 4.5 * np.sqrt(1 / 3 / nnz)
    assert abs(np.mean(v * v) - 1 / 3) < 4.5 * np.sqrt(4 / 45 / nnz)


def test_one_adamw_step_by_hand():
    lr, wd, b1, b2, eps = 0.01, 0.1, 0.9, 0.999, 1e-8
    p0 = np.array([[0.5, -1.0, 2.0]])
    g = np.array([[0.3, -2e-9, 0.0]])
    m0 = np.array([[0.1, 0.2, -0.3]])
    v0 = np.array([[0.04, 0.01, 0.09]])
    step = 3
    # torch.optim.AdamW written out: decay, moments, bias corrections, eps outside the sqrt
    m1 = b1 * m0 + (1 - b1) * g
    v1 = b2 * v0 + (1 - b2) * g * g
    m_hat = m1 / (1 - b1**step)
    v_hat = v1 / (1 - b2**step)
    expected = p0 * (1 - lr * wd) - lr * m_hat / (np.sqrt(v_hat) + eps)
    p, m, v = p0.copy(), m0.copy(), v0.copy()
    K.adamw(p, g.copy(), m, v, lr, wd, b1, b2, eps, step)
    np.testing.assert_allclose(p, expected, rtol=1e-14, atol=1e-16)
    np.testing.assert_allclose(m, m1, rtol=1e-14, atol=1e-17)
    np.testing.assert_allclose(v, v1, rtol=1e-14)


def test_first_training_step_is_an_adam_sign_step_from_a_fresh_optimizer():
    # Adam's first bias-corrected step is lr * g / (|g| + eps): every weight moves by at most lr and,
    # unless its gradient is below ~1e-5, by lr to 4 digits; the schedule's first lr is the base lr.
    task = cc.Task(cc.mixing.embedding(30, 200, seed=1), 10, 0.2)
    w0 = T.kaiming_uniform_init(30, 10, seed=5)
    lr = 1e-3
    res = T.train(task, steps=1, batch_size=256, lr=lr, weight_decay=0.0, seed=0, init=w0, progress=False)
    for before, after in ((w0.W_in, res.weights.W_in), (w0.W_out, res.weights.W_out)):
        delta = np.abs(after - before)
        assert delta.max() <= lr * (1 + 1e-12)
        assert np.mean(np.abs(delta - lr) < 1e-4 * lr) > 0.9
    # continuing from trained weights restarts the optimiser: again a sign step
    res2 = T.train(task, steps=1, batch_size=256, lr=lr, weight_decay=0.0, seed=1, init=res.weights,
                   progress=False)
    delta = np.abs(res2.weights.W_out - res.weights.W_out)
    assert delta.max() <= lr * (1 + 1e-12) and np.mean(np.abs(delta - lr) < 1e-4 * lr) > 0.9


def test_cosine_schedule_endpoints():
    lr, steps = 3e-3, 10_000
    sched = T.cosine_lr(lr, steps)
    assert sched.shape == (steps,)
    assert sched[0] == lr
    assert sched[steps // 2] == pytest.approx(lr / 2, rel=1e-12)
    assert sched[-1] == pytest.approx(lr * (1 + math.cos(math.pi * (steps - 1) / steps)) / 2, rel=1e-12)
    assert 0 < sched[-1] < 1e-9
    assert np.all(np.diff(sched) < 0)
    # torch's recursive CosineAnnealingLR form gives the same values
    rec = [lr]
    for t in range(1, 50):
        rec.append(rec[-1] * (1 + math.cos(math.pi * t / 50)) / (1 + math.cos(math.pi * (t - 1) / 50)))
    np.testing.assert_allclose(T.cosine_lr(lr, 50), rec, rtol=1e-12)


def test_init_bounds():
    w = T.kaiming_uniform_init(100, 50, seed=0)
    b_in, b_out = math.sqrt(6 / 50), math.sqrt(6 / 100)
    assert w.W_in.shape == (50, 100) and w.W_out.shape == (100, 50)
    assert np.abs(w.W_in).max() <= b_in and np.abs(w.W_in).max() > 0.99 * b_in
    assert np.abs(w.W_out).max() <= b_out and np.abs(w.W_out).max() > 0.99 * b_out
    # uniform: variance bound^2 / 3 (5000 entries: relative stderr of the variance ~ 1.3%)
    assert w.W_in.var() == pytest.approx(b_in**2 / 3, rel=0.06)
    assert w.W_out.var() == pytest.approx(b_out**2 / 3, rel=0.06)
    # train() starts from such weights
    task = cc.Task(cc.mixing.clean(100), 50, 0.01)
    res = T.train(task, steps=1, batch_size=64, lr=1e-9, progress=False)
    assert np.abs(res.weights.W_in).max() <= b_in + 1e-8
    assert np.abs(res.weights.W_out).max() <= b_out + 1e-8
    assert np.abs(res.weights.W_in).max() > 0.99 * b_in


def test_recorded_loss_is_the_batch_loss_per_feature():
    # one step at a negligible lr: the recorded loss is a 2^16-sample estimate of the init's L/p
    w0 = T.kaiming_uniform_init(40, 12, seed=4)
    m = cc.mixing.random(40, 0.05, seed=2)
    task = cc.Task(m, 12, 0.05, one_hot=True)
    res = T.train(task, steps=1, batch_size=1 << 16, lr=1e-12, init=w0, progress=False)
    assert res.losses[0] == pytest.approx(cc.one_hot_loss(w0, m), rel=0.03)
    task = cc.Task(m, 12, 0.05)
    res = T.train(task, steps=1, batch_size=1 << 16, lr=1e-12, init=w0, progress=False)
    ref = cc.loss_per_feature(w0, task, n_samples=1 << 18, seed=1)
    assert res.losses[0] == pytest.approx(ref.value, rel=0.03)


def test_sparse_and_dense_training_agree_and_runs_are_deterministic():
    task = cc.Task(cc.mixing.random(20, 0.05, seed=3), 8, 0.08)
    kw = dict(steps=60, batch_size=300, seed=7, progress=False)
    a = T.train(task, path="sparse", **kw)
    b = T.train(task, path="dense", **kw)
    assert a.path == "sparse" and b.path == "dense"
    np.testing.assert_allclose(a.weights.W_in, b.weights.W_in, rtol=1e-7, atol=1e-10)
    np.testing.assert_allclose(a.losses, b.losses, rtol=1e-7)
    again = T.train(task, path="sparse", **kw)
    assert again.weights == a.weights and np.array_equal(again.losses, a.losses)
    other = T.train(task, path="sparse", **{**kw, "seed": 8})
    assert not np.array_equal(other.weights.W_in, a.weights.W_in)


def test_same_weights_whatever_the_thread_count():
    task = cc.Task(cc.mixing.embedding(100, 1000, seed=0), 50, 0.01)
    results = []
    for threads in (1, min(2, numba.config.NUMBA_NUM_THREADS)):
        for path in ("sparse", "dense"):
            results.append(T.train(task, steps=20, batch_size=2500, seed=3, path=path, threads=threads,
                                   progress=False))
    assert results[0].config["n_chunks"] == 3  # chunks of 1024, 1024, 452 samples
    assert results[0].weights == results[2].weights
    assert results[1].weights == results[3].weights


def test_learn_sigma_reports_and_uses_the_learned_scale():
    g = cc.mixing.random(30, 1.0, seed=4)
    task = cc.Task(0.02 * g, 10, 0.05)
    res = T.train(task, steps=200, batch_size=256, learn_sigma=True, sigma_init=0.01, mixing_base=g,
                  record_every=10, progress=False)
    assert res.sigma is not None and res.sigma != 0.01
    assert res.sigma_history.shape == (20,) and res.sigma_history[-1] == res.sigma
    np.testing.assert_allclose(res.task.mixing, res.sigma * g)
    assert res.losses.shape == (20,)
    # default direction: the task's mixing over its rms entry
    res2 = T.train(task, steps=5, batch_size=64, learn_sigma=True, progress=False)
    rms = np.sqrt(np.mean(task.mixing**2))
    np.testing.assert_allclose(res2.task.mixing / res2.sigma, task.mixing / rms)


def test_non_empty_steps_scaling_and_divergence_error():
    task = cc.Task(cc.mixing.clean(100), 50, 0.01)
    res = T.train(task, steps=100, batch_size=32, non_empty_steps=True, progress=False)
    assert res.steps == round(100 / (1 - 0.99**100)) == 158
    assert res.losses.shape == (158,)
    with pytest.raises(T.TrainingDivergedError, match=r"diverged at step 1 .*learning rate at that step 7.5e\+79"):
        T.train(cc.Task(cc.mixing.clean(20), 5, 0.2), steps=3, batch_size=64, lr=1e80, progress=False)


def test_input_validation():
    task = cc.Task(cc.mixing.clean(20), 5, 0.1)
    with pytest.raises(ValueError, match="steps"):
        T.train(task, steps=0)
    with pytest.raises(ValueError, match="path"):
        T.train(task, path="gpu")
    with pytest.raises(ValueError, match=r"betas\[1\]"):
        T.train(task, betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="mixing is 0"):
        T.train(task, learn_sigma=True)
    with pytest.raises(ValueError, match="n_features"):
        T.train(task, init=T.kaiming_uniform_init(30, 5))
    with pytest.raises(ValueError, match="threads"):
        T.train(task, threads=0)
    with pytest.raises(TypeError, match="task"):
        T.train("task")


def test_clean_labels_do_not_beat_naive():
    task = cc.Task(cc.mixing.clean(100), 50, 0.01)
    res = T.train(task, steps=3000, seed=1, progress=False)  # 3000 steps: ~0.0843, 10,000: ~0.0834
    est = cc.loss_per_feature(res.weights, task, n_samples=1 << 20, seed=2)
    assert est.value > 1 / 12 - 4 * est.stderr
    assert est.value < 1 / 12 + 0.003  # and it does train (a random init is far above)


def test_embedding_default_run_reaches_published_loss():
    task = cc.Task(cc.mixing.embedding(100, 1000, seed=0), 50, 0.01)
    res = T.train(task, progress=False)
    assert res.steps == 10_000 and res.path == "sparse"
    est = cc.loss_per_feature(res.weights, task, n_samples=1 << 20, seed=5)
    assert est.value <= 0.070
    # the training loss of the last steps estimates the same quantity (smaller lr: no drift)
    assert res.final_loss == pytest.approx(est.value, abs=0.004)


def test_dense_numpy_baseline_trains_like_the_trainer():
    task = cc.Task(cc.mixing.random(20, 0.05, seed=3), 8, 0.1)
    kw = dict(steps=400, batch_size=512, seed=2, progress=False)
    ours = T.train(task, **kw)
    base = T.train_dense_numpy(task, **kw)
    assert base.path == "dense_numpy" and base.losses.shape == (400,)
    a = cc.loss_per_feature(ours.weights, task, n_samples=1 << 18, seed=1).value
    b = cc.loss_per_feature(base.weights, task, n_samples=1 << 18, seed=1).value
    assert a == pytest.approx(b, rel=0.05)


@pytest.mark.parametrize("sigma_init", [0.5, -0.5])
def test_learn_sigma_first_step_goes_down_the_expected_gradient(sigma_init):
    """One AdamW step moves sigma by -lr sign(dL/dsigma) (Adam's first step is a sign step), after the
    decoupled decay. dL/dsigma = -2 E[(y_hat - ReLU(x) - sigma G x) . G x] is estimated here in plain
    NumPy at the initial (naive) weights, far from its zero, so its sign is certain."""
    n, d, p, lr, wd = 30, 10, 0.1, 1e-3, 1e-2
    g = cc.mixing.random(n, 1.0, seed=7)
    task = cc.Task(0.03 * g, d, p)
    w0 = cc.constructions.naive(task)
    gen = np.random.default_rng(0)
    x = gen.uniform(-1, 1, (200_000, n)) * (gen.random((200_000, n)) < p)
    gx = x @ g.T
    e = np.maximum(x @ w0.W_in.T, 0) @ w0.W_out.T - np.maximum(x, 0) - sigma_init * gx
    grad = -2 * np.mean(np.sum(e * gx, axis=1))
    assert abs(grad) > 10 * 2 * np.std(np.sum(e * gx, axis=1)) / np.sqrt(x.shape[0])
    res = T.train(task, steps=1, batch_size=2048, lr=lr, weight_decay=wd, init=w0, learn_sigma=True,
                  sigma_init=sigma_init, mixing_base=g, seed=3, progress=False)
    step = res.sigma - sigma_init * (1 - lr * wd)
    assert step == pytest.approx(-lr * np.sign(grad), rel=1e-3)
