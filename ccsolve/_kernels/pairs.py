"""Exact pair integrals E_2 (private; called by ccsolve.stratified). Derivation: docs/math.md.

For features i < j active at values (s, t) ~ U[-1, 1]^2 (density 1/4), with w_a = (W_in[a, i], W_in[a, j]),
h_a = ReLU(w_a . (s, t)) is non-zero on a half-plane: a cone of angles of width pi. Writing
y_i^+ = e_i + M_i, y_i^- = M_i (M_i the column i of M) and c_i^+- = W_out^T y_i^+-, the squared error
integrates to

  4 E_ij = sum_ab G_ab w_a^T Mom(on_a & on_b) w_b - 2 sum_a sum_q w_a^T Mom(on_a & Q_q) (c_i^q[a], c_j^q[a])
           + sum_q [Mom_q,ss |y_i^q|^2 + 2 Mom_q,st y_i^q . y_j^q + Mom_q,tt |y_j^q|^2]

with G = W_out^T W_out, Q_q the four quadrants (q fixes the signs of s and t, hence y^+ or y^-) and
Mom(A) the integral of (s^2, s t, t^2) over the cone A cut by the square [-1, 1]^2. Two half-planes
through the origin meet in one wedge, so every Mom is a difference of the cumulative moment C.

Angles are represented without trigonometry by the perimeter coordinate tau in [0, 8): the arc length
along the square's boundary from (1, 0), counter-clockwise. It is monotone in the angle, octant o is
tau in [o, o + 1) (one side of the square), opposite directions differ by 4, and C(tau) is a sum of
triangle moments with the origin as a vertex.

Determinism: the pairs are split into a fixed number of contiguous blocks (independent of the thread
count); gradient accumulators are per block and summed in block order by the caller.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from .parallel import PRANGE_ONLY

# reassoc lets LLVM vectorise the reductions (deterministic for a given build; inputs are finite)
_FAST = {"reassoc", "contract"}

# Corners of the square at tau = 0..8 (octant o lies between corners o and o + 1).
_CX = np.array([1.0, 1.0, 0.0, -1.0, -1.0, -1.0, 0.0, 1.0, 1.0])
_CY = np.array([0.0, 1.0, 1.0, 1.0, 0.0, -1.0, -1.0, -1.0, 0.0])


@njit(cache=True, inline="always")
def _tri(p1x, p1y, p2x, p2y):
    """Integral of (s^2, s t, t^2) over the triangle (0, P1, P2), signed by its orientation."""
    f = (p1x * p2y - p1y * p2x) / 12.0  # area / 6
    return (
        f * (p1x * p1x + p2x * p2x + p1x * p2x),
        f * (p1x * p1y + p2x * p2y + 0.5 * (p1x * p2y + p1y * p2x)),
        f * (p1y * p1y + p2y * p2y + p1y * p2y),
    )


@njit(cache=True)
def octant_table():
    """Cumulative moments at the corners: cum[o] = moments of the cone tau in [0, o], o = 0..8."""
    cum = np.zeros((9, 3))
    for o in range(8):
        a, b, c = _tri(_CX[o], _CY[o], _CX[o + 1], _CY[o + 1])
        cum[o + 1, 0] = cum[o, 0] + a
        cum[o + 1, 1] = cum[o, 1] + b
        cum[o + 1, 2] = cum[o, 2] + c
    return cum


@njit(cache=True, inline="always")
def tau(x, y):
    """Perimeter coordinate in [0, 8) of the direction (x, y) != 0."""
    ax = abs(x)
    ay = abs(y)
    if ax >= ay:
        if x > 0.0:
            r = y / ax
            return r if r >= 0.0 else 8.0 + r
        return 4.0 - y / ax
    if y > 0.0:
        return 2.0 - x / ay
    return 6.0 + x / ay


@njit(cache=True)
def cumulative(t, cum):
    """C(tau): moments (s^2, s t, t^2) over the directions with perimeter coordinate in [0, t].

    Any real t: C(t + 8) = C(t) + C(8).
    """
    m = np.floor(t / 8.0)
    t0 = t - 8.0 * m
    o = int(t0)
    if o > 7:
        o = 7
    if o < 0:
        o = 0
    if o == 0:
        px, py = 1.0, t0
    elif o <= 2:
        px, py = 2.0 - t0, 1.0
    elif o <= 4:
        px, py = -1.0, 4.0 - t0
    elif o <= 6:
        px, py = t0 - 6.0, -1.0
    else:
        px, py = 1.0, t0 - 8.0
    a, b, d = _tri(_CX[o], _CY[o], px, py)
    return (m * cum[8, 0] + cum[o, 0] + a, m * cum[8, 1] + cum[o, 1] + b, m * cum[8, 2] + cum[o, 2] + d)


@njit(cache=True, fastmath=_FAST)
def _pair(i, j, w_in_t, gram, cw_pos, cw_neg, yy_pp, yy_pm, yy_mp, yy_mm, cum, grad,
          key, raw, order, ts, wa, wb, cs0, cs1, cs2, ce0, ce1, ce2, u0, u1, vs0, vs1, xe0, xe1, grow, tw,
          gh, ap, bm, gwin):
    """4 E_ij (the integral of the squared error over the square) for features i != j.

    With grad: adds this pair's pieces into gh (d, d), ap/bm (n, d), gwin (d, n); see pair_blocks.
    Work arrays (length d) hold the neurons with w_a != 0 sorted by the start of their half-plane.
    """
    d = w_in_t.shape[1]
    tot = cum[8, 0]  # = cum[8, 2]; cum[8, 1] = 0 by symmetry
    nv = 0
    for a in range(d):
        x = w_in_t[i, a]
        y = w_in_t[j, a]
        if x != 0.0 or y != 0.0:
            key[nv] = tau(y, -x)  # start of the half-plane w_a . (s, t) > 0 (w_a turned by -90 degrees)
            raw[nv] = a
            nv += 1
    # insertion sort by key (nv <= d is small; no allocation)
    for r in range(1, nv):
        t = key[r]
        a = raw[r]
        q = r - 1
        while q >= 0 and key[q] > t:
            key[q + 1] = key[q]
            raw[q + 1] = raw[q]
            q -= 1
        key[q + 1] = t
        raw[q + 1] = a
    for r in range(nv):
        a = raw[r]
        order[r] = a
        t = key[r]
        ts[r] = t
        wa[r] = w_in_t[i, a]
        wb[r] = w_in_t[j, a]
        x, y, z = cumulative(t, cum)
        cs0[r] = x
        cs1[r] = y
        cs2[r] = z
        x, y, z = cumulative(t + 4.0, cum)
        ce0[r] = x
        ce1[r] = y
        ce2[r] = z
        u0[r] = 0.0
        u1[r] = 0.0
        if grad:
            for c in range(8):
                tw[c, r] = 0.0
        a1 = wa[r]
        b1 = wb[r]
        vs0[r] = cs0[r] * a1 + cs1[r] * b1  # CS w
        vs1[r] = cs1[r] * a1 + cs2[r] * b1
        xe0[r] = ce0[r] * a1 + ce1[r] * b1  # CE w
        xe1[r] = ce1[r] * a1 + ce2[r] * b1
    # Quadratic term: sum_ab G_ab w_a^T Mom(on_a & on_b) w_b. For r before s in the sorted order the
    # wedge where both are on is [start_s, end_r] if ts[s] - ts[r] <= 4, else [start_r, end_s - 8].
    quad = 0.0
    split = 0
    for r in range(nv):
        a = order[r]
        a1 = wa[r]
        b1 = wb[r]
        mss = ce0[r] - cs0[r]
        mst = ce1[r] - cs1[r]
        mtt = ce2[r] - cs2[r]
        haa = a1 * (mss * a1 + mst * b1) + b1 * (mst * a1 + mtt * b1)
        quad += gram[a, a] * haa
        if grad:
            u0[r] += gram[a, a] * (mss * a1 + mst * b1)
            u1[r] += gram[a, a] * (mst * a1 + mtt * b1)
            gh[a, a] += haa
        if split < r + 1:
            split = r + 1
        while split < nv and ts[split] - ts[r] <= 4.0:
            split += 1
        e0 = ce0[r]
        e1 = ce1[r]
        e2 = ce2[r]
        s0 = cs0[r] + tot
        s1 = cs1[r]
        s2 = cs2[r] + tot
        acc = 0.0
        # w_r^T (CE_r - CS_s) w_s = x_r . w_s - w_r . v_s and
        # w_r^T (CE_s - CS_r - tot) w_s = w_r . x_s - y_r . w_s with x = CE w, v = CS w, y = (CS + tot) w:
        # a few multiply-adds per neuron pair over contiguous arrays (grow holds G_rs in sorted order)
        for s in range(r + 1, nv):
            grow[s] = gram[a, order[s]]
        x0 = xe0[r]
        x1 = xe1[r]
        y0 = s0 * a1 + s1 * b1
        y1 = s1 * a1 + s2 * b1
        aw0 = 0.0
        aw1 = 0.0
        av0 = 0.0
        av1 = 0.0
        bx0 = 0.0
        bx1 = 0.0
        bw0 = 0.0
        bw1 = 0.0
        if not grad:
            for s in range(r + 1, split):
                g = grow[s]
                aw0 += g * wa[s]
                aw1 += g * wb[s]
                av0 += g * vs0[s]
                av1 += g * vs1[s]
            for s in range(split, nv):
                g = grow[s]
                bx0 += g * xe0[s]
                bx1 += g * xe1[s]
                bw0 += g * wa[s]
                bw1 += g * wb[s]
        else:
            # also: H_rs into gh (each neuron pair once; pair_blocks symmetrises) and, for the neuron s's own
            # gradient sum_r G_rs Mom_rs w_r, the sums tw[0:2] += G x_r, tw[2:4] += G w_r (unwrapped)
            # and tw[4:6] += G w_r, tw[6:8] += G y_r (wrapped), finished after the loop over r
            for s in range(r + 1, split):
                g = grow[s]
                aw0 += g * wa[s]
                aw1 += g * wb[s]
                av0 += g * vs0[s]
                av1 += g * vs1[s]
                tw[0, s] += g * x0
                tw[1, s] += g * x1
                tw[2, s] += g * a1
                tw[3, s] += g * b1
                gh[a, order[s]] += x0 * wa[s] + x1 * wb[s] - a1 * vs0[s] - b1 * vs1[s]
            for s in range(split, nv):
                g = grow[s]
                bx0 += g * xe0[s]
                bx1 += g * xe1[s]
                bw0 += g * wa[s]
                bw1 += g * wb[s]
                tw[4, s] += g * a1
                tw[5, s] += g * b1
                tw[6, s] += g * y0
                tw[7, s] += g * y1
                gh[a, order[s]] += a1 * xe0[s] + b1 * xe1[s] - y0 * wa[s] - y1 * wb[s]
            # this neuron's own sum_s G_rs Mom_rs w_s = CE_r aw - av + bx - (CS_r + tot) bw
            u0[r] += e0 * aw0 + e1 * aw1 - av0 + bx0 - (s0 * bw0 + s1 * bw1)
            u1[r] += e1 * aw0 + e2 * aw1 - av1 + bx1 - (s1 * bw0 + s2 * bw1)
        acc = x0 * aw0 + x1 * aw1 - a1 * av0 - b1 * av1 + a1 * bx0 + b1 * bx1 - y0 * bw0 - y1 * bw1
        quad += 2.0 * acc
    if grad:
        for r in range(nv):
            # sum over the earlier neurons q of G_qr Mom_qr w_q: (CE_q - CS_r) or (CE_r - CS_q - tot)
            u0[r] += (tw[0, r] - (cs0[r] * tw[2, r] + cs1[r] * tw[3, r])
                      + (ce0[r] * tw[4, r] + ce1[r] * tw[5, r]) - tw[6, r])
            u1[r] += (tw[1, r] - (cs1[r] * tw[2, r] + cs2[r] * tw[3, r])
                      + (ce1[r] * tw[4, r] + ce2[r] * tw[5, r]) - tw[7, r])
    # Cross term with the labels, quadrant by quadrant (q: 0 = (+,+), 1 = (-,+), 2 = (-,-), 3 = (+,-));
    # quadrant q is tau in [2q, 2q + 2]. Every endpoint of (arc & quadrant) is an arc end or a corner.
    cross = 0.0
    for r in range(nv):
        a = order[r]
        a1 = wa[r]
        b1 = wb[r]
        start = ts[r]
        v0 = 0.0
        v1 = 0.0
        for q in range(4):
            off = 2.0 * q - start
            k0 = 0.0
            if off < 0.0:
                off += 8.0
                k0 = 1.0
            mss = 0.0
            mst = 0.0
            mtt = 0.0
            if off < 4.0:
                if off + 2.0 <= 4.0:
                    mss += cum[2 * q + 2, 0] - cum[2 * q, 0]
                    mst += cum[2 * q + 2, 1] - cum[2 * q, 1]
                    mtt += cum[2 * q + 2, 2] - cum[2 * q, 2]
                else:
                    mss += ce0[r] - cum[2 * q, 0] - k0 * tot
                    mst += ce1[r] - cum[2 * q, 1]
                    mtt += ce2[r] - cum[2 * q, 2] - k0 * tot
            if off + 2.0 > 8.0:
                mss += cum[2 * q + 2, 0] + (k0 - 1.0) * tot - cs0[r]
                mst += cum[2 * q + 2, 1] - cs1[r]
                mtt += cum[2 * q + 2, 2] + (k0 - 1.0) * tot - cs2[r]
            s_pos = q == 0 or q == 3
            t_pos = q < 2
            ci = cw_pos[i, a] if s_pos else cw_neg[i, a]
            cj = cw_pos[j, a] if t_pos else cw_neg[j, a]
            m0 = mss * a1 + mst * b1  # Mom w_a
            m1 = mst * a1 + mtt * b1
            cross += m0 * ci + m1 * cj
            if grad:
                v0 += mss * ci + mst * cj  # Mom c
                v1 += mst * ci + mtt * cj
                bm[i, a] += m0
                bm[j, a] += m1
                if s_pos:
                    ap[i, a] += m0
                if t_pos:
                    ap[j, a] += m1
        if grad:
            # d(4 E)/dw_a = 2 (sum_b G_ab Mom_ab w_b - sum_q Mom_aq c_q)
            gwin[a, i] += 2.0 * (u0[r] - v0)
            gwin[a, j] += 2.0 * (u1[r] - v1)
    # Label term: quadrant moments are (1/3, +-1/4, 1/3).
    const = (
        (yy_pp[i, i] + yy_pp[j, j] + 1.5 * yy_pp[i, j])
        + (yy_mm[i, i] + yy_pp[j, j] - 1.5 * yy_mp[i, j])
        + (yy_mm[i, i] + yy_mm[j, j] + 1.5 * yy_mm[i, j])
        + (yy_pp[i, i] + yy_mm[j, j] - 1.5 * yy_pm[i, j])
    ) / 3.0
    return quad - 2.0 * cross + const


@njit(cache=True, parallel=PRANGE_ONLY)
def pair_blocks(w_in_t, gram, cw_pos, cw_neg, yy_pp, yy_pm, yy_mp, yy_mm, pi_, pj_, block_starts, grad):
    """Integrals 4 E_ij over the pairs (pi_[p], pj_[p]), and per-block gradient pieces.

    w_in_t (n, d) = W_in^T; gram (d, d) = W_out^T W_out; cw_pos (n, d) row i = W_out^T (e_i + M_i);
    cw_neg (n, d) row i = W_out^T M_i; yy_pm[i, j] = y_i^+ . y_j^- etc. (n, n).
    Returns vals (n_pairs,) and, summed over the block's pairs (unused and size 1 unless grad):
      gh (blocks, d, d)   sum of H_ab = w_a^T Mom_ab w_b (symmetric)
      ap (blocks, n, d)   row i: sum of (Mom(on_a & Q) w_a)_i over the quadrants where feature i > 0
      bm (blocks, n, d)   the same over all quadrants
      gwin (blocks, d, n) d(sum 4 E_ij)/dW_in
    """
    n, d = w_in_t.shape
    n_blocks = block_starts.shape[0] - 1
    n_pairs = pi_.shape[0]
    vals = np.zeros(n_pairs)
    gd = d if grad else 1
    gn = n if grad else 1
    gh = np.zeros((n_blocks, gd, gd))
    ap = np.zeros((n_blocks, gn, gd))
    bm = np.zeros((n_blocks, gn, gd))
    gwin = np.zeros((n_blocks, gd, gn))
    cum = octant_table()
    for blk in prange(n_blocks):
        key = np.empty(d)
        raw = np.empty(d, dtype=np.int64)
        order = np.empty(d, dtype=np.int64)
        ts = np.empty(d)
        wa = np.empty(d)
        wb = np.empty(d)
        cs0 = np.empty(d)
        cs1 = np.empty(d)
        cs2 = np.empty(d)
        ce0 = np.empty(d)
        ce1 = np.empty(d)
        ce2 = np.empty(d)
        u0 = np.empty(d)
        u1 = np.empty(d)
        vs0 = np.empty(d)
        vs1 = np.empty(d)
        xe0 = np.empty(d)
        xe1 = np.empty(d)
        grow = np.empty(d)
        tw = np.empty((8, d))
        for p in range(block_starts[blk], block_starts[blk + 1]):
            vals[p] = _pair(pi_[p], pj_[p], w_in_t, gram, cw_pos, cw_neg, yy_pp, yy_pm, yy_mp, yy_mm, cum,
                            grad, key, raw, order, ts, wa, wb, cs0, cs1, cs2, ce0, ce1, ce2, u0, u1,
                            vs0, vs1, xe0, xe1, grow, tw, gh[blk], ap[blk], bm[blk], gwin[blk])
        if grad:
            # _pair stores each neuron pair once; symmetrise the block's sum (H is symmetric)
            g = gh[blk]
            for a in range(d):
                for b in range(a + 1, d):
                    v = g[a, b] + g[b, a]
                    g[a, b] = v
                    g[b, a] = v
    return vals, gh, ap, bm, gwin
