"""Mixing matrices M for the labels y = ReLU(x) + M x.

Every function returns a plain float64 array of shape (n_features, n_features) acting on column
vectors: (M x)_o = sum_i M[o, i] x_i.
"""

from __future__ import annotations

import numpy as np

from . import validation as v
from .blas import one_blas_thread

__all__ = ["clean", "embedding", "random", "describe", "make", "KINDS"]

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


def describe(mixing) -> dict:
    """Summary statistics of a mixing matrix (for reports and JSON)."""
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
    }
    if sym:
        out["n_positive_eigenvalues"] = int(np.sum(np.linalg.eigvalsh(m) > 0))
    return out
