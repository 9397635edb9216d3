"""Closed forms against independent brute-force Monte Carlo (tests/reference.py), within 4 SE."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import ccsolve as cc
from ccsolve import constructions
from reference import brute_force_loss, naive_weights

N, D = 20, 10


def _mixings():
    return {
        "clean": cc.mixing.clean(N),
        "embedding": cc.mixing.embedding(N, 60, seed=2),
        "random": cc.mixing.random(N, 0.1, seed=3),
        "symmetric": cc.mixing.random(N, 0.1, seed=4, symmetric=True),
    }


def _samples(p):
    # enough non-empty samples for a few-percent SE at every p
    return int(min(400_000, 40_000 / (N * p) + 40_000))


@pytest.mark.parametrize("p", [0.005, 0.1, 0.5, 1.0])
@pytest.mark.parametrize("kind", ["clean", "embedding", "random", "symmetric"])
def test_zero_naive_offset_against_brute_force(kind, p):
    m = _mixings()[kind]
    task = cc.Task(m, D, p)
    n_s = _samples(p)
    zero = brute_force_loss(np.zeros((D, N)), np.zeros((N, D)), m, p, n_s, seed=10)
    assert abs(cc.zero_loss(task) - zero[0]) < 4 * zero[1]
    w_in, w_out = naive_weights(N, D)
    naive = brute_force_loss(w_in, w_out, m, p, n_s, seed=11)
    assert abs(cc.naive_loss(task) - naive[0]) < 4 * naive[1]
    b = 0.05
    w_in, w_out = naive_weights(N, D, offset=b)
    off = brute_force_loss(w_in, w_out, m, p, n_s, seed=12)
    assert abs(cc.naive_offset_loss(task, b) - off[0]) < 4 * off[1]


@pytest.mark.parametrize("kind", ["clean", "embedding", "random"])
def test_one_hot_limits_against_brute_force(kind):
    m = _mixings()[kind]
    task = cc.Task(m, D, one_hot=True)
    w_in, w_out = naive_weights(N, D, offset=0.07)
    est = brute_force_loss(w_in, w_out, m, None, 200_000, seed=13, one_hot=True)
    assert abs(cc.naive_offset_loss(task, 0.07) - est[0]) < 4 * est[1]
    # and the one-hot closed form agrees exactly with the general one-hot loss of the same weights
    assert np.isclose(cc.naive_offset_loss(task, 0.07), cc.one_hot_loss(cc.Weights(w_in, w_out), m), rtol=1e-12)


def test_clean_naive_is_one_twelfth_for_every_p():
    for p in [1e-4, 0.01, 0.3, 1.0]:
        assert np.isclose(cc.naive_loss(cc.Task(cc.mixing.clean(100), 50, p)), 1 / 12, rtol=1e-14)
    assert np.isclose(cc.naive_loss(cc.Task(cc.mixing.clean(100), 50, one_hot=True)), 1 / 12, rtol=1e-14)


@pytest.mark.parametrize("p", [0.01, 0.1, 1.0])
def test_optimal_offset_clean_formula(p):
    d = 50
    task = cc.Task(cc.mixing.clean(100), d, p)
    assert np.isclose(cc.optimal_offset(task), p / (8 / 3 + (d - 1) * p), rtol=1e-12)


@given(seed=st.integers(0, 10_000), p=st.floats(0.001, 1.0), sigma=st.floats(0.0, 0.3))
def test_optimal_offset_minimises(seed, p, sigma):
    task = cc.Task(cc.mixing.random(N, sigma, seed=seed), D, p)
    b = cc.optimal_offset(task)
    f = lambda x: cc.naive_offset_loss(task, x)
    # the loss is an exact quadratic in b: compare with finite second-order fit at three points
    h = 1e-3
    slope = (f(b + h) - f(b - h)) / (2 * h)
    curvature = (f(b + h) - 2 * f(b) + f(b - h)) / h**2
    assert curvature > 0
    assert abs(slope) <= 1e-6 * max(1.0, curvature)


@pytest.mark.parametrize("kind", ["clean", "embedding", "random"])
@pytest.mark.parametrize("scale", [0.3, 1.0])
def test_one_hot_loss_against_brute_force_random_weights(kind, scale):
    m = _mixings()[kind]
    rng = np.random.default_rng(7)
    w_in = rng.normal(size=(D, N)) * scale  # both signs
    w_out = rng.normal(size=(N, D)) * scale / 2
    est = brute_force_loss(w_in, w_out, m, None, 200_000, seed=14, one_hot=True)
    assert abs(cc.one_hot_loss(cc.Weights(w_in, w_out), m) - est[0]) < 4 * est[1]


@given(seed=st.integers(0, 10_000), sigma=st.floats(0.0, 0.5), scale=st.floats(0.01, 3.0),
       d=st.integers(1, N))
def test_lower_bound_never_above_one_hot_loss(seed, sigma, scale, d):
    rng = np.random.default_rng(seed)
    m = cc.mixing.random(N, sigma, seed=rng)
    w = cc.Weights(rng.normal(size=(d, N)) * scale, rng.normal(size=(N, d)) * scale)
    assert cc.one_hot_lower_bound(m, d) <= cc.one_hot_loss(w, m) + 1e-12
    # naive (or any construction) too
    task = cc.Task(m, d, one_hot=True)
    assert cc.one_hot_lower_bound(task) <= cc.one_hot_loss(constructions.naive(task), m) + 1e-12


def test_lower_bound_clean_is_one_twelfth():
    assert np.isclose(cc.one_hot_lower_bound(cc.mixing.clean(100), 50), 1 / 12, rtol=1e-12)
    # and (n - d) / (6 n) in general
    assert np.isclose(cc.one_hot_lower_bound(cc.mixing.clean(30), 7), 23 / 180, rtol=1e-12)


def test_lower_bound_embedding_below_naive(embedding_m):
    lb = cc.one_hot_lower_bound(embedding_m, 50)
    assert 0.04 < lb < 1 / 12


@given(seed=st.integers(0, 10_000))
def test_one_hot_loss_invariances(seed):
    rng = np.random.default_rng(seed)
    m = cc.mixing.random(N, 0.1, seed=rng)
    w_in, w_out = rng.normal(size=(D, N)), rng.normal(size=(N, D))
    base = cc.one_hot_loss(cc.Weights(w_in, w_out), m)
    perm = rng.permutation(D)
    c = rng.uniform(0.1, 10, D)
    assert np.isclose(cc.one_hot_loss(cc.Weights(w_in[perm], w_out[:, perm]), m), base, rtol=1e-10)
    assert np.isclose(cc.one_hot_loss(cc.Weights(c[:, None] * w_in, w_out / c), m), base, rtol=1e-10)


def test_naive_construction_matches_closed_form():
    m = _mixings()["random"]
    for p in [0.01, 1.0]:
        task = cc.Task(m, D, p)
        w = constructions.naive_offset(task)
        assert np.isclose(cc.one_hot_loss(w, m), cc.naive_offset_loss(task.as_one_hot(), cc.optimal_offset(task)))
