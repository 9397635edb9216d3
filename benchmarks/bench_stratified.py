"""Stratified evaluation against plain Monte Carlo, in one run on the same model.

    python benchmarks/bench_stratified.py            # full run (trains a model first, ~1-2 min)
    python benchmarks/bench_stratified.py --quick    # smaller targets, to check the script works
    python benchmarks/bench_stratified.py --check    # agreement of 4 stratified vs 4 long plain MC runs

Model: embedding-like M (ccsolve.mixing.embedding(100, 1000, seed=1)), n_neurons = 50, trained at p = 0.01
with ccsolve.train.train (3000 steps, seed 0) when ccsolve.train exists; otherwise a dense mixed-sign
stand-in (W_in ~ N(0, 0.3^2) and the one-hot least-squares readout W_out).

Timings exclude JIT compilation (every path is run once first). Plain Monte Carlo to stderr 1e-5 would
take ~1e8 samples, so its time is extrapolated from a measured run: time = (measured seconds per sample)
x (samples needed = measured samples x (measured stderr / target)^2). Prints markdown tables.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import time

import numpy as np

import ccsolve as cc
from ccsolve import stratified
from ccsolve.evaluation.montecarlo import monte_carlo


def load() -> str:
    return "load %.2f" % os.getloadavg()[0]


def model(task: cc.Task, steps: int):
    try:
        from ccsolve import train
    except ImportError:
        train = None
    if train is not None:
        t0 = time.perf_counter()
        res = train(task, steps=steps, seed=0, progress=False)
        return res.weights, f"ccsolve.train.train({steps} steps at p=0.01, seed 0; {time.perf_counter() - t0:.0f} s)"
    rng = np.random.default_rng(0)
    n, d = task.n_features, task.n_neurons
    w_in = rng.normal(size=(d, n)) * 0.3
    feats = np.hstack([np.maximum(w_in, 0), np.maximum(-w_in, 0)])
    target = np.hstack([np.eye(n) + task.mixing, -task.mixing])
    w_out = np.linalg.lstsq(feats.T, target.T, rcond=None)[0].T
    return cc.Weights(w_in, w_out), "W_in ~ N(0, 0.3^2), one-hot least-squares W_out (ccsolve.train missing)"


def timed(fn, repeats=1):
    best, out = np.inf, None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def check(w, task):
    """Agreement of independent runs: 4 stratified seeds (tol 1e-5) against 4 x 2^25 plain MC samples."""
    strat = [cc.loss_per_feature(w, task, method="stratified", tol=1e-5, seed=s) for s in range(4)]
    mc = [monte_carlo(w, task, 1 << 25, 100 + s) for s in range(4)]
    sv, ss = np.mean([e.value for e in strat]), np.sqrt(np.sum([e.stderr**2 for e in strat])) / 4
    mv, ms = np.mean([e.value for e in mc]), np.sqrt(np.sum([e.stderr**2 for e in mc])) / 4
    print("## Agreement at p = 0.01\n")
    print("| estimator | runs | L/p (mean) | its stderr |")
    print("|---|---|---|---|")
    print(f"| stratified, tol 1e-5, seeds 0-3 | {', '.join(f'{e.value:.6f}' for e in strat)} | {sv:.6f} | {ss:.2g} |")
    print(f"| plain MC, 2^25 samples, seeds 100-103 | {', '.join(f'{e.value:.6f}' for e in mc)} | {mv:.6f} | {ms:.2g} |")
    print(f"\ndifference {sv - mv:.2g} = {(sv - mv) / np.hypot(ss, ms):.2f} combined SE "
          f"(spread of the stratified runs: sd {np.std([e.value for e in strat], ddof=1):.2g})")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small targets (checks the script, numbers meaningless)")
    ap.add_argument("--check", action="store_true",
                    help="only the agreement check: 4 stratified seeds vs 4 x 2^25 plain MC samples at p = 0.01")
    args = ap.parse_args()
    quick = args.quick
    tol = 1e-4 if quick else 1e-5
    curve_tol = 1e-3 if quick else 1e-4
    n_mc = 1 << (20 if quick else 23)

    m = cc.mixing.embedding(100, 1000, seed=1)
    task = cc.Task(m, 50, 0.01)
    w, how = model(task, 300 if quick else 3000)
    print(f"# Stratified evaluation benchmark ({datetime.date.today()}, {platform.machine()}, "
          f"{os.cpu_count()} cores, {load()} at start)\n")
    print(f"model: {how}; L/p(one-hot) = {cc.one_hot_loss(w, m):.5f}\n")
    if args.check:
        check(w, task)
        return

    # JIT warm-up of every path
    stratified.pair_loss(w, m, grad=True)
    cc.loss_per_feature(w, task, method="stratified", tol=1e-3, seed=99)
    cc.loss_curve(w, task, [0.001, 0.3, 1.0], tol=1e-2, seed=99)
    for p in (0.01, 0.5):
        monte_carlo(w, task.with_p(p), 1 << 15, 99)

    # --- p = 0.01 to stderr tol -----------------------------------------------------------------------
    rows = []
    l0 = load()
    t_s, est = timed(lambda: cc.loss_per_feature(w, task, method="stratified", tol=tol, seed=1), repeats=3)
    t_pair, _ = timed(lambda: stratified.pair_loss(w, m), repeats=3)
    t_mc, mc = timed(lambda: monte_carlo(w, task, n_mc, 2), repeats=3)
    n_req = n_mc * (mc.stderr / tol) ** 2
    t_mc_req = t_mc / n_mc * n_req
    l1 = load()
    z = abs(est.value - mc.value) / np.hypot(est.stderr, mc.stderr)
    print(f"## p = 0.01, target stderr {tol:g} on L/p ({l0} -> {l1})\n")
    print("| method | L/p | stderr | MC samples | seconds |")
    print("|---|---|---|---|---|")
    print(f"| stratified (best of 3) | {est.value:.6f} | {est.stderr:.2g} | {est.n_samples:,} "
          f"(pilot {est.details['pilot_samples']:,}) | {t_s:.3f} |")
    print(f"| of which exact E_2 (pair_loss, best of 3) | | | | {t_pair:.3f} |")
    print(f"| plain MC, measured (best of 3) | {mc.value:.6f} | {mc.stderr:.2g} | {n_mc:,} | {t_mc:.2f} |")
    print(f"| plain MC to stderr {tol:g}, extrapolated | | {tol:g} | {n_req:,.0f} | {t_mc_req:.1f} |")
    print(f"\nspeed-up at equal stderr: {t_mc_req / t_s:.0f}x; stratified vs MC differ by {z:.2f} combined SE; "
          f"strata sampled: {est.details['strata']['ks'][2:]} with {est.details['strata']['n_samples'][2:]} "
          "main samples\n")

    # --- loss curve ----------------------------------------------------------------------------------
    ps = np.logspace(-3, 0, 100)
    l0 = load()
    t_c, curve = timed(lambda: cc.loss_curve(w, task, ps, tol=curve_tol, seed=3), repeats=2)
    sub = ps[::11]
    t_sub, n_sub = [], 1 << (16 if quick else 19)
    for p in sub:
        t, e = timed(lambda: monte_carlo(w, task.with_p(float(p)), n_sub, 4))
        t_sub.append(t * (e.stderr / curve_tol) ** 2)  # seconds per sample x samples needed
    t_mc_curve = float(np.mean(t_sub)) * ps.size
    l1 = load()
    print(f"## Loss curve: 100 log-spaced p in [1e-3, 1], stderr <= {curve_tol:g} per point ({l0} -> {l1})\n")
    print("| method | seconds | samples | max stderr |")
    print("|---|---|---|---|")
    print(f"| loss_curve (stratified, shared E_k; best of 2) | {t_c:.2f} | {curve.n_samples:,} | {curve.stderrs.max():.2g} |")
    print(f"| plain MC per point, extrapolated from {sub.size} points x {n_sub:,} samples | {t_mc_curve:.0f} | | "
          f"{curve_tol:g} |")
    print(f"\nL/p at p = 0.001, 0.01, 0.1, 1: "
          + ", ".join(f"{curve.values[i]:.5f}" for i in (0, 33, 66, 99)) + "\n")

    # --- auto: stratified vs plain MC at larger p ------------------------------------------------------
    print(f"## Stratified vs plain Monte Carlo at larger p, stderr {curve_tol:g} ({load()})\n")
    print(f"(both sized by a pilot to reach the target; method=\"auto\" takes plain MC from p = "
          f"{stratified.AUTO_MC_P:g})\n")
    print("| p | stratified s (best of 2) | plain MC s (best of 2) | MC samples |")
    print("|---|---|---|---|")
    for p in (0.1, 0.3, 0.5, 0.7, 1.0):
        tp = task.with_p(p)
        t_a, _ = timed(lambda: cc.loss_per_feature(w, tp, method="stratified", tol=curve_tol, seed=5), repeats=2)
        t_b, e_b = timed(lambda: cc.loss_per_feature(w, tp, method="monte_carlo", tol=curve_tol, seed=5), repeats=2)
        print(f"| {p:g} | {t_a:.2f} | {t_b:.2f} | {e_b.n_samples:,} |")
    print()

    # --- control variates: residual standard deviation of the error per stratum -----------------------
    arrays = stratified._Products(w, m).mc_arrays()
    n_cv = 1 << (12 if quick else 15)
    sums = stratified._sample(arrays, {k: n_cv for k in (3, 4, 5, 6)}, np.random.SeedSequence(6), 0, None, 6)
    print(f"## Control variates: standard deviation of ||e||^2 given k active, {n_cv:,} samples per k\n")
    print("| k | no variate | g1 (one-hot errors) | g1 + g2 (pair errors) |")
    print("|---|---|---|---|")
    for k in (3, 4, 5, 6):
        _, cov = stratified._moments(sums[k], n_cv)
        sd1 = np.sqrt(cov[0, 0] - cov[0, 1] ** 2 / cov[1, 1])
        beta = np.linalg.solve(cov[1:, 1:], cov[0, 1:])
        sd2 = np.sqrt(cov[0, 0] - cov[0, 1:] @ beta)
        print(f"| {k} | {np.sqrt(cov[0, 0]):.4f} | {sd1:.4f} | {sd2:.4f} |")
    print(f"\ntruncation slope beta (E_k <= beta k): {stratified.bound_slope(w, m):.3f}\n")

    # --- pair integral alone (for gradient-based use) ---------------------------------------------------
    t_v, _ = timed(lambda: stratified.pair_loss(w, m), repeats=5)
    t_g, _ = timed(lambda: stratified.pair_loss(w, m, grad=True), repeats=5)
    print(f"## pair_loss, n = 100, d = 50, 4950 pairs ({load()})\n")
    print("| call | seconds (best of 5) |")
    print("|---|---|")
    print(f"| pair_loss(w, M) | {t_v:.3f} |")
    print(f"| pair_loss(w, M, grad=True) | {t_g:.3f} |")


if __name__ == "__main__":
    main()
