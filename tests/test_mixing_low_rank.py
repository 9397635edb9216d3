"""ccsolve.mixing.low_rank / effective_rank: the rank, spectrum, symmetry and entry statistics each
option of the reference's NoisyDataset._generate_M claims (checked with NumPy's SVD/eigh, not ccsolve)."""

import numpy as np
import pytest

from ccsolve import mixing

N = 100


def _sv(m):
    return np.linalg.svd(m, compute_uv=False)


def _entropy_rank(m):
    # independent reference: nb6's formula literally, with its 1e-12
    s = _sv(m)
    q = s / s.sum()
    return float(np.exp(-np.sum(q * np.log(q + 1e-12))))


@pytest.mark.parametrize("rank", [1, 10, 50])
def test_default_has_the_rank_and_gaussian_entry_variance(rank):
    m = mixing.low_rank(N, rank, seed=1)
    assert np.linalg.matrix_rank(m) == min(rank, N)
    assert not np.allclose(m, m.T)
    # M_ij = sum_k U_ik V_jk has variance rank: mean square over 300 independent 20 x 20 draws,
    # within 4 SE (SE from the spread across draws, which are independent)
    ms = np.array([np.mean(mixing.low_rank(20, rank, seed=s) ** 2) for s in range(300)])
    assert abs(ms.mean() - rank) < 4 * ms.std(ddof=1) / np.sqrt(ms.size)


def test_rank_above_n_features_is_full_rank():
    m = mixing.low_rank(N, 1000, seed=2)
    assert np.linalg.matrix_rank(m) == N
    assert abs(np.mean(m**2) / 1000 - 1) < 0.1


@pytest.mark.parametrize("rank", [5, 30, 100])
def test_flat_spectrum_has_unit_singular_values(rank):
    m = mixing.low_rank(N, rank, seed=3, flat_spectrum=True)
    s = _sv(m)
    np.testing.assert_allclose(s[:rank], 1.0, atol=1e-10)
    assert np.all(s[rank:] < 1e-10)
    assert mixing.effective_rank(m) == pytest.approx(rank, rel=1e-9)
    assert mixing.effective_rank(m) == pytest.approx(_entropy_rank(m), abs=1e-6)
    d = mixing.describe(m)
    assert d["rank"] == rank and d["effective_rank"] == pytest.approx(rank, rel=1e-9)


def test_flat_spectrum_U_equals_V_is_a_projection():
    m = mixing.low_rank(N, 20, seed=4, flat_spectrum=True, U_equals_V=True)
    assert np.array_equal(m, m.T)
    np.testing.assert_allclose(m @ m, m, atol=1e-12)
    ev = np.linalg.eigvalsh(m)
    assert np.sum(ev > 0.5) == 20 and np.all(np.abs(ev[ev < 0.5]) < 1e-12)
    assert np.trace(m) == pytest.approx(20)


def test_U_equals_V_is_psd_with_chi2_diagonal():
    r = 10
    m = mixing.low_rank(N, r, seed=5, U_equals_V=True)
    assert np.array_equal(m, m.T)
    assert np.linalg.eigvalsh(m).min() > -1e-9
    assert np.linalg.matrix_rank(m) == r
    diag = np.diag(m)  # chi^2_r: mean r, variance 2r
    assert abs(diag.mean() - r) < 4 * np.sqrt(2 * r / N)


def test_normalize_rows_cosines():
    r = 40
    m = mixing.low_rank(N, r, seed=6, normalize_rows=True, U_equals_V=True)
    np.testing.assert_allclose(np.diag(m), 1.0, atol=1e-12)
    assert np.all(np.abs(m) <= 1 + 1e-12)
    off = m[np.triu_indices(N, 1)]
    # cosine of independent Gaussian vectors in R^r: mean 0, variance 1/r
    assert abs(np.mean(off**2) * r - 1) < 0.1
    m2 = mixing.low_rank(N, r, seed=6, normalize_rows=True)
    assert np.all(np.abs(m2) <= 1 + 1e-12) and np.linalg.matrix_rank(m2) == r


def test_align_to_neurons_block():
    m = mixing.low_rank(N, 10, seed=7, align_to_neurons=True)
    assert np.all(m[N // 2:, :] == 0) and np.all(m[:, N // 2:] == 0)
    assert np.linalg.matrix_rank(m) == 10 and np.all(m[: N // 2, : N // 2] != 0)
    m3 = mixing.low_rank(N, 10, seed=7, align_to_neurons=True, n_aligned=30)
    assert np.all(m3[30:, :] == 0) and np.all(m3[:, 30:] == 0)


def test_zero_diagonal_and_symmetric():
    m = mixing.low_rank(N, 10, seed=8, zero_diagonal=True)
    assert np.all(np.diag(m) == 0)
    assert np.linalg.matrix_rank(m) > 10  # removing the diagonal of a low-rank matrix raises its rank
    base = mixing.low_rank(N, 10, seed=8)
    ms = mixing.low_rank(N, 10, seed=8, symmetric=True)
    assert np.array_equal(ms, ms.T)
    iu = np.triu_indices(N)
    np.testing.assert_array_equal(ms[iu], base[iu])  # upper triangle kept, mirrored
    both = mixing.low_rank(N, 10, seed=8, symmetric=True, zero_diagonal=True, sigma=0.5)
    assert np.all(np.diag(both) == 0) and np.array_equal(both, both.T)
    np.testing.assert_allclose(both, 0.5 * (np.triu(base, 1) + np.triu(base, 1).T))


def test_sigma_scales_and_seed_reproduces():
    a = mixing.low_rank(N, 5, seed=9)
    np.testing.assert_allclose(mixing.low_rank(N, 5, seed=9, sigma=0.03), 0.03 * a)
    assert not np.array_equal(a, mixing.low_rank(N, 5, seed=10))


def test_effective_rank_edge_cases():
    assert mixing.effective_rank(np.zeros((4, 4))) == 0.0
    assert mixing.effective_rank(np.diag([2.0, 1.0, 1.0])) == pytest.approx(_entropy_rank(np.diag([2.0, 1.0, 1.0])))
    g = mixing.random(N, 0.03, seed=1)
    assert mixing.effective_rank(g) == pytest.approx(_entropy_rank(g), abs=1e-6)
    assert 1 < mixing.effective_rank(g) < N


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(rank=0), "rank"),
        (dict(rank=2.5), "rank"),
        (dict(rank=200, flat_spectrum=True), "flat_spectrum"),
        (dict(rank=5, align_to_neurons=True, flat_spectrum=True), "align_to_neurons"),
        (dict(rank=5, n_aligned=3), "n_aligned"),
        (dict(rank=5, align_to_neurons=True, n_aligned=101), "n_aligned"),
        (dict(rank=5, symmetric=1), "symmetric"),
        (dict(rank=5, sigma=-1.0), "sigma"),
    ],
)
def test_bad_input(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        mixing.low_rank(N, **kwargs)
