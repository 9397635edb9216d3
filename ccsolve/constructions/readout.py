"""Least-squares readouts: the optimal W_out for given input weights (one-hot: exact; Bernoulli p: moments)."""

from __future__ import annotations

import numpy as np

from ..core import validation as v
from ..core.blas import one_blas_thread
from ..core.task import Task, check_task
from ..core.weights import Weights

__all__ = ["optimal_readout", "ls_readout", "as_w_in", "readout_moments"]


def ls_readout(B: np.ndarray, T: np.ndarray) -> np.ndarray:
    """argmin_A ||A B - T||_F: A = T B^T (B B^T)^{-1}; minimum-norm (lstsq) when B B^T is singular."""
    from .._kernels.nnls import spd_solve

    G = B @ B.T
    X = np.empty((B.shape[0], T.shape[0]))
    if spd_solve(G, np.ascontiguousarray(B @ T.T), X, 1e-10):
        return X.T.copy()
    return np.linalg.lstsq(B.T, T.T, rcond=None)[0].T.copy()


def as_w_in(W_in, n_features: int) -> np.ndarray:
    if isinstance(W_in, Weights):
        W_in = W_in.W_in
    w = v.as_matrix("W_in", W_in, shape=(None, n_features))
    return w


def readout_moments(w_in: np.ndarray, task: Task, n_samples: int, seed):
    """(E[h h^T], E[h y^T]) for Bernoulli inputs at task.p, h = ReLU(W_in x), y = ReLU(x) + M x.

    Stratified by the number k of active features: k = 0 contributes nothing, k = 1 exactly
    (pi_1 (P P^T + N N^T) / (6n) and pi_1 (P (I+M)^T - N M^T) / (6n)), k >= 2 by Monte Carlo with
    n_samples samples drawn conditionally on k >= 2 (Numba kernel, per-chunk SplitMix64 seeds), weighted
    by P(k >= 2). Returns (G, Y).
    """
    from scipy.stats import binom

    from .._kernels.readout import moments_chunks
    from ..evaluation.estimate import sample_chunks

    n, p = task.n_features, task.p
    m = task.mixing
    P = np.maximum(w_in, 0.0)
    N = np.maximum(-w_in, 0.0)
    pi = binom.pmf(np.arange(n + 1), n, p)
    pi1 = float(pi[1])
    pi2 = float(binom.sf(1, n, p))
    G = pi1 * (P @ P.T + N @ N.T) / (6.0 * n)
    Y = pi1 * (P @ (np.eye(n) + m).T - N @ m.T) / (6.0 * n)
    if pi2 > 0.0 and n >= 2:
        cdf = np.cumsum(pi[2:])
        cdf = cdf / cdf[-1]
        sizes, seeds = sample_chunks(n_samples, seed)
        hh, hx, hr = moments_chunks(np.ascontiguousarray(w_in.T), cdf, sizes, seeds)
        w = pi2 / n_samples
        # E[h y^T] = E[h ReLU(x)^T] + E[h x^T] M^T
        G = G + w * hh.sum(axis=0)
        Y = Y + w * (hr.sum(axis=0) + hx.sum(axis=0) @ m.T)
    return G, Y


@one_blas_thread
def optimal_readout(W_in, task: Task, n_samples: int = 1 << 18, seed=0, method: str = "sampled",
                    tol: float = 1e-7) -> Weights:
    """Weights(W_in, W_out*) with W_out* the least-squares readout for the given input weights.

    W_in   (n_neurons, n_features) array, or Weights (its W_in is used)
    task   one-hot task: W_out* = argmin ||W_out [P, N] - [I + M, -M]||_F (P = ReLU(W_in), N = ReLU(-W_in)),
           the exact minimiser of the one-hot loss (docs/math.md). Bernoulli task: W_out* = E[y h^T]
           E[h h^T]^+ at task.p, the exact minimiser of L/p for those moments. E[h_a h_b] has no closed
           form for Bernoulli inputs: the one-active-feature stratum is exact, the k >= 2 strata are a
           Monte Carlo estimate (n_samples samples conditional on k >= 2, from `seed`; same seed, same
           readout whatever the thread count), so the readout carries a small sampling error (its
           effect on L/p is second order in the moment error).
    method "sampled" (the default, as above) or "moments" (Bernoulli tasks only): E[h h^T] and E[y h^T]
           from the exact second moments (ccsolve.moments.moments_readout, no sampling; n_samples and
           seed unused), so W_out* is the exact minimiser of L/p up to the moments' truncation error,
           brought below `tol` in L/p at W_out*. Costs about a moments_loss value (trained 100 x 50
           weights, tol 1e-7: 0.03 s at p = 1, 0.13 s at 0.3, 0.9 s at 0.1; no cost cap). One-hot
           tasks ignore `method` (their readout is exact).
    Neurons that never fire get a zero readout (minimum-norm solution).
    """
    task = check_task(task)
    w_in = as_w_in(W_in, task.n_features)
    n = task.n_features
    v.choice("method", method, {"sampled", "moments"})  # also for one-hot tasks, which do not use it
    if task.one_hot:
        P = np.maximum(w_in, 0.0)
        N = np.maximum(-w_in, 0.0)
        lhs = np.hstack([P, N]).T  # (2n, d)
        rhs = np.hstack([np.eye(n) + task.mixing, -task.mixing]).T  # (2n, n)
        w_out = np.linalg.lstsq(lhs, rhs, rcond=None)[0].T
        return Weights(w_in, w_out)
    if method == "moments":
        from ..evaluation.moments import moments_readout

        return moments_readout(w_in, task, tol=tol).weights
    n_samples = v.sample_count("n_samples", n_samples)
    G, Y = readout_moments(w_in, task, n_samples, seed)
    # G is PSD with zero rows for silent neurons; lstsq gives the minimum-norm solution
    scale = max(float(np.max(np.abs(G))), 1e-300)
    w_out = np.linalg.lstsq(G / scale, Y / scale, rcond=1e-12)[0].T
    return Weights(w_in, w_out)
