"""Precision per second of moments_loss (exact second moments) against plain Monte Carlo, in one run.

Trained-like weights: ccsolve.train(task, steps=2000, seed=0) at each p, embedding M (seed 0), cached in
--cache. Per p: moments_loss(tol=--tol) (median wall time of --repeat calls), its error estimate and its
actual error against a reference moments_loss(tol=--ref-tol) (not timed); plain Monte Carlo
(loss_per_feature(method="monte_carlo"), --mc-samples samples, seed 1). precision per second =
1 / (error^2 * seconds), error = the moments' error estimate (not the smaller actual error) or the MC
standard error; "MC-equivalent se" = the standard error plain MC reaches in the moments' time. JIT warm-up
outside the timing. --curve: 100 points p = 1e-3..1 on the p = 0.3 weights by
ccsolve.loss_curve(method="auto") at --curve-tol: one stratified run shared by the points with p <=
--curve-strat-max-p ("exact" where no sampled stratum weighs on a point), moments_loss at the others (2-D
cost cap --curve-max-evals). Prints counts, time and largest error per p range (error: the moments' error
estimate, the stratified standard error). --ps with no values: the curve only.

    PYTHONPATH=. flock /tmp/timing.lock python benchmarks/bench_moments.py [--ps 0.1 0.3 1] [--curve]
"""

import argparse
import itertools
import os
import statistics
import time

import numpy as np

import ccsolve as cc
from ccsolve.evaluation.moments import moments_loss


def weights_at(p, m, steps, cache):
    path = f"{cache}/p{p}_s{steps}.npz"
    if os.path.exists(path):
        z = np.load(path)
        return cc.Weights(z["W_in"], z["W_out"])
    w = cc.train(cc.Task(m, 50, p), steps=steps, seed=0, progress=False).weights
    np.savez(path, W_in=w.W_in, W_out=w.W_out)
    return w


RANGES = (1e-3, 0.01, 0.05, 0.3, 1.0 + 1e-12)  # per-range counts and times: [1e-3, 0.01), [0.01, 0.05), ...


def curve(w, m, tol, max_evals, strat_max_p, strat_tol, seed=1):
    """The 100-point curve by ccsolve.loss_curve(method="auto") (ccsolve.evaluation.curve): the points with
    p <= strat_max_p share one stratified run (standard error <= strat_tol; "exact" where no sampled
    stratum weighs on the point), the others come from moments_loss(tol) (cost cap max_evals, above which
    a point joins the stratified run). Returns (seconds, rows): rows (p, method, value, error, seconds)."""
    import ccsolve.evaluation.curve as cv

    cv.AUTO_CURVE_STRAT_P, cv.AUTO_CURVE_MAX_EVALS = strat_max_p, max_evals
    ps = np.geomspace(1e-3, 1.0, 100)
    t0 = time.perf_counter()
    if strat_tol == tol:
        c = cc.loss_curve(w, cc.Task(m, 50, 0.5), ps, tol=tol, seed=seed, method="auto")
    else:  # the stratified points at their own standard error, the moments points at tol
        c = cc.loss_curve(w, cc.Task(m, 50, 0.5), ps[ps > strat_max_p], tol=tol, seed=seed, method="auto")
        lo = cc.loss_curve(w, cc.Task(m, 50, 0.5), ps[ps <= strat_max_p], tol=strat_tol, seed=seed,
                           method="auto")
    secs = time.perf_counter() - t0
    curves = [c] if strat_tol == tol else [lo, c]
    rows = [(p, meth, val, err, dt) for cu in curves
            for p, meth, val, err, dt in zip(cu.ps, cu.methods, cu.values, cu.stderrs, cu.point_seconds)]
    return secs, sorted(rows)


def curve_report(secs, rows, tol, strat_tol):
    print(f"curve p = 1e-3..1 (100 points, p = 0.3 weights, tol {tol}, stratified se <= {strat_tol}): "
          f"{secs:.2f}s total", flush=True)
    for lo, hi in itertools.pairwise(RANGES):
        sel = [r for r in rows if lo <= r[0] < hi]
        if not sel:
            continue
        how = {}
        for r in sel:
            how[r[1]] = how.get(r[1], 0) + 1
        errs = [r[3] for r in sel if np.isfinite(r[3])]
        print(f"  p in [{lo:g}, {min(hi, 1):g}{']' if hi > 1 else ')'}: {len(sel)} points {how}, "
              f"{sum(r[4] for r in sel):.2f}s, slowest {max(r[4] for r in sel):.2f}s, largest error "
              f"{max(errs, default=float('nan')):.2e}", flush=True)
    errs = [r[3] for r in rows if np.isfinite(r[3])]
    print(f"  largest error estimate / standard error {max(errs):.2e}; points above {tol}: "
          f"{sum(e > tol for e in errs)}", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ps", type=float, nargs="*", default=[0.1, 0.3, 1.0])
    ap.add_argument("--mc-samples", type=int, default=1 << 21)
    ap.add_argument("--tol", type=float, default=1e-7, help="moments_loss tol (target error of L/p)")
    ap.add_argument("--ref-tol", type=float, default=1e-9, help="reference moments_loss tol (0: none)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--curve", action="store_true")
    ap.add_argument("--curve-tol", type=float, default=1e-6)
    ap.add_argument("--curve-max-evals", type=float, default=3e10, help="2-D box cost cap per point")
    ap.add_argument("--curve-strat-max-p", type=float, default=0.02,
                    help="the stratified estimator (one shared loss_curve) at p <= this (0: never)")
    ap.add_argument("--curve-strat-tol", type=float, default=1e-6, help="its standard error target")
    ap.add_argument("--curve-out", default="", help="write the per-point rows (p, method, value, error, s)")
    ap.add_argument("--cache", default="/tmp/bench_moments_weights")
    a = ap.parse_args()
    m = cc.mixing.embedding(100, seed=0)
    os.makedirs(a.cache, exist_ok=True)
    w0 = cc.Weights(np.random.default_rng(0).normal(size=(3, 6)) * 0.5, np.zeros((6, 3)))
    t0 = cc.Task(np.zeros((6, 6)), 3, 0.5)
    for low in ("moments", "exact"):  # JIT warm-up
        moments_loss(w0, t0, low_strata=low, grad=True)
    cc.loss_per_feature(w0, t0, method="monte_carlo", n_samples=1 << 16)
    cc.loss_curve(w0, t0, [0.01, 0.02, 0.05, 0.3], tol=1e-3, method="auto")
    print(f"load average before: {os.getloadavg()}")
    for p in a.ps:
        task = cc.Task(m, 50, p)
        w = weights_at(p, m, a.steps, a.cache)
        t = time.perf_counter()
        mc = cc.loss_per_feature(w, task, method="monte_carlo", n_samples=a.mc_samples, seed=1)
        t_mc = time.perf_counter() - t
        times = []
        for _ in range(a.repeat):
            t = time.perf_counter()
            r = moments_loss(w, task, tol=a.tol)
            times.append(time.perf_counter() - t)
        t_mo = statistics.median(times)
        ref = moments_loss(w, task, tol=a.ref_tol) if a.ref_tol > 0 else None
        pps = (mc.stderr**2 * t_mc) / (max(r.error, 1e-16) ** 2 * t_mo)
        k2 = r.details["k2"]
        actual = f"actual err {abs(r.value - ref.value):.1e} (ref err est {ref.error:.1e})" if ref else ""
        print(f"p={p}: moments L/p={r.value:.10f} err est {r.error:.1e} {actual} {t_mo:.3f}s "
              f"(median of {a.repeat}; k1={r.details['k1']}, k2 {min(k2)}..{max(k2)}, "
              f"low strata {r.details['low_strata']}) | MC L/p={mc.value:.10f} se={mc.stderr:.2e} "
              f"{t_mc:.2f}s | diff/se={(r.value - mc.value) / mc.stderr:+.2f} | precision/s ratio {pps:.3g} | "
              f"MC-equivalent se {mc.stderr * (t_mc / t_mo) ** 0.5:.2e}", flush=True)
    if a.curve:
        w = weights_at(0.3, m, a.steps, a.cache)
        secs, rows = curve(w, m, a.curve_tol, a.curve_max_evals, a.curve_strat_max_p, a.curve_strat_tol)
        curve_report(secs, rows, a.curve_tol, a.curve_strat_tol)
        if a.curve_out:
            with open(a.curve_out, "w") as f:
                for r in rows:
                    f.write(f"{r[0]:.6g} {r[1]} {r[2]:.12g} {r[3]:.3e} {r[4]:.4f}\n")
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
