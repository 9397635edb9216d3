"""The exact-moments 2-D kernel two_dim_fast against its previous version (issue 16), in one run.

Inputs: the arguments moments_loss(w, Task(M, 50, p), tol=--tol) passes to two_dim_fast (recorded by a
wrapper), w = ccsolve.train(Task(M, 50, 0.3), steps=2000, seed=0) (embedding M, seed 0; cached in --cache
as bench_moments.py). Per p: best of --repeat calls of each kernel (alternating, JIT warm-up outside the
timing), the ratio, the largest relative difference of the two sums and whether the node counts agree.

    PYTHONPATH=. flock /tmp/timing.lock python benchmarks/bench_two_dim.py [--ps 0.03 0.1 0.3] [--repeat 5]
"""

import argparse
import os
import sys
import time

import numpy as np
from numba import njit, prange

import ccsolve as cc
import ccsolve._kernels.moments as km
from ccsolve._kernels.parallel import PRANGE_ONLY
from ccsolve.evaluation.moments import moments_loss

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_moments import weights_at


@njit(parallel=PRANGE_ONLY, fastmath={"contract", "arcp", "nsz"})
def two_dim_fast_v0(w_in, p, c, t_per, k_max, pairs_a, pairs_b, tc, ts, kmin, thr):
    """two_dim_fast before issue 16 (the baseline, verbatim apart from this docstring)."""
    n = w_in.shape[1]
    k_tab = (tc.shape[2] - 1) // 2
    n_pairs = pairs_a.shape[0]
    out = np.zeros((n_pairs, 3))  # sum, reduced sum, lattice nodes evaluated
    q = 1.0 - p
    q0 = q**n
    q1 = p * q ** (n - 1)
    q2 = p * p * q ** (n - 2) if kmin >= 3 else 0.0
    for t in prange(n_pairs):
        a = pairs_a[t]
        b = pairs_b[t]
        ha = 2.0 * np.pi / t_per[a]
        hb = 2.0 * np.pi / t_per[b]
        ka = k_max[a]
        kb = k_max[b]
        ln = 2 * kb + 1
        off = k_tab - kb
        al = np.empty(n)
        sha = np.empty(n)
        cha = np.empty(n)
        for i in range(n):
            al[i] = c[a] * w_in[a, i] + c[b] * w_in[b, i]
            sha[i] = np.sinh(al[i])
            cha[i] = np.cosh(al[i])
        mm2 = np.empty(ln)
        for j in range(ln):
            mm2[j] = j - kb
        pre = np.empty(ln)
        pim = np.empty(ln)
        ere = np.empty(ln)
        eim = np.empty(ln)
        sre = np.empty(ln)
        sim = np.empty(ln)
        acc0 = 0.0
        acc1 = 0.0
        sc = 2.0 / (t_per[a] * t_per[b])
        sc2 = sc * sc
        thr2 = thr * thr
        r = kb
        for m1 in range(ka + 1):
            j0 = kb - r
            j1 = kb + r + 1
            out[t, 2] += j1 - j0
            for j in range(j0, j1):
                pre[j] = 1.0
                pim[j] = 0.0
                ere[j] = 0.0
                eim[j] = 0.0
                sre[j] = 0.0
                sim[j] = 0.0
            nj = j1 - j0
            vpre = pre[j0:j1]
            vpim = pim[j0:j1]
            vere = ere[j0:j1]
            veim = eim[j0:j1]
            vsre = sre[j0:j1]
            vsim = sim[j0:j1]
            vm2 = mm2[j0:j1]
            for i in range(n):
                ca1 = tc[a, i, k_tab + m1]
                sa1 = ts[a, i, k_tab + m1]
                b1 = m1 * ha * w_in[a, i]
                tb = hb * w_in[b, i]
                ali = al[i]
                shi = sha[i]
                chi = cha[i]
                tcb = tc[b, i, off + j0:off + j1]
                tsb = ts[b, i, off + j0:off + j1]
                for j in range(nj):
                    cb = tcb[j]
                    sb = tsb[j]
                    cosb = ca1 * cb - sa1 * sb
                    sinb = sa1 * cb + ca1 * sb
                    beta = b1 + vm2[j] * tb
                    aa = shi * cosb
                    bb = chi * sinb
                    r2 = ali * ali + beta * beta
                    if r2 > 1e-200:
                        inv = 1.0 / r2
                        fr = (aa * ali + bb * beta) * inv
                        fi = (bb * ali - aa * beta) * inv
                    else:
                        fr = 1.0
                        fi = 0.0
                    vere[j] += fr
                    veim[j] += fi
                    vsre[j] += fr * fr - fi * fi  # sum phi^2 (used for kmin = 3 only; cheaper than a branch)
                    vsim[j] += 2.0 * fr * fi
                    gr = q + p * fr
                    gi = p * fi
                    xr = vpre[j]
                    xi = vpim[j]
                    vpre[j] = xr * gr - xi * gi
                    vpim[j] = xr * gi + xi * gr
            lo = kb if m1 == 0 else j0
            last = -1
            for j in range(j0, j1):
                m2 = j - kb
                hr_ = pre[j] - q0 - q1 * ere[j]
                hi_ = pim[j] - q1 * eim[j]
                if kmin >= 3:  # e_2 = (e_1^2 - sum phi^2) / 2
                    hr_ -= 0.5 * q2 * (ere[j] * ere[j] - eim[j] * eim[j] - sre[j])
                    hi_ -= 0.5 * q2 * (2.0 * ere[j] * eim[j] - sim[j])
                s1 = complex(c[a], m1 * ha)
                s2 = complex(c[b], m2 * hb)
                g = 1.0 / (s1 * s1 * s2 * s2)
                if (thr > 0.0 and abs(m2) > last
                        and sc2 * (g.real * g.real + g.imag * g.imag) * (hr_ * hr_ + hi_ * hi_) > thr2):
                    last = abs(m2)
                if j < lo:
                    continue
                wgt = 0.5 if (m1 == 0 and m2 == 0) else 1.0
                v = wgt * (g.real * hr_ - g.imag * hi_)
                acc0 += v
                if 4 * m1 <= 3 * ka and 4 * abs(m2) <= 3 * r:
                    acc1 += v
            if thr > 0.0:
                r = min(r, last + max(2, r // 4))
        out[t, 0] = acc0 * sc
        out[t, 1] = acc1 * sc
    return out


def captured_args(w, m, p, tol):
    """The arguments of every two_dim_fast call of moments_loss(w, Task(m, 50, p), tol)."""
    calls = []
    orig = km.two_dim_fast

    def rec(*args):
        calls.append(args)
        return orig(*args)

    km.two_dim_fast = rec
    try:
        moments_loss(w, cc.Task(m, 50, p), tol=tol)
    finally:
        km.two_dim_fast = orig
    return calls


def best(fn, args, repeat):
    out, ts = None, []
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn(*args)
        ts.append(time.perf_counter() - t)
    return out, min(ts)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ps", type=float, nargs="*", default=[0.03, 0.1, 0.3])
    ap.add_argument("--tol", type=float, default=1e-6)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--cache", default="/tmp/bench_moments_weights")
    a = ap.parse_args()
    os.makedirs(a.cache, exist_ok=True)
    m = cc.mixing.embedding(100, seed=0)
    w = weights_at(0.3, m, 2000, a.cache)
    print(f"uptime: {os.getloadavg()}")
    print("| p | kmin | nodes | mean row | two_dim_fast_v0 s | two_dim_fast s | ratio | max rel diff | nodes equal |")
    print("|---|---|---|---|---|---|---|---|---|")
    for p in a.ps:
        for args in captured_args(w, m, p, a.tol):
            km.two_dim_fast(*args)
            two_dim_fast_v0(*args)  # warm-up (JIT)
            t_old = t_new = np.inf
            for _ in range(a.repeat):  # alternating
                old, t = best(two_dim_fast_v0, args, 1)
                t_old = min(t_old, t)
                new, t = best(km.two_dim_fast, args, 1)
                t_new = min(t_new, t)
            rel = np.max(np.abs(new[:, :2] - old[:, :2]) / np.maximum(np.abs(old[:, :2]), 1e-300))
            k2 = args[4]
            rows = float(np.sum(k2[args[5]] + 1))
            print(f"| {p} | {args[9]} | {int(old[:, 2].sum())} | {old[:, 2].sum() / rows:.1f} | {t_old:.3f} | "
                  f"{t_new:.3f} | {t_old / t_new:.2f}x | {rel:.1e} | {np.array_equal(new[:, 2], old[:, 2])} |",
                  flush=True)
    print(f"uptime: {os.getloadavg()}")


if __name__ == "__main__":
    main()
