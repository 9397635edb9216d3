"""The levers of moments_loss one at a time (issue 16), on the bench_moments.py weights (run that first, or
pass --cache). Single process, JIT warm-up outside the timings; timings are best of --repeat.

  kernel   two_dim (complex exp per factor) vs two_dim_fast (cached trig tables), full box, 100 pairs
  period   TAIL_PERIOD off vs on: 2-D factor evaluations and L/p
  region   CROSS_THR = 0 (box) vs default (cross-shaped region): evaluations, L/p, seconds
  strata   low_strata="moments" vs "exact" at p = 0.1
  entry    ENTRY_TOL_LOW 0.25 vs 0.5 at p = 0.1

    PYTHONPATH=. flock /tmp/timing.lock python benchmarks/bench_moments_levers.py
"""

import argparse
import os
import time

import numpy as np

import ccsolve as cc
import ccsolve.evaluation.moments as mm
from ccsolve._kernels import moments as km


def best(f, repeat, *args, **kw):
    out, ts = None, []
    for _ in range(repeat):
        t = time.perf_counter()
        out = f(*args, **kw)
        ts.append(time.perf_counter() - t)
    return out, min(ts)


def load(cache, p):
    z = np.load(f"{cache}/p{p}_s2000.npz")
    return cc.Weights(z["W_in"], z["W_out"])


def run(w, task, repeat, **kw):
    return best(mm.moments_loss, repeat, w, task, **kw)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cache", default="/tmp/bench_moments_weights")
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    m = cc.mixing.embedding(100, seed=0)
    w0 = cc.Weights(np.random.default_rng(0).normal(size=(3, 6)) * 0.5, np.zeros((6, 3)))
    for low in ("moments", "exact"):
        mm.moments_loss(w0, cc.Task(np.zeros((6, 6)), 3, 0.5), low_strata=low)
    print(f"load average before: {os.getloadavg()}")
    for p, k in ((1.0, 14), (0.3, 50)):
        w = np.ascontiguousarray(load(a.cache, p).W_in)
        t = 1.02 * np.abs(w).sum(axis=1)
        c = 2.0 / t
        kv = np.full(w.shape[0], k, dtype=np.int64)
        ia, ib = (x[:100].astype(np.int64) for x in np.triu_indices(w.shape[0], 1))
        tc, ts = km.trig_tables(w, t, k)
        km.two_dim(w, p, c, t, kv, ia[:2], ib[:2])
        km.two_dim_fast(w, p, c, t, kv, ia[:2], ib[:2], tc, ts, 2, 0.0)
        old, t_old = best(km.two_dim, a.repeat, w, p, c, t, kv, ia, ib)
        new, t_new = best(km.two_dim_fast, a.repeat, w, p, c, t, kv, ia, ib, tc, ts, 2, 0.0)
        print(f"kernel p={p} box {k}: two_dim {t_old:.3f}s, two_dim_fast {t_new:.3f}s, {t_old / t_new:.1f}x, "
              f"max diff {np.max(np.abs(old - new[:, :2])):.1e}", flush=True)
    for p in (1.0, 0.3):
        w, task = load(a.cache, p), cc.Task(m, 50, p)
        on, t_on = run(w, task, a.repeat, tol=1e-7)
        mm.TAIL_PERIOD = False
        off, t_off = run(w, task, a.repeat, tol=1e-7)
        mm.TAIL_PERIOD = True
        print(f"period p={p}: full {off.details['factor_evals_2d']:.3g} evals {t_off:.3f}s L/p {off.value:.12f} | "
              f"Chernoff {on.details['factor_evals_2d']:.3g} evals {t_on:.3f}s L/p {on.value:.12f}", flush=True)
    w, task = load(a.cache, 0.1), cc.Task(m, 50, 0.1)
    cross, t_cross = run(w, task, a.repeat, tol=1e-7)
    mm.CROSS_THR = 0.0
    box, t_box = run(w, task, 1, tol=1e-7)
    mm.CROSS_THR = 1e-3
    print(f"region p=0.1: box {box.details['factor_evals_2d']:.3g} evals {t_box:.2f}s L/p {box.value:.12f} | "
          f"cross {cross.details['factor_evals_2d']:.3g} evals {t_cross:.2f}s L/p {cross.value:.12f}", flush=True)
    mo, t_mo = run(w, task, 1, tol=1e-7, low_strata="moments")
    print(f"strata p=0.1: in the sums {t_mo:.2f}s ({mo.details['factor_evals_2d']:.3g} evals, err {mo.error:.1e}) | "
          f"exact pair stratum {t_cross:.2f}s ({cross.details['factor_evals_2d']:.3g}, err {cross.error:.1e})",
          flush=True)
    mm.ENTRY_TOL_LOW = 0.25
    q, t_q = run(w, task, a.repeat, tol=1e-7)
    mm.ENTRY_TOL_LOW = 0.5
    print(f"entry p=0.1: tol/4 {t_q:.2f}s err {q.error:.1e} | tol/2 {t_cross:.2f}s err {cross.error:.1e}", flush=True)
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
