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
    """Per neuron a, with s_m = c_a + i m h_a, h_a = 2 pi / T_a, m = 0..k_max[a] (halved weight at m = 0):

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
    """For each pair (a, b): (1/(T_a T_b)) sum over the lattice s = (c_a + i m1 h_a, c_b + i m2 h_b),
    |m1| <= K_a, |m2| <= K_b, of H(s) / (s1^2 s2^2), H = E_high[e^{s1 U + s2 V}] (conjugate half summed
    twice). Returns (n_pairs, 2): the box (K_a, K_b) and the reduced box (3 K_a // 4, 3 K_b // 4)."""
    d, n = w_in.shape
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
