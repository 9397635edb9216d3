"""Dense-regime construction: naive + offset generalised to M != 0 (issue 14, item 4b).

The post's dense solution represents n_neurons features with one neuron each and uses the sum of the
represented neurons as a bias-like offset for the other outputs (ccsolve.constructions.naive_offset,
M = 0). `dense_offset` keeps one neuron per represented feature f_k, lets it also read the M-row of its own
label (the features whose linear term enters y_{f_k}) with two fitted scalars,

    W_in[k] = e_{f_k} + gamma_rep M[f_k, F minus f_k] + gamma_unrep M[f_k, U]     (U: unrepresented features)

and uses the least-squares readout at p (the offset is part of it). At gammas (0, 0) the hidden units
h_k = ReLU(x_{f_k}) are independent and everything is closed form:

    E[h h^T] / p = (1/6 - p/16) I + (p/16) 1 1^T
    E[y h^T] / p = (1/6 - p/16) S + (p/16) 1 1^T + M[:, f] / 6        (S_jk = [j = f_k])
    E||y||^2 / p = n/6 + (tr M + ||M||_F^2) / 3
    L/p          = (E||y||^2 - tr(E[y h^T] E[h h^T]^-1 E[h y^T])) / (n p)

and at M = 0 it is exactly naive_offset with the optimal offset p / (8/3 + (d-1) p). The features are
chosen by exchange moves on that closed form; the gammas are fitted on the loss with the least-squares
readout (Bernoulli moments, seeded). Numbers and the structure it was read from (a trained p = 1 model):
docs/mechanism.md, section "The two effects the post left open".
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from ..core import validation as v
from ..core.blas import one_blas_thread
from ..core.results import SolverResult
from ..core.task import Task, check_task
from ..core.weights import Weights
from ..evaluation.closed_forms import naive_features, naive_offset_loss, optimal_offset

__all__ = ["DenseOffsetResult", "dense_offset", "dense_offset_loss"]


@dataclass(frozen=True, repr=False)
class DenseOffsetResult(SolverResult):
    """One neuron per represented feature reading its own input plus its label's M-row, exact readout at p.

    weights     Weights: W_in[k] = e_{f_k} + gamma_rep M[f_k, F] + gamma_unrep M[f_k, U] (F the represented
                features other than f_k, U the unrepresented ones, M's diagonal left out); W_out the
                least-squares readout at task.p (closed form when both gammas are 0; else
                optimal_readout with n_samples moment samples; one-hot task: exact)
    objective   L/p of `weights`: exact when both gammas are 0 or the task is one-hot; otherwise the
                moment estimate E||y||^2 - tr(W_out E[h y^T]) of the readout's own samples (slightly
                optimistic; use ccsolve.loss_per_feature for a standard error)
    parameters  {"gamma_rep": ..., "gamma_unrep": ...}
    features    the represented features (sorted), neuron k reads features[k]
    offset      mean readout weight of an unrepresented output on the represented neurons (the
                bias-like term; equals ccsolve.optimal_offset when M = 0)
    naive_offset_loss   exact L/p of naive_offset on the first n_neurons features (same task)
    closed_form_loss    exact L/p at gammas (0, 0) on `features` (the readout-only generalisation)
    n_iter      Nelder-Mead evaluations of the gamma fit (0 when gammas were given)
    converged   the fit's own stopping rule was met (True when gammas were given)
    moves       exchange moves of the feature selection; seconds: wall time
    p           the feature probability the readout and the loss are for (0.0 for a one-hot task)
    """

    weights: Weights
    objective: float
    parameters: dict
    features: np.ndarray
    offset: float
    naive_offset_loss: float
    closed_form_loss: float
    n_iter: int
    converged: bool
    moves: int
    seconds: float
    p: float


def _p_eff(task: Task) -> float:
    return 0.0 if task.one_hot else task.p


def _parts(task: Task):
    """Pieces of the closed form that do not depend on the chosen features."""
    n = task.n_features
    m = task.mixing
    p = _p_eff(task)
    a = 1.0 / 6.0 - p / 16.0  # E[h h^T] / p = a I + b 1 1^T
    b = p / 16.0
    energy = n / 6.0 + (np.trace(m) + np.sum(m * m)) / 3.0  # E||y||^2 / p
    return n, m, p, a, b, energy


def _readout(task: Task, f: np.ndarray):
    """(W_out, explained energy / p) for naive input weights on features f."""
    n, m, _, a, b, _ = _parts(task)
    d = f.size
    y = np.full((n, d), b)  # E[y h^T] / p
    y[f, np.arange(d)] += a
    y += m[:, f] / 6.0
    # E[h h^T]^-1 = (I - c 1 1^T) / a with c = b / (a + d b) (Sherman-Morrison)
    c = b / (a + d * b)
    w_out = (y - c * np.outer(y.sum(axis=1), np.ones(d))) / a
    explained = float(np.sum(w_out * y))  # tr(Y G^-1 Y^T)
    return w_out, explained


def _check_task(task: Task) -> Task:
    task = check_task(task)
    if task.n_neurons > task.n_features:
        raise ValueError(f"dense_offset needs n_neurons <= n_features, got n_neurons={task.n_neurons} and "
                         f"n_features={task.n_features}")
    return task


@one_blas_thread
def dense_offset_loss(task: Task, features=None) -> float:
    """Exact L/p of naive input weights on `features` (default the first n_neurons) with the exact readout."""
    task = _check_task(task)
    f = naive_features(task, features)
    n, _, _, _, _, energy = _parts(task)
    return (energy - _readout(task, f)[1]) / n


def _columns(task: Task):
    """(cols, norms): cols[:, i] = E[y h^T] / p column of a neuron on feature i (n, n), norms its squared
    column norms (the energy a neuron on feature i explains alone, up to the offset's share)."""
    n, m, _, a, b, _ = _parts(task)
    cols = np.full((n, n), b) + a * np.eye(n) + m / 6.0
    return cols, np.sum(cols * cols, axis=0)


def _exchange(task: Task, f: np.ndarray, max_rounds: int):
    """Best-improvement exchange of one represented and one unrepresented feature, until none helps.

    The explained energy is tr(Y G^-1 Y^T) = (||Y||^2 - c ||Y 1||^2) / a with columns y_k of Y depending
    only on f_k: swapping f_k -> i changes ||Y||^2 by ||y(i)||^2 - ||y(f_k)||^2 and Y 1 by y(i) - y(f_k),
    so every candidate exchange is scored in one matrix product.
    """
    n, _, _, a, b, _ = _parts(task)
    d = f.size
    c = b / (a + d * b)
    cols, norms = _columns(task)
    moves = 0
    inside = np.zeros(n, dtype=bool)
    inside[f] = True
    for _ in range(max_rounds):
        s = cols[:, inside].sum(axis=1)  # Y 1
        ins = np.flatnonzero(inside)
        outs = np.flatnonzero(~inside)
        if outs.size == 0:
            break
        # gain(k -> i) = [norms_i - norms_k - c (||s + y_i - y_k||^2 - ||s||^2)] / a
        ss = s @ cols  # s . y_j for every j
        gram = cols.T @ cols
        di = norms[outs][None, :] - norms[ins][:, None]
        cross = (2.0 * (ss[outs][None, :] - ss[ins][:, None]) + norms[outs][None, :] + norms[ins][:, None]
                 - 2.0 * gram[np.ix_(ins, outs)])
        gain = (di - c * cross) / a
        k, i = np.unravel_index(np.argmax(gain), gain.shape)
        if gain[k, i] <= 1e-13 * max(1.0, float(np.max(norms))):
            return np.sort(ins), moves, True
        inside[ins[k]] = False
        inside[outs[i]] = True
        moves += 1
    return np.sort(np.flatnonzero(inside)), moves, False


def _w_in(task: Task, f: np.ndarray, gamma_rep: float, gamma_unrep: float) -> np.ndarray:
    n, d = task.n_features, task.n_neurons
    m = np.array(task.mixing)
    np.fill_diagonal(m, 0.0)
    rep = np.zeros(n, dtype=bool)
    rep[f] = True
    scale = np.where(rep, gamma_rep, gamma_unrep)  # by input feature j
    w_in = np.zeros((d, n))  # neurons beyond len(features) stay silent
    w_in[: f.size] = m[f] * scale[None, :]
    w_in[np.arange(f.size), f] = 1.0
    return w_in


def _fit_readout(task: Task, w_in: np.ndarray, n_samples: int, seed):
    """(W_out, estimated L/p) of the least-squares readout: exact for one-hot tasks, moments otherwise."""
    from ..evaluation.closed_forms import one_hot_loss
    from .readout import optimal_readout, readout_moments

    n, _, p, _, _, energy = _parts(task)
    if task.one_hot:
        w = optimal_readout(w_in, task)
        return np.asarray(w.W_out), one_hot_loss(w, task.mixing)
    g, y = readout_moments(w_in, task, n_samples, seed)
    scale = max(float(np.max(np.abs(g))), 1e-300)
    w_out = np.linalg.lstsq(g / scale, y / scale, rcond=1e-12)[0].T
    return w_out, float((energy - np.sum(w_out * y.T) / p) / n)


@one_blas_thread
def dense_offset(task: Task, features=None, select: bool = True, gammas=None, n_samples: int = 1 << 16,
                 seed=0, max_moves: int = 1000, max_evals: int = 60) -> DenseOffsetResult:
    """naive + offset generalised to any M: one neuron per feature reading its label's M-row, exact readout.

    task       ccsolve.Task with n_neurons <= n_features (one-hot: the p -> 0 limit)
    features   the represented features (distinct indices, at most n_neurons of them); None: chosen
    select     with features=None: start from the n_neurons features whose labels carry the most energy
               and apply best-improvement exchanges on the exact gammas = (0, 0) loss until none helps (at
               most max_moves); False: the first n_neurons features
    gammas     (gamma_rep, gamma_unrep): neuron k reads x_{f_k} + gamma_rep sum_{j in F} M[f_k, j] x_j +
               gamma_unrep sum_{j in U} M[f_k, j] x_j. None: fitted by Nelder-Mead (at most max_evals
               evaluations, from (1, 2)) on the loss with the least-squares readout (moments from n_samples
               samples, `seed`: common random numbers, so the fitted function is smooth); (0, 0): the
               closed-form readout-only generalisation, exact
    n_samples, seed   the readout's Bernoulli moments (k >= 2 strata; k = 1 is exact); the final readout
               uses an independent stream (seed's second child) so the fit does not tune to its samples
    Returns DenseOffsetResult. At M = 0 (any gammas) the weights are naive_offset(task) on `features`,
    with the closed-form readout.
    """
    from scipy.optimize import minimize

    t0 = time.perf_counter()
    task = _check_task(task)
    select = v.boolean("select", select)
    max_moves = v.positive_int("max_moves", max_moves, minimum=0)
    max_evals = v.positive_int("max_evals", max_evals)
    n_samples = v.sample_count("n_samples", n_samples)
    ss_fit, ss_final = v.seed_sequence(seed).spawn(2)
    n, m, p, _, _, energy = _parts(task)
    d = task.n_neurons
    moves = 0
    if features is not None:
        f = naive_features(task, features)
    elif not select:
        f = naive_features(task)
    else:
        norms = _columns(task)[1]
        # ties (up to rounding) keep index order, so M = 0 starts from (and stays at) the first d features
        f0 = np.sort(np.argsort(-np.round(norms / max(float(norms.max()), 1e-300), 12), kind="stable")[:d])
        f, moves, _ = _exchange(task, f0, max_moves)
    w_out0, explained = _readout(task, f)
    closed = float((energy - explained) / n)
    off_diag = m - np.diag(np.diag(m))
    n_iter, converged = 0, True
    if gammas is None:
        if not np.any(off_diag[f] != 0.0):
            g_rep = g_unrep = 0.0
        else:
            fit_seed = int(ss_fit.generate_state(1)[0])

            def objective(x):
                return _fit_readout(task, _w_in(task, f, x[0], x[1]), n_samples, fit_seed)[1]

            res = minimize(objective, np.array([1.0, 2.0]), method="Nelder-Mead",
                           options={"maxfev": max_evals, "xatol": 1e-3, "fatol": 1e-8,
                                    "initial_simplex": [[1.0, 2.0], [1.5, 2.0], [1.0, 2.5]]})
            g_rep, g_unrep = float(res.x[0]), float(res.x[1])
            n_iter, converged = int(res.nfev), bool(res.success)
    else:
        g = np.asarray(gammas, dtype=float)
        if g.shape != (2,) or not np.all(np.isfinite(g)):
            raise ValueError(f"gammas must be two finite numbers (gamma_rep, gamma_unrep), got {gammas!r}")
        g_rep, g_unrep = float(g[0]), float(g[1])
    w_in = _w_in(task, f, g_rep, g_unrep)
    if (g_rep == 0.0 and g_unrep == 0.0) or not np.any(off_diag[f] != 0.0):
        w_out = np.hstack([w_out0, np.zeros((n, d - f.size))])
        objective_value = closed
    else:
        w_out, objective_value = _fit_readout(task, w_in, n_samples, int(ss_final.generate_state(1)[0]))
    rest = np.setdiff1d(np.arange(n), f)
    offset = float(w_out[np.ix_(rest, np.arange(f.size))].mean()) if rest.size and f.size else 0.0
    nol = naive_offset_loss(task, optimal_offset(task))
    return DenseOffsetResult(
        weights=Weights(w_in, w_out),
        objective=float(objective_value),
        parameters={"gamma_rep": g_rep, "gamma_unrep": g_unrep},
        features=f,
        offset=offset,
        naive_offset_loss=float(nol),
        closed_form_loss=closed,
        n_iter=n_iter,
        converged=converged,
        moves=int(moves),
        seconds=time.perf_counter() - t0,
        p=float(p),
    )
