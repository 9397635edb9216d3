"""Minimisation of the exact L/p on exact second moments, no samples anywhere (issue 16, dense p).

Variable projection: L/p is quadratic in W_out, so the search runs over W_in alone on

    f(W_in) = min_W_out L/p(W_in, W_out) = L/p(W_in, W_out*(W_in)),

W_out* the exact optimal readout from the moments (ccsolve.moments.moments_readout); by the envelope
theorem grad f = dL/p / dW_in at (W_in, W_out*) (moments_loss's grad_W_in). Unlike minimize_exact's
objective (exact strata 1, 2 plus a FIXED-sample tail), f is L/p itself up to the moments' truncation
error (below `tol`), at every p where the moments are affordable (measured at p = 0.1, 0.3, 1 on 100 x 50:
docs/benchmarks.md, "Dense p"; one value alone costs ~1 s at tol 1e-6 down to p = 0.01).

Public: `minimize_moments` -> `MomentsMinimizeResult`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from ..core import validation as v
from ..core.blas import one_blas_thread
from ..core.progress import progress_bar
from ..core.results import SolverResult
from ..core.task import Task, check_task
from ..core.weights import Weights
from .inits import INITS, expand_inits, initial_weights

__all__ = ["MomentsMinimizeResult", "minimize_moments"]

# default cap on the 2-D cost of one moments evaluation (moments_loss's max_factor_evals): trained 100 x 50
# weights need 8e8 (tol 1e-6) to 2.2e9 (1e-7) at p = 0.1 (value + gradient 2-7 s), more below (docs/benchmarks.md)
DEFAULT_MAX_FACTOR_EVALS = 2e10


@dataclass(frozen=True)
class MomentsMinimizeResult(SolverResult):
    """minimize_moments' result.

    weights    the best weights over all inits: (W_in, the exact optimal readout for W_in)
    objective  L/p at `weights` from the moments at eval_tol (moments_readout); error: its refinement estimate
    start_objective  L/p of the best run's init with ITS OWN readout (the init as given), eval_tol
    n_iter, converged, message   the best run's L-BFGS-B iterations, scipy's flag and message
    init       the init the best run started from
    runs       one dict per init: init, start_objective (init as given), readout_objective (init's W_in
               with the optimal readout), objective, n_iter, n_evals, converged, message, seconds
    p, tol, eval_tol   task.p, the search tolerance, the final evaluation tolerance
    grad_norm  max |dL/p / dW_in| at the result (eval_tol; ~0 at a smooth local minimum, up to the
               truncation noise of the search)
    seconds    wall time of the whole call (inits included)
    """

    weights: Weights
    objective: float
    error: float
    start_objective: float
    n_iter: int
    converged: bool
    message: str
    init: str
    runs: tuple
    p: float
    tol: float
    eval_tol: float
    grad_norm: float
    seconds: float
    details: dict = field(default_factory=dict)


@one_blas_thread
def minimize_moments(
    task: Task,
    init="train",
    seed=0,
    maxiter: int = 200,
    tol: float = 1e-6,
    eval_tol: float = 1e-7,
    train_steps: int = 10_000,
    perturb: float = 1e-6,
    max_factor_evals: float | None = DEFAULT_MAX_FACTOR_EVALS,
    progress: bool = False,
) -> MomentsMinimizeResult:
    """Minimise L/p at task.p over W_in with W_out the exact optimal readout, on exact moments.

    task     Bernoulli ccsolve.Task (one_hot=False; one-hot tasks: minimize_one_hot)
    init     a name of ccsolve.optimize.INITS ("train": ccsolve.train(task, steps=train_steps, seed=seed),
             the default; "snmf", "svd", "naive", "one_hot", "random": data-free), a Weights (its W_in is
             used) or a list of these; every init is run, the lowest L/p wins
    seed     seeds the inits and the perturbation (int >= 0); the objective itself has no randomness
    maxiter  L-BFGS-B iterations per init (scipy.optimize.minimize, analytic gradient, on f * 6n)
    tol      moments tolerance during the search (target absolute error of L/p per evaluation; the
             truncations adapt to W_in, so f is smooth only up to ~tol and the line search may stop there)
    eval_tol the tolerance of the final evaluation of every run (objective, error, grad_norm)
    perturb  W_in entries with |w| < perturb * max|W_in| move to +-perturb * max|W_in| (random signs): at an
             exact 0 the one-active stratum's kink gives the subgradient 0 and the entry would never move
    max_factor_evals  cost cap of one moments evaluation (moments_loss); where the init needs more the call
             raises ValueError naming p (small p: use minimize_exact)
    progress a tqdm bar over the iterations
    """
    from scipy.optimize import minimize

    from ..evaluation.moments import CostCapExceeded, moments_loss, moments_readout

    t0 = time.perf_counter()
    task = check_task(task)
    if task.one_hot:
        raise ValueError("minimize_moments needs a Bernoulli task (one_hot=False); for one-hot tasks use "
                         "minimize_one_hot")
    maxiter = v.positive_int("maxiter", maxiter, minimum=0)
    tol = v.positive("tol", tol)
    eval_tol = v.positive("eval_tol", eval_tol)
    train_steps = v.positive_int("train_steps", train_steps)
    perturb = v.non_negative("perturb", perturb)
    if max_factor_evals is not None:
        max_factor_evals = v.positive("max_factor_evals", max_factor_evals)
    v.boolean("progress", progress)
    seed = v.seed_int(seed)
    n, d, p = task.n_features, task.n_neurons, task.p
    if p == 0.0:
        raise ValueError("minimize_moments needs p > 0")
    expanded = expand_inits(init, n, d, set(INITS), ["train"])
    gen = np.random.default_rng(np.random.SeedSequence(seed))
    scale = 6.0 * n

    def evaluate(w_in, t, grad):
        try:
            return moments_readout(w_in, task, tol=t, grad=grad, max_factor_evals=max_factor_evals)
        except CostCapExceeded as exc:
            raise ValueError(f"minimize_moments at p = {p}: the exact moments are too costly here ({exc}); "
                             "raise max_factor_evals or use minimize_exact (fixed-sample tail)") from None

    runs = []
    best = None
    n_evals_total = 0
    with progress_bar(progress, len(expanded) * maxiter, "minimize_moments") as bar:
        for name, w0 in expanded:
            t_run = time.perf_counter()
            if w0 is None:
                w0 = initial_weights(name, task, seed, gen, train_steps)
            start = evaluate(w0.W_in, eval_tol, False)  # cost check before any work (raises at small p)
            start_own = moments_loss(w0, task, tol=eval_tol, max_factor_evals=max_factor_evals).value
            w_in = np.array(w0.W_in, dtype=float)
            s = float(np.max(np.abs(w_in))) if np.any(w_in) else 1.0
            small = np.abs(w_in) < perturb * s
            w_in[small] = perturb * s * np.where(gen.random(int(small.sum())) < 0.5, -1.0, 1.0)
            count = [0]

            def fun(x, count=count):
                count[0] += 1
                r = evaluate(x.reshape(d, n), tol, True)
                return r.value * scale, r.grad_W_in.ravel() * scale

            n_iter, ok, msg, x = 0, True, "no iterations (maxiter=0)", w_in.ravel()
            if maxiter > 0:
                opts = {"maxiter": maxiter, "maxfun": 2 * maxiter, "gtol": 1e-10, "ftol": 1e-13, "maxcor": 20}
                res = minimize(fun, x, jac=True, method="L-BFGS-B", options=opts,
                               callback=lambda *_: bar.update(1))
                n_iter, ok, msg, x = int(res.nit), bool(res.success), str(res.message), res.x
            final = evaluate(x.reshape(d, n), eval_tol, True)
            if final.value > start.value:  # the search never returns above its start (evaluated at eval_tol)
                final = evaluate(w0.W_in, eval_tol, True)
            n_evals_total += count[0]
            runs.append({"init": name, "start_objective": float(start_own), "readout_objective": float(start.value),
                         "objective": float(final.value), "n_iter": n_iter, "n_evals": count[0], "converged": ok,
                         "message": msg, "seconds": time.perf_counter() - t_run})
            if best is None or final.value < best[0].value:
                best = (final, n_iter, ok, msg, name, float(start_own))
    final, n_iter, ok, msg, name, start_own = best
    return MomentsMinimizeResult(
        final.weights, float(final.value), float(final.error), start_own, n_iter, ok, msg, name, tuple(runs),
        float(p), tol, eval_tol, float(np.max(np.abs(final.grad_W_in), initial=0.0)), time.perf_counter() - t0,
        {"n_evals": n_evals_total},
    )
