"""Precision per second of moments_loss (exact second moments) against plain Monte Carlo, in one run.

Trained-like weights: ccsolve.train(task, steps=2000, seed=0) at each p, embedding M (seed 0).
precision per second = 1 / (error^2 * seconds): error = the moments' refinement estimate, or the MC
standard error. Also reports |moments - MC| / MC stderr. JIT warm-up outside the timing.

    PYTHONPATH=. nice -n 10 python benchmarks/bench_moments.py [--ps 0.1 0.3 1] [--mc-samples 2097152]
"""

import argparse
import os
import time

import numpy as np

import ccsolve as cc
from ccsolve.evaluation.moments import moments_loss


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ps", type=float, nargs="+", default=[0.1, 0.3, 1.0])
    ap.add_argument("--mc-samples", type=int, default=1 << 21)
    ap.add_argument("--tol", type=float, default=1e-9)
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--max-evals", type=float, default=3e9, help="refuse moments above this 2-D cost")
    ap.add_argument("--cache", default="/tmp/bench_moments_weights")
    a = ap.parse_args()
    m = cc.mixing.embedding(100, seed=0)
    os.makedirs(a.cache, exist_ok=True)
    w0 = cc.Weights(np.random.default_rng(0).normal(size=(3, 6)) * 0.5, np.zeros((6, 3)))
    t0 = cc.Task(np.zeros((6, 6)), 3, 0.5)
    moments_loss(w0, t0)  # JIT warm-up
    cc.loss_per_feature(w0, t0, method="monte_carlo", n_samples=1 << 16)
    print(f"load average before: {os.getloadavg()}")
    for p in a.ps:
        task = cc.Task(m, 50, p)
        path = f"{a.cache}/p{p}_s{a.steps}.npz"
        if os.path.exists(path):
            z = np.load(path)
            w = cc.Weights(z["W_in"], z["W_out"])
        else:
            w = cc.train(task, steps=a.steps, seed=0, progress=False).weights
            np.savez(path, W_in=w.W_in, W_out=w.W_out)
        t = time.perf_counter()
        mc = cc.loss_per_feature(w, task, method="monte_carlo", n_samples=a.mc_samples, seed=1)
        t_mc = time.perf_counter() - t
        t = time.perf_counter()
        try:
            r = moments_loss(w, task, tol=a.tol, max_factor_evals=a.max_evals)
        except ValueError as e:
            print(f"p={p}: moments refused: {e} | MC L/p={mc.value:.10f} se={mc.stderr:.2e} {t_mc:.2f}s", flush=True)
            continue
        t_mo = time.perf_counter() - t
        pps_mc = 1 / (mc.stderr**2 * t_mc)
        pps_mo = 1 / (max(r.error, 1e-16) ** 2 * t_mo)
        k2 = r.details["k2"]
        print(f"p={p}: moments L/p={r.value:.10f} err={r.error:.2e} {t_mo:.2f}s (k1={r.details['k1']}, "
              f"k2 {min(k2)}..{max(k2)}, {r.details['factor_evals_2d']:.3g} factor evals) | MC L/p={mc.value:.10f} se={mc.stderr:.2e} {t_mc:.2f}s | "
              f"diff/se={(r.value - mc.value) / mc.stderr:+.2f} | precision/s ratio {pps_mo / pps_mc:.3g}",
              flush=True)
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
