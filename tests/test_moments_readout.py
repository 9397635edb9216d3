"""The exact optimal readout from exact moments (moments_readout, optimal_readout(method="moments")) and the
moments-based minimiser (minimize_moments), against independent checks: the loss is quadratic in W_out, so
the readout must beat every perturbation and the sample-based readout; it must agree with sample-based
readouts within their seed-to-seed spread; the minimiser must end at a point no perturbation improves."""

import numpy as np
import pytest

import ccsolve as cc
from ccsolve.constructions import optimal_readout
from ccsolve.evaluation.moments import moments_loss, moments_readout
from ccsolve.optimize import minimize_moments

N, D = 8, 3


def _task(p, d=D):
    return cc.Task(cc.mixing.embedding(N, 50, seed=0), d, p)


def _w_in(d=D, seed=0):
    return np.random.default_rng(seed).normal(size=(d, N)) * 0.6


@pytest.mark.parametrize("p", [0.1, 1.0])  # 0.1: strata 1 and 2 exact (low_strata "exact"); 1: all in the sums
def test_readout_beats_sampled_and_perturbed_readouts(p):
    task = _task(p)
    w_in = _w_in()
    r = moments_readout(w_in, task, tol=1e-10, grad=True)
    assert r.details["low_strata"] == ("exact" if p < 0.5 else "moments")
    assert r.error < 1e-9
    # stationarity of the quadratic in W_out, checked on an independent evaluation at the readout
    again = moments_loss(r.weights, task, tol=1e-10, grad=True)
    assert abs(again.value - r.value) < 1e-12
    assert np.max(np.abs(again.grad_W_out)) < 1e-10
    sampled = moments_loss(optimal_readout(w_in, task, n_samples=1 << 14, seed=1), task, tol=1e-10).value
    assert r.value < sampled
    rng = np.random.default_rng(2)
    for _ in range(5):
        w = cc.Weights(w_in, r.weights.W_out + 1e-3 * rng.normal(size=(N, D)))
        assert moments_loss(w, task, tol=1e-10).value > r.value


def test_readout_agrees_with_sampled_readouts_within_their_spread():
    task = _task(0.3)
    w_in = _w_in(seed=4)
    exact = optimal_readout(w_in, task, method="moments", tol=1e-10).W_out
    sampled = np.array([optimal_readout(w_in, task, n_samples=1 << 15, seed=s).W_out for s in range(8)])
    se = sampled.std(axis=0, ddof=1) / np.sqrt(len(sampled))
    z = np.abs(sampled.mean(axis=0) - exact) / se
    assert np.max(z) < 4.5, np.max(z)  # 24 entries at 4 SE each (bias of the ratio estimator is O(1/N))
    assert np.max(np.abs(sampled.mean(axis=0) - exact)) > 0  # the comparison is not vacuous


def test_dead_and_duplicate_neurons_get_minimum_norm_readout():
    task = _task(0.5, d=4)
    w_in = _w_in(d=4, seed=6)
    w_in[1] = 0.0  # never fires
    w_in[3] = 2.0 * w_in[2]  # same direction: h_3 = 2 h_2, E[h h^T] singular
    r = moments_readout(w_in, task, tol=1e-10)
    w_out = r.weights.W_out
    assert np.all(w_out[:, 1] == 0)
    # minimum norm over w_2 + 2 w_3 = const: w_3 = 2 w_2
    np.testing.assert_allclose(w_out[:, 3], 2.0 * w_out[:, 2], atol=1e-6)
    # same loss as the readout of the network without the duplicate (h_3 folded into neuron 2)
    ref = moments_readout(np.delete(w_in, 3, axis=0), cc.Task(task.mixing, 3, 0.5), tol=1e-10)
    assert abs(ref.value - r.value) < 1e-9


def test_optimal_readout_method_argument():
    task = _task(0.5)
    with pytest.raises(ValueError, match="method"):
        optimal_readout(_w_in(), task, method="exact")
    one_hot = cc.Task(task.mixing, D, one_hot=True)
    np.testing.assert_array_equal(optimal_readout(_w_in(), one_hot, method="moments").W_out,
                                  optimal_readout(_w_in(), one_hot).W_out)
    with pytest.raises(ValueError, match="method"):  # checked on one-hot tasks too, though they ignore it
        optimal_readout(_w_in(), one_hot, method="exact")
    with pytest.raises(ValueError, match="Bernoulli"):
        moments_readout(_w_in(), one_hot)


@pytest.mark.parametrize("p", [0.3, 1.0])
def test_minimize_moments_ends_at_a_local_minimum(p):
    task = _task(p)
    r = minimize_moments(task, init="random", maxiter=60, seed=3)
    run = r.runs[0]
    assert r.objective <= run["readout_objective"] <= run["start_objective"]
    assert r.grad_norm < 1e-6
    again = moments_readout(r.weights.W_in, task, tol=1e-10)  # independent evaluation
    assert abs(again.value - r.objective) < 1e-7
    np.testing.assert_allclose(r.weights.W_out, again.weights.W_out, atol=1e-5)
    rng = np.random.default_rng(0)
    for _ in range(4):  # no small move of W_in (with its own optimal readout) does better
        w = r.weights.W_in + 1e-3 * rng.normal(size=(D, N))
        assert moments_readout(w, task, tol=1e-10).value > r.objective - 1e-9


def test_minimize_moments_is_deterministic_and_never_worse_than_its_init():
    task = _task(1.0)
    init = cc.Weights(_w_in(seed=8), np.zeros((N, D)))
    a = minimize_moments(task, init=init, maxiter=15)
    b = minimize_moments(task, init=init, maxiter=15)
    np.testing.assert_array_equal(a.weights.W_in, b.weights.W_in)
    np.testing.assert_array_equal(a.weights.W_out, b.weights.W_out)
    assert a.objective == b.objective
    assert a.objective <= moments_readout(init.W_in, task, tol=1e-7).value + 1e-7
    z = minimize_moments(task, init=init, maxiter=0)
    np.testing.assert_array_equal(z.weights.W_in, init.W_in)
    assert z.n_iter == 0


def test_minimize_moments_bad_input():
    task = _task(0.5)
    with pytest.raises(ValueError, match="p = 0.5"):
        minimize_moments(task, init="random", max_factor_evals=10)
    with pytest.raises(ValueError, match="Bernoulli"):
        minimize_moments(cc.Task(task.mixing, D, one_hot=True))
    with pytest.raises(ValueError, match="maxiter"):
        minimize_moments(task, init="random", maxiter=-1)
    with pytest.raises(TypeError, match="seed"):
        minimize_moments(task, init="random", seed=True)
    with pytest.raises(ValueError, match="tol"):
        minimize_moments(task, init="random", tol=0)
    with pytest.raises(ValueError, match="init"):
        minimize_moments(task, init="bogus")
