"""Benchmark: one projected evaluation of the exact objective, previous path vs fused (issue 13).

Previous: ExactObjective.readout(W_in) then value_and_grad at that readout (pair kernel and tail kernel
twice each, all accumulators). Fused: ccsolve.optimize._fast.ProjectedEvaluator (moment pass, Cholesky,
gradient pass). Same process, interleaved, JIT warmed up; checks that both give the same F and gradient.
Task: embedding M (seed 0), 50 neurons, p (default 0.01), default tail (32,768 samples), random W_in.

Run:  python benchmarks/bench_exact_eval.py [--p 0.01] [--repeats 5]
"""

from __future__ import annotations

import argparse
import subprocess
import time

import numpy as np


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--p", type=float, default=0.01)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    import ccsolve
    from ccsolve.core.blas import single_threaded_blas
    from ccsolve.core.weights import Weights
    from ccsolve.optimize._fast import ProjectedEvaluator
    from ccsolve.optimize.exact import ExactObjective

    task = ccsolve.Task(ccsolve.mixing.embedding(100, 1000, seed=0), 50, args.p)
    w_in = 0.3 * np.random.default_rng(0).normal(size=(50, 100))
    obj = ExactObjective(task, seed=0)
    ev = ProjectedEvaluator(obj)

    def old():
        w_out = obj.readout(w_in)
        return obj._value_and_grad(Weights(w_in, w_out))[:2]

    with single_threaded_blas():
        (f0, g0), (f1, g1, _) = old(), ev(w_in)
        print(f"F previous {f0:.12f} fused {f1:.12f}; max |grad diff| / max |grad| "
              f"{np.abs(g1 - g0).max() / np.abs(g0).max():.1e}")
        t_old, t_new = [], []
        for _ in range(args.repeats):
            t = time.perf_counter()
            old()
            t_old.append(time.perf_counter() - t)
            t = time.perf_counter()
            ev(w_in)
            t_new.append(time.perf_counter() - t)
    print(f"one projected evaluation: previous {np.median(t_old):.3f} s, fused {np.median(t_new):.3f} s "
          f"(median of {args.repeats}), ratio {np.median(t_old) / np.median(t_new):.2f}x")
    print("machine:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())


if __name__ == "__main__":
    main()
