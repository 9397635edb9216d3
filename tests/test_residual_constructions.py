"""ccsolve.residual.constructions (naive, the exact-objective construction) and compare --model resid_mlp*."""

import json
import subprocess
import sys

import numpy as np
import pytest

import ccsolve.residual as R
from ccsolve.residual.constructions import ResidualExactObjective, minimize_exact, naive


def _orthonormal_task(n=6, d_embed=9, d_mlp=(2, 2), seed=0):
    q, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal((d_embed, n)))
    return R.ResidualTask(n_features=n, d_embed=d_embed, n_layers=len(d_mlp), d_mlp=list(d_mlp), p=0.05, embedding=q)


def _dense_unit_errors(w, task):
    """Brute force: ||y_hat - y||^2 at +e_i and -e_i with the dense residual-stream forward."""
    n = task.n_features
    out = []
    for s in (1.0, -1.0):
        x = s * np.eye(n)
        err = w(x, task) - task.labels(x)
        out.append((err ** 2).sum(axis=0))
    return out


def test_naive_with_orthonormal_embedding_is_exact_relu_on_represented_features():
    # G = I: no interference, so every represented feature is computed exactly and each unrepresented
    # one misses ReLU(t) only: one-hot L/p = (n - sum d) / n * E[ReLU(t)^2] = (n - sum d) / (6 n)
    task = _orthonormal_task(n=7, d_embed=10, d_mlp=(2, 3))
    w = naive(task)
    assert np.isclose(R.one_hot_loss(w, task), (7 - 5) / (6 * 7), rtol=1e-12)
    x = task.sample_inputs(50, seed=1)
    yh = w(x, task)
    y = task.labels(x)
    assert np.allclose(yh[:5], y[:5], atol=1e-12)  # represented: exact
    assert np.allclose(yh[5:], x[5:], atol=1e-12)  # unrepresented: the stream's x only


def _naive_one_layer_closed_form(g, r):
    """One layer, Gram g, features 0..r-1 represented: with feature f alone at t, neuron k (feature k)
    reads g[k, f] t and writes g[:, k] ReLU(g[k, f] t); the stream adds g[:, f] t; the label is
    e_f (ReLU t + t). Homogeneity: one-hot L/p = sum over f of ||err(+1)||^2 + ||err(-1)||^2, / (6 n)."""
    n = g.shape[0]
    eye = np.eye(n)
    err_pos = g - 2 * eye + g[:, :r] @ np.maximum(g[:r], 0)
    err_neg = -g + eye + g[:, :r] @ np.maximum(-g[:r], 0)
    return ((err_pos ** 2).sum() + (err_neg ** 2).sum()) / (6 * n)


def test_naive_one_layer_closed_form():
    task = R.ResidualTask(n_features=15, d_embed=30, n_layers=1, d_mlp=6, seed=3)
    assert np.isclose(R.one_hot_loss(naive(task), task), _naive_one_layer_closed_form(task.gram, 6), rtol=1e-10)


def test_more_neurons_than_features():
    task = _orthonormal_task(n=3, d_embed=5, d_mlp=(2, 2))
    w = naive(task)
    assert np.allclose(w.W_in[1][1], 0) and np.isclose(R.one_hot_loss(w, task), 0.0, atol=1e-14)


def _random_weights(task, scale=0.4, seed=0):
    rng = np.random.default_rng(seed)
    return R.ResidualWeights([scale * rng.standard_normal((d, task.d_embed)) for d in task.d_mlp],
                             [scale * rng.standard_normal((task.d_embed, d)) for d in task.d_mlp])


def test_objectives_against_dense_brute_force():
    task = R.ResidualTask(n_features=8, d_embed=12, n_layers=3, d_mlp=[3, 2, 2], p=0.1, seed=2)
    w = _random_weights(task)
    cp, cn = _dense_unit_errors(w, task)
    e1 = (cp.sum() + cn.sum()) / (6 * 8)
    assert np.isclose(ResidualExactObjective(task, "one_hot").value(w), e1, rtol=1e-12)
    obj = ResidualExactObjective(task, "stratified", n_tail_samples=300, seed=4)
    xs = obj._tail_x.T
    assert np.all((xs != 0).sum(axis=0) >= 2)
    tail = ((w(xs, task) - task.labels(xs)) ** 2).sum(axis=0).mean()
    p1 = 8 * 0.1 * 0.9 ** 7
    p2 = 1 - 0.9 ** 8 - p1
    assert np.isclose(obj.value(w), (p1 * e1 + p2 * tail) / 0.8, rtol=1e-12)


def test_stratified_objective_is_unbiased():
    task = R.ResidualTask(n_features=8, d_embed=12, n_layers=2, d_mlp=[3, 2], p=0.2, seed=5)
    w = _random_weights(task, seed=1)
    f = ResidualExactObjective(task, "stratified", n_tail_samples=1 << 15, seed=7).value(w)
    est = R.loss_per_feature(w, task, method="monte_carlo", n_samples=1 << 17, seed=8)
    assert abs(f - est.value) < 4 * est.stderr * 1.5  # both sides random: allow both errors


@pytest.mark.parametrize("kind", ["one_hot", "stratified"])
def test_gradient_finite_differences_every_entry(kind):
    task = R.ResidualTask(n_features=6, d_embed=8, n_layers=3, d_mlp=[3, 2, 2], p=0.15, seed=1)
    w = _random_weights(task, seed=2)
    obj = ResidualExactObjective(task, kind, n_tail_samples=64, seed=3)
    _, g_in, g_out = obj.value_and_grad(w)
    arrs = [np.array(a) for a in w.W_in] + [np.array(b) for b in w.W_out]
    grads = list(g_in) + list(g_out)
    h = 1e-6
    for arr, g in zip(arrs, grads):
        for idx in np.ndindex(arr.shape):
            old = arr[idx]
            arr[idx] = old + h
            fp = obj.value(R.ResidualWeights(arrs[:3], arrs[3:]))
            arr[idx] = old - h
            fm = obj.value(R.ResidualWeights(arrs[:3], arrs[3:]))
            arr[idx] = old
            assert abs((fp - fm) / (2 * h) - g[idx]) <= 1e-6 * (1 + abs(g[idx])), idx


def test_minimize_exact_one_layer_respects_eckart_young_and_improves():
    import ccsolve as cc

    task = R.ResidualTask(n_features=12, d_embed=24, n_layers=1, d_mlp=5, seed=0)
    r = minimize_exact(task, "one_hot", init="naive", max_iter=200)
    bound = cc.one_hot_lower_bound(task.to_task())  # one layer = ccsolve.Task with M = I - E^T E
    assert r.objective >= bound - 1e-12
    assert np.isclose(r.objective, R.one_hot_loss(r.weights, task), rtol=1e-12)
    assert r.objective < 0.6 * r.initial_objective
    assert r.initial_objective == pytest.approx(R.one_hot_loss(naive(task), task), rel=1e-12)


def test_minimize_exact_stratified_beats_naive_and_is_deterministic():
    task = R.ResidualTask(n_features=10, d_embed=20, n_layers=2, d_mlp=3, p=0.05, seed=1)
    a = minimize_exact(task, "stratified", init="random", max_iter=60, n_tail_samples=2000, seed=3)
    b = minimize_exact(task, "stratified", init="random", max_iter=60, n_tail_samples=2000, seed=3)
    assert a.weights == b.weights and a.objective == b.objective
    assert a.n_tail_samples == 2000 and a.kind == "stratified" and a.init == "random"
    fresh = R.loss_per_feature(a.weights, task, method="stratified", n_samples=1 << 16, seed=11)
    naive_est = R.loss_per_feature(naive(task), task, method="stratified", n_samples=1 << 16, seed=11)
    assert fresh.value < naive_est.value - 4 * (fresh.stderr + naive_est.stderr)
    d = a.to_dict()
    json.dumps(d)
    assert len(d["weights"]["W_in"]) == 2


def test_bad_input():
    task = R.ResidualTask(n_features=6, d_embed=8, n_layers=2, d_mlp=2, seed=0)
    with pytest.raises(ValueError, match="objective"):
        minimize_exact(task, "exact")
    with pytest.raises(ValueError, match="Bernoulli"):
        minimize_exact(task.as_one_hot(), "stratified")
    with pytest.raises(ValueError, match="init"):
        minimize_exact(task, init="svd")
    with pytest.raises(ValueError, match="n_layers"):
        minimize_exact(task, init=naive(R.ResidualTask(n_features=6, d_embed=8, n_layers=1, d_mlp=2)))
    with pytest.raises(ValueError, match="max_iter"):
        minimize_exact(task, max_iter=0)
    with pytest.raises(TypeError, match="task"):
        naive("resid_mlp2")


# --- python -m ccsolve.compare --model resid_mlp* ------------------------------------------------------
TINY = ["--n-features", "16", "--d-embed", "40", "--n-neurons", "4", "--steps", "30", "--max-iter", "15",
        "--n-samples", "20000", "--quiet"]


def _run(args):
    return subprocess.run([sys.executable, "-m", "ccsolve.compare", *args], capture_output=True, text=True,
                          timeout=300)


def test_compare_residual_end_to_end():
    proc = _run(["--model", "resid_mlp1", *TINY, "--json"])
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    names = [r["name"] for r in data["rows"]]
    assert names == ["naive", "minimize_exact (stratified)", "minimize_exact (one-hot)", "trained (30 steps)"]
    assert data["config"]["model"] == "resid_mlp1" and data["task"]["d_mlp"] == [4]
    task = R.ResidualTask.from_preset("resid_mlp1", seed=0, n_features=16, d_embed=40, d_mlp=4)
    naive_oh = _naive_one_layer_closed_form(task.gram, 4)
    rows = {r["name"]: r for r in data["rows"]}
    assert np.isclose(rows["naive"]["one_hot_loss"], naive_oh, rtol=1e-10)
    for r in data["rows"]:
        assert np.isfinite(r["loss_per_feature"]) and r["stderr"] > 0
        # one-active stratum exact: L/p >= P(K = 1) * one-hot / (n p) is a hard floor
        assert r["loss_per_feature"] >= 16 * 0.01 * 0.99 ** 15 * r["one_hot_loss"] / 0.16 - 1e-12
    assert rows["minimize_exact (one-hot)"]["one_hot_loss"] < rows["naive"]["one_hot_loss"]
    assert rows["minimize_exact (stratified)"]["loss_per_feature"] < rows["naive"]["loss_per_feature"]


def test_compare_residual_table_and_bad_values():
    proc = _run(["--model", "resid_mlp2", *TINY, "--no-train"])
    assert proc.returncode == 0, proc.stderr
    assert "model=resid_mlp2" in proc.stdout and "| naive |" in proc.stdout and "trained" not in proc.stdout
    for args, match in [(["--model", "resid_mlp9"], "invalid choice"),
                        (["--model", "resid_mlp2", "--steps", "0"], "--steps"),
                        (["--model", "resid_mlp2", "--n-neurons", "0"], "--n-neurons"),
                        (["--model", "resid_mlp2", "--p", "1.5"], "--p"),
                        (["--model", "resid_mlp3", "--mixing", "random"], "does not apply"),
                        (["--max-iter", "5"], "residual models")]:
        bad = _run(args)
        assert bad.returncode == 2, args
        assert match in bad.stderr and len(bad.stderr.strip().splitlines()) == 1, bad.stderr
