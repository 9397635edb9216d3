"""A construction from M with four fitted scalars (issue 14), ccsolve.optimize.parametric.

It lives in ccsolve/optimize (layer 4) because it fits its scalars on ccsolve.optimize.exact.ExactObjective
and uses its readout; ccsolve.constructions (layer 3) may not import upwards.

    W_in  = inhibit( sparse_snmf( I + a M, lam ), c ),  then REFINE_ROUNDS times (when "mu" is given):
            W_out = readout(W_in);  W_in = inhibit( argmin_{B >= 0} ||W_out B - (I + a M)||^2 + mu lam sum(B), c )
    W_out = the exact least-squares readout at the task's p (ccsolve.exact_objective.ExactObjective.readout)

The refinement re-solves the non-negative reads against the decoder the objective actually uses (the exact
readout at p) instead of sparse_snmf's unit-norm A; it lowered the fitted objective by ~1.3% on the
embedding M at p = 0.01 (docs/mechanism.md).

sparse_snmf(T, lam): alternating minimisation of ||A B - T||_F^2 + lam sum(B) over B >= 0 with unit-norm
columns of A (the L1 penalty makes each neuron read few features), ROUNDS rounds from the truncated SVD
of T (B = max(S_d V_d^T, 0), A = U_d); the B step is an exact non-negative least squares with a linear
term (Lawson-Hanson on the Gram matrix), the A step least squares followed by normalising A's columns.
inhibit(B, c): every entry B[k, i] = 0 becomes -c mean_i B[k, i] (a small negative weight on the features a
neuron does not read: it stops firing when those features are positive).

Parameters: a (the scale of M in the factorised target), lam (sparsity), c (inhibition), mu (the sparsity of
the refinement's B step, relative to lam; a dict without "mu" gives the unrefined three-scalar construction
of the first version). They are fitted
by Nelder-Mead on ccsolve.exact_objective.ExactObjective at the task's p (E_1, E_2 exact, k >= 3 from a
fixed seeded set of samples); everything else is computed from M, n_neurons and p. On one-hot tasks the
objective is the exact one-hot loss and the readout the exact one-hot readout.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from ..core import validation as v
from ..core.blas import one_blas_thread
from ..core.results import Result
from ..core.task import Task, check_task
from ..core.weights import Weights

__all__ = ["REFINE_ROUNDS", "ROUNDS", "ParametricResult", "parametric", "parametric_weights", "sparse_snmf"]

ROUNDS = 150  # alternating rounds of sparse_snmf (a fixed constant of the construction)
REFINE_ROUNDS = 2  # readout / B-step rounds when "mu" is given (a fixed constant of the construction)
DEFAULT_START = {"a": 1.53, "lam": 0.03, "c": 0.4, "mu": 0.37}
N_TAIL_SAMPLES = 8192


def sparse_snmf(T, n_neurons: int, lam: float, rounds: int = ROUNDS) -> np.ndarray:
    """B (n_neurons, n) >= 0 from min ||A B - T||^2 + lam sum(B), unit-norm columns of A (see module)."""
    T = v.as_matrix("T", T)
    d = v.positive_int("n_neurons", n_neurons)
    lam = v.non_negative("lam", lam)
    rounds = v.positive_int("rounds", rounds)
    if d > min(T.shape):
        raise ValueError(f"n_neurons must be <= min(T.shape)={min(T.shape)}, got {d}")
    u, s, vt = np.linalg.svd(T)
    A = u[:, :d].copy()
    B = np.maximum(s[:d, None] * vt[:d], 0.0)
    for _ in range(rounds):
        G = B @ B.T
        A = np.linalg.solve(G + 1e-12 * max(np.trace(G), 1e-300) * np.eye(d), B @ T.T).T
        nrm = np.linalg.norm(A, axis=0)
        nrm[nrm == 0] = 1.0
        A /= nrm
        B = np.ascontiguousarray(B * nrm[:, None])
        _b_step(A, T, lam, B)
    return B


def _b_step(A: np.ndarray, T: np.ndarray, lam: float, B: np.ndarray) -> None:
    """B (d, n) in place, from B as the start: argmin_{B >= 0} ||A B - T||_F^2 + lam sum(B), an exact
    non-negative least squares with a linear term on the Gram matrix (sparse_snmf's and the refinement's
    B step)."""
    from .._kernels.nnls import nnls_gram

    d = A.shape[1]
    nnls_gram(np.ascontiguousarray(A.T @ A), np.ascontiguousarray(A.T @ T - 0.5 * lam), B, 1e-12, 20 * d + 100)


def _objective(task: Task, seed):
    from .exact import ExactObjective

    return ExactObjective(task, n_tail_samples=N_TAIL_SAMPLES, seed=seed)


def _check_params(parameters) -> dict:
    if not isinstance(parameters, dict):
        raise TypeError(f"parameters must be a dict with keys a, lam, c (and optionally mu), "
                        f"got {type(parameters).__name__}")
    missing = {"a", "lam", "c"} - set(parameters)
    if missing:
        raise ValueError(f"parameters is missing {sorted(missing)}")
    unknown = set(parameters) - {"a", "lam", "c", "mu"}
    if unknown:
        raise ValueError(f"parameters has unknown keys {sorted(unknown)}; expected a, lam, c, mu")
    out = {"a": v.real("a", parameters["a"]), "lam": v.non_negative("lam", parameters["lam"]),
           "c": v.real("c", parameters["c"])}
    if "mu" in parameters:
        out["mu"] = v.non_negative("mu", parameters["mu"])
    return out


def _inhibit(B: np.ndarray, c: float) -> np.ndarray:
    mean = B.mean(axis=1, keepdims=True)
    return np.where(B == 0.0, -c * mean, B)


def _build(task: Task, prm: dict, obj) -> Weights:
    n, d = task.n_features, task.n_neurons
    T = np.eye(n) + prm["a"] * task.mixing
    w = _inhibit(sparse_snmf(T, d, prm["lam"]), prm["c"])
    if "mu" in prm:
        for _ in range(REFINE_ROUNDS):
            A = obj.readout(w)
            B = np.ascontiguousarray(np.maximum(np.linalg.lstsq(A, T, rcond=None)[0], 0.0))
            _b_step(A, T, prm["mu"] * prm["lam"], B)
            w = _inhibit(B, prm["c"])
    return Weights(w, obj.readout(w))


@one_blas_thread
def parametric_weights(task: Task, parameters: dict, seed=0) -> Weights:
    """The construction's weights for given parameters {"a", "lam", "c"[, "mu"]} (and readout tail `seed`)."""
    task = check_task(task)
    return _build(task, _check_params(parameters), _objective(task, seed))


@dataclass(frozen=True)
class ParametricResult(Result):
    """parametric(): weights, the fitted scalars and how they were found.

    weights      Weights (= parametric_weights(task, parameters, seed))
    parameters   {"a", "lam", "c", "mu"}
    objective    ExactObjective value at the fit (fixed tail samples: slightly optimistic; evaluate with
                 ccsolve.loss_per_feature for an independent L/p)
    one_hot_loss exact one-hot loss of the weights
    n_evals, seconds, start, seed, p, one_hot
    """

    weights: Weights
    parameters: dict
    objective: float
    one_hot_loss: float
    n_evals: int
    seconds: float
    start: dict = field(default_factory=dict)
    seed: int = 0
    p: float = 0.0
    one_hot: bool = False

    def to_dict(self) -> dict:
        """The fields (weights as {"W_in", "W_out"}) and ccsolve's version."""
        from .. import __version__

        return {**super().to_dict(), "ccsolve_version": __version__}

    def __repr__(self):
        prm = ", ".join(f"{k}={val:.4g}" for k, val in self.parameters.items())
        return f"ParametricResult({prm}, objective={self.objective:.6g}, one_hot_loss={self.one_hot_loss:.6g})"


@one_blas_thread
def parametric(task: Task, start: dict | None = None, max_evals: int = 60, seed=0, fit: bool = True,
               progress: bool = False) -> ParametricResult:
    """Fit (a, lam, c[, mu]) by Nelder-Mead on the exact objective at task.p (see the module docstring).

    start      starting parameters (default DEFAULT_START); the search runs over (log a, log lam, c, log mu);
               a start without "mu" fits the unrefined three-scalar construction
    max_evals  objective evaluations (each ~1-7 s: 150 sparse-SNMF rounds, 3 readouts, an evaluation)
    seed       seeds the fixed tail samples of the objective and of the readout
    fit=False  just build the weights at `start`
    """
    from scipy.optimize import minimize

    from ..evaluation.closed_forms import one_hot_loss

    task = check_task(task)
    max_evals = v.positive_int("max_evals", max_evals)
    prm0 = _check_params(dict(DEFAULT_START if start is None else start))
    if prm0["a"] <= 0 or prm0["lam"] <= 0 or prm0.get("mu", 1.0) <= 0:
        raise ValueError("start needs a > 0, lam > 0 and mu > 0 (the search is over their logarithms)")
    progress = v.boolean("progress", progress)
    obj = _objective(task, seed)
    t0 = time.perf_counter()
    n_evals = 0
    bar = None
    if progress and fit:
        from tqdm.auto import tqdm

        bar = tqdm(total=max_evals, desc="parametric", leave=False)

    refine = "mu" in prm0

    def unpack(x):
        out = {"a": float(np.exp(x[0])), "lam": float(np.exp(x[1])), "c": float(x[2])}
        if refine:
            out["mu"] = float(np.exp(x[3]))
        return out

    def f(x):
        nonlocal n_evals
        n_evals += 1
        if bar is not None:
            bar.update(1)
        return obj.value(_build(task, unpack(x), obj))

    x0 = np.array([np.log(prm0["a"]), np.log(prm0["lam"]), prm0["c"]] + ([np.log(prm0["mu"])] if refine else []))
    steps = [0.3, 0.5, 0.15] + ([0.5] if refine else [])
    if fit:
        res = minimize(f, x0, method="Nelder-Mead",
                       options={"maxfev": max_evals, "xatol": 1e-3, "fatol": 1e-7,
                                "initial_simplex": x0 + np.vstack([np.zeros(x0.size), np.diag(steps)])})
        prm = unpack(res.x)
    else:
        prm = prm0
    if bar is not None:
        bar.close()
    w = _build(task, prm, obj)
    value = obj.value(w)
    return ParametricResult(w, prm, float(value), float(one_hot_loss(w, task.mixing)), n_evals,
                            time.perf_counter() - t0, dict(prm0), int(seed) if isinstance(seed, int) else 0,
                            float(task.p) if not task.one_hot else 0.0, bool(task.one_hot))
