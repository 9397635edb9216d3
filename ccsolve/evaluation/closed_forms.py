"""Exact losses per feature (L/p) in closed form. Derivations: docs/math.md.

Moments of one input (active with probability p, value U[-1, 1]): E[x] = 0, E[x^2] = p/3,
E[ReLU(x)] = p/4, E[ReLU(x)^2] = E[ReLU(x) x] = p/6; distinct features are independent.
For a one-hot task every formula is its p -> 0 limit (which is exactly the one-hot loss).
"""

from __future__ import annotations

import numpy as np

from ..core import validation as v
from ..core.blas import one_blas_thread
from ..core.task import Task, check_task
from ..core.weights import Weights, check_weights

__all__ = [
    "zero_loss",
    "naive_loss",
    "naive_offset_loss",
    "optimal_offset",
    "one_hot_loss",
    "one_hot_feature_errors",
    "one_hot_lower_bound",
    "naive_features",
]


def _mixing(mixing) -> np.ndarray:
    if isinstance(mixing, Task):
        return mixing.mixing
    m = v.as_matrix("mixing", mixing)
    if m.shape[0] != m.shape[1]:
        raise ValueError(f"mixing must be square (n_features, n_features), got shape {m.shape}")
    return m


def _p_eff(task: Task) -> float:
    # The one-hot loss is the p -> 0 limit of L/p.
    return 0.0 if task.one_hot else task.p


def naive_features(task: Task, features=None) -> np.ndarray:
    """Validated feature indices represented by the naive model (default: the first n_neurons)."""
    n, d = task.n_features, task.n_neurons
    if features is None:
        return np.arange(min(d, n))
    f = np.asarray(features)
    if f.ndim != 1 or not np.issubdtype(f.dtype, np.integer):
        raise TypeError(f"features must be a 1-D sequence of integer feature indices, got {f!r}")
    if f.size > d:
        raise ValueError(f"features has {f.size} entries but the task has only n_neurons={d}")
    if f.size and (f.min() < 0 or f.max() >= n):
        raise ValueError(f"features must lie in [0, {n - 1}], got min {f.min()} and max {f.max()}")
    if np.unique(f).size != f.size:
        raise ValueError("features must be distinct")
    return f.astype(np.int64)


def zero_loss(task: Task) -> float:
    """L/p of the zero model: 1/6 + (||M||_F^2 + tr M) / (3n), for every p."""
    task = check_task(task)
    m = task.mixing
    return 1.0 / 6.0 + (np.sum(m * m) + np.trace(m)) / (3.0 * task.n_features)


def naive_loss(task: Task, features=None) -> float:
    """L/p of the naive model (identity on `features`): no offset, every p."""
    return naive_offset_loss(task, 0.0, features)


def _offset_terms(task: Task, features):
    """Per unrepresented output o: L/p contribution = base_o + b^2 A - 2 b B_o (times 1/n)."""
    n = task.n_features
    m = task.mixing
    p = _p_eff(task)
    f = naive_features(task, features)
    d = f.size
    rest = np.setdiff1d(np.arange(n), f)
    a = d / 6.0 + d * (d - 1) * p / 16.0  # E[S^2] / p, S = sum of ReLU over represented features
    b_o = d * p / 16.0 + m[np.ix_(rest, f)].sum(axis=1) / 6.0  # (E[S ReLU(x_o)] + E[S (Mx)_o]) / p
    base = np.sum(m * m) / 3.0 + rest.size / 6.0 + np.sum(np.diag(m)[rest]) / 3.0
    return base, a, b_o, rest.size


@one_blas_thread
def naive_offset_loss(task: Task, offset: float, features=None) -> float:
    """L/p of naive + offset: every unrepresented output reads `offset` from every used neuron."""
    task = check_task(task)
    offset = v.real("offset", offset)
    base, a, b_o, _ = _offset_terms(task, features)
    return (base + offset**2 * a * b_o.size - 2.0 * offset * b_o.sum()) / task.n_features


@one_blas_thread
def optimal_offset(task: Task, features=None) -> float:
    """The offset minimising naive_offset_loss; p / (8/3 + (d - 1) p) on clean labels."""
    task = check_task(task)
    _, a, b_o, n_rest = _offset_terms(task, features)
    if n_rest == 0 or a == 0:
        return 0.0
    return float(b_o.sum() / (n_rest * a))


@one_blas_thread
def one_hot_feature_errors(weights: Weights, mixing) -> tuple[np.ndarray, np.ndarray]:
    """Per-feature squared errors for a unit input: (c_pos, c_neg), each of shape (n_features,).

    With only feature i active at value t, ||y_hat - y||^2 = t^2 c_pos[i] for t > 0 and t^2 c_neg[i]
    for t < 0 (positive homogeneity of ReLU).
    """
    m = _mixing(mixing)
    w = check_weights(weights, m.shape[0])
    pos = np.maximum(w.W_in, 0.0)
    neg = np.maximum(-w.W_in, 0.0)
    r_pos = w.W_out @ pos - (np.eye(m.shape[0]) + m)
    r_neg = w.W_out @ neg + m
    return np.einsum("ij,ij->j", r_pos, r_pos), np.einsum("ij,ij->j", r_neg, r_neg)


@one_blas_thread
def one_hot_loss(weights: Weights, mixing) -> float:
    """Exact L/p in the one-hot limit: (||W_out P - (I+M)||^2 + ||W_out N + M||^2) / (6n).

    `mixing` is the (n, n) matrix M or a Task (its mixing is used).
    """
    c_pos, c_neg = one_hot_feature_errors(weights, mixing)
    return float((c_pos.sum() + c_neg.sum()) / (6.0 * c_pos.size))


@one_blas_thread
def one_hot_lower_bound(mixing, n_neurons: int | None = None) -> float:
    """Eckart-Young bound: no weights reach a one-hot L/p below sum_{k>d} s_k^2([I+M, -M]) / (6n).

    `mixing` is M or a Task; n_neurons defaults to the task's, or 50 for a bare matrix.
    """
    m = _mixing(mixing)
    if n_neurons is None:
        n_neurons = mixing.n_neurons if isinstance(mixing, Task) else 50
    d = v.positive_int("n_neurons", n_neurons)
    n = m.shape[0]
    s = np.linalg.svd(np.hstack([np.eye(n) + m, -m]), compute_uv=False)
    return float(np.sum(s[d:] ** 2) / (6.0 * n))
