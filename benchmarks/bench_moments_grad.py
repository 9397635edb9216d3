"""Cost of dL/p / dW_in from exact moments (moments_loss(grad=True)) against the value alone, in one run.

Trained-like weights: ccsolve.train(Task(M, 50, 0.3), steps=--steps, seed=0), embedding M (seed 0), 100 x 50,
cached in --cache (the same file as bench_moments.py). Evaluated at each p in --ps on those weights:
moments_loss(tol=--tol) and moments_loss(tol=--tol, grad=True), median wall time of --repeat calls each
(alternating), JIT warm-up outside the timing. Not timed, as checks: the gradient's refinement error
estimate; a directional central difference of the value (tol=1e-10, step --fd-eps along a fixed random
unit direction) against <grad_W_in, v>; the largest |grad - MC| / se over entries against a plain NumPy
Monte Carlo estimate of 2 E[r_a 1{u_a > 0} x_j] / (n p) (--mc-samples samples, seed 1). --levers: the 2-D
gradient kernel grad_two_dim_fast against the simple grad_two_dim on the same region (best of 3 each) and
the forward two_dim_fast on the same lattice.

    PYTHONPATH=. flock /tmp/timing.lock python benchmarks/bench_moments_grad.py [--ps 0.3 1] [--repeat 5] [--levers]
"""

import argparse
import os
import statistics
import sys
import time

import numpy as np

import ccsolve as cc
from ccsolve.evaluation.moments import moments_loss

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_moments import weights_at


def mc_grad(w, m, p, n_samples, seed, chunk=1 << 14):
    rng = np.random.default_rng(seed)
    d, n = w.W_in.shape
    s1, s2 = np.zeros((d, n)), np.zeros((d, n))
    for start in range(0, n_samples, chunk):
        k = min(chunk, n_samples - start)
        x = rng.uniform(-1, 1, (k, n)) * (rng.random((k, n)) < p)
        u = x @ w.W_in.T
        res = (np.maximum(u, 0) @ w.W_out.T - (np.maximum(x, 0) + x @ m.T)) @ w.W_out
        q = res * (u > 0)
        s1 += q.T @ x
        s2 += (q * q).T @ (x * x)
    scale = 2.0 / (n * p)
    mean = s1 / n_samples
    var = np.maximum(s2 / n_samples - mean**2, 0)
    return scale * mean, scale * np.sqrt(var / n_samples)


def levers(w, m, p, tol):
    from ccsolve._kernels import moments as k
    from ccsolve.evaluation import moments as mm

    task = cc.Task(m, 50, p)
    det = moments_loss(w, task, tol=tol).details
    kmin = det["kmin"]
    wl = np.ascontiguousarray(w.W_in)
    t_per = np.array(det["periods"])
    c = mm.KAPPA / t_per
    ia, ib = (x.astype(np.int64) for x in np.triu_indices(wl.shape[0], 1))
    k2 = np.array(det["k2"], dtype=np.int64)
    tc, ts = k.trig_tables(wl, t_per, int(k2.max()))
    thr = det["entry_tol"] * mm.CROSS_THR
    best = {}
    for name, fn in (("simple", k.grad_two_dim), ("fast", k.grad_two_dim_fast), ("forward", k.two_dim_fast)):
        fn(wl, p, c, t_per, k2, ia, ib, tc, ts, kmin, thr)
        ts_ = []
        for _ in range(3):
            t0 = time.perf_counter()
            out = fn(wl, p, c, t_per, k2, ia, ib, tc, ts, kmin, thr)
            ts_.append(time.perf_counter() - t0)
        best[name] = (min(ts_), out)
    diff = max(np.abs(best["simple"][1][i] - best["fast"][1][i]).max() for i in range(2))
    print(f"| {p} | {kmin} | {best['simple'][0]:.3f} | {best['fast'][0]:.3f} | "
          f"{best['simple'][0] / best['fast'][0]:.2f} | {best['forward'][0]:.3f} | {diff:.2g} | "
          f"{int(best['fast'][1][2].sum()) * wl.shape[1]:.3g} |")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ps", type=float, nargs="+", default=[0.3, 1.0])
    ap.add_argument("--tol", type=float, default=1e-7)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--fd-eps", type=float, default=1e-3)
    ap.add_argument("--mc-samples", type=int, default=1 << 20)
    ap.add_argument("--cache", default="/tmp/bench_moments_weights")
    ap.add_argument("--levers", action="store_true")
    a = ap.parse_args()
    m = cc.mixing.embedding(100, seed=0)
    os.makedirs(a.cache, exist_ok=True)
    w = weights_at(0.3, m, a.steps, a.cache)
    print(f"NUMBA threads {os.environ.get('NUMBA_NUM_THREADS', 'default')}, load {os.getloadavg()}")
    print("| p | value s | value+grad s | ratio | grad part s | grad error est | max abs grad | dir. FD - <g,v> "
          "| <g,v> | max abs(grad - MC)/se (rms over entries) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for p in a.ps:
        task = cc.Task(m, 50, p)
        moments_loss(w, task, tol=a.tol, grad=True)  # warm-up (JIT)
        moments_loss(w, task, tol=a.tol)
        tv, tg, tgp = [], [], []
        for _ in range(a.repeat):
            t0 = time.perf_counter()
            moments_loss(w, task, tol=a.tol)
            tv.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            r = moments_loss(w, task, tol=a.tol, grad=True)
            tg.append(time.perf_counter() - t0)
            tgp.append(r.details["grad_seconds"])
        v = np.random.default_rng(7).normal(size=w.W_in.shape)
        v /= np.linalg.norm(v)
        lp = moments_loss(cc.Weights(w.W_in + a.fd_eps * v, w.W_out), task, tol=1e-10).value
        lm = moments_loss(cc.Weights(w.W_in - a.fd_eps * v, w.W_out), task, tol=1e-10).value
        fd = (lp - lm) / (2 * a.fd_eps)
        gv = float(np.sum(r.grad_W_in * v))
        mean, se = mc_grad(w, m, p, a.mc_samples, 1)
        zz = np.abs(r.grad_W_in - mean) / np.maximum(se, 1e-300)
        z = f"{zz.max():.2f} (rms {np.sqrt(np.mean(zz**2)):.2f})"
        mv, mg = statistics.median(tv), statistics.median(tg)
        print(f"| {p} | {mv:.3f} | {mg:.3f} | {mg / mv:.2f} | {statistics.median(tgp):.3f} | "
              f"{r.details['grad_W_in_error']:.2g} | {np.abs(r.grad_W_in).max():.3g} | {fd - gv:.2g} | {gv:.3g} | "
              f"{z} |")
    if a.levers:
        print("\n| p | kmin | grad_two_dim s | grad_two_dim_fast s | ratio | forward two_dim_fast s | max diff "
              "| factor evals |")
        print("|---|---|---|---|---|---|---|---|")
        for p in a.ps:
            levers(w, m, p, a.tol)
    print(f"load after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
