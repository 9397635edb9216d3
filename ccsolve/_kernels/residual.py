"""Numba kernels for Braun et al.'s residual MLPs (private; called by ccsolve.residual).

The network lives in a d_embed-wide residual stream, but its inputs are sparse in feature space:
a sample with k active features puts k columns of the embedding E (d_embed, n) into the stream. The
sampler below draws such samples and, for each non-empty one, writes directly in feature space
  x        (n,)  the input row,
  base     (n,)  E^T E x - y(x), the error of the network with every MLP output set to zero,
with y(x)_o = lpos[o] x_o for x_o > 0 and lneg[o] |x_o| for x_o < 0 (ReLU labels c ReLU(x) + x:
lpos = c + 1, lneg = -1; abs labels |c x|: lpos = lneg = c). base costs O(k n) per sample (k rows
of the Gram matrix G = E^T E), never O(n^2) or O(d_embed).

Empty samples (no active feature) are skipped: a bias-free network maps 0 to 0 and their label is 0,
so they add nothing to any loss or gradient; the caller counts them.

Determinism: one SplitMix64 stream per call, seeded by the caller; samples drawn in order.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .rng import below, uniform, uniform_pm1
from .train import adamw  # noqa: F401  (one AdamW kernel for both trainers, used as K.adamw)


@njit(cache=True)
def draw_rows(n, cdf, seed, n_samples, gram, lpos, lneg, x, base, mark):
    """Draw n_samples samples; write the non-empty ones into x[:m], base[:m] (row per sample).

    The number of active features k is drawn by inverse CDF from cdf (cdf[k] = P(K <= k), k = 0..n,
    cdf[n] > 1 so every u lands: Binomial(n, p) for Bernoulli inputs, a step at k for exactly-k
    inputs, a truncated Binomial for strata), then a uniform k-subset (Floyd's algorithm), then the
    values U[-1, 1). x and base need n_samples rows; mark is a bool (n,) work array, all False.
    Returns m, the number of non-empty samples.
    """
    state = np.empty(1, dtype=np.uint64)
    state[0] = seed
    idx = np.empty(n, dtype=np.int64)
    m = 0
    for s in range(n_samples):
        u = uniform(state)
        k = 0
        while u >= cdf[k]:
            k += 1
        if k == 0:
            continue
        c = 0
        for j in range(n - k, n):
            i = np.int64(below(state, j + 1))
            if mark[i]:
                i = j
            mark[i] = True
            idx[c] = i
            c += 1
        xr = x[m]
        br = base[m]
        xr[:] = 0.0
        br[:] = 0.0
        for e in range(k):
            i = idx[e]
            mark[i] = False
            t = uniform_pm1(state)
            xr[i] = t
            g = gram[i]
            for o in range(n):
                br[o] += t * g[o]
        for e in range(k):
            i = idx[e]
            t = xr[i]
            if t > 0.0:
                br[i] -= lpos[i] * t
            else:
                br[i] += lneg[i] * t  # - lneg |t|
        m += 1
    return m
