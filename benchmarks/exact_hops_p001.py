"""minimize_exact at p = 0.01 with 0-4 basin hops against one 10,000-step ccsolve.train, in one process.

Usage: PYTHONPATH=. python benchmarks/exact_hops_p001.py [--hops 0 2 3 4] [--p 0.01]
Prints, per hop count: wall s, ratio to the train time measured in the same run, L/p ± SE
(loss_per_feature method="auto", tol=1e-5). JIT warm-up runs before any timing.
"""
import argparse
import os
import time

import ccsolve as cc
from ccsolve.compare import build_task
from ccsolve.constructions import minimize_exact


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hops", type=int, nargs="+", default=[0, 2, 3, 4])
    ap.add_argument("--p", type=float, default=0.01)
    args = ap.parse_args()
    task = build_task(p=args.p)
    cc.train(task, steps=50, seed=0, progress=False)  # compile outside the timing
    minimize_exact(task, maxiter=2, hops=1, hop_maxiter=1, evaluate=False)
    t = time.perf_counter()
    cc.train(task, seed=0, progress=False)
    t_train = time.perf_counter() - t
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} | load {os.getloadavg()[0]:.2f} | "
          f"p = {args.p} | 10,000-step train {t_train:.2f} s")
    print("| hops | wall s | x train | L/p ± SE |")
    print("|---|---|---|---|")
    for h in args.hops:
        t = time.perf_counter()
        r = minimize_exact(task, hops=h, evaluate=False)
        dt = time.perf_counter() - t
        est = cc.loss_per_feature(r.weights, task, method="auto", tol=1e-5)
        print(f"| {h} | {dt:.2f} | {dt / t_train:.2f} | {est.value:.6f} ± {est.stderr:.1e} |", flush=True)
    print(f"load after {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
