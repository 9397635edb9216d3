"""Where loss_per_feature(method="auto") should take the exact second moments: one point at a time,
moments_loss against the stratified estimator at the same target (error estimate / standard error <= tol),
on the 100 x 50 model trained at p = 0.3 (ccsolve.train(..., steps=2000, seed=0), embedding M, cached as in
bench_moments.py). JIT warm-up outside the timing. The crossover sets AUTO_MOMENTS_P / AUTO_MOMENTS_P_TIGHT
(ccsolve.evaluation.loss).

    PYTHONPATH=. flock /tmp/timing.lock python benchmarks/bench_auto_moments.py [--ps 0.02 0.05 0.1] [--tols 1e-5 1e-6]
"""

import argparse
import os
import time


import ccsolve as cc
from ccsolve.evaluation.moments import moments_loss

from bench_moments import weights_at


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ps", type=float, nargs="+", default=[0.02, 0.05, 0.1])
    ap.add_argument("--tols", type=float, nargs="+", default=[1e-5, 1e-6])
    ap.add_argument("--cache", default="/tmp/bench_moments_weights")
    a = ap.parse_args()
    m = cc.mixing.embedding(100, seed=0)
    os.makedirs(a.cache, exist_ok=True)
    w = weights_at(0.3, m, 2000, a.cache)
    moments_loss(w, cc.Task(m, 50, 0.3), tol=1e-4)  # JIT warm-up
    cc.loss_per_feature(w, cc.Task(m, 50, 0.05), method="stratified", tol=1e-3)
    print(f"load average before: {os.getloadavg()}")
    for p in a.ps:
        for tol in a.tols:
            t = cc.Task(m, 50, p)
            t0 = time.perf_counter()
            r = moments_loss(w, t, tol=tol)
            tm = time.perf_counter() - t0
            t0 = time.perf_counter()
            s = cc.loss_per_feature(w, t, method="stratified", tol=tol, seed=1)
            ts = time.perf_counter() - t0
            print(f"p={p} tol={tol:.0e}: moments {tm:.2f}s (error {r.error:.1e}, 2-D box "
                  f"{r.details['factor_evals_2d_box']:.2g}) | stratified {ts:.2f}s (se {s.stderr:.1e}) | "
                  f"faster: {'moments' if tm < ts else 'stratified'} ({max(tm, ts) / min(tm, ts):.1f}x)", flush=True)
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
