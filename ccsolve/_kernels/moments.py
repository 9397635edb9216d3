"""Fourier sums for the exact second moments (private; called by ccsolve.moments). Derivation: docs/math.md,
"Exact second moments".

For a projection U = w . x (x_i = 0 w.p. 1 - p, else U[-1, 1], independent) the two-sided Laplace transform
E[A e^{sU}] is a product of n factors f(z) = (1 - p) + p sinh(z)/z (z = s w_i), with one factor replaced for
A = x_j or ReLU(x_j). A payoff g with Laplace transform G (ReLU: 1/s^2, ReLU^2: 2/s^3) gives, on the line
s = c + i m h (h = 2 pi / T, T > |w|_1),

    (1/T) sum_m G(s_m) E[A e^{s_m U}] = sum_{k >= 0} e^{-c k T} E[A g(U + k T)]

exactly (Poisson summation on the bounded support); the k >= 1 terms are polynomial moments, subtracted by
the caller. The atom at x = 0 and the one-active-feature strata are removed here from the transforms (their
contributions are closed forms, added by the caller), so the summands decay fast and the sums are
truncated at |m| <= K. Each 1-D sum is returned at K and K // 2, each 2-D sum at K and 3 K / 4 (the refinement error estimate).
"""

from __future__ import annotations

import cmath

import numpy as np
from numba import njit, prange

from .parallel import PRANGE_ONLY

CUT_RATIO = 3.0  # two_dim_fast's coarser cut (its threshold / thr), for the cut's error estimate


@njit(cache=True, inline="always")
def _shc(z):
    """sinh(z) / z."""
    if abs(z) < 1e-3:
        z2 = z * z
        return 1.0 + z2 / 6.0 + z2 * z2 / 120.0
    e = cmath.exp(z)
    return 0.5 * (e - 1.0 / e) / z


@njit(cache=True, inline="always")
def _g1(z):
    """E_t[t e^{zt}], t ~ U[-1, 1]: (z cosh z - sinh z) / z^2."""
    if abs(z) < 1e-2:
        z2 = z * z
        return z / 3.0 + z * z2 / 30.0 + z * z2 * z2 / 840.0
    return (z * cmath.cosh(z) - cmath.sinh(z)) / (z * z)


@njit(cache=True, inline="always")
def _g2(z):
    """E_t[ReLU(t) e^{zt}] = (e^z (z - 1) + 1) / (2 z^2)."""
    if abs(z) < 1e-2:
        return 0.25 + z / 6.0 + z * z / 16.0 + z * z * z / 60.0 + z * z * z * z / 288.0
    return (cmath.exp(z) * (z - 1.0) + 1.0) / (2.0 * z * z)


@njit(cache=True, parallel=PRANGE_ONLY)
def one_dim(w_in, p, c, t_per, k_max):
    """(The direct version, a complex exp per factor: kept as the test oracle of one_dim_fast.)

    Per neuron a, with s_m = c_a + i m h_a, h_a = 2 pi / T_a, m = 0..k_max[a] (halved weight at m = 0):

    out_relu[a, r]    sum of G1 H        (G1 = 1/s^2,  H = E_high[e^{sU}])
    out_sq[a, r]      sum of G2 H        (G2 = 2/s^3)
    out_x[a, j, r]    sum of G1 p g1(s w_j) (phi_{-j} - (1-p)^{n-1})
    out_rx[a, j, r]   same with g2
    each times 2/T (real part), r = 0 for the sum to k_max, r = 1 to k_max // 2.
    tail[a, m]        |G1 H| at m (to choose the 2-D truncation)
    """
    d, n = w_in.shape
    kk = k_max.max()
    out_relu = np.zeros((d, 2))
    out_sq = np.zeros((d, 2))
    out_x = np.zeros((d, n, 2))
    out_rx = np.zeros((d, n, 2))
    tail = np.zeros((d, kk + 1))
    q0 = (1.0 - p) ** n
    q1 = p * (1.0 - p) ** (n - 1)
    q1j = (1.0 - p) ** (n - 1)
    for a in prange(d):
        h = 2.0 * np.pi / t_per[a]
        f = np.empty(n, dtype=np.complex128)
        pre = np.empty(n + 1, dtype=np.complex128)
        suf = np.empty(n + 1, dtype=np.complex128)
        half = k_max[a] // 2
        for m in range(k_max[a] + 1):
            s = complex(c[a], m * h)
            wgt = 0.5 if m == 0 else 1.0
            one = 0.0j
            for i in range(n):
                z = s * w_in[a, i]
                sh = _shc(z)
                one += sh
                f[i] = (1.0 - p) + p * sh
            pre[0] = 1.0
            for i in range(n):
                pre[i + 1] = pre[i] * f[i]
            suf[n] = 1.0
            for i in range(n - 1, -1, -1):
                suf[i] = suf[i + 1] * f[i]
            hi = pre[n] - q0 - q1 * one
            g1s = 1.0 / (s * s)
            v1 = (wgt * g1s * hi).real
            v2 = (wgt * 2.0 * g1s / s * hi).real
            tail[a, m] = abs(g1s * hi)
            out_relu[a, 0] += v1
            out_sq[a, 0] += v2
            if m <= half:
                out_relu[a, 1] += v1
                out_sq[a, 1] += v2
            for j in range(n):
                z = s * w_in[a, j]
                rest = pre[j] * suf[j + 1] - q1j
                base = wgt * g1s * p * rest
                vx = (base * _g1(z)).real
                vr = (base * _g2(z)).real
                out_x[a, j, 0] += vx
                out_rx[a, j, 0] += vr
                if m <= half:
                    out_x[a, j, 1] += vx
                    out_rx[a, j, 1] += vr
        sc = 2.0 / t_per[a]
        for r in range(2):
            out_relu[a, r] *= sc
            out_sq[a, r] *= sc
            for j in range(n):
                out_x[a, j, r] *= sc
                out_rx[a, j, r] *= sc
    return out_relu, out_sq, out_x, out_rx, tail


@njit(cache=True, parallel=PRANGE_ONLY)
def two_dim(w_in, p, c, t_per, k_max, pairs_a, pairs_b):
    """(The direct version: kept as the test oracle of two_dim_fast.) For each pair (a, b): (1/(T_a T_b)) sum over the lattice s = (c_a + i m1 h_a, c_b + i m2 h_b),
    |m1| <= K_a, |m2| <= K_b, of H(s) / (s1^2 s2^2), H = E_high[e^{s1 U + s2 V}] (conjugate half summed
    twice). Returns (n_pairs, 2): the box (K_a, K_b) and the reduced box (3 K_a // 4, 3 K_b // 4)."""
    n = w_in.shape[1]
    n_pairs = pairs_a.shape[0]
    out = np.zeros((n_pairs, 2))
    q0 = (1.0 - p) ** n
    q1 = p * (1.0 - p) ** (n - 1)
    for t in prange(n_pairs):
        a = pairs_a[t]
        b = pairs_b[t]
        ha = 2.0 * np.pi / t_per[a]
        hb = 2.0 * np.pi / t_per[b]
        ka = k_max[a]
        kb = k_max[b]
        acc0 = 0.0
        acc1 = 0.0
        for m1 in range(ka + 1):
            s1 = complex(c[a], m1 * ha)
            lo = 0 if m1 == 0 else -kb
            for m2 in range(lo, kb + 1):
                s2 = complex(c[b], m2 * hb)
                prod = 1.0 + 0.0j
                one = 0.0j
                for i in range(n):
                    z = s1 * w_in[a, i] + s2 * w_in[b, i]
                    sh = _shc(z)
                    one += sh
                    prod *= (1.0 - p) + p * sh
                hi = prod - q0 - q1 * one
                wgt = 0.5 if (m1 == 0 and m2 == 0) else 1.0
                v = (wgt * hi / (s1 * s1 * s2 * s2)).real
                acc0 += v
                if 4 * m1 <= 3 * ka and 4 * abs(m2) <= 3 * kb:
                    acc1 += v
        sc = 2.0 / (t_per[a] * t_per[b])
        out[t, 0] = acc0 * sc
        out[t, 1] = acc1 * sc
    return out


@njit(cache=True, parallel=PRANGE_ONLY)
def trig_tables(w_in, t_per, k_tab):
    """cos / sin(m h_a w_ai) for m = -k_tab..k_tab, h_a = 2 pi / T_a: (d, n, 2 k_tab + 1) each (the cached
    1-D pieces of every 2-D factor: e^{i(m1 h_a w_ai + m2 h_b w_bi)} is a product of two table entries)."""
    d, n = w_in.shape
    tc = np.empty((d, n, 2 * k_tab + 1))
    ts = np.empty((d, n, 2 * k_tab + 1))
    for a in prange(d):
        h = 2.0 * np.pi / t_per[a]
        for i in range(n):
            th = h * w_in[a, i]
            c1 = np.cos(th)
            s1 = np.sin(th)
            cm = 1.0
            sm = 0.0
            for m in range(k_tab + 1):
                if m % 32 == 0:  # angle-addition recurrence, re-synchronised every 32 steps
                    cm = np.cos(m * th)
                    sm = np.sin(m * th)
                tc[a, i, k_tab + m] = cm
                ts[a, i, k_tab + m] = sm
                tc[a, i, k_tab - m] = cm
                ts[a, i, k_tab - m] = -sm
                cm, sm = cm * c1 - sm * s1, sm * c1 + cm * s1
    return tc, ts


@njit(cache=True, inline="always", fastmath={"contract", "arcp", "nsz"})
def _phi2(cb, sb, m2, ca1, sa1, b1, tb, ali, shi, chi, guard):
    """sinh(z)/z (real, imaginary parts) for z = ali + i beta, beta = b1 + m2 tb, from the table entries
    (cos, sin) of the two angles (ca1, sa1: row m1 of neuron a; cb, sb: column m2 of neuron b) and
    shi = sinh(ali), chi = cosh(ali). guard (a literal): 1 where |z|^2 <= 1e-200 (only reachable when
    ali^2 <= 1e-200; the callers drop the guard otherwise, so the loop has no select)."""
    cosb = ca1 * cb - sa1 * sb
    sinb = sa1 * cb + ca1 * sb
    beta = b1 + m2 * tb
    aa = shi * cosb
    bb = chi * sinb
    r2 = ali * ali + beta * beta
    if guard and not r2 > 1e-200:
        return 1.0, 0.0
    inv = 1.0 / r2
    return (aa * ali + bb * beta) * inv, (bb * ali - aa * beta) * inv


@njit(cache=True, inline="always")
def _pair_alpha(w_in, c, a, b):
    """Per coordinate i of pair (a, b): alpha_i = c_a w_ai + c_b w_bi and sinh / cosh(alpha_i), (n,) each."""
    n = w_in.shape[1]
    al = np.empty(n)
    sha = np.empty(n)
    cha = np.empty(n)
    for i in range(n):
        al[i] = c[a] * w_in[a, i] + c[b] * w_in[b, i]
        sha[i] = np.sinh(al[i])
        cha[i] = np.cosh(al[i])
    return al, sha, cha


@njit(cache=True, inline="always")
def _padded_row(j0, j1, kb, k_tab):
    """(js, npad): the row [j0, j1) (local node index, m2 = j - kb) padded to [js, js + npad), a multiple of
    4 nodes and at least 12 (shorter trip counts take the scalar loop: LLVM's threshold for the node loop,
    seen in the assembly), shifted left if it would leave the table; unpadded where the table is narrower
    than the padded row."""
    npad = max((j1 - j0 + 3) // 4 * 4, 12)
    js = min(j0, kb + k_tab + 1 - npad)
    if js + k_tab - kb < 0:
        return j0, j1 - j0
    return js, npad


@njit(cache=True, parallel=PRANGE_ONLY, fastmath={"contract", "arcp", "nsz"})
def two_dim_fast(w_in, p, c, t_per, k_max, pairs_a, pairs_b, tc, ts, kmin, thr):
    """Same sums as two_dim, same lattice and boxes, evaluated without a complex exp per factor:
    with z_i = alpha_i + i beta_i (alpha_i = c_a w_ai + c_b w_bi, beta_i = m1 h_a w_ai + m2 h_b w_bi),
    sinh z_i = sinh(alpha_i) cos(beta_i) + i cosh(alpha_i) sin(beta_i), cos/sin(beta_i) from the cached
    per-neuron tables (trig_tables), sinh/cosh(alpha_i) once per pair; the product over i runs as a
    vector over the m2 row (no dependency chain). float64 throughout. kmin = 3 also removes the stratum
    k = 2 (as one_dim_fast).

    Region: the significant terms form a cross along the axes (the kernel 1/(s1^2 s2^2) and the transform
    decay in both variables), not a box. Row m1 runs over |m2| <= r(m1); r(0) = K_b and r(m1 + 1) =
    min(r(m1), last |m2| of row m1 whose scaled |term| exceeds thr, plus a margin of max(2, r/4)).
    thr <= 0 gives the full box. The reduced sum (second column) uses m1 <= 3 K_a / 4, |m2| <= 3 r(m1) / 4.
    Fourth column: the sum over the nested region the same rule gives at threshold CUT_RATIO * thr (its
    difference from the first column estimates what the cut leaves out; 0 for the full box).

    Speed (benchmarks/bench_two_dim.py): the rows are short (mean 2 r + 1 ~ 18-34 nodes; r >= 2), so
    each row's vector loop over m2 is padded to a multiple of 4 nodes, at least 12 (extra table columns
    inside [-k_tab, k_tab], computed but not summed: no scalar remainder, and no scalar loop for short
    rows), runs without the |z| > 0 guard where alpha_i^2 > 1e-200 (then |z_i| > 0 at every node), and
    without the sum of phi^2 when kmin = 2 (it is used for kmin = 3 only)."""
    n = w_in.shape[1]
    k_tab = (tc.shape[2] - 1) // 2
    n_pairs = pairs_a.shape[0]
    out = np.zeros((n_pairs, 4))  # sum, reduced sum, lattice nodes evaluated, sum at the coarser cut
    q = 1.0 - p
    q0 = q**n
    q1 = p * q ** (n - 1)
    q2 = p * p * q ** (n - 2) if kmin >= 3 else 0.0
    mm2 = np.empty(2 * k_tab + 1)  # m2 by table column (read by every pair)
    for u in range(2 * k_tab + 1):
        mm2[u] = u - k_tab
    for t in prange(n_pairs):
        a = pairs_a[t]
        b = pairs_b[t]
        ha = 2.0 * np.pi / t_per[a]
        hb = 2.0 * np.pi / t_per[b]
        ka = k_max[a]
        kb = k_max[b]
        ln = 2 * kb + 1
        off = k_tab - kb
        al, sha, cha = _pair_alpha(w_in, c, a, b)
        # scratch by node of the padded row (local index j - js)
        lw = max(ln + 3, 12)
        pre = np.empty(lw)
        pim = np.empty(lw)
        ere = np.empty(lw)
        eim = np.empty(lw)
        sre = np.zeros(lw)
        sim = np.zeros(lw)
        acc0 = 0.0
        acc1 = 0.0
        acc2 = 0.0
        sc = 2.0 / (t_per[a] * t_per[b])
        sc2 = sc * sc
        thr2 = thr * thr
        thr2c = thr2 * CUT_RATIO * CUT_RATIO
        r = kb
        rc = kb  # the coarser cut's row extent (<= r: nested)
        for m1 in range(ka + 1):
            j0 = kb - r
            j1 = kb + r + 1
            out[t, 2] += j1 - j0
            js, npad = _padded_row(j0, j1, kb, k_tab)
            u0 = js + off
            for j in range(npad):
                pre[j] = 1.0
                pim[j] = 0.0
                ere[j] = 0.0
                eim[j] = 0.0
                sre[j] = 0.0
                sim[j] = 0.0
            vpre = pre[:npad]
            vpim = pim[:npad]
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
                if ali * ali > 1e-200 and kmin < 3:
                    for j in range(npad):
                        fr, fi = _phi2(tcb[j], tsb[j], vm2[j], ca1, sa1, b1, tb, ali, shi, chi, False)
                        vere[j] += fr
                        veim[j] += fi
                        gr = q + p * fr
                        gi = p * fi
                        xr = vpre[j]
                        xi = vpim[j]
                        vpre[j] = xr * gr - xi * gi
                        vpim[j] = xr * gi + xi * gr
                elif ali * ali > 1e-200:
                    for j in range(npad):
                        fr, fi = _phi2(tcb[j], tsb[j], vm2[j], ca1, sa1, b1, tb, ali, shi, chi, False)
                        vere[j] += fr
                        veim[j] += fi
                        vsre[j] += fr * fr - fi * fi  # sum phi^2 (e_2, kmin = 3)
                        vsim[j] += 2.0 * fr * fi
                        gr = q + p * fr
                        gi = p * fi
                        xr = vpre[j]
                        xi = vpim[j]
                        vpre[j] = xr * gr - xi * gi
                        vpim[j] = xr * gi + xi * gr
                else:  # |z_i| may vanish: the guarded factor
                    for j in range(npad):
                        fr, fi = _phi2(tcb[j], tsb[j], vm2[j], ca1, sa1, b1, tb, ali, shi, chi, True)
                        vere[j] += fr
                        veim[j] += fi
                        vsre[j] += fr * fr - fi * fi
                        vsim[j] += 2.0 * fr * fi
                        gr = q + p * fr
                        gi = p * fi
                        xr = vpre[j]
                        xi = vpim[j]
                        vpre[j] = xr * gr - xi * gi
                        vpim[j] = xr * gi + xi * gr
            lo = kb if m1 == 0 else j0
            last = -1
            lastc = -1
            for j in range(j0, j1):
                m2 = j - kb
                jl = j - js
                hr_ = pre[jl] - q0 - q1 * ere[jl]
                hi_ = pim[jl] - q1 * eim[jl]
                if kmin >= 3:  # e_2 = (e_1^2 - sum phi^2) / 2
                    hr_ -= 0.5 * q2 * (ere[jl] * ere[jl] - eim[jl] * eim[jl] - sre[jl])
                    hi_ -= 0.5 * q2 * (2.0 * ere[jl] * eim[jl] - sim[jl])
                s1 = complex(c[a], m1 * ha)
                s2 = complex(c[b], m2 * hb)
                g = 1.0 / (s1 * s1 * s2 * s2)
                if thr > 0.0 and abs(m2) > lastc:
                    mag = sc2 * (g.real * g.real + g.imag * g.imag) * (hr_ * hr_ + hi_ * hi_)
                    if abs(m2) > last and mag > thr2:
                        last = abs(m2)
                    if abs(m2) <= rc and mag > thr2c:
                        lastc = abs(m2)
                if j < lo:
                    continue
                wgt = 0.5 if (m1 == 0 and m2 == 0) else 1.0
                v = wgt * (g.real * hr_ - g.imag * hi_)
                acc0 += v
                if 4 * m1 <= 3 * ka and 4 * abs(m2) <= 3 * r:
                    acc1 += v
                if abs(m2) <= rc:
                    acc2 += v
            if thr > 0.0:
                r = min(r, last + max(2, r // 4))
                rc = min(rc, r, lastc + max(2, rc // 4))
        out[t, 0] = acc0 * sc
        out[t, 1] = acc1 * sc
        out[t, 3] = acc2 * sc
    return out


@njit(cache=True, inline="always")
def _g12_parts(zr, zi, shr, shi, chr_, chi):
    """g1(z), g2(z) from z and sinh z, cosh z (no exp): g1 = (z cosh z - sinh z)/z^2,
    g2 = (e^z (z - 1) + 1)/(2 z^2), e^z = cosh z + sinh z; series below |z| = 1e-2."""
    z = complex(zr, zi)
    if zr * zr + zi * zi < 1e-4:
        z2 = z * z
        g1 = z / 3.0 + z * z2 / 30.0 + z * z2 * z2 / 840.0
        g2 = 0.25 + z / 6.0 + z2 / 16.0 + z * z2 / 60.0 + z2 * z2 / 288.0
        return g1, g2
    sh = complex(shr, shi)
    ch = complex(chr_, chi)
    zz = z * z
    iz2 = complex(zz.real, -zz.imag) * (1.0 / (zz.real * zz.real + zz.imag * zz.imag))
    g1 = (z * ch - sh) * iz2
    g2 = ((ch + sh) * (z - 1.0) + 1.0) * iz2 * 0.5
    return g1, g2


@njit(cache=True, parallel=PRANGE_ONLY)
def one_dim_multi(w_in, ps, c, t_per, k_max, tc, ts, kmin):
    """The sums of one_dim for the P values ps (P,) on one lattice, with sinh/cosh(s w_i) from the cached trig
    tables (trig_tables, m >= 0 half) and sinh/cosh of the real part once per neuron instead of a complex exp
    per factor: (relu (P, d, 2), sq (P, d, 2), x (P, d, n, 2), rx (P, d, n, 2), tail (P, d, K + 1)).

    Shared by the P values per node: sinh / cosh (s w_i), phi_i and the cross payoffs g1, g2; per p: the
    factors, their prefix / suffix products and the sums (16 p: 3.4x the 16 one-p calls,
    docs/benchmarks.md). kmin = 2: the measure without the strata k = 0, 1
    (as one_dim); kmin = 3: also without k = 2 (its transform is p^2 (1-p)^(n-2) e_2(phi), e_2 = ((sum
    phi)^2 - sum phi^2) / 2, removed the same way; for the cross moments, the other n - 1 coordinates lose
    their strata 0 and 1)."""
    d, n = w_in.shape
    n_p = ps.shape[0]
    k_tab = (tc.shape[2] - 1) // 2
    kk = k_max.max()
    out_relu = np.zeros((n_p, d, 2))
    out_sq = np.zeros((n_p, d, 2))
    out_x = np.zeros((n_p, d, n, 2))
    out_rx = np.zeros((n_p, d, n, 2))
    tail = np.zeros((n_p, d, kk + 1))
    q0 = np.empty(n_p)
    q1 = np.empty(n_p)
    q1j = np.empty(n_p)
    q2 = np.empty(n_p)
    q2j = np.empty(n_p)
    for u in range(n_p):
        p = ps[u]
        q0[u] = (1.0 - p) ** n
        q1[u] = p * (1.0 - p) ** (n - 1)
        q1j[u] = (1.0 - p) ** (n - 1)
        q2[u] = p * p * (1.0 - p) ** (n - 2) if kmin >= 3 else 0.0
        q2j[u] = p * (1.0 - p) ** (n - 2) if kmin >= 3 else 0.0
    for a in prange(d):
        h = 2.0 * np.pi / t_per[a]
        f = np.empty(n, dtype=np.complex128)
        g1s_ = np.empty(n, dtype=np.complex128)
        g2s_ = np.empty(n, dtype=np.complex128)
        pre = np.empty(n + 1, dtype=np.complex128)
        suf = np.empty(n + 1, dtype=np.complex128)
        al = np.empty(n)
        sha = np.empty(n)
        cha = np.empty(n)
        for i in range(n):
            al[i] = c[a] * w_in[a, i]
            sha[i] = np.sinh(al[i])
            cha[i] = np.cosh(al[i])
        half = k_max[a] // 2
        phis = np.empty(n, dtype=np.complex128)
        for m in range(k_max[a] + 1):
            s = complex(c[a], m * h)
            wgt = 0.5 if m == 0 else 1.0
            one = 0.0j
            two = 0.0j
            for i in range(n):
                cb = tc[a, i, k_tab + m]
                sb = ts[a, i, k_tab + m]
                shz = complex(sha[i] * cb, cha[i] * sb)
                chz = complex(cha[i] * cb, sha[i] * sb)
                beta = m * h * w_in[a, i]
                r2 = al[i] * al[i] + beta * beta
                if r2 > 1e-200:
                    sh = shz * complex(al[i], -beta) / r2
                else:
                    sh = 1.0 + 0.0j
                one += sh
                two += sh * sh
                phis[i] = sh
                g1, g2 = _g12_parts(al[i], beta, shz.real, shz.imag, chz.real, chz.imag)
                g1s_[i] = g1
                g2s_[i] = g2
            g1s = 1.0 / (s * s)
            for u in range(n_p):
                p = ps[u]
                for i in range(n):
                    f[i] = (1.0 - p) + p * phis[i]
                pre[0] = 1.0
                for i in range(n):
                    pre[i + 1] = pre[i] * f[i]
                suf[n] = 1.0
                for i in range(n - 1, -1, -1):
                    suf[i] = suf[i + 1] * f[i]
                hi = pre[n] - q0[u] - q1[u] * one - q2[u] * 0.5 * (one * one - two)
                v1 = (wgt * g1s * hi).real
                v2 = (wgt * 2.0 * g1s / s * hi).real
                tail[u, a, m] = abs(g1s * hi)
                out_relu[u, a, 0] += v1
                out_sq[u, a, 0] += v2
                if m <= half:
                    out_relu[u, a, 1] += v1
                    out_sq[u, a, 1] += v2
                for j in range(n):
                    rest = pre[j] * suf[j + 1] - q1j[u] - q2j[u] * (one - phis[j])
                    base = wgt * g1s * p * rest
                    vx = (base * g1s_[j]).real
                    vr = (base * g2s_[j]).real
                    out_x[u, a, j, 0] += vx
                    out_rx[u, a, j, 0] += vr
                    if m <= half:
                        out_x[u, a, j, 1] += vx
                        out_rx[u, a, j, 1] += vr
        sc = 2.0 / t_per[a]
        for u in range(n_p):
            for r in range(2):
                out_relu[u, a, r] *= sc
                out_sq[u, a, r] *= sc
                for j in range(n):
                    out_x[u, a, j, r] *= sc
                    out_rx[u, a, j, r] *= sc
    return out_relu, out_sq, out_x, out_rx, tail


@njit(cache=True)
def one_dim_fast(w_in, p, c, t_per, k_max, tc, ts, kmin):
    """Same sums as one_dim, from the trig tables: one_dim_multi at the one p (its slices)."""
    ps = np.empty(1)
    ps[0] = p
    relu, sq, x, rx, tail = one_dim_multi(w_in, ps, c, t_per, k_max, tc, ts, kmin)
    return relu[0], sq[0], x[0], rx[0], tail[0]


# ---------------------------------------------------------------------------------------------------
# gradient with respect to W_in (docs/math.md, "Exact second moments", the gradient)


@njit(cache=True, inline="always")
def _g3(z):
    """E_t[ReLU(t)^2 e^{zt}] = (e^z (z^2 - 2 z + 2) - 2) / (2 z^3)."""
    if abs(z) < 0.05:
        z2 = z * z
        return 0.5 * (1.0 / 3.0 + z / 4.0 + z2 / 10.0 + z * z2 / 36.0 + z2 * z2 / 168.0
                      + z * z2 * z2 / 960.0 + z2 * z2 * z2 / 6480.0)
    return 0.5 * (cmath.exp(z) * (z * z - 2.0 * z + 2.0) - 2.0) / (z * z * z)


@njit(cache=True, inline="always")
def _g4(z):
    """E_t[t^2 e^{zt}] = ((z^2 + 2) sinh z - 2 z cosh z) / z^3."""
    if abs(z) < 0.05:
        z2 = z * z
        return 1.0 / 3.0 + z2 / 10.0 + z2 * z2 / 168.0 + z2 * z2 * z2 / 6480.0
    return ((z * z + 2.0) * cmath.sinh(z) - 2.0 * z * cmath.cosh(z)) / (z * z * z)


@njit(cache=True, inline="always")
def _phi_g1(z, sh, ch):
    """sinh(z)/z and g1(z) = (z cosh z - sinh z)/z^2 from z, sinh z, cosh z (series near 0)."""
    if abs(z) < 1e-2:
        z2 = z * z
        return 1.0 + z2 / 6.0 + z2 * z2 / 120.0, z / 3.0 + z * z2 / 30.0 + z * z2 * z2 / 840.0
    iz = 1.0 / z
    ph = sh * iz
    return ph, (ch - ph) * iz


@njit(cache=True, parallel=PRANGE_ONLY)
def grad_one_dim(w_in, p, c, t_per, k_max, kmin, alpha, beta):
    """Step-payoff 1-D sums for the W_in gradient. Per neuron a, on the lattice of one_dim (kernel 1/s):

    step_x[a, k, r]  sum of p g1(s w_ak) rest_k / s          -> E_r[x_k 1{U_a > 0}] (no alias: E_r[x_k] = 0)
    ysum[a, k, r]    sum of E_r[x_k psi_a(x) e^{sU}] / s,  psi_a = sum_j alpha_aj ReLU(x_j) + beta_aj x_j
                     -> E_r[x_k psi_a 1{U_a > 0}] + alias e^{-kappa}/(1 - e^{-kappa}) E_r[x_k psi_a]
    E_r: the measure with >= kmin active features; rest_k as in one_dim_fast; the j != k part of psi
    is the first-order (dual-number) part of prod_{i != k} (f_i + eps p (alpha_ai g2 + beta_ai g1)),
    by prefix and suffix products. r = 0: to k_max, r = 1: to k_max // 2. Times 2/T (real part)."""
    d, n = w_in.shape
    step_x = np.zeros((d, n, 2))
    ysum = np.zeros((d, n, 2))
    q = 1.0 - p
    q1j = q ** (n - 1)
    q2j = p * q ** (n - 2) if kmin >= 3 else 0.0
    q2e = q ** (n - 2) if kmin >= 3 else 0.0
    for a in prange(d):
        h = 2.0 * np.pi / t_per[a]
        z = np.empty(n, dtype=np.complex128)
        ph = np.empty(n, dtype=np.complex128)
        g1 = np.empty(n, dtype=np.complex128)
        f = np.empty(n, dtype=np.complex128)
        cc = np.empty(n, dtype=np.complex128)
        pv = np.empty(n + 1, dtype=np.complex128)
        pe = np.empty(n + 1, dtype=np.complex128)
        sv = np.empty(n + 1, dtype=np.complex128)
        se = np.empty(n + 1, dtype=np.complex128)
        half = k_max[a] // 2
        for m in range(k_max[a] + 1):
            s = complex(c[a], m * h)
            wgt = 0.5 if m == 0 else 1.0
            one = 0.0j
            ctot = 0.0j
            for i in range(n):
                zi = s * w_in[a, i]
                z[i] = zi
                phi, g1i = _phi_g1(zi, cmath.sinh(zi), cmath.cosh(zi))
                ph[i] = phi
                g1[i] = g1i
                one += phi
                f[i] = q + p * phi
                ci = p * (alpha[a, i] * _g2(zi) + beta[a, i] * g1i)
                cc[i] = ci
                ctot += ci
            pv[0] = 1.0
            pe[0] = 0.0
            for i in range(n):
                pv[i + 1] = pv[i] * f[i]
                pe[i + 1] = pe[i] * f[i] + pv[i] * cc[i]
            sv[n] = 1.0
            se[n] = 0.0
            for i in range(n - 1, -1, -1):
                sv[i] = sv[i + 1] * f[i]
                se[i] = se[i + 1] * f[i] + sv[i + 1] * cc[i]
            ks = wgt / s
            for k in range(n):
                rest = pv[k] * sv[k + 1] - q1j - q2j * (one - ph[k])
                eps = pv[k] * se[k + 1] + pe[k] * sv[k + 1] - q2e * (ctot - cc[k])
                zk = z[k]
                vs = (ks * p * g1[k] * rest).real
                vy = (ks * p * (g1[k] * eps + (alpha[a, k] * _g3(zk) + beta[a, k] * _g4(zk)) * rest)).real
                step_x[a, k, 0] += vs
                ysum[a, k, 0] += vy
                if m <= half:
                    step_x[a, k, 1] += vs
                    ysum[a, k, 1] += vy
        sc = 2.0 / t_per[a]
        for k in range(n):
            for r in range(2):
                step_x[a, k, r] *= sc
                ysum[a, k, r] *= sc
    return step_x, ysum


@njit(cache=True, parallel=PRANGE_ONLY)
def grad_two_dim(w_in, p, c, t_per, k_max, pairs_a, pairs_b, tc, ts, kmin, thr):
    """Step x ReLU 2-D sums for the W_in gradient, per pair (a, b) and coordinate k, on the box of two_dim:

    dab[t, k, r]  (1/(T_a T_b)) sum of H_k(s) / (s1 s2^2)   -> E_r[x_k 1{U_a > 0} ReLU(U_b)] + aliases
    dba[t, k, r]  same with 1 / (s1^2 s2)                     -> E_r[x_k ReLU(U_a) 1{U_b > 0}] + aliases
    H_k = p g1(z_k) (prod_{i != k} f_i - strata below kmin), z_i = s1 w_ai + s2 w_bi (sinh / cosh from the
    trig tables and sinh / cosh of the real part). Region: the cross of two_dim_fast (row m1 + 1 runs to the
    last |m2| of row m1 whose largest |term| over k exceeds thr, plus max(2, r / 4); thr <= 0: the box).
    r = 0: the region, r = 1: m1 <= 3 K_a / 4, |m2| <= 3 r(m1) / 4 (the refinement estimate).
    nodes[t]: lattice nodes evaluated.
    """
    n = w_in.shape[1]
    k_tab = (tc.shape[2] - 1) // 2
    n_pairs = pairs_a.shape[0]
    dab = np.zeros((n_pairs, n, 2))
    dba = np.zeros((n_pairs, n, 2))
    nodes = np.zeros(n_pairs)
    q = 1.0 - p
    q1j = q ** (n - 1)
    q2j = p * q ** (n - 2) if kmin >= 3 else 0.0
    for t in prange(n_pairs):
        a = pairs_a[t]
        b = pairs_b[t]
        ha = 2.0 * np.pi / t_per[a]
        hb = 2.0 * np.pi / t_per[b]
        ka = k_max[a]
        kb = k_max[b]
        al, sha, cha = _pair_alpha(w_in, c, a, b)
        ph = np.empty(n, dtype=np.complex128)
        g1 = np.empty(n, dtype=np.complex128)
        pre = np.empty(n + 1, dtype=np.complex128)
        suf = np.empty(n + 1, dtype=np.complex128)
        sc = 2.0 / (t_per[a] * t_per[b])
        r = kb
        for m1 in range(ka + 1):
            s1 = complex(c[a], m1 * ha)
            lo = 0 if m1 == 0 else -r
            last = -1
            for m2 in range(lo, r + 1):
                nodes[t] += 1
                s2 = complex(c[b], m2 * hb)
                one = 0.0j
                pre[0] = 1.0
                for i in range(n):
                    ca1 = tc[a, i, k_tab + m1]
                    sa1 = ts[a, i, k_tab + m1]
                    cb = tc[b, i, k_tab + m2]
                    sb = ts[b, i, k_tab + m2]
                    cosb = ca1 * cb - sa1 * sb
                    sinb = sa1 * cb + ca1 * sb
                    zi = complex(al[i], m1 * ha * w_in[a, i] + m2 * hb * w_in[b, i])
                    sh = complex(sha[i] * cosb, cha[i] * sinb)
                    ch = complex(cha[i] * cosb, sha[i] * sinb)
                    phi, g1i = _phi_g1(zi, sh, ch)
                    ph[i] = phi
                    g1[i] = g1i
                    one += phi
                    pre[i + 1] = pre[i] * (q + p * phi)
                suf[n] = 1.0
                for i in range(n - 1, -1, -1):
                    suf[i] = suf[i + 1] * (q + p * ph[i])
                wgt = 0.5 if (m1 == 0 and m2 == 0) else 1.0
                kab = wgt * sc / (s1 * s2 * s2)
                kba = wgt * sc / (s1 * s1 * s2)
                inner = 4 * m1 <= 3 * ka and 4 * abs(m2) <= 3 * r
                big = 0.0
                for k in range(n):
                    hk = p * g1[k] * (pre[k] * suf[k + 1] - q1j - q2j * (one - ph[k]))
                    vab = (kab * hk).real
                    vba = (kba * hk).real
                    big = max(big, abs(vab), abs(vba))
                    dab[t, k, 0] += vab
                    dba[t, k, 0] += vba
                    if inner:
                        dab[t, k, 1] += vab
                        dba[t, k, 1] += vba
                if big > thr and abs(m2) > last:
                    last = abs(m2)
            if thr > 0.0:
                r = min(r, last + max(2, r // 4))
    return dab, dba, nodes


@njit(cache=True, parallel=PRANGE_ONLY, fastmath={"contract", "arcp", "nsz"})
def grad_two_dim_fast(w_in, p, c, t_per, k_max, pairs_a, pairs_b, tc, ts, kmin, thr):
    """Same sums, region and outputs as grad_two_dim (kept as its test oracle), in real arithmetic with the
    loops over a row's m2 innermost (vectorisable): per row, phi_i, g1_i and the prefix products are stored
    for every (i, m2), then a downward pass over i with the running suffix product accumulates each k."""
    n = w_in.shape[1]
    k_tab = (tc.shape[2] - 1) // 2
    n_pairs = pairs_a.shape[0]
    dab = np.zeros((n_pairs, n, 2))
    dba = np.zeros((n_pairs, n, 2))
    nodes = np.zeros(n_pairs)
    q = 1.0 - p
    q1j = q ** (n - 1)
    q2j = p * q ** (n - 2) if kmin >= 3 else 0.0
    for t in prange(n_pairs):
        a = pairs_a[t]
        b = pairs_b[t]
        ha = 2.0 * np.pi / t_per[a]
        hb = 2.0 * np.pi / t_per[b]
        ka = k_max[a]
        kb = k_max[b]
        ln = 2 * kb + 1
        off = k_tab - kb
        al, sha, cha = _pair_alpha(w_in, c, a, b)
        phr = np.empty((n, ln))
        phi_ = np.empty((n, ln))
        g1r = np.empty((n, ln))
        g1i = np.empty((n, ln))
        prr = np.empty((n, ln))
        pri = np.empty((n, ln))
        cur_r = np.empty(ln)
        cur_i = np.empty(ln)
        one_r = np.empty(ln)
        one_i = np.empty(ln)
        kabr = np.empty(ln)
        kabi = np.empty(ln)
        kbar = np.empty(ln)
        kbai = np.empty(ln)
        inw = np.empty(ln)
        big = np.empty(ln)
        mm2 = np.empty(ln)
        for j in range(ln):
            mm2[j] = j - kb
        sc = 2.0 / (t_per[a] * t_per[b])
        r = kb
        for m1 in range(ka + 1):
            j0 = kb - r
            j1 = kb + r + 1
            nj = j1 - j0
            nodes[t] += nj if m1 > 0 else r + 1
            s1 = complex(c[a], m1 * ha)
            in_row = 4 * m1 <= 3 * ka
            for j in range(j0, j1):
                m2 = j - kb
                s2 = complex(c[b], m2 * hb)
                wgt = 1.0
                if m1 == 0:
                    wgt = 0.0 if m2 < 0 else (0.5 if m2 == 0 else 1.0)
                kab = wgt * sc / (s1 * s2 * s2)
                kba = wgt * sc / (s1 * s1 * s2)
                kabr[j] = kab.real
                kabi[j] = kab.imag
                kbar[j] = kba.real
                kbai[j] = kba.imag
                inw[j] = 1.0 if (in_row and 4 * abs(m2) <= 3 * r) else 0.0
                cur_r[j] = 1.0
                cur_i[j] = 0.0
                one_r[j] = 0.0
                one_i[j] = 0.0
                big[j] = 0.0
            vm2 = mm2[j0:j1]
            vcr = cur_r[j0:j1]
            vci = cur_i[j0:j1]
            vor = one_r[j0:j1]
            voi = one_i[j0:j1]
            nsmall = 0
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
                vphr = phr[i, j0:j1]
                vphi = phi_[i, j0:j1]
                vg1r = g1r[i, j0:j1]
                vg1i = g1i[i, j0:j1]
                vprr = prr[i, j0:j1]
                vpri = pri[i, j0:j1]
                for j in range(nj):
                    cb = tcb[j]
                    sb = tsb[j]
                    cosb = ca1 * cb - sa1 * sb
                    sinb = sa1 * cb + ca1 * sb
                    beta = b1 + vm2[j] * tb
                    sr = shi * cosb
                    si = chi * sinb
                    cr = chi * cosb
                    ci = shi * sinb
                    r2 = ali * ali + beta * beta
                    small = r2 <= 1e-6
                    nsmall += small
                    inv = 1.0 / max(r2, 1e-6)  # finite for the small ones, which are redone below
                    izr = ali * inv
                    izi = -beta * inv
                    fr = sr * izr - si * izi
                    fi = sr * izi + si * izr
                    dr = cr - fr
                    di = ci - fi
                    gr = dr * izr - di * izi
                    gi = dr * izi + di * izr
                    vphr[j] = fr
                    vphi[j] = fi
                    vg1r[j] = gr
                    vg1i[j] = gi
                    xr = vcr[j]
                    xi = vci[j]
                    vprr[j] = xr
                    vpri[j] = xi
                    vor[j] += fr
                    voi[j] += fi
                    ffr = q + p * fr
                    ffi = p * fi
                    vcr[j] = xr * ffr - xi * ffi
                    vci[j] = xr * ffi + xi * ffr
                if nsmall > 0:  # |z| < 1e-3 (rare): the series, and the prefix products from here on
                    nsmall = 0
                    for j in range(nj):
                        beta = b1 + vm2[j] * tb
                        if ali * ali + beta * beta <= 1e-6:
                            # phi = 1 + z^2/6 + z^4/120, g1 = z/3 + z^3/30 + z^5/840
                            z2r = ali * ali - beta * beta
                            z2i = 2.0 * ali * beta
                            z4r = z2r * z2r - z2i * z2i
                            z4i = 2.0 * z2r * z2i
                            fr = 1.0 + z2r / 6.0 + z4r / 120.0
                            fi = z2i / 6.0 + z4i / 120.0
                            ur = 1.0 / 3.0 + z2r / 30.0 + z4r / 840.0
                            ui = z2i / 30.0 + z4i / 840.0
                            vor[j] += fr - vphr[j]
                            voi[j] += fi - vphi[j]
                            vphr[j] = fr
                            vphi[j] = fi
                            vg1r[j] = ali * ur - beta * ui
                            vg1i[j] = ali * ui + beta * ur
                            xr = vprr[j]
                            xi = vpri[j]
                            ffr = q + p * fr
                            ffi = p * fi
                            vcr[j] = xr * ffr - xi * ffi
                            vci[j] = xr * ffi + xi * ffr
            for j in range(j0, j1):  # the running suffix product
                cur_r[j] = 1.0
                cur_i[j] = 0.0
            vkabr = kabr[j0:j1]
            vkabi = kabi[j0:j1]
            vkbar = kbar[j0:j1]
            vkbai = kbai[j0:j1]
            vin = inw[j0:j1]
            vbig = big[j0:j1]
            for i in range(n - 1, -1, -1):
                vphr = phr[i, j0:j1]
                vphi = phi_[i, j0:j1]
                vg1r = g1r[i, j0:j1]
                vg1i = g1i[i, j0:j1]
                vprr = prr[i, j0:j1]
                vpri = pri[i, j0:j1]
                s_ab0 = 0.0
                s_ab1 = 0.0
                s_ba0 = 0.0
                s_ba1 = 0.0
                for j in range(nj):
                    fr = vphr[j]
                    fi = vphi[j]
                    xr = vcr[j]
                    xi = vci[j]
                    rr = vprr[j] * xr - vpri[j] * xi - q1j - q2j * (vor[j] - fr)
                    ri = vprr[j] * xi + vpri[j] * xr - q2j * (voi[j] - fi)
                    hr_ = p * (vg1r[j] * rr - vg1i[j] * ri)
                    hi_ = p * (vg1r[j] * ri + vg1i[j] * rr)
                    vab = vkabr[j] * hr_ - vkabi[j] * hi_
                    vba = vkbar[j] * hr_ - vkbai[j] * hi_
                    s_ab0 += vab
                    s_ba0 += vba
                    s_ab1 += vab * vin[j]
                    s_ba1 += vba * vin[j]
                    vbig[j] = max(vbig[j], abs(vab), abs(vba))
                    ffr = q + p * fr
                    ffi = p * fi
                    vcr[j] = xr * ffr - xi * ffi
                    vci[j] = xr * ffi + xi * ffr
                dab[t, i, 0] += s_ab0
                dab[t, i, 1] += s_ab1
                dba[t, i, 0] += s_ba0
                dba[t, i, 1] += s_ba1
            if thr > 0.0:
                last = -1
                for j in range(j0, j1):
                    if big[j] > thr and abs(j - kb) > last:
                        last = abs(j - kb)
                r = min(r, last + max(2, r // 4))
    return dab, dba, nodes
