"""The Fourier sums of the exact second moments for several p on one lattice (private; called by
ccsolve.evaluation.moments for loss curves): two_dim_multi, the 2-D sums of two_dim_fast. (The 1-D sums'
counterpart, one_dim_multi, is in ._kernels.moments, where one_dim_fast is its one-p case.)

Every factor of the 2-D transforms is (1 - p) + p phi_i with phi_i = sinh(z_i) / z_i, and phi_i depends on
the lattice (period, damping, node) but not on p; so are the stratum corrections e_1 = sum phi_i and
sum phi_i^2. On a lattice shared by P values of p, each factor's phi_i (the trigonometric products and a
division, most of the work of two_dim_fast) is computed once and only the running products, one complex
multiply per p, are per p. Each p keeps its own box, threshold and cross-shaped region (the rule of
two_dim_fast, applied per p to its own terms); a row is evaluated over the widest of them, and each p sums
its own region only, so every slice of the result is what two_dim_fast gives for that p on that lattice.
The 1-D sums share the same way: phi_i and the cross payoffs g1, g2 once per node, the prefix / suffix
products per p.

Measured (P = 15-16, trained weights, p = 0.02-0.057, 2 threads): two_dim_multi 2.6x, one_dim_multi 3.4x
the P calls of the single-p kernel on the same lattice (docs/benchmarks.md).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from .moments import CUT_RATIO, _padded_row, _pair_alpha, _phi2
from .parallel import PRANGE_ONLY


@njit(cache=True, parallel=PRANGE_ONLY, fastmath={"contract", "arcp", "nsz"})
def two_dim_multi(w_in, ps, c, t_per, k_max, pairs_a, pairs_b, tc, ts, kmin, thr):
    """two_dim_fast for the P values ps (P,) on one lattice (c, t_per, tables tc / ts as trig_tables).

    k_max (P, d): each p's box half-sides; thr (P,): each p's cross threshold (> 0). Returns (P, n_pairs, 4):
    per p the columns of two_dim_fast (sum, reduced sum, lattice nodes of its region, sum at the coarser
    cut)."""
    n = w_in.shape[1]
    n_p = ps.shape[0]
    k_tab = (tc.shape[2] - 1) // 2
    n_pairs = pairs_a.shape[0]
    out = np.zeros((n_p, n_pairs, 4))
    qs = np.empty(n_p)
    q0s = np.empty(n_p)
    q1s = np.empty(n_p)
    q2s = np.empty(n_p)
    for u in range(n_p):
        q = 1.0 - ps[u]
        qs[u] = q
        q0s[u] = q**n
        q1s[u] = ps[u] * q ** (n - 1)
        q2s[u] = ps[u] * ps[u] * q ** (n - 2) if kmin >= 3 else 0.0
    mm2 = np.empty(2 * k_tab + 1)  # m2 by table column (read by every pair)
    for u in range(2 * k_tab + 1):
        mm2[u] = u - k_tab
    for t in prange(n_pairs):
        a = pairs_a[t]
        b = pairs_b[t]
        ha = 2.0 * np.pi / t_per[a]
        hb = 2.0 * np.pi / t_per[b]
        ka = k_max[:, a].copy()
        kb = k_max[:, b].copy()
        kam = ka.max()
        kbm = kb.max()
        ln = 2 * kbm + 1
        off = k_tab - kbm
        al, sha, cha = _pair_alpha(w_in, c, a, b)
        lw = max(ln + 3, 12)
        fre = np.empty(lw)
        fim = np.empty(lw)
        ere = np.empty(lw)
        eim = np.empty(lw)
        sre = np.empty(lw)
        sim = np.empty(lw)
        gre = np.empty(lw)
        gim = np.empty(lw)
        pre = np.empty((n_p, lw))
        pim = np.empty((n_p, lw))
        acc = np.zeros((n_p, 3))
        live = np.zeros(n_p, dtype=np.bool_)
        sc = 2.0 / (t_per[a] * t_per[b])
        sc2 = sc * sc
        r = kb.copy()
        rc = kb.copy()
        for m1 in range(kam + 1):
            rr = 0
            for u in range(n_p):
                live[u] = m1 <= ka[u]
                if live[u] and r[u] > rr:
                    rr = r[u]
            j0 = kbm - rr
            j1 = kbm + rr + 1
            js, npad = _padded_row(j0, j1, kbm, k_tab)  # as two_dim_fast
            u0 = js + off
            for j in range(npad):
                ere[j] = 0.0
                eim[j] = 0.0
                sre[j] = 0.0
                sim[j] = 0.0
            for u in range(n_p):
                if live[u]:
                    for j in range(npad):
                        pre[u, j] = 1.0
                        pim[u, j] = 0.0
            vfre = fre[:npad]
            vfim = fim[:npad]
            vere = ere[:npad]
            veim = eim[:npad]
            vsre = sre[:npad]
            vsim = sim[:npad]
            vm2 = mm2[u0:u0 + npad]
            for i in range(n):
                ca1 = tc[a, i, k_tab + m1]
                sa1 = ts[a, i, k_tab + m1]
                b1 = m1 * ha * w_in[a, i]
                tb = hb * w_in[b, i]
                ali = al[i]
                shi = sha[i]
                chi = cha[i]
                tcb = tc[b, i, u0:u0 + npad]
                tsb = ts[b, i, u0:u0 + npad]
                if ali * ali > 1e-200:
                    for j in range(npad):
                        fr, fi = _phi2(tcb[j], tsb[j], vm2[j], ca1, sa1, b1, tb, ali, shi, chi, False)
                        vfre[j] = fr
                        vfim[j] = fi
                        vere[j] += fr
                        veim[j] += fi
                        vsre[j] += fr * fr - fi * fi
                        vsim[j] += 2.0 * fr * fi
                else:
                    for j in range(npad):
                        fr, fi = _phi2(tcb[j], tsb[j], vm2[j], ca1, sa1, b1, tb, ali, shi, chi, True)
                        vfre[j] = fr
                        vfim[j] = fi
                        vere[j] += fr
                        veim[j] += fi
                        vsre[j] += fr * fr - fi * fi
                        vsim[j] += 2.0 * fr * fi
                for u in range(n_p):
                    if not live[u]:
                        continue
                    pu = ps[u]
                    qu = qs[u]
                    vpre = pre[u, :npad]
                    vpim = pim[u, :npad]
                    for j in range(npad):
                        gr = qu + pu * vfre[j]
                        gi = pu * vfim[j]
                        xr = vpre[j]
                        xi = vpim[j]
                        vpre[j] = xr * gr - xi * gi
                        vpim[j] = xr * gi + xi * gr
            for j in range(j0, j1):
                m2 = j - kbm
                s1 = complex(c[a], m1 * ha)
                s2 = complex(c[b], m2 * hb)
                g = 1.0 / (s1 * s1 * s2 * s2)
                gre[j - js] = g.real
                gim[j - js] = g.imag
            for u in range(n_p):
                if not live[u]:
                    continue
                ru = r[u]
                rcu = rc[u]
                thr2 = thr[u] * thr[u]
                thr2c = thr2 * CUT_RATIO * CUT_RATIO
                last = -1
                lastc = -1
                lo = kbm if m1 == 0 else kbm - ru
                for j in range(kbm - ru, kbm + ru + 1):
                    m2 = j - kbm
                    jl = j - js
                    hr_ = pre[u, jl] - q0s[u] - q1s[u] * ere[jl]
                    hi_ = pim[u, jl] - q1s[u] * eim[jl]
                    if kmin >= 3:
                        hr_ -= 0.5 * q2s[u] * (ere[jl] * ere[jl] - eim[jl] * eim[jl] - sre[jl])
                        hi_ -= 0.5 * q2s[u] * (2.0 * ere[jl] * eim[jl] - sim[jl])
                    g_r = gre[jl]
                    g_i = gim[jl]
                    if abs(m2) > lastc:
                        mag = sc2 * (g_r * g_r + g_i * g_i) * (hr_ * hr_ + hi_ * hi_)
                        if abs(m2) > last and mag > thr2:
                            last = abs(m2)
                        if abs(m2) <= rcu and mag > thr2c:
                            lastc = abs(m2)
                    if j < lo:
                        continue
                    wgt = 0.5 if (m1 == 0 and m2 == 0) else 1.0
                    v = wgt * (g_r * hr_ - g_i * hi_)
                    acc[u, 0] += v
                    if 4 * m1 <= 3 * ka[u] and 4 * abs(m2) <= 3 * ru:
                        acc[u, 1] += v
                    if abs(m2) <= rcu:
                        acc[u, 2] += v
                out[u, t, 2] += 2 * ru + 1
                r[u] = min(ru, last + max(2, ru // 4))
                rc[u] = min(rcu, r[u], lastc + max(2, rcu // 4))
        for u in range(n_p):
            out[u, t, 0] = acc[u, 0] * sc
            out[u, t, 1] = acc[u, 1] * sc
            out[u, t, 3] = acc[u, 2] * sc
    return out

