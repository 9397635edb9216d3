"""Exact pair integrals E_2 (private; called by ccsolve.stratified). Derivation: docs/math.md.

For features i < j active at values (s, t) ~ U[-1, 1]^2 (density 1/4), with w_a = (W_in[a, i], W_in[a, j]),
h_a = ReLU(w_a . (s, t)) is non-zero on the half-plane (an arc of angles of length pi) centred on
phi_a = atan2(w_a). Writing y_i^+ = e_i + M_i, y_i^- = M_i (M_i the column i of M) and
c_i^+- = W_out^T y_i^+-, the squared error integrates to

  4 E_ij = sum_ab G_ab w_a^T Mom(arc_a & arc_b) w_b - 2 sum_a sum_q w_a^T Mom(arc_a & Q_q) (c_i^q[a], c_j^q[a])
           + sum_q [Mom_q,ss |y_i^q|^2 + 2 Mom_q,st y_i^q . y_j^q + Mom_q,tt |y_j^q|^2]

with G = W_out^T W_out, Q_q the four quadrants (q selects the sign of s and t, hence y^+ or y^-) and
Mom(A) = the integral of (s^2, s t, t^2) over the cone A cut by the square [-1, 1]^2. The intersection of
two half-planes through the origin is a single wedge, so every Mom is a difference of the cumulative
moment C(theta) (closed form: triangles from the origin to the square's sides).

Determinism: the pairs are split into a fixed number of contiguous blocks (independent of the thread
count); gradient accumulators are per block and summed in block order by the caller.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

TWO_PI = 2.0 * np.pi
HALF_PI = 0.5 * np.pi
EIGHTH = 0.25 * np.pi

# Corners of the square at angles o * pi/4, o = 0..8 (octant o lies on one side of the square).
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
    """Cumulative moments at the corners: cum[o] = moments of the angles [0, o pi/4], o = 0..8."""
    cum = np.zeros((9, 3))
    for o in range(8):
        a, b, c = _tri(_CX[o], _CY[o], _CX[o + 1], _CY[o + 1])
        cum[o + 1, 0] = cum[o, 0] + a
        cum[o + 1, 1] = cum[o, 1] + b
        cum[o + 1, 2] = cum[o, 2] + c
    return cum


@njit(cache=True)
def cumulative(theta, cum):
    """C(theta): moments (s^2, s t, t^2) of {r (cos, sin)(phi) in the square : 0 <= phi <= theta}.

    Any real theta: C(theta + 2 pi) = C(theta) + C(2 pi).
    """
    m = np.floor(theta / TWO_PI)
    th = theta - m * TWO_PI
    o = int(th / EIGHTH)
    if o > 7:
        o = 7
    if o < 0:
        o = 0
    c = np.cos(th)
    s = np.sin(th)
    r = max(abs(c), abs(s))
    a, b, d = _tri(_CX[o], _CY[o], c / r, s / r)
    return (m * cum[8, 0] + cum[o, 0] + a, m * cum[8, 1] + cum[o, 1] + b, m * cum[8, 2] + cum[o, 2] + d)


@njit(cache=True, inline="always")
def _arc(a0, a1, cum):
    x0, y0, z0 = cumulative(a0, cum)
    x1, y1, z1 = cumulative(a1, cum)
    return x1 - x0, y1 - y0, z1 - z0


@njit(cache=True)
def _pair(i, j, w_in_t, gram, cw_pos, cw_neg, yy_pp, yy_pm, yy_mp, yy_mm, cum, grad,
          phi, valid, cs, ce, order, key, u, gh, ap, bm, gwin):
    """4 E_ij (the integral of the squared error over the square) for features i != j.

    With grad: adds d(4 E_ij)/d... pieces into gh (d, d) = sum H, ap/bm (n, d), gwin (d, n); see pair_blocks.
    """
    d = w_in_t.shape[1]
    tot = cum[8, 0]  # = cum[8, 2]; cum[8, 1] = 0 (symmetry)
    for a in range(d):
        wa = w_in_t[i, a]
        wb = w_in_t[j, a]
        valid[a] = wa != 0.0 or wb != 0.0
        if valid[a]:
            ph = np.arctan2(wb, wa)
            phi[a] = ph
            x, y, z = cumulative(ph - HALF_PI, cum)
            cs[a, 0] = x
            cs[a, 1] = y
            cs[a, 2] = z
            x, y, z = cumulative(ph + HALF_PI, cum)
            ce[a, 0] = x
            ce[a, 1] = y
            ce[a, 2] = z
        if grad:
            u[a, 0] = 0.0
            u[a, 1] = 0.0
    # Quadratic term: sum_ab G_ab w_a^T Mom(arc_a & arc_b) w_b. With the neurons sorted by phi, for
    # a before b (0 <= phi_b - phi_a < 2 pi) the wedge where both are on is [start_b, end_a] if
    # phi_b - phi_a <= pi, else [start_a, end_b - 2 pi]: no branch inside the two inner loops.
    nv = 0
    for a in range(d):
        if valid[a]:
            order[nv] = a
            key[nv] = phi[a]
            nv += 1
    srt = np.argsort(key[:nv])
    for r in range(nv):
        key[r] = order[srt[r]]
    for r in range(nv):
        order[r] = int(key[r])
    quad = 0.0
    split = 0
    for r in range(nv):
        a = order[r]
        a1 = w_in_t[i, a]
        b1 = w_in_t[j, a]
        mss = ce[a, 0] - cs[a, 0]
        mst = ce[a, 1] - cs[a, 1]
        mtt = ce[a, 2] - cs[a, 2]
        ms0 = mss * a1 + mst * b1  # Mom w_a
        ms1 = mst * a1 + mtt * b1
        haa = a1 * ms0 + b1 * ms1
        quad += gram[a, a] * haa
        if grad:
            u[a, 0] += gram[a, a] * ms0
            u[a, 1] += gram[a, a] * ms1
            gh[a, a] += haa
        if split < r + 1:
            split = r + 1
        while split < nv and phi[order[split]] - phi[a] <= np.pi:
            split += 1
        ce0 = ce[a, 0]
        ce1 = ce[a, 1]
        ce2 = ce[a, 2]
        cs0 = cs[a, 0] + tot
        cs1 = cs[a, 1]
        cs2 = cs[a, 2] + tot
        acc = 0.0
        for s in range(r + 1, nv):
            b = order[s]
            if s < split:
                mss = ce0 - cs[b, 0]
                mst = ce1 - cs[b, 1]
                mtt = ce2 - cs[b, 2]
            else:
                mss = ce[b, 0] - cs0
                mst = ce[b, 1] - cs1
                mtt = ce[b, 2] - cs2
            a2 = w_in_t[i, b]
            b2 = w_in_t[j, b]
            mb0 = mss * a2 + mst * b2  # Mom w_b
            mb1 = mst * a2 + mtt * b2
            hab = a1 * mb0 + b1 * mb1
            g = gram[a, b]
            acc += g * hab
            if grad:
                u[a, 0] += g * mb0
                u[a, 1] += g * mb1
                u[b, 0] += g * (mss * a1 + mst * b1)
                u[b, 1] += g * (mst * a1 + mtt * b1)
                gh[a, b] += hab
                gh[b, a] += hab
        quad += 2.0 * acc
    # Cross term with the labels, quadrant by quadrant (q: 0 = (+,+), 1 = (-,+), 2 = (-,-), 3 = (+,-)).
    cross = 0.0
    for a in range(d):
        if not valid[a]:
            continue
        a1 = w_in_t[i, a]
        b1 = w_in_t[j, a]
        start = phi[a] - HALF_PI
        v0 = 0.0
        v1 = 0.0
        for q in range(4):
            # arc [start, start + pi] & quadrant [b0, b0 + pi/2] (mod 2 pi); every endpoint is an arc end
            # (cs, ce) or a quadrant corner (cum table), so no new C(theta) evaluations
            b0 = q * HALF_PI
            off = b0 - start
            off -= np.floor(off / TWO_PI) * TWO_PI  # in [0, 2 pi)
            k0 = np.floor((start + off - b0) / TWO_PI + 0.5)
            mss = 0.0
            mst = 0.0
            mtt = 0.0
            if off < np.pi:
                if off + HALF_PI <= np.pi:
                    mss += cum[2 * q + 2, 0] - cum[2 * q, 0]
                    mst += cum[2 * q + 2, 1] - cum[2 * q, 1]
                    mtt += cum[2 * q + 2, 2] - cum[2 * q, 2]
                else:
                    mss += ce[a, 0] - cum[2 * q, 0] - k0 * tot
                    mst += ce[a, 1] - cum[2 * q, 1]
                    mtt += ce[a, 2] - cum[2 * q, 2] - k0 * tot
            if off + HALF_PI > TWO_PI:
                mss += cum[2 * q + 2, 0] + (k0 - 1.0) * tot - cs[a, 0]
                mst += cum[2 * q + 2, 1] - cs[a, 1]
                mtt += cum[2 * q + 2, 2] + (k0 - 1.0) * tot - cs[a, 2]
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
            gwin[a, i] += 2.0 * (u[a, 0] - v0)
            gwin[a, j] += 2.0 * (u[a, 1] - v1)
    # Label term: quadrant moments are (1/3, +-1/4, 1/3).
    const = 0.0
    for q in range(4):
        st = 0.25 if (q == 0 or q == 2) else -0.25
        if q == 0:
            yi, yj, yij = yy_pp[i, i], yy_pp[j, j], yy_pp[i, j]
        elif q == 1:
            yi, yj, yij = yy_mm[i, i], yy_pp[j, j], yy_mp[i, j]
        elif q == 2:
            yi, yj, yij = yy_mm[i, i], yy_mm[j, j], yy_mm[i, j]
        else:
            yi, yj, yij = yy_pp[i, i], yy_mm[j, j], yy_pm[i, j]
        const += (yi + yj) / 3.0 + 2.0 * st * yij
    return quad - 2.0 * cross + const


@njit(cache=True, parallel=True)
def pair_blocks(w_in_t, gram, cw_pos, cw_neg, yy_pp, yy_pm, yy_mp, yy_mm, pi_, pj_, block_starts, grad):
    """Integrals 4 E_ij over the pairs (pi_[p], pj_[p]), and per-block gradient pieces.

    w_in_t (n, d) = W_in^T; gram (d, d) = W_out^T W_out; cw_pos (n, d) row i = (W_out^T (e_i + M_i));
    cw_neg (n, d) row i = W_out^T M_i; yy_pm[i, j] = y_i^+ . y_j^- etc. (n, n).
    Returns vals (n_pairs,) and, summed over the block's pairs (zeros unless grad):
      gh (blocks, d, d)  sum of H_ab = w_a^T Mom_ab w_b
      ap (blocks, n, d)  row i: sum of Mom(arc_a & Q) w_a's i-component over quadrants where feature i > 0
      bm (blocks, n, d)  the same over all quadrants
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
        phi = np.empty(d)
        valid = np.empty(d, dtype=np.bool_)
        cs = np.empty((d, 3))
        ce = np.empty((d, 3))
        order = np.empty(d, dtype=np.int64)
        key = np.empty(d)
        u = np.empty((d, 2))
        for p in range(block_starts[blk], block_starts[blk + 1]):
            vals[p] = _pair(pi_[p], pj_[p], w_in_t, gram, cw_pos, cw_neg, yy_pp, yy_pm, yy_mp, yy_mm, cum,
                            grad, phi, valid, cs, ce, order, key, u, gh[blk], ap[blk], bm[blk], gwin[blk])
    return vals, gh, ap, bm, gwin
