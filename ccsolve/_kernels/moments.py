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
    thr <= 0 gives the full box. The reduced sum (second column) uses m1 <= 3 K_a / 4, |m2| <= 3 r(m1) / 4."""
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
def one_dim_fast(w_in, p, c, t_per, k_max, tc, ts, kmin):
    """Same sums as one_dim, with sinh/cosh(s w_i) from the cached trig tables (trig_tables, m >= 0 half)
    and sinh/cosh of the real part once per neuron instead of a complex exp per factor.

    kmin = 2: the measure without the strata k = 0, 1 (as one_dim); kmin = 3: also without k = 2 (its
    transform is p^2 (1-p)^(n-2) e_2(phi), e_2 = ((sum phi)^2 - sum phi^2) / 2, removed the same way; for the
    cross moments, the other n - 1 coordinates lose their strata 0 and 1)."""
    d, n = w_in.shape
    k_tab = (tc.shape[2] - 1) // 2
    kk = k_max.max()
    out_relu = np.zeros((d, 2))
    out_sq = np.zeros((d, 2))
    out_x = np.zeros((d, n, 2))
    out_rx = np.zeros((d, n, 2))
    tail = np.zeros((d, kk + 1))
    q0 = (1.0 - p) ** n
    q1 = p * (1.0 - p) ** (n - 1)
    q1j = (1.0 - p) ** (n - 1)
    q2 = p * p * (1.0 - p) ** (n - 2) if kmin >= 3 else 0.0
    q2j = p * (1.0 - p) ** (n - 2) if kmin >= 3 else 0.0
    for a in prange(d):
        h = 2.0 * np.pi / t_per[a]
        f = np.empty(n, dtype=np.complex128)
        shz = np.empty(n, dtype=np.complex128)
        chz = np.empty(n, dtype=np.complex128)
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
                shz[i] = complex(sha[i] * cb, cha[i] * sb)
                chz[i] = complex(cha[i] * cb, sha[i] * sb)
                beta = m * h * w_in[a, i]
                r2 = al[i] * al[i] + beta * beta
                if r2 > 1e-200:
                    sh = shz[i] * complex(al[i], -beta) / r2
                else:
                    sh = 1.0 + 0.0j
                one += sh
                two += sh * sh
                phis[i] = sh
                f[i] = (1.0 - p) + p * sh
            pre[0] = 1.0
            for i in range(n):
                pre[i + 1] = pre[i] * f[i]
            suf[n] = 1.0
            for i in range(n - 1, -1, -1):
                suf[i] = suf[i + 1] * f[i]
            hi = pre[n] - q0 - q1 * one - q2 * 0.5 * (one * one - two)
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
                rest = pre[j] * suf[j + 1] - q1j - q2j * (one - phis[j])
                base = wgt * g1s * p * rest
                g1, g2 = _g12_parts(al[j], m * h * w_in[a, j], shz[j].real, shz[j].imag,
                                    chz[j].real, chz[j].imag)
                vx = (base * g1).real
                vr = (base * g2).real
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
