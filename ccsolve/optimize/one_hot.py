"""minimize_one_hot: the exact one-hot loss minimised over (W_in, W_out), any sign (variable projection +
a scipy quasi-Newton method)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from ..constructions.report import Reported
from ..core import validation as v
from ..core.blas import one_blas_thread
from ..core.progress import progress_bar
from ..core.task import Task, check_task
from ..core.weights import Weights
from ..evaluation.closed_forms import one_hot_loss, one_hot_lower_bound
from ..evaluation.one_hot import one_hot_readout, reduced_one_hot_loss_and_gradient
from .inits import expand_inits, initial_weights

__all__ = ["minimize_one_hot", "MinimizeResult"]


@dataclass(frozen=True)
class MinimizeResult(Reported):
    """The one-hot loss minimised over (W_in, W_out), any sign.

    weights       best weights over all inits
    objective     their one-hot L/p (= one_hot_loss)
    one_hot_loss, lower_bound, gap   as in Summary
    n_iter        quasi-Newton iterations of the best run
    converged     scipy's success flag of the best run
    message       scipy's message of the best run
    init          the init the best run started from
    runs          one dict per init: init, one_hot_loss, start_loss, n_iter, converged, message
    seconds       wall time, all runs (the SNMF init included)
    """

    weights: Weights
    objective: float
    one_hot_loss: float
    lower_bound: float
    gap: float
    n_iter: int
    converged: bool
    message: str
    init: str
    seconds: float
    runs: tuple = field(default_factory=tuple)

    def __repr__(self):
        return (
            f"MinimizeResult(one_hot_loss={self.one_hot_loss:.8g}, gap={self.gap:.3g}, init={self.init!r}, "
            f"n_iter={self.n_iter}, converged={self.converged})"
        )


@one_blas_thread
def minimize_one_hot(
    task: Task,
    init="auto",
    n_inits: int = 1,
    seed=0,
    method: str = "L-BFGS-B",
    tol: float = 1e-9,
    ftol: float = 1e-12,
    max_iter: int = 2000,
    perturb: float = 1e-6,
    progress: bool = False,
) -> MinimizeResult:
    """Minimise the exact one-hot loss over W_in (any sign) and W_out with a scipy quasi-Newton method.

    W_out is eliminated exactly (variable projection: for given W_in the optimal readout is a least-squares
    solve), so the quasi-Newton method runs on W_in alone with the analytic gradient of the reduced loss
    (reduced_one_hot_loss_and_gradient), which converges much faster than a joint run on both matrices.
    init     "auto" (= ["snmf", "svd", "random"]), "snmf" (snmf(task, seed=seed)), "svd" (svd(task)),
             "naive", "random" (the reference's Kaiming-uniform init), a Weights (its W_in is used), or a
             list of these
    n_inits  number of random starts each "random" entry expands to
    method   "L-BFGS-B" (default) or "CG", on the loss times 6n (a sum of squares); tol is scipy's gtol
             on that scaled gradient, ftol L-BFGS-B's relative-decrease stop, max_iter the iteration cap.
             The loss has kinks where W_in entries cross 0, and convergence near the end is slow: with the
             defaults a run usually stops at the iteration cap (converged=False) a little above its
             local minimum; raise max_iter for more digits.
    perturb  entries of W_in with |w| < perturb * max|W_in| are moved to +-perturb * max|W_in| (random
             signs): the ReLU subgradient at exactly 0 is 0, so an SNMF or naive init could never move
             them otherwise
    The best run (lowest one-hot loss) is returned with every run's summary in .runs. The loss is
    piecewise quadratic and not convex: the result is a local minimum, never below one_hot_lower_bound.
    """
    from scipy.optimize import minimize

    t0 = time.perf_counter()
    task = check_task(task)
    v.choice("method", method, {"L-BFGS-B", "CG"})
    n_inits = v.positive_int("n_inits", n_inits)
    tol = v.positive("tol", tol)
    ftol = v.non_negative("ftol", ftol)
    max_iter = v.positive_int("max_iter", max_iter)
    perturb = v.non_negative("perturb", perturb)
    n, d = task.n_features, task.n_neurons
    expanded = expand_inits(init, n, d, {"snmf", "svd", "naive", "random"}, ["snmf", "svd", "random"],
                              {"random": n_inits})
    gen = v.rng(seed)
    mixing = task.mixing
    scale = 6.0 * n

    def fun(x):
        loss, g_in, _ = reduced_one_hot_loss_and_gradient(x.reshape(d, n), mixing)
        return loss * scale, g_in.ravel() * scale

    bar = progress_bar(progress, len(expanded), "minimize_one_hot")
    runs = []
    best = None
    for name, w0 in expanded:
        if w0 is None:
            w0 = initial_weights(name, task, seed, gen)
        w_in = np.array(w0.W_in)
        s = np.max(np.abs(w_in)) if np.any(w_in) else 1.0
        small = np.abs(w_in) < perturb * s
        w_in[small] = perturb * s * np.where(gen.random(int(small.sum())) < 0.5, -1.0, 1.0)
        start = one_hot_loss(w0, mixing)
        opts = {"maxiter": max_iter, "gtol": tol}
        if method == "L-BFGS-B":
            opts.update({"ftol": ftol, "maxcor": 20, "maxfun": 2 * max_iter})
        res = minimize(fun, w_in.ravel(), jac=True, method=method, options=opts)
        w_in = res.x.reshape(d, n)
        w = Weights(w_in, one_hot_readout(w_in, np.eye(n) + mixing, mixing))
        loss = one_hot_loss(w, mixing)
        runs.append({"init": name, "one_hot_loss": loss, "start_loss": start, "n_iter": int(res.nit),
                     "converged": bool(res.success), "message": str(res.message)})
        if best is None or loss < best[0]:
            best = (loss, w, res, name)
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    loss, w, res, name = best
    bound = one_hot_lower_bound(task)
    return MinimizeResult(w, loss, loss, bound, loss - bound, int(res.nit), bool(res.success), str(res.message),
                          name, time.perf_counter() - t0, tuple(runs))
