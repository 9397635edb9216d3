"""Monte Carlo conditional on the number k of active features (private; called by ccsolve.stratified).

A sample draws k distinct features uniformly (partial Fisher-Yates on a permutation that persists across
the chunk's samples: any permutation is a valid start) and k values U[-1, 1]; its squared error f comes
from montecarlo.py's per-sample routine (same layout of the prepared arrays, see montecarlo.py).

Two control variates with exactly known conditional means ride along:
  g1 = sum over the active features of t^2 c_+-[i]  (the one-hot errors one feature at a time; mean k E_1)
  g2 = sum over the pairs of active features of the pair's own error (mean C(k, 2) E_2); only for
       k <= pair_max_k, as it costs C(k, 2) extra error evaluations per sample.

Determinism: chunk c has its own SplitMix64 seed; results depend only on the chunk layout.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from .parallel import PRANGE_ONLY

try:  # the inlined per-sample routine, when montecarlo.py provides it (a called one costs ~100 ns)
    from .montecarlo import sample_error as _sample_error
except ImportError:  # pragma: no cover - older montecarlo.py
    from .montecarlo import _sample_error
from .rng import below, uniform_pm1

N_SUMS = 9  # f, g1, g2, f f, g1 g1, g2 g2, f g1, f g2, g1 g2


# inlined code takes the caller's fastmath flags: the same as montecarlo's kernels
_FAST = {"reassoc", "contract"}


@njit(cache=True, fastmath=_FAST)
def _pair_errors(idx, val, k, w_in_t, w_out, gram, mt_wout, m_t, mtm, c_pos, c_neg, h, act, e, idx2, val2):
    """Sum of the errors of the C(k, 2) pairs of the sample's active entries (control variate g2).

    A called function, not inlined into strata_chunks: a second inlined copy of the per-sample routine
    in the parallel loop doubled its compile time (issue 17) and the call costs once per sample."""
    g2 = 0.0
    for a in range(k):
        idx2[0] = idx[a]
        val2[0] = val[a]
        for b in range(a + 1, k):
            idx2[1] = idx[b]
            val2[1] = val[b]
            g2 += _sample_error(idx2, val2, 2, w_in_t, w_out, gram, mt_wout, m_t, mtm, c_pos, c_neg, h, act, e)
    return g2


@njit(cache=True, parallel=PRANGE_ONLY, fastmath=_FAST)
def strata_chunks(w_in_t, w_out, gram, mt_wout, m_t, mtm, c_pos, c_neg, chunk_k, chunk_sizes, seeds, pair_max_k):
    """Per chunk the sums (f, g1, g2, f^2, g1^2, g2^2, f g1, f g2, g1 g2) over chunk_sizes[c] samples
    with chunk_k[c] active features; shape (n_chunks, 9)."""
    n, d = w_in_t.shape
    n_chunks = chunk_sizes.shape[0]
    out = np.zeros((n_chunks, N_SUMS))
    for c in prange(n_chunks):
        state = np.empty(1, dtype=np.uint64)
        state[0] = seeds[c]
        k = chunk_k[c]
        use_pairs = k <= pair_max_k
        perm = np.arange(n)
        idx = np.empty(n, dtype=np.int64)
        val = np.empty(n)
        idx2 = np.empty(2, dtype=np.int64)
        val2 = np.empty(2)
        h = np.empty(d)
        act = np.empty(d, dtype=np.int64)
        e = np.empty(n)
        acc = np.zeros(N_SUMS)
        for _ in range(chunk_sizes[c]):
            g1 = 0.0
            for j in range(k):
                r = j + below(state, n - j)
                tmp = perm[j]
                perm[j] = perm[r]
                perm[r] = tmp
                f = perm[j]
                t = uniform_pm1(state)
                idx[j] = f
                val[j] = t
                g1 += t * t * (c_pos[f] if t > 0.0 else c_neg[f])
            err = _sample_error(idx, val, k, w_in_t, w_out, gram, mt_wout, m_t, mtm, c_pos, c_neg, h, act, e)
            g2 = 0.0
            if use_pairs:
                g2 = _pair_errors(idx, val, k, w_in_t, w_out, gram, mt_wout, m_t, mtm, c_pos, c_neg, h, act, e,
                                  idx2, val2)
            acc[0] += err
            acc[1] += g1
            acc[2] += g2
            acc[3] += err * err
            acc[4] += g1 * g1
            acc[5] += g2 * g2
            acc[6] += err * g1
            acc[7] += err * g2
            acc[8] += g1 * g2
        for s in range(N_SUMS):
            out[c, s] = acc[s]
    return out
