"""Gather/scatter helpers for the fixed-sample tail in the fused projected evaluation (private; used by
ccsolve._exact_fast). Samples as in tail.py: idx (S, k_max) active features, val (S, k_max) their values,
kk (S,) the number of active entries. The dense products (H^T diag(wt) H, H G) are BLAS calls in the caller.

Determinism: gathers write disjoint rows; scatters accumulate per fixed block of samples (independent of
the thread count) and the blocks are summed in order.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from .parallel import PRANGE_ONLY


@njit(cache=True, parallel=PRANGE_ONLY)
def gather(idx, val, kk, a, b, pos_only_b):
    """out[s] = sum_j val[s, j] a[idx[s, j]] + sum_j v_j b[idx[s, j]] with v_j = max(val, 0) if pos_only_b
    else val (b may have zero rows: then skipped). a, b (n, d); out (S, d)."""
    s_n = idx.shape[0]
    d = a.shape[1]
    use_b = b.shape[0] > 0
    out = np.empty((s_n, d))  # zeroed row by row in the parallel loop (S x d can be tens of MB)
    for s in prange(s_n):
        for c in range(d):
            out[s, c] = 0.0
        for j in range(kk[s]):
            row = idx[s, j]
            t = val[s, j]
            for c in range(d):
                out[s, c] += t * a[row, c]
            if use_b:
                tb = t
                if pos_only_b and t < 0.0:
                    tb = 0.0
                if tb != 0.0:
                    for c in range(d):
                        out[s, c] += tb * b[row, c]
    return out


@njit(cache=True, parallel=PRANGE_ONLY)
def scatter(idx, val, kk, q, n, block_starts, with_pos):
    """xq[i] = sum over samples and entries with idx = i of val * q[s]; with_pos also rq (val > 0 only).
    Returns (xq (n, d), rq (n, d) or (0, d))."""
    d = q.shape[1]
    n_blocks = block_starts.shape[0] - 1
    xb = np.empty((n_blocks, n, d))  # each block zeroes its own part in the parallel loop
    rn = n if with_pos else 0
    rb = np.empty((n_blocks, rn, d))
    for b in prange(n_blocks):
        xb[b] = 0.0
        rb[b] = 0.0
        for s in range(block_starts[b], block_starts[b + 1]):
            for j in range(kk[s]):
                row = idx[s, j]
                t = val[s, j]
                for c in range(d):
                    xb[b, row, c] += t * q[s, c]
                if with_pos and t > 0.0:
                    for c in range(d):
                        rb[b, row, c] += t * q[s, c]
    xq = np.zeros((n, d))
    rq = np.zeros((rn, d))
    for b in range(n_blocks):
        xq += xb[b]
        if with_pos:
            rq += rb[b]
    return xq, rq
