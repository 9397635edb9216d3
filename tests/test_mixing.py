import numpy as np
import pytest

from ccsolve import mixing


def test_clean_is_zero():
    assert np.array_equal(mixing.clean(7), np.zeros((7, 7)))


@pytest.mark.parametrize("sign", [1, -1])
def test_embedding_statistics(sign):
    n, d_e = 100, 1000
    m = mixing.embedding(n, d_e, seed=3, sign=sign)
    assert m.shape == (n, n)
    assert np.allclose(m, m.T)
    assert np.all(np.diag(m) == 0.0)
    off = m[~np.eye(n, dtype=bool)]
    # Off-diagonal entries are inner products of independent unit vectors in R^1000:
    # mean 0, variance 1/d_embed. 4950 distinct entries -> tight bounds.
    upper = m[np.triu_indices(n, 1)]
    se_mean = (1 / np.sqrt(d_e)) / np.sqrt(upper.size)
    assert abs(upper.mean()) < 4 * se_mean
    assert abs(upper.std() - 1 / np.sqrt(d_e)) < 0.05 / np.sqrt(d_e)
    # sign=+1 is W_E W_E^T - I, which is PSD minus I: eigenvalues >= -1.
    ev = np.linalg.eigvalsh(sign * m)
    assert ev.min() >= -1 - 1e-9
    assert off.size == n * (n - 1)


def test_embedding_signs_are_opposite():
    assert np.array_equal(mixing.embedding(20, 50, seed=4, sign=-1), -mixing.embedding(20, 50, seed=4, sign=1))


@pytest.mark.parametrize("symmetric", [False, True])
@pytest.mark.parametrize("zero_diagonal", [False, True])
def test_random_statistics(symmetric, zero_diagonal):
    sigma = 0.03
    m = mixing.random(200, sigma, seed=5, symmetric=symmetric, zero_diagonal=zero_diagonal)
    assert m.shape == (200, 200)
    assert np.allclose(m, m.T) == symmetric
    if zero_diagonal:
        assert np.all(np.diag(m) == 0)
    else:
        assert abs(np.diag(m).std() - sigma) < 4 * sigma / np.sqrt(2 * 200)
    entries = m[np.triu_indices(200, 1)]
    # std of a sample std of N normals is sigma / sqrt(2N)
    assert abs(entries.std() - sigma) < 4 * sigma / np.sqrt(2 * entries.size)
    assert abs(entries.mean()) < 4 * sigma / np.sqrt(entries.size)


def test_seeds_reproduce():
    assert np.array_equal(mixing.random(10, 0.1, seed=1), mixing.random(10, 0.1, seed=1))
    assert not np.array_equal(mixing.random(10, 0.1, seed=1), mixing.random(10, 0.1, seed=2))
    gen = np.random.default_rng(9)
    assert mixing.embedding(10, 20, seed=gen).shape == (10, 10)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: mixing.random(10, -0.1), "sigma"),
        (lambda: mixing.random(10, float("nan")), "sigma"),
        (lambda: mixing.random(0, 0.1), "n_features"),
        (lambda: mixing.embedding(10, 0), "d_embed"),
        (lambda: mixing.embedding(10, 10, sign=2), "sign"),
        (lambda: mixing.clean(2.5), "n_features"),
        (lambda: mixing.random(10, 0.1, seed=-1), "seed"),
    ],
)
def test_bad_input(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()
