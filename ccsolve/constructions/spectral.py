"""SVD constructions: the truncated SVD of I + M (or M + alpha I, or M) with the reference's sign rule."""

from __future__ import annotations

import numpy as np

from ..core import validation as v
from ..core.blas import one_blas_thread
from ..core.task import Task, check_task
from ..core.weights import Weights
from .readout import optimal_readout

__all__ = ["svd", "svd_factors", "sign_rule"]


_TARGETS = {"identity_plus_mixing", "mixing_plus_alpha", "mixing"}


def _target(task: Task, target: str, alpha: float) -> np.ndarray:
    if target == "identity_plus_mixing":
        return np.eye(task.n_features) + task.mixing
    if target == "mixing_plus_alpha":
        return task.mixing + alpha * np.eye(task.n_features)
    return task.mixing.copy()


def sign_rule(w_in: np.ndarray, w_out: np.ndarray):
    """Flip each neuron so that its largest-magnitude input weight is positive (the reference's rule)."""
    rows = np.arange(w_in.shape[0])
    s = np.sign(w_in[rows, np.argmax(np.abs(w_in), axis=1)])
    s[s == 0] = 1.0
    return w_in * s[:, None], w_out * s[None, :]


def svd_factors(T: np.ndarray, d: int):
    """W_in = S_d V_d^T, W_out = U_d for T = U S V^T (so W_out W_in is the best rank-d approximation)."""
    U, s, Vt = np.linalg.svd(T)
    d_eff = min(d, s.size)
    w_in = np.zeros((d, T.shape[1]))
    w_out = np.zeros((T.shape[0], d))
    w_in[:d_eff] = s[:d_eff, None] * Vt[:d_eff]
    w_out[:, :d_eff] = U[:, :d_eff]
    return w_in, w_out, s


@one_blas_thread
def svd(
    task: Task,
    target: str = "identity_plus_mixing",
    alpha: float = 0.5,
    readout: str = "svd",
    reference_orientation: bool = False,
    n_samples: int = 1 << 18,
    seed=0,
) -> Weights:
    """Truncated SVD of a target matrix as weights.

    target   "identity_plus_mixing" (I + M), "mixing_plus_alpha" (M + alpha I) or "mixing" (M)
    readout  "svd": W_in = S_d V_d^T, W_out = U_d (T = U S V^T, d = n_neurons), so the linear part
             W_out W_in is the best rank-d approximation of T; "optimal": keep that W_in and use
             optimal_readout(W_in, task, n_samples, seed) (exact one-hot readout for one-hot tasks)
    reference_orientation  True reproduces the reference code exactly: it puts U_d S_d into the input
             weights of the row convention, so its network computes T^T x (W_in = S_d U_d^T,
             W_out = V_d); identical for symmetric T, wrong for asymmetric T.
    Each neuron is then flipped so that its largest-magnitude input weight is positive (the reference's
    rule; it does not change W_out W_in but decides which half-line the ReLU passes).
    """
    task = check_task(task)
    v.choice("target", target, _TARGETS)
    alpha = v.real("alpha", alpha)
    v.choice("readout", readout, {"svd", "optimal"})
    reference_orientation = v.boolean("reference_orientation", reference_orientation)
    T = _target(task, target, alpha)
    w_in, w_out, _ = svd_factors(T.T if reference_orientation else T, task.n_neurons)
    w_in, w_out = sign_rule(w_in, w_out)
    if readout == "optimal":
        return optimal_readout(w_in, task, n_samples=n_samples, seed=seed)
    return Weights(w_in, w_out)
