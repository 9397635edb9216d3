"""Monte Carlo moments for the least-squares readout at Bernoulli p (private; used by
ccsolve.constructions.optimal_readout).

Samples are drawn conditionally on k >= 2 active features: k from a table of the truncated binomial
(inverse CDF), the k distinct features by a partial Fisher-Yates shuffle of a persistent permutation
(uniform whatever the permutation it starts from), values U[-1, 1]. Chunk c owns the SplitMix64 stream
seeds[c] and its own accumulators, so the sums do not depend on the thread count.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from .parallel import PRANGE_ONLY
from .rng import below, uniform, uniform_pm1


@njit(cache=True, parallel=PRANGE_ONLY)
def moments_chunks(w_in_t, k_cdf, chunk_sizes, seeds):
    """Per-chunk sums of h h^T (d, d), h x^T (d, n) and h ReLU(x)^T (d, n), h = ReLU(W_in x).

    w_in_t  (n, d) W_in transposed; k_cdf[j] = P(k <= j + 2 | k >= 2), j = 0 .. n - 2.
    Returns arrays of shape (n_chunks, d, d), (n_chunks, d, n), (n_chunks, d, n).
    """
    n, d = w_in_t.shape
    n_chunks = chunk_sizes.shape[0]
    hh = np.zeros((n_chunks, d, d))
    hx = np.zeros((n_chunks, d, n))
    hr = np.zeros((n_chunks, d, n))
    for c in prange(n_chunks):
        state = np.empty(1, dtype=np.uint64)
        state[0] = seeds[c]
        perm = np.arange(n)
        val = np.empty(n)
        h = np.empty(d)
        act = np.empty(d, dtype=np.int64)
        for _ in range(chunk_sizes[c]):
            u = uniform(state)
            k = 2
            while k - 2 < k_cdf.shape[0] - 1 and k_cdf[k - 2] < u:
                k += 1
            for j in range(k):
                r = j + below(state, n - j)
                tmp = perm[j]
                perm[j] = perm[r]
                perm[r] = tmp
                val[j] = uniform_pm1(state)
            for a in range(d):
                h[a] = 0.0
            for j in range(k):
                i = perm[j]
                t = val[j]
                for a in range(d):
                    h[a] += w_in_t[i, a] * t
            na = 0
            for a in range(d):
                if h[a] > 0.0:
                    act[na] = a
                    na += 1
            for u1 in range(na):
                a = act[u1]
                ha = h[a]
                for u2 in range(u1 + 1):
                    hh[c, a, act[u2]] += ha * h[act[u2]]
                for j in range(k):
                    i = perm[j]
                    t = val[j]
                    hx[c, a, i] += ha * t
                    if t > 0.0:
                        hr[c, a, i] += ha * t
        # only the lower triangle (in activation order) was accumulated: symmetrise
        for a in range(d):
            for b in range(a):
                s = hh[c, a, b] + hh[c, b, a]
                hh[c, a, b] = s
                hh[c, b, a] = s
    return hh, hx, hr
