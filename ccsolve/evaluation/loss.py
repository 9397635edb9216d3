"""loss_per_feature: L/p of any weights with a standard error, the one dispatcher over the evaluators.

  method="exact"        closed form: one-hot tasks; Bernoulli tasks when what >= 3 active features could
                        add is <= tol (exact strata k = 1, 2, ccsolve.evaluation.stratified)
  method="monte_carlo"  plain Monte Carlo (ccsolve.evaluation.montecarlo)
  method="stratified"   exact strata k = 1, 2 + Monte Carlo conditional on k >= 3
  method="moments"      no sampling: exact second moments (ccsolve.evaluation.moments), error estimate <= tol
  method="auto"         the fastest of these reaching tol
"""

from __future__ import annotations

import time

import numpy as np

from ..core import validation as v
from ..core.blas import one_blas_thread
from ..core.task import Task, check_task
from ..core.weights import Weights, check_weights
from .closed_forms import one_hot_loss
from .estimate import LossEstimate
from .moments import CostCapExceeded, moments_loss
from .montecarlo import mc_to_tol, monte_carlo
from .stratified import bound_slope, exact_loss, stratified_loss, stratum_weights

__all__ = ["LossEstimate", "loss_per_feature"]

# "auto" takes plain Monte Carlo (its dense BLAS path) from this p on: measured crossover between 0.3 and
# 0.7, docs/benchmarks.md "Stratified evaluation"
AUTO_MC_P = 0.5
# "auto" takes the exact second moments at p >= AUTO_MOMENTS_P when tol <= AUTO_MOMENTS_TOL, and from
# AUTO_MOMENTS_P_TIGHT on when tol <= AUTO_MOMENTS_TOL_TIGHT: the stratified sampler's cost grows as 1/tol^2,
# the moments' slowly. Measured on the 100 x 50 model trained at p = 0.3 (docs/benchmarks.md "Exact second
# moments", benchmarks/bench_auto_moments.py): at tol 1e-6 moments 0.67 / 0.58 / 0.24 s against stratified
# 2.15 / 19.9 / 45.3 s at p = 0.02 / 0.05 / 0.1; at tol 1e-5 moments 0.37 / 0.35 / 0.15 s against
# 0.06 / 0.25 / 0.52 s.
AUTO_MOMENTS_TOL = 1e-5
AUTO_MOMENTS_P = 0.1
AUTO_MOMENTS_TOL_TIGHT = 1e-6
AUTO_MOMENTS_P_TIGHT = 0.02
AUTO_MOMENTS_MAX_EVALS = 5e9  # "auto" falls back to the samplers above this 2-D box cost (p = 0.02, tol 1e-6: 2.4e9, 0.7 s)


@one_blas_thread
def loss_per_feature(
    weights: Weights,
    task: Task,
    method: str = "monte_carlo",
    n_samples: int = 1 << 20,
    seed=0,
    tol: float | None = None,
) -> LossEstimate:
    """L/p of `weights` on `task` with a standard error.

    weights   ccsolve.Weights with n_features equal to the task's
    method    "exact"       closed form: one-hot tasks; Bernoulli tasks when what >= 3 active features
                            could add is <= tol (strata k = 1, 2 exact, ccsolve.stratified)
              "stratified"  E_1, E_2 exact + Monte Carlo conditional on k >= 3 (ccsolve.stratified)
              "monte_carlo" plain Monte Carlo
              "moments"     no sampling: L/p from exact second moments (ccsolve.moments.moments_loss);
                            stderr holds its error estimate, brought below tol (default 1e-7)
              "auto"        exact if allowed (one-hot, or tiny p within tol), else moments when
                            tol <= AUTO_MOMENTS_TOL and p >= AUTO_MOMENTS_P (1e-5, 0.1) or tol <=
                            AUTO_MOMENTS_TOL_TIGHT and p >= AUTO_MOMENTS_P_TIGHT (1e-6, 0.02), else stratified below
                            p = 0.5, else monte_carlo (measured crossovers, docs/benchmarks.md)
    n_samples Monte Carlo samples (empty samples included, as in the reference); for "stratified", the
              samples spread over the strata k >= 3. Ignored when tol is given.
    seed      int, numpy Generator or None; same seed, same estimate whatever the thread count
    tol       target standard error: sample until reached (pilot-based sample counts)
    """
    task = check_task(task)
    weights = check_weights(weights, task.n_features)
    v.choice("method", method, {"exact", "monte_carlo", "stratified", "moments", "auto"})
    n_samples = v.sample_count("n_samples", n_samples, minimum=2)
    if tol is not None:
        tol = v.positive("tol", tol)
    if method == "auto":
        if task.one_hot or (tol is not None and _exact_bound(weights, task) <= tol):
            method = "exact"
        else:
            if tol is not None and ((tol <= AUTO_MOMENTS_TOL and task.p >= AUTO_MOMENTS_P)
                                    or (tol <= AUTO_MOMENTS_TOL_TIGHT and task.p >= AUTO_MOMENTS_P_TIGHT)):
                est = _moments_estimate(weights, task, tol, AUTO_MOMENTS_MAX_EVALS)
                if est is not None:
                    return est
            method = "stratified" if task.p < AUTO_MC_P else "monte_carlo"
    if method == "exact":
        if task.one_hot:
            t0 = time.perf_counter()
            value = one_hot_loss(weights, task.mixing)
            return LossEstimate(value, 0.0, 0, "exact", None, time.perf_counter() - t0)
        if tol is None:
            raise ValueError(
                "method='exact' needs a one-hot task (Task(..., one_hot=True)), or a tol bounding what "
                ">= 3 active features add; use method='stratified' or 'monte_carlo' for Bernoulli inputs"
            )
        return exact_loss(weights, task, tol)
    if method == "moments":
        if task.one_hot:
            raise ValueError("method='moments' needs a Bernoulli task; a one-hot task is exact (method='exact')")
        return _moments_estimate(weights, task, 1e-7 if tol is None else tol, None)
    if method == "stratified":
        if task.one_hot:
            raise ValueError(
                "method='stratified' needs a Bernoulli task; a one-hot task is exact (method='exact')"
            )
        return stratified_loss(weights, task, n_samples, tol, seed)
    if tol is not None:
        return mc_to_tol(weights, task, tol, seed)
    return monte_carlo(weights, task, n_samples, seed)


def _exact_bound(weights: Weights, task: Task) -> float:
    w = stratum_weights(task.n_features, task.p)
    k = np.arange(task.n_features + 1)
    return float(bound_slope(weights, task.mixing) * np.sum((k * w)[3:]))


def _moments_estimate(weights: Weights, task: Task, tol: float, max_evals) -> LossEstimate | None:
    """moments_loss as a LossEstimate (stderr = its error estimate); None when refused by the cost cap."""
    try:
        r = moments_loss(weights, task, tol=tol, max_factor_evals=max_evals)
    except CostCapExceeded:
        return None
    details = {key: val for key, val in r.details.items() if key != "moments"}
    details["error_estimate"] = r.error
    return LossEstimate(r.value, r.error, 0, "moments", task.p, r.seconds, details)
