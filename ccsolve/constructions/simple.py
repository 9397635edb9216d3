"""Naive constructions: the identity on n_neurons features, plus the optimal constant offset."""

from __future__ import annotations

import numpy as np

from ..core import validation as v
from ..core.task import Task, check_task
from ..core.weights import Weights
from ..evaluation.closed_forms import naive_features, optimal_offset

__all__ = ["naive", "naive_offset"]


def naive(task: Task, features=None) -> Weights:
    """Identity on `features` (default the first n_neurons): neuron k reads and writes feature features[k]."""
    return naive_offset(task, offset=0.0, features=features)


def naive_offset(task: Task, offset: float | None = None, features=None) -> Weights:
    """Naive plus `offset` in every unrepresented output's row of W_out.

    offset=None uses the optimal offset for the task's p and M (closed form, ccsolve.optimal_offset).
    """
    task = check_task(task)
    f = naive_features(task, features)
    offset = optimal_offset(task, f) if offset is None else v.real("offset", offset)
    n, d = task.n_features, task.n_neurons
    w_in = np.zeros((d, n))
    w_out = np.zeros((n, d))
    k = np.arange(f.size)
    w_in[k, f] = 1.0
    w_out[f, k] = 1.0
    rest = np.setdiff1d(np.arange(n), f)
    w_out[np.ix_(rest, k)] = offset
    return Weights(w_in, w_out)
