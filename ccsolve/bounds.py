"""Certified lower bounds on L/p that hold for every choice of weights. Proofs: docs/math.md ("Lower bounds").

subspace_bound(task)  y_hat = W_out h always lies in the column space of W_out (dimension <= n_neurons), so
                      E||y_hat - y||^2 >= the energy of y outside the best n_neurons-dimensional subspace:
                      L/p >= (sum of the n_features - n_neurons smallest eigenvalues of E[y y^T]) / (n p),
                      with E[y y^T] / p = (I + M + M^T + 2 M M^T) / 6 + (p / 16) (1 1^T - I) in closed form.
                      Valid at every p, for one-hot tasks it is the p -> 0 limit (the Eckart-Young bound
                      ccsolve.closed_forms.one_hot_lower_bound).
lower_bound(task)     the best certified bound available for the task, naming which one it is.

Layer 2 (next to the evaluators, docs/architecture.md): imports core only.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .core.blas import one_blas_thread
from .core.results import Result
from .core.task import Task, check_task

__all__ = ["Bound", "second_moment", "subspace_bound", "lower_bound", "BOUNDS"]


@dataclass(frozen=True, repr=False)
class Bound(Result):
    """A certified lower bound on L/p: no weights reach a loss below `value` on this task.

    value     the bound on L/p (one-hot: on the one-hot L/p)
    name      which bound ("subspace", ...)
    p         the feature probability it holds at (None for one-hot tasks)
    details   bound-specific diagnostics (JSON-serialisable)
    """

    value: float
    name: str
    p: float | None
    details: dict = field(default_factory=dict)

    def __float__(self) -> float:
        return float(self.value)


def _p_eff(task: Task) -> float:
    return 0.0 if task.one_hot else task.p


@one_blas_thread
def second_moment(task: Task) -> np.ndarray:
    """E[y y^T] / p for y = ReLU(x) + M x, shape (n_features, n_features); one-hot: its p -> 0 limit.

    E[ReLU ReLU^T] / p = I/6 + (p/16)(1 1^T - I), E[ReLU x^T] / p = I/6, E[x x^T] / p = I/3, hence
    (I + M + M^T + 2 M M^T)/6 + (p/16)(1 1^T - I). For one-hot inputs it is the p = 0 formula, which is
    n E_one_hot[y y^T] (one active feature instead of n p on average), so L/p >= tr(P^perp C) / n holds in
    both modes with the same normalisation.
    """
    task = check_task(task)
    n, m, p = task.n_features, task.mixing, _p_eff(task)
    c = (np.eye(n) + m + m.T + 2.0 * (m @ m.T)) / 6.0
    if p > 0.0:
        c = c + (p / 16.0) * (np.ones((n, n)) - np.eye(n))
    return 0.5 * (c + c.T)


@one_blas_thread
def subspace_bound(task: Task) -> Bound:
    """L/p >= (sum of the n - d smallest eigenvalues of E[y y^T]) / (n p) for any weights (d = n_neurons).

    The output W_out ReLU(W_in x) lies in the column space S of W_out, dim S <= d, so its error is at
    least the distance of y to S; minimising E||P_S^perp y||^2 = tr(P_S^perp E[y y^T]) over all
    d-dimensional S gives the sum of the n - d smallest eigenvalues (Ky Fan). docs/math.md.
    """
    task = check_task(task)
    n, d = task.n_features, task.n_neurons
    ev = np.linalg.eigvalsh(second_moment(task))  # ascending
    k = max(n - d, 0)
    # eigenvalues of a PSD matrix: clip the rounding noise below 0 (it can only lower the bound)
    tail = np.clip(ev[:k], 0.0, None)
    value = float(tail.sum() / n)
    details = {
        "n_features": n,
        "n_neurons": d,
        "n_discarded": k,
        "largest_discarded_eigenvalue": float(ev[k - 1]) if k > 0 else None,
        "smallest_kept_eigenvalue": float(ev[k]) if k < n else None,
    }
    return Bound(value, "subspace", None if task.one_hot else task.p, details)


# name -> function(task) -> Bound; every entry is certified (proof in docs/math.md)
BOUNDS = {"subspace": subspace_bound}


def lower_bound(task: Task) -> Bound:
    """The best (largest) certified bound in BOUNDS for this task; details list every bound's value."""
    task = check_task(task)
    results = [f(task) for f in BOUNDS.values()]
    best = max(results, key=lambda b: b.value)
    details = dict(best.details)
    details["all_bounds"] = {b.name: b.value for b in results}
    return Bound(best.value, best.name, best.p, details)
