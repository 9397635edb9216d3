"""Fixed-sample Monte Carlo tail of the stratified objective, value and gradient (private).

Called by ccsolve.exact_objective. The samples (k active features, values U[-1, 1]) are drawn once
(`draw_stratum`) and reused at every evaluation (common random numbers), so the tail term is a
deterministic, piecewise-smooth function of the weights with an exact gradient.

Per sample with active entries (idx_j, t_j), h = ReLU(W_in x), y = r + M x, r = ReLU(x), e = W_out h - y:
  f = h^T G h - 2 h^T W_out^T y + |y|^2                       (G = W_out^T W_out, no n-vector formed)
  df/dW_in[a, idx_j] = 2 (W_out^T e)_a t_j   for h_a > 0       (W_out^T e = G h - W_out^T y)
  df/dW_out = 2 (W_out h h^T - r h^T - M x h^T)              (accumulated as H, RH, XH; caller finishes)
Layout as in montecarlo.py: w_in_t (n, d) = W_in^T, w_out (n, d), gram (d, d), mt_wout (n, d) = M^T W_out,
m_t (n, n) = M^T, mtm (n, n) = M^T M.

Determinism: samples are split into a fixed number of contiguous blocks (independent of the thread
count), each with its own accumulators, summed in block order by the caller.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from .parallel import PRANGE_ONLY
from .rng import below, uniform_pm1


@njit(cache=True, parallel=PRANGE_ONLY)
def draw_stratum(n, k, chunk_sizes, seeds):
    """idx (S, k) distinct features (uniform k-subsets) and val (S, k) U[-1, 1), S = sum(chunk_sizes).

    Chunk c uses the SplitMix64 seed seeds[c] (partial Fisher-Yates on a permutation kept across the
    chunk's samples: any permutation is a valid start).
    """
    n_chunks = chunk_sizes.shape[0]
    starts = np.zeros(n_chunks + 1, dtype=np.int64)
    for c in range(n_chunks):
        starts[c + 1] = starts[c] + chunk_sizes[c]
    idx = np.empty((starts[n_chunks], k), dtype=np.int64)
    val = np.empty((starts[n_chunks], k))
    for c in prange(n_chunks):
        state = np.empty(1, dtype=np.uint64)
        state[0] = seeds[c]
        perm = np.arange(n)
        for s in range(starts[c], starts[c + 1]):
            for j in range(k):
                r = j + below(state, n - j)
                tmp = perm[j]
                perm[j] = perm[r]
                perm[r] = tmp
                idx[s, j] = perm[j]
                val[s, j] = uniform_pm1(state)
    return idx, val


@njit(cache=True, parallel=PRANGE_ONLY)
def tail_blocks(w_in_t, w_out, gram, mt_wout, m_t, mtm, idx, val, kk, wt, block_starts, grad):
    """sum_s wt[s] f_s over the samples s (rows of idx/val, kk[s] active entries) and gradient pieces.

    Returns per block: vals (B,), and (zero-size unless grad)
      gin_t (B, n, d)  sum_s wt_s df_s/dW_in^T
      hh    (B, d, d)  sum_s wt_s h h^T
      rh    (B, n, d)  sum_s wt_s r h^T
      xh    (B, n, d)  sum_s wt_s x h^T
    """
    n, d = w_in_t.shape
    n_blocks = block_starts.shape[0] - 1
    gd = d if grad else 0
    gn = n if grad else 0
    vals = np.zeros(n_blocks)
    gin_t = np.zeros((n_blocks, gn, gd))
    hh = np.zeros((n_blocks, gd, gd))
    rh = np.zeros((n_blocks, gn, gd))
    xh = np.zeros((n_blocks, gn, gd))
    for b in prange(n_blocks):
        h = np.empty(d)
        act = np.empty(d, dtype=np.int64)
        c = np.empty(d)
        q = np.empty(d)
        acc = 0.0
        for s in range(block_starts[b], block_starts[b + 1]):
            k = kk[s]
            ws = wt[s]
            for a in range(d):
                h[a] = 0.0
                c[a] = 0.0
            for j in range(k):
                row = idx[s, j]
                t = val[s, j]
                for a in range(d):
                    h[a] += w_in_t[row, a] * t
                    c[a] += mt_wout[row, a] * t  # W_out^T M x
                if t > 0.0:
                    for a in range(d):
                        c[a] += w_out[row, a] * t  # W_out^T r
            na = 0
            for a in range(d):
                if h[a] > 0.0:
                    act[na] = a
                    na += 1
                else:
                    h[a] = 0.0
            f = 0.0
            for u in range(na):
                au = act[u]
                sg = 0.0
                for v in range(na):
                    sg += gram[au, act[v]] * h[act[v]]
                q[au] = sg - c[au]
                f += h[au] * (sg - 2.0 * c[au])
            yy = 0.0
            for j in range(k):
                row = idx[s, j]
                t = val[s, j]
                if t > 0.0:
                    yy += t * t
                for l in range(k):
                    tl = val[s, l]
                    yy += t * mtm[row, idx[s, l]] * tl
                    if tl > 0.0:
                        yy += 2.0 * t * m_t[row, idx[s, l]] * tl
            f += yy
            acc += ws * f
            if grad:
                for j in range(k):
                    row = idx[s, j]
                    t = val[s, j]
                    g = 2.0 * ws * t
                    for u in range(na):
                        au = act[u]
                        gin_t[b, row, au] += g * q[au]
                        xh[b, row, au] += ws * t * h[au]
                    if t > 0.0:
                        for u in range(na):
                            au = act[u]
                            rh[b, row, au] += ws * t * h[au]
                for u in range(na):
                    au = act[u]
                    hu = ws * h[au]
                    for v in range(na):
                        hh[b, au, act[v]] += hu * h[act[v]]
        vals[b] = acc
    return vals, gin_t, hh, rh, xh
