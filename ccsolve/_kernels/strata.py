"""Monte Carlo conditional on the number k of active features (private; called by ccsolve.stratified).

A sample draws k distinct features uniformly (partial Fisher-Yates on a permutation that persists across
the chunk's samples: any permutation is a valid start) and k values U[-1, 1]; its squared error comes from
montecarlo._sample_error (same layout of the prepared arrays, see montecarlo.py).

Besides sum f and sum f^2 of the error f, each chunk returns sums for a control variate
g = sum over the active features of t^2 c_+-[i] (the one-hot errors of the sample's features taken
one at a time), whose conditional mean k E_1 is known exactly.

Determinism: chunk c has its own SplitMix64 seed; results depend only on the chunk layout.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from .montecarlo import _sample_error
from .rng import below, uniform_pm1


@njit(cache=True, parallel=True)
def strata_chunks(w_in_t, w_out, gram, mt_wout, m_t, mtm, c_pos, c_neg, chunk_k, chunk_sizes, seeds):
    """Per chunk: (sum f, sum f^2, sum g, sum g^2, sum f g) over chunk_sizes[c] samples with chunk_k[c] active.

    Returns an array of shape (n_chunks, 5).
    """
    n, d = w_in_t.shape
    n_chunks = chunk_sizes.shape[0]
    out = np.zeros((n_chunks, 5))
    for c in prange(n_chunks):
        state = np.empty(1, dtype=np.uint64)
        state[0] = seeds[c]
        k = chunk_k[c]
        perm = np.arange(n)
        idx = np.empty(n, dtype=np.int64)
        val = np.empty(n)
        h = np.empty(d)
        act = np.empty(d, dtype=np.int64)
        e = np.empty(n)
        s1 = 0.0
        s2 = 0.0
        g1 = 0.0
        g2 = 0.0
        fg = 0.0
        for _ in range(chunk_sizes[c]):
            g = 0.0
            for j in range(k):
                r = j + below(state, n - j)
                tmp = perm[j]
                perm[j] = perm[r]
                perm[r] = tmp
                f = perm[j]
                t = uniform_pm1(state)
                idx[j] = f
                val[j] = t
                g += t * t * (c_pos[f] if t > 0.0 else c_neg[f])
            err = _sample_error(idx, val, k, w_in_t, w_out, gram, mt_wout, m_t, mtm, c_pos, c_neg, h, act, e)
            s1 += err
            s2 += err * err
            g1 += g
            g2 += g * g
            fg += err * g
        out[c, 0] = s1
        out[c, 1] = s2
        out[c, 2] = g1
        out[c, 3] = g2
        out[c, 4] = fg
    return out
