"""What moments_loss costs below p = 0.1 (issue 16: the 100-point curve is not covered below p = 0.05).

Weights: ccsolve.train(Task(M, 50, p), steps=--steps, seed=0) at each p (bench_moments.weights_at, cached
in --cache), embedding M (seed 0); with --curve-weights the p = 0.3 weights at every p instead (what the
curve uses). Per p: the 2-D cost model first (the box count from a refused call, max_factor_evals=1), then,
if the box is below --max-evals, one timed moments_loss(tol=--tol) with the time split between the parts
(wrapped in place: Chernoff periods, 1-D sums, 2-D sums, exact strata E_1 + E_2, the rest) and its
truncations. JIT warm-up outside the timing. --check-tol: an independent check of each value (the stratified
estimator through loss_per_feature, untimed).

    PYTHONPATH=. flock /tmp/timing.lock python benchmarks/bench_moments_small_p.py [--ps 0.05 0.03 0.02 0.01]
"""

import argparse
import os
import re
import sys
import time

import numpy as np

import ccsolve as cc
from ccsolve._kernels import moments as kern
from ccsolve.evaluation import moments as mm
from ccsolve.evaluation import stratified as st

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_moments import weights_at

TIMES = {}


def timed(name, fn):
    def wrapper(*args, **kwargs):
        t = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            TIMES[name] = TIMES.get(name, 0.0) + time.perf_counter() - t
    return wrapper


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ps", type=float, nargs="+", default=[0.05, 0.03, 0.02, 0.01])
    ap.add_argument("--tol", type=float, default=1e-6)
    ap.add_argument("--steps", type=int, default=10_000)
    ap.add_argument("--curve-weights", action="store_true", help="the p = 0.3 weights at every p")
    ap.add_argument("--max-evals", type=float, default=3e10, help="time only below this 2-D box cost")
    ap.add_argument("--cache", default="/tmp/bench_moments_weights")
    ap.add_argument("--check-tol", type=float, default=0.0,
                    help="also the independent loss_per_feature(method='auto', tol=this, seed=1) (untimed)")
    a = ap.parse_args()
    os.makedirs(a.cache, exist_ok=True)
    m = cc.mixing.embedding(100, seed=0)
    w0 = cc.Weights(np.random.default_rng(0).normal(size=(3, 6)) * 0.5, np.zeros((6, 3)))
    for low in ("moments", "exact"):  # JIT warm-up
        mm.moments_loss(w0, cc.Task(np.zeros((6, 6)), 3, 0.5), low_strata=low)
    kern.one_dim_fast = timed("1-D sums", kern.one_dim_fast)
    kern.two_dim_fast = timed("2-D sums", kern.two_dim_fast)
    mm._tail_period = timed("Chernoff periods", mm._tail_period)
    st.pair_loss = timed("exact strata E_1 + E_2", st.pair_loss)
    st.single_loss = timed("exact strata E_1 + E_2", st.single_loss)
    print(f"load average before: {os.getloadavg()}")
    print("| p | weights | 2-D box cost | 2-D evaluated | L/p | error est. | s | k1 | k2 range | low strata | "
          "time split |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for p in a.ps:
        task = cc.Task(m, 50, p)
        wp = 0.3 if a.curve_weights else p
        w = weights_at(wp, m, a.steps, a.cache)
        try:
            mm.moments_loss(w, task, tol=a.tol, max_factor_evals=1)
            box = float("nan")
        except ValueError as exc:
            box = float(re.search(r"need ([0-9.e+]+) factor", str(exc)).group(1))
        head = f"| {p} | p={wp}, {a.steps} steps | {box:.3g} |"
        if not box <= a.max_evals:
            print(head + " not run (above --max-evals) | | | | | | | |", flush=True)
            continue
        TIMES.clear()
        t = time.perf_counter()
        r = mm.moments_loss(w, task, tol=a.tol)
        secs = time.perf_counter() - t
        rest = secs - sum(TIMES.values())
        split = ", ".join(f"{k} {v:.2f} s" for k, v in TIMES.items()) + f", rest {rest:.2f} s"
        k2 = r.details["k2"]
        print(head + f" {r.details['factor_evals_2d']:.3g} | {r.value:.8f} | {r.error:.1e} | {secs:.2f} | "
              f"{r.details['k1']} | {min(k2)}..{max(k2)} | {r.details['low_strata']} | {split} |", flush=True)
        if a.check_tol > 0:
            e = cc.loss_per_feature(w, task, method="auto", tol=a.check_tol, seed=1)
            print(f"  check: loss_per_feature {e.method} {e.value:.8f} +- {e.stderr:.1e}: "
                  f"(moments - it) / se = {(r.value - e.value) / e.stderr:+.2f}", flush=True)
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
