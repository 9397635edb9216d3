"""Exact pair integrals E_2 split into two passes (private; used by ccsolve.exact_objective's projected
evaluation, issue 13). Same formulas as pairs.py (derivation there and in docs/math.md).

The variable-projection step needs, for a fixed W_in, first the moments of the pair stratum (which do
not depend on W_out) to solve for the readout W_out, then the value and the W_in gradient at that
readout. pairs.pair_blocks(grad=True) computes everything at once; here

  mom=True   only the moments: gh (sum of H_ab = w_a^T Mom_ab w_b), ap, bm (as pair_blocks);
  grad=True  only the value 4 E_ij and d(sum 4 E_ij)/dW_in (gwin) for the given W_out,

so each pass skips the other's accumulations (pairs.pair_blocks is kept unchanged: it is the oracle in
tests/test_fast_exact.py).

Determinism: fixed contiguous blocks of pairs (independent of the thread count), per-block accumulators
summed in block order by the caller.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from .pairs import cumulative, octant_table, tau
from .parallel import PRANGE_ONLY

_FAST = {"reassoc", "contract"}


@njit(cache=True, fastmath=_FAST)
def _pair_split(i, j, w_in_t, gram, cw_pos, cw_neg, cum, mom, grad,
                key, raw, order, ts, wa, wb, cs0, cs1, cs2, ce0, ce1, ce2, u0, u1, vs0, vs1, xe0, xe1, grow, tw,
                gh, ap, bm, gwin):
    """mom: add this pair's moments into gh, ap, bm (returns 0). grad: return quad - 2 cross (the
    W-dependent part of 4 E_ij; the label constant is added by the caller) and add its W_in gradient
    into gwin."""
    d = w_in_t.shape[1]
    tot = cum[8, 0]
    nv = 0
    for a in range(d):
        x = w_in_t[i, a]
        y = w_in_t[j, a]
        if x != 0.0 or y != 0.0:
            key[nv] = tau(y, -x)
            raw[nv] = a
            nv += 1
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
        vs0[r] = cs0[r] * a1 + cs1[r] * b1
        vs1[r] = cs1[r] * a1 + cs2[r] * b1
        xe0[r] = ce0[r] * a1 + ce1[r] * b1
        xe1[r] = ce1[r] * a1 + ce2[r] * b1
    quad = 0.0
    split = 0
    for r in range(nv):
        a = order[r]
        a1 = wa[r]
        b1 = wb[r]
        mss = ce0[r] - cs0[r]
        mst = ce1[r] - cs1[r]
        mtt = ce2[r] - cs2[r]
        if split < r + 1:
            split = r + 1
        while split < nv and ts[split] - ts[r] <= 4.0:
            split += 1
        x0 = xe0[r]
        x1 = xe1[r]
        s0 = cs0[r] + tot
        s1 = cs1[r]
        s2 = cs2[r] + tot
        y0 = s0 * a1 + s1 * b1
        y1 = s1 * a1 + s2 * b1
        if mom:
            gh[a, a] += a1 * (mss * a1 + mst * b1) + b1 * (mst * a1 + mtt * b1)
            for s in range(r + 1, split):
                gh[a, order[s]] += x0 * wa[s] + x1 * wb[s] - a1 * vs0[s] - b1 * vs1[s]
            for s in range(split, nv):
                gh[a, order[s]] += a1 * xe0[s] + b1 * xe1[s] - y0 * wa[s] - y1 * wb[s]
        if grad:
            gaa = gram[a, a]
            quad += gaa * (a1 * (mss * a1 + mst * b1) + b1 * (mst * a1 + mtt * b1))
            u0[r] += gaa * (mss * a1 + mst * b1)
            u1[r] += gaa * (mst * a1 + mtt * b1)
            for s in range(r + 1, nv):
                grow[s] = gram[a, order[s]]
            aw0 = 0.0
            aw1 = 0.0
            av0 = 0.0
            av1 = 0.0
            bx0 = 0.0
            bx1 = 0.0
            bw0 = 0.0
            bw1 = 0.0
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
            e0 = ce0[r]
            e1 = ce1[r]
            e2 = ce2[r]
            u0[r] += e0 * aw0 + e1 * aw1 - av0 + bx0 - (s0 * bw0 + s1 * bw1)
            u1[r] += e1 * aw0 + e2 * aw1 - av1 + bx1 - (s1 * bw0 + s2 * bw1)
            quad += 2.0 * (x0 * aw0 + x1 * aw1 - a1 * av0 - b1 * av1 + a1 * bx0 + b1 * bx1 - y0 * bw0 - y1 * bw1)
    if grad:
        for r in range(nv):
            u0[r] += (tw[0, r] - (cs0[r] * tw[2, r] + cs1[r] * tw[3, r])
                      + (ce0[r] * tw[4, r] + ce1[r] * tw[5, r]) - tw[6, r])
            u1[r] += (tw[1, r] - (cs1[r] * tw[2, r] + cs2[r] * tw[3, r])
                      + (ce1[r] * tw[4, r] + ce2[r] * tw[5, r]) - tw[7, r])
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
            m0 = mss * a1 + mst * b1
            m1 = mst * a1 + mtt * b1
            if mom:
                bm[i, a] += m0
                bm[j, a] += m1
                if s_pos:
                    ap[i, a] += m0
                if t_pos:
                    ap[j, a] += m1
            if grad:
                ci = cw_pos[i, a] if s_pos else cw_neg[i, a]
                cj = cw_pos[j, a] if t_pos else cw_neg[j, a]
                cross += m0 * ci + m1 * cj
                v0 += mss * ci + mst * cj
                v1 += mst * ci + mtt * cj
        if grad:
            gwin[a, i] += 2.0 * (u0[r] - v0)
            gwin[a, j] += 2.0 * (u1[r] - v1)
    return quad - 2.0 * cross


@njit(cache=True, parallel=PRANGE_ONLY)
def pair_split_blocks(w_in_t, gram, cw_pos, cw_neg, pi_, pj_, block_starts, mom, grad):
    """Per block: vals (B,) = sum over the block's pairs of (quad - 2 cross) (zero unless grad), and
    gh (B, d, d) (symmetric), ap, bm (B, n, d) (zero-size unless mom), gwin (B, d, n) (zero-size unless grad).
    Arrays as pairs.pair_blocks."""
    n, d = w_in_t.shape
    n_blocks = block_starts.shape[0] - 1
    md = d if mom else 0
    mn = n if mom else 0
    gd = d if grad else 0
    gn = n if grad else 0
    vals = np.zeros(n_blocks)
    gh = np.zeros((n_blocks, md, md))
    ap = np.zeros((n_blocks, mn, md))
    bm = np.zeros((n_blocks, mn, md))
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
        ghb = gh[blk] if mom else np.zeros((1, 1))
        apb = ap[blk] if mom else np.zeros((1, 1))
        bmb = bm[blk] if mom else np.zeros((1, 1))
        gwb = gwin[blk] if grad else np.zeros((1, 1))
        acc = 0.0
        for p in range(block_starts[blk], block_starts[blk + 1]):
            acc += _pair_split(pi_[p], pj_[p], w_in_t, gram, cw_pos, cw_neg, cum, mom, grad,
                               key, raw, order, ts, wa, wb, cs0, cs1, cs2, ce0, ce1, ce2, u0, u1,
                               vs0, vs1, xe0, xe1, grow, tw, ghb, apb, bmb, gwb)
        vals[blk] = acc
        if mom:
            for a in range(d):
                for b in range(a + 1, d):
                    v = ghb[a, b] + ghb[b, a]
                    ghb[a, b] = v
                    ghb[b, a] = v
    return vals, gh, ap, bm, gwin
