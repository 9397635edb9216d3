"""The exact one-hot loss as a function of the weight matrices, with its gradient, and its reduced form
with the optimal readout eliminated (variable projection). Derivations: docs/math.md."""

from __future__ import annotations

import numpy as np

from ..core.blas import one_blas_thread

__all__ = ["one_hot_loss_and_gradient", "reduced_one_hot_loss_and_gradient", "one_hot_readout"]


@one_blas_thread
def one_hot_loss_and_gradient(W_in: np.ndarray, W_out: np.ndarray, mixing: np.ndarray):
    """(L, dL/dW_in, dL/dW_out) of the exact one-hot loss L = (||W_out P - (I+M)||^2 + ||W_out N + M||^2)/(6n).

    P = max(W_in, 0), N = max(-W_in, 0); at W_in = 0 both branches are inactive: the subgradient 0 is
    used there (docs/math.md).
    """
    n = mixing.shape[0]
    P = np.maximum(W_in, 0.0)
    N = np.maximum(-W_in, 0.0)
    R1 = W_out @ P
    R1[np.diag_indices(n)] -= 1.0
    R1 -= mixing
    R2 = W_out @ N + mixing
    c = 1.0 / (6.0 * n)
    loss = c * (np.sum(R1 * R1) + np.sum(R2 * R2))
    g_out = 2.0 * c * (R1 @ P.T + R2 @ N.T)
    g_in = 2.0 * c * np.where(W_in > 0, W_out.T @ R1, np.where(W_in < 0, -(W_out.T @ R2), 0.0))
    return float(loss), g_in, g_out


def one_hot_readout(w_in: np.ndarray, T: np.ndarray, mixing: np.ndarray) -> np.ndarray:
    """argmin_W ||W [P, N] - [T, -M]||_F via the d x d normal equations (lstsq if singular)."""
    from .._kernels.nnls import spd_solve

    P = np.maximum(w_in, 0.0)
    N = np.maximum(-w_in, 0.0)
    G = P @ P.T + N @ N.T
    rhs = np.ascontiguousarray(P @ T.T - N @ mixing.T)
    X = np.empty_like(rhs)
    if spd_solve(G, rhs, X, 1e-10):
        return X.T.copy()
    F = np.hstack([P, N])
    return np.linalg.lstsq(F.T, np.hstack([T, -mixing]).T, rcond=None)[0].T.copy()


@one_blas_thread
def reduced_one_hot_loss_and_gradient(W_in: np.ndarray, mixing: np.ndarray):
    """(L*, dL*/dW_in) of the one-hot loss with the optimal readout eliminated (variable projection):
    L*(W_in) = min_{W_out} L(W_in, W_out). By Danskin's theorem its gradient is the partial gradient of L
    at W_out = W_out*(W_in) (docs/math.md). Also returns W_out*."""
    n = mixing.shape[0]
    T = np.eye(n) + mixing
    w_out = one_hot_readout(W_in, T, mixing)
    loss, g_in, _ = one_hot_loss_and_gradient(W_in, w_out, mixing)
    return loss, g_in, w_out
