"""Several p on one lattice (issue 16): two_dim_multi / one_dim_multi against P calls of two_dim_fast /
one_dim_fast on the same lattice, in one run (the baseline), and the grouped moments points of the curve
against the same points one by one.

Inputs: the p = 0.3 trained weights (bench_moments.weights_at, cached), the curve's P points of a group
(np.geomspace(1e-3, 1, 100) in [--p-lo, --p-hi]), the lattice moments._loss_group builds for them (the
arguments recorded from one grouped call). JIT warm-up outside the timing; best of --repeat.

--settings RATIO:MAX ...: instead, the full 100-point curve (cc.loss_curve(method="auto"), tol --tol) with
curve.AUTO_CURVE_GROUP_RATIO, AUTO_CURVE_GROUP_MAX set to each pair, two runs each.

    PYTHONPATH=. flock /tmp/timing.lock python benchmarks/bench_moments_multi.py [--p-lo 0.02 --p-hi 0.058]
    PYTHONPATH=. flock /tmp/timing.lock python benchmarks/bench_moments_multi.py --settings 3:16 2:16 4:16
"""

import argparse
import os
import time

import numpy as np
from bench_moments import weights_at

import ccsolve as cc
import ccsolve._kernels.moments as km
import ccsolve._kernels.moments_multi as kmm
from ccsolve.evaluation import moments as mo


def best(f, repeat):
    out, secs = None, []
    for _ in range(repeat):
        t = time.perf_counter()
        out = f()
        secs.append(time.perf_counter() - t)
    return out, min(secs)


def recorded(w, m, ps, tol):
    """The arguments of the last two_dim_multi and one_dim_multi calls of one _loss_group."""
    rec = {}
    orig2, orig1 = kmm.two_dim_multi, km.one_dim_multi

    def r2(*a):
        rec["two"] = a
        return orig2(*a)

    def r1(*a):
        rec["one"] = a
        return orig1(*a)

    kmm.two_dim_multi, km.one_dim_multi = r2, r1
    try:
        mo._loss_group(w, m, ps, tol, None, mo.K1_START)
    finally:
        kmm.two_dim_multi, km.one_dim_multi = orig2, orig1
    return rec


def settings(w, m, grid, tol, specs):
    import ccsolve.evaluation.curve as cv

    task = cc.Task(m, 50, 0.5)
    cc.loss_curve(w, task, grid[::20], tol=1e-4, method="auto", seed=1)  # JIT warm-up
    print(f"load average before: {os.getloadavg()}")
    for spec in specs:
        ratio, size = spec.split(":")
        cv.AUTO_CURVE_GROUP_RATIO, cv.AUTO_CURVE_GROUP_MAX = float(ratio), int(size)
        runs = []
        for _ in range(2):
            c, secs = best(lambda: cc.loss_curve(w, task, grid, tol=tol, method="auto", seed=1), 1)
            runs.append(secs)
        print(f"groups {spec}: {' / '.join(f'{x:.2f}' for x in runs)} s, largest error {np.max(c.stderrs):.2e}",
              flush=True)
    print(f"load average after: {os.getloadavg()}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--p-lo", type=float, default=0.02)
    ap.add_argument("--p-hi", type=float, default=0.058)
    ap.add_argument("--tol", type=float, default=1e-6)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--cache", default="/tmp/bench_moments_weights")
    ap.add_argument("--settings", nargs="+", default=[], help="RATIO:MAX group settings for the full curve")
    a = ap.parse_args()
    m = cc.mixing.embedding(100, seed=0)
    os.makedirs(a.cache, exist_ok=True)
    w = weights_at(0.3, m, 2000, a.cache)
    grid = np.geomspace(1e-3, 1, 100)
    if a.settings:
        return settings(w, m, grid, a.tol, a.settings)
    ps = [float(p) for p in grid if a.p_lo < p <= a.p_hi]
    mo._loss_group(w, m, ps[:2], 1e-3, None, mo.K1_START)  # JIT warm-up (every kernel below)
    mo.moments_loss(w, cc.Task(m, 50, ps[0]), tol=1e-3)
    rec = recorded(w, m, ps, a.tol)
    print(f"load average before: {os.getloadavg()}")
    print(f"{len(ps)} points p = {ps[0]:.4g}..{ps[-1]:.4g}, tol {a.tol}")
    wl, pv, c, t, k2s, pa, pb, tc, ts, kmin, thr = rec["two"]
    multi, t_multi = best(lambda: kmm.two_dim_multi(*rec["two"]), a.repeat)
    singles, t_single = best(lambda: [km.two_dim_fast(wl, float(pv[u]), c, t, k2s[u].copy(), pa, pb, tc, ts, kmin,
                                                      float(thr[u])) for u in range(len(pv))], a.repeat)
    diff = max(np.abs(s - multi[u]).max() / np.abs(s[:, 0]).max() for u, s in enumerate(singles))
    print(f"2-D: {len(pv)} x two_dim_fast {t_single:.3f} s, two_dim_multi {t_multi:.3f} s, "
          f"ratio {t_single / t_multi:.2f}x, max rel diff {diff:.1e}")
    wl, pv, c, t, kvec, tc, ts, kmin = rec["one"]
    multi, t_multi = best(lambda: km.one_dim_multi(*rec["one"]), a.repeat)
    singles, t_single = best(lambda: [km.one_dim_fast(wl, float(p), c, t, kvec, tc, ts, kmin) for p in pv], a.repeat)
    diff = max(np.abs(x[u] - y).max() / max(np.abs(y).max(), 1e-300)
               for u, s in enumerate(singles) for x, y in zip(multi, s))
    print(f"1-D (last truncation, k1 = {int(kvec.max())}): {len(pv)} x one_dim_fast {t_single:.3f} s, "
          f"one_dim_multi {t_multi:.3f} s, ratio {t_single / t_multi:.2f}x, max rel diff {diff:.1e}")
    grouped, t_group = best(lambda: mo._loss_group(w, m, ps, a.tol, None, mo.K1_START), a.repeat)
    alone, t_alone = best(lambda: [mo.moments_loss(w, cc.Task(m, 50, p), tol=a.tol) for p in ps], a.repeat)
    agree = max(abs(g.value - s.value) / (g.error + s.error) for g, s in zip(grouped, alone))
    print(f"points: one by one (moments_loss) {t_alone:.2f} s, grouped (_loss_group) {t_group:.2f} s, "
          f"ratio {t_alone / t_group:.2f}x; largest error one by one {max(r.error for r in alone):.2e}, "
          f"grouped {max(r.error for r in grouped):.2e}; largest |difference| / (sum of estimates) {agree:.3f}")
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
