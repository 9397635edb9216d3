"""dense_offset (issue 14, item 4b) against independent references: the naive + offset closed form at M = 0,
hand-built least-squares readouts from explicit moment matrices, brute-force Monte Carlo, the subspace bound."""

import itertools

import numpy as np
import pytest
from reference import brute_force_loss

import ccsolve as cc
from ccsolve.bounds import lower_bound
from ccsolve.constructions import (
    DenseOffsetResult,
    dense_offset,
    dense_offset_loss,
    naive_offset,
)
from ccsolve.evaluation.closed_forms import (
    naive_offset_loss,
    one_hot_loss,
    one_hot_lower_bound,
    optimal_offset,
)

N, D = 20, 10


def _hand_loss(m, p, f):
    """L/p of naive input weights on f with the least-squares readout, from explicit moment matrices.

    Written out from the input moments E[ReLU(x)^2] = E[ReLU(x) x] = p/6, E[ReLU(x)] = p/4, E[x] = 0,
    E[x^2] = p/3 (independent features), without the Sherman-Morrison shortcut of the code.
    """
    n, d = m.shape[0], len(f)
    g = np.full((d, d), p * p / 16.0)
    np.fill_diagonal(g, p / 6.0)
    y = np.zeros((n, d))
    for k, fk in enumerate(f):
        for j in range(n):
            relu_part = p / 6.0 if j == fk else p * p / 16.0
            y[j, k] = relu_part + m[j, fk] * p / 6.0
    energy = sum(p / 6.0 + 2.0 * m[j, j] * p / 6.0 + np.sum(m[j] ** 2) * p / 3.0 for j in range(n))
    w = np.linalg.solve(g, y.T).T
    return (energy - np.sum(w * y)) / (n * p), w


@pytest.mark.parametrize("p", [0.01, 0.3, 1.0])
def test_reduces_to_naive_offset_at_zero_mixing(p):
    t = cc.Task(np.zeros((N, N)), D, p)
    r = dense_offset(t, select=False)
    ref = naive_offset(t)
    chosen = dense_offset(t)  # selection on: every feature ties at M = 0, the first d are kept
    assert np.array_equal(chosen.features, np.arange(D)) and chosen.moves == 0
    assert np.allclose(r.weights.W_in, ref.W_in, atol=0, rtol=0)
    assert np.allclose(r.weights.W_out, ref.W_out, atol=1e-13)
    assert r.objective == pytest.approx(naive_offset_loss(t, optimal_offset(t)), rel=1e-12)
    # the closed form of the optimal offset, p / (8/3 + (d - 1) p)
    assert r.offset == pytest.approx(p / (8.0 / 3.0 + (D - 1) * p), rel=1e-12)
    assert r.parameters == {"gamma_rep": 0.0, "gamma_unrep": 0.0}


def test_closed_form_matches_hand_built_readout_and_monte_carlo():
    m = cc.mixing.embedding(N, 200, seed=2)
    p = 0.4
    f = [0, 3, 4, 7, 9, 11, 12, 15, 18, 19]
    t = cc.Task(m, D, p)
    r = dense_offset(t, features=f, gammas=(0.0, 0.0))
    want, w_out = _hand_loss(m, p, f)
    assert r.objective == pytest.approx(want, rel=1e-10)
    assert dense_offset_loss(t, f) == pytest.approx(want, rel=1e-10)
    assert np.allclose(r.weights.W_out, w_out, atol=1e-10)
    value, se = brute_force_loss(np.asarray(r.weights.W_in), np.asarray(r.weights.W_out), m, p, 200_000, seed=4)
    assert abs(value - want) < 4 * se


def test_selection_is_a_local_optimum_of_single_exchanges():
    m = cc.mixing.random(8, 0.3, seed=5)
    p = 0.5
    t = cc.Task(m, 3, p)
    r = dense_offset(t, gammas=(0.0, 0.0))
    base = _hand_loss(m, p, list(r.features))[0]
    assert r.objective == pytest.approx(base, rel=1e-10)
    rest = [i for i in range(8) if i not in r.features]
    for k, i in itertools.product(range(3), rest):
        f = sorted(set(r.features) - {r.features[k]} | {i})
        assert _hand_loss(m, p, f)[0] >= base - 1e-12
    # and no worse than the first d features
    assert base <= _hand_loss(m, p, [0, 1, 2])[0] + 1e-12


def test_fitted_gammas_beat_the_readout_only_construction_and_respect_the_bound():
    m = cc.mixing.embedding(N, 100, seed=1)
    t = cc.Task(m, D, 0.5)
    r = dense_offset(t, n_samples=1 << 13, max_evals=25, seed=3)
    assert isinstance(r, DenseOffsetResult)
    assert set(r.parameters) == {"gamma_rep", "gamma_unrep"}
    value, se = brute_force_loss(np.asarray(r.weights.W_in), np.asarray(r.weights.W_out), m, 0.5, 100_000, seed=8)
    assert value >= lower_bound(t).value - 4 * se
    assert value < r.closed_form_loss - 4 * se  # the M-row reads help on this M
    assert r.closed_form_loss <= r.naive_offset_loss + 1e-12
    # the weights are the documented function of the parameters
    g_r, g_u = r.parameters["gamma_rep"], r.parameters["gamma_unrep"]
    w_in = np.asarray(r.weights.W_in)
    for k, fk in enumerate(r.features):
        for j in range(N):
            want = 1.0 if j == fk else (g_r if j in r.features else g_u) * m[fk, j]
            assert w_in[k, j] == pytest.approx(want, abs=1e-15)


def test_one_hot_task_is_exact_and_above_eckart_young():
    m = cc.mixing.random(N, 0.1, seed=7, symmetric=True)
    t = cc.Task(m, D, 0.01, one_hot=True)
    for gammas in [(0.0, 0.0), (0.5, 1.5)]:
        r = dense_offset(t, gammas=gammas)
        assert r.objective == pytest.approx(one_hot_loss(r.weights, m), rel=1e-10)
        assert r.objective >= one_hot_lower_bound(m, D) - 1e-12
        assert r.p == 0.0


def test_bad_input():
    m = cc.mixing.embedding(N, 200, seed=2)
    with pytest.raises(ValueError, match="n_neurons"):
        dense_offset(cc.Task(m, N + 1, 0.5))
    t = cc.Task(m, D, 0.5)
    with pytest.raises(ValueError, match="gammas"):
        dense_offset(t, gammas=(1.0,))
    with pytest.raises(ValueError, match="gammas"):
        dense_offset(t, gammas=(1.0, np.nan))
    with pytest.raises(ValueError, match="distinct"):
        dense_offset(t, features=[1, 1])
    with pytest.raises(TypeError, match="select"):
        dense_offset(t, select="yes")
    with pytest.raises(ValueError, match="max_evals"):
        dense_offset(t, max_evals=0)
    with pytest.raises(TypeError):
        dense_offset(m)
