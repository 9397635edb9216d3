"""Dense p on exact moments: does minimising the exact L/p (minimize_moments) beat training? (issue 16)

Embedding mixing ccsolve.mixing.embedding(100, seed=0), 50 neurons. Per p in --ps, every L/p from exact
second moments at --eval-tol (moments_loss / moments_readout, no sampling):
  (a) trained      ccsolve.train(task, steps=--steps, seed=0) (cached in --cache by bench_moments.weights_at)
  (b) trained+ro   the trained W_in with the exact optimal readout (optimal_readout(method="moments"))
  (c) minimised    minimize_moments(task, init=..., maxiter=--maxiter, tol=--tol, eval_tol=--eval-tol)
                   from the trained weights and from the data-free init(s) --inits (default "snmf")
Wall times exclude the training (cached) and the JIT warm-up; the minimiser's time includes its init.

    PYTHONPATH=. flock /tmp/timing.lock python benchmarks/exact_moments_dense.py --ps 0.3 [--maxiter 200]
"""

import argparse
import os
import sys
import time

import ccsolve as cc
from ccsolve.evaluation.moments import moments_loss, moments_readout
from ccsolve.optimize import minimize_exact, minimize_moments

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_moments import weights_at


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ps", type=float, nargs="+", default=[0.3, 1.0])
    ap.add_argument("--steps", type=int, default=10_000, help="training steps of (a) (ccsolve.train's default)")
    ap.add_argument("--maxiter", type=int, default=200)
    ap.add_argument("--tol", type=float, default=1e-6, help="moments tol during the search")
    ap.add_argument("--eval-tol", type=float, default=1e-7)
    ap.add_argument("--inits", nargs="*", default=["trained", "snmf"],
                    help="inits of (c): trained (the weights of (a)), a name of ccsolve.optimize.INITS, or "
                         "minimize_exact (its default result at p, data-free, its time included)")
    ap.add_argument("--no-ab", action="store_true", help="skip rows (a), (b)")
    ap.add_argument("--cache", default="/tmp/bench_moments_weights")
    a = ap.parse_args()
    os.makedirs(a.cache, exist_ok=True)
    m = cc.mixing.embedding(100, seed=0)
    small = cc.Task(cc.mixing.embedding(8, 50, seed=0), 3, 0.3)  # JIT warm-up (both low-strata routes)
    minimize_moments(small, init="random", maxiter=3)
    minimize_moments(small.with_p(0.05), init="random", maxiter=3)
    print(f"load average before: {os.getloadavg()}")
    print(f"| p | model | L/p (moments, tol {a.eval_tol:g}) | error est. | vs trained | iterations | wall time |")
    print("|---|---|---|---|---|---|---|")
    for p in a.ps:
        task = cc.Task(m, 50, p)
        w = weights_at(p, m, a.steps, a.cache)
        t = time.perf_counter()
        tr = moments_loss(w, task, tol=a.eval_tol)
        t_tr = time.perf_counter() - t
        t = time.perf_counter()
        ro = moments_readout(w.W_in, task, tol=a.eval_tol)
        t_ro = time.perf_counter() - t

        def row(name, value, err, it, secs, p=p, tr=tr):
            print(f"| {p} | {name} | {value:.8f} | {err:.1e} | {value - tr.value:+.2e} | {it} | {secs:.2f} s |",
                  flush=True)

        if not a.no_ab:
            row(f"(a) trained ({a.steps} steps)", tr.value, tr.error, "-", t_tr)
            row("(b) trained W_in + exact readout", ro.value, ro.error, "-", t_ro)
        for name in a.inits:
            t = time.perf_counter()
            init = {"trained": w}.get(name, name)
            if name == "minimize_exact":
                init = minimize_exact(task, evaluate=False).weights
            r = minimize_moments(task, init=init, maxiter=a.maxiter, tol=a.tol, eval_tol=a.eval_tol)
            run = r.runs[0]
            row(f"(c) minimize_moments from {name}", r.objective, r.error,
                f"{r.n_iter} ({run['n_evals']} evals; {'converged' if r.converged else 'stopped'}: "
                f"{r.message[:40]}; max|grad| {r.grad_norm:.1e}; init {run['start_objective']:.6f}, with exact "
                f"readout {run['readout_objective']:.6f})",
                time.perf_counter() - t)
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
