"""Mixing matrices M for the labels y = ReLU(x) + M x.

Every function returns a plain float64 array of shape (n_features, n_features) acting on column
vectors: (M x)_o = sum_i M[o, i] x_i.
"""

from __future__ import annotations

import numpy as np

from . import validation as v
from .blas import one_blas_thread

__all__ = ["clean", "embedding", "random", "low_rank", "effective_rank", "from_torch", "describe", "make", "KINDS"]

# the kinds `make` builds, in the order the CLIs list them
KINDS = ("embedding", "random", "symmetric", "clean")


def clean(n_features: int = 100) -> np.ndarray:
    """M = 0: labels are ReLU(x) alone."""
    n_features = v.positive_int("n_features", n_features)
    return np.zeros((n_features, n_features))


@one_blas_thread
def embedding(n_features: int = 100, d_embed: int = 1000, seed=None, sign: int = +1) -> np.ndarray:
    """Embedding-like mixing from a residual stream of width `d_embed`.

    W_E is (n_features, d_embed) Gaussian with unit-norm rows. sign=+1 gives W_E W_E^T - I (the
    reference code); sign=-1 gives I - W_E W_E^T (Braun et al.'s residual network). Both have a zero
    diagonal and off-diagonal entries of standard deviation about 1/sqrt(d_embed).
    """
    n_features = v.positive_int("n_features", n_features)
    d_embed = v.positive_int("d_embed", d_embed)
    if sign not in (1, -1) or isinstance(sign, bool):
        raise ValueError(f"sign must be +1 or -1, got {sign!r}")
    gen = v.rng(seed)
    w_e = gen.standard_normal((n_features, d_embed))
    w_e /= np.linalg.norm(w_e, axis=1, keepdims=True)
    m = w_e @ w_e.T
    np.fill_diagonal(m, 1.0)  # exact: rows are unit norm, remove rounding
    m -= np.eye(n_features)
    return m if sign == 1 else -m


@one_blas_thread
def random(
    n_features: int = 100,
    sigma: float = 0.025,
    seed=None,
    symmetric: bool = False,
    zero_diagonal: bool = False,
) -> np.ndarray:
    """M = sigma * G with G standard normal.

    symmetric=True mirrors the upper triangle of G (diagonal included) onto the lower one, as the
    reference does, so off-diagonal and diagonal entries all have standard deviation sigma.
    zero_diagonal=True sets the diagonal to zero.
    """
    n_features = v.positive_int("n_features", n_features)
    sigma = v.non_negative("sigma", sigma)
    gen = v.rng(seed)
    g = gen.standard_normal((n_features, n_features))
    if symmetric:
        g = np.triu(g) + np.triu(g, 1).T
    if zero_diagonal:
        np.fill_diagonal(g, 0.0)
    return sigma * g


@one_blas_thread
def low_rank(
    n_features: int = 100,
    rank: int = 10,
    seed=None,
    flat_spectrum: bool = False,
    U_equals_V: bool = False,
    normalize_rows: bool = False,
    align_to_neurons: bool = False,
    zero_diagonal: bool = False,
    symmetric: bool = False,
    sigma: float = 1.0,
    n_aligned: int | None = None,
) -> np.ndarray:
    """M = sigma * U V^T with U, V of shape (n_features, rank): the reference's NoisyDataset(rank=...).

    Mirrors `NoisyDataset._generate_M` of the post's code (paper_code/mlpinsoup.py), option for option
    and in the same order; `sigma` is the reference's |scale| (its Mscaled = M * |scale|). The random
    numbers are NumPy's, not the reference's torch generator: to reproduce one of its matrices
    exactly, load it (`ccsolve.torch_io.mixing_from_torch`). Entry statistics (i != j unless said):

    default          U, V independent standard normal: E M_ij = 0, Var M_ij = rank (diagonal too);
                     rank min(rank, n_features); rank may exceed n_features (nb6_jb uses 1000).
    U_equals_V       V = U: M = U U^T, symmetric positive semi-definite, diagonal ~ chi^2_rank
                     (mean rank), off-diagonal variance rank. The reference warns this privileges the
                     diagonal unless zero_diagonal.
    flat_spectrum    U, V replaced by the Q of their reduced QR (orthonormal columns): the rank
                     non-zero singular values are exactly 1 (effective rank = rank), Var M_ij = rank/n^2;
                     with U_equals_V, M is an orthogonal projection (eigenvalues 1 and 0). Needs
                     rank <= n_features.
    normalize_rows   rows of U and V scaled to unit norm (after the QR if both): M_ij is the cosine
                     of two independent Gaussian vectors in R^rank, Var M_ij = 1/rank; with U_equals_V
                     the diagonal is exactly 1.
    align_to_neurons U, V non-zero only on their first n_aligned rows (the reference hard-codes
                     n_features // 2, the neuron count): M is zero outside its top-left n_aligned block.
                     As in the reference, this branch has no QR and no row normalisation: combining
                     it with flat_spectrum or normalize_rows is an error here (the reference ignores them).
    zero_diagonal    then sets the diagonal to 0; this generally makes M full rank.
    symmetric        then mirrors the upper triangle (diagonal included) onto the lower one,
                     triu(M) + triu(M, 1)^T; this generally makes M full rank too.

    `describe(M)` reports the rank and effective rank it ends with.
    """
    n_features = v.positive_int("n_features", n_features)
    rank = v.positive_int("rank", rank)
    sigma = v.non_negative("sigma", sigma)
    flags = {}
    for name, val in (("flat_spectrum", flat_spectrum), ("U_equals_V", U_equals_V),
                      ("normalize_rows", normalize_rows), ("align_to_neurons", align_to_neurons),
                      ("zero_diagonal", zero_diagonal), ("symmetric", symmetric)):
        if not isinstance(val, (bool, np.bool_)):
            raise TypeError(f"{name} must be a bool, got {type(val).__name__}")
        flags[name] = bool(val)
    if n_aligned is not None and not flags["align_to_neurons"]:
        raise ValueError("n_aligned is only used with align_to_neurons=True")
    gen = v.rng(seed)
    n = n_features
    if flags["align_to_neurons"]:
        if flags["flat_spectrum"] or flags["normalize_rows"]:
            raise ValueError("align_to_neurons=True cannot be combined with flat_spectrum or normalize_rows "
                             "(the reference's align_to_neurons branch does neither)")
        k = n // 2 if n_aligned is None else v.positive_int("n_aligned", n_aligned)
        if k > n:
            raise ValueError(f"n_aligned must be <= n_features={n}, got {k}")
        u = np.zeros((n, rank))
        u[:k] = gen.standard_normal((k, rank))
        if flags["U_equals_V"]:
            w = u
        else:
            w = np.zeros((n, rank))
            w[:k] = gen.standard_normal((k, rank))
    else:
        u = gen.standard_normal((n, rank))
        w = u if flags["U_equals_V"] else gen.standard_normal((n, rank))
        if flags["flat_spectrum"]:
            if rank > n:
                raise ValueError(f"flat_spectrum=True needs rank <= n_features={n}, got rank={rank}")
            u = np.linalg.qr(u)[0]
            w = u if flags["U_equals_V"] else np.linalg.qr(w)[0]
        if flags["normalize_rows"]:
            u = u / np.linalg.norm(u, axis=1, keepdims=True)
            w = u if flags["U_equals_V"] else w / np.linalg.norm(w, axis=1, keepdims=True)
    m = u @ w.T
    if flags["U_equals_V"]:
        m = 0.5 * (m + m.T)  # exactly symmetric (BLAS rounding can differ between M_ij and M_ji)
    if flags["zero_diagonal"]:
        np.fill_diagonal(m, 0.0)
    if flags["symmetric"]:
        m = np.triu(m) + np.triu(m, 1).T
    return sigma * m


def effective_rank(mixing) -> float:
    """exp(entropy of the normalised singular values), as the reference's nb6 computes it.

    With s the singular values and q = s / sum(s), exp(-sum q log q) (0 log 0 = 0; nb6 adds 1e-12
    inside the log, a difference below 1e-9 here). Equals r for r equal non-zero singular values;
    0 for M = 0.
    """
    m = v.as_matrix("mixing", mixing)
    s = np.linalg.svd(m, compute_uv=False)
    total = s.sum()
    if total == 0.0:
        return 0.0
    q = s[s > 0] / total
    return float(np.exp(-np.sum(q * np.log(q))))


def make(kind: str, n_features: int = 100, *, sigma: float = 0.025, sign: int = 1, d_embed: int = 1000,
         seed=0, zero_diagonal: bool = False) -> np.ndarray:
    """The mixing matrix of a named kind (the one task builder of compare, sweeps and figures).

    kind  "embedding": embedding(n_features, d_embed, seed, sign); "random" / "symmetric":
          random(n_features, sigma, seed, symmetric=kind == "symmetric", zero_diagonal); "clean": 0
    """
    v.choice("mixing", kind, set(KINDS))
    if kind == "embedding":
        return embedding(n_features, d_embed, seed=seed, sign=sign)
    if kind == "clean":
        return clean(n_features)
    zero_diagonal = v.boolean("zero_diagonal", zero_diagonal)
    return random(n_features, sigma, seed=seed, symmetric=kind == "symmetric", zero_diagonal=zero_diagonal)


def from_torch(obj, scaled: bool = True, **kwargs) -> np.ndarray:
    """A reference dataset's M (its Mscaled by default), a tensor or a .pt file, as float64.

    ccsolve.torch_io.mixing_from_torch; PyTorch only when a tensor or file needs it
    (pip install ccsolve[torch]). embedding(seed=...) cannot regenerate a reference M: load it.
    """
    from .torch_io import mixing_from_torch

    return mixing_from_torch(obj, scaled=scaled, **kwargs)


def describe(mixing) -> dict:
    """Summary statistics of a mixing matrix (for reports and JSON).

    rank is numpy's matrix_rank (singular values above its default tolerance); effective_rank is
    `effective_rank(M)` (the reference's nb6 measure).
    """
    m = v.as_matrix("mixing", mixing)
    if m.shape[0] != m.shape[1]:
        raise ValueError(f"mixing must be square, got shape {m.shape}")
    off = m[~np.eye(m.shape[0], dtype=bool)]
    sym = bool(np.allclose(m, m.T))
    out = {
        "n_features": int(m.shape[0]),
        "frobenius_norm": float(np.linalg.norm(m)),
        "trace": float(np.trace(m)),
        "offdiag_std": float(off.std()) if off.size else 0.0,
        "diag_std": float(np.diag(m).std()),
        "symmetric": sym,
        "rank": int(np.linalg.matrix_rank(m)),
        "effective_rank": effective_rank(m),
    }
    if sym:
        out["n_positive_eigenvalues"] = int(np.sum(np.linalg.eigvalsh(m) > 0))
    return out
